// Choice rules, Retry/Catch matching and backoff, and the create-time definition check.

import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { evaluateRule, wildcardMatch } from '../../src/core/asl/choice.js';
import { DefinitionError, parseDefinition } from '../../src/core/asl/definition.js';
import { errorMatches, findCatcher, findRetrier, retryDelayMs } from '../../src/core/asl/retry.js';
import { isStatesError } from '../../src/core/asl/errors.js';

const input = { s: 'beta', n: 10, b: true, t: '2026-06-09T12:00:00Z', nul: null, other: { s: 'beta', n: 5, t: '2026-06-10T00:00:00+02:00' } };
const is = (rule: Record<string, unknown>) => evaluateRule({ Variable: '$.s', ...rule }, input);
const on = (variable: string, rule: Record<string, unknown>) => evaluateRule({ Variable: variable, ...rule }, input);

test('string comparisons, their Path forms and StringMatches', () => {
  assert.equal(is({ StringEquals: 'beta' }), true);
  assert.equal(is({ StringEquals: 'Beta' }), false);
  assert.equal(is({ StringLessThan: 'gamma' }), true);
  assert.equal(is({ StringGreaterThan: 'alpha' }), true);
  assert.equal(is({ StringLessThanEquals: 'beta' }), true);
  assert.equal(is({ StringGreaterThanEquals: 'betb' }), false);
  assert.equal(is({ StringEqualsPath: '$.other.s' }), true);
  assert.equal(is({ StringMatches: 'b*a' }), true);
  assert.equal(is({ StringMatches: 'b*x' }), false);
  assert.equal(wildcardMatch('log-\\*.txt', 'log-*.txt'), true);
  assert.equal(wildcardMatch('log-\\*.txt', 'log-1.txt'), false);
  assert.equal(wildcardMatch('*.csv', 'a.b.csv'), true);
  assert.equal(on('$.n', { StringEquals: '10' }), false, 'a number is not a string');
});

test('numeric, boolean and timestamp comparisons', () => {
  assert.equal(on('$.n', { NumericEquals: 10 }), true);
  assert.equal(on('$.n', { NumericLessThan: 10 }), false);
  assert.equal(on('$.n', { NumericLessThanEquals: 10 }), true);
  assert.equal(on('$.n', { NumericGreaterThan: 9.5 }), true);
  assert.equal(on('$.n', { NumericGreaterThanEquals: 11 }), false);
  assert.equal(on('$.n', { NumericGreaterThanPath: '$.other.n' }), true);
  assert.equal(on('$.s', { NumericEquals: 10 }), false);
  assert.equal(on('$.b', { BooleanEquals: true }), true);
  assert.equal(on('$.b', { BooleanEqualsPath: '$.b' }), true);
  assert.equal(on('$.t', { TimestampEquals: '2026-06-09T12:00:00Z' }), true);
  assert.equal(on('$.t', { TimestampLessThan: '2026-06-09T12:00:01Z' }), true);
  assert.equal(on('$.t', { TimestampGreaterThan: '2026-06-09T11:00:00-02:00' }), false, '11:00-02:00 is 13:00Z');
  assert.equal(on('$.t', { TimestampLessThanEqualsPath: '$.other.t' }), true);
  assert.equal(on('$.t', { TimestampGreaterThanEquals: '2026-06-09T12:00:00Z' }), true);
  assert.equal(on('$.s', { TimestampEquals: '2026-06-09T12:00:00Z' }), false);
});

test('type tests, IsPresent, And / Or / Not', () => {
  assert.equal(on('$.nul', { IsNull: true }), true);
  assert.equal(on('$.n', { IsNull: false }), true);
  assert.equal(on('$.missing', { IsPresent: false }), true);
  assert.equal(on('$.s', { IsPresent: true }), true);
  assert.equal(on('$.n', { IsNumeric: true }), true);
  assert.equal(on('$.s', { IsString: true }), true);
  assert.equal(on('$.b', { IsBoolean: true }), true);
  assert.equal(on('$.t', { IsTimestamp: true }), true);
  assert.equal(on('$.s', { IsTimestamp: true }), false);
  assert.equal(evaluateRule({ And: [{ Variable: '$.n', NumericGreaterThan: 1 }, { Variable: '$.b', BooleanEquals: true }] }, input), true);
  assert.equal(evaluateRule({ Or: [{ Variable: '$.n', NumericLessThan: 1 }, { Variable: '$.s', StringEquals: 'beta' }] }, input), true);
  assert.equal(evaluateRule({ Not: { Variable: '$.s', StringEquals: 'beta' } }, input), false);
  assert.throws(() => on('$.missing', { StringEquals: 'x' }), (e: unknown) => isStatesError(e) && e.error === 'States.Runtime');
});

