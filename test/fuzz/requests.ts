// Request generators for the API fuzzer, driven by the API model: for every operation of the
// routing table (src/api/batch/operations.ts, itself derived from the vendored model) the input
// shape is walked member by member, so an operation added to the model is fuzzed with no change
// here. What the min-format model lacks (enums, name patterns, which members name existing
// resources) comes from a table of hints keyed by member path; a member without a hint still
// gets values of its model type, and every hint only makes values more likely to pass.
//
// A generated request is pure data (fast-check values): references to existing resources are
// `Ref` placeholders resolved when the request is sent (against what the server holds by then),
// very long strings are `Huge` placeholders expanded when serialised, and JSON that
// JSON.stringify cannot write (duplicate keys, numbers such as 1e309, deep nesting) is `Raw`/`Dup`.

import fc from 'fast-check';
import { batchModel, resolveShape, shapeType, type ApiModel, type ShapeRef } from '../../src/api/batch/model/index.js';
import { OPERATIONS, type OperationRoute } from '../../src/api/batch/operations.js';
import * as rules from '../../src/api/batch/rules.js';

// ---------------------------------------------------------------------------------------------
// Values

export type RefKind = 'ce' | 'queue' | 'jobdef' | 'jobdefName' | 'job' | 'sp' | 'arn' | 'token';

/** An existing resource (by pick % pool size), written in one of several forms (name, ARN, ...). */
export class Ref {
  constructor(
    readonly kind: RefKind,
    readonly pick: number,
    readonly form: number,
  ) {}
}
/** JSON text written as is (numbers JSON.stringify cannot write, deep nesting, ...). */
export class Raw {
  constructor(readonly text: string) {}
}
/** A string of `length` UTF-16 units made of `unit` repeated. */
export class Huge {
  constructor(
    readonly length: number,
    readonly unit: string,
  ) {}
}
/** A JSON object whose keys may repeat (the last one wins in JSON.parse). */
export class Dup {
  constructor(readonly entries: [string, Node][]) {}
}
/** `count` copies of `item` as a list, or as a map with keys `${keyPrefix}${i}`. */
export class Many {
  constructor(
    readonly count: number,
    readonly item: Node,
    readonly keyPrefix?: string,
  ) {}
}

export type Node = null | boolean | number | string | Node[] | { [key: string]: Node } | Ref | Raw | Huge | Dup | Many;

const NONE = Symbol('none');
type Maybe<T> = T | typeof NONE;

// ---------------------------------------------------------------------------------------------
// Strings

/** Characters that break naive code: NUL, RTL marks, lone surrogates, BOM, line separators, ... */
const NASTY_CHARS = [
  '\u0000', '\u0001', '\u001f', '\u007f', '\u202e', '\u200f', '\u061c', '\u200b', '\ufeff', '\ufffe', '\uffff',
  '\ud800', '\udbff', '\udc00', '\udfff', '\u2028', '\u2029', '\r\n', '\n', '\t', '"', '\\', '/', "'", '`',
  '%', '%00', '%2F', '%zz', '+', '&', '=', '?', '#', '..', '../', '*', ':', '::', ' ', '😀', '👩‍👩‍👧', 'e\u0301', 'ﷺ',
  'İ', 'ß', 'Ω', 'שלום', 'مرحبا', '日本', '${x}', 'Ref::x', '<script>', "' OR 1=1 --", '__proto__', 'null', 'NaN',
];

const nastyString: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.string({ maxLength: 6 }) },
      { weight: 3, arbitrary: fc.constantFrom(...NASTY_CHARS) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''));

const HUGE_LENGTHS = [1025, 4097, 24 * 1024 + 1, 30 * 1024 + 1, 100_000, 1024 * 1024 + 1];
const HUGE_UNITS = ['a', 'é', '😀', '\u0000', '\ud800', '"', '\\'];
const hugeString: fc.Arbitrary<Node> = fc
  .tuple(fc.constantFrom(...HUGE_LENGTHS), fc.constantFrom(...HUGE_UNITS))
  .map(([n, u]) => new Huge(n, u));

const text: fc.Arbitrary<Node> = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-zA-Z0-9 ._:-]{1,24}$/) },
  { weight: 3, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.constant('') },
);

const freshName = fc.oneof(
  { weight: 6, arbitrary: fc.nat(40).map((n) => `fz${n}`) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_-]{1,12}$/) },
  { weight: 1, arbitrary: fc.constantFrom('default', 'a'.repeat(128), 'a'.repeat(129), '', 'has space', 'dot.name', 'x:1', 'ü') },
);

const identifier = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,10}$/);

function pick<T>(values: readonly T[]): fc.Arbitrary<T> {
  return fc.constantFrom(...values);
}

function ref(kind: RefKind, forms = 90): fc.Arbitrary<Node> {
  return fc.tuple(fc.nat(1000), fc.nat(forms - 1)).map(([p, f]) => new Ref(kind, p, f));
}

