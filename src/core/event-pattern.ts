// EventBridge event patterns: parse (validating as PutRule / TestEventPattern do) and match.
//
// Semantics follow Amazon EventBridge, whose matcher is AWS's open-source Event Ruler
// (github.com/aws/event-ruler); rejection reasons use Ruler's wording, which is what
// InvalidEventPatternException carries ("Event pattern is not valid. Reason: ...").
// Docs: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html,
// .../eb-create-pattern-operators.html, .../eb-event-patterns-content-based-filtering.html.
//
// How matching works, as in Ruler:
// - Field names are joined with "." into paths, in the pattern and in the event, so
//   {"a": {"b": [..]}} and {"a.b": [..]} are the same field, and both match {"a": {"b": 1}}
//   and {"a.b": 1}.
// - Only leaf values (string, number, boolean, null) are matched; arrays in the event are
//   flattened, so a field matches if ANY of its values matches ANY matcher of the pattern's array.
//   An object or an empty array is no value at that path (only {"exists": false} matches it).
// - All fields of a pattern must match (AND). "$or" forks the pattern into alternatives, so a
//   pattern is a list of flat rules (path -> matchers) and matches if any rule matches.
// - Array consistency: two fields never match from objects in different elements of the same
//   event array ({"a": [{"x": 1}, {"y": 2}]} does not match {"a": {"x": [1], "y": [2]}}), and
//   {"exists": false} only looks in the array elements the fields before it (by name) matched in.
// Checked against Event Ruler 2.0.1 itself by differential fuzzing (matches and rejection reasons).

/** The pattern is not valid: `reason` is EventBridge's (Event Ruler's) wording, `path` the field. */
export class InvalidEventPatternError extends Error {
  readonly reason: string;
  /** The pattern field at fault (e.g. `detail.state`), or '' for the pattern as a whole. */
  readonly path: string;
  constructor(reason: string, path = '') {
    super(`Event pattern is not valid. Reason: ${reason}${path ? ` (at ${path})` : ''}`);
    this.name = 'InvalidEventPatternException';
    this.reason = reason;
    this.path = path;
  }
}

/** The compiled form of an event pattern: alternatives of flat rules (see the file comment). */
export interface EventPattern {
  readonly rules: readonly FlatRule[];
}

export type FlatRule = ReadonlyMap<string, readonly Matcher[]>;

type Leaf = string | number | boolean | null;

export type Matcher =
  | { kind: 'exactly'; value: Leaf; ip?: Uint8Array }
  | { kind: 'prefix' | 'suffix'; value: string }
  | { kind: 'prefix-ignore-case' | 'suffix-ignore-case' | 'equals-ignore-case'; cases: CaseAlternatives }
  | { kind: 'wildcard'; segments: WildcardSegments }
  | { kind: 'anything-but'; strings: readonly string[]; numbers: readonly number[] }
  | { kind: 'anything-but-prefix' | 'anything-but-suffix'; values: readonly string[] }
  | { kind: 'anything-but-ignore-case'; cases: readonly CaseAlternatives[] }
  | { kind: 'anything-but-wildcard'; patterns: readonly WildcardSegments[] }
  | { kind: 'numeric'; lower?: Bound; upper?: Bound }
  | { kind: 'exists'; value: boolean }
  | { kind: 'cidr'; low: Uint8Array; high: Uint8Array };

interface Bound {
  value: number;
  inclusive: boolean;
}

/** Per character of an equals-ignore-case value, its lower and upper case (see ignoreCase). */
type CaseAlternatives = readonly (readonly string[])[];

/** A wildcard pattern: the literal segments between its `*`s (one segment: no star). */
type WildcardSegments = readonly string[];

/** EventBridge's limit on the alternatives `$or` may produce (content filtering docs). */
export const MAX_OR_COMBINATIONS = 1000;

const OR = '$or';
// Names Ruler refuses as field names inside "$or" (its RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case',
  'date-after', 'date-on-or-after', 'date-before', 'date-on-or-before', 'in-date-range',
  'ip-address-in-range', 'ip-address-not-in-range',
]);

// ---------------------------------------------------------------------------------------------
// Parsing

