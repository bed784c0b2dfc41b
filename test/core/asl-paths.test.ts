// JSONPath, payload templates and the input/output processing chain of ASL states.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePath, parsePath, pathExists, setPath } from '../../src/core/asl/json-path.js';
import { applyInputPath, applyOutputPath, applyResultPath, applyTemplate } from '../../src/core/asl/payload.js';
import { isStatesError } from '../../src/core/asl/errors.js';

const env = (input: unknown, context: unknown = {}) => ({ input, context, random: () => 0.5, uuid: () => '00000000-0000-4000-8000-000000000000' });

test('reference paths select one value; wildcards and slices select lists', () => {
  const doc = { a: { b: [10, 20, 30], 'odd key': 1 }, list: [{ x: 1 }, { x: 2 }] };
  assert.equal(evaluatePath('$', doc), doc);
  assert.deepEqual(evaluatePath('$.a.b', doc), [10, 20, 30]);
  assert.equal(evaluatePath('$.a.b[1]', doc), 20);
  assert.equal(evaluatePath('$.a.b[-1]', doc), 30);
  assert.equal(evaluatePath("$.a['odd key']", doc), 1);
  assert.deepEqual(evaluatePath('$.list[*].x', doc), [1, 2]);
  assert.deepEqual(evaluatePath('$.a.b[0:2]', doc), [10, 20]);
  assert.deepEqual(evaluatePath('$.a.*', { a: { p: 1, q: 2 } }), [1, 2]);
  assert.equal(evaluatePath('$$.Execution.Id', doc, { Execution: { Id: 'arn' } }), 'arn');
});

test('a reference path that matches nothing raises States.Runtime naming it', () => {
  assert.throws(
    () => evaluatePath('$.missing.x', { a: 1 }),
    (e: unknown) => isStatesError(e) && e.error === 'States.Runtime' && /\$\.missing\.x/.test(e.cause),
  );
  assert.equal(pathExists('$.a', { a: null }), true);
  assert.equal(pathExists('$.b', { a: null }), false);
});

test('unsupported JSONPath is refused when parsed', () => {
  assert.throws(() => parsePath('$..a'), /deep scan/);
  assert.throws(() => parsePath('$.a[?(@.x > 1)]'), /filter/);
  assert.throws(() => parsePath('a.b'), /must start with \$/);
  assert.throws(() => parsePath('$.a['), /unclosed/);
  assert.equal(parsePath('$.a[*]').definite, false);
  assert.equal(parsePath('$.a[0].b').definite, true);
});

test('ResultPath writes into a copy, creating objects on the way; $ replaces; null discards', () => {
  const input = { a: 1 };
  assert.deepEqual(setPath('$.r.s', input, 5), { a: 1, r: { s: 5 } });
  assert.deepEqual(input, { a: 1 }, 'input unchanged');
  assert.deepEqual(applyResultPath('$', input, 'x'), 'x');
  assert.deepEqual(applyResultPath(undefined, input, 'x'), 'x');
  assert.deepEqual(applyResultPath(null, input, 'x'), input);
  assert.deepEqual(applyResultPath('$.a', input, 2), { a: 2 });
  assert.throws(() => setPath('$.a.b', { a: 'str' }, 1), (e: unknown) => isStatesError(e) && e.error === 'States.ResultPathMatchFailure');
  assert.throws(() => setPath('$.x', 'not an object', 1), (e: unknown) => isStatesError(e) && e.error === 'States.ResultPathMatchFailure');
  // A key like __proto__ is data, never the prototype.
  const polluted = setPath('$.__proto__', {}, { hacked: true }) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).hacked, undefined);
  assert.deepEqual(Object.keys(polluted), ['__proto__']);
});

test('InputPath and OutputPath: absent or $ pass all, null passes {}', () => {
  const input = { a: { b: 1 } };
  assert.equal(applyInputPath(undefined, input, {}), input);
  assert.deepEqual(applyInputPath(null, input, {}), {});
  assert.deepEqual(applyInputPath('$.a', input, {}), { b: 1 });
  assert.deepEqual(applyOutputPath('$.a.b', input, {}), 1);
  assert.deepEqual(applyOutputPath(null, input, {}), {});
});

test('Parameters templates: .$ fields take paths, context paths and intrinsics; others are copied, nested', () => {
  const input = { date: '2026-06-09', n: [1, 2, 3] };
  const out = applyTemplate(
    {
      JobName: 'ingest',
      ContainerOverrides: { Environment: [{ Name: 'DATE', 'Value.$': '$.date' }] },
      'Count.$': 'States.ArrayLength($.n)',
      'Exec.$': '$$.Execution.Name',
      Static: { 'literal.without.dollar': '$.date' },
    },
    env(input, { Execution: { Name: 'run-1' } }),
  );
  assert.deepEqual(out, {
    JobName: 'ingest',
    ContainerOverrides: { Environment: [{ Name: 'DATE', Value: '2026-06-09' }] },
    Count: 3,
    Exec: 'run-1',
    Static: { 'literal.without.dollar': '$.date' },
  });
  assert.throws(() => applyTemplate({ 'x.$': '$.nope' }, env(input)), (e: unknown) => isStatesError(e) && e.error === 'States.Runtime');
});

test('ResultSelector then ResultPath then OutputPath, as a Task applies them', () => {
  const raw = { JobId: 'j1', Status: 'SUCCEEDED', Container: { ExitCode: 0 } };
  const selected = applyTemplate({ 'id.$': '$.JobId', 'code.$': '$.Container.ExitCode' }, env(raw));
  const merged = applyResultPath('$.result', { date: 'd' }, selected);
  assert.deepEqual(merged, { date: 'd', result: { id: 'j1', code: 0 } });
  assert.deepEqual(applyOutputPath('$.result', merged, {}), { id: 'j1', code: 0 });
});
