// EventBridge against a real server: the seed guide's rule made with the real AWS CLI, a failing
// job's "Batch Job State Change" event at a local webhook (exactly once, AWS's shape, the DescribeJobs
// record as detail), nothing for succeeding jobs, the seed's input transformer through an SNS topic
// of the notifications file, a command target fed on stdin, PutEvents, the API's errors and auth.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { signHeaders } from '../../src/api/auth/client.js';
import { AwsCli, announceSkip, awsCliSkipReason, runIn } from '../helpers/aws.js';
import { CLI, TestServer, waitFor, waitForStatus } from '../helpers/server.js';
import { awsEvents, awsEventsOk, waitForAllDelivered, Webhook } from './events-helpers.js';

const skip = announceSkip('test/e2e/events.test.ts', awsCliSkipReason());
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RO = { accessKeyId: 'readonly', secretAccessKey: 'readonly-secret' };
const RW = { accessKeyId: 'test', secretAccessKey: 'test' };

// The seed guide's Terraform rule and target (event_pattern, input_transformer), as CLI input.
const SEED_PATTERN = { source: ['aws.batch'], 'detail-type': ['Batch Job State Change'], detail: { status: ['FAILED'] } };
const SEED_TRANSFORMER = {
  InputPathsMap: { jobId: '$.detail.jobId', jobName: '$.detail.jobName', status: '$.detail.status', reason: '$.detail.statusReason' },
  InputTemplate: '"Batch job <jobName> (<jobId>) <status>: <reason>"',
};

