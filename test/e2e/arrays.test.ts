// Array jobs end to end (AWS Batch reference §4): children `<parent>:<i>` that see
// AWS_BATCH_JOB_ARRAY_INDEX/SIZE, a parent that never runs itself and reports an exact
// statusSummary, ListJobs by arrayJobId, failure, cancel and terminate cascades, retries per
// child, OpenBatch's `openbatch:maxConcurrency` cap, and a 1,000-child array.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CancelJobCommand, ListJobsCommand, TerminateJobCommand, type JobDetail, type JobStatus, type JobSummary } from '@aws-sdk/client-batch';
import { waitFor, waitForStatus } from '../helpers/server.js';
import {
  assertAttempt,
  assertNeverRan,
  assertNoJobNamed,
  childIds,
  CONTAINER_EXITED,
  describeMany,
  fullSummary,
  Gate,
  GATE_WAIT,
  maxOverlap,
  waitForAll,
} from './job-model-helpers.js';
import {
  collectPages,
  createComputeEnvironmentAndQueue,
  describeJobs,
  expectClientError,
  jobArn,
  listAll,
  queueArn,
  registerDefinition,
  submit,
  useServer,
} from './sdk-helpers.js';

const Q = 'arr-q';
const QUARTER = [
  { type: 'VCPU' as const, value: '0.25' },
  { type: 'MEMORY' as const, value: '16' },
];

const env = useServer(async ({ client }) => {
  // 64 vCPUs of our own: the default compute environment has only the host's CPU count.
  await createComputeEnvironmentAndQueue(client, 'arr-ce', 64, { queueName: Q });
  // A 1-vCPU compute environment, for children that must wait RUNNABLE behind a running sibling.
  await createComputeEnvironmentAndQueue(client, 'arr-one', 1, { queueName: 'arr-one-q' });
  await registerDefinition(client, 'arr-sh', ['sh', '-c', 'eval "$SCRIPT"'], { containerProperties: { image: 'busybox', command: ['sh', '-c', 'eval "$SCRIPT"'], resourceRequirements: QUARTER } });
  await registerDefinition(client, 'arr-true', ['true'], { containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: QUARTER } });
});

/** Submits an array of `arr-sh` running `script` (with extra environment). */
function submitArray(jobName: string, size: number, script: string, extra: { env?: { name: string; value: string }[]; queue?: string; tags?: Record<string, string>; retryStrategy?: { attempts: number } } = {}) {
  return submit(env.client, {
    jobName,
    jobQueue: extra.queue ?? Q,
    jobDefinition: 'arr-sh',
    arrayProperties: { size },
    containerOverrides: { environment: [{ name: 'SCRIPT', value: script }, ...(extra.env ?? [])] },
    ...(extra.tags ? { tags: extra.tags } : {}),
    ...(extra.retryStrategy ? { retryStrategy: extra.retryStrategy } : {}),
  });
}

/** The parent's arrayProperties: size, the exact statusSummary, statusSummaryLastUpdatedAt. */
function assertParentArrayProperties(p: JobDetail, size: number, counts: Partial<Record<JobStatus, number>>): void {
  assert.deepEqual(Object.keys(p.arrayProperties ?? {}).sort(), ['size', 'statusSummary', 'statusSummaryLastUpdatedAt']);
  assert.equal(p.arrayProperties?.size, size);
  assert.deepEqual(p.arrayProperties?.statusSummary, fullSummary(counts));
  const at = p.arrayProperties?.statusSummaryLastUpdatedAt;
  assert.equal(typeof at, 'number');
  assert.ok(at! >= p.createdAt!, `statusSummaryLastUpdatedAt ${at} >= createdAt ${p.createdAt}`);
}

// ---------------------------------------------------------------------------------------------

