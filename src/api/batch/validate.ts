// Request validation for the Batch API: the vendored model's shapes (required members, types,
// unknown members), then AWS's documented rules the model lacks (rules.ts). The first problem
// throws `clientError` (HTTP 400 ClientException) with a message that names the field by its
// dotted/indexed path, e.g. `containerOverrides.environment[2].name`.
//
// Members the HTTP layer takes from the URI or query string (resourceArn, tagKeys) are checked
// like any other: the caller merges them into the input first.
//
// JSON null is treated as absent: a required member that is null is missing, an optional one is
// skipped (inside lists and maps, null is an invalid value).

import { clientError } from '../../core/errors.js';
import { batchModel, resolveShape, shapeType, type ShapeRef } from './model/index.js';
import { checkRules, describeValue, indexPath, keyPath, memberPath, quote } from './rules.js';

export { MAX_JOB_DEFINITION_BYTES, MAX_SUBMIT_JOB_BYTES } from './rules.js';

/**
 * Required members of the v2 model that current AWS Batch no longer requires, by operation and
 * index-free path. ComputeResource.subnets became optional (the latest model requires only type
 * and maxvCpus), and a self-hosted compute environment has no subnets to name.
 */
const NOT_REQUIRED: ReadonlySet<string> = new Set(['CreateComputeEnvironment computeResources.subnets']);

/**
 * An unpaired UTF-16 surrogate (JSON can carry one as a `\ud800` escape). UTF-8, and so the
 * store, cannot hold it: it would be read back as U+FFFD, a different string from the one
 * accepted. Refused in every string and map key.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

function checkUnicode(path: string, value: string, what = 'value'): void {
  if (LONE_SURROGATE.test(value)) {
    throw clientError(
      `Invalid ${what} for parameter ${path}: ${quote(value)} is not valid Unicode ` +
        '(it contains an unpaired surrogate, such as the JSON escape \\ud800 alone)',
    );
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeError(path: string, expected: string, value: unknown): Error {
  return clientError(`Invalid type for parameter ${path}: expected ${expected}, got ${describeValue(value)}`);
}

interface Walk {
  operation: string;
}

/**
 * Checks `value` against `ref`. `path` names the value in messages; `genericPath` is the same
 * without list indices and map keys (for NOT_REQUIRED).
 */
function checkShape(walk: Walk, ref: ShapeRef, value: unknown, path: string, genericPath: string): void {
  const shape = resolveShape(ref);
  const type = shapeType(shape);
  switch (type) {
    case 'structure': {
      if (!isObject(value)) throw typeError(path, 'a structure (JSON object)', value);
      const members = shape.members ?? {};
      for (const name of Object.keys(value)) {
        if (!Object.hasOwn(members, name)) {
          throw clientError(
            `Unknown parameter in ${path || 'input'}: "${name}", must be one of: ${Object.keys(members).join(', ')}`,
          );
        }
      }
      for (const name of shape.required ?? []) {
        const v = value[name];
        if ((v === undefined || v === null) && !NOT_REQUIRED.has(`${walk.operation} ${memberPath(genericPath, name)}`)) {
          throw clientError(`Missing required parameter: ${memberPath(path, name)}`);
        }
      }
      for (const [name, memberRef] of Object.entries(members)) {
        const v = value[name];
        if (v === undefined || v === null) continue;
        checkShape(walk, memberRef, v, memberPath(path, name), memberPath(genericPath, name));
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) throw typeError(path, 'a list (JSON array)', value);
      const member = shape.member ?? {};
      value.forEach((item, i) => checkShape(walk, member, item, indexPath(path, i), genericPath));
      return;
    }
    case 'map': {
      if (!isObject(value)) throw typeError(path, 'a map (JSON object)', value);
      const valueShape = shape.value ?? {};
      for (const [key, item] of Object.entries(value)) {
        checkUnicode(path, key, 'key');
        checkShape(walk, valueShape, item, keyPath(path, key), genericPath);
      }
      return;
    }
    case 'string':
      if (typeof value !== 'string') throw typeError(path, 'a string', value);
      checkUnicode(path, value);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(path, 'an integer', value);
      if (value < INT32_MIN || value > INT32_MAX) {
        throw clientError(
          `Invalid value for parameter ${path}: ${value} is out of range; it must be between ${INT32_MIN} and ${INT32_MAX}`,
        );
      }
      return;
    case 'long':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(path, 'an integer', value);
      if (!Number.isSafeInteger(value)) {
        throw clientError(`Invalid value for parameter ${path}: ${value} is too large to be represented exactly`);
      }
      return;
    case 'float':
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw typeError(path, 'a number', value);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw typeError(path, 'a boolean', value);
      return;
    case 'timestamp':
      // rest-json timestamps are epoch seconds (numbers) or ISO 8601 strings.
      if (typeof value !== 'number' && typeof value !== 'string') throw typeError(path, 'a timestamp', value);
      return;
    case 'blob':
      if (typeof value !== 'string') throw typeError(path, 'a base64 string', value);
      return;
  }
}

/**
 * Checks `input` against the model's input shape for `operation` only (no AWS rules);
 * throws `clientError` on the first problem.
 */
export function validateModel(operation: string, input: unknown): void {
  const op = Object.hasOwn(batchModel.operations, operation) ? batchModel.operations[operation] : undefined;
  if (op === undefined) throw clientError(`Unknown operation: ${operation}`);
  if (!isObject(input)) {
    throw clientError(`Invalid type for parameter input: expected a JSON object, got ${describeValue(input)}`);
  }
  checkShape({ operation }, op.input ?? { type: 'structure', members: {} }, input, '', '');
}

/**
 * Validates the input of a Batch API call (body members merged with URI and query-string
 * members): the model's shapes first, then AWS's documented rules (rules.ts). Throws
 * `clientError(message)` on the first problem; returns nothing when the input is valid.
 */
export function validateInput(operation: string, input: unknown): void {
  validateModel(operation, input);
  checkRules(operation, input as Record<string, unknown>);
}
