// Fuzzes the Step Functions API (AWSStepFunctions.* on POST /): seed-fixed random bodies for every
// operation, random and mutated state machine definitions (which are also started, so the
// runner meets random ASL with random input), broken JSON. Every answer must be a 200 with a JSON
// object or a 4xx with Step Functions' error shape; never a 5xx, and the server stays healthy.
// A longer run: FUZZ_STATES_REQUESTS=20000 FUZZ_STATES_SEED=<n> node --import tsx --test test/fuzz/states-fuzz.test.ts

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startFuzzServer } from './harness.js';

const REQUESTS = Number(process.env.FUZZ_STATES_REQUESTS ?? 1500);
const SEED = Number(process.env.FUZZ_STATES_SEED ?? 20261128);

const OPS = [
  'CreateStateMachine', 'DescribeStateMachine', 'UpdateStateMachine', 'DeleteStateMachine', 'ListStateMachines',
  'StartExecution', 'DescribeExecution', 'StopExecution', 'ListExecutions', 'GetExecutionHistory',
  'DescribeStateMachineForExecution', 'TagResource', 'UntagResource', 'ListTagsForResource',
];
const MEMBERS = ['resourceArn', 'tags', 'tagKeys', 'name', 'definition', 'roleArn', 'type', 'stateMachineArn', 'executionArn', 'input', 'maxResults', 'nextToken', 'statusFilter', 'reverseOrder', 'includeExecutionData', 'error', 'cause', 'publish', 'loggingConfiguration'];

const TYPES = ['Task', 'Pass', 'Choice', 'Wait', 'Succeed', 'Fail', 'Parallel', 'Map', 'Bogus'];
const FIELDS = [
  'Next', 'End', 'InputPath', 'OutputPath', 'ResultPath', 'Parameters', 'ResultSelector', 'Result', 'Resource', 'Retry', 'Catch', 'Choices', 'Default',
  'Seconds', 'SecondsPath', 'Timestamp', 'Error', 'Cause', 'ErrorPath', 'Branches', 'ItemsPath', 'ItemProcessor', 'ItemSelector', 'MaxConcurrency',
  'QueryLanguage', 'Assign', 'TimeoutSeconds', 'HeartbeatSeconds', 'Comment',
];
const STRINGS = [
  '$', '$.a', '$.a.b', '$.items', '$..a', '$.a[0]', '$.a[*]', '$$.Execution.Id', '$$.Map.Item.Value', 'a', '', 'S1', 'S2', 'S3', 'JSONata', 'JSONPath',
  "States.Format('{} {}', $.a, $.b)", 'States.Array($.a, 1, null)', 'States.StringToJson($.a)', 'States.ArrayLength($.a)', "States.Hash($.a, 'MD5')", 'States.Nope(1)', 'States.Format(',
  'arn:aws:states:::batch:submitJob.sync', 'arn:aws:states:::batch:submitJob', 'arn:aws:states:::sns:publish', 'arn:aws:lambda:us-east-1:1:function:f', 'States.ALL', 'States.TaskFailed',
  '2026-06-09T12:00:00Z', 'not a timestamp', '\u0000', '__proto__',
];

const leaf = fc.oneof(fc.constantFrom(...STRINGS), fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: false }), fc.boolean(), fc.constant(null), fc.string({ maxLength: 8 }));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, leaf, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.oneof(fc.constantFrom('Variable', 'StringEquals', 'NumericLessThan', 'IsPresent', 'And', 'Not', 'Next', 'x.$', 'a', 'ErrorEquals', 'StartAt', 'States', 'JobName', 'TopicArn', 'Message.$'), fc.string({ maxLength: 4 })), tie('value'), { maxKeys: 4 })),
}));

