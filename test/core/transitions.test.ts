// The job state machine: each verb's allowed states, what it writes, and what it refuses.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyPatch,
  cancelJob,
  evaluateSubmitted,
  finishAttempt,
  isRefusal,
  moveToRunning,
  moveToStarting,
  terminateJob,
  type AttemptExit,
  type Outcome,
  type Transition,
} from '../../src/core/transitions.js';
import { JOB_STATUSES, type Job, type JobStatus, type RetryStrategy } from '../../src/core/types.js';

function job(status: JobStatus, over: Partial<Job> = {}, retryStrategy?: RetryStrategy): Job {
  return {
    jobId: 'j',
    jobName: 'n',
    jobQueue: 'q',
    status,
    createdAt: 1,
    seq: 1,
    attemptCount: status === 'STARTING' || status === 'RUNNING' ? 1 : 0,
    unmetDependencies: 0,
    schedulingPriority: 0,
    spec: {
      jobDefinitionArn: 'arn',
      jobDefinitionName: 'd',
      container: {},
      command: ['true'],
      environment: [],
      resources: { vcpus: 1, memory: 1, gpus: 0 },
      parameters: {},
      dependsOn: [],
      tags: {},
      ...(retryStrategy ? { retryStrategy } : {}),
    },
    ...over,
  };
}

function ok(o: Outcome): Transition {
  assert.ok(!isRefusal(o), `refused: ${JSON.stringify(o)}`);
  return o as Transition;
}