function tokenOf(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

const nextToken: fc.Arbitrary<Node> = fc.oneof(
  fc.constantFrom(
    tokenOf({ o: 1 }),
    tokenOf({ o: 0 }),
    tokenOf({ o: -1 }),
    tokenOf({ o: 1e300 }),
    tokenOf({ o: 1.5 }),
    tokenOf({ o: '1' }),
    tokenOf({ s: 1, f: '[]' }),
    tokenOf({ s: -5, f: '["fz1",null,["RUNNING"],[]]' }),
    tokenOf({ s: 1e308, f: '' }),
    tokenOf([]),
    tokenOf(null),
    Buffer.from('{"o":').toString('base64url'),
    '',
    '!!!',
    '%',
    'eyJ',
  ),
  fc.string({ maxLength: 20 }),
);

// ---------------------------------------------------------------------------------------------
// Hints: what a member means, by `<Operation>.<path>` (path: members joined by `.`, `[]` for a
// list item, `{}` for a map value). First match wins.

type Hint = [RegExp, fc.Arbitrary<Node>];

const STRING_HINTS: Hint[] = [
  [/^CreateComputeEnvironment\.type$/, pick(rules.CE_TYPES)],
  [/\.computeResources\.type$/, pick(rules.COMPUTE_RESOURCE_TYPES)],
  [/\.allocationStrategy$/, pick(rules.ALLOCATION_STRATEGIES)],
  [/^RegisterJobDefinition\.type$/, pick(rules.JOB_DEFINITION_TYPES)],
  [/resourceRequirements\[\]\.type$/, pick(rules.RESOURCE_TYPES)],
  [/resourceRequirements\[\]\.value$/, pick(['1', '2', '0.5', '.25', '4', '512', '2048', '0', '-1', '1e3', 'abc', '', '1.', '99999999999999999999'])],
  [/dependsOn\[\]\.type$/, pick(rules.DEPENDENCY_TYPES)],
  [/jobStateTimeLimitActions\[\]\.state$/, pick(rules.JOB_STATE_TIME_LIMIT_STATES)],
  [/jobStateTimeLimitActions\[\]\.action$/, pick(rules.JOB_STATE_TIME_LIMIT_ACTIONS)],
  [/^[A-Za-z]+\.state$/, pick(rules.RESOURCE_STATES)],
  [/^DescribeJobDefinitions\.status$/, pick(rules.JOB_DEFINITION_STATUSES)],
  [/\.jobStatus$/, pick(rules.JOB_STATUS_VALUES)],
  [/platformCapabilities\[\]$/, pick(rules.PLATFORM_CAPABILITIES)],
  [/\.logDriver$/, pick(rules.LOG_DRIVERS)],
  [/evaluateOnExit\[\]\.action$/, pick(['RETRY', 'EXIT', 'retry', 'Exit', 'FAILED'])],
  [/\.onExitCode$/, pick(['0', '1', '137', '1*', '*', '', 'x'])],
  [/\.(onReason|onStatusReason)$/, pick(['*', 'Host EC2*', 'OutOfMemory*', 'Essential container*', 'bad!'])],
  [/filters\[\]\.name$/, pick(rules.LIST_JOBS_FILTER_NAMES)],
  [/filters\[\]\.values\[\]$/, fc.oneof(pick(['1700000000000', '0', '9999999999999999', '17e11', 'fz1', 'jd1:1', '']), ref('jobdefName'))],
  [/\.jobName$/, fc.oneof({ weight: 9, arbitrary: fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,16}$/) }, { weight: 1, arbitrary: text })],
  [/^(CreateComputeEnvironment\.computeEnvironmentName|CreateJobQueue\.jobQueueName|RegisterJobDefinition\.jobDefinitionName|CreateSchedulingPolicy\.name)$/, freshName],
  [/\.jobDefinitionName$/, ref('jobdefName')],
  [/\.(computeEnvironment|computeEnvironments\[\])$/, ref('ce')],
  [/\.(jobQueue|jobQueues\[\])$/, ref('queue')],
  [/\.(jobDefinition|jobDefinitions\[\])$/, ref('jobdef')],
  [/\.(jobId|jobs\[\]|arrayJobId|multiNodeJobId)$/, ref('job')],
  [/\.(arn|arns\[\]|schedulingPolicyArn)$/, ref('sp')],
  [/\.resourceArn$/, ref('arn')],
  [/\.reason$/, fc.oneof({ weight: 8, arbitrary: text }, { weight: 1, arbitrary: fc.constant(new Huge(1025, 'r')) })],
  [/\.command\[\]$/, fc.oneof({ weight: 3, arbitrary: pick(['echo', 'hello', 'Ref::p', 'true', 'sleep', '1', '']) }, { weight: 1, arbitrary: text })],
  [/\.image$/, pick(['busybox', 'public.ecr.aws/x/y:latest', ''])],
  [/environment\[\]\.name$/, pick(['FOO', 'BAR', 'AWS_BATCH_JOB_ID', 'AWS_BATCHX', '', 'a b', 'PATH'])],
  [/\.shareIdentifier$/, pick(['a', 'blue', 'a*', 'x'.repeat(256), 'no-dash', '', '*'])],
  [/\.targetNodes$/, pick(['0', '0:1', '1:', ':', ':2', '3:1', 'a', '0:99'])],
  [/\.nextToken$/, fc.oneof(nextToken, ref('token'))],
  [/\.instanceTypes\[\]$/, pick(['optimal', 'm5.large', 'default_x86_64'])],
  [/(Role|RoleArn|Arn)$/, pick(['arn:aws:iam::000000000000:role/x', 'x', ''])],
  [/\{\}$/, text],
];

const INT_HINTS: [RegExp, fc.Arbitrary<number>][] = [
  [/\.(maxvCpus|minvCpus|desiredvCpus|unmanagedvCpus)$/, fc.integer({ min: 0, max: 64 })],
  [/\.priority$/, fc.integer({ min: 0, max: 1000 })],
  [/\.order$/, fc.integer({ min: 0, max: 4 })],
  [/arrayProperties\.size$/, fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 2, max: 5 }) }, { weight: 1, arbitrary: pick([0, 1, 10001]) })],
  [/\.attempts$/, fc.integer({ min: 0, max: 11 })],
  [/\.attemptDurationSeconds$/, fc.integer({ min: 0, max: 100_000 })],
  [/\.maxResults$/, fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 1001 }) })],
  [/\.vcpus$/, fc.integer({ min: 0, max: 8 })],
  [/\.memory$/, fc.integer({ min: 0, max: 4096 })],
  [/\.(numNodes|mainNode)$/, fc.integer({ min: 0, max: 4 })],
  [/\.schedulingPriority(Override)?$/, fc.integer({ min: -1, max: 10_000 })],
  [/\.maxTimeSeconds$/, fc.integer({ min: 0, max: 90_000 })],
  [/\.shareDecaySeconds$/, fc.integer({ min: -1, max: 700_000 })],
  [/\.computeReservation$/, fc.integer({ min: -1, max: 100 })],
  [/\.jobExecutionTimeoutMinutes$/, fc.integer({ min: 0, max: 7201 })],
];