const state = fc.record(
  { Type: fc.constantFrom(...TYPES), extra: fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 5 }) },
).map(({ Type, extra }) => ({ Type, ...extra }));
const definition = fc.oneof(
  // Graphs of random states (mostly refused), machines that run, and text that is not JSON.
  fc.dictionary(fc.constantFrom('S1', 'S2', 'S3'), state, { minKeys: 1, maxKeys: 3 }).map((States) => JSON.stringify({ StartAt: 'S1', States })),
  // Known-good machines that run, with random input (runtime errors included).
  fc.constantFrom(
    { StartAt: 'S1', States: { S1: { Type: 'Pass', Parameters: { 'v.$': "States.Format('{}', $.a)" }, Next: 'S2' }, S2: { Type: 'Choice', Choices: [{ Variable: '$.v', StringEquals: 'x', Next: 'S3' }], Default: 'S3' }, S3: { Type: 'Succeed' } } },
    { StartAt: 'S1', States: { S1: { Type: 'Map', ItemsPath: '$.items', ItemProcessor: { StartAt: 'I', States: { I: { Type: 'Pass', End: true } } }, End: true } } },
    { StartAt: 'S1', States: { S1: { Type: 'Parallel', Branches: [{ StartAt: 'B', States: { B: { Type: 'Fail', ErrorPath: '$.e' } } }], Catch: [{ ErrorEquals: ['States.ALL'], Next: 'S2' }], End: true }, S2: { Type: 'Pass', End: true } } },
    { StartAt: 'S1', States: { S1: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob.sync', Parameters: { 'JobName.$': '$.a', JobDefinition: 'jd1', JobQueue: 'fuzz-q' }, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'S2' }], End: true }, S2: { Type: 'Pass', End: true } } },
  ).map((d) => JSON.stringify(d)),
  fc.constant(JSON.stringify({ StartAt: 'W', States: { W: { Type: 'Wait', SecondsPath: '$.a', End: true } } })),
  fc.string({ maxLength: 20 }),
);
const input = fc.oneof(fc.constantFrom('{}', '{"a":"x","items":[1,2],"e":"E"}', '{"a":1}', '[]', '"s"', '{bad', '{"items":"no"}'), value.map((v) => JSON.stringify(v) ?? 'null'));

interface Known {
  machines: string[];
  executions: string[];
}

const request = fc.record({
  op: fc.oneof({ arbitrary: fc.constantFrom(...OPS), weight: 9 }, { arbitrary: fc.constantFrom('Frobnicate', 'createStateMachine', ''), weight: 1 }),
  members: fc.dictionary(fc.constantFrom(...MEMBERS), value, { maxKeys: 4 }),
  name: fc.oneof({ arbitrary: fc.nat(100_000).map((n) => `m${n}`), weight: 4 }, { arbitrary: fc.constantFrom('m1', 'bad name', 'x'.repeat(81)), weight: 1 }, { arbitrary: fc.string({ maxLength: 10 }), weight: 1 }),
  definition,
  input,
  pick: fc.nat(),
  useKnown: fc.boolean(),
  raw: fc.oneof({ arbitrary: fc.constant(null), weight: 9 }, { arbitrary: fc.constantFrom('', '{', 'null', '[1]', '{"a":', '"str"', '{"name":1e999}'), weight: 1 }),
});

type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

function body(r: Req, known: Known): string {
  if (r.raw !== null) return r.raw;
  // Known-good requests carry only their members; the others carry random ones.
  const b: Record<string, unknown> = r.useKnown ? {} : { ...r.members };
  const sm = known.machines.length ? known.machines[r.pick % known.machines.length] : undefined;
  const ex = known.executions.length ? known.executions[r.pick % known.executions.length] : undefined;
  if (r.useKnown) {
    if (r.op === 'CreateStateMachine') Object.assign(b, { name: r.name, definition: r.definition, roleArn: 'arn:aws:iam::1:role/r' });
    if (r.op === 'UpdateStateMachine') Object.assign(b, { stateMachineArn: sm, definition: r.definition });
    if (['DescribeStateMachine', 'DeleteStateMachine', 'ListExecutions'].includes(r.op)) b.stateMachineArn = sm;
    if (['TagResource', 'UntagResource', 'ListTagsForResource'].includes(r.op)) Object.assign(b, { resourceArn: sm, tags: [{ key: r.name, value: 'v' }], tagKeys: [r.name] });
    if (r.op === 'StartExecution') Object.assign(b, { stateMachineArn: sm, input: r.input });
    if (['DescribeExecution', 'StopExecution', 'GetExecutionHistory', 'DescribeStateMachineForExecution'].includes(r.op)) b.executionArn = ex;
  }
  return JSON.stringify(b);
}

test(`Step Functions API fuzz: ${REQUESTS} seed-fixed requests, no 5xx, Step Functions-shaped errors`, async () => {
  const fuzz = await startFuzzServer();
  const known: Known = { machines: [], executions: [] };
  const statuses = new Map<string, number>();
  const failures: string[] = [];
  try {
    const requests = fc.sample(request, { seed: SEED, numRuns: REQUESTS });
    for (const r of requests) {
      const text = body(r, known);
      const res = await fetch(new URL('/', fuzz.url), { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AWSStepFunctions.${r.op}` }, body: text });
      const answer = await res.text();
      statuses.set(`${r.op} ${res.status}`, (statuses.get(`${r.op} ${res.status}`) ?? 0) + 1);
      let parsed: any;
      try {
        parsed = JSON.parse(answer);
      } catch {
        failures.push(`${r.op} ${text.slice(0, 200)} → ${res.status} not JSON: ${answer.slice(0, 200)}`);
        continue;
      }
      if (res.status >= 500) failures.push(`${r.op} ${text.slice(0, 300)} → ${res.status} ${answer.slice(0, 300)}`);
      else if (res.status !== 200 && (typeof parsed.__type !== 'string' || typeof parsed.message !== 'string')) failures.push(`${r.op} → ${res.status} without __type/message: ${answer}`);
      else if (res.status === 200) {
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) failures.push(`${r.op} → 200 not an object: ${answer}`);
        if (r.op === 'CreateStateMachine' && parsed.stateMachineArn) known.machines.push(parsed.stateMachineArn);
        if (r.op === 'StartExecution' && parsed.executionArn) known.executions.push(parsed.executionArn);
      }
    }
    // The runner met random ASL and input: every execution that ended did so for a language
    // reason (States.*, a Fail state), never on an internal error of the runner.
    for (const executionArn of known.executions) {
      const d = await fetch(new URL('/', fuzz.url), { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AWSStepFunctions.DescribeExecution' }, body: JSON.stringify({ executionArn }) });
      const e = (await d.json()) as { status: string; cause?: string };
      if (e.status === 'FAILED' && /^Internal error/.test(e.cause ?? '')) failures.push(`${executionArn} failed inside the runner: ${e.cause}`);
    }
    const health = await fetch(new URL('/health', fuzz.url));
    assert.equal(health.status, 200);
    assert.deepEqual(failures.slice(0, 10), []);
    // It reached the operations with valid input too, not only their refusals.
    for (const op of ['CreateStateMachine', 'StartExecution', 'DescribeExecution', 'GetExecutionHistory', 'DescribeStateMachine']) {
      assert.ok((statuses.get(`${op} 200`) ?? 0) > 0, `${op} never succeeded: ${JSON.stringify([...statuses])}`);
    }
    assert.ok(known.executions.length > 5, `${known.executions.length} executions started`);
  } finally {
    await fuzz.close();
  }
});
