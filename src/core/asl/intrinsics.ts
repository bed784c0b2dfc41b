// Intrinsic functions of Amazon States Language (`States.Format('x {}', $.a)` in a `.$` field of
// Parameters, ResultSelector, ItemSelector): a parser that turns the expression into a call tree
// (run at create time, so a malformed expression is an InvalidDefinition) and an evaluator.
// Randomness (States.UUID, States.MathRandom) comes from the caller, so the core stays pure.

import { createHash } from 'node:crypto';
import { intrinsicError } from './errors.js';
import { evaluatePath, parsePath, preview } from './json-path.js';

export type IntrinsicArg =
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'path'; path: string }
  | { kind: 'call'; name: string; args: IntrinsicArg[] };

export interface IntrinsicEnv {
  input: unknown;
  context: unknown;
  /** A number in [0, 1) (States.MathRandom). */
  random: () => number;
  /** A version 4 UUID (States.UUID). */
  uuid: () => string;
}

/** Expected argument counts [min, max] of each function. */
export const INTRINSICS: Record<string, [number, number]> = {
  'States.Format': [1, Infinity],
  'States.StringToJson': [1, 1],
  'States.JsonToString': [1, 1],
  'States.Array': [0, Infinity],
  'States.ArrayPartition': [2, 2],
  'States.ArrayContains': [2, 2],
  'States.ArrayRange': [3, 3],
  'States.ArrayGetItem': [2, 2],
  'States.ArrayLength': [1, 1],
  'States.ArrayUnique': [1, 1],
  'States.Base64Encode': [1, 1],
  'States.Base64Decode': [1, 1],
  'States.Hash': [2, 2],
  'States.JsonMerge': [3, 3],
  'States.MathRandom': [2, 3],
  'States.MathAdd': [2, 2],
  'States.StringSplit': [2, 2],
  'States.UUID': [0, 0],
};

export function isIntrinsic(text: string): boolean {
  return /^\s*States\.[A-Za-z0-9]+\s*\(/.test(text);
}

/** Parses `States.Fn(args)`; throws an Error naming what is wrong. */
export function parseIntrinsic(text: string): IntrinsicArg & { kind: 'call' } {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`intrinsic function '${text}': ${what} at position ${i}`);
  };
  const call = (): IntrinsicArg & { kind: 'call' } => {
    const m = /^States\.[A-Za-z0-9]+/.exec(text.slice(i));
    if (!m) return fail('expected a function name (States.Format, ...)');
    const name = m[0];
    if (!Object.hasOwn(INTRINSICS, name)) fail(`unsupported intrinsic function ${name}`);
    i += name.length;
    ws();
    if (text[i] !== '(') fail(`expected ( after ${name}`);
    i++;
    ws();
    const args: IntrinsicArg[] = [];
    if (text[i] === ')') i++;
    else {
      for (;;) {
        args.push(arg());
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          continue;
        }
        if (text[i] === ')') {
          i++;
          break;
        }
        fail('expected , or )');
      }
    }
    const [min, max] = INTRINSICS[name];
    if (args.length < min || args.length > max) {
      fail(`${name} takes ${min === max ? min : max === Infinity ? `at least ${min}` : `${min} to ${max}`} argument(s), got ${args.length}`);
    }
    return { kind: 'call', name, args };
  };
  const arg = (): IntrinsicArg => {
    const c = text[i];
    if (c === "'") {
      let out = '';
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated string');
        const ch = text[i];
        if (ch === '\\') {
          // \' \{ \} \\ keep the escaped character (Format sees \{ and \} as literal braces).
          const next = text[i + 1];
          out += next === '{' || next === '}' ? `\\${next}` : next;
          i += 2;
        } else if (ch === "'") {
          i++;
          break;
        } else {
          out += ch;
          i++;
        }
      }
      return { kind: 'literal', value: out };
    }
    if (c === '$') {
      const start = i;
      let depth = 0;
      let quote: string | undefined;
      while (i < text.length) {
        const ch = text[i];
        if (quote) {
          if (ch === '\\') i++;
          else if (ch === quote) quote = undefined;
        } else if (ch === "'" || ch === '"') quote = ch;
        else if (ch === '[') depth++;
        else if (ch === ']') depth--;
        else if (depth === 0 && (ch === ',' || ch === ')' || /\s/.test(ch))) break;
        i++;
      }
      const path = text.slice(start, i);
      try {
        parsePath(path);
      } catch (e) {
        fail((e as Error).message);
      }
      return { kind: 'path', path };
    }
    if (text.startsWith('States.', i)) return call();
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (!m) return fail('expected a string, number, boolean, null, path or function');
    i += m[0].length;
    return { kind: 'literal', value: JSON.parse(m[0]) };
  };
  ws();
  const out = call();
  ws();
  if (i !== text.length) fail('unexpected text after the function call');
  return out;
}

export function evaluateIntrinsic(text: string, env: IntrinsicEnv): unknown {
  return evalArg(parseIntrinsic(text), env);
}

function evalArg(a: IntrinsicArg, env: IntrinsicEnv): unknown {
  if (a.kind === 'literal') return typeof a.value === 'string' ? a.value.replace(/\\([{}])/g, '$1') : a.value;
  if (a.kind === 'path') return evaluatePath(a.path, env.input, env.context);
  if (a.name === 'States.Format') {
    // The template keeps its \{ \} escapes until here: only unescaped {} are placeholders.
    const t = a.args[0];
    const template = t.kind === 'literal' && typeof t.value === 'string' ? t.value : evalArg(t, env);
    if (typeof template !== 'string') throw intrinsicError(`States.Format: the template must be a string, got ${preview(template)}`);
    const values = a.args.slice(1).map((x) => evalArg(x, env));
    return format(template, values);
  }
  return call(a.name, a.args.map((x) => evalArg(x, env)), env);
}

