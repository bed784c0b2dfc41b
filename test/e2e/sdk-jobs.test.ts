// End to end with the real AWS SDK v3 against the real server: the job lifecycle (SubmitJob,
// DescribeJobs, ListJobs, CancelJob, TerminateJob, GetJobQueueSnapshot) with jobs that run as
// local processes, and the scheduling rules that decide when they run (capacity, priority,
// DISABLED queues and compute environments).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import {
  CancelJobCommand,
  CreateJobQueueCommand,
  DeleteJobQueueCommand,
  DescribeJobQueuesCommand,
  GetJobQueueSnapshotCommand,
  ListJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  UpdateComputeEnvironmentCommand,
  UpdateJobQueueCommand,
  type JobDetail,
  type JobSummary,
  type SubmitJobCommandInput,
} from '@aws-sdk/client-batch';
import { waitFor, waitForStatus } from '../helpers/server.js';
import {
  collectPages,
  createComputeEnvironmentAndQueue,
  defArn,
  describeJobs,
  expectClientError,
  jobArn,
  jobLogs,
  listAll,
  parseEnv,
  queueArn,
  registerDefinition,
  submit,
  terminateAndWait,
  useServer,
  waitForReason,
} from './sdk-helpers.js';

const Q = 'jobs-q';
const CE = 'jobs-ce';
const LOG_STREAM = /^([A-Za-z0-9_-]+)\/default\/[0-9a-f]{32}$/;

const env = useServer(async ({ client }) => {
  // A roomy compute environment of our own, so that tests do not wait on each other (the
  // default one has as many vCPUs as the host, which may be 1).
  await createComputeEnvironmentAndQueue(client, CE, 16, { queueName: Q });
  await registerDefinition(client, 'echo', ['sh', '-c', 'echo hello from $AWS_BATCH_JOB_ID']);
  await registerDefinition(client, 'sleep', ['sleep', '30']);
  await registerDefinition(client, 'fail', ['sh', '-c', 'echo failing; exit 3']);
});

const run = (input: Partial<SubmitJobCommandInput> & { jobName: string; jobDefinition: string }) => submit(env.client, { jobQueue: Q, ...input });

/** createdAt <= startedAt <= stoppedAt, all present. */
function assertTimes(j: JobDetail): void {
  assert.equal(typeof j.createdAt, 'number');
  assert.equal(typeof j.startedAt, 'number', 'startedAt');
  assert.equal(typeof j.stoppedAt, 'number', 'stoppedAt');
  assert.ok(j.createdAt! <= j.startedAt!, `createdAt ${j.createdAt} <= startedAt ${j.startedAt}`);
  assert.ok(j.startedAt! <= j.stoppedAt!, `startedAt ${j.startedAt} <= stoppedAt ${j.stoppedAt}`);
}

const names = (list: JobSummary[] | undefined) => (list ?? []).map((s) => s.jobName);

/** No job of that name was created in the queue (any status). */
async function assertNoJob(queue: string, jobName: string): Promise<void> {
  const out = await env.client.send(new ListJobsCommand({ jobQueue: queue, filters: [{ name: 'JOB_NAME', values: [jobName] }] }));
  assert.deepEqual(out.jobSummaryList, [], `a rejected SubmitJob created job ${jobName}`);
}

// ---------------------------------------------------------------------------------------------

