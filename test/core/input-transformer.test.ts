// EventBridge InputTransformer: the docs' examples (eb-transform-target-input.html, the API
// reference's InputTransformer, the input transformer tutorial), the seed's Terraform target, and
// the rendering rules AWS was observed to follow where the docs are silent.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  applyInputTransformer,
  InvalidInputTransformerError,
  parseJsonPath,
  selectJsonPath,
  validateInputTransformer,
  type InputTransformer,
} from '../../src/core/input-transformer.js';

// The example event of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
const ec2Event = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2015-11-11T21:29:54Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
  detail: { 'instance-id': 'i-0123456789', state: 'RUNNING' },
};
const docPaths = { timestamp: '$.time', instance: '$.detail.instance-id', state: '$.detail.state', resource: '$.resources[0]' };
const rule = { ruleArn: 'arn:aws:events:us-east-2:123456789012:rule/example', ruleName: 'example' };

function apply(template: string, paths: Record<string, string> = docPaths, event: unknown = ec2Event, context = rule): string {
  const t: InputTransformer = { InputPathsMap: paths, InputTemplate: template };
  validateInputTransformer(t, 'target-1');
  return applyInputTransformer(t, event, context);
}

describe("the docs' input transform examples (eb-transform-target-input.html)", () => {
  const cases: { name: string; template: string; want: string | object }[] = [
    { name: 'simple string', template: '"instance <instance> is in <state>"', want: '"instance i-0123456789 is in RUNNING"' },
    { name: 'string with escaped quotes', template: '"instance \\"<instance>\\" is in <state>"', want: '"instance \\"i-0123456789\\" is in RUNNING"' },
    { name: 'simple JSON', template: '{\n  "instance" : <instance>,\n  "state": <state>\n}', want: { instance: 'i-0123456789', state: 'RUNNING' } },
    {
      name: 'JSON with strings and variables',
      template: '{\n "instance" : <instance>,\n "state": "<state>",\n "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
      want: { instance: 'i-0123456789', state: 'RUNNING', instanceStatus: 'instance "i-0123456789" is in RUNNING' },
    },
    {
      name: 'JSON with a mix of variables and static information',
      template: '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}',
      want: { instance: 'i-0123456789', state: [9, 'RUNNING', true], Transformed: 'Yes' },
    },
    {
      name: 'including reserved variables in JSON',
      template: '{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,\n  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event.json>\n}',
      want: { instance: 'i-0123456789', state: 'RUNNING', ruleArn: rule.ruleArn, ruleName: 'example', originalEvent: ec2Event },
    },
    { name: 'including reserved variables in a string', template: '"<aws.events.rule-name> triggered"', want: '"example triggered"' },
    { name: 'array index in a path', template: '"<resource>"', want: '"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"' },
    { name: 'the API reference: plain text', template: '<instance> is in state <state>', want: 'i-0123456789 is in state RUNNING' },
    { name: 'the API reference: plain text with quotes', template: '<instance> is in state "<state>"', want: 'i-0123456789 is in state "RUNNING"' },
    {
      name: 'the API reference: JSON with variables in quotes or out',
      template: '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<state>\\""}',
      want: { myInstance: 'i-0123456789', myStatus: 'i-0123456789 is in state "RUNNING"' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const body = apply(c.template);
      if (typeof c.want === 'string') assert.equal(body, c.want);
      else assert.deepEqual(JSON.parse(body), c.want);
    });
  }

  test('the tutorial: "This event was of <detail-type> type."', () => {
    const event = { ...ec2Event, 'detail-type': 'customerCreated' };
    assert.equal(apply('"This event was of <detail-type> type."', { 'detail-type': '$.detail-type' }, event), '"This event was of customerCreated type."');
  });
});