describe('EventBridge events', { skip }, () => {
  let tmp: string;
  let server: TestServer;
  let aws: AwsCli;
  let hook: Webhook;
  let events: EventBridgeClient;
  const commandOut = () => path.join(tmp, 'command-out');

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-events-'));
    hook = await new Webhook().start();
    fs.mkdirSync(commandOut());
    const notifications = path.join(tmp, 'notifications.json');
    fs.writeFileSync(
      notifications,
      JSON.stringify({
        topics: {
          'batch-alerts': { webhooks: [hook.url('/topic')] },
          'job-commands': { commands: [['/bin/sh', '-c', 'f="$1/event-$$.json"; cat > "$f.tmp" && mv "$f.tmp" "$f"', 'sh', commandOut()]] },
          'nobody-listens': {},
        },
      }),
    );
    const credentials = path.join(tmp, 'credentials.json');
    fs.writeFileSync(credentials, JSON.stringify({ keys: [RW, { ...RO, readOnly: true }] }), { mode: 0o600 });
    server = await new TestServer({ args: ['--notifications-file', notifications, '--credentials-file', credentials] }).start();
    aws = new AwsCli(server.endpoint);
    events = new EventBridgeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: RW, maxAttempts: 1 });
    const batch = server.client();
    for (const [name, command] of [
      ['fails', ['sh', '-c', 'echo failing; exit 3']],
      ['works', ['true']],
    ] as const) {
      await batch.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: name,
          type: 'container',
          containerProperties: { image: 'busybox', command: [...command], resourceRequirements: [{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '64' }] },
        }),
      );
    }
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
    aws?.cleanup();
    await hook?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the seed rule (aws events put-rule / put-targets): a failing job delivers one event, succeeding jobs none, the transformer templates the body', async () => {
    const rule = await awsEventsOk(aws, 'put-rule', '--name', 'batch-job-failed', '--description', 'Notify on any Batch job failure', '--event-pattern', JSON.stringify(SEED_PATTERN));
    assert.equal(rule.RuleArn, 'arn:aws:events:us-east-1:000000000000:rule/batch-job-failed');
    aws.writeFile(
      'targets.json',
      JSON.stringify([
        { Id: 'webhook', Arn: hook.url('/hook') },
        { Id: 'BatchFailedToSNS', Arn: 'arn:aws:sns:us-east-1:123456789012:batch-alerts', InputTransformer: SEED_TRANSFORMER },
      ]),
    );
    const put = await awsEventsOk(aws, 'put-targets', '--rule', 'batch-job-failed', '--targets', 'file://targets.json');
    assert.equal(put.FailedEntryCount, 0, JSON.stringify(put));

    const batch = server.client();
    const submit = async (name: string, def: string) => (await batch.send(new SubmitJobCommand({ jobName: name, jobQueue: 'default', jobDefinition: def }))).jobId!;
    const ok1 = await submit('ok-one', 'works');
    const failing = await submit('nightly-etl', 'fails');
    const ok2 = await submit('ok-two', 'works');
    for (const id of [ok1, ok2]) await waitForStatus(batch, id, 'SUCCEEDED', 60_000);
    const failed = await waitForStatus(batch, failing, 'FAILED', 60_000);

    const [got] = await hook.waitFor('/hook');
    const [templated] = await hook.waitFor('/topic');
    await waitForAllDelivered(server.dataDir);
    assert.equal(hook.at('/hook').length, 1, 'exactly one event at the webhook');
    assert.equal(hook.at('/topic').length, 1, 'exactly one message through the topic');

    assert.match(String(got.headers['content-type']), /^application\/json/);
    const e = JSON.parse(got.body);
    assert.equal(e.version, '0');
    assert.match(e.id, UUID);
    assert.equal(e['detail-type'], 'Batch Job State Change');
    assert.equal(e.source, 'aws.batch');
    assert.equal(e.account, '000000000000');
    assert.equal(e.region, 'us-east-1');
    assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(Date.parse(e.time) - failed.stoppedAt!) < 5000, `${e.time} near stoppedAt ${failed.stoppedAt}`);
    assert.deepEqual(e.resources, [failed.jobArn]);
    // detail is the DescribeJobs record of the job at that change.
    assert.equal(e.detail.jobId, failing);
    assert.equal(e.detail.jobName, 'nightly-etl');
    assert.equal(e.detail.jobArn, failed.jobArn);
    assert.equal(e.detail.jobQueue, failed.jobQueue);
    assert.equal(e.detail.status, 'FAILED');
    assert.equal(e.detail.statusReason, 'Essential container in task exited');
    assert.equal(e.detail.jobDefinition, failed.jobDefinition);
    assert.equal(e.detail.attempts.length, 1);
    assert.equal(e.detail.attempts[0].container.exitCode, 3);
    assert.equal(e.detail.container.exitCode, 3);
    assert.deepEqual(e.detail, JSON.parse(JSON.stringify(failed)), 'the same record DescribeJobs answers');

    assert.equal(templated.body, `"Batch job nightly-etl (${failing}) FAILED: Essential container in task exited"`);
  });

  test('a command target (a notification topic mapped to a command) receives the event on stdin', async () => {
    await events.send(
      new PutRuleCommand({ Name: 'works-done', EventPattern: JSON.stringify({ source: ['aws.batch'], detail: { status: ['SUCCEEDED'], jobName: ['cmd-target'] } }) }),
    );
    const put = await events.send(new PutTargetsCommand({ Rule: 'works-done', Targets: [{ Id: 'cmd', Arn: 'arn:aws:sns:us-east-1:000000000000:job-commands' }] }));
    assert.equal(put.FailedEntryCount, 0);
    const jobId = (await server.client().send(new SubmitJobCommand({ jobName: 'cmd-target', jobQueue: 'default', jobDefinition: 'works' }))).jobId!;
    await waitForStatus(server.client(), jobId, 'SUCCEEDED', 60_000);
    const files = await waitFor('the command to write the event', async () => {
      const f = fs.readdirSync(commandOut()).filter((n) => n.endsWith('.json'));
      return f.length > 0 ? f : undefined;
    });
    await waitForAllDelivered(server.dataDir);
    assert.equal(fs.readdirSync(commandOut()).filter((n) => n.endsWith('.json')).length, 1);
    const e = JSON.parse(fs.readFileSync(path.join(commandOut(), files[0]), 'utf8'));
    assert.equal(e['detail-type'], 'Batch Job State Change');
    assert.equal(e.detail.jobId, jobId);
    assert.equal(e.detail.status, 'SUCCEEDED');
  });

  test('PutEvents: a custom event reaches a matching rule\'s target; aws.* sources and bad entries are refused per entry', async () => {
    await events.send(new PutRuleCommand({ Name: 'orders', EventPattern: JSON.stringify({ source: ['com.example.orders'], detail: { total: [{ numeric: ['>', 100] }] } }) }));
    await events.send(new PutTargetsCommand({ Rule: 'orders', Targets: [{ Id: 'hook', Arn: hook.url('/orders'), RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 } }] }));
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'com.example.orders', DetailType: 'Order Placed', Detail: JSON.stringify({ orderId: 'big', total: 250 }), Resources: ['arn:aws:example:order/big'] },
          { Source: 'com.example.orders', DetailType: 'Order Placed', Detail: JSON.stringify({ orderId: 'small', total: 5 }) },
          { Source: 'aws.batch', DetailType: 'Batch Job State Change', Detail: '{}' },
          { Source: 'com.example.orders', DetailType: 'Order Placed', Detail: 'not json' },
          { Source: 'com.example.orders', DetailType: 'Order Placed', Detail: '{}', EventBusName: 'other-bus' },
        ],
      }),
    );
    assert.equal(out.FailedEntryCount, 3);
    assert.match(out.Entries![0].EventId!, UUID);
    assert.match(out.Entries![1].EventId!, UUID);
    assert.deepEqual(
      out.Entries!.slice(2).map((e) => e.ErrorCode),
      ['NotAuthorizedForSourceException', 'MalformedDetail', 'ResourceNotFoundException'],
    );
    const [got] = await hook.waitFor('/orders');
    await waitForAllDelivered(server.dataDir);
    assert.equal(hook.at('/orders').length, 1, 'only the matching event');
    const e = JSON.parse(got.body);
    assert.equal(e.id, out.Entries![0].EventId);
    assert.equal(e.source, 'com.example.orders');
    assert.equal(e['detail-type'], 'Order Placed');
    assert.deepEqual(e.resources, ['arn:aws:example:order/big']);
    assert.deepEqual(e.detail, { orderId: 'big', total: 250 });
  });

  test('rules and targets: describe, list with prefix and pages, disable/enable, list/remove targets, FailedEntries for targets OpenBatch cannot reach', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) await events.send(new PutRuleCommand({ Name: n, EventPattern: '{"source":["x"]}', State: 'DISABLED' }));
    const d = await events.send(new DescribeRuleCommand({ Name: 'page-b' }));
    assert.equal(d.Arn, 'arn:aws:events:us-east-1:000000000000:rule/page-b');
    assert.equal(d.State, 'DISABLED');
    assert.equal(d.EventBusName, 'default');
    assert.equal(d.EventPattern, '{"source":["x"]}');
    const p1 = await events.send(new ListRulesCommand({ NamePrefix: 'page-', Limit: 2 }));
    assert.deepEqual(p1.Rules!.map((r) => r.Name), ['page-a', 'page-b']);
    const p2 = await events.send(new ListRulesCommand({ NamePrefix: 'page-', Limit: 2, NextToken: p1.NextToken }));
    assert.deepEqual(p2.Rules!.map((r) => r.Name), ['page-c']);
    assert.equal(p2.NextToken, undefined);
    await events.send(new EnableRuleCommand({ Name: 'page-a', EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/default' }));
    assert.equal((await events.send(new DescribeRuleCommand({ Name: 'page-a' }))).State, 'ENABLED');
    await events.send(new DisableRuleCommand({ Name: 'page-a' }));
    assert.equal((await events.send(new DescribeRuleCommand({ Name: 'page-a' }))).State, 'DISABLED');

    const put = await events.send(
      new PutTargetsCommand({
        Rule: 'page-a',
        Targets: [
          { Id: 'ok', Arn: hook.url('/never'), Input: '{"fixed":true}' },
          { Id: 'lambda', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:f' },
        ],
      }),
    );
    assert.equal(put.FailedEntryCount, 1);
    assert.equal(put.FailedEntries![0].TargetId, 'lambda');
    assert.equal(put.FailedEntries![0].ErrorCode, 'ValidationException');
    assert.match(put.FailedEntries![0].ErrorMessage!, /http:\/\/ or https:\/\/ URL .* SNS topic ARN/);
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule: 'page-a' }));
    assert.deepEqual(listed.Targets, [{ Id: 'ok', Arn: hook.url('/never'), Input: '{"fixed":true}' }]);
    await events.send(new RemoveTargetsCommand({ Rule: 'page-a', Ids: ['ok'] }));
    assert.deepEqual((await events.send(new ListTargetsByRuleCommand({ Rule: 'page-a' }))).Targets, []);
    await events.send(new DeleteRuleCommand({ Name: 'page-a' }));
    await assert.rejects(events.send(new DescribeRuleCommand({ Name: 'page-a' })), { name: 'ResourceNotFoundException' });
  });

  test('errors as EventBridge answers them, and nothing changes', async () => {
    await assert.rejects(events.send(new DescribeRuleCommand({ Name: 'no-such-rule' })), {
      name: 'ResourceNotFoundException',
      message: 'Rule no-such-rule does not exist on EventBus default.',
    });
    await assert.rejects(events.send(new PutTargetsCommand({ Rule: 'no-such-rule', Targets: [{ Id: 'a', Arn: hook.url('/x') }] })), { name: 'ResourceNotFoundException' });
    await assert.rejects(events.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"detail":{"status":"FAILED"}}' })), (e: Error) => {
      assert.equal(e.name, 'InvalidEventPatternException');
      assert.match(e.message, /^Event pattern is not valid\. Reason: .+/);
      assert.match(e.message, /status/, 'names the field at fault');
      return true;
    });
    await assert.rejects(events.send(new PutRuleCommand({ Name: 'bad', EventPattern: 'not json' })), { name: 'InvalidEventPatternException' });
    await assert.rejects(events.send(new PutRuleCommand({ Name: 'bad', ScheduleExpression: 'rate(5 minutes)' })), (e: Error) => {
      assert.equal(e.name, 'ValidationException');
      assert.match(e.message, /ScheduleExpression is not supported/);
      return true;
    });
    await assert.rejects(events.send(new PutRuleCommand({ Name: 'bad name!', EventPattern: '{}' })), (e: Error) => {
      assert.equal(e.name, 'ValidationException');
      assert.match(e.message, /at 'name' failed to satisfy constraint/);
      return true;
    });
    await assert.rejects(events.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"source":["x"]}', EventBusName: 'custom' })), {
      name: 'ResourceNotFoundException',
    });
    await assert.rejects(events.send(new DescribeRuleCommand({ Name: 'bad' })), { name: 'ResourceNotFoundException' }, 'no rule was created by the refused calls');
    await assert.rejects(
      events.send(new PutTargetsCommand({ Rule: 'batch-job-failed', Targets: [{ Id: 't', Arn: hook.url('/x'), InputTransformer: { InputTemplate: '<nope>', InputPathsMap: { 'bad key!': '$.x' } } }] })),
      { name: 'ValidationException' },
    );
    // AWS refuses to delete a rule that still has targets.
    await assert.rejects(events.send(new DeleteRuleCommand({ Name: 'batch-job-failed' })), {
      name: 'ValidationException',
      message: "Rule can't be deleted since it has targets.",
    });
    assert.equal((await events.send(new ListTargetsByRuleCommand({ Rule: 'batch-job-failed' }))).Targets!.length, 2);
    const r = await awsEvents(aws, 'describe-rule', '--name', 'no-such-rule');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /An error occurred \(ResourceNotFoundException\) when calling the DescribeRule operation: Rule no-such-rule does not exist on EventBus default\./);
    const t = await events.send(new TestEventPatternCommand({ EventPattern: JSON.stringify(SEED_PATTERN), Event: JSON.stringify({ id: '1', account: '1', source: 'aws.batch', time: '2024-01-01T00:00:00Z', region: 'us-east-1', 'detail-type': 'Batch Job State Change', resources: [], detail: { status: 'FAILED' } }) }));
    assert.equal(t.Result, true);
  });

  test('auth: a key signed for batch cannot call AWSEvents; a read-only key can list and describe but not PutRule', async () => {
    const body = '{}';
    const url = new URL(server.endpoint + '/');
    const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.ListRules', host: url.host };
    Object.assign(headers, await signHeaders('POST', url, RW, { service: 'batch', body, headers }));
    const res = await fetch(url, { method: 'POST', headers, body });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { __type: string }).__type, 'InvalidSignatureException');

    const ro = new EventBridgeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: RO, maxAttempts: 1 });
    assert.ok((await ro.send(new ListRulesCommand({}))).Rules!.some((r) => r.Name === 'batch-job-failed'));
    assert.equal((await ro.send(new DescribeRuleCommand({ Name: 'batch-job-failed' }))).State, 'ENABLED');
    await assert.rejects(ro.send(new PutRuleCommand({ Name: 'ro-rule', EventPattern: '{"source":["x"]}' })), { name: 'AccessDeniedException' });
    await assert.rejects(events.send(new DescribeRuleCommand({ Name: 'ro-rule' })), { name: 'ResourceNotFoundException' });
  });
});

test('a notifications file that is not valid stops the server at start, naming the file and the topic', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-events-bad-'));
  try {
    const bad = path.join(dir, 'notifications.json');
    fs.writeFileSync(bad, JSON.stringify({ topics: { alerts: { commands: ['echo hi'] } } }));
    const r = await runIn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', path.join(dir, 'data'), '--notifications-file', bad], { ...process.env } as Record<string, string>, dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`notifications file ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: topic alerts: commands must be a list of argument lists`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