/** Parses and validates an event pattern (the EventPattern string of PutRule / TestEventPattern). */
export function parseEventPattern(json: string): EventPattern {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new InvalidEventPatternError((e as Error).message);
  }
  if (!isPlainObject(doc)) throw new InvalidEventPatternError('Filter is not an object');
  const rules: Map<string, Matcher[]>[] = [];
  try {
    parseObject(rules, [], doc, false);
  } catch (e) {
    if (e instanceof RangeError) throw new InvalidEventPatternError('Event pattern is nested too deeply');
    throw e;
  }
  return { rules };
}

function parseObject(rules: Map<string, Matcher[]>[], path: string[], obj: Record<string, unknown>, insideOr: boolean): void {
  const keys = Object.keys(obj);
  if (keys.length === 0) fail('Empty objects are not allowed', path);
  for (const key of keys) {
    const value = obj[key];
    if (key === OR) {
      parseOr(rules, path, value);
      continue;
    }
    const fieldPath = [...path, key];
    if (insideOr && RESERVED_IN_OR.has(key)) {
      fail(`${key} is Ruler reserved fieldName which cannot be used inside ${OR}.`, fieldPath);
    }
    if (Array.isArray(value)) {
      const matchers = parseMatchers(value, fieldPath);
      if (rules.length === 0) rules.push(new Map());
      // A key given twice: the last one counts (EventBridge docs, "Complex example").
      for (const rule of rules) rule.set(fieldPath.join('.'), matchers);
    } else if (isPlainObject(value)) {
      parseObject(rules, fieldPath, value, insideOr);
    } else {
      fail(`"${key}" must be an object or an array`, fieldPath);
    }
  }
}

// Each "$or" branch extends a copy of the rules built so far; the branches' copies replace them.
function parseOr(rules: Map<string, Matcher[]>[], path: string[], value: unknown): void {
  const at = [...path, OR];
  if (!Array.isArray(value)) fail(`It must be an Array followed with ${OR}.`, at);
  const before = rules.map((r) => new Map(r));
  const after: Map<string, Matcher[]>[] = [];
  value.forEach((branch, i) => {
    if (!isPlainObject(branch)) fail(`Only JSON object is allowed in array of ${OR} relationship.`, [...at, `[${i}]`]);
    const forked = before.length === 0 ? [new Map<string, Matcher[]>()] : before.map((r) => new Map(r));
    parseObject(forked, path, branch, true);
    after.push(...forked);
    if (after.length > MAX_OR_COMBINATIONS) {
      fail(`The use of ${OR} results in more than ${MAX_OR_COMBINATIONS} rule combinations`, at);
    }
  });
  if (value.length < 2) fail(`There must have at least 2 Objects in ${OR} relationship.`, at);
  rules.splice(0, rules.length, ...after);
}

function parseMatchers(values: unknown[], path: string[]): Matcher[] {
  if (values.length === 0) fail('Empty arrays are not allowed', path);
  return values.map((v) => {
    if (isPlainObject(v)) return parseMatchExpression(v, path);
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return exactly(v);
    return fail('Match value must be String, number, true, false, or null', path);
  });
}

function exactly(value: Leaf): Matcher {
  // Ruler also matches a string that is an IP address by its address (so "::1" matches "0:0::1").
  const ip = typeof value === 'string' ? parseIpIfPossible(value) : undefined;
  return ip ? { kind: 'exactly', value, ip } : { kind: 'exactly', value };
}

function parseMatchExpression(expr: Record<string, unknown>, fieldPath: string[]): Matcher {
  const keys = Object.keys(expr);
  if (keys.length === 0) fail('Match expression name not found', fieldPath);
  const op = keys[0];
  const v = expr[op];
  const path = [...fieldPath, op];
  const oneKey = (m: Matcher, message = 'Only one key allowed in match expression'): Matcher => {
    if (keys.length > 1) fail(message, path);
    return m;
  };
  switch (op) {
    case 'prefix':
    case 'suffix': {
      if (isPlainObject(v)) return oneKey(parseIgnoreCaseAffix(op, v, path));
      if (typeof v !== 'string') fail(`${op} match pattern must be a string`, path);
      return oneKey({ kind: op, value: v });
    }
    case 'equals-ignore-case':
      if (typeof v !== 'string') fail('equals-ignore-case match pattern must be a string', path);
      return oneKey({ kind: 'equals-ignore-case', cases: ignoreCase(v) });
    case 'wildcard':
      if (typeof v !== 'string') fail('wildcard match pattern must be a string', path);
      return oneKey({ kind: 'wildcard', segments: parseWildcard(v, path) });
    case 'numeric':
      if (!Array.isArray(v)) fail('Value of numeric must be an array.', path);
      return oneKey(parseNumeric(v, path), 'Too many elements in numeric expression');
    case 'anything-but':
      return oneKey(parseAnythingBut(v, path), 'Too many elements in numeric expression');
    case 'exists':
      if (typeof v !== 'boolean') fail('exists match pattern must be either true or false.', path);
      return oneKey({ kind: 'exists', value: v });
    case 'cidr':
      // Ruler's wording for a cidr that is not a string.
      if (typeof v !== 'string') fail('prefix match pattern must be a string', path);
      return oneKey(parseCidr(v, path));
    default:
      return fail(`Unrecognized match type ${op}`, path);
  }
}

