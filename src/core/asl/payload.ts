// Input and output processing of a state (JSONPath query language): InputPath → Parameters
// (or ItemSelector) → the state's work → ResultSelector → ResultPath → OutputPath. A payload
// template's fields ending in `.$` take a path or an intrinsic function; other fields are copied.

import { runtimeError } from './errors.js';
import { evaluateIntrinsic, isIntrinsic, type IntrinsicEnv } from './intrinsics.js';
import { evaluatePath, setPath } from './json-path.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Resolves a payload template (Parameters, ResultSelector, ItemSelector) against `input`. */
export function applyTemplate(template: unknown, env: IntrinsicEnv): unknown {
  if (Array.isArray(template)) return template.map((t) => applyTemplate(t, env));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    let k = key;
    let v: unknown;
    if (key.endsWith('.$')) {
      k = key.slice(0, -2);
      if (typeof value !== 'string') throw runtimeError(`The value of '${key}' must be a path or an intrinsic function`);
      v = isIntrinsic(value) ? evaluateIntrinsic(value, env) : evaluatePath(value, env.input, env.context);
    } else v = applyTemplate(value, env);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** InputPath: absent or `$` passes the whole input, null passes `{}`. */
export function applyInputPath(path: string | null | undefined, input: unknown, context: unknown): unknown {
  if (path === undefined || path === '$') return input;
  if (path === null) return {};
  return evaluatePath(path, input, context);
}

/** ResultPath: absent or `$` makes the result the output, null discards it (output = input). */
export function applyResultPath(path: string | null | undefined, input: unknown, result: unknown): unknown {
  if (path === undefined || path === '$') return result;
  if (path === null) return input;
  return setPath(path, input, result);
}

/** OutputPath: absent or `$` passes it all, null passes `{}`. */
export function applyOutputPath(path: string | null | undefined, output: unknown, context: unknown): unknown {
  if (path === undefined || path === '$') return output;
  if (path === null) return {};
  return evaluatePath(path, output, context);
}
