// The EventBridge API over a real SQLite store, in process: what rules capture follows every rule
// and target change (enable, disable, remove, delete), and no input, however odd, gets a 500 or
// changes anything when it is refused.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { registerAwsJsonServices } from '../../src/api/aws-json.js';
import { eventsApi } from '../../src/api/events/handlers.js';
import { EventsService } from '../../src/service/events.js';
import { openStore } from '../../src/store/sql-store.js';
import type { Store } from '../../src/store/store.js';

let dir: string;
let store: Store;
let app: FastifyInstance;
let changed = 0;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-events-api-'));
  store = await openStore({ kind: 'sqlite', path: path.join(dir, 'db') });
  const service = new EventsService({
    store,
    region: 'us-east-1',
    accountId: '000000000000',
    now: Date.now,
    newUuid: () => '00000000-0000-4000-8000-000000000000',
    topicEndpoints: () => [],
    hooks: { rulesChanged: () => void changed++, deliveriesAdded: () => undefined },
  });
  app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  registerAwsJsonServices(app, [eventsApi(service)]);
});

after(async () => {
  await app.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function call(op: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await app.inject({
    method: 'POST',
    url: '/',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSEvents.${op}` },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.statusCode, json: r.json() };
}

async function ok(op: string, body: unknown): Promise<any> {
  const r = await call(op, body);
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.json)}`);
  return r.json;
}

test('what the store captures follows the rules: FAILED-only, disabled, enabled, widened, targets removed, deleted', async () => {
  const capture = () => store.jobEventCapture();
  await ok('PutRule', { Name: 'r1', EventPattern: '{"source":["aws.batch"],"detail":{"status":["FAILED"]}}' });
  assert.deepEqual(await capture(), [], 'no targets yet: nothing');
  await ok('PutTargets', { Rule: 'r1', Targets: [{ Id: 't', Arn: 'http://127.0.0.1:9/' }] });
  assert.deepEqual(await capture(), ['FAILED']);
  await ok('DisableRule', { Name: 'r1' });
  assert.deepEqual(await capture(), []);
  await ok('EnableRule', { Name: 'r1' });
  assert.deepEqual(await capture(), ['FAILED']);
  await ok('PutRule', { Name: 'r2', EventPattern: '{"detail":{"status":["SUCCEEDED"]}}' });
  await ok('PutTargets', { Rule: 'r2', Targets: [{ Id: 't', Arn: 'https://example.com/x' }] });
  assert.deepEqual(await capture(), ['SUCCEEDED', 'FAILED']);
  await ok('PutRule', { Name: 'custom', EventPattern: '{"source":["com.example"]}' });
  await ok('PutTargets', { Rule: 'custom', Targets: [{ Id: 't', Arn: 'https://example.com/x' }] });
  assert.deepEqual(await capture(), ['SUCCEEDED', 'FAILED'], 'a rule for other sources captures nothing');
  // PutRule replaces the pattern: r1 now matches every Batch event.
  await ok('PutRule', { Name: 'r1', EventPattern: '{"source":["aws.batch"]}' });
  assert.equal(await capture(), 'all');
  await ok('RemoveTargets', { Rule: 'r1', Ids: ['t'] });
  assert.deepEqual(await capture(), ['SUCCEEDED']);
  await ok('RemoveTargets', { Rule: 'r2', Ids: ['t'] });
  await ok('DeleteRule', { Name: 'r2' });
  await ok('DeleteRule', { Name: 'r2' }); // a rule that is gone: success, as AWS
  assert.deepEqual(await capture(), []);
  assert.ok(changed >= 10);
});

test('limits: 5 targets per rule; more than 10 targets in one call is refused by the model', async () => {
  await ok('PutRule', { Name: 'lim', EventPattern: '{"source":["x"]}' });
  const targets = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ Id: `t${from + i}`, Arn: 'http://127.0.0.1:9/' }));
  await ok('PutTargets', { Rule: 'lim', Targets: targets(5) });
  const r = await call('PutTargets', { Rule: 'lim', Targets: targets(1, 5) });
  assert.equal(r.status, 400);
  assert.equal(r.json.__type, 'LimitExceededException');
  const big = await call('PutTargets', { Rule: 'lim', Targets: targets(11, 10) });
  assert.equal(big.json.__type, 'ValidationException');
  assert.match(big.json.message, /at 'targets' failed to satisfy constraint: Member must have length less than or equal to 10/);
  assert.equal((await ok('ListTargetsByRule', { Rule: 'lim' })).Targets.length, 5);
  const page = await ok('ListTargetsByRule', { Rule: 'lim', Limit: 2 });
  assert.equal(page.Targets.length, 2);
  const rest = await ok('ListTargetsByRule', { Rule: 'lim', Limit: 10, NextToken: page.NextToken });
  assert.deepEqual(rest.Targets.map((t: any) => t.Id), ['t2', 't3', 't4']);
  const bad = await call('ListTargetsByRule', { Rule: 'lim', NextToken: 'garbage' });
  assert.equal(bad.json.__type, 'ValidationException');
});