function parseIgnoreCaseAffix(op: 'prefix' | 'suffix', v: Record<string, unknown>, path: string[]): Matcher {
  const keys = Object.keys(v);
  const Op = op === 'prefix' ? 'Prefix' : 'Suffix';
  if (keys.length === 0) fail(`${Op} expression name not found`, path);
  if (keys[0] !== 'equals-ignore-case') fail(`Unsupported ${op} pattern: ${keys[0]}`, path);
  const value = v[keys[0]];
  if (typeof value !== 'string') fail('equals-ignore-case match pattern must be a string', [...path, keys[0]]);
  if (keys.length > 1) fail('Only one key allowed in match expression', path);
  return { kind: op === 'prefix' ? 'prefix-ignore-case' : 'suffix-ignore-case', cases: ignoreCase(value) };
}

function parseAnythingBut(v: unknown, path: string[]): Matcher {
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) fail('Anything-But expression name not found', path);
    const op = keys[0];
    if (op !== 'equals-ignore-case' && op !== 'prefix' && op !== 'suffix' && op !== 'wildcard') {
      fail(`Unsupported anything-but pattern: ${op}`, path);
    }
    const inner = v[op];
    const at = [...path, op];
    if (!Array.isArray(inner) && typeof inner !== 'string' && typeof inner !== 'number') {
      fail('Value of anything-but must be an array or single string/number value.', at);
    }
    const list = Array.isArray(inner) ? inner : [inner];
    const strings = list.map((s) => {
      if (typeof s !== 'string') {
        if (op === 'equals-ignore-case') fail('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.', at);
        if (op === 'wildcard') fail('wildcard match pattern must be a string', at);
        fail('prefix/suffix match pattern must be a string', at);
      }
      if ((op === 'prefix' || op === 'suffix') && s === '') fail('Null prefix/suffix not allowed', at);
      return s;
    });
    if (keys.length > 1) fail('Too many elements in numeric expression', path);
    switch (op) {
      case 'wildcard':
        return { kind: 'anything-but-wildcard', patterns: strings.map((s) => parseWildcard(s, at)) };
      case 'equals-ignore-case':
        return { kind: 'anything-but-ignore-case', cases: strings.map(ignoreCase) };
      default:
        return { kind: op === 'prefix' ? 'anything-but-prefix' : 'anything-but-suffix', values: strings };
    }
  }
  if (typeof v === 'string') return { kind: 'anything-but', strings: [v], numbers: [] };
  if (typeof v === 'number') return { kind: 'anything-but', strings: [], numbers: [v] };
  if (!Array.isArray(v)) fail('Value of anything-but must be an array or single string/number value.', path);
  for (const x of v) {
    if (typeof x !== 'string' && typeof x !== 'number') fail('Inside anything but list, start|null|boolean is not supported.', path);
  }
  const strings = v.filter((x): x is string => typeof x === 'string');
  const numbers = v.filter((x): x is number => typeof x === 'number');
  if ((strings.length > 0) === (numbers.length > 0)) {
    fail('Inside anything but list, either all values are number or string, mixed type is not supported', path);
  }
  return { kind: 'anything-but', strings, numbers };
}