describe("the seed's Terraform target (Batch job FAILED to SNS)", () => {
  const transformer: InputTransformer = {
    InputPathsMap: { jobId: '$.detail.jobId', jobName: '$.detail.jobName', status: '$.detail.status', reason: '$.detail.statusReason' },
    InputTemplate: '"Batch job <jobName> (<jobId>) <status>: <reason>"',
  };
  const failed = (statusReason?: string) => ({
    version: '0',
    id: 'c8f9c4b5-76e5-d76a-f980-7011e206042b',
    'detail-type': 'Batch Job State Change',
    source: 'aws.batch',
    account: '123456789012',
    time: '2022-01-11T23:36:40Z',
    region: 'us-east-1',
    resources: ['arn:aws:batch:us-east-1:123456789012:job/4c7599ae'],
    detail: { jobName: 'nightly-etl', jobId: '4c7599ae', status: 'FAILED', ...(statusReason === undefined ? {} : { statusReason }) },
  });

  test('validates', () => assert.doesNotThrow(() => validateInputTransformer(transformer, 'BatchFailedToSNS')));

  test('renders the message', () => {
    const body = applyInputTransformer(transformer, failed('Essential container in task exited'));
    assert.equal(body, '"Batch job nightly-etl (4c7599ae) FAILED: Essential container in task exited"');
    assert.equal(JSON.parse(body), 'Batch job nightly-etl (4c7599ae) FAILED: Essential container in task exited');
  });

  test('a reason with quotes, backslashes and newlines keeps the body valid JSON', () => {
    const reason = 'CannotPullContainerError: "repo\\img" not found\nretry';
    const body = applyInputTransformer(transformer, failed(reason));
    assert.equal(JSON.parse(body), `Batch job nightly-etl (4c7599ae) FAILED: ${reason}`);
  });

  test('no statusReason: the variable is empty', () => {
    assert.equal(applyInputTransformer(transformer, failed()), '"Batch job nightly-etl (4c7599ae) FAILED: "');
  });
});

