// The JSONPath subset Amazon States Language uses: `$` (the state's input) or `$$` (the context
// object), then `.name`, `['name']`, `[index]` (negative counts from the end), `[*]`, `.*` and
// `[start:end]`. A path with a wildcard or a slice selects a list; any other path ("reference
// path") selects one value, and a reference path is what ResultPath writes to. Filters (`[?()]`)
// and deep scans (`..`) are not supported: definitions using them are rejected at create time.

import { runtimeError, StatesError } from './errors.js';

const resultPathError = (cause: string) => new StatesError('States.ResultPathMatchFailure', cause);

export type Segment =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'slice'; start?: number; end?: number };

export interface JsonPath {
  text: string;
  /** `$$`: the context object. */
  context: boolean;
  segments: Segment[];
  /** True when the path selects exactly one value (no wildcard, no slice). */
  definite: boolean;
}

/** Parses a path; throws an Error whose message says what is wrong. */
export function parsePath(text: string): JsonPath {
  if (typeof text !== 'string' || !text.startsWith('$')) throw new Error(`'${String(text)}' is not a JSONPath: it must start with $`);
  let i = 1;
  let context = false;
  if (text[1] === '$') {
    context = true;
    i = 2;
  }
  const segments: Segment[] = [];
  while (i < text.length) {
    const c = text[i];
    if (c === '.') {
      if (text[i + 1] === '.') throw new Error(`'${text}': deep scan (..) is not supported`);
      if (text[i + 1] === '*') {
        segments.push({ kind: 'wildcard' });
        i += 2;
        continue;
      }
      let j = i + 1;
      while (j < text.length && text[j] !== '.' && text[j] !== '[') j++;
      const name = text.slice(i + 1, j);
      if (name === '') throw new Error(`'${text}': empty field name at position ${i}`);
      segments.push({ kind: 'field', name });
      i = j;
    } else if (c === '[') {
      const close = findClose(text, i);
      const inner = text.slice(i + 1, close).trim();
      i = close + 1;
      if (inner === '*') segments.push({ kind: 'wildcard' });
      else if (/^-?\d+$/.test(inner)) segments.push({ kind: 'index', index: Number(inner) });
      else if (/^(-?\d+)?:(-?\d+)?$/.test(inner)) {
        const [a, b] = inner.split(':');
        segments.push({ kind: 'slice', ...(a !== '' ? { start: Number(a) } : {}), ...(b !== '' ? { end: Number(b) } : {}) });
      } else if (/^'([^'\\]|\\.)*'$/.test(inner) || /^"([^"\\]|\\.)*"$/.test(inner)) {
        segments.push({ kind: 'field', name: inner.slice(1, -1).replace(/\\(.)/g, '$1') });
      } else if (inner.startsWith('?')) {
        throw new Error(`'${text}': JSONPath filter expressions ([?(...)]) are not supported`);
      } else {
        throw new Error(`'${text}': unsupported bracket expression [${inner}]`);
      }
    } else {
      throw new Error(`'${text}': unexpected '${c}' at position ${i}`);
    }
  }
  return { text, context, segments, definite: segments.every((s) => s.kind === 'field' || s.kind === 'index') };
}

function findClose(text: string, open: number): number {
  let quote: string | undefined;
  for (let j = open + 1; j < text.length; j++) {
    const c = text[j];
    if (quote) {
      if (c === '\\') j++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ']') return j;
  }
  throw new Error(`'${text}': unclosed [ at position ${open}`);
}

const cache = new Map<string, JsonPath>();
function cached(text: string): JsonPath {
  let p = cache.get(text);
  if (!p) {
    p = parsePath(text);
    if (cache.size > 5000) cache.clear();
    cache.set(text, p);
  }
  return p;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The value a path selects in `input` (or in `context` for `$$` paths). A reference path that
 * selects nothing raises States.Runtime; a wildcard path gives the list of what it matched.
 */
export function evaluatePath(text: string, input: unknown, context?: unknown): unknown {
  const p = cached(text);
  let current: unknown[] = [p.context ? context : input];
  for (const s of p.segments) {
    const next: unknown[] = [];
    for (const v of current) {
      if (s.kind === 'field') {
        if (isObject(v) && Object.hasOwn(v, s.name)) next.push(v[s.name]);
      } else if (s.kind === 'index') {
        if (Array.isArray(v)) {
          const i = s.index < 0 ? v.length + s.index : s.index;
          if (i >= 0 && i < v.length) next.push(v[i]);
        }
      } else if (s.kind === 'wildcard') {
        if (Array.isArray(v)) next.push(...v);
        else if (isObject(v)) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        const n = v.length;
        const norm = (x: number | undefined, d: number) => (x === undefined ? d : x < 0 ? Math.max(0, n + x) : Math.min(n, x));
        next.push(...v.slice(norm(s.start, 0), norm(s.end, n)));
      }
    }
    if (p.definite && next.length === 0) {
      throw runtimeError(`The JSONPath '${text}' could not be found in the ${p.context ? 'context object' : 'input'} '${preview(p.context ? context : input)}'`);
    }
    current = next;
  }
  return p.definite ? current[0] : current;
}

/** Whether a reference path selects something (Choice's IsPresent). */
export function pathExists(text: string, input: unknown, context?: unknown): boolean {
  try {
    evaluatePath(text, input, context);
    return true;
  } catch {
    return false;
  }
}

/**
 * ResultPath: `input` with `value` written at the reference path, creating the objects on the
 * way; `$` replaces the whole input. Writing into something that is not an object (a string, an
 * array element past its end) raises States.Runtime, as Step Functions does.
 */
export function setPath(text: string, input: unknown, value: unknown): unknown {
  const p = cached(text);
  if (p.context || !p.definite) throw runtimeError(`'${text}' is not a reference path`);
  if (p.segments.length === 0) return value;
  const root: unknown = structuredClone(input ?? {});
  if (!isObject(root) && !Array.isArray(root)) {
    throw resultPathError(`Unable to apply ResultPath '${text}' to input '${preview(input)}': the input is not a JSON object`);
  }
  let node: any = root;
  p.segments.forEach((s, k) => {
    const last = k === p.segments.length - 1;
    if (s.kind === 'field') {
      if (!isObject(node)) throw resultPathError(`Unable to apply ResultPath '${text}': '${s.name}' cannot be set on a non-object`);
      if (last) Object.defineProperty(node, s.name, { value, enumerable: true, writable: true, configurable: true });
      else {
        if (!Object.hasOwn(node, s.name)) Object.defineProperty(node, s.name, { value: {}, enumerable: true, writable: true, configurable: true });
        else if (!isObject(node[s.name]) && !Array.isArray(node[s.name])) {
          throw resultPathError(`Unable to apply ResultPath '${text}': '${s.name}' is not a JSON object`);
        }
        node = node[s.name];
      }
    } else if (s.kind === 'index') {
      const i = Array.isArray(node) && s.index < 0 ? node.length + s.index : s.index;
      if (!Array.isArray(node) || i < 0 || i >= node.length) throw resultPathError(`Unable to apply ResultPath '${text}': no element [${s.index}]`);
      if (last) node[i] = value;
      else node = node[i];
    }
  });
  return root;
}

export function preview(v: unknown): string {
  const s = JSON.stringify(v) ?? 'null';
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
