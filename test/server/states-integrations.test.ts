// The integrations' pure parts: Step Functions' capitalised Batch parameters → the Batch API's
// input, DescribeJobs → the `.sync` output, the topic publisher and coalesced describes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { coalescingDescribe, toBatchInput, toPascal, topicPublisher, type BatchGateway } from '../../src/server/states/integrations.js';
import { after } from '../../src/server/states/runner.js';

test("the AWS docs' SubmitJob parameters map to Batch's input; job parameters and tags keep their keys", () => {
  const input = toBatchInput({
    JobName: 'n',
    JobQueue: 'q',
    JobDefinition: 'd',
    ArrayProperties: { Size: 10 },
    ContainerOverrides: { Command: ['echo', 'x'], Environment: [{ Name: 'DATE', Value: '1' }], ResourceRequirements: [{ Type: 'VCPU', Value: '4' }] },
    DependsOn: [{ JobId: 'j', Type: 'SEQUENTIAL' }],
    PropagateTags: true,
    Parameters: { Key1: 'value1', InputFile: 's3://x' },
    RetryStrategy: { Attempts: 2, EvaluateOnExit: [{ OnExitCode: '1', Action: 'RETRY' }] },
    Tags: { Team: 'ML' },
    Timeout: { AttemptDurationSeconds: 600 },
  });
  assert.deepEqual(input, {
    jobName: 'n',
    jobQueue: 'q',
    jobDefinition: 'd',
    arrayProperties: { size: 10 },
    containerOverrides: { command: ['echo', 'x'], environment: [{ name: 'DATE', value: '1' }], resourceRequirements: [{ type: 'VCPU', value: '4' }] },
    dependsOn: [{ jobId: 'j', type: 'SEQUENTIAL' }],
    propagateTags: true,
    parameters: { Key1: 'value1', InputFile: 's3://x' },
    retryStrategy: { attempts: 2, evaluateOnExit: [{ onExitCode: '1', action: 'RETRY' }] },
    tags: { Team: 'ML' },
    timeout: { attemptDurationSeconds: 600 },
  });
});

test('.sync output: DescribeJobs with capitalised keys, tags and parameters as they are', () => {
  const out = toPascal({ jobId: 'j', status: 'SUCCEEDED', container: { exitCode: 0, environment: [{ name: 'a', value: 'b' }] }, tags: { team: 'x' }, parameters: { inputFile: 'f' } });
  assert.deepEqual(out, { JobId: 'j', Status: 'SUCCEEDED', Container: { ExitCode: 0, Environment: [{ Name: 'a', Value: 'b' }] }, Tags: { team: 'x' }, Parameters: { inputFile: 'f' } });
});

test('the topic publisher hands the SNS notification JSON to the durable publish, and says when a topic has no endpoint', async () => {
  const published: { topicArn: string; body: string }[] = [];
  let n = 0;
  const p = topicPublisher(
    async (topicArn, body) => {
      published.push({ topicArn, body });
      return topicArn.endsWith(':alerts') ? 2 : 0;
    },
    () => `id-${++n}`,
    () => Date.UTC(2026, 5, 9, 12),
  );
  const sent = await p.publish('arn:aws:sns:us-east-1:1:alerts', 'hello', 'subj');
  assert.deepEqual(sent, { MessageId: 'id-1', delivery: 'queued for 2 endpoints' });
  assert.deepEqual(JSON.parse(published[0].body), {
    Type: 'Notification',
    MessageId: 'id-1',
    TopicArn: 'arn:aws:sns:us-east-1:1:alerts',
    Subject: 'subj',
    Message: 'hello',
    Timestamp: '2026-06-09T12:00:00.000Z',
  });
  const none = await p.publish('arn:aws:sns:us-east-1:1:other', 'x');
  assert.match(none.delivery ?? '', /^no target configured/);
  assert.equal(JSON.parse(published[1].body).Subject, undefined, 'no Subject when none was given');
});

test('describes asked for at the same moment are one call', async () => {
  const calls: string[][] = [];
  const gateway = {
    async describeMany(ids: readonly string[]) {
      calls.push([...ids]);
      return new Map(ids.filter((id) => id !== 'gone').map((id) => [id, { jobId: id }]));
    },
  } as unknown as BatchGateway;
  const describe = coalescingDescribe(gateway, 5);
  const out = await Promise.all(['a', 'b', 'a', 'gone'].map((id) => describe(id)));
  assert.deepEqual(out, [{ jobId: 'a' }, { jobId: 'b' }, { jobId: 'a' }, undefined]);
  assert.deepEqual(calls, [['a', 'b', 'gone']]);
  await describe('c');
  assert.equal(calls.length, 2);
});

test("timers past 24.8 days (setTimeout's limit) are armed in steps, never with an overflowing delay", (t) => {
  const delays: number[] = [];
  t.mock.method(globalThis, 'setTimeout', ((_fn: () => void, ms: number) => {
    delays.push(ms);
    return {} as NodeJS.Timeout;
  }) as unknown as typeof setTimeout);
  t.mock.method(globalThis, 'clearTimeout', () => undefined);
  const cancel = after(2 ** 31 + 1000, () => undefined);
  cancel();
  after(10, () => undefined);
  // A plain setTimeout(fn, 2^31 + 1000) would overflow and fire after 1 ms.
  assert.deepEqual(delays, [2 ** 31 - 1, 10]);
});