describe('verbs apply only in their states', () => {
  const cases: { verb: string; run: (j: Job) => Outcome; allowed: JobStatus[] }[] = [
    { verb: 'evaluateSubmitted', run: (j) => evaluateSubmitted(j, 5), allowed: ['SUBMITTED'] },
    { verb: 'moveToStarting', run: (j) => moveToStarting(j, { computeEnvironment: 'ce', taskId: 't', logStreamName: 's' }, 5), allowed: ['RUNNABLE'] },
    { verb: 'moveToRunning', run: (j) => moveToRunning(j, 1, 5), allowed: ['STARTING'] },
    { verb: 'finishAttempt', run: (j) => finishAttempt(j, { attempt: 1, at: 5, exitCode: 0 }), allowed: ['STARTING', 'RUNNING'] },
    { verb: 'cancelJob', run: (j) => cancelJob(j, 'r', 5), allowed: ['SUBMITTED', 'PENDING', 'RUNNABLE'] },
    { verb: 'terminateJob', run: (j) => terminateJob(j, 'r', 5), allowed: ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'] },
  ];
  for (const c of cases) {
    for (const s of JOB_STATUSES) {
      test(`${c.verb} on ${s} is ${c.allowed.includes(s) ? 'applied' : 'refused'}`, () => {
        const o = c.run(job(s));
        assert.equal(isRefusal(o), !c.allowed.includes(s));
        if (!isRefusal(o)) assert.ok(o.update.from.includes(s), 'the update is fenced on the current state');
      });
    }
  }
});

describe('the path of a job', () => {
  test('SUBMITTED passes PENDING on its way to RUNNABLE', () => {
    const t = ok(evaluateSubmitted(job('SUBMITTED'), 5));
    assert.equal(t.update.set.status, 'RUNNABLE');
    assert.deepEqual(t.changes.map((c) => c.status), ['PENDING', 'RUNNABLE']);
  });

  test('placing starts attempt n+1 and clears the waiting reason', () => {
    const t = ok(moveToStarting(job('RUNNABLE', { attemptCount: 2, statusReason: 'CAPACITY:...' }), { computeEnvironment: 'ce', taskId: 't', logStreamName: 'd/default/t' }, 5));
    assert.deepEqual(t.update.set, { status: 'STARTING', statusReason: null, attemptCount: 3, computeEnvironment: 'ce' });
    assert.equal(t.insertAttempt?.attempt, 3);
    assert.equal(t.insertAttempt?.status, 'STARTING');
  });

  test('RUNNING records startedAt on job and attempt; a stale attempt number is refused', () => {
    const t = ok(moveToRunning(job('STARTING'), 1, 7));
    assert.deepEqual(t.update.set, { status: 'RUNNING', startedAt: 7 });
    assert.deepEqual(t.patchAttempt, { attempt: 1, patch: { status: 'RUNNING', startedAt: 7 } });
    assert.ok(isRefusal(moveToRunning(job('STARTING'), 2, 7)));
  });
});

describe('finishAttempt', () => {
  type Row = { name: string; job: Job; exit: Partial<AttemptExit>; wantStatus: JobStatus; wantReason?: string; wantChanges: JobStatus[] };
  const retry3: RetryStrategy = { attempts: 3 };
  const rows: Row[] = [
    { name: 'exit 0 succeeds', job: job('RUNNING'), exit: { exitCode: 0 }, wantStatus: 'SUCCEEDED', wantReason: 'Essential container in task exited', wantChanges: ['SUCCEEDED'] },
    { name: 'exit 1 without a retry strategy fails', job: job('RUNNING'), exit: { exitCode: 1 }, wantStatus: 'FAILED', wantReason: 'Essential container in task exited', wantChanges: ['FAILED'] },
    { name: 'exit 1 with attempts left is retried', job: job('RUNNING', {}, retry3), exit: { exitCode: 1 }, wantStatus: 'RUNNABLE', wantChanges: ['RUNNABLE'] },
    { name: 'the last attempt fails', job: job('RUNNING', { attemptCount: 3 }, retry3), exit: { attempt: 3, exitCode: 1 }, wantStatus: 'FAILED', wantReason: 'Essential container in task exited', wantChanges: ['FAILED'] },
    {
      name: 'an EXIT rule on the exit code stops retrying',
      job: job('RUNNING', {}, { attempts: 3, evaluateOnExit: [{ onExitCode: '1', action: 'exit' }] }),
      exit: { exitCode: 1 },
      wantStatus: 'FAILED',
      wantReason: 'Essential container in task exited',
      wantChanges: ['FAILED'],
    },
    { name: 'a terminated attempt fails with the terminate reason, never retried', job: job('RUNNING', { stopRequestedReason: 'stop it' }, retry3), exit: { exitCode: 143 }, wantStatus: 'FAILED', wantReason: 'stop it', wantChanges: ['FAILED'] },
    { name: 'terminated even if the command exited 0 on SIGTERM', job: job('RUNNING', { stopRequestedReason: 'stop it' }), exit: { exitCode: 0 }, wantStatus: 'FAILED', wantReason: 'stop it', wantChanges: ['FAILED'] },
    { name: 'a timed-out attempt is not retried', job: job('RUNNING', {}, retry3), exit: { exitCode: 137, timedOut: true }, wantStatus: 'FAILED', wantReason: 'Job attempt duration exceeded timeout', wantChanges: ['FAILED'] },
    { name: 'a lost attempt fails with the host-lost reason', job: job('RUNNING'), exit: { lost: true, host: 'h1' }, wantStatus: 'FAILED', wantReason: 'Host EC2 (instance h1) terminated.', wantChanges: ['FAILED'] },
    {
      name: "a lost attempt matches the guide's `Host EC2*` rule and is retried",
      job: job('RUNNING', {}, { attempts: 2, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] }),
      exit: { lost: true, host: 'h1' },
      wantStatus: 'RUNNABLE',
      wantChanges: ['RUNNABLE'],
    },
    { name: 'a start failure fails the attempt as "Task failed to start"', job: job('STARTING'), exit: { neverStarted: true, reason: 'CannotStartContainerError: x' }, wantStatus: 'FAILED', wantReason: 'Task failed to start', wantChanges: ['FAILED'] },
    { name: 'an exit that overtakes its RUNNING report passes through RUNNING', job: job('STARTING'), exit: { exitCode: 0 }, wantStatus: 'SUCCEEDED', wantReason: 'Essential container in task exited', wantChanges: ['RUNNING', 'SUCCEEDED'] },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const t = ok(finishAttempt(r.job, { attempt: r.job.attemptCount, at: 9, ...r.exit }));
      assert.equal(t.update.set.status, r.wantStatus);
      assert.deepEqual(t.changes.map((c) => c.status), r.wantChanges);
      const after = applyPatch(r.job, t.update.set);
      if (r.wantStatus === 'RUNNABLE') {
        assert.equal(after.statusReason, undefined);
        assert.equal(after.stoppedAt, undefined);
      } else {
        assert.equal(after.statusReason, r.wantReason);
        assert.equal(after.stoppedAt, 9);
      }
      assert.equal(t.patchAttempt?.patch.status, 'STOPPED');
      assert.equal(t.patchAttempt?.patch.exitCode, r.exit.exitCode ?? null);
    });
  }

  test('an exit for another attempt than the current one is refused', () => {
    assert.ok(isRefusal(finishAttempt(job('RUNNING', { attemptCount: 2 }), { attempt: 1, at: 1, exitCode: 0 })));
  });
});

describe('cancel and terminate', () => {
  test('CancelJob fails a waiting job with the reason and isCancelled', () => {
    const t = ok(cancelJob(job('RUNNABLE'), 'no longer needed', 4));
    assert.deepEqual(t.update.set, { status: 'FAILED', statusReason: 'no longer needed', stoppedAt: 4, isCancelled: true });
  });
  test('TerminateJob on a RUNNING job asks the executor to stop the current attempt and changes no status yet', () => {
    const t = ok(terminateJob(job('RUNNING', { attemptCount: 2 }), 'enough', 4));
    assert.deepEqual(t.update.set, { stopRequestedReason: 'enough', stopCause: 'TERMINATED', isTerminated: true });
    assert.equal(t.stopAttempt, 2);
    assert.deepEqual(t.changes, []);
  });
  test('TerminateJob on a RUNNABLE job cancels it with isTerminated', () => {
    const t = ok(terminateJob(job('RUNNABLE'), 'enough', 4));
    assert.equal(t.update.set.status, 'FAILED');
    assert.equal(t.update.set.isTerminated, true);
    assert.equal(t.stopAttempt, undefined);
  });
});