/** Members that lead to "not supported" answers: rarely given, so most requests go deeper. */
const RARE_MEMBERS = /\.(eksConfiguration|eksProperties|ecsProperties|nodeProperties|nodeOverrides|eksPropertiesOverride|ecsPropertiesOverride|context|launchTemplate|ec2Configuration|eksAttemptDetails)$/;

function hinted<T>(hints: [RegExp, fc.Arbitrary<T>][], key: string): fc.Arbitrary<T> | undefined {
  for (const [re, arb] of hints) if (re.test(key)) return arb;
  return undefined;
}

const tagKey = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9:_.-]{0,12}$/) },
  { weight: 2, arbitrary: pick(['Name', 'team', 'aws:x', 'AWS:y', 'openbatch:maxConcurrency', '', 'k'.repeat(129), '__proto__', 'constructor']) },
  { weight: 1, arbitrary: nastyString },
);

// ---------------------------------------------------------------------------------------------
// Wrong values

const EDGE_NUMBERS: Node[] = [
  -1, 0, -0, 0.5, 1e-7, 2147483647, 2147483648, -2147483649, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e300, -1e300,
  new Raw('1e309'), new Raw('-1e309'), new Raw('9007199254740993'), new Raw('1.0'), new Raw('1E2'), new Raw('-0.0'),
  new Raw('123456789012345678901234567890'), new Raw('0.1e-400'), new Raw('NaN'), new Raw('-Infinity'), new Raw('0x10'), new Raw('01'), new Raw('+1'),
];

function deep(depth: number, kind: 'list' | 'object'): Raw {
  return kind === 'list' ? new Raw('['.repeat(depth) + ']'.repeat(depth)) : new Raw('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
}

/** A value of any JSON type, mostly not the one asked for, including the nastiest. */
const wrongValue: fc.Arbitrary<Node> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<Node>(null, true, false, '', '1', 'true', 'null', [], {}, [null], { a: 1 }, [[]], '[]', '{}') },
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 2, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Node> },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: fc.tuple(pick([64, 1000, 100_000]), pick(['list', 'object'] as const)).map(([d, k]) => deep(d, k)) },
);

const unknownMemberName = fc.oneof(
  pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'JobName', 'jobname', '', ' ', 'a.b', 'tags[0]']),
  fc.string({ maxLength: 8 }),
);

// ---------------------------------------------------------------------------------------------
// Walking the model

export interface GenOptions {
  /** Chance (0..1) that a value is replaced by a wrong one, and that a structure gets a structural mutation. */
  mutation: number;
  /** Chance (0..100) that an optional top-level member is given. */
  presence: number;
  /** Chance (0..100) that an optional member is JSON null (which means absent) instead. */
  nulls: number;
}

/** Optional members that are nearly always given when their parent is (it is pointless without them). */
const USUAL_MEMBERS = /(arrayProperties\.size|dependsOn\[\]\.jobId|resourceRequirements\[\]\.(type|value)|environment\[\]\.name|computeResources\.maxvCpus|evaluateOnExit\[\]\.action)$/;

interface Ctx {
  model: ApiModel;
  op: string;
  opts: GenOptions;
}

function mutated(ctx: Ctx, arb: fc.Arbitrary<Node>): fc.Arbitrary<Node> {
  if (ctx.opts.mutation <= 0) return arb;
  const bad = Math.max(1, Math.round(ctx.opts.mutation * 100));
  return fc.oneof({ weight: 100 - bad, arbitrary: arb }, { weight: bad, arbitrary: wrongValue });
}

function valueArb(ctx: Ctx, ref: ShapeRef, path: string, depth: number): fc.Arbitrary<Node> {
  const shape = resolveShape(ref, ctx.model);
  const key = `${ctx.op}${path}`;
  if (depth > 14) return fc.constant(null);
  switch (shapeType(shape)) {
    case 'structure':
      return mutated(ctx, structArb(ctx, shape, path, depth));
    case 'list': {
      const item = valueArb(ctx, shape.member ?? {}, `${path}[]`, depth + 1);
      const lists = fc.array(item, { maxLength: depth === 0 ? 3 : 2 });
      if (ctx.opts.mutation <= 0) return lists;
      return mutated(
        ctx,
        fc.oneof(
          { weight: 30, arbitrary: lists as fc.Arbitrary<Node> },
          { weight: 1, arbitrary: fc.tuple(pick([21, 51, 101, 1001, 10_001]), item).map(([n, v]) => new Many(n, v)) },
        ),
      );
    }
    case 'map': {
      const keys = /\.tags$/.test(path) ? tagKey : fc.oneof({ weight: 4, arbitrary: identifier }, { weight: 1, arbitrary: nastyString });
      const values = valueArb(ctx, shape.value ?? {}, `${path}{}`, depth + 1);
      const maps = fc.dictionary(keys, values, { maxKeys: 3, noNullPrototype: true }) as fc.Arbitrary<Node>;
      if (ctx.opts.mutation <= 0) return maps;
      return mutated(
        ctx,
        fc.oneof(
          { weight: 30, arbitrary: maps },
          { weight: 1, arbitrary: fc.tuple(pick([51, 1001]), values).map(([n, v]) => new Many(n, v, 'k')) },
        ),
      );
    }
    case 'string': {
      const base = hinted(STRING_HINTS, key) ?? text;
      if (ctx.opts.mutation <= 0) return base;
      return mutated(ctx, fc.oneof({ weight: 40, arbitrary: base }, { weight: 4, arbitrary: text }, { weight: 1, arbitrary: hugeString }));
    }
    case 'integer':
    case 'long':
    case 'timestamp': {
      const base = hinted(INT_HINTS, key) ?? fc.integer({ min: 0, max: 100 });
      if (ctx.opts.mutation <= 0) return base;
      return mutated(ctx, fc.oneof({ weight: 10, arbitrary: base as fc.Arbitrary<Node> }, { weight: 1, arbitrary: fc.constantFrom(...EDGE_NUMBERS) }));
    }
    case 'float':
    case 'double': {
      const base = fc.oneof(fc.double({ min: 0, max: 1000, noNaN: true }), pick([0.0001, 0.00001, 999.9999, 1000, 1]));
      return mutated(ctx, base);
    }
    case 'boolean':
      return mutated(ctx, fc.boolean());
    case 'blob':
      return mutated(ctx, fc.base64String({ maxLength: 16 }));
  }
}