test('tags of rules (as Terraform reads them), rules by target, the default event bus', async () => {
  const { RuleArn } = await ok('PutRule', { Name: 'tagged', EventPattern: '{"source":["x"]}', Tags: [{ Key: 'team', Value: 'a' }] });
  assert.deepEqual((await ok('ListTagsForResource', { ResourceARN: RuleArn })).Tags, [{ Key: 'team', Value: 'a' }]);
  await ok('TagResource', { ResourceARN: RuleArn, Tags: [{ Key: 'team', Value: 'b' }, { Key: 'env', Value: 'prod' }] });
  assert.deepEqual((await ok('ListTagsForResource', { ResourceARN: RuleArn })).Tags, [{ Key: 'team', Value: 'b' }, { Key: 'env', Value: 'prod' }]);
  await ok('UntagResource', { ResourceARN: RuleArn, TagKeys: ['team'] });
  assert.deepEqual((await ok('ListTagsForResource', { ResourceARN: RuleArn })).Tags, [{ Key: 'env', Value: 'prod' }]);
  // PutRule again keeps the tags (they change through TagResource only).
  await ok('PutRule', { Name: 'tagged', EventPattern: '{"source":["y"]}' });
  assert.deepEqual((await ok('ListTagsForResource', { ResourceARN: RuleArn })).Tags, [{ Key: 'env', Value: 'prod' }]);
  const missing = await call('ListTagsForResource', { ResourceARN: 'arn:aws:events:us-east-1:000000000000:rule/nope' });
  assert.equal(missing.json.__type, 'ResourceNotFoundException');
  const other = await call('TagResource', { ResourceARN: 'arn:aws:sns:us-east-1:000000000000:t', Tags: [] });
  assert.equal(other.json.__type, 'ResourceNotFoundException');

  await ok('PutTargets', { Rule: 'tagged', Targets: [{ Id: 'x', Arn: 'https://example.com/shared' }] });
  await ok('PutRule', { Name: 'also', EventPattern: '{"source":["x"]}' });
  await ok('PutTargets', { Rule: 'also', Targets: [{ Id: 'y', Arn: 'https://example.com/shared' }] });
  assert.deepEqual((await ok('ListRuleNamesByTarget', { TargetArn: 'https://example.com/shared' })).RuleNames, ['also', 'tagged']);
  const p1 = await ok('ListRuleNamesByTarget', { TargetArn: 'https://example.com/shared', Limit: 1 });
  assert.deepEqual(p1.RuleNames, ['also']);
  assert.deepEqual((await ok('ListRuleNamesByTarget', { TargetArn: 'https://example.com/shared', NextToken: p1.NextToken })).RuleNames, ['tagged']);

  assert.deepEqual(await ok('DescribeEventBus', {}), { Name: 'default', Arn: 'arn:aws:events:us-east-1:000000000000:event-bus/default' });
  assert.equal((await call('DescribeEventBus', { Name: 'custom' })).json.__type, 'ResourceNotFoundException');
});

const KNOWN = new Set(['ValidationException', 'ResourceNotFoundException', 'InvalidEventPatternException', 'LimitExceededException']);
const OPS = [
  'PutRule', 'DescribeRule', 'ListRules', 'DeleteRule', 'EnableRule', 'DisableRule', 'PutTargets', 'ListTargetsByRule', 'RemoveTargets', 'PutEvents', 'TestEventPattern',
  'ListRuleNamesByTarget', 'DescribeEventBus', 'ListTagsForResource', 'TagResource', 'UntagResource',
];

test('odd inputs: never a 500, always an EventBridge error code; refused calls change nothing', async () => {
  const member = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom('default', 'other', 'r1', 'lim', '', 'arn:aws:events:us-east-1:000000000000:event-bus/default', 'arn:aws:events:us-east-1:000000000000:rule/lim', '{"source":["x"]}', '{"detail":{"status":"FAILED"}}', '$.detail', '<x>'),
    fc.array(fc.record({ Id: fc.constantFrom('a', 'b c', ''), Arn: fc.constantFrom('http://127.0.0.1:9/', 'arn:aws:lambda:x', 'file:///x', 42), InputTransformer: fc.anything({ maxDepth: 2 }) }, { requiredKeys: [] })),
  );
  const bodyFor = fc.dictionary(
    fc.constantFrom('Name', 'Rule', 'EventPattern', 'Targets', 'Ids', 'Entries', 'Event', 'Limit', 'NextToken', 'NamePrefix', 'EventBusName', 'State', 'ScheduleExpression', 'Tags', 'TagKeys', 'ResourceARN', 'TargetArn', '__proto__', 'constructor'),
    member,
    { maxKeys: 5 },
  );
  const snapshot = async () => JSON.stringify([await store.loadEventRules(), await store.loadEventTargets(), await store.jobEventCapture()]);
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...OPS), fc.oneof(bodyFor, fc.constantFrom('', '[]', 'null', '{"Name":', '{"Name":"x"}}')), async (op, body) => {
      const before = await snapshot();
      const r = await call(op, body);
      assert.ok(r.status === 200 || r.status === 400, `${op} ${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.json)}`);
      if (r.status === 400) {
        assert.ok(KNOWN.has(r.json.__type), `${op} ${JSON.stringify(body)} → ${r.json.__type}`);
        assert.equal(typeof r.json.message, 'string');
        assert.equal(await snapshot(), before, `${op} ${JSON.stringify(body)} was refused but changed rules or targets`);
      }
    }),
    { numRuns: 600, seed: 7 },
  );
  for (const r of await store.loadEventRules()) assert.match(r.name, /^[.\-_A-Za-z0-9]{1,64}$/);
});