describe('running jobs', () => {
  test('a job that exits 0 SUCCEEDS, with attempts, log stream, times and statusReason as AWS reports them', async () => {
    const id = await run({ jobName: 'ok-job', jobDefinition: 'echo' });
    const j = await waitForStatus(env.client, id, 'SUCCEEDED');
    assert.equal(j.jobId, id);
    assert.equal(j.jobArn, `arn:aws:batch:us-east-1:000000000000:job/${id}`);
    assert.equal(j.jobName, 'ok-job');
    assert.equal(j.jobQueue, queueArn(Q));
    assert.equal(j.jobDefinition, defArn('echo', 1));
    assert.equal(j.statusReason, 'Essential container in task exited');
    assert.equal(j.container?.exitCode, 0);
    assert.deepEqual(j.container?.command, ['sh', '-c', 'echo hello from $AWS_BATCH_JOB_ID']);
    assert.equal(j.container?.image, 'busybox');
    assertTimes(j);

    assert.equal(j.attempts?.length, 1);
    const a = j.attempts![0];
    assert.equal(a.container?.exitCode, 0);
    assert.equal(a.statusReason, 'Essential container in task exited');
    const m = LOG_STREAM.exec(a.container?.logStreamName ?? '');
    assert.ok(m, `logStreamName ${a.container?.logStreamName}`);
    assert.equal(m[1], 'echo', 'the stream is named after the job definition');
    assert.equal(j.container?.logStreamName, a.container?.logStreamName);
    assert.match(a.container?.taskArn ?? '', /^arn:aws:ecs:us-east-1:000000000000:task\/jobs-ce_Batch_[0-9a-f-]{36}\/[0-9a-f]{32}$/);
    assert.equal(a.startedAt, j.startedAt);
    assert.equal(a.stoppedAt, j.stoppedAt);

    assert.equal((await jobLogs(env.endpoint, id, 2)).status, 404, 'no attempt 2');
    assert.equal((await jobLogs(env.endpoint, 'no-such-job')).status, 404);
    const logs = await jobLogs(env.endpoint, id);
    assert.equal(logs.status, 200);
    assert.equal(logs.text, `hello from ${id}\n`);
    assert.equal(logs.stream, a.container?.logStreamName);

    const summaries = await listAll(env.client, { jobQueue: Q, jobStatus: 'SUCCEEDED' });
    const s = summaries.find((x) => x.jobId === id);
    assert.ok(s, 'in ListJobs SUCCEEDED');
    assert.equal(s.jobArn, jobArn(id));
    assert.equal(s.jobName, 'ok-job');
    assert.equal(s.status, 'SUCCEEDED');
    assert.equal(s.container?.exitCode, 0);
    assert.equal(s.jobDefinition, defArn('echo', 1));
    assert.deepEqual([s.createdAt, s.startedAt, s.stoppedAt], [j.createdAt, j.startedAt, j.stoppedAt]);
  });

  test('30 concurrent SubmitJobs: distinct ids, all SUCCEED, all listed', async () => {
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        run({ jobName: `burst-${i}`, jobDefinition: 'echo', containerOverrides: { resourceRequirements: [{ type: 'VCPU', value: '0.25' }] } }),
      ),
    );
    assert.equal(new Set(ids).size, 30);
    for (const id of ids) await waitForStatus(env.client, id, 'SUCCEEDED');
    const listed = await listAll(env.client, { jobQueue: Q, filters: [{ name: 'JOB_NAME', values: ['burst-*'] }], maxResults: 7 });
    assert.deepEqual(new Set(listed.map((s) => s.jobId)), new Set(ids));
    assert.ok(listed.every((s) => s.status === 'SUCCEEDED' && s.container?.exitCode === 0));
  });

  test('a job that exits nonzero FAILS with its exit code', async () => {
    const id = await run({ jobName: 'bad-exit', jobDefinition: 'fail' });
    const j = await waitForStatus(env.client, id, 'FAILED');
    assert.equal(j.container?.exitCode, 3);
    assert.equal(j.statusReason, 'Essential container in task exited');
    assert.equal(j.attempts?.length, 1);
    assert.equal(j.attempts![0].container?.exitCode, 3);
    assertTimes(j);
    assert.equal(j.isCancelled, undefined);
    assert.equal(j.isTerminated, undefined);
    assert.equal((await jobLogs(env.endpoint, id)).text, 'failing\n');
  });

  test('the job sees AWS_BATCH_* and the definition environment merged with the override (override wins)', async () => {
    await registerDefinition(env.client, 'env', ['sh', '-c', 'env > "$OUT_FILE"'], {
      environment: [
        { name: 'FROM_DEF', value: 'def' },
        { name: 'BOTH', value: 'def' },
      ],
    });
    const out = path.join(env.tmp, 'env.txt');
    const id = await run({
      jobName: 'env-job',
      jobDefinition: 'env',
      containerOverrides: {
        environment: [
          { name: 'BOTH', value: 'override' },
          { name: 'OUT_FILE', value: out },
        ],
      },
    });
    const j = await waitForStatus(env.client, id, 'SUCCEEDED');
    const seen = parseEnv(fs.readFileSync(out, 'utf8'));
    assert.equal(seen.AWS_BATCH_JOB_ID, id);
    assert.equal(seen.AWS_BATCH_JOB_ATTEMPT, '1');
    assert.equal(seen.AWS_BATCH_CE_NAME, CE);
    assert.equal(seen.AWS_BATCH_JQ_NAME, Q);
    assert.equal(seen.FROM_DEF, 'def');
    assert.equal(seen.BOTH, 'override');
    // DescribeJobs reports the merged environment (without the AWS_BATCH_ variables).
    const reported = Object.fromEntries((j.container?.environment ?? []).map((kv) => [kv.name, kv.value]));
    assert.deepEqual(reported, { FROM_DEF: 'def', BOTH: 'override', OUT_FILE: out });
  });

  test('Ref:: parameters: definition defaults, overridden by SubmitJob parameters', async () => {
    await registerDefinition(env.client, 'params', ['echo', 'Ref::greeting', 'Ref::who', '--to=Ref::who'], { parameters: { greeting: 'hi', who: 'world' } });
    const id1 = await run({ jobName: 'params-default', jobDefinition: 'params' });
    const id2 = await run({ jobName: 'params-given', jobDefinition: 'params', parameters: { who: 'batch' } });
    const [j1, j2] = [await waitForStatus(env.client, id1, 'SUCCEEDED'), await waitForStatus(env.client, id2, 'SUCCEEDED')];
    assert.equal((await jobLogs(env.endpoint, id1)).text, 'hi world --to=world\n');
    assert.equal((await jobLogs(env.endpoint, id2)).text, 'hi batch --to=batch\n');
    assert.deepEqual(j1.parameters, { greeting: 'hi', who: 'world' });
    assert.deepEqual(j2.parameters, { greeting: 'hi', who: 'batch' });
    assert.deepEqual(j2.container?.command, ['echo', 'hi', 'batch', '--to=batch']);
  });

  test('a Ref:: without a value is a ClientException and creates no job', async () => {
    await registerDefinition(env.client, 'params-missing', ['echo', 'Ref::known', 'Ref::nothere'], { parameters: { known: 'k' } });
    await expectClientError(
      env.client.send(new SubmitJobCommand({ jobName: 'params-missing-job', jobQueue: Q, jobDefinition: 'params-missing' })),
      'Unable to substitute value. No parameter found for reference nothere',
    );
    await assertNoJob(Q, 'params-missing-job');
    // With the parameter given it runs.
    const id = await run({ jobName: 'params-missing-job', jobDefinition: 'params-missing', parameters: { nothere: 'now' } });
    await waitForStatus(env.client, id, 'SUCCEEDED');
    assert.equal((await jobLogs(env.endpoint, id)).text, 'k now\n');
  });

  test('containerOverrides.command replaces the command', async () => {
    const id = await run({ jobName: 'override-cmd', jobDefinition: 'echo', containerOverrides: { command: ['sh', '-c', 'echo replaced; exit 0'] } });
    const j = await waitForStatus(env.client, id, 'SUCCEEDED');
    assert.deepEqual(j.container?.command, ['sh', '-c', 'echo replaced; exit 0']);
    assert.equal((await jobLogs(env.endpoint, id)).text, 'replaced\n');
  });

  test('a command that does not exist FAILS to start: CannotStartContainerError, Task failed to start', async () => {
    const id = await run({ jobName: 'no-such-cmd', jobDefinition: 'echo', containerOverrides: { command: ['/nonexistent/openbatch-e2e-cmd'] } });
    const j = await waitForStatus(env.client, id, 'FAILED');
    assert.equal(j.statusReason, 'Task failed to start');
    assert.equal(j.attempts?.length, 1);
    assert.match(j.attempts![0].container?.reason ?? '', /^CannotStartContainerError/);
    assert.equal(j.attempts![0].statusReason, 'Task failed to start');
    assert.equal(j.attempts![0].container?.exitCode, undefined);
  });
});

// ---------------------------------------------------------------------------------------------

