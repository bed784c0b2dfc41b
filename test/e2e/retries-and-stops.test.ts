// Retries and stops end to end (AWS Batch reference §3, §5): evaluateOnExit (first match wins,
// exit-code and reason globs, the default retry when no rule matches), the attempts[] shape,
// CancelJob in each state, TerminateJob (never retried), and Spot: the reclaim hook
// (POST /openbatch/v1/jobs/:id/reclaim) and the `openbatch:spotInterruptionRate` tag.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CancelJobCommand,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  TerminateJobCommand,
  type EvaluateOnExit,
  type JobDetail,
  type RetryStrategy,
} from '@aws-sdk/client-batch';
import { waitFor, waitForStatus } from '../helpers/server.js';
import { assertAttempt, assertNeverRan, CONTAINER_EXITED, DEPENDENT_FAILED, Gate, GATE_WAIT, HOST_TERMINATED } from './job-model-helpers.js';
import { createComputeEnvironmentAndQueue, describeJobs, registerDefinition, submit, useServer, waitForReason } from './sdk-helpers.js';

const Q = 'rs-q';
const QUARTER = [
  { type: 'VCPU' as const, value: '0.25' },
  { type: 'MEMORY' as const, value: '16' },
];
/** The seed guide's retryStrategy, with its `"action": "FAILED"` corrected to EXIT (see seed.test.ts). */
const GUIDE_RETRY: RetryStrategy = {
  attempts: 3,
  evaluateOnExit: [
    { onStatusReason: 'Host EC2*', action: 'RETRY' },
    { onReason: 'CannotPullContainerError*', action: 'RETRY' },
    { onExitCode: '1', action: 'EXIT' },
  ],
};
const NO_SUCH_COMMAND = '/nonexistent/openbatch-e2e-cmd';

/** A SPOT compute environment (the fields a real one needs) and a queue in front of it. */
async function createSpot(name: string, tags?: Record<string, string>): Promise<string> {
  await env.client.send(
    new CreateComputeEnvironmentCommand({
      computeEnvironmentName: name,
      type: 'MANAGED',
      computeResources: {
        type: 'SPOT',
        allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED',
        minvCpus: 0,
        maxvCpus: 4,
        instanceTypes: ['optimal'],
        subnets: [],
        instanceRole: 'arn:aws:iam::123456789012:instance-profile/ecsInstanceRole',
        spotIamFleetRole: 'arn:aws:iam::123456789012:role/AmazonEC2SpotFleetRole',
        bidPercentage: 60,
      },
      ...(tags ? { tags } : {}),
    }),
  );
  const queue = `${name}-q`;
  await env.client.send(new CreateJobQueueCommand({ jobQueueName: queue, priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: name }] }));
  return queue;
}

const env = useServer(async ({ client }) => {
  await createComputeEnvironmentAndQueue(client, 'rs-ce', 16, { queueName: Q });
  await registerDefinition(client, 'rs-sh', [], { containerProperties: { image: 'busybox', command: ['sh', '-c', 'eval "$SCRIPT"'], resourceRequirements: QUARTER } });
  // The guide's retry strategy on a job that waits on attempt 1 and succeeds after.
  await registerDefinition(client, 'rs-spot', [], {
    containerProperties: { image: 'busybox', command: ['sh', '-c', '[ "$AWS_BATCH_JOB_ATTEMPT" = 1 ] && exec sleep 30; exit 0'], resourceRequirements: QUARTER },
    retryStrategy: GUIDE_RETRY,
  });
});

interface Opts {
  script?: string;
  command?: string[];
  env?: { name: string; value: string }[];
  retryStrategy?: RetryStrategy;
  dependsOn?: { jobId: string }[];
  queue?: string;
  vcpus?: string;
}

