// Errors raised while a state machine runs, as Amazon States Language names them: a state's
// failure carries an error name (`States.TaskFailed`, `States.Runtime`, a Fail state's Error) and a
// cause, which Retry and Catch match on and which ends the execution when nothing catches it.

export class StatesError extends Error {
  constructor(
    readonly error: string,
    override readonly cause: string,
  ) {
    super(`${error}: ${cause}`);
  }
}

export function isStatesError(e: unknown): e is StatesError {
  return e instanceof StatesError;
}

/** A runtime failure of the language itself (a path that does not match, a bad intrinsic argument). */
export function runtimeError(cause: string): StatesError {
  return new StatesError('States.Runtime', cause);
}

export function intrinsicError(cause: string): StatesError {
  return new StatesError('States.IntrinsicFailure', cause);
}
