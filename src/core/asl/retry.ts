// Retry and Catch: which retrier or catcher an error matches, and how long to wait before the
// next attempt. States.ALL matches every error but States.Runtime and States.DataLimitExceeded
// (which nothing retries); States.TaskFailed matches every error of a Task but States.Timeout.

export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

export interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

const UNCATCHABLE_BY_ALL = new Set(['States.Runtime', 'States.DataLimitExceeded']);

export function errorMatches(errorEquals: readonly string[], error: string): boolean {
  return errorEquals.some((e) => {
    if (e === error) return true;
    if (e === 'States.ALL') return !UNCATCHABLE_BY_ALL.has(error);
    if (e === 'States.TaskFailed') return error !== 'States.Timeout' && !UNCATCHABLE_BY_ALL.has(error);
    return false;
  });
}

/** The first retrier that matches the error, with its index (retry counts are per retrier). */
export function findRetrier(retriers: readonly Retrier[] | undefined, error: string): { retrier: Retrier; index: number } | undefined {
  const index = (retriers ?? []).findIndex((r) => errorMatches(r.ErrorEquals, error));
  return index < 0 ? undefined : { retrier: retriers![index], index };
}

export function findCatcher(catchers: readonly Catcher[] | undefined, error: string): Catcher | undefined {
  return (catchers ?? []).find((c) => errorMatches(c.ErrorEquals, error));
}

/**
 * The delay before retry number `retriesSoFar + 1` of a retrier, in milliseconds, or undefined
 * when its MaxAttempts are used up. `random` in [0, 1) drives JitterStrategy FULL.
 */
export function retryDelayMs(r: Retrier, retriesSoFar: number, random: () => number): number | undefined {
  const max = r.MaxAttempts ?? 3;
  if (retriesSoFar >= max) return undefined;
  let seconds = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** retriesSoFar;
  if (r.MaxDelaySeconds !== undefined) seconds = Math.min(seconds, r.MaxDelaySeconds);
  if (r.JitterStrategy === 'FULL') seconds = random() * seconds;
  return Math.round(seconds * 1000);
}