describe('retries', () => {
  test('attempts 3 with a command that fails twice then succeeds: SUCCEEDED after 3 attempts, AWS_BATCH_JOB_ATTEMPT 1, 2, 3', async () => {
    const counter = path.join(env.tmp, 'retry-counter');
    const trace = path.join(env.tmp, 'retry-trace');
    await registerDefinition(
      env.client,
      'flaky',
      ['sh', '-c', 'n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$COUNTER"; echo "$AWS_BATCH_JOB_ATTEMPT" >> "$TRACE"; echo "attempt $AWS_BATCH_JOB_ATTEMPT"; [ "$n" -ge 3 ]'],
      { retryStrategy: { attempts: 3 } },
    );
    const id = await run({
      jobName: 'flaky',
      jobDefinition: 'flaky',
      containerOverrides: { environment: [{ name: 'COUNTER', value: counter }, { name: 'TRACE', value: trace }] },
    });
    const j = await waitForStatus(env.client, id, 'SUCCEEDED');
    assert.deepEqual(j.retryStrategy, { attempts: 3 });
    assert.deepEqual(j.attempts?.map((a) => a.container?.exitCode), [1, 1, 0]);
    assert.deepEqual(fs.readFileSync(trace, 'utf8').trim().split('\n'), ['1', '2', '3']);
    assert.equal(j.container?.exitCode, 0);
    assertTimes(j);
    // Each attempt has its own log stream and output.
    const streams = j.attempts!.map((a) => a.container?.logStreamName);
    assert.equal(new Set(streams).size, 3);
    for (let n = 1; n <= 3; n++) {
      const logs = await jobLogs(env.endpoint, id, n);
      assert.equal(logs.text, `attempt ${n}\n`);
      assert.equal(logs.stream, streams[n - 1]);
    }
    for (let n = 0; n < 2; n++) assert.ok(j.attempts![n].stoppedAt! <= j.attempts![n + 1].startedAt!, 'attempts do not overlap');
  });

  test('while a retry runs, DescribeJobs and ListJobs report the current attempt (no exit code yet), attempts the ended one', async () => {
    await registerDefinition(env.client, 'second-try', ['sh', '-c', '[ "$AWS_BATCH_JOB_ATTEMPT" = 1 ] && exit 7; sleep 30'], { retryStrategy: { attempts: 2 } });
    const id = await run({ jobName: 'second-try', jobDefinition: 'second-try' });
    const j = await waitFor('attempt 2 to run', async () => {
      const [d] = await describeJobs(env.client, [id]);
      return d?.status === 'RUNNING' && d.attempts?.length === 1 ? d : undefined;
    });
    assert.equal(j.attempts![0].container?.exitCode, 7);
    assert.equal(j.container?.exitCode, undefined, 'DescribeJobs: the running attempt has no exit code');
    assert.notEqual(j.container?.logStreamName, j.attempts![0].container?.logStreamName, 'the running attempt has its own log stream');
    const [s] = (await env.client.send(new ListJobsCommand({ jobQueue: Q, filters: [{ name: 'JOB_NAME', values: ['second-try'] }] }))).jobSummaryList ?? [];
    assert.equal(s?.status, 'RUNNING');
    assert.equal(s?.container?.exitCode, undefined, 'ListJobs: the running attempt has no exit code (not the previous attempt\'s 7)');
    await terminateAndWait(env.client, [id]);
    const [t] = (await env.client.send(new ListJobsCommand({ jobQueue: Q, filters: [{ name: 'JOB_NAME', values: ['second-try'] }] }))).jobSummaryList ?? [];
    assert.equal(t?.container?.exitCode, 143, 'once stopped, the last attempt\'s exit code');
  });

  test('evaluateOnExit EXIT on exit code 1 stops retrying; other exit codes are retried', async () => {
    await registerDefinition(env.client, 'exit-with', ['sh', '-c', 'exit "$CODE"']);
    const retryStrategy = { attempts: 3, evaluateOnExit: [{ onExitCode: '1', action: 'EXIT' as const }] };
    const stop = await run({ jobName: 'exit-1', jobDefinition: 'exit-with', retryStrategy, containerOverrides: { environment: [{ name: 'CODE', value: '1' }] } });
    const retried = await run({ jobName: 'exit-2', jobDefinition: 'exit-with', retryStrategy, containerOverrides: { environment: [{ name: 'CODE', value: '2' }] } });
    const js = await waitForStatus(env.client, stop, 'FAILED');
    const jr = await waitForStatus(env.client, retried, 'FAILED');
    assert.deepEqual(js.attempts?.map((a) => a.container?.exitCode), [1]);
    assert.deepEqual(jr.attempts?.map((a) => a.container?.exitCode), [2, 2, 2]);
    assert.deepEqual(js.retryStrategy, retryStrategy, 'the SubmitJob retryStrategy is reported');
  });

  test('evaluateOnExit onReason matches the container reason of a start failure', async () => {
    const id = await run({
      jobName: 'retry-on-reason',
      jobDefinition: 'echo',
      containerOverrides: { command: ['/nonexistent/openbatch-e2e-cmd'] },
      retryStrategy: { attempts: 2, evaluateOnExit: [{ onReason: 'CannotStartContainerError*', action: 'retry' as never }, { onReason: '*', action: 'EXIT' }] },
    });
    const j = await waitForStatus(env.client, id, 'FAILED');
    assert.equal(j.attempts?.length, 2);
  });
});

// ---------------------------------------------------------------------------------------------