function structArb(ctx: Ctx, shape: ShapeRef, path: string, depth: number): fc.Arbitrary<Node> {
  const members = Object.entries(shape.members ?? {});
  const required = new Set(shape.required ?? []);
  const parts = members.map(([name, memberRef]) => {
    const memberPath = `${path}.${name}`;
    const value = valueArb(ctx, memberRef, memberPath, depth + 1);
    let presence = required.has(name) ? 97 : depth === 0 ? ctx.opts.presence : 20;
    if (USUAL_MEMBERS.test(memberPath)) presence = 90;
    if (RARE_MEMBERS.test(memberPath)) presence = 3;
    const nulls = required.has(name) ? 0 : ctx.opts.nulls;
    return fc.oneof(
      { weight: 100 - presence, arbitrary: fc.constant<Maybe<Node>>(NONE) },
      { weight: presence, arbitrary: value as fc.Arbitrary<Maybe<Node>> },
      ...(nulls > 0 ? [{ weight: nulls, arbitrary: fc.constant<Maybe<Node>>(null) }] : []),
    );
  });
  const base = fc.tuple(...parts).map((values) => {
    const out: [string, Node][] = [];
    values.forEach((v, i) => {
      if (v !== NONE) out.push([members[i][0], v]);
    });
    return out;
  });
  if (ctx.opts.mutation <= 0) return base.map(toObject);
  const bad = Math.max(1, Math.round(ctx.opts.mutation * 100));
  type Change = { kind: 'none' } | { kind: 'unknown'; name: string; value: Node } | { kind: 'drop'; i: number } | { kind: 'dup'; i: number; value: Node; first: boolean } | { kind: 'null'; i: number };
  const change: fc.Arbitrary<Change> = fc.oneof(
    { weight: 100 - bad, arbitrary: fc.constant<Change>({ kind: 'none' }) },
    { weight: bad, arbitrary: fc.record({ kind: fc.constant('unknown' as const), name: unknownMemberName, value: wrongValue }) },
    { weight: bad, arbitrary: fc.record({ kind: fc.constant('drop' as const), i: fc.nat(50) }) },
    { weight: bad, arbitrary: fc.record({ kind: fc.constant('dup' as const), i: fc.nat(50), value: wrongValue, first: fc.boolean() }) },
    { weight: bad, arbitrary: fc.record({ kind: fc.constant('null' as const), i: fc.nat(50) }) },
  );
  return fc.tuple(base, change).map(([entries, c]): Node => {
    if (c.kind === 'none' || (c.kind !== 'unknown' && entries.length === 0)) return toObject(entries);
    if (c.kind === 'unknown') return new Dup([...entries, [c.name, c.value]]);
    const i = c.i % entries.length;
    if (c.kind === 'drop') return toObject(entries.filter((_, j) => j !== i));
    if (c.kind === 'null') return toObject(entries.map(([k, v], j) => [k, j === i ? null : v]));
    // The same key twice: JSON.parse keeps the last.
    const [k, v] = entries[i];
    const twice: [string, Node][] = c.first ? [[k, c.value], [k, v]] : [[k, v], [k, c.value]];
    return new Dup([...entries.slice(0, i), ...twice, ...entries.slice(i + 1)]);
  });
}