describe('array jobs', () => {
  test('an array of 5: every child sees its index and the size, ids <parent>:<i>, the parent never runs and ends SUCCEEDED', async () => {
    const N = 5;
    const out = path.join(env.tmp, 'arr-env');
    fs.mkdirSync(out);
    const gate = new Gate(env.tmp, 'arr-env');
    const parent = await submitArray(
      'arr-env',
      N,
      `echo "$AWS_BATCH_JOB_ARRAY_INDEX $AWS_BATCH_JOB_ARRAY_SIZE $AWS_BATCH_JOB_ID" > "$OUT_DIR/$AWS_BATCH_JOB_ARRAY_INDEX"; ${GATE_WAIT}`,
      { env: [{ name: 'OUT_DIR', value: out }, gate.env] },
    );
    const children = childIds(parent, N);

    // Poll the parent (and its children) while the children run: the parent shows only
    // SUBMITTED, PENDING and then its final status.
    const parentSeen = new Set<string>();
    let sawParentPendingWhileChildRan = false;
    const poll = async () => {
      const [p, ...cs] = await describeMany(env.client, [parent, ...children]);
      parentSeen.add(p.status!);
      if (p.status === 'PENDING' && cs.some((c) => c.status === 'RUNNING')) sawParentPendingWhileChildRan = true;
      return { p, cs };
    };
    const running = await waitFor('every child RUNNING', async () => {
      const s = await poll();
      return s.cs.every((c) => c.status === 'RUNNING') ? s : undefined;
    });
    // While they run: the parent is PENDING with a summary of 5 RUNNING children.
    assert.equal(running.p.status, 'PENDING');
    assertParentArrayProperties(running.p, N, { RUNNING: N });
    assert.deepEqual(running.p.attempts, []);
    assert.equal(running.p.startedAt, undefined);
    // ListJobs by arrayJobId, without a status: the RUNNING children.
    assert.deepEqual(
      ((await env.client.send(new ListJobsCommand({ arrayJobId: parent }))).jobSummaryList ?? []).map((s) => s.jobId),
      children,
    );
    // ListJobs by queue, RUNNING: the children are not listed there (nor the PENDING parent).
    assert.deepEqual(((await env.client.send(new ListJobsCommand({ jobQueue: Q }))).jobSummaryList ?? []).filter((s) => s.jobId!.startsWith(parent)), []);
    assert.deepEqual(
      ((await env.client.send(new ListJobsCommand({ jobQueue: Q, jobStatus: 'PENDING' }))).jobSummaryList ?? []).map((s) => s.jobId),
      [parent],
    );

    gate.open();
    const final = await waitFor('the parent to finish', async () => {
      const s = await poll();
      return s.p.status === 'SUCCEEDED' || s.p.status === 'FAILED' ? s : undefined;
    });
    assert.ok(sawParentPendingWhileChildRan);
    assert.deepEqual([...parentSeen].filter((s) => !['SUBMITTED', 'PENDING', 'SUCCEEDED'].includes(s)), [], `parent statuses seen: ${[...parentSeen].join(', ')}`);

    // What every child saw.
    for (let i = 0; i < N; i++) assert.equal(fs.readFileSync(path.join(out, String(i)), 'utf8'), `${i} ${N} ${parent}:${i}\n`);
    assert.deepEqual(fs.readdirSync(out).sort(), ['0', '1', '2', '3', '4']);

    // The parent.
    const p = final.p;
    assert.equal(p.status, 'SUCCEEDED');
    assert.equal(p.statusReason, undefined);
    assert.equal(p.jobArn, jobArn(parent));
    assert.equal(p.jobQueue, queueArn(Q));
    assertParentArrayProperties(p, N, { SUCCEEDED: N });
    assert.deepEqual(p.attempts, [], 'the parent never runs');
    assert.equal(p.startedAt, undefined);
    assert.equal(typeof p.stoppedAt, 'number');

    // The children: ordinary jobs with {index} and one attempt each.
    const cs = await describeMany(env.client, children);
    cs.forEach((c, i) => {
      assert.equal(c.jobId, `${parent}:${i}`);
      assert.equal(c.jobArn, jobArn(`${parent}:${i}`));
      assert.equal(c.jobName, 'arr-env');
      assert.equal(c.status, 'SUCCEEDED');
      assert.equal(c.statusReason, CONTAINER_EXITED);
      assert.deepEqual(c.arrayProperties, { index: i });
      assert.equal(c.attempts?.length, 1);
      assertAttempt(c.attempts![0], { exitCode: 0, statusReason: CONTAINER_EXITED }, `child ${i}`);
      assert.ok(c.stoppedAt! <= p.stoppedAt!, `child ${i} stopped before the parent finished`);
    });
    assert.ok(p.arrayProperties!.statusSummaryLastUpdatedAt! >= Math.max(...cs.map((c) => c.stoppedAt!)), 'the summary was updated when the last child finished');

    // ListJobs: arrayJobId with a status, paginated; not in the queue's listing.
    const succeeded = (await env.client.send(new ListJobsCommand({ arrayJobId: parent, jobStatus: 'SUCCEEDED' }))).jobSummaryList ?? [];
    assert.deepEqual(succeeded.map((s) => s.jobId), children, 'in index order');
    succeeded.forEach((s: JobSummary, i) => {
      assert.equal(s.status, 'SUCCEEDED');
      assert.equal(s.jobArn, jobArn(`${parent}:${i}`));
      assert.equal(s.container?.exitCode, 0);
      assert.deepEqual(s.arrayProperties, { index: i }, 'JobSummary.arrayProperties of a child');
    });
    assert.deepEqual((await env.client.send(new ListJobsCommand({ arrayJobId: jobArn(parent), jobStatus: 'FAILED' }))).jobSummaryList, []);
    const { items, pages } = await collectPages(async (nextToken) => {
      const page = await env.client.send(new ListJobsCommand({ arrayJobId: parent, jobStatus: 'SUCCEEDED', maxResults: 2, nextToken }));
      return { items: page.jobSummaryList, nextToken: page.nextToken };
    }, 2);
    assert.deepEqual(items, succeeded);
    assert.equal(pages, 3);
    const inQueue = await listAll(env.client, { jobQueue: Q, jobStatus: 'SUCCEEDED' });
    assert.ok(inQueue.some((s) => s.jobId === parent), 'the parent is listed by queue');
    assert.deepEqual(inQueue.filter((s) => s.jobId!.includes(':')), [], 'children are not listed by queue');
    const ps = inQueue.find((s) => s.jobId === parent)!;
    assert.equal(ps.arrayProperties?.size, N, 'JobSummary.arrayProperties of a parent');
    assert.deepEqual(ps.arrayProperties?.statusSummary, fullSummary({ SUCCEEDED: N }));
    const byName = (await env.client.send(new ListJobsCommand({ jobQueue: Q, filters: [{ name: 'JOB_NAME', values: ['arr-env'] }] }))).jobSummaryList ?? [];
    assert.deepEqual(byName.map((s) => s.jobId), [parent], 'filters do not list children either');
  });

  test('a failing child: the parent FAILS, the other children SUCCEED, exact summary', async () => {
    const parent = await submitArray('arr-one-fails', 4, '[ "$AWS_BATCH_JOB_ARRAY_INDEX" != 2 ] || exit 5');
    const p = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED']);
    assert.equal(p.status, 'FAILED');
    assert.equal(p.statusReason, '1 of 4 child jobs failed');
    assertParentArrayProperties(p, 4, { SUCCEEDED: 3, FAILED: 1 });
    assert.deepEqual(p.attempts, []);
    const cs = await describeMany(env.client, childIds(parent, 4));
    assert.deepEqual(cs.map((c) => c.status), ['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED']);
    assert.equal(cs[2].statusReason, CONTAINER_EXITED);
    assert.equal(cs[2].container?.exitCode, 5);
    assertAttempt(cs[2].attempts![0], { exitCode: 5, statusReason: CONTAINER_EXITED });
    assert.deepEqual((await listAll(env.client, { arrayJobId: parent, jobStatus: 'FAILED' })).map((s) => s.jobId), [`${parent}:2`]);
  });

  test('CancelJob of a PENDING parent (its dependency still runs) cancels every child; the parent FAILS with the reason', async () => {
    const gate = new Gate(env.tmp, 'arr-cancel-dep');
    const blocker = await submit(env.client, { jobName: 'arr-blocker', jobQueue: Q, jobDefinition: 'arr-sh', containerOverrides: { environment: [{ name: 'SCRIPT', value: GATE_WAIT }, gate.env] } });
    await waitForStatus(env.client, blocker, 'RUNNING');
    const parent = await submit(env.client, { jobName: 'arr-cancelled', jobQueue: Q, jobDefinition: 'arr-true', arrayProperties: { size: 3 }, dependsOn: [{ jobId: blocker }] });
    const children = childIds(parent, 3);
    const pending = await waitForStatus(env.client, parent, 'PENDING');
    assert.equal(pending.statusReason, `DEPENDENCY - waiting for 1 dependency to succeed: ${blocker} (RUNNING)`);
    assertParentArrayProperties(pending, 3, { PENDING: 3 });
    for (const c of await describeMany(env.client, children)) {
      assert.equal(c.status, 'PENDING');
      assert.equal(c.statusReason, `DEPENDENCY - waiting for the dependencies of array job ${parent}`);
    }
    // PENDING children are listed through their parent, not the queue.
    assert.deepEqual((await listAll(env.client, { arrayJobId: parent, jobStatus: 'PENDING' })).map((s) => s.jobId), children);
    assert.deepEqual((await listAll(env.client, { jobQueue: Q, jobStatus: 'PENDING' })).map((s) => s.jobId).filter((id) => id!.startsWith(parent)), [parent]);

    await env.client.send(new CancelJobCommand({ jobId: parent, reason: 'cancel the whole array' }));
    const p = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED']);
    assert.equal(p.status, 'FAILED');
    assert.equal(p.statusReason, 'cancel the whole array');
    assert.equal(p.isCancelled, true);
    assertParentArrayProperties(p, 3, { FAILED: 3 });
    for (const c of await describeMany(env.client, children)) {
      assert.equal(c.status, 'FAILED');
      assert.equal(c.statusReason, 'cancel the whole array');
      assert.equal(c.isCancelled, true);
      assert.equal(c.isTerminated, undefined);
      assertNeverRan(c);
    }

    // The dependency finishing later changes nothing.
    gate.open();
    await waitForStatus(env.client, blocker, 'SUCCEEDED');
    const again = (await describeJobs(env.client, [parent]))[0];
    assert.equal(again.status, 'FAILED');
    assert.equal(again.statusReason, 'cancel the whole array');
    assertParentArrayProperties(again, 3, { FAILED: 3 });
  });

  test('TerminateJob of a parent whose children RUN stops them (exit 143): all FAILED isTerminated, the parent FAILED with the reason', async () => {
    const parent = await submitArray('arr-terminated', 3, 'exec sleep 30');
    const children = childIds(parent, 3);
    await waitForAll(env.client, children, 'RUNNING');
    await env.client.send(new TerminateJobCommand({ jobId: parent, reason: 'terminate the array' }));
    const p = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED']);
    assert.equal(p.status, 'FAILED');
    assert.equal(p.statusReason, 'terminate the array');
    assert.equal(p.isTerminated, true);
    assertParentArrayProperties(p, 3, { FAILED: 3 });
    for (const c of await describeMany(env.client, children)) {
      assert.equal(c.status, 'FAILED');
      assert.equal(c.statusReason, 'terminate the array');
      assert.equal(c.isTerminated, true);
      assert.equal(c.container?.exitCode, 143);
      assert.equal(c.attempts?.length, 1);
      assertAttempt(c.attempts![0], { exitCode: 143, statusReason: 'terminate the array' }, c.jobId);
    }
  });

  test('cancelling one RUNNABLE child fails only that child; the others SUCCEED and the parent ends FAILED', async () => {
    // On a 1-vCPU compute environment: child 0 runs (until the gate opens), 1 and 2 wait RUNNABLE.
    const gate = new Gate(env.tmp, 'arr-cancel-child');
    const parent = await submit(env.client, {
      jobName: 'arr-cancel-one',
      jobQueue: 'arr-one-q',
      jobDefinition: 'arr-sh',
      arrayProperties: { size: 3 },
      containerOverrides: { environment: [{ name: 'SCRIPT', value: GATE_WAIT }, gate.env], resourceRequirements: [{ type: 'VCPU', value: '1' }] },
    });
    const [c0, c1, c2] = childIds(parent, 3);
    await waitForStatus(env.client, c0, 'RUNNING');
    const waiting = await waitForStatus(env.client, c1, 'RUNNABLE');
    assert.match(waiting.statusReason ?? '', /^CAPACITY:/);
    await env.client.send(new CancelJobCommand({ jobId: c1, reason: 'not this one' }));
    const cancelled = await waitForStatus(env.client, c1, 'FAILED');
    assert.equal(cancelled.statusReason, 'not this one');
    assert.equal(cancelled.isCancelled, true);
    assertNeverRan(cancelled);
    // The parent waits for the others.
    const mid = (await describeJobs(env.client, [parent]))[0];
    assert.equal(mid.status, 'PENDING');
    assertParentArrayProperties(mid, 3, { RUNNING: 1, RUNNABLE: 1, FAILED: 1 });
    assert.equal(mid.isCancelled, undefined);

    gate.open();
    const p = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED']);
    assert.equal(p.status, 'FAILED');
    assert.equal(p.statusReason, '1 of 3 child jobs failed');
    assert.equal(p.isCancelled, undefined, 'the parent itself was not cancelled');
    assertParentArrayProperties(p, 3, { SUCCEEDED: 2, FAILED: 1 });
    const [d0, , d2] = await describeMany(env.client, [c0, c1, c2]);
    assert.equal(d0.status, 'SUCCEEDED');
    assert.equal(d2.status, 'SUCCEEDED');
    assert.ok(d2.startedAt! >= d0.stoppedAt!, 'child 2 ran once child 0 freed the vCPU');
  });

  test('CancelJob of a parent with a RUNNING child: the waiting children are cancelled, the running one finishes, then the parent FAILS with the reason', async () => {
    const gate = new Gate(env.tmp, 'arr-cancel-running');
    const parent = await submit(env.client, {
      jobName: 'arr-cancel-while-running',
      jobQueue: 'arr-one-q',
      jobDefinition: 'arr-sh',
      arrayProperties: { size: 3 },
      containerOverrides: { environment: [{ name: 'SCRIPT', value: GATE_WAIT }, gate.env], resourceRequirements: [{ type: 'VCPU', value: '1' }] },
    });
    const [c0, c1, c2] = childIds(parent, 3);
    await waitForStatus(env.client, c0, 'RUNNING');
    await waitForAll(env.client, [c1, c2], 'RUNNABLE');
    await env.client.send(new CancelJobCommand({ jobId: parent, reason: 'cancel with one running' }));
    for (const c of await waitForAll(env.client, [c1, c2], 'FAILED')) {
      assert.equal(c.statusReason, 'cancel with one running');
      assert.equal(c.isCancelled, true);
      assertNeverRan(c);
    }
    // CancelJob does not stop a running child; the parent waits for it.
    const mid = await describeMany(env.client, [parent, c0]);
    assert.equal(mid[0].status, 'PENDING');
    assertParentArrayProperties(mid[0], 3, { RUNNING: 1, FAILED: 2 });
    assert.equal(mid[1].status, 'RUNNING');
    gate.open();
    const p = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED']);
    assert.equal(p.status, 'FAILED');
    assert.equal(p.statusReason, 'cancel with one running');
    assert.equal(p.isCancelled, true);
    assertParentArrayProperties(p, 3, { SUCCEEDED: 1, FAILED: 2 });
    const d0 = (await describeJobs(env.client, [c0]))[0];
    assert.equal(d0.status, 'SUCCEEDED');
    assert.equal(d0.isCancelled, undefined);
    assert.ok(p.stoppedAt! >= d0.stoppedAt!);
  });

  test('CancelJob of a parent whose children all RUN: they run on and SUCCEED, and the parent is still cancelled (FAILED with the reason)', async () => {
    // AWS (CancelJob): "The array parent job is canceled when all child jobs are completed."
    const gate = new Gate(env.tmp, 'arr-cancel-all-running');
    const parent = await submitArray('arr-cancel-all-running', 2, GATE_WAIT, { env: [gate.env] });
    const children = childIds(parent, 2);
    await waitForAll(env.client, children, 'RUNNING');
    await env.client.send(new CancelJobCommand({ jobId: parent, reason: 'cancel after they started' }));
    gate.open();
    const p = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED']);
    for (const c of await describeMany(env.client, children)) {
      assert.equal(c.status, 'SUCCEEDED');
      assert.equal(c.isCancelled, undefined);
    }
    assertParentArrayProperties(p, 2, { SUCCEEDED: 2 });
    assert.equal(p.status, 'FAILED');
    assert.equal(p.statusReason, 'cancel after they started');
    assert.equal(p.isCancelled, true);
  });

  test('openbatch:maxConcurrency 2 on an array of 6: never more than 2 children at once, all SUCCEED; a waiting child says why', async () => {
    const trace = path.join(env.tmp, 'cap-trace');
    const gate = new Gate(env.tmp, 'arr-cap');
    const parent = await submitArray('arr-capped', 6, `echo start >> "$TRACE"; ${GATE_WAIT}; sleep 0.2; echo end >> "$TRACE"`, {
      env: [{ name: 'TRACE', value: trace }, gate.env],
      tags: { 'openbatch:maxConcurrency': '2' },
    });
    const children = childIds(parent, 6);
    // Behind the gate: two children run, the rest wait PENDING for a slot.
    await waitForAll(env.client, children.slice(0, 2), 'RUNNING');
    const [p, ...cs] = await describeMany(env.client, [parent, ...children]);
    assert.deepEqual(cs.map((c) => c.status), ['RUNNING', 'RUNNING', 'PENDING', 'PENDING', 'PENDING', 'PENDING']);
    assertParentArrayProperties(p, 6, { RUNNING: 2, PENDING: 4 });
    assert.deepEqual(p.tags, { 'openbatch:maxConcurrency': '2' });
    assert.match(cs[5].statusReason ?? '', /^CONCURRENCY_LIMIT - .*at most 2 children at once \(openbatch:maxConcurrency\)$/);
    assert.ok(cs[5].statusReason!.includes(parent));

    gate.open();
    const done = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED']);
    assert.equal(done.status, 'SUCCEEDED');
    assertParentArrayProperties(done, 6, { SUCCEEDED: 6 });
    const finished = await describeMany(env.client, children);
    assert.ok(finished.every((c) => c.status === 'SUCCEEDED'));
    // As the server recorded it...
    assert.equal(maxOverlap(finished.map((c) => ({ start: c.startedAt!, stop: c.stoppedAt! }))), 2);
    // ...and as the children saw it.
    let n = 0;
    let max = 0;
    for (const line of fs.readFileSync(trace, 'utf8').trim().split('\n')) {
      n += line === 'start' ? 1 : -1;
      max = Math.max(max, n);
    }
    assert.ok(max <= 2, `${max} children ran at once`);
  });

  test('openbatch:maxConcurrency 1 on an array with a dependency: children run one at a time once it succeeds, a failing child frees its slot, the parent FAILS', async () => {
    const gate = new Gate(env.tmp, 'arr-cap-one');
    const first = await submit(env.client, { jobName: 'arr-cap-one-first', jobQueue: Q, jobDefinition: 'arr-sh', containerOverrides: { environment: [{ name: 'SCRIPT', value: GATE_WAIT }, gate.env] } });
    const parent = await submit(env.client, {
      jobName: 'arr-cap-one',
      jobQueue: Q,
      jobDefinition: 'arr-sh',
      arrayProperties: { size: 4 },
      dependsOn: [{ jobId: first }],
      tags: { 'openbatch:maxConcurrency': '1' },
      containerOverrides: { environment: [{ name: 'SCRIPT', value: 'sleep 0.1; [ "$AWS_BATCH_JOB_ARRAY_INDEX" != 1 ] || exit 6' }] },
    });
    const waiting = await waitForStatus(env.client, parent, 'PENDING');
    assertParentArrayProperties(waiting, 4, { PENDING: 4 });
    assert.match(waiting.statusReason ?? '', /^DEPENDENCY - waiting for 1 dependency to succeed/);
    gate.open();
    const p = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED']);
    const jf = (await describeJobs(env.client, [first]))[0];
    assert.equal(p.status, 'FAILED');
    assert.equal(p.statusReason, '1 of 4 child jobs failed');
    assertParentArrayProperties(p, 4, { SUCCEEDED: 3, FAILED: 1 });
    const cs = await describeMany(env.client, childIds(parent, 4));
    assert.deepEqual(cs.map((c) => c.status), ['SUCCEEDED', 'FAILED', 'SUCCEEDED', 'SUCCEEDED']);
    assert.equal(maxOverlap(cs.map((c) => ({ start: c.startedAt!, stop: c.stoppedAt! }))), 1);
    for (const c of cs) assert.ok(c.startedAt! >= jf.stoppedAt!, `${c.jobId} started before its array's dependency stopped`);
  });

  test('an invalid openbatch:maxConcurrency tag is a ClientException and creates nothing', async () => {
    for (const value of ['0', 'x', '1.5', '-1']) {
      await expectClientError(
        submitArray(`arr-bad-cap`, 3, 'true', { tags: { 'openbatch:maxConcurrency': value } }),
        `tags.openbatch:maxConcurrency: "${value}" is not valid; give how many children may run at once, a whole number from 1`,
      );
    }
    await expectClientError(
      submit(env.client, { jobName: 'arr-bad-cap', jobQueue: Q, jobDefinition: 'arr-true', tags: { 'openbatch:maxConcurrency': '2' } }),
      'tags.openbatch:maxConcurrency only applies to array jobs (arrayProperties.size)',
    );
    await assertNoJobNamed(env.client, Q, 'arr-bad-cap');
  });

  test('retries are per child: a child that fails attempt 1 SUCCEEDS on attempt 2 (AWS_BATCH_JOB_ATTEMPT), the others run once', async () => {
    const trace = path.join(env.tmp, 'arr-retry-trace');
    const parent = await submitArray(
      'arr-retry',
      3,
      'echo "$AWS_BATCH_JOB_ARRAY_INDEX $AWS_BATCH_JOB_ATTEMPT" >> "$TRACE"; if [ "$AWS_BATCH_JOB_ARRAY_INDEX" = 1 ] && [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then exit 9; fi',
      { env: [{ name: 'TRACE', value: trace }], retryStrategy: { attempts: 2 } },
    );
    const p = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED']);
    assert.equal(p.status, 'SUCCEEDED');
    assert.deepEqual(p.retryStrategy, { attempts: 2 });
    assert.deepEqual(p.attempts, []);
    assertParentArrayProperties(p, 3, { SUCCEEDED: 3 });
    const cs = await describeMany(env.client, childIds(parent, 3));
    assert.deepEqual(cs.map((c) => c.attempts?.length), [1, 2, 1]);
    assertAttempt(cs[1].attempts![0], { exitCode: 9, statusReason: CONTAINER_EXITED }, 'child 1 attempt 1');
    assertAttempt(cs[1].attempts![1], { exitCode: 0, statusReason: CONTAINER_EXITED }, 'child 1 attempt 2');
    assert.ok(cs[1].attempts![0].stoppedAt! <= cs[1].attempts![1].startedAt!);
    assert.notEqual(cs[1].attempts![0].container?.logStreamName, cs[1].attempts![1].container?.logStreamName);
    assert.deepEqual(cs[1].retryStrategy, { attempts: 2 });
    assert.deepEqual(fs.readFileSync(trace, 'utf8').trim().split('\n').sort(), ['0 1', '1 1', '1 2', '2 1']);
  });

  test('1,000 children of `true` at 0.25 vCPU on 64 vCPUs complete, with an exact summary', async (t) => {
    const N = 1000;
    const started = Date.now();
    const parent = await submit(env.client, { jobName: 'arr-thousand', jobQueue: Q, jobDefinition: 'arr-true', arrayProperties: { size: N } });
    const p = await waitForStatus(env.client, parent, ['SUCCEEDED', 'FAILED'], 60_000);
    const elapsed = Date.now() - started;
    assert.equal(p.status, 'SUCCEEDED');
    assertParentArrayProperties(p, N, { SUCCEEDED: N });
    const listed = await listAll(env.client, { arrayJobId: parent, jobStatus: 'SUCCEEDED' });
    assert.deepEqual(listed.map((s) => s.jobId), childIds(parent, N));
    assert.ok(listed.every((s) => s.container?.exitCode === 0));
    // Informative: how long the array took on this host.
    t.diagnostic(`1,000 children in ${elapsed} ms`);
  });
});
