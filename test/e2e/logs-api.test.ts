// The CloudWatch Logs API of a real server, driven by @aws-sdk/client-cloudwatch-logs: log groups
// and streams as jobs create them, event timestamps within their attempt, a running job's line
// timestamped close to when it was printed, FilterLogEvents across streams, retention policies,
// CloudWatch's errors, and an index that survives a SIGKILL of the server and a restart.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CloudWatchLogsClient,
  DeleteRetentionPolicyCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  PutRetentionPolicyCommand,
  type OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { RegisterJobDefinitionCommand, SubmitJobCommand, type BatchClient, type JobDetail } from '@aws-sdk/client-batch';
import { TestServer, describeJob, waitFor, waitForStatus } from '../helpers/server.js';

const GROUP = '/aws/batch/job';
const ARN_PREFIX = 'arn:aws:logs:us-east-1:000000000000:log-group:';

describe('CloudWatch Logs API (SDK)', () => {
  let server: TestServer;
  let batch: BatchClient;
  let logs: CloudWatchLogsClient;
  let work: string;
  const connect = () => {
    batch = server.client();
    logs = new CloudWatchLogsClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  };

  before(async () => {
    server = await new TestServer().start();
    connect();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-logs-e2e-'));
    await batch.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'sh',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['sh', '-c', 'Ref::script'], resourceRequirements: [{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '16' }] },
      }),
    );
  });

  after(async () => {
    logs?.destroy();
    batch?.destroy();
    await server?.stop();
    server?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const submit = async (name: string, script: string) => {
    const out = await batch.send(new SubmitJobCommand({ jobName: name, jobQueue: 'default', jobDefinition: 'sh', parameters: { script } }));
    return out.jobId!;
  };
  const allEvents = async (stream: string): Promise<OutputLogEvent[]> => {
    const out = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, startFromHead: true }));
    return out.events ?? [];
  };
  const runningStream = (jobId: string) =>
    waitFor(`job ${jobId} to be RUNNING with a log stream`, async () => {
      const j = await describeJob(batch, jobId);
      return j?.status === 'RUNNING' && j.container?.logStreamName ? j.container.logStreamName : undefined;
    });

  let finished: JobDetail;
  let other: JobDetail;

  test('finished jobs: groups and streams exist, events are timestamped within the attempt', async () => {
    finished = await waitForStatus(batch, await submit('three', 'echo alpha; echo beta; echo ERROR gamma'), 'SUCCEEDED');
    other = await waitForStatus(batch, await submit('two', 'echo delta; echo ERROR epsilon >&2'), 'SUCCEEDED');
    const stream = finished.container!.logStreamName!;
    const events = await allEvents(stream);
    assert.deepEqual(events.map((e) => e.message), ['alpha', 'beta', 'ERROR gamma']);
    const a = finished.attempts![0];
    for (const e of events) {
      assert.ok(e.timestamp! >= a.startedAt! && e.timestamp! <= a.stoppedAt!, `${e.timestamp} in ${a.startedAt}..${a.stoppedAt}`);
      assert.ok(e.ingestionTime! >= e.timestamp!);
    }

    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/batch' }));
    assert.equal(groups.logGroups?.length, 1);
    const g = groups.logGroups![0];
    assert.equal(g.logGroupName, GROUP);
    assert.equal(g.arn, `${ARN_PREFIX}${GROUP}:*`);
    assert.ok(g.creationTime! > 0 && g.creationTime! <= Date.now());
    assert.ok(g.storedBytes! >= 'alpha\nbeta\nERROR gamma\n'.length);
    assert.equal(g.retentionInDays, undefined, 'never expire by default');
    assert.deepEqual((await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/nope' }))).logGroups, []);

    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }));
    const names = streams.logStreams!.map((s) => s.logStreamName!);
    assert.deepEqual(names, [...names].sort());
    const s = streams.logStreams!.find((x) => x.logStreamName === stream)!;
    assert.equal(s.arn, `${ARN_PREFIX}${GROUP}:log-stream:${stream}`);
    assert.equal(s.firstEventTimestamp, events[0].timestamp);
    assert.equal(s.lastEventTimestamp, events[2].timestamp);
    assert.ok(s.lastIngestionTime! >= s.lastEventTimestamp!);
    assert.equal(s.storedBytes, 'alpha\nbeta\nERROR gamma\n'.length);
    // Newest first by last event; one per page.
    const newest = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: 'LastEventTime', descending: true, limit: 1 }));
    assert.equal(newest.logStreams![0].logStreamName, other.container!.logStreamName);
    const next = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: 'LastEventTime', descending: true, limit: 1, nextToken: newest.nextToken }));
    assert.equal(next.logStreams![0].logStreamName, stream);
    const byPrefix = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, logStreamNamePrefix: 'sh/default/' }));
    assert.equal(byPrefix.logStreams!.length, 2);
  });

  test('FilterLogEvents: terms across streams, by stream, with a limit and nextToken', async () => {
    const errors = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: 'ERROR' }));
    assert.deepEqual(errors.events!.map((e) => e.message).sort(), ['ERROR epsilon', 'ERROR gamma']);
    for (const e of errors.events!) assert.ok(e.logStreamName && e.eventId && e.timestamp && e.ingestionTime);
    const one = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNames: [finished.container!.logStreamName!], filterPattern: '?alpha ?delta ?gamma' }));
    assert.deepEqual(one.events!.map((e) => e.message), ['alpha', 'ERROR gamma']);
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const p = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, limit: 2, nextToken: token }));
      seen.push(...p.events!.map((e) => e.message!));
      token = p.nextToken;
      if (!token) break;
    }
    assert.deepEqual(seen.sort(), ['ERROR epsilon', 'ERROR gamma', 'alpha', 'beta', 'delta']);
    await assert.rejects(logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: '{ $.x = 1 }' })), { name: 'InvalidParameterException', message: /filterPattern/ });
  });

  test('retention policies: put, shown, deleted; bad values and unknown groups refused', async () => {
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: GROUP, retentionInDays: 14 }));
    assert.equal((await logs.send(new DescribeLogGroupsCommand({}))).logGroups![0].retentionInDays, 14);
    await logs.send(new DeleteRetentionPolicyCommand({ logGroupName: GROUP }));
    assert.equal((await logs.send(new DescribeLogGroupsCommand({}))).logGroups![0].retentionInDays, undefined);
    await assert.rejects(logs.send(new PutRetentionPolicyCommand({ logGroupName: GROUP, retentionInDays: 2 })), { name: 'InvalidParameterException', message: /retentionInDays/ });
    await assert.rejects(logs.send(new PutRetentionPolicyCommand({ logGroupName: '/nope', retentionInDays: 1 })), {
      name: 'ResourceNotFoundException',
      message: 'The specified log group does not exist.',
    });
    await assert.rejects(logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'sh/default/nope' })), {
      name: 'ResourceNotFoundException',
      message: 'The specified log stream does not exist.',
    });
    await assert.rejects(logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: 'LastEventTime', logStreamNamePrefix: 'x' })), { name: 'InvalidParameterException' });
  });

  test('a running job: its line appears with a timestamp close to when it was printed, and the index survives kill -9 and a restart', async () => {
    const go = path.join(work, 'go');
    const go2 = path.join(work, 'go2');
    const end = path.join(work, 'end');
    const script = [
      'echo started',
      `while [ ! -e ${go} ]; do sleep 0.02; done`,
      'echo "printed at $(date +%s%3N)"',
      `while [ ! -e ${go2} ]; do sleep 0.02; done`,
      'echo "while the server was down"',
      `while [ ! -e ${end} ]; do sleep 0.02; done`,
      'printf "last line without newline"',
    ].join('\n');
    const jobId = await submit('live', script);
    const stream = await runningStream(jobId);
    await waitFor('the first line', async () => (await allEvents(stream)).length === 1);

    fs.writeFileSync(go, '');
    const printed = await waitFor('the second line', async () => {
      const events = await allEvents(stream);
      return events.length === 2 ? { event: events[1], seenAt: Date.now() } : undefined;
    });
    const printedAt = Number(/^printed at (\d+)$/.exec(printed.event.message!)![1]);
    assert.ok(printed.event.timestamp! >= printedAt - 5, `timestamp ${printed.event.timestamp} is not before the print at ${printedAt}`);
    assert.ok(printed.event.timestamp! - printedAt < 1000, `timestamp ${printed.event.timestamp} is ${printed.event.timestamp! - printedAt} ms after the print`);
    assert.ok(printed.event.timestamp! <= printed.seenAt);
    const before = await allEvents(stream);

    await server.kill();
    fs.writeFileSync(go2, '');
    await waitFor('the job to print while the server is down', async () => fs.readFileSync(path.join(server.dataDir, 'logs', encodeURIComponent(GROUP), encodeURIComponent(stream)), 'utf8').includes('server was down'));
    await server.start();
    connect();
    fs.writeFileSync(end, '');
    const job = await waitForStatus(batch, jobId, 'SUCCEEDED');
    const events = await allEvents(stream);
    assert.deepEqual(events.map((e) => e.message), ['started', printed.event.message, 'while the server was down', 'last line without newline']);
    assert.deepEqual(events.slice(0, 2), before, 'what was indexed before the crash keeps its timestamps');
    const a = job.attempts![0];
    for (const e of events) assert.ok(e.timestamp! >= a.startedAt! && e.timestamp! <= a.stoppedAt!, `${e.message}: ${e.timestamp} in ${a.startedAt}..${a.stoppedAt}`);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].timestamp! >= events[i - 1].timestamp!);
  });
});

describe('--log-retention-days', () => {
  test('the server-wide default shows as the retention of groups without a policy of their own', async () => {
    const server = await new TestServer({ args: ['--log-retention-days', '7'] }).start();
    const batch = server.client();
    const logs = new CloudWatchLogsClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    try {
      await batch.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'echo', type: 'container', containerProperties: { image: 'busybox', command: ['echo', 'kept'] } }));
      const job = await waitForStatus(batch, (await batch.send(new SubmitJobCommand({ jobName: 'echo', jobQueue: 'default', jobDefinition: 'echo' }))).jobId!, 'SUCCEEDED');
      assert.equal((await logs.send(new DescribeLogGroupsCommand({}))).logGroups?.[0].retentionInDays, 7);
      await logs.send(new PutRetentionPolicyCommand({ logGroupName: GROUP, retentionInDays: 1 }));
      assert.equal((await logs.send(new DescribeLogGroupsCommand({}))).logGroups?.[0].retentionInDays, 1);
      // A day is not over: the output is still there.
      const events = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: job.container!.logStreamName! }));
      assert.deepEqual(events.events?.map((e) => e.message), ['kept']);
    } finally {
      logs.destroy();
      batch.destroy();
      await server.stop();
      server.cleanup();
    }
  });
});