function toObject(entries: [string, Node][]): Node {
  // __proto__ as an own property, as JSON.parse makes it.
  const out: Record<string, Node> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Requests

export type Transport = 'http' | 'inject' | 'raw';

export const CONTENT_TYPES = [
  'application/json',
  'application/x-amz-json-1.1',
  'application/x-amz-json-1.0',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=zz',
  'application/json; charset=utf-16',
  'application/octet-stream',
  'application/json, text/html',
  '',
  'x'.repeat(2000),
  '*/*',
  'application/xml',
] as const;

export type BodyMutation =
  | 'none'
  | 'truncate'
  | 'trailing-garbage'
  | 'second-document'
  | 'non-object'
  | 'bom'
  | 'utf16'
  | 'invalid-utf8'
  | 'whitespace'
  | 'comment'
  | 'single-quotes'
  | 'empty';

export type PathMutation =
  | 'none'
  | 'trailing-slash'
  | 'uppercase'
  | 'double-slash'
  | 'dot-segments'
  | 'encoded-letter'
  | 'suffix'
  | 'other-version'
  | 'no-prefix'
  | 'query'
  | 'fragment'
  | 'random';

/** How a URI label (the ARN in /v1/tags/{resourceArn}) is written. */
export type LabelEncoding =
  | 'component'
  | 'raw'
  | 'double'
  | 'pct-bad'
  | 'pct-truncated'
  | 'pct-overlong'
  | 'pct-nul'
  | 'pct-surrogate'
  | 'empty'
  | 'extra-slash'
  | 'unicode'
  | 'plus'
  | 'lowercase-hex';

export type QueryEncoding = 'repeat' | 'brackets' | 'member' | 'empty' | 'bad-pct' | 'none';

/** Raw-socket only: violations of HTTP itself, answered by Node's parser before any route. */
export type RawMutation =
  | 'none'
  | 'chunked'
  | 'chunked-bad'
  | 'cl-and-te'
  | 'cl-short'
  | 'cl-long'
  | 'bad-header'
  | 'huge-header'
  | 'http10'
  | 'absolute-form'
  | 'lowercase-method'
  | 'unknown-method'
  | 'no-host'
  | 'nul-in-path';

/** The raw mutations that break HTTP framing or syntax (Node answers them, not the app). */
export const PROTOCOL_VIOLATIONS: ReadonlySet<RawMutation> = new Set([
  'chunked-bad',
  'cl-and-te',
  'cl-long',
  'bad-header',
  'huge-header',
  'lowercase-method',
  'unknown-method',
  'no-host',
  'nul-in-path',
]);

export interface FuzzRequest {
  /** The operation the request was built for (its route), if any. */
  operation?: string;
  transport: Transport;
  /** The family of the request, for the summary. */
  family: string;
  input: Node;
  method: string;
  pathMutation: PathMutation;
  randomPath: string;
  labelEncoding: LabelEncoding;
  labelPos: number;
  queryEncoding: QueryEncoding;
  contentType: Maybe<string>;
  bodyMutation: BodyMutation;
  mutationPos: number;
  nonObject: Node;
  rawMutation: RawMutation;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

const randomPath = fc.oneof(
  pick(['/', '/v1', '/v1/', '/v1/tags', '/v1/tags/', '/v2/submitjob', '/health/', '/openbatch/v1/jobs/x/logs', '/v1/tags/%', '/v1/%', '/v1/%zz', '/%00', '//v1/submitjob', '/v1/*', '/v1/..', '/v1/submitjob;x', '/v1/' + 'a'.repeat(5000)]),
  fc.webPath().map((p) => `/v1${p.startsWith('/') ? p : `/${p}`}`),
);

export interface RequestArbOptions {
  model?: ApiModel;
  routes?: readonly OperationRoute[];
  /** Weights of the transports. */
  transports?: Partial<Record<Transport, number>>;
}

/** Requests for every operation of the routing table, valid-looking and broken. */
export function requestArb(opts: RequestArbOptions = {}): fc.Arbitrary<FuzzRequest> {
  const model = opts.model ?? batchModel;
  const routes = opts.routes ?? OPERATIONS;
  const inputs = new Map<string, fc.Arbitrary<Node>>();
  const inputArb = (op: string, mutation: number, presence = 35, nulls = 0): fc.Arbitrary<Node> => {
    const k = `${op}/${mutation}/${presence}/${nulls}`;
    let arb = inputs.get(k);
    if (!arb) {
      const ctx: Ctx = { model, op, opts: { mutation, presence, nulls } };
      const shape = model.operations[op].input ?? { type: 'structure', members: {} };
      arb = valueArb(ctx, shape, '', 0);
      inputs.set(k, arb);
    }
    return arb;
  };
  const t = { http: 80, inject: 15, raw: 5, ...opts.transports };
  const transport = fc.oneof(
    ...(Object.entries(t) as [Transport, number][]).filter(([, w]) => w > 0).map(([k, w]) => ({ weight: w, arbitrary: fc.constant(k) })),
  );
  const op = pick(routes.map((r) => r.operation));
  const input = op.chain((name) =>
    fc
      .oneof(
        { weight: 25, arbitrary: inputArb(name, 0, 8) },
        { weight: 25, arbitrary: inputArb(name, 0) },
        { weight: 10, arbitrary: inputArb(name, 0, 35, 15) },
        { weight: 25, arbitrary: inputArb(name, 0.04) },
        { weight: 10, arbitrary: inputArb(name, 0.3) },
      )
      .map((value) => ({ name, value })),
  );
  const rare = <T>(normal: T, others: fc.Arbitrary<T>, weight = 8): fc.Arbitrary<T> =>
    fc.oneof({ weight: 100 - weight, arbitrary: fc.constant(normal) }, { weight, arbitrary: others });

  return fc
    .record({
      input,
      transport,
      method: rare<string | undefined>(undefined, pick(METHODS), 5),
      pathMutation: rare<PathMutation>('none', pick(['trailing-slash', 'uppercase', 'double-slash', 'dot-segments', 'encoded-letter', 'suffix', 'other-version', 'no-prefix', 'query', 'fragment', 'random'] as const), 6),
      randomPath,
      labelEncoding: fc.oneof(
        { weight: 12, arbitrary: fc.constant<LabelEncoding>('component') },
        { weight: 1, arbitrary: pick(['raw', 'double', 'pct-bad', 'pct-truncated', 'pct-overlong', 'pct-nul', 'pct-surrogate', 'empty', 'extra-slash', 'unicode', 'plus', 'lowercase-hex'] as const) },
      ),
      labelPos: fc.nat(),
      queryEncoding: rare<QueryEncoding>('repeat', pick(['brackets', 'member', 'empty', 'bad-pct', 'none'] as const), 10),
      contentType: fc.oneof(
        { weight: 80, arbitrary: fc.constant<Maybe<string>>('application/json') },
        { weight: 8, arbitrary: fc.constant<Maybe<string>>(NONE) },
        { weight: 12, arbitrary: pick<Maybe<string>>(CONTENT_TYPES) },
      ),
      bodyMutation: rare<BodyMutation>('none', pick(['truncate', 'trailing-garbage', 'second-document', 'non-object', 'bom', 'utf16', 'invalid-utf8', 'whitespace', 'comment', 'single-quotes', 'empty'] as const), 10),
      mutationPos: fc.nat(),
      nonObject: fc.constantFrom<Node>([], [{}], 'str', 1, null, true, deep(100_000, 'list'), deep(10_000, 'object')),
      rawMutation: rare<RawMutation>('none', pick(['chunked', 'chunked-bad', 'cl-and-te', 'cl-short', 'cl-long', 'bad-header', 'huge-header', 'http10', 'absolute-form', 'lowercase-method', 'unknown-method', 'no-host', 'nul-in-path'] as const), 60),
    })
    .map((r): FuzzRequest => {
      const route = routes.find((x) => x.operation === r.input.name)!;
      const request: FuzzRequest = {
        operation: route.operation,
        transport: r.transport,
        family: 'valid-shaped',
        input: r.input.value,
        method: r.method ?? route.method,
        pathMutation: r.pathMutation,
        randomPath: r.randomPath,
        labelEncoding: r.labelEncoding,
        labelPos: r.labelPos,
        queryEncoding: r.queryEncoding,
        contentType: r.contentType,
        bodyMutation: r.bodyMutation,
        mutationPos: r.mutationPos,
        nonObject: r.nonObject,
        rawMutation: r.transport === 'raw' ? r.rawMutation : 'none',
      };
      request.family = familyOf(request, route);
      return request;
    });
}

function familyOf(r: FuzzRequest, route: OperationRoute): string {
  if (r.rawMutation !== 'none') return `raw:${r.rawMutation}`;
  if (r.pathMutation !== 'none') return `path:${r.pathMutation}`;
  if (r.method !== route.method) return 'method';
  if (r.bodyMutation !== 'none') return `body:${r.bodyMutation}`;
  if (route.uriParams.length > 0 && r.labelEncoding !== 'component') return `label:${r.labelEncoding}`;
  if (r.contentType !== 'application/json') return 'content-type';
  return 'shaped';
}

// ---------------------------------------------------------------------------------------------
// Building the wire request

export interface Pools {
  ce: { name: string; arn: string }[];
  queue: { name: string; arn: string }[];
  jobdef: { name: string; revision: number; arn: string }[];
  job: { id: string; arn: string }[];
  sp: { name: string; arn: string }[];
  /** nextToken values from answers (of any operation). */
  token: string[];
}

export function emptyPools(): Pools {
  return { ce: [], queue: [], jobdef: [], job: [], sp: [], token: [] };
}

/** A real nextToken, tampered with: other numbers, other fields, cut short. */
function tamperToken(token: string, form: number): string {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return token;
  }
  const key = Object.keys(v).find((k) => typeof v[k] === 'number') ?? 'o';
  const numbers = [-1, 0, 1.5, 1e308, 2 ** 53 + 1, '1', null];
  switch (form % 4) {
    case 0:
      return Buffer.from(JSON.stringify({ ...v, [key]: numbers[Math.floor(form / 4) % numbers.length] })).toString('base64url');
    case 1:
      return token.slice(0, Math.max(1, token.length - 1 - (form % 7)));
    case 2:
      return `${token}${['=', '%', '.', 'A'][form % 4]}`;
    default:
      return Buffer.from(JSON.stringify({ ...v, f: '[]', extra: true })).toString('base64url');
  }
}

const OTHER = (arn: string) => arn.replace(':000000000000:', ':111111111111:');

/** A Ref as the string it stands for now. */
export function resolveRef(r: Ref, pools: Pools): string {
  // Two picks in five take the first of the pool: the harness puts its own resources there
  // (an ENABLED queue, an ACTIVE definition), so that valid-looking requests often succeed.
  const at = <T>(list: T[]): T | undefined => (list.length ? list[r.pick % 5 < 2 ? 0 : r.pick % list.length] : undefined);
  switch (r.kind) {
    case 'ce':
    case 'queue': {
      const x = at(r.kind === 'ce' ? pools.ce : pools.queue);
      if (!x) return ['fz-missing', 'arn:aws:batch:us-east-1:000000000000:compute-environment/none'][r.form % 2];
      return [x.name, x.arn, x.arn, x.name, x.name, x.name, OTHER(x.arn), `${x.name}x`, x.name.toUpperCase(), `${x.arn}/`][r.form % 10];
    }
    case 'jobdef':
    case 'jobdefName': {
      const d = at(pools.jobdef);
      if (!d) return ['jd-missing', 'jd-missing:1'][r.form % 2];
      if (r.kind === 'jobdefName') return d.name;
      return [d.name, `${d.name}:${d.revision}`, d.arn, d.arn.replace(/:\d+$/, ''), d.name, `${d.name}:${d.revision}`, `${d.name}:999`, `${d.name}:0`, OTHER(d.arn)][r.form % 9];
    }
    case 'job': {
      const j = at(pools.job);
      if (!j) return ['00000000-0000-0000-0000-000000000000', 'nope'][r.form % 2];
      return [j.id, j.id, j.id, j.arn, `${j.id}:0`, `${j.arn}:1`, j.id.toUpperCase(), `${j.id}#0`, OTHER(j.arn)][r.form % 9];
    }
    case 'sp': {
      const p = at(pools.sp);
      if (!p) return 'arn:aws:batch:us-east-1:000000000000:scheduling-policy/none';
      return [p.arn, p.arn, p.arn, p.name, OTHER(p.arn), `${p.arn}x`, p.arn.replace('us-east-1', 'eu-west-1'), ''][r.form % 8];
    }
    case 'token': {
      const t = at(pools.token);
      if (!t) return 'eyJvIjoxfQ';
      return r.form % 3 === 0 ? t : tamperToken(t, Math.floor(r.form / 3));
    }
    case 'arn': {
      const all = [...pools.ce.map((x) => x.arn), ...pools.queue.map((x) => x.arn), ...pools.jobdef.map((x) => x.arn), ...pools.job.map((x) => x.arn), ...pools.sp.map((x) => x.arn)];
      const a = all.length ? all[r.pick % all.length] : 'arn:aws:batch:us-east-1:000000000000:job-queue/none';
      return [a, a, a, a, `${a}:0`, OTHER(a), a.replace('arn:aws:', 'arn:aws-cn:'), 'arn:aws:batch:us-east-1:000000000000:job/'][r.form % 8];
    }
  }
}

function hugeText(h: Huge): string {
  const s = h.unit.repeat(Math.ceil(h.length / h.unit.length));
  return s.slice(0, h.length);
}

/** The JSON text of a node (keys may repeat, numbers may be ones JSON.stringify cannot write). */
export function emit(node: Node, pools: Pools): string {
  if (node instanceof Ref) return JSON.stringify(resolveRef(node, pools));
  if (node instanceof Raw) return node.text;
  if (node instanceof Huge) return JSON.stringify(hugeText(node));
  if (node instanceof Dup) return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${emit(v, pools)}`).join(',')}}`;
  if (node instanceof Many) {
    const item = emit(node.item, pools);
    // Many copies of a huge item: no more than a few MiB in all (past every body limit anyway).
    const count = Math.min(node.count, Math.max(1, Math.floor(4_000_000 / (item.length + 1))));
    const parts: string[] = [];
    for (let i = 0; i < count; i++) parts.push(node.keyPrefix === undefined ? item : `${JSON.stringify(node.keyPrefix + i)}:${item}`);
    return node.keyPrefix === undefined ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
  }
  if (Array.isArray(node)) return `[${node.map((v) => emit(v, pools)).join(',')}]`;
  if (node !== null && typeof node === 'object') {
    return `{${Object.keys(node).map((k) => `${JSON.stringify(k)}:${emit(node[k], pools)}`).join(',')}}`;
  }
  return JSON.stringify(node) ?? 'null';
}

/** A node as a plain string (for a URI label or query parameter). */
function asString(node: Node, pools: Pools): string {
  if (typeof node === 'string') return node;
  if (node instanceof Ref) return resolveRef(node, pools);
  if (node instanceof Huge) return hugeText(node);
  return emit(node, pools);
}

function isPlainObject(node: Node): node is { [key: string]: Node } {
  return node !== null && typeof node === 'object' && !Array.isArray(node) && Object.getPrototypeOf(node) === Object.prototype;
}

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD), keeping `keep`. */
export function pctEncode(s: string, keep: RegExp = /[A-Za-z0-9_.~-]/): string {
  let out = '';
  for (const ch of s) {
    if (keep.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function insertAt(s: string, pos: number, what: string): string {
  const i = s.length ? pos % (s.length + 1) : 0;
  return s.slice(0, i) + what + s.slice(i);
}

function encodeLabel(value: string, enc: LabelEncoding, pos: number): string {
  switch (enc) {
    case 'component':
      return pctEncode(value);
    case 'raw':
      return pctEncode(value, /[A-Za-z0-9_.~:\/@!$&'()*+,;=-]/);
    case 'double':
      return pctEncode(pctEncode(value));
    case 'pct-bad':
      return insertAt(pctEncode(value), pos, '%zz');
    case 'pct-truncated':
      return pctEncode(value) + ['%', '%E', '%E0%A4', '%F0%9F%98'][pos % 4];
    case 'pct-overlong':
      return insertAt(pctEncode(value), pos, ['%C0%80', '%C0%AF', '%E0%80%AF'][pos % 3]);
    case 'pct-nul':
      return insertAt(pctEncode(value), pos, '%00');
    case 'pct-surrogate':
      return insertAt(pctEncode(value), pos, ['%ED%A0%80', '%ED%BF%BF'][pos % 2]);
    case 'empty':
      return '';
    case 'extra-slash':
      return `${pctEncode(value)}/${['', 'x', '..', '%2F'][pos % 4]}`;
    case 'unicode':
      return insertAt(pctEncode(value), pos, pctEncode(['é', '😀', '\u202e', '\u0000'][pos % 4]));
    case 'plus':
      return pctEncode(value).replace(/%3A/g, '+');
    case 'lowercase-hex':
      return pctEncode(value).toLowerCase().replace(/^arn/, 'arn');
  }
}

export interface WireRequest {
  method: string;
  /** The request target exactly as sent (ASCII; raw mutations may add more). */
  target: string;
  headers: Record<string, string>;
  body: Buffer;
  /** A request that must be refused whatever the server holds (its body is not a JSON object, or it is not an operation). */
  mustReject: boolean;
  /** Breaks HTTP itself (raw socket only): Node's parser answers it. */
  protocolViolation: boolean;
  /** The operation the server runs for this method and path, when it is certain. */
  operation?: string;
}

function applyBodyMutation(json: string, r: FuzzRequest, pools: Pools): { body: Buffer; text: string } {
  const p = r.mutationPos;
  switch (r.bodyMutation) {
    case 'none':
      return { body: Buffer.from(json, 'utf8'), text: json };
    case 'truncate': {
      const t = json.slice(0, json.length ? p % json.length : 0);
      return { body: Buffer.from(t, 'utf8'), text: t };
    }
    case 'trailing-garbage': {
      const t = json + ['x', ',', '}', ']', '\u0000', ' 1', '{'][p % 7];
      return { body: Buffer.from(t, 'utf8'), text: t };
    }
    case 'second-document': {
      const t = `${json}\n${json}`;
      return { body: Buffer.from(t, 'utf8'), text: t };
    }
    case 'non-object': {
      const t = emit(r.nonObject, pools);
      return { body: Buffer.from(t, 'utf8'), text: t };
    }
    case 'bom': {
      const t = `\ufeff${json}`;
      return { body: Buffer.from(t, 'utf8'), text: t };
    }
    case 'utf16':
      return { body: Buffer.from(json, 'utf16le'), text: '\u0000' };
    case 'invalid-utf8': {
      const b = Buffer.from(json, 'utf8');
      const bad = [Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from([0xc0, 0x80])][p % 5];
      // Inside the first string value when there is one, so the JSON stays well-formed.
      const q = b.indexOf(':"');
      const at = q >= 0 ? q + 2 : b.length ? p % b.length : 0;
      const body = Buffer.concat([b.subarray(0, at), bad, b.subarray(at)]);
      return { body, text: body.toString('utf8') };
    }
    case 'whitespace': {
      const t = ` \n\t\r${json.replace(/,/g, ' ,\n ')}\n\n `;
      return { body: Buffer.from(t, 'utf8'), text: t };
    }
    case 'comment': {
      const t = insertAt(json, p, '/* c */');
      return { body: Buffer.from(t, 'utf8'), text: t };
    }
    case 'single-quotes': {
      const t = json.replace(/"/g, "'");
      return { body: Buffer.from(t, 'utf8'), text: t };
    }
    case 'empty':
      return { body: Buffer.alloc(0), text: '' };
  }
}

function isJsonObjectText(text: string): boolean {
  if (text.length === 0) return true; // an empty body is taken as {}
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

function mutatePath(path: string, r: FuzzRequest): string {
  switch (r.pathMutation) {
    case 'none':
      return path;
    case 'trailing-slash':
      return `${path}/`;
    case 'uppercase':
      return path.replace(/^\/v1\/([a-z])/, (_m, c: string) => `/v1/${c.toUpperCase()}`).toUpperCase();
    case 'double-slash':
      return path.replace('/v1/', ['/v1//', '//v1/', '/v1///'][r.mutationPos % 3]);
    case 'dot-segments':
      return path.replace('/v1/', ['/v1/./', '/v1/../v1/', '/v1/%2e/', '/v2/../v1/', '/v1/%2E%2E/v1/'][r.mutationPos % 5]);
    case 'encoded-letter':
      return path.replace(/\/v1\/([a-z])/, (_m, c: string) => `/v1/%${c.charCodeAt(0).toString(16)}`);
    case 'suffix':
      return path + ['/x', '.json', '%00', ';', '%20', '~', '%2F'][r.mutationPos % 7];
    case 'other-version':
      return path.replace('/v1/', ['/v2/', '/V1/', '/v0/', '/'][r.mutationPos % 4]);
    case 'no-prefix':
      return path.replace('/v1/', '/');
    case 'query':
      return `${path}${path.includes('?') ? '&' : '?'}${['x=1', '', '%', 'a=%zz', '&&&', `q=${'a'.repeat(3000)}`, 'tagKeys=x', '__proto__=1'][r.mutationPos % 8]}`;
    case 'fragment':
      return `${path}#${['', 'x', '/v1/x'][r.mutationPos % 3]}`;
    case 'random':
      return r.randomPath;
  }
}

/** The request on the wire, with references resolved against what the server holds now. */
export function buildWire(r: FuzzRequest, pools: Pools, routes: readonly OperationRoute[] = OPERATIONS): WireRequest {
  const route = routes.find((x) => x.operation === r.operation);
  let path = route?.requestUri ?? '/v1/';
  let input = r.input;
  const query: string[] = [];
  if (route) {
    const bound = new Set([...route.uriParams, ...route.queryParams].map((b) => b.member));
    const obj = isPlainObject(input) ? input : undefined;
    if (obj && bound.size > 0) {
      const rest: Record<string, Node> = {};
      for (const k of Object.keys(obj)) if (!bound.has(k)) Object.defineProperty(rest, k, { value: obj[k], enumerable: true });
      input = rest;
    }
    for (const b of route.uriParams) {
      const v = obj?.[b.member];
      const s = v === undefined ? resolveRef(new Ref('arn', r.labelPos, 0), pools) : asString(v, pools);
      path = path.replace(`{${b.name}}`, encodeLabel(s, r.labelEncoding, r.labelPos));
    }
    for (const b of route.queryParams) {
      const v = obj?.[b.member];
      if (v === undefined || r.queryEncoding === 'none') continue;
      const values = Array.isArray(v) ? v.map((x) => asString(x, pools)) : v instanceof Many ? [] : [asString(v, pools)];
      values.forEach((s, i) => {
        const name = { repeat: b.name, brackets: `${b.name}[]`, member: `${b.name}.member.${i + 1}`, empty: b.name, 'bad-pct': b.name, none: b.name }[r.queryEncoding];
        const value = r.queryEncoding === 'empty' ? '' : r.queryEncoding === 'bad-pct' ? `${pctEncode(s)}%z` : pctEncode(s);
        query.push(`${pctEncode(name)}=${value}`);
      });
    }
  }
  if (query.length) path += `?${query.join('&')}`;
  const target = mutatePath(path, r);

  const hasBody = r.method !== 'GET' && r.method !== 'HEAD' && r.method !== 'DELETE' && (route?.method === 'POST' || r.bodyMutation !== 'none');
  const json = hasBody ? emit(input, pools) : '';
  const { body, text } = hasBody || r.bodyMutation !== 'none' ? applyBodyMutation(json, r, pools) : { body: Buffer.alloc(0), text: '' };

  const headers: Record<string, string> = {};
  if (r.contentType !== NONE) headers['content-type'] = r.contentType;

  // Whatever the server holds, these cannot be a valid call: not an operation's route and
  // method, or a body that is not one JSON object.
  let mustReject = false;
  // Another method on the same path may be another operation (the tag operations share theirs).
  if (route === undefined || !routes.some((x) => x.requestUri === route.requestUri && x.method === r.method)) mustReject = true;
  if (PATH_NEVER_ROUTES.has(r.pathMutation)) mustReject = true;
  if (r.pathMutation === 'suffix' && route !== undefined && route.uriParams.length === 0) mustReject = true;
  if (route !== undefined && route.method === 'POST' && r.method === 'POST' && !isJsonObjectText(text)) mustReject = true;
  if (r.rawMutation !== 'none' && r.rawMutation !== 'chunked' && r.rawMutation !== 'http10') mustReject = false;
  const samePath = ['none', 'query', 'fragment', 'dot-segments'].includes(r.pathMutation) && ['none', 'chunked', 'http10'].includes(r.rawMutation);
  const operation = samePath && route ? routes.find((x) => x.requestUri === route.requestUri && x.method === r.method)?.operation : undefined;
  return { method: r.method, target, headers, body, mustReject, protocolViolation: PROTOCOL_VIOLATIONS.has(r.rawMutation), operation };
}

/** Path mutations after which no operation matches. */
const PATH_NEVER_ROUTES: ReadonlySet<PathMutation> = new Set(['uppercase', 'double-slash', 'encoded-letter', 'other-version', 'no-prefix']);

/** Whether an operation only reads (it must never change the store, even when it succeeds). */
export function isReadOnly(operation: string | undefined): boolean {
  return operation !== undefined && /^(Describe|List|Get)/.test(operation);
}
