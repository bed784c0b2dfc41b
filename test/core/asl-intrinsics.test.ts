// Intrinsic functions: parsing (create time) and evaluation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluateIntrinsic, INTRINSICS, parseIntrinsic } from '../../src/core/asl/intrinsics.js';
import { isStatesError } from '../../src/core/asl/errors.js';

const input = { name: 'world', n: 3, list: [1, 2, 2, 3], obj: { a: 1 }, json: '{"k":[1,2]}', error: { Error: 'E', Cause: 'c' } };
const ev = (expr: string) => evaluateIntrinsic(expr, { input, context: { Execution: { Name: 'x' } }, random: () => 0.5, uuid: () => 'fixed-uuid' });
const failsWith = (expr: string, re: RegExp) => assert.throws(() => ev(expr), (e: unknown) => isStatesError(e) && e.error === 'States.IntrinsicFailure' && re.test(e.cause));

test('States.Format: placeholders in order, escapes, non-strings as JSON', () => {
  assert.equal(ev("States.Format('Hello, {}!', $.name)"), 'Hello, world!');
  assert.equal(ev("States.Format('{} and {}', $.n, true)"), '3 and true');
  assert.equal(ev("States.Format('literal \\{\\} and {}', 'x')"), 'literal {} and x');
  assert.equal(ev("States.Format('it\\'s {}', $.name)"), "it's world");
  assert.equal(ev("States.Format('Pipeline failed: {}', $.error)"), 'Pipeline failed: {"Error":"E","Cause":"c"}');
  assert.equal(ev("States.Format('{}', $$.Execution.Name)"), 'x');
  failsWith("States.Format('{} {}', 'a')", /more \{\}/);
  failsWith("States.Format('{}', 'a', 'b')", /2 argument/);
});

test('JSON and arrays', () => {
  assert.deepEqual(ev('States.StringToJson($.json)'), { k: [1, 2] });
  assert.equal(ev('States.JsonToString($.obj)'), '{"a":1}');
  assert.deepEqual(ev("States.Array(1, 'two', $.n, null)"), [1, 'two', 3, null]);
  assert.deepEqual(ev('States.Array()'), []);
  assert.deepEqual(ev('States.ArrayPartition($.list, 3)'), [[1, 2, 2], [3]]);
  assert.equal(ev('States.ArrayContains($.list, 2)'), true);
  assert.equal(ev('States.ArrayContains($.list, 9)'), false);
  assert.deepEqual(ev('States.ArrayRange(1, 9, 2)'), [1, 3, 5, 7, 9]);
  assert.deepEqual(ev('States.ArrayRange(3, 1, -1)'), [3, 2, 1]);
  assert.equal(ev('States.ArrayGetItem($.list, 3)'), 3);
  assert.equal(ev('States.ArrayLength($.list)'), 4);
  assert.deepEqual(ev('States.ArrayUnique($.list)'), [1, 2, 3]);
  assert.deepEqual(ev('States.ArrayLength(States.Array(1, 2))'), 2);
  failsWith("States.StringToJson('{bad')", /not valid JSON/);
  failsWith('States.ArrayGetItem($.list, 10)', /out of bounds/);
  failsWith('States.ArrayLength($.name)', /must be an array/);
  failsWith('States.ArrayRange(1, 3, 0)', /step/);
  failsWith('States.ArrayRange(0, 5000, 1)', /1000/);
});

test('encoding, hashing, merging, math, strings, UUID', () => {
  assert.equal(ev("States.Base64Encode('Data to encode')"), 'RGF0YSB0byBlbmNvZGU=');
  assert.equal(ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')"), 'Data to encode');
  assert.equal(ev("States.Hash('input data', 'SHA-1')"), 'aaff4a450a104cd177d28d18d74485e8cae074b7');
  assert.equal(ev("States.Hash('', 'MD5')"), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.deepEqual(ev("States.JsonMerge($.obj, States.StringToJson('{\"b\":2}'), false)"), { a: 1, b: 2 });
  assert.equal(ev('States.MathAdd($.n, -1)'), 2);
  assert.equal(ev('States.MathRandom(10, 20)'), 15);
  assert.deepEqual(ev("States.StringSplit('a,b,,c', ',')"), ['a', 'b', 'c']);
  assert.deepEqual(ev("States.StringSplit('This is+a+test', ' +')"), ['This', 'is', 'a', 'test']);
  assert.equal(ev('States.UUID()'), 'fixed-uuid');
  failsWith("States.Hash('x', 'SHA-3')", /algorithm/);
  failsWith('States.JsonMerge($.obj, $.obj, true)', /shallow/);
  failsWith("States.MathAdd(1.5, 1)", /integer/);
  failsWith("States.Base64Decode('%%%')", /not base64/);
});

test('malformed expressions and unknown functions are refused when parsed', () => {
  assert.throws(() => parseIntrinsic('States.Nope(1)'), /unsupported intrinsic function States\.Nope/);
  assert.throws(() => parseIntrinsic("States.Format('x'"), /expected , or \)/);
  assert.throws(() => parseIntrinsic('States.ArrayLength(1, 2)'), /takes 1 argument/);
  assert.throws(() => parseIntrinsic("States.Format('unterminated)"), /unterminated string/);
  assert.throws(() => parseIntrinsic('States.UUID() trailing'), /unexpected text/);
  const call = parseIntrinsic("States.Format('a {}', States.ArrayLength($.list))");
  assert.equal(call.name, 'States.Format');
  assert.equal(call.args[1].kind, 'call');
});

test('property: any function on any input answers a value or a States error, never crashes', () => {
  const names = Object.keys(INTRINSICS).filter((n) => n !== 'States.Format');
  const argText = fc.constantFrom('$.a', '$.b', '$.c', "'x'", "'{}'", '1', '-3', '0', 'true', 'null', "'SHA-256'", "'e30='", '$.a[0]', "','");
  const expr = fc.oneof(
    fc.record({ name: fc.constantFrom(...names), args: fc.array(argText, { maxLength: 3 }) }).map(({ name, args }) => `${name}(${args.join(', ')})`),
    fc.array(argText, { maxLength: 3 }).map((args) => `States.Format('{} {}'${args.map((a) => `, ${a}`).join('')})`),
  );
  const json = fc.jsonValue({ maxDepth: 2 });
  fc.assert(
    fc.property(expr, json, json, json, (e, a, b, c) => {
      let parsed = true;
      try {
        parseIntrinsic(e);
      } catch {
        parsed = false; // a wrong argument count: refused when the definition is created
      }
      if (!parsed) return;
      try {
        evaluateIntrinsic(e, { input: { a, b, c }, context: {}, random: Math.random, uuid: () => 'u' });
      } catch (err) {
        assert.ok(isStatesError(err), `${e} with ${JSON.stringify({ a, b, c })}: ${(err as Error).stack}`);
      }
    }),
    { numRuns: 4000, seed: 99 },
  );
});