describe('values by where the placeholder sits (AWS behaviour the docs do not spell out)', () => {
  const event = {
    ...ec2Event,
    detail: { command: 'update-account', payload: { acc_id: '0a787ecb-4015', sf_id: 'baz' }, listsingle: ['HIGH'], listmulti: ['ACTIVE', 'INACTIVE'], valid: true, count: 3, nothing: null },
  };
  const paths = {
    userId: '$.detail.payload.acc_id',
    payload: '$.detail.payload',
    listsingle: '$.detail.listsingle',
    listmulti: '$.detail.listmulti',
    valid: '$.detail.valid',
    count: '$.detail.count',
    nothing: '$.detail.nothing',
    missing: '$.detail.notinmessage',
  };
  const cases: { name: string; template: string; want: string }[] = [
    { name: 'an object outside quotes is JSON', template: '{"bod": <payload>}', want: '{"bod": {"acc_id":"0a787ecb-4015","sf_id":"baz"}}' },
    { name: 'an array outside quotes is JSON', template: '{"l": <listsingle>}', want: '{"l": ["HIGH"]}' },
    { name: 'a string outside quotes is a JSON string', template: '{"id" : <userId>}', want: '{"id" : "0a787ecb-4015"}' },
    { name: 'a string inside quotes is its text', template: '{"id" : "<userId>"}', want: '{"id" : "0a787ecb-4015"}' },
    { name: 'a value used twice', template: '{"m": "users/<userId>/second/<userId>"}', want: '{"m": "users/0a787ecb-4015/second/0a787ecb-4015"}' },
    { name: 'inside an array', template: '{"bod": [<userId>, "hardcoded"]}', want: '{"bod": ["0a787ecb-4015", "hardcoded"]}' },
    { name: 'a boolean inside quotes', template: '"Command is <valid>!"', want: '"Command is true!"' },
    { name: 'a boolean and a number outside quotes', template: '{"v": <valid>, "n": <count>}', want: '{"v": true, "n": 3}' },
    { name: 'null outside quotes', template: '{"v": <nothing>}', want: '{"v": null}' },
    {
      name: 'objects and arrays inside quotes lose their quotes',
      template: '"<listsingle> single, <listmulti> multi, <payload> payload"',
      want: '"[HIGH] single, [ACTIVE,INACTIVE] multi, {acc_id:0a787ecb-4015,sf_id:baz} payload"',
    },
    { name: 'a path matching nothing: empty inside quotes', template: '"detail <missing>!"', want: '"detail !"' },
    { name: 'a path matching nothing: "" outside quotes', template: '{"command": <missing>}', want: '{"command": ""}' },
    { name: 'a path matching nothing: empty in plain text', template: 'detail <missing>!', want: 'detail !' },
    { name: 'a template starting with JSON-looking text inside a string', template: '"{[/Check for <userId>"', want: '"{[/Check for 0a787ecb-4015"' },
    { name: 'no placeholders at all', template: '{"static": true}', want: '{"static": true}' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(apply(c.template, paths, event), c.want));
});

describe('predefined variables', () => {
  test('rule ARN, rule name and ingestion time (a Date becomes ISO 8601, to the second)', () => {
    const body = applyInputTransformer(
      { InputTemplate: '"<aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>"' },
      ec2Event,
      { ...rule, ingestionTime: new Date(Date.UTC(2026, 10, 28, 19, 0, 0)) },
    );
    assert.equal(body, `"${rule.ruleArn} example 2026-11-28T19:00:00Z"`);
  });

  test('ingestion time defaults to the event time; an epoch-ms number is accepted', () => {
    assert.equal(applyInputTransformer({ InputTemplate: '"<aws.events.event.ingestion-time>"' }, ec2Event), '"2015-11-11T21:29:54Z"');
    assert.equal(applyInputTransformer({ InputTemplate: '"<aws.events.event.ingestion-time>"' }, ec2Event, { ingestionTime: 0 }), '"1970-01-01T00:00:00Z"');
  });

  test('<aws.events.event> is the event without detail (detail-type as detailType); .json the whole event', () => {
    const body = JSON.parse(applyInputTransformer({ InputTemplate: '{"e": <aws.events.event>, "j": <aws.events.event.json>}' }, ec2Event));
    const { detail: _detail, 'detail-type': detailType, ...rest } = ec2Event;
    assert.deepEqual(body.e, { ...rest, detailType });
    assert.equal('detail' in body.e, false);
    assert.deepEqual(body.j, ec2Event);
  });

  test('no rule given: empty', () => {
    assert.equal(applyInputTransformer({ InputTemplate: '{"r": <aws.events.rule-name>}' }, ec2Event), '{"r": ""}');
  });
});

describe('JSONPath (the subset EventBridge supports)', () => {
  const doc = { a: { 'b-c': [10, { d: 'x' }], e_f: null }, 'with/slash': 1, list: [{ n: 1 }, { n: 2 }, { m: 3 }] };
  const cases: { path: string; want: unknown }[] = [
    { path: '$', want: doc },
    { path: '$.a.b-c', want: [10, { d: 'x' }] },
    { path: '$.a.b-c[0]', want: 10 },
    { path: '$.a.b-c[1].d', want: 'x' },
    { path: '$.a.b-c[2]', want: undefined },
    { path: '$.a.e_f', want: null },
    { path: '$.with/slash', want: 1 },
    { path: "$['a']['b-c'][0]", want: 10 },
    { path: '$.list[*].n', want: [1, 2] },
    { path: '$.list.*.m', want: [3] },
    { path: '$.list[*].zz', want: undefined },
    { path: '$.nope.deeper', want: undefined },
    { path: '$.a.b-c.d', want: undefined },
  ];
  for (const c of cases) test(`${c.path}`, () => assert.deepEqual(selectJsonPath(c.path, doc), c.want));

  for (const bad of ['', 'detail.status', '$.', '$..a', '$.a[', '$.a[x]', '$.a b', '$a', '$.a[-1]']) {
    test(`not a JSON path: ${JSON.stringify(bad)}`, () => assert.equal(parseJsonPath(bad), undefined));
  }
});

describe('validation (PutTargets)', () => {
  const ok: InputTransformer = { InputPathsMap: { instance: '$.detail.instance' }, InputTemplate: '"<instance>"' };
  const invalid: { name: string; t: InputTransformer; message: RegExp }[] = [
    {
      name: 'a placeholder not in InputPathsMap (the message AWS gives)',
      t: { InputPathsMap: { a: '$.a' }, InputTemplate: '"Event with not defined key <notdefinedkey>"' },
      message: /^InputTemplate for target t1 contains invalid placeholder notdefinedkey\.$/,
    },
    { name: 'an empty template', t: { InputTemplate: '' }, message: /InputTemplate for target t1 must be between 1 and 8192/ },
    { name: 'a template over 8192 characters', t: { InputTemplate: `"${'x'.repeat(8191)}"` }, message: /between 1 and 8192/ },
    {
      name: 'more than 100 paths',
      t: { InputPathsMap: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`v${i}`, `$.detail.v${i}`])), InputTemplate: '"x"' },
      message: /InputPathsMap for target t1 has 101 entries; at most 100/,
    },
    { name: 'a key with a dot', t: { InputPathsMap: { 'aws.x': '$.a' }, InputTemplate: '"x"' }, message: /invalid key "aws\.x"/ },
    { name: 'a key with a space', t: { InputPathsMap: { 'a b': '$.a' }, InputTemplate: '"x"' }, message: /invalid key "a b"/ },
    { name: 'an empty key', t: { InputPathsMap: { '': '$.a' }, InputTemplate: '"x"' }, message: /invalid key ""/ },
    { name: 'a key over 256 characters', t: { InputPathsMap: { ['k'.repeat(257)]: '$.a' }, InputTemplate: '"x"' }, message: /invalid key/ },
    { name: 'a path without $', t: { InputPathsMap: { a: 'detail.a' }, InputTemplate: '"<a>"' }, message: /invalid JSON path for key a: "detail\.a"/ },
    { name: 'a broken path', t: { InputPathsMap: { a: '$.detail[' }, InputTemplate: '"<a>"' }, message: /invalid JSON path for key a/ },
    { name: 'a path over 256 characters', t: { InputPathsMap: { a: `$.${'p'.repeat(255)}` }, InputTemplate: '"<a>"' }, message: /invalid JSON path for key a/ },
    { name: 'a placeholder as an object key', t: { InputPathsMap: { k: '$.k' }, InputTemplate: '{<k>: 1}' }, message: /uses a placeholder as an object key/ },
    { name: 'a quoted placeholder as an object key', t: { InputPathsMap: { k: '$.k' }, InputTemplate: '{"<k>": 1}' }, message: /uses a placeholder as an object key/ },
    { name: 'a JSON object template that is not JSON', t: { InputPathsMap: { k: '$.k' }, InputTemplate: '{"a": <k>' }, message: /InputTemplate for target t1 is not valid JSON/ },
    { name: 'no InputTemplate', t: { InputPathsMap: {} } as unknown as InputTransformer, message: /missing InputTemplate/ },
  ];
  for (const c of invalid) {
    test(c.name, () =>
      assert.throws(
        () => validateInputTransformer(c.t, 't1'),
        (e: unknown) => e instanceof InvalidInputTransformerError && e.name === 'ValidationException' && c.message.test(e.message),
      ),
    );
  }

  const valid: { name: string; t: InputTransformer }[] = [
    { name: 'a simple transformer', t: ok },
    { name: 'predefined variables need no InputPathsMap', t: { InputTemplate: '{"e": <aws.events.event>, "j": <aws.events.event.json>, "r": "<aws.events.rule-arn>"}' } },
    { name: 'exactly 100 paths', t: { InputPathsMap: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`v${i}`, `$.detail.v${i}`])), InputTemplate: '"x"' } },
    { name: 'keys with dashes and underscores', t: { InputPathsMap: { 'detail-type': '$.detail-type', a_b: '$.a_b' }, InputTemplate: '"<detail-type> <a_b>"' } },
    { name: 'a plain-text template', t: { InputPathsMap: { a: '$.a' }, InputTemplate: 'a is <a>, b is unset' } },
    { name: 'a path that will match nothing is still valid', t: { InputPathsMap: { a: '$.not.there' }, InputTemplate: '{"a": <a>}' } },
  ];
  for (const c of valid) test(`valid: ${c.name}`, () => assert.doesNotThrow(() => validateInputTransformer(c.t, 't1')));

  test('without a target id the message still reads', () => {
    assert.throws(() => validateInputTransformer({ InputTemplate: '"<x>"' }), { message: 'InputTemplate for target contains invalid placeholder x.' });
  });
});