function format(template: string, values: unknown[]): string {
  let k = 0;
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '\\' && (template[i + 1] === '{' || template[i + 1] === '}')) {
      out += template[++i];
    } else if (c === '{' && template[i + 1] === '}') {
      if (k >= values.length) throw intrinsicError(`States.Format: the template '${template}' has more {} than the ${values.length} argument(s) given`);
      const v = values[k++];
      // Strings as they are, everything else as JSON (an error object in a failure message).
      out += typeof v === 'string' ? v : JSON.stringify(v);
      i++;
    } else out += c;
  }
  if (k !== values.length) throw intrinsicError(`States.Format: ${values.length} argument(s) for ${k} {} in '${template}'`);
  return out;
}

function need<T>(fn: string, what: string, v: unknown, ok: (v: unknown) => v is T): T {
  if (!ok(v)) throw intrinsicError(`${fn}: ${what}, got ${preview(v)}`);
  return v;
}
const isArr = (v: unknown): v is unknown[] => Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => deepEqual(x, (b as unknown[])[i]));
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && deepEqual((a as any)[k], (b as any)[k]));
}

const HASHES: Record<string, string> = { MD5: 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

function call(name: string, args: unknown[], env: IntrinsicEnv): unknown {
  switch (name) {
    case 'States.StringToJson': {
      const s = need(name, 'the argument must be a string', args[0], isStr);
      try {
        return JSON.parse(s);
      } catch {
        throw intrinsicError(`${name}: '${s}' is not valid JSON`);
      }
    }
    case 'States.JsonToString':
      return JSON.stringify(args[0]);
    case 'States.Array':
      return args;
    case 'States.ArrayPartition': {
      const arr = need(name, 'the first argument must be an array', args[0], isArr);
      const size = need(name, 'the chunk size must be a positive integer', args[1], (v): v is number => isInt(v) && v > 0);
      const out: unknown[][] = [];
      for (let i = 0; i < arr.length; i += size) out.push(arr.slice(i, i + size));
      return out;
    }
    case 'States.ArrayContains':
      return need(name, 'the first argument must be an array', args[0], isArr).some((x) => deepEqual(x, args[1]));
    case 'States.ArrayRange': {
      const [start, end, step] = args.map((v, i) => need(name, `argument ${i + 1} must be an integer`, v, isInt));
      if (step === 0) throw intrinsicError(`${name}: the step must not be 0`);
      const out: number[] = [];
      for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
        out.push(v);
        if (out.length > 1000) throw intrinsicError(`${name}: at most 1000 elements`);
      }
      return out;
    }
    case 'States.ArrayGetItem': {
      const arr = need(name, 'the first argument must be an array', args[0], isArr);
      const i = need(name, 'the index must be a non-negative integer', args[1], (v): v is number => isInt(v) && v >= 0);
      if (i >= arr.length) throw intrinsicError(`${name}: index ${i} is out of bounds (length ${arr.length})`);
      return arr[i];
    }
    case 'States.ArrayLength':
      return need(name, 'the argument must be an array', args[0], isArr).length;
    case 'States.ArrayUnique': {
      const out: unknown[] = [];
      for (const x of need(name, 'the argument must be an array', args[0], isArr)) if (!out.some((y) => deepEqual(x, y))) out.push(x);
      return out;
    }
    case 'States.Base64Encode':
      return Buffer.from(need(name, 'the argument must be a string', args[0], isStr), 'utf8').toString('base64');
    case 'States.Base64Decode': {
      const s = need(name, 'the argument must be a string', args[0], isStr);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw intrinsicError(`${name}: '${s}' is not base64`);
      return Buffer.from(s, 'base64').toString('utf8');
    }
    case 'States.Hash': {
      const algo = need(name, `the algorithm must be one of ${Object.keys(HASHES).join(', ')}`, args[1], (v): v is string => isStr(v) && Object.hasOwn(HASHES, v));
      const data = typeof args[0] === 'string' ? args[0] : JSON.stringify(args[0]);
      return createHash(HASHES[algo]).update(data, 'utf8').digest('hex');
    }
    case 'States.JsonMerge': {
      const a = need(name, 'the first argument must be a JSON object', args[0], isObj);
      const b = need(name, 'the second argument must be a JSON object', args[1], isObj);
      if (args[2] !== false) throw intrinsicError(`${name}: only a shallow merge (third argument false) is supported`);
      return { ...a, ...b };
    }
    case 'States.MathRandom': {
      const start = need(name, 'the start must be an integer', args[0], isInt);
      const end = need(name, 'the end must be an integer', args[1], isInt);
      if (args[2] !== undefined) need(name, 'the seed must be an integer', args[2], isInt);
      if (end <= start) throw intrinsicError(`${name}: the end (${end}) must be greater than the start (${start})`);
      return start + Math.floor(env.random() * (end - start));
    }
    case 'States.MathAdd': {
      const a = need(name, 'the first argument must be an integer', args[0], isInt);
      const b = need(name, 'the second argument must be an integer', args[1], isInt);
      return a + b;
    }
    case 'States.StringSplit': {
      const s = need(name, 'the first argument must be a string', args[0], isStr);
      const delims = need(name, 'the delimiters must be a string', args[1], isStr);
      if (delims === '') return [s];
      const out: string[] = [];
      let cur = '';
      for (const ch of s) {
        if (delims.includes(ch)) {
          if (cur !== '') out.push(cur);
          cur = '';
        } else cur += ch;
      }
      if (cur !== '') out.push(cur);
      return out;
    }
    case 'States.UUID':
      return env.uuid();
  }
  throw intrinsicError(`unsupported intrinsic function ${name}`);
}
