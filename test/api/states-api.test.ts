// The Step Functions API in process (startServer + inject): pagination of the listings and the
// history (both orders), UpdateStateMachine and DeleteStateMachine, and input checks.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { waitFor } from '../helpers/server.js';

let server: RunningServer;
let tmp: string;

async function call(op: string, body: Record<string, unknown>) {
  const res = await server.app.inject({ method: 'POST', url: '/', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AWSStepFunctions.${op}` }, payload: JSON.stringify(body) });
  return { status: res.statusCode, body: JSON.parse(res.body), contentType: res.headers['content-type'] };
}

const PASS = (n: number) => JSON.stringify({ StartAt: 'P0', States: Object.fromEntries(Array.from({ length: n }, (_, i) => [`P${i}`, { Type: 'Pass', ...(i < n - 1 ? { Next: `P${i + 1}` } : { End: true }) }])) });

describe('Step Functions API', () => {
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-states-api-'));
    server = await startServer({ port: 0, host: '127.0.0.1', dataDir: tmp, logLevel: 'warn', createDefaults: false, hostResources: { cpus: 2, memory: 4096, gpus: 0 } });
  });
  after(async () => {
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('listings and history page with nextToken; the history reads in both orders', async () => {
    for (const n of [1, 2, 3]) assert.equal((await call('CreateStateMachine', { name: `m${n}`, definition: PASS(5), roleArn: 'r' })).status, 200);
    const first = await call('ListStateMachines', { maxResults: 2 });
    assert.match(String(first.contentType), /^application\/x-amz-json-1.0/);
    assert.deepEqual(first.body.stateMachines.map((s: any) => s.name), ['m1', 'm2']);
    const second = await call('ListStateMachines', { maxResults: 2, nextToken: first.body.nextToken });
    assert.deepEqual(second.body.stateMachines.map((s: any) => s.name), ['m3']);
    assert.equal(second.body.nextToken, undefined);

    const arn = first.body.stateMachines[0].stateMachineArn;
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) runs.push((await call('StartExecution', { stateMachineArn: arn, name: `r${i}`, input: `{"i":${i}}` })).body.executionArn);
    for (const r of runs) await waitFor('the run to end', async () => (await call('DescribeExecution', { executionArn: r })).body.status === 'SUCCEEDED');
    const page1 = await call('ListExecutions', { stateMachineArn: arn, maxResults: 2 });
    const page2 = await call('ListExecutions', { stateMachineArn: arn, maxResults: 2, nextToken: page1.body.nextToken });
    assert.equal(page1.body.executions.length + page2.body.executions.length, 3);
    assert.deepEqual(new Set([...page1.body.executions, ...page2.body.executions].map((e: any) => e.name)), new Set(['r0', 'r1', 'r2']));
    assert.deepEqual((await call('ListExecutions', { stateMachineArn: arn, statusFilter: 'FAILED' })).body.executions, []);

    const d = await call('DescribeExecution', { executionArn: runs[1] });
    assert.equal(d.body.output, '{"i":1}');
    assert.equal(typeof d.body.startDate, 'number');

    // 1 started + 5 × (entered, exited) + 1 succeeded = 12 events.
    const ids: number[] = [];
    let token: string | undefined;
    do {
      const h = await call('GetExecutionHistory', { executionArn: runs[0], maxResults: 5, ...(token ? { nextToken: token } : {}) });
      ids.push(...h.body.events.map((e: any) => e.id));
      token = h.body.nextToken;
    } while (token);
    assert.deepEqual(ids, Array.from({ length: 12 }, (_, i) => i + 1));
    const back: number[] = [];
    token = undefined;
    do {
      const h = await call('GetExecutionHistory', { executionArn: runs[0], maxResults: 5, reverseOrder: true, ...(token ? { nextToken: token } : {}) });
      back.push(...h.body.events.map((e: any) => e.id));
      token = h.body.nextToken;
    } while (token);
    assert.deepEqual(back, [...ids].reverse());
    const lean = await call('GetExecutionHistory', { executionArn: runs[0], includeExecutionData: false, maxResults: 2 });
    assert.deepEqual(lean.body.events[1].stateEnteredEventDetails, { name: 'P0', inputDetails: { truncated: false } });
  });

  test('UpdateStateMachine checks the new definition and changes the revision; running executions keep theirs; Delete', async () => {
    const arn = 'arn:aws:states:us-east-1:000000000000:stateMachine:m1';
    const before = (await call('DescribeStateMachine', { stateMachineArn: arn })).body;
    const bad = await call('UpdateStateMachine', { stateMachineArn: arn, definition: '{"StartAt":"X","States":{}}' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.__type, 'InvalidDefinition');
    const nothing = await call('UpdateStateMachine', { stateMachineArn: arn });
    assert.equal(nothing.body.__type, 'MissingRequiredParameter');
    const ok = await call('UpdateStateMachine', { stateMachineArn: arn, definition: PASS(1) });
    assert.equal(ok.status, 200);
    assert.notEqual(ok.body.revisionId, before.revisionId);
    assert.equal((await call('DescribeStateMachine', { stateMachineArn: arn })).body.definition, PASS(1));
    assert.equal((await call('DeleteStateMachine', { stateMachineArn: arn })).status, 200);
    assert.equal((await call('DescribeStateMachine', { stateMachineArn: arn })).body.__type, 'StateMachineDoesNotExist');
    // Its executions stay readable.
    assert.equal((await call('DescribeExecution', { executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m1:r0' })).body.status, 'SUCCEEDED');
  });

  test('tags of a state machine; DescribeStateMachineForExecution gives the definition an execution runs', async () => {
    const arn = 'arn:aws:states:us-east-1:000000000000:stateMachine:m3';
    assert.equal((await call('TagResource', { resourceArn: arn, tags: [{ key: 'team', value: 'ml' }, { key: 'env', value: 'dev' }] })).status, 200);
    assert.equal((await call('UntagResource', { resourceArn: arn, tagKeys: ['env'] })).status, 200);
    assert.deepEqual((await call('ListTagsForResource', { resourceArn: arn })).body.tags, [{ key: 'team', value: 'ml' }]);
    assert.equal((await call('ListTagsForResource', { resourceArn: `${arn}x` })).body.__type, 'ResourceNotFound');
    const run = (await call('StartExecution', { stateMachineArn: arn, name: 'for-def' })).body.executionArn;
    assert.equal((await call('UpdateStateMachine', { stateMachineArn: arn, definition: PASS(2) })).status, 200);
    const d = await call('DescribeStateMachineForExecution', { executionArn: run });
    assert.equal(d.body.definition, PASS(5));
    assert.equal(d.body.name, 'm3');
  });

  test('bad input: ValidationException, InvalidToken, InvalidArn, unknown operations; nothing changes', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['CreateStateMachine', { name: 'x', definition: PASS(1) }, 'ValidationException'],
      ['CreateStateMachine', { name: 'x', definition: 5, roleArn: 'r' }, 'ValidationException'],
      ['CreateStateMachine', { name: 'x', definition: PASS(1), roleArn: 'r', type: 'EXPRESS' }, 'ValidationException'],
      ['CreateStateMachine', { name: 'm2', definition: PASS(2), roleArn: 'r' }, 'StateMachineAlreadyExists'],
      ['ListStateMachines', { maxResults: 1001 }, 'ValidationException'],
      ['ListStateMachines', { nextToken: '!!' }, 'InvalidToken'],
      ['ListExecutions', { stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:m2', statusFilter: 'NOPE' }, 'ValidationException'],
      ['DescribeExecution', { executionArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:m2' }, 'InvalidArn'],
      ['StartExecution', { stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:m2', input: 7 }, 'ValidationException'],
      ['StartExecution', { stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:m2', name: 'a/b' }, 'InvalidName'],
      ['GetExecutionHistory', { executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m2:x', reverseOrder: 'yes' }, 'ValidationException'],
      ['SendTaskSuccess', {}, 'UnknownOperationException'],
    ];
    for (const [op, body, code] of cases) {
      const r = await call(op, body);
      assert.equal(r.status, 400, `${op} ${JSON.stringify(body)}`);
      assert.equal(r.body.__type, code, `${op} ${JSON.stringify(body)}: ${r.body.message}`);
      assert.equal(typeof r.body.message, 'string');
    }
    assert.deepEqual((await call('ListStateMachines', {})).body.stateMachines.map((s: any) => s.name), ['m2', 'm3']);
    assert.deepEqual((await call('ListExecutions', { stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:m2' })).body.executions, []);
  });
});