test('error matching: States.ALL, States.TaskFailed, names; first matching retrier and catcher', () => {
  assert.equal(errorMatches(['States.ALL'], 'Custom'), true);
  assert.equal(errorMatches(['States.ALL'], 'States.Runtime'), false);
  assert.equal(errorMatches(['States.TaskFailed'], 'States.TaskFailed'), true);
  assert.equal(errorMatches(['States.TaskFailed'], 'Batch.ClientException'), true);
  assert.equal(errorMatches(['States.TaskFailed'], 'States.Timeout'), false);
  assert.equal(errorMatches(['Batch.BatchException'], 'States.TaskFailed'), false);
  const retriers = [{ ErrorEquals: ['A'] }, { ErrorEquals: ['States.ALL'], MaxAttempts: 1 }];
  assert.equal(findRetrier(retriers, 'A')?.index, 0);
  assert.equal(findRetrier(retriers, 'B')?.index, 1);
  assert.equal(findRetrier(undefined, 'B'), undefined);
  const catchers = [{ ErrorEquals: ['X'], Next: 'x' }, { ErrorEquals: ['States.ALL'], Next: 'all' }];
  assert.equal(findCatcher(catchers, 'X')?.Next, 'x');
  assert.equal(findCatcher(catchers, 'States.TaskFailed')?.Next, 'all');
  assert.equal(findCatcher(catchers, 'States.Runtime'), undefined);
});

test('backoff: IntervalSeconds × BackoffRate^n, MaxAttempts, MaxDelaySeconds, JitterStrategy FULL', () => {
  const r = { ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 };
  assert.deepEqual([0, 1, 2, 3].map((n) => retryDelayMs(r, n, Math.random)), [1000, 2000, 4000, undefined]);
  assert.deepEqual([0, 1, 2].map((n) => retryDelayMs({ ErrorEquals: ['x'] }, n, Math.random)), [1000, 2000, 4000], 'defaults: 1 s, ×2, 3 attempts');
  assert.equal(retryDelayMs({ ...r, MaxAttempts: 0 }, 0, Math.random), undefined);
  assert.equal(retryDelayMs({ ...r, MaxAttempts: 10, MaxDelaySeconds: 5 }, 6, Math.random), 5000);
  assert.equal(retryDelayMs({ ...r, JitterStrategy: 'FULL' }, 2, () => 0.25), 1000);
});

const bad = (def: unknown, re: RegExp) =>
  assert.throws(
    () => parseDefinition(JSON.stringify(def)),
    (e: unknown) => e instanceof DefinitionError && re.test(e.message),
  );

test('definitions: the states OpenBatch runs are accepted', () => {
  const def = parseDefinition(
    JSON.stringify({
      StartAt: 'P',
      States: {
        P: { Type: 'Pass', Parameters: { 'x.$': "States.Format('{}', $.a)" }, Next: 'C' },
        C: { Type: 'Choice', Choices: [{ Variable: '$.x', StringEquals: 'a', Next: 'W' }], Default: 'F' },
        W: { Type: 'Wait', Seconds: 1, Next: 'M' },
        M: { Type: 'Map', ItemsPath: '$.items', MaxConcurrency: 2, ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'I', States: { I: { Type: 'Pass', End: true } } }, Next: 'Par' },
        Par: { Type: 'Parallel', Branches: [{ StartAt: 'B', States: { B: { Type: 'Succeed' } } }], Next: 'T' },
        T: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob.sync', Parameters: { JobName: 'j', JobDefinition: 'd', 'JobQueue.$': '$.q' }, Retry: [{ ErrorEquals: ['States.ALL'] }], Catch: [{ ErrorEquals: ['States.ALL'], Next: 'F' }], Next: 'S' },
        S: { Type: 'Succeed' },
        F: { Type: 'Fail', Error: 'E', Cause: 'c' },
      },
    }),
  );
  assert.equal(def.StartAt, 'P');
});