function job(jobName: string, o: Opts = {}): Promise<string> {
  return submit(env.client, {
    jobName,
    jobQueue: o.queue ?? Q,
    jobDefinition: 'rs-sh',
    containerOverrides: {
      environment: [{ name: 'SCRIPT', value: o.script ?? 'true' }, ...(o.env ?? [])],
      ...(o.command ? { command: o.command } : {}),
      ...(o.vcpus ? { resourceRequirements: [{ type: 'VCPU', value: o.vcpus }] } : {}),
    },
    ...(o.retryStrategy ? { retryStrategy: o.retryStrategy } : {}),
    ...(o.dependsOn ? { dependsOn: o.dependsOn } : {}),
  });
}

const gated = (gate: Gate, then = 'true'): Opts => ({ script: `${GATE_WAIT}; ${then}`, env: [gate.env] });
const exitCodes = (j: JobDetail) => j.attempts?.map((a) => a.container?.exitCode);

/** POST /openbatch/v1/jobs/:id/reclaim */
async function reclaim(jobId: string): Promise<{ status: number; body: Record<string, unknown>; errorType: string | null }> {
  const res = await fetch(`${env.endpoint}/openbatch/v1/jobs/${jobId}/reclaim`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, errorType: res.headers.get('x-amzn-errortype') };
}

// ---------------------------------------------------------------------------------------------