// ["=", x] | [">" or ">=", x] | ["<" or "<=", x] | [">" or ">=", x, "<" or "<=", y]
function parseNumeric(v: unknown[], path: string[]): Matcher {
  const [op, value] = v;
  const numberAfter = (operator: string, x: unknown): number => {
    if (typeof x !== 'number') fail(`Value of ${operator} must be numeric`, path);
    return x;
  };
  if (typeof op !== 'string') fail(`Invalid member in numeric match: ${describe(op)}`, path);
  switch (op) {
    case '=': {
      const x = numberAfter('equals', value);
      if (v.length > 2) fail('Too many elements in numeric expression', path);
      return { kind: 'numeric', lower: { value: x, inclusive: true }, upper: { value: x, inclusive: true } };
    }
    case '<':
    case '<=': {
      const x = numberAfter(op, value);
      if (v.length > 2) fail('Too many elements in numeric expression', path);
      return { kind: 'numeric', upper: { value: x, inclusive: op === '<=' } };
    }
    case '>':
    case '>=': {
      const lower = { value: numberAfter(op, value), inclusive: op === '>=' };
      if (v.length === 2) return { kind: 'numeric', lower };
      const op2 = v[2];
      if (typeof op2 !== 'string') fail(`Bad value in numeric range: ${describe(op2)}`, path);
      if (op2 !== '<' && op2 !== '<=') fail(`Bad numeric range operator: ${op2}`, path);
      const upper = { value: numberAfter(op2, v[3]), inclusive: op2 === '<=' };
      if (v.length > 4) fail('Too many terms in numeric range expression', path);
      if (!(lower.value < upper.value)) fail('Bottom must be less than top', path);
      return { kind: 'numeric', lower, upper };
    }
    default:
      return fail(`Unrecognized numeric range operator: ${op}`, path);
  }
}

// `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash. Positions
// in messages count UTF-8 bytes of the value in quotes, as Ruler reports them.
function parseWildcard(value: string, path: string[]): WildcardSegments {
  const segments: string[] = [];
  let literal = '';
  let pos = 1; // the opening quote is position 0
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '*') {
      if (value[i + 1] === '*') fail(`Consecutive wildcard characters at pos ${pos}`, path);
      segments.push(literal);
      literal = '';
    } else if (c === '\\') {
      const next = value[i + 1];
      if (next !== '*' && next !== '\\') fail(`Invalid escape character at pos ${pos}`, path);
      literal += next;
      i++;
      pos++;
    } else {
      literal += c;
    }
    pos += utf8Length(c);
  }
  segments.push(literal);
  return segments;
}

function utf8Length(codeUnit: string): number {
  const c = codeUnit.charCodeAt(0);
  return c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3; // a surrogate pair is 4
}

function parseCidr(cidr: string, path: string[]): Matcher {
  const parts = cidr.split('/');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop(); // as Java's String.split
  if (parts.length !== 2) fail("Malformed CIDR, one '/' required", path);
  if (!/^[+-]?\d+$/.test(parts[1])) fail('Malformed CIDR, mask bits must be an integer', path);
  const bits = Number(parts[1]);
  if (bits < 0) fail('Malformed CIDR, mask bits must not be negative', path);
  const ip = parseIp(parts[0], path);
  // Ruler's limits (a /32 or /128 is a single address: list it as a plain value instead).
  if (ip.length === 4 && bits > 31) fail('IPv4 mask bits must be < 32', path);
  if (ip.length === 16 && bits > 127) fail('IPv6 mask bits must be < 128', path);
  const low = new Uint8Array(ip);
  const high = new Uint8Array(ip);
  for (let i = 0; i < ip.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i)); // leading bits of this byte that are fixed
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    low[i] = ip[i] & mask;
    high[i] = (ip[i] & mask) | (~mask & 0xff);
  }
  return { kind: 'cidr', low, high };
}

const IPV4 = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

function parseIp(text: string, path: string[]): Uint8Array {
  if (!IPV4.test(text) && !IPV6.test(text)) fail(`Nonstandard IP address: ${text}`, path);
  const bytes = parseIpIfPossible(text);
  if (!bytes) fail(`Invalid IP address: ${text}`, path);
  return bytes;
}