test('definitions: structural mistakes are refused with Step Functions codes and paths', () => {
  bad({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nope' } } }, /MISSING_TRANSITION_TARGET: Missing 'Next' target: Nope at \/States\/A\/Next/);
  bad({ StartAt: 'A', States: { A: { Type: 'Pass', End: true }, B: { Type: 'Pass', End: true } } }, /UNREACHABLE_STATE: State 'B' is not reachable/);
  bad({ StartAt: 'A', States: { A: { Type: 'Pass' } } }, /'Next' \(or 'End': true\) is required/);
  bad({ StartAt: 'A', States: { A: { Type: 'Bogus', End: true } } }, /The field 'Type' must be one of/);
  bad({ StartAt: 'A', States: { A: { Type: 'Pass', End: true, Resource: 'x' } } }, /The field 'Resource' is not supported for state type 'Pass'/);
  bad({ StartAt: 'A', States: { A: { Type: 'Choice', Choices: [{ Variable: '$.x', NumericEquals: 'one', Next: 'A' }] } } }, /NumericEquals takes a number/);
  bad({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob', Parameters: { JobName: 'x', JobQueue: 'q' }, End: true } } }, /'JobDefinition' is required/);
  bad({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob', Parameters: { JobName: 'x', JobQueue: 'q', JobDefinition: 'd', Bogus: 1 }, End: true } } }, /parameter 'Bogus' is not supported/);
  bad({ StartAt: 'A', States: { A: { Type: 'Pass', Parameters: { 'x.$': 'States.Nope()' }, End: true } } }, /INVALID_INTRINSIC_FUNCTION: .*States\.Nope/);
  bad({ StartAt: 'A', States: { A: { Type: 'Pass', InputPath: '$..x', End: true } } }, /INVALID_JSON_PATH/);
  bad({ StartAt: 'A', States: { A: { Type: 'Pass', ResultPath: '$.a[*]', End: true } } }, /must be a reference path/);
  bad({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob', Parameters: { JobName: 'x', JobQueue: 'q', JobDefinition: 'd' }, Retry: [{ ErrorEquals: ['States.ALL'] }, { ErrorEquals: ['X'] }], End: true } } }, /States\.ALL must be the last/);
  assert.throws(() => parseDefinition('{not json'), /INVALID_JSON_DESCRIPTION/);
  bad('a string', /must be a JSON object/);
  bad({ StartAt: 'A', TimeoutSeconds: 0, States: { A: { Type: 'Pass', End: true } } }, /TimeoutSeconds must be an integer from 1/);
  bad({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: 't', Message: 'm' }, TimeoutSeconds: 1.5, End: true } } }, /TimeoutSeconds must be a positive integer/);
});

test('definitions: features OpenBatch does not run are refused, naming them', () => {
  bad({ QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }, /UNSUPPORTED_FEATURE: QueryLanguage: JSONata is not supported by OpenBatch/);
  bad({ StartAt: 'A', States: { A: { Type: 'Pass', QueryLanguage: 'JSONata', End: true } } }, /QueryLanguage: JSONata/);
  bad({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:1:function:f', End: true } } }, /Resource arn:aws:lambda:us-east-1:1:function:f is not supported by OpenBatch/);
  bad({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob.waitForTaskToken', End: true } } }, /submitJob\.waitForTaskToken is not supported/);
  bad({ StartAt: 'A', States: { A: { Type: 'Pass', Assign: { x: 1 }, End: true } } }, /variables \(Assign\) is not supported/);
  bad({ StartAt: 'A', States: { A: { Type: 'Map', ItemReader: {}, ItemProcessor: { StartAt: 'I', States: { I: { Type: 'Succeed' } } }, End: true } } }, /ItemReader \(distributed Map\)/);
  bad({ StartAt: 'A', States: { A: { Type: 'Map', ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' }, StartAt: 'I', States: { I: { Type: 'Succeed' } } }, End: true } } }, /DISTRIBUTED \(distributed Map\) is not supported/);
  bad({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: 't', Message: 'm' }, HeartbeatSeconds: 5, End: true } } }, /HeartbeatSeconds/);
});

test('property: any JSON made of ASL words is accepted or refused with DefinitionError, never crashes the check', () => {
  const words = ['Type', 'Next', 'End', 'States', 'StartAt', 'Choices', 'Variable', 'And', 'Or', 'Not', 'Branches', 'ItemProcessor', 'Iterator', 'Retry', 'Catch', 'ErrorEquals', 'Parameters', 'x.$', 'ResultPath', 'Seconds', 'Resource', 'ProcessorConfig', 'Mode', 'A', 'B'];
  const values = ['Pass', 'Task', 'Choice', 'Map', 'Parallel', 'Wait', 'Fail', 'Succeed', 'A', 'B', '$', '$.a', '$..a', 'States.ALL', 'States.Format(', "States.Format('{}', $.a)", 'arn:aws:states:::batch:submitJob.sync', 'DISTRIBUTED'];
  const { json } = fc.letrec((tie) => ({
    json: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(...values),
      fc.integer({ min: -2, max: 3 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('json'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...words), tie('json'), { maxKeys: 5 }),
    ),
  }));
  const doc = fc.record({ StartAt: fc.constantFrom('A', 'B', 5), States: fc.dictionary(fc.constantFrom('A', 'B'), json, { maxKeys: 2 }) });
  fc.assert(
    fc.property(fc.oneof(doc, json), (d) => {
      try {
        parseDefinition(JSON.stringify(d));
      } catch (e) {
        assert.ok(e instanceof DefinitionError, `${(e as Error).stack}\nfor ${JSON.stringify(d)}`);
      }
    }),
    { numRuns: 3000, seed: 4242 },
  );
});