describe('properties', () => {
  const json = fc.jsonValue({ maxDepth: 3 });

  test('a value outside quotes in a JSON template arrives as itself', () => {
    fc.assert(
      fc.property(json, (value) => {
        const body = applyInputTransformer({ InputPathsMap: { v: '$.detail.v' }, InputTemplate: '{"v": <v>}' }, { detail: { v: value } });
        assert.deepEqual(JSON.parse(body), { v: JSON.parse(JSON.stringify(value)) });
      }),
      { numRuns: 300 },
    );
  });

  test('a string inside quotes arrives as itself, whatever it contains', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: fc.constantFrom('a', ' ', ':', '-') }), (value, text) => {
        const t: InputTransformer = { InputPathsMap: { v: '$.detail.v' }, InputTemplate: `{"m": "${text}<v>${text}"}` };
        validateInputTransformer(t);
        assert.deepEqual(JSON.parse(applyInputTransformer(t, { detail: { v: value } })), { m: `${text}${value}${text}` });
      }),
      { numRuns: 300 },
    );
  });

  test('applying never throws, whatever the event', () => {
    fc.assert(
      fc.property(fc.anything(), (event) => {
        applyInputTransformer({ InputPathsMap: { a: '$.detail.a', b: '$.resources[0]', c: '$.*' }, InputTemplate: '{"a": <a>, "b": "<b>", "c": <c>, "e": <aws.events.event>}' }, event);
      }),
      { numRuns: 300 },
    );
  });
});