describe('evaluateOnExit', () => {
  test('first match wins: onExitCode 4* (EXIT) before 42 (RETRY) stops at once; the other order retries', async () => {
    const exitFirst: EvaluateOnExit[] = [
      { onExitCode: '4*', action: 'EXIT' },
      { onExitCode: '42', action: 'RETRY' },
    ];
    const a = await job('rs-glob-exit', { script: 'exit 42', retryStrategy: { attempts: 3, evaluateOnExit: exitFirst } });
    const b = await job('rs-glob-retry', { script: 'exit 42', retryStrategy: { attempts: 3, evaluateOnExit: [...exitFirst].reverse() } });
    const ja = await waitForStatus(env.client, a, 'FAILED');
    const jb = await waitForStatus(env.client, b, 'FAILED');
    assert.deepEqual(exitCodes(ja), [42]);
    assert.deepEqual(exitCodes(jb), [42, 42, 42]);
    assert.equal(ja.statusReason, CONTAINER_EXITED);
    assert.deepEqual(ja.retryStrategy, { attempts: 3, evaluateOnExit: exitFirst });
    // 4* is a prefix glob: 4 and 400 match it, 14 does not.
    const c = await job('rs-glob-14', { script: 'exit 14', retryStrategy: { attempts: 2, evaluateOnExit: [{ onExitCode: '4*', action: 'EXIT' }] } });
    assert.deepEqual(exitCodes(await waitForStatus(env.client, c, 'FAILED')), [14, 14]);
  });

  test('onReason CannotStartContainerError* (RETRY) then * (EXIT): a command that does not exist is retried, a normal exit is not', async () => {
    const rules: EvaluateOnExit[] = [
      { onReason: 'CannotStartContainerError*', action: 'RETRY' },
      { onReason: '*', action: 'EXIT' },
    ];
    const a = await job('rs-reason-retry', { command: [NO_SUCH_COMMAND], retryStrategy: { attempts: 3, evaluateOnExit: rules } });
    const b = await job('rs-reason-exit', { script: 'exit 7', retryStrategy: { attempts: 3, evaluateOnExit: rules } });
    const ja = await waitForStatus(env.client, a, 'FAILED');
    assert.equal(ja.statusReason, 'Task failed to start');
    assert.equal(ja.attempts?.length, 3);
    for (const at of ja.attempts!) {
      assert.match(at.container?.reason ?? '', /^CannotStartContainerError/);
      assert.equal(at.container?.exitCode, undefined);
      assert.equal(at.statusReason, 'Task failed to start');
    }
    const jb = await waitForStatus(env.client, b, 'FAILED');
    assert.deepEqual(exitCodes(jb), [7], 'onReason * matches an attempt without a container reason');

    // EXIT first: the start failure is not retried.
    const c = await job('rs-reason-exit-first', { command: [NO_SUCH_COMMAND], retryStrategy: { attempts: 3, evaluateOnExit: [...rules].reverse() } });
    assert.equal((await waitForStatus(env.client, c, 'FAILED')).attempts?.length, 1);
  });

  test('no rule matches: the default is to retry (attempts 3, exit 7 each time → 3 attempts, FAILED); EXIT stops at once', async () => {
    const rules: EvaluateOnExit[] = [{ onExitCode: '1', action: 'EXIT' }];
    const a = await job('rs-default-retry', { script: 'exit 7', retryStrategy: { attempts: 3, evaluateOnExit: rules } });
    const b = await job('rs-exit-now', { script: 'exit 1', retryStrategy: { attempts: 3, evaluateOnExit: rules } });
    const ja = await waitForStatus(env.client, a, 'FAILED');
    const jb = await waitForStatus(env.client, b, 'FAILED');
    assert.deepEqual(exitCodes(ja), [7, 7, 7]);
    assert.deepEqual(exitCodes(jb), [1]);
    assert.equal(jb.statusReason, CONTAINER_EXITED);
  });

  test('attempts[]: one entry per attempt with container.exitCode, container.logStreamName, startedAt, stoppedAt, statusReason', async () => {
    const id = await job('rs-shape', { script: '[ "$AWS_BATCH_JOB_ATTEMPT" = 3 ] || exit $((10 + AWS_BATCH_JOB_ATTEMPT))', retryStrategy: { attempts: 3 } });
    const j = await waitForStatus(env.client, id, 'SUCCEEDED');
    assert.equal(j.attempts?.length, 3);
    [11, 12, 0].forEach((code, i) => assertAttempt(j.attempts![i], { exitCode: code, statusReason: CONTAINER_EXITED }, `attempt ${i + 1}`));
    for (const a of j.attempts!) {
      assert.match(a.container?.taskArn ?? '', /^arn:aws:ecs:us-east-1:000000000000:task\/rs-ce_Batch_[0-9a-f-]{36}\/[0-9a-f]{32}$/);
      assert.match(a.container?.containerInstanceArn ?? '', /^arn:aws:ecs:us-east-1:000000000000:container-instance\//);
    }
    for (let i = 1; i < 3; i++) assert.ok(j.attempts![i - 1].stoppedAt! <= j.attempts![i].startedAt!, 'attempts do not overlap');
    assert.equal(new Set(j.attempts!.map((a) => a.container?.logStreamName)).size, 3, 'a log stream per attempt');
    // The job reports its last attempt.
    assert.equal(j.status, 'SUCCEEDED');
    assert.equal(j.statusReason, CONTAINER_EXITED);
    assert.equal(j.container?.exitCode, 0);
    assert.equal(j.container?.logStreamName, j.attempts![2].container?.logStreamName);
    assert.equal(j.stoppedAt, j.attempts![2].stoppedAt);
    assert.ok(j.startedAt! >= j.attempts![0].startedAt!);
  });
});

// ---------------------------------------------------------------------------------------------

describe('CancelJob and TerminateJob in each state', () => {
  // SUBMITTED lasts until the next scheduling cycle (microseconds) and STARTING until the
  // executor reports the command started: neither can be held from outside, so PENDING stands
  // for the states before RUNNABLE and RUNNING for those after (CANCELLABLE / STOPPABLE in
  // src/core/transitions.ts treat each pair alike).

  test('PENDING (its dependency still runs) → FAILED isCancelled; its own dependents fail with Dependent Job failed', async () => {
    const gate = new Gate(env.tmp, 'cancel-pending');
    const g = await job('rs-dep-running', gated(gate));
    await waitForStatus(env.client, g, 'RUNNING');
    const p = await job('rs-pending', { dependsOn: [{ jobId: g }] });
    const d = await job('rs-pending-dependent', { dependsOn: [{ jobId: p }] });
    await waitForStatus(env.client, p, 'PENDING');
    await env.client.send(new CancelJobCommand({ jobId: p, reason: 'cancel while pending' }));
    const jp = await waitForStatus(env.client, p, 'FAILED');
    assert.equal(jp.statusReason, 'cancel while pending');
    assert.equal(jp.isCancelled, true);
    assert.equal(jp.isTerminated, undefined);
    assertNeverRan(jp);
    const jd = await waitForStatus(env.client, d, 'FAILED');
    assert.equal(jd.statusReason, DEPENDENT_FAILED);
    assert.equal(jd.isCancelled, undefined);
    assertNeverRan(jd);
    // The dependency succeeding afterwards changes nothing.
    gate.open();
    await waitForStatus(env.client, g, 'SUCCEEDED');
    assert.equal((await describeJobs(env.client, [p]))[0].statusReason, 'cancel while pending');
  });

  test('TerminateJob of a PENDING job cancels it the same way, flagged isTerminated', async () => {
    const gate = new Gate(env.tmp, 'terminate-pending');
    const g = await job('rs-dep-running-2', gated(gate));
    await waitForStatus(env.client, g, 'RUNNING');
    const p = await job('rs-pending-terminated', { dependsOn: [{ jobId: g }] });
    await waitForStatus(env.client, p, 'PENDING');
    await env.client.send(new TerminateJobCommand({ jobId: p, reason: 'terminate while pending' }));
    const jp = await waitForStatus(env.client, p, 'FAILED');
    assert.equal(jp.statusReason, 'terminate while pending');
    assert.equal(jp.isTerminated, true);
    assert.equal(jp.isCancelled, undefined);
    assertNeverRan(jp);
    gate.open();
    await waitForStatus(env.client, g, 'SUCCEEDED');
  });

  test('RUNNABLE (too big for the queue: MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE) → FAILED isCancelled', async () => {
    const id = await job('rs-too-big', { vcpus: '64' });
    const waiting = await waitForReason(env.client, id, (r) => r.startsWith('MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE'), 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE');
    assert.equal(waiting.status, 'RUNNABLE');
    await env.client.send(new CancelJobCommand({ jobId: id, reason: 'cancel while runnable' }));
    const j = await waitForStatus(env.client, id, 'FAILED');
    assert.equal(j.statusReason, 'cancel while runnable');
    assert.equal(j.isCancelled, true);
    assertNeverRan(j);
  });

  test('RUNNING: CancelJob answers 200 and changes nothing; the job runs on to SUCCEEDED', async () => {
    const gate = new Gate(env.tmp, 'cancel-running');
    const id = await job('rs-cancel-running', gated(gate));
    await waitForStatus(env.client, id, 'RUNNING');
    const out = await env.client.send(new CancelJobCommand({ jobId: id, reason: 'too late' }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    const still = (await describeJobs(env.client, [id]))[0];
    assert.equal(still.status, 'RUNNING');
    assert.equal(still.statusReason, undefined);
    assert.equal(still.isCancelled, undefined);
    gate.open();
    const j = await waitForStatus(env.client, id, ['SUCCEEDED', 'FAILED']);
    assert.equal(j.status, 'SUCCEEDED');
    assert.equal(j.statusReason, CONTAINER_EXITED);
    assert.equal(j.isCancelled, undefined);
    assertAttempt(j.attempts![0], { exitCode: 0, statusReason: CONTAINER_EXITED });
  });

  test('SUCCEEDED and FAILED: CancelJob and TerminateJob answer 200 and change nothing', async () => {
    const ok = await job('rs-done-ok');
    const bad = await job('rs-done-bad', { script: 'exit 3' });
    const before = [await waitForStatus(env.client, ok, 'SUCCEEDED'), await waitForStatus(env.client, bad, 'FAILED')];
    for (const id of [ok, bad]) {
      await env.client.send(new CancelJobCommand({ jobId: id, reason: 'cancel after the end' }));
      await env.client.send(new TerminateJobCommand({ jobId: id, reason: 'terminate after the end' }));
    }
    assert.deepEqual(await describeJobs(env.client, [ok, bad]), before);
  });

  test('TerminateJob of a RUNNING job with attempts 3 → FAILED isTerminated, exit 143, not retried', async () => {
    const id = await job('rs-terminate', { script: 'exec sleep 30', retryStrategy: { attempts: 3 } });
    await waitForStatus(env.client, id, 'RUNNING');
    await env.client.send(new TerminateJobCommand({ jobId: id, reason: 'terminate while running' }));
    const j = await waitForStatus(env.client, id, 'FAILED');
    assert.equal(j.statusReason, 'terminate while running');
    assert.equal(j.isTerminated, true);
    assert.equal(j.isCancelled, undefined);
    assert.equal(j.container?.exitCode, 143);
    assert.equal(j.attempts?.length, 1, 'a terminated job is not retried');
    assertAttempt(j.attempts![0], { exitCode: 143, statusReason: 'terminate while running' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('Spot', () => {
  test('reclaim of a RUNNING job on SPOT: attempt 1 ends Host EC2 (instance i-…) terminated., the guide\'s retryStrategy retries it, attempt 2 SUCCEEDS', async () => {
    const queue = await createSpot('rs-spot-ce');
    const id = await submit(env.client, { jobName: 'rs-spot-job', jobQueue: queue, jobDefinition: 'rs-spot' });
    await waitForStatus(env.client, id, 'RUNNING');
    const res = await reclaim(id);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { jobId: id, reclaimed: true });
    const j = await waitForStatus(env.client, id, ['SUCCEEDED', 'FAILED']);
    assert.equal(j.status, 'SUCCEEDED');
    assert.deepEqual(j.retryStrategy, GUIDE_RETRY);
    assert.equal(j.attempts?.length, 2);
    assertAttempt(j.attempts![0], { exitCode: 143, statusReason: HOST_TERMINATED }, 'the reclaimed attempt');
    assertAttempt(j.attempts![1], { exitCode: 0, statusReason: CONTAINER_EXITED }, 'the retry');
    assert.equal(j.statusReason, CONTAINER_EXITED);
    assert.equal(j.isTerminated, undefined);
    // Once finished there is nothing to reclaim.
    assert.deepEqual((await reclaim(id)).body, { jobId: id, reclaimed: false });
  });

  test('reclaim of a job on an EC2 compute environment → HTTP 400 ClientException; an unknown job → 400', async () => {
    const id = await job('rs-ec2-reclaim', { script: 'exec sleep 30' });
    await waitForStatus(env.client, id, 'RUNNING');
    const res = await reclaim(id);
    assert.equal(res.status, 400);
    assert.equal(res.errorType, 'ClientException');
    assert.equal(res.body.__type, 'ClientException');
    assert.match(String(res.body.message), /only SPOT and FARGATE_SPOT capacity can be reclaimed/);
    assert.equal((await describeJobs(env.client, [id]))[0].status, 'RUNNING', 'the job is left alone');
    const unknown = await reclaim('no-such-job');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.__type, 'ClientException');
    await env.client.send(new TerminateJobCommand({ jobId: id, reason: 'cleanup' }));
    await waitForStatus(env.client, id, 'FAILED');
  });

  test('openbatch:spotInterruptionRate: a SPOT compute environment tagged with a huge rate reclaims a long attempt within seconds, unprompted', async () => {
    const queue = await createSpot('rs-spot-rate-ce', { 'openbatch:spotInterruptionRate': '1000000' });
    const id = await submit(env.client, { jobName: 'rs-spot-rate-job', jobQueue: queue, jobDefinition: 'rs-spot' });
    await waitForStatus(env.client, id, 'RUNNING');
    // The sweep looks every 5 s; at 1,000,000 per attempt-hour the first one takes it.
    const j = await waitFor(
      'the attempt to be reclaimed and the job to finish',
      async () => {
        const [d] = await describeJobs(env.client, [id]);
        return d && (d.status === 'SUCCEEDED' || d.status === 'FAILED') ? d : undefined;
      },
      15_000,
      100,
    );
    assert.equal(j.status, 'SUCCEEDED');
    assert.ok(j.attempts!.length >= 2, 'reclaimed at least once');
    assertAttempt(j.attempts![0], { exitCode: 143, statusReason: HOST_TERMINATED }, 'the reclaimed attempt');
    assertAttempt(j.attempts![j.attempts!.length - 1], { exitCode: 0, statusReason: CONTAINER_EXITED }, 'the last attempt');
  });
});