/** The address bytes (4 or 16) of an IPv4 dotted quad or IPv6 literal; undefined if it is not one. */
export function parseIpIfPossible(text: string): Uint8Array | undefined {
  if (IPV4.test(text)) {
    const parts = text.split('.').map(Number);
    return parts.every((p) => p <= 255) ? Uint8Array.from(parts) : undefined;
  }
  if (!IPV6.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] | undefined => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const all = [...head, ...tail];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  if (halves.length === 1 ? all.length !== 8 : all.length > 7) return undefined;
  const words = [...head, ...Array<string>(8 - all.length).fill('0'), ...tail].map((g) => parseInt(g, 16));
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

/** A pattern element as Ruler's JSON parser names it in messages: the text of its first token. */
function describe(x: unknown): string {
  if (x === undefined) return ']'; // the array ended
  if (Array.isArray(x)) return '[';
  if (isPlainObject(x)) return '{';
  return typeof x === 'string' ? x : JSON.stringify(x);
}

function fail(reason: string, path: string[]): never {
  throw new InvalidEventPatternError(reason, path.join('.'));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Matching

/** One leaf value of the event, with the array elements it sits in (innermost first). */
interface EventLeaf {
  value: Leaf;
  trail: Trail | null;
}

/** Element `index` of the event's array number `array`, inside the elements of `outer`. */
interface Trail {
  array: number;
  index: number;
  outer: Trail | null;
}

/** Whether `event` (a parsed JSON event, or a PreparedEvent) matches the pattern. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  const leaves = event instanceof PreparedEvent ? event.leaves : flattenEvent(event);
  return pattern.rules.some((rule) => matchesRule(rule, leaves));
}

/** An event flattened once, to match it against many patterns (the rules of a bus). */
export class PreparedEvent {
  /** @internal */
  readonly leaves: ReadonlyMap<string, EventLeaf[]>;
  constructor(event: unknown) {
    this.leaves = flattenEvent(event);
  }
}

/** The event's leaf values by dotted path (arrays flattened; objects in arrays keep their trail). */
function flattenEvent(event: unknown): Map<string, EventLeaf[]> {
  const out = new Map<string, EventLeaf[]>();
  if (!isPlainObject(event)) return out;
  let arrays = 0;
  // Iterative, so that deeply nested events cannot exhaust the stack.
  const todo: { v: unknown; path: string; trail: Trail | null }[] = [{ v: event, path: '', trail: null }];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const { v, path, trail } = next;
    if (Array.isArray(v)) {
      // Only what sits inside an object or array element is tied to that element (as in Ruler);
      // a plain value in the array is not.
      const array = arrays++;
      v.forEach((x, index) => todo.push({ v: x, path, trail: x !== null && typeof x === 'object' ? { array, index, outer: trail } : trail }));
    } else if (isPlainObject(v)) {
      for (const [k, x] of Object.entries(v)) todo.push({ v: x, path: path === '' ? k : `${path}.${k}`, trail });
    } else if (path !== '' && (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
      let list = out.get(path);
      if (!list) out.set(path, (list = []));
      list.push({ value: v, trail });
    }
  }
  return out;
}

// A field is met by one of its matching values, or, when it allows {"exists": false}, by having no
// value in the array elements the fields before it (by name, as Ruler walks them) were matched in.
// Search for one choice per field that keeps every choice in the same array elements.
interface FieldChoices {
  hits: EventLeaf[];
  /** Every value at the path, when the field may also be met by absence. */
  absentUnless?: EventLeaf[];
}

function matchesRule(rule: FlatRule, leaves: ReadonlyMap<string, EventLeaf[]>): boolean {
  const fields: FieldChoices[] = [];
  for (const path of [...rule.keys()].sort()) {
    const matchers = rule.get(path) ?? [];
    const values = leaves.get(path) ?? [];
    const allowsAbsent = matchers.some((m) => m.kind === 'exists' && !m.value);
    if (values.length === 0) {
      if (allowsAbsent) continue;
      return false;
    }
    const hits = values.filter((leaf) => matchers.some((m) => matchesValue(m, leaf.value)));
    if (hits.length === 0 && !allowsAbsent) return false;
    fields.push(allowsAbsent ? { hits, absentUnless: values } : { hits });
  }
  return choose(fields, 0, new Map());
}

function choose(fields: FieldChoices[], i: number, chosen: Map<number, number>): boolean {
  if (i === fields.length) return true;
  const field = fields[i];
  for (const leaf of field.hits) {
    if (!consistent(leaf, chosen)) continue;
    const added: number[] = [];
    for (let t = leaf.trail; t !== null; t = t.outer) {
      if (!chosen.has(t.array)) {
        chosen.set(t.array, t.index);
        added.push(t.array);
      }
    }
    if (choose(fields, i + 1, chosen)) return true;
    for (const array of added) chosen.delete(array);
  }
  const absent = field.absentUnless !== undefined && !field.absentUnless.some((leaf) => consistent(leaf, chosen));
  return absent && choose(fields, i + 1, chosen);
}

function consistent(leaf: EventLeaf, chosen: Map<number, number>): boolean {
  for (let t = leaf.trail; t !== null; t = t.outer) {
    const index = chosen.get(t.array);
    if (index !== undefined && index !== t.index) return false;
  }
  return true;
}

function matchesValue(m: Matcher, v: Leaf): boolean {
  switch (m.kind) {
    case 'exactly':
      if (v === m.value) return true;
      return m.ip !== undefined && typeof v === 'string' && sameBytes(m.ip, parseIpIfPossible(v));
    case 'prefix':
      return typeof v === 'string' && v.startsWith(m.value);
    case 'suffix':
      return typeof v === 'string' && v.endsWith(m.value);
    case 'prefix-ignore-case':
      return typeof v === 'string' && matchesIgnoringCase(m.cases, v, 'prefix');
    case 'suffix-ignore-case':
      return typeof v === 'string' && matchesIgnoringCase(m.cases, v, 'suffix');
    case 'equals-ignore-case':
      return typeof v === 'string' && matchesIgnoringCase(m.cases, v, 'equals');
    case 'wildcard':
      return typeof v === 'string' && wildcardMatches(m.segments, v);
    // anything-but matches any present value it does not exclude, whatever its type.
    case 'anything-but':
      if (typeof v === 'string') return !m.strings.includes(v);
      if (typeof v === 'number') return !m.numbers.includes(v);
      return true;
    case 'anything-but-prefix':
      return typeof v !== 'string' || !m.values.some((p) => v.startsWith(p));
    case 'anything-but-suffix':
      return typeof v !== 'string' || !m.values.some((s) => v.endsWith(s));
    case 'anything-but-ignore-case':
      return typeof v !== 'string' || !m.cases.some((c) => matchesIgnoringCase(c, v, 'equals'));
    case 'anything-but-wildcard':
      return typeof v !== 'string' || !m.patterns.some((p) => wildcardMatches(p, v));
    case 'numeric':
      return (
        typeof v === 'number' &&
        (m.lower === undefined || v > m.lower.value || (m.lower.inclusive && v === m.lower.value)) &&
        (m.upper === undefined || v < m.upper.value || (m.upper.inclusive && v === m.upper.value))
      );
    case 'exists':
      return m.value; // reached only for a present value
    case 'cidr': {
      const ip = typeof v === 'string' ? parseIpIfPossible(v) : undefined;
      return ip !== undefined && ip.length === m.low.length && compareBytes(ip, m.low) >= 0 && compareBytes(ip, m.high) <= 0;
    }
  }
}

// Ruler's equals-ignore-case: each character of the pattern stands for its lower or its upper case
// (Locale.ROOT), so "ß" also matches "SS", but a final "ς" does not match "Σ"'s lower case "σ".
function ignoreCase(value: string): CaseAlternatives {
  return Array.from(value, (c) => {
    const lower = c.toLowerCase();
    const upper = c.toUpperCase();
    return lower === upper ? [lower] : [lower, upper];
  });
}

/** Whether `v` equals / starts with / ends with a spelling the alternatives allow. */
function matchesIgnoringCase(cases: CaseAlternatives, v: string, how: 'equals' | 'prefix' | 'suffix'): boolean {
  // Positions in `v` reachable after each character (from the end, for a suffix).
  let reachable = new Set([how === 'suffix' ? v.length : 0]);
  const steps = how === 'suffix' ? [...cases].reverse() : cases;
  for (const alternatives of steps) {
    const next = new Set<number>();
    for (const pos of reachable) {
      for (const a of alternatives) {
        if (how === 'suffix' ? v.endsWith(a, pos) : v.startsWith(a, pos)) next.add(how === 'suffix' ? pos - a.length : pos + a.length);
      }
    }
    if (next.size === 0) return false;
    reachable = next;
  }
  return how !== 'equals' || reachable.has(v.length);
}

// The first and last segments anchor the ends; the ones between are found leftmost-first in
// order, which finds a match whenever there is one. Linear in the value's length.
function wildcardMatches(segments: readonly string[], s: string): boolean {
  if (segments.length === 1) return s === segments[0];
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
  const end = s.length - last.length;
  let pos = first.length;
  for (const segment of segments.slice(1, -1)) {
    const at = s.indexOf(segment, pos);
    if (at < 0 || at + segment.length > end) return false;
    pos = at + segment.length;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