describe('cancel and terminate', () => {
  test('CancelJob of a RUNNABLE job (too big for the queue) → FAILED with the reason, isCancelled', async () => {
    const id = await run({ jobName: 'too-big', jobDefinition: 'echo', containerOverrides: { resourceRequirements: [{ type: 'VCPU', value: '64' }] } });
    const waiting = await waitForReason(env.client, id, (r) => r.startsWith('MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE'), 'a MISCONFIGURATION reason');
    assert.equal(waiting.status, 'RUNNABLE');
    assert.match(waiting.statusReason!, /needs 64 vCPUs.*jobs-ce.*16/);

    const snap = await env.client.send(new GetJobQueueSnapshotCommand({ jobQueue: Q }));
    assert.deepEqual(snap.frontOfQueue?.jobs, [{ jobArn: jobArn(id), earliestTimeAtPosition: waiting.createdAt }]);
    assert.equal(typeof snap.frontOfQueue?.lastUpdatedAt, 'number');

    await env.client.send(new CancelJobCommand({ jobId: jobArn(id), reason: 'no room for it' }));
    const j = await waitForStatus(env.client, id, 'FAILED');
    assert.equal(j.statusReason, 'no room for it');
    assert.equal(j.isCancelled, true);
    assert.deepEqual(j.attempts, []);
    assert.equal(typeof j.stoppedAt, 'number');
    assert.deepEqual((await env.client.send(new GetJobQueueSnapshotCommand({ jobQueue: queueArn(Q) }))).frontOfQueue?.jobs, []);

    // Cancelling a finished job changes nothing.
    await env.client.send(new CancelJobCommand({ jobId: id, reason: 'again' }));
    assert.equal((await describeJobs(env.client, [id]))[0].statusReason, 'no room for it');
  });

  test('CancelJob of a RUNNING job is a no-op; TerminateJob stops it: FAILED, isTerminated, exit code 143', async () => {
    const id = await run({ jobName: 'sleeper', jobDefinition: 'sleep' });
    const running = await waitForStatus(env.client, id, 'RUNNING');
    assert.equal(typeof running.startedAt, 'number');
    assert.equal(running.stoppedAt, undefined);
    assert.deepEqual(running.attempts, [], 'attempts lists the attempts that have ended');
    assert.match(running.container?.logStreamName ?? '', LOG_STREAM);
    assert.equal(running.container?.exitCode, undefined);
    assert.deepEqual(names((await env.client.send(new ListJobsCommand({ jobQueue: Q }))).jobSummaryList), ['sleeper']);
    await env.client.send(new CancelJobCommand({ jobId: id, reason: 'cancel me' }));
    const still = (await describeJobs(env.client, [id]))[0];
    assert.equal(still.status, 'RUNNING');
    assert.equal(still.isCancelled, undefined);
    assert.equal(still.statusReason, undefined);

    await env.client.send(new TerminateJobCommand({ jobId: jobArn(id), reason: 'stop now' }));
    const j = await waitForStatus(env.client, id, 'FAILED');
    assert.equal(j.statusReason, 'stop now');
    assert.equal(j.isTerminated, true);
    assert.equal(j.isCancelled, undefined);
    assert.equal(j.container?.exitCode, 143);
    assert.equal(j.attempts?.length, 1);
    assert.equal(j.attempts![0].container?.exitCode, 143);
    assertTimes(j);
  });

  test('TerminateJob of a RUNNABLE job fails it at once (isTerminated), never running it', async () => {
    const id = await run({ jobName: 'too-big-2', jobDefinition: 'echo', containerOverrides: { resourceRequirements: [{ type: 'VCPU', value: '64' }] } });
    await waitForReason(env.client, id, (r) => r.startsWith('MISCONFIGURATION:'), 'a MISCONFIGURATION reason');
    await env.client.send(new TerminateJobCommand({ jobId: id, reason: 'never mind' }));
    const j = await waitForStatus(env.client, id, 'FAILED');
    assert.equal(j.statusReason, 'never mind');
    assert.equal(j.isTerminated, true);
    assert.deepEqual(j.attempts, []);
  });

  test('CancelJob/TerminateJob of an unknown job', async () => {
    await expectClientError(env.client.send(new CancelJobCommand({ jobId: 'nope', reason: 'r' })), 'jobId: job nope does not exist');
    await expectClientError(env.client.send(new TerminateJobCommand({ jobId: jobArn('nope'), reason: 'r' })), `jobId: job ${jobArn('nope')} does not exist`);
    await expectClientError(env.client.send(new TerminateJobCommand({ jobId: 'x', reason: '' })), /^Invalid value for parameter reason: must not be empty/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('DescribeJobs', () => {
  test('unknown ids are left out; job ids and ARNs both work; the order asked for is kept', async () => {
    const a = await run({ jobName: 'desc-a', jobDefinition: 'echo' });
    const b = await submit(env.client, { jobName: 'desc-b', jobQueue: queueArn(Q), jobDefinition: defArn('echo', 1) });
    const jobs = await describeJobs(env.client, [b, '00000000-0000-0000-0000-000000000000', jobArn(a), 'nope']);
    assert.deepEqual(jobs.map((j) => j.jobId), [b, a]);
    assert.deepEqual(await describeJobs(env.client, ['nope']), []);
    await expectClientError(describeJobs(env.client, []), /^Invalid value for parameter jobs: 0 job IDs given; at least 1 is required/);
    const jb = await waitForStatus(env.client, b, 'SUCCEEDED');
    assert.equal(jb.jobQueue, queueArn(Q), 'queue given by ARN');
    assert.equal(jb.jobDefinition, defArn('echo', 1), 'definition given by ARN');
    await waitForStatus(env.client, a, 'SUCCEEDED');
  });
});

// ---------------------------------------------------------------------------------------------

describe('ListJobs', () => {
  const LQ = 'list-q';
  const ids: Record<string, string> = {};
  let all: JobDetail[] = [];
  const byCreatedDesc = (list: JobDetail[]) => [...list].reverse().map((j) => j.jobName); // submitted in order

  before(async () => {
    await createComputeEnvironmentAndQueue(env.client, 'list-ce', 8, { queueName: LQ });
    await registerDefinition(env.client, 'list-def-a', ['true']);
    await registerDefinition(env.client, 'list-def-a', ['true']);
    await registerDefinition(env.client, 'list-def-ab', ['true']);
    const plan: [string, string][] = [
      ['list-alpha-1', 'list-def-a:1'],
      ['List-Alpha-2', 'list-def-a:1'],
      ['list-alpha-3', 'list-def-a:2'],
      ['list-beta', 'list-def-ab'],
      ['list_u', 'list-def-ab'],
      ['listXu', 'list-def-ab'],
      ['list-fail', 'fail'],
      ['list-run', 'sleep'],
    ];
    for (const [jobName, jobDefinition] of plan) ids[jobName] = await submit(env.client, { jobName, jobDefinition, jobQueue: LQ });
    for (const [jobName] of plan) {
      const want = jobName === 'list-run' ? 'RUNNING' : jobName === 'list-fail' ? 'FAILED' : 'SUCCEEDED';
      await waitForStatus(env.client, ids[jobName], want);
    }
    all = await describeJobs(env.client, plan.map(([n]) => ids[n]));
  });

  test('without filters it lists RUNNING jobs only; jobStatus picks another status', async () => {
    assert.deepEqual(names((await env.client.send(new ListJobsCommand({ jobQueue: LQ }))).jobSummaryList), ['list-run']);
    const succeeded = await env.client.send(new ListJobsCommand({ jobQueue: queueArn(LQ), jobStatus: 'SUCCEEDED' }));
    assert.deepEqual(new Set(names(succeeded.jobSummaryList)), new Set(['list-alpha-1', 'List-Alpha-2', 'list-alpha-3', 'list-beta', 'list_u', 'listXu']));
    const failed = await env.client.send(new ListJobsCommand({ jobQueue: LQ, jobStatus: 'FAILED' }));
    assert.deepEqual(names(failed.jobSummaryList), ['list-fail']);
    const f = failed.jobSummaryList![0];
    assert.equal(f.container?.exitCode, 3);
    assert.equal(f.statusReason, 'Essential container in task exited');
    assert.equal(f.jobDefinition, defArn('fail', 1));
    assert.deepEqual((await env.client.send(new ListJobsCommand({ jobQueue: LQ, jobStatus: 'RUNNABLE' }))).jobSummaryList, []);
    assert.deepEqual((await env.client.send(new ListJobsCommand({ jobQueue: 'no-such-queue' }))).jobSummaryList, []);
  });

  test('JOB_NAME: exact or trailing-* prefix, case-insensitive, every status, newest first', async () => {
    const list = async (value: string) =>
      names((await env.client.send(new ListJobsCommand({ jobQueue: LQ, filters: [{ name: 'JOB_NAME', values: [value] }] }))).jobSummaryList);
    assert.deepEqual(await list('LIST-ALPHA*'), ['list-alpha-3', 'List-Alpha-2', 'list-alpha-1']);
    assert.deepEqual(await list('list-alpha-2'), ['List-Alpha-2']);
    assert.deepEqual(await list('list-alpha'), [], 'without * the match is exact');
    assert.deepEqual(await list('list_*'), ['list_u'], '_ is a literal character, not a wildcard');
    assert.deepEqual(await list('list*'), byCreatedDesc(all), 'every status, newest first');
  });

  test('JOB_DEFINITION: by name (every revision), name:revision and ARN', async () => {
    const list = async (value: string) =>
      names((await env.client.send(new ListJobsCommand({ jobQueue: LQ, filters: [{ name: 'JOB_DEFINITION', values: [value] }] }))).jobSummaryList);
    assert.deepEqual(await list('list-def-a'), ['list-alpha-3', 'List-Alpha-2', 'list-alpha-1'], 'not list-def-ab');
    assert.deepEqual(await list('list-def-a:1'), ['List-Alpha-2', 'list-alpha-1']);
    assert.deepEqual(await list(defArn('list-def-a', 2)), ['list-alpha-3']);
    assert.deepEqual(await list('list-def-ab'), ['listXu', 'list_u', 'list-beta']);
    assert.deepEqual(await list('sleep'), ['list-run']);
  });

  test('AFTER_CREATED_AT / BEFORE_CREATED_AT (epoch ms, exclusive), newest first', async () => {
    // The middle of the distinct creation times, so that jobs fall on both sides of it.
    const times = [...new Set(all.map((j) => j.createdAt!))].sort((a, b) => a - b);
    assert.ok(times.length >= 3, 'jobs submitted one after another have distinct creation times');
    const pivot = times[Math.floor(times.length / 2)];
    const list = async (name: 'AFTER_CREATED_AT' | 'BEFORE_CREATED_AT') =>
      (await env.client.send(new ListJobsCommand({ jobQueue: LQ, filters: [{ name, values: [String(pivot)] }] }))).jobSummaryList ?? [];
    const after = await list('AFTER_CREATED_AT');
    const before = await list('BEFORE_CREATED_AT');
    assert.deepEqual(names(after), byCreatedDesc(all.filter((j) => j.createdAt! > pivot)));
    assert.deepEqual(names(before), byCreatedDesc(all.filter((j) => j.createdAt! < pivot)));
    assert.ok(before.length > 0 && after.length > 0, 'the pivot splits the jobs');
    for (const l of [after, before]) for (let i = 1; i < l.length; i++) assert.ok(l[i - 1].createdAt! >= l[i].createdAt!, 'newest first');
    await expectClientError(
      env.client.send(new ListJobsCommand({ jobQueue: LQ, filters: [{ name: 'AFTER_CREATED_AT', values: ['yesterday'] }] })),
      /^Invalid value for parameter filters\[0\]\.values\[0\]: "yesterday" is not a valid AFTER_CREATED_AT value/,
    );
  });

  test('pagination with maxResults/nextToken adds up to the full list; bad or foreign nextToken is a ClientException', async () => {
    const filters = [{ name: 'JOB_NAME', values: ['list*'] }];
    const full = (await env.client.send(new ListJobsCommand({ jobQueue: LQ, filters }))).jobSummaryList ?? [];
    assert.equal(full.length, all.length);
    for (const maxResults of [1, 3]) {
      const { items, pages } = await collectPages(async (nextToken) => {
        const out = await env.client.send(new ListJobsCommand({ jobQueue: LQ, filters, maxResults, nextToken }));
        return { items: out.jobSummaryList, nextToken: out.nextToken };
      }, maxResults);
      assert.deepEqual(items, full, `maxResults ${maxResults}`);
      assert.equal(pages, Math.ceil(full.length / maxResults));
    }
    const unfiltered = await listAll(env.client, { jobQueue: LQ, jobStatus: 'SUCCEEDED', maxResults: 2 });
    assert.deepEqual(
      unfiltered.map((s) => s.jobId),
      (await env.client.send(new ListJobsCommand({ jobQueue: LQ, jobStatus: 'SUCCEEDED' }))).jobSummaryList?.map((s) => s.jobId),
    );
    assert.equal(unfiltered.length, 6);

    await expectClientError(env.client.send(new ListJobsCommand({ jobQueue: LQ, nextToken: 'garbage' })), /^nextToken is not valid/);
    const first = await env.client.send(new ListJobsCommand({ jobQueue: LQ, jobStatus: 'SUCCEEDED', maxResults: 1 }));
    assert.ok(first.nextToken);
    await expectClientError(
      env.client.send(new ListJobsCommand({ jobQueue: LQ, jobStatus: 'FAILED', maxResults: 1, nextToken: first.nextToken })),
      /^nextToken was returned for a different ListJobs request/,
    );
  });

  test('exactly one of jobQueue, arrayJobId, multiNodeJobId', async () => {
    await expectClientError(
      env.client.send(new ListJobsCommand({})),
      'Invalid parameter combination: give exactly one of jobQueue, arrayJobId or multiNodeJobId (none was given)',
    );
    await expectClientError(env.client.send(new ListJobsCommand({ jobQueue: LQ, jobStatus: 'DONE' as never })), /^Invalid value for parameter jobStatus: "DONE" is not valid/);
  });

  test('cleanup: the running job', async () => {
    await terminateAndWait(env.client, [ids['list-run']]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('scheduling', () => {
  test('capacity: on a 1-vCPU compute environment two 1-vCPU jobs never run at the same time', async () => {
    const { queue } = await createComputeEnvironmentAndQueue(env.client, 'cap1', 1);
    const first = await submit(env.client, { jobName: 'cap-first', jobQueue: queue, jobDefinition: 'sleep' });
    const second = await submit(env.client, { jobName: 'cap-second', jobQueue: queue, jobDefinition: 'sleep' });
    await waitForStatus(env.client, first, 'RUNNING');
    const waiting = await waitForReason(env.client, second, (r) => /^CAPACITY:.*\bcap1\b/.test(r), 'a CAPACITY reason naming cap1');
    assert.equal(waiting.status, 'RUNNABLE');
    assert.equal((await describeJobs(env.client, [first]))[0].status, 'RUNNING', 'the first still runs');

    await env.client.send(new TerminateJobCommand({ jobId: first, reason: 'make room' }));
    const s = await waitForStatus(env.client, second, 'RUNNING');
    const f = (await describeJobs(env.client, [first]))[0];
    assert.equal(f.status, 'FAILED');
    assert.ok(s.startedAt! >= f.stoppedAt!, `second started ${s.startedAt} before the first stopped ${f.stoppedAt}`);
    await terminateAndWait(env.client, [second]);
  });

  test('capacity: jobs queued on a 1-vCPU compute environment run one after another, never overlapping', async () => {
    const trace = path.join(env.tmp, 'serial-trace');
    await registerDefinition(env.client, 'serial', ['sh', '-c', 'echo "start $(date +%s%N)" >> "$TRACE"; sleep 0.2; echo "end $(date +%s%N)" >> "$TRACE"'], {
      environment: [{ name: 'TRACE', value: trace }],
    });
    const jobIds: string[] = [];
    for (let i = 0; i < 4; i++) jobIds.push(await submit(env.client, { jobName: `serial-${i}`, jobQueue: 'cap1-q', jobDefinition: 'serial' }));
    const done: JobDetail[] = [];
    for (const id of jobIds) done.push(await waitForStatus(env.client, id, 'SUCCEEDED'));
    // As the server saw it: each job starts after the one before it stopped (FIFO).
    for (let i = 1; i < done.length; i++) assert.ok(done[i].startedAt! >= done[i - 1].stoppedAt!, `serial-${i} overlaps serial-${i - 1}`);
    // As the jobs saw it: start/end strictly alternate.
    const events = fs.readFileSync(trace, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);
    assert.deepEqual(events, ['start', 'end', 'start', 'end', 'start', 'end', 'start', 'end']);
  });

  test('capacity: fractional vCPUs add up (two 0.5-vCPU jobs share 1 vCPU, a third waits)', async () => {
    const half = { resourceRequirements: [{ type: 'VCPU' as const, value: '0.5' }] };
    const a = await submit(env.client, { jobName: 'half-a', jobQueue: 'cap1-q', jobDefinition: 'sleep', containerOverrides: half });
    const b = await submit(env.client, { jobName: 'half-b', jobQueue: 'cap1-q', jobDefinition: 'sleep', containerOverrides: half });
    await waitForStatus(env.client, a, 'RUNNING');
    await waitForStatus(env.client, b, 'RUNNING');
    const c = await submit(env.client, { jobName: 'half-c', jobQueue: 'cap1-q', jobDefinition: 'sleep', containerOverrides: half });
    const waiting = await waitForReason(env.client, c, (r) => r.startsWith('CAPACITY:'), 'a CAPACITY reason');
    assert.equal(waiting.status, 'RUNNABLE');
    await env.client.send(new TerminateJobCommand({ jobId: a, reason: 'make room' }));
    await waitForStatus(env.client, c, 'RUNNING');
    await terminateAndWait(env.client, [b, c]);
  });

  test('UpdateComputeEnvironment raising maxvCpus lets a job that did not fit run', async () => {
    const { ce, queue } = await createComputeEnvironmentAndQueue(env.client, 'grow-ce', 1);
    const id = await submit(env.client, { jobName: 'needs-2', jobQueue: queue, jobDefinition: 'echo', containerOverrides: { resourceRequirements: [{ type: 'VCPU', value: '2' }] } });
    const waiting = await waitForReason(env.client, id, (r) => r.startsWith('MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE'), 'a MISCONFIGURATION reason');
    assert.match(waiting.statusReason!, /needs 2 vCPUs, largest compute environment in queue \(grow-ce\) has 1/);
    await env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: ce, computeResources: { maxvCpus: 2 } }));
    await waitForStatus(env.client, id, 'SUCCEEDED');
  });

  test('a queue without compute environments keeps its jobs RUNNABLE (ACTION_REQUIRED) until one is attached', async () => {
    const { ce, queue } = await createComputeEnvironmentAndQueue(env.client, 'detach-ce', 1);
    await env.client.send(new UpdateJobQueueCommand({ jobQueue: queue, computeEnvironmentOrder: [] }));
    const id = await submit(env.client, { jobName: 'orphan', jobQueue: queue, jobDefinition: 'echo' });
    const waiting = await waitForReason(env.client, id, (r) => r.startsWith('ACTION_REQUIRED'), 'an ACTION_REQUIRED reason');
    assert.match(waiting.statusReason!, /has no compute environments/);
    await env.client.send(new UpdateJobQueueCommand({ jobQueue: queue, computeEnvironmentOrder: [{ order: 1, computeEnvironment: ce }] }));
    await waitForStatus(env.client, id, 'SUCCEEDED');
  });

  test('priority: with two queues on one 1-vCPU compute environment the high-priority queue goes first', async () => {
    const { ce } = await createComputeEnvironmentAndQueue(env.client, 'prio-ce', 1, { queueName: 'prio-lo', priority: 1 });
    await env.client.send(
      new CreateJobQueueCommand({
        jobQueueName: 'prio-hi',
        priority: 100,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: ce }],
      }),
    );
    const blocker = await submit(env.client, { jobName: 'blocker', jobQueue: 'prio-lo', jobDefinition: 'sleep' });
    await waitForStatus(env.client, blocker, 'RUNNING');
    const lo = await submit(env.client, { jobName: 'lo', jobQueue: 'prio-lo', jobDefinition: 'sleep' });
    const hi = await submit(env.client, { jobName: 'hi', jobQueue: 'prio-hi', jobDefinition: 'sleep' });
    await waitForReason(env.client, lo, (r) => r.startsWith('CAPACITY:'), 'lo waits for capacity');
    await waitForReason(env.client, hi, (r) => r.startsWith('CAPACITY:'), 'hi waits for capacity');

    await env.client.send(new TerminateJobCommand({ jobId: blocker, reason: 'make room' }));
    const h = await waitForStatus(env.client, hi, 'RUNNING');
    assert.equal((await describeJobs(env.client, [lo]))[0].status, 'RUNNABLE', 'the low-priority job still waits');

    await env.client.send(new TerminateJobCommand({ jobId: hi, reason: 'next' }));
    const l = await waitForStatus(env.client, lo, 'RUNNING');
    assert.ok(h.startedAt! <= l.startedAt!, 'the high-priority job started first');
    await terminateAndWait(env.client, [lo]);
  });

  test('a DISABLED queue rejects SubmitJob; its RUNNABLE jobs still run; enabled again it accepts jobs', async () => {
    const { queue } = await createComputeEnvironmentAndQueue(env.client, 'dis-ce', 1, { queueName: 'dis-q' });
    const blocker = await submit(env.client, { jobName: 'dis-blocker', jobQueue: queue, jobDefinition: 'sleep' });
    await waitForStatus(env.client, blocker, 'RUNNING');
    const queued = await submit(env.client, { jobName: 'dis-queued', jobQueue: queue, jobDefinition: 'echo' });
    await waitForReason(env.client, queued, (r) => r.startsWith('CAPACITY:'), 'queued waits');

    await env.client.send(new UpdateJobQueueCommand({ jobQueue: queue, state: 'DISABLED' }));
    await expectClientError(
      env.client.send(new SubmitJobCommand({ jobName: 'dis-rejected', jobQueue: queue, jobDefinition: 'echo' })),
      'Job queue dis-q is DISABLED and does not accept new jobs; enable it with UpdateJobQueue',
    );
    await assertNoJob(queue, 'dis-rejected');

    await env.client.send(new TerminateJobCommand({ jobId: blocker, reason: 'make room' }));
    await waitForStatus(env.client, queued, 'SUCCEEDED');

    await env.client.send(new UpdateJobQueueCommand({ jobQueue: queue, state: 'ENABLED' }));
    await waitForStatus(env.client, await submit(env.client, { jobName: 'dis-accepted', jobQueue: queue, jobDefinition: 'echo' }), 'SUCCEEDED');
  });

  test('a DISABLED compute environment gets no new placements (ACTION_REQUIRED) until enabled again', async () => {
    const { ce, queue } = await createComputeEnvironmentAndQueue(env.client, 'dce', 2);
    await env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: ce, state: 'DISABLED' }));
    const id = await submit(env.client, { jobName: 'dce-job', jobQueue: queue, jobDefinition: 'echo' });
    const waiting = await waitForReason(env.client, id, (r) => r.startsWith('ACTION_REQUIRED'), 'an ACTION_REQUIRED reason');
    assert.equal(waiting.status, 'RUNNABLE');
    assert.match(waiting.statusReason!, /dce is DISABLED/);
    await env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: ce, state: 'ENABLED' }));
    const j = await waitForStatus(env.client, id, 'SUCCEEDED');
    assert.equal((await jobLogs(env.endpoint, id)).text, `hello from ${id}\n`);
    assert.equal(j.container?.exitCode, 0);
  });

  test('enabled again with room for one job: the others no longer show the stale ACTION_REQUIRED reason', async () => {
    const { ce, queue } = await createComputeEnvironmentAndQueue(env.client, 'stale-ce', 1);
    await env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: ce, state: 'DISABLED' }));
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await submit(env.client, { jobName: `stale-${n}`, jobQueue: queue, jobDefinition: 'sleep' }));
    for (const id of ids) await waitForReason(env.client, id, (r) => r.startsWith('ACTION_REQUIRED'), 'an ACTION_REQUIRED reason');
    await env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: ce, state: 'ENABLED' }));
    await waitForStatus(env.client, ids[0], 'RUNNING');
    for (const id of ids.slice(1)) await waitForReason(env.client, id, (r) => r.startsWith('CAPACITY:'), 'waits for capacity now');
    await terminateAndWait(env.client, ids);
  });

  test('deleting a queue (DISABLED first) fails its RUNNABLE and RUNNING jobs; they stay describable', async () => {
    const { queue } = await createComputeEnvironmentAndQueue(env.client, 'del-ce', 1, { queueName: 'del-q' });
    const running = await submit(env.client, { jobName: 'del-running', jobQueue: queue, jobDefinition: 'sleep' });
    await waitForStatus(env.client, running, 'RUNNING');
    const big = await submit(env.client, {
      jobName: 'del-big',
      jobQueue: queue,
      jobDefinition: 'echo',
      containerOverrides: { resourceRequirements: [{ type: 'VCPU', value: '64' }] },
    });
    await waitForReason(env.client, big, (r) => r.startsWith('MISCONFIGURATION:'), 'a MISCONFIGURATION reason');
    await expectClientError(env.client.send(new DeleteJobQueueCommand({ jobQueue: queue })), /^Cannot delete job queue del-q while it is ENABLED/);
    assert.equal((await describeJobs(env.client, [big]))[0].status, 'RUNNABLE', 'the rejected delete changed nothing');

    await env.client.send(new UpdateJobQueueCommand({ jobQueue: queue, state: 'DISABLED' }));
    await env.client.send(new DeleteJobQueueCommand({ jobQueue: queue }));
    assert.deepEqual((await env.client.send(new DescribeJobQueuesCommand({ jobQueues: [queue] }))).jobQueues, []);
    const b = await waitForStatus(env.client, big, 'FAILED');
    assert.equal(b.statusReason, 'Job queue was deleted');
    const r = await waitForStatus(env.client, running, 'FAILED');
    assert.equal(r.statusReason, 'Job queue was deleted');
    assert.equal(r.container?.exitCode, 143);
    const listed = await listAll(env.client, { jobQueue: queue, jobStatus: 'FAILED' });
    assert.deepEqual(new Set(listed.map((s) => s.jobId)), new Set([running, big]));
    await expectClientError(
      env.client.send(new SubmitJobCommand({ jobName: 'after-delete', jobQueue: queue, jobDefinition: 'echo' })),
      'JobQueue del-q not found.',
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('SubmitJob rejected (ClientException, no job created)', () => {
  test('unknown queue', async () => {
    await expectClientError(env.client.send(new SubmitJobCommand({ jobName: 'rej-q', jobQueue: 'nope', jobDefinition: 'echo' })), 'JobQueue nope not found.');
    await expectClientError(
      env.client.send(new SubmitJobCommand({ jobName: 'rej-q', jobQueue: queueArn('nope'), jobDefinition: 'echo' })),
      `JobQueue ${queueArn('nope')} not found.`,
    );
    await assertNoJob(Q, 'rej-q');
  });

  test('unknown job definition (name, revision, ARN)', async () => {
    for (const ref of ['nope', 'echo:99', defArn('nope', 1)]) {
      await expectClientError(
        env.client.send(new SubmitJobCommand({ jobName: 'rej-def', jobQueue: Q, jobDefinition: ref })),
        `JobDefinition name ${ref} does not exist or is not in ACTIVE status`,
      );
    }
    await assertNoJob(Q, 'rej-def');
  });

  test('bad job names; missing jobName', async () => {
    for (const jobName of ['-bad', 'a b', 'x'.repeat(129), 'dot.name']) {
      await expectClientError(
        env.client.send(new SubmitJobCommand({ jobName, jobQueue: Q, jobDefinition: 'echo' })),
        new RegExp(`^Invalid value for parameter jobName: "${jobName.slice(0, 100).replace('.', '\\.')}.*" does not match the job name pattern`),
      );
    }
    await expectClientError(env.client.send(new SubmitJobCommand({ jobQueue: Q, jobDefinition: 'echo' } as any)), 'Missing required parameter: jobName');
    const out = await env.client.send(new ListJobsCommand({ jobQueue: Q, filters: [{ name: 'AFTER_CREATED_AT', values: [String(Date.now() - 5_000)] }] }));
    assert.deepEqual(out.jobSummaryList?.filter((s) => !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(s.jobName ?? '')), []);
  });

  test('bad dependsOn and arrayProperties are rejected and create nothing', async () => {
    const dep = await run({ jobName: 'dep-target', jobDefinition: 'echo' });
    const cases: [Partial<SubmitJobCommandInput>, string][] = [
      [{ dependsOn: [{ jobId: 'no-such-job' }] }, 'dependsOn[0].jobId: job no-such-job does not exist'],
      [{ dependsOn: [{ jobId: dep, type: 'N_TO_N' }] }, 'dependsOn[0]: an N_TO_N dependency pairs the children of two array jobs; this job has no arrayProperties'],
      [{ arrayProperties: { size: 2 }, dependsOn: [{ jobId: dep, type: 'N_TO_N' }] }, `dependsOn[0].jobId: job ${dep} is not an array job, so it cannot be an N_TO_N dependency`],
      [{ dependsOn: [{ type: 'SEQUENTIAL' }] }, 'dependsOn[0]: a SEQUENTIAL dependency without jobId orders the children of an array job; this job has no arrayProperties'],
      [{ dependsOn: [{ jobId: dep }, { jobId: dep }] }, `dependsOn[1].jobId: job ${dep} is listed more than once`],
    ];
    for (const [extra, message] of cases) {
      await expectClientError(env.client.send(new SubmitJobCommand({ jobName: 'rej-deps', jobQueue: Q, jobDefinition: 'echo', ...extra })), message);
    }
    await assertNoJob(Q, 'rej-deps');
    await waitForStatus(env.client, dep, 'SUCCEEDED');
  });

  test('timeout below 60 s, retry attempts out of range, evaluateOnExit action FAILED, AWS_BATCH_ override', async () => {
    const cases: [Partial<SubmitJobCommandInput>, RegExp | string][] = [
      [{ timeout: { attemptDurationSeconds: 10 } }, 'Invalid value for parameter timeout.attemptDurationSeconds: 10 is out of range; it must be at least 60 seconds'],
      [{ retryStrategy: { attempts: 11 } }, 'Invalid value for parameter retryStrategy.attempts: 11 is out of range; it must be between 1 and 10'],
      [
        { retryStrategy: { attempts: 2, evaluateOnExit: [{ action: 'FAILED' as never, onExitCode: '1' }] } },
        /^Invalid value for parameter retryStrategy\.evaluateOnExit\[0\]\.action: "FAILED" is not a valid action.*EXIT/,
      ],
      [
        { containerOverrides: { environment: [{ name: 'AWS_BATCH_JOB_ATTEMPT', value: '9' }] } },
        /^Invalid value for parameter containerOverrides\.environment\[0\]\.name: "AWS_BATCH_JOB_ATTEMPT" starts with AWS_BATCH/,
      ],
      [{ containerOverrides: { command: ['echo', ''] } }, 'Invalid value for parameter containerOverrides.command[1]: the command cannot contain an empty string'],
      [{ schedulingPriorityOverride: 5 }, /^Job with shareIdentifier or schedulingPriority can onlybe submitted to job queue with fair share scheduling policy\./],
    ];
    for (const [extra, message] of cases) {
      await expectClientError(env.client.send(new SubmitJobCommand({ jobName: 'rej-field', jobQueue: Q, jobDefinition: 'echo', ...extra })), message);
    }
    await assertNoJob(Q, 'rej-field');
  });

  test('GetJobQueueSnapshot of an unknown queue', async () => {
    await expectClientError(env.client.send(new GetJobQueueSnapshotCommand({ jobQueue: 'nope' })), 'jobQueue: job queue nope does not exist');
  });
});
