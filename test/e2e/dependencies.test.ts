// Job dependencies end to end (AWS Batch reference §3-4): plain dependencies, a dependency on a
// whole array, SEQUENTIAL and N_TO_N between array children, failure cascading as `Dependent Job
// failed`, dependencies that had already finished at submit time, the PENDING job's waiting
// reason, and the SubmitJobs rejected for their dependsOn. Orderings are checked on the
// startedAt/stoppedAt that DescribeJobs reports.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type JobDependency } from '@aws-sdk/client-batch';
import { waitForStatus } from '../helpers/server.js';
import {
  assertAttempt,
  assertNeverRan,
  assertNoJobNamed,
  childIds,
  CONTAINER_EXITED,
  DEPENDENT_FAILED,
  describeMany,
  fullSummary,
  Gate,
  GATE_WAIT,
  waitForAll,
} from './job-model-helpers.js';
import { createComputeEnvironmentAndQueue, describeJobs, expectClientError, registerDefinition, submit, useServer } from './sdk-helpers.js';

const Q = 'dep-q';
const QUARTER = [
  { type: 'VCPU' as const, value: '0.25' },
  { type: 'MEMORY' as const, value: '16' },
];

const env = useServer(async ({ client }) => {
  await createComputeEnvironmentAndQueue(client, 'dep-ce', 16, { queueName: Q });
  await registerDefinition(client, 'dep-sh', [], { containerProperties: { image: 'busybox', command: ['sh', '-c', 'eval "$SCRIPT"'], resourceRequirements: QUARTER } });
});

interface Opts {
  script?: string;
  env?: { name: string; value: string }[];
  dependsOn?: JobDependency[];
  size?: number;
}

/** Submits a job (or an array, with `size`) running `script` (default: exit 0). */
function job(jobName: string, o: Opts = {}): Promise<string> {
  return submit(env.client, {
    jobName,
    jobQueue: Q,
    jobDefinition: 'dep-sh',
    containerOverrides: { environment: [{ name: 'SCRIPT', value: o.script ?? 'true' }, ...(o.env ?? [])] },
    ...(o.dependsOn ? { dependsOn: o.dependsOn } : {}),
    ...(o.size !== undefined ? { arrayProperties: { size: o.size } } : {}),
  });
}

/** Holds the job RUNNING until the gate opens, then runs `then`. */
const gated = (gate: Gate, then = 'true') => ({ script: `${GATE_WAIT}; ${then}`, env: [gate.env] });

const after = (later: { startedAt?: number }, earlier: { stoppedAt?: number }) => {
  assert.equal(typeof later.startedAt, 'number');
  assert.equal(typeof earlier.stoppedAt, 'number');
  return later.startedAt! >= earlier.stoppedAt!;
};

// ---------------------------------------------------------------------------------------------

describe('dependencies', () => {
  test('B depends on A: B waits PENDING (DEPENDENCY reason) and starts after A stopped', async () => {
    const gate = new Gate(env.tmp, 'plain');
    const a = await job('dep-a', gated(gate));
    await waitForStatus(env.client, a, 'RUNNING');
    const b = await job('dep-b', { dependsOn: [{ jobId: a }] });
    const waiting = await waitForStatus(env.client, b, 'PENDING');
    assert.equal(waiting.statusReason, `DEPENDENCY - waiting for 1 dependency to succeed: ${a} (RUNNING)`);
    assert.ok(waiting.statusReason!.startsWith('DEPENDENCY - waiting for'));
    assert.deepEqual(waiting.dependsOn, [{ jobId: a }]);
    assert.deepEqual(waiting.attempts, []);

    gate.open();
    const jb = await waitForStatus(env.client, b, 'SUCCEEDED');
    const [ja] = await describeJobs(env.client, [a]);
    assert.ok(after(jb, ja), `B started ${jb.startedAt} before A stopped ${ja.stoppedAt}`);
    assert.equal(jb.statusReason, CONTAINER_EXITED);
    assert.equal(jb.attempts?.length, 1);
    assertAttempt(jb.attempts![0], { exitCode: 0, statusReason: CONTAINER_EXITED });
  });

  test('a dependency that fails an attempt but SUCCEEDS on its retry: the dependent waits for the retry and runs', async () => {
    const a = await submit(env.client, {
      jobName: 'dep-retried',
      jobQueue: Q,
      jobDefinition: 'dep-sh',
      retryStrategy: { attempts: 2 },
      containerOverrides: { environment: [{ name: 'SCRIPT', value: 'sleep 0.2; [ "$AWS_BATCH_JOB_ATTEMPT" = 2 ] || exit 1' }] },
    });
    const b = await job('dep-on-retried', { dependsOn: [{ jobId: a }] });
    const jb = await waitForStatus(env.client, b, ['SUCCEEDED', 'FAILED']);
    const [ja] = await describeJobs(env.client, [a]);
    assert.equal(ja.status, 'SUCCEEDED');
    assert.deepEqual(ja.attempts?.map((x) => x.container?.exitCode), [1, 0]);
    assert.equal(jb.status, 'SUCCEEDED', `the dependent ended ${jb.status}: ${jb.statusReason}`);
    assert.ok(after(jb, ja.attempts![1]), 'started after the retry stopped');
  });

  test('SEQUENTIAL with a child that succeeds on its retry: the next child waits for the retry', async () => {
    const arr = await submit(env.client, {
      jobName: 'dep-seq-retry',
      jobQueue: Q,
      jobDefinition: 'dep-sh',
      arrayProperties: { size: 3 },
      dependsOn: [{ type: 'SEQUENTIAL' }],
      retryStrategy: { attempts: 2 },
      containerOverrides: { environment: [{ name: 'SCRIPT', value: 'sleep 0.1; [ "$AWS_BATCH_JOB_ARRAY_INDEX" != 0 ] || [ "$AWS_BATCH_JOB_ATTEMPT" = 2 ] || exit 1' }] },
    });
    const p = await waitForStatus(env.client, arr, ['SUCCEEDED', 'FAILED']);
    assert.equal(p.status, 'SUCCEEDED');
    const cs = await describeMany(env.client, childIds(arr, 3));
    assert.deepEqual(cs.map((c) => c.attempts?.length), [2, 1, 1]);
    assert.ok(after(cs[1], cs[0].attempts![1]), 'child 1 started after child 0\'s second attempt stopped');
    assert.ok(after(cs[2], cs[1]));
  });

  test('a dependency on one child of an array (<parent>:<i>) waits for that child only', async () => {
    const gate = new Gate(env.tmp, 'child-dep');
    // Child 0 finishes at once; child 1 waits for the gate.
    const arr = await job('dep-child-arr', { size: 2, script: `[ "$AWS_BATCH_JOB_ARRAY_INDEX" = 0 ] || { ${GATE_WAIT}; }`, env: [gate.env] });
    const d = await job('dep-on-child', { dependsOn: [{ jobId: `${arr}:0` }] });
    const jd = await waitForStatus(env.client, d, 'SUCCEEDED');
    const [c0, c1] = await describeMany(env.client, childIds(arr, 2));
    assert.ok(after(jd, c0));
    assert.equal(c1.status, 'RUNNING', 'the other child still runs');
    gate.open();
    await waitForStatus(env.client, arr, 'SUCCEEDED');
  });

  test('a job depending on a whole array starts after the parent SUCCEEDED, after every child stopped', async () => {
    const arr = await job('dep-whole-arr', { size: 3, script: 'sleep 0.$((AWS_BATCH_JOB_ARRAY_INDEX + 1))' });
    const d = await job('dep-on-arr', { dependsOn: [{ jobId: arr }] });
    const jd = await waitForStatus(env.client, d, 'SUCCEEDED');
    const [p, ...cs] = await describeMany(env.client, [arr, ...childIds(arr, 3)]);
    assert.equal(p.status, 'SUCCEEDED');
    assert.ok(after(jd, p), `started ${jd.startedAt} before the array finished ${p.stoppedAt}`);
    for (const c of cs) assert.ok(after(jd, c), `started before ${c.jobId} stopped`);
  });

  test('SEQUENTIAL within an array: child i+1 starts after child i stopped', async () => {
    const arr = await job('dep-seq', { size: 4, script: 'sleep 0.1', dependsOn: [{ type: 'SEQUENTIAL' }] });
    const p = await waitForStatus(env.client, arr, ['SUCCEEDED', 'FAILED']);
    assert.equal(p.status, 'SUCCEEDED');
    assert.deepEqual(p.dependsOn, [{ type: 'SEQUENTIAL' }]);
    assert.deepEqual(p.arrayProperties?.statusSummary, fullSummary({ SUCCEEDED: 4 }));
    const cs = await describeMany(env.client, childIds(arr, 4));
    for (let i = 1; i < 4; i++) assert.ok(after(cs[i], cs[i - 1]), `child ${i} started ${cs[i].startedAt} before child ${i - 1} stopped ${cs[i - 1].stoppedAt}`);
  });

  test('SEQUENTIAL with a failing child k: children before it SUCCEED, children after it FAIL (Dependent Job failed) without running', async () => {
    const k = 1;
    const arr = await job('dep-seq-fail', { size: 4, script: `[ "$AWS_BATCH_JOB_ARRAY_INDEX" != ${k} ] || exit 3`, dependsOn: [{ type: 'SEQUENTIAL' }] });
    const p = await waitForStatus(env.client, arr, ['SUCCEEDED', 'FAILED']);
    assert.equal(p.status, 'FAILED');
    assert.equal(p.statusReason, '3 of 4 child jobs failed');
    assert.deepEqual(p.arrayProperties?.statusSummary, fullSummary({ SUCCEEDED: 1, FAILED: 3 }));
    const cs = await describeMany(env.client, childIds(arr, 4));
    assert.deepEqual(cs.map((c) => c.status), ['SUCCEEDED', 'FAILED', 'FAILED', 'FAILED']);
    assert.equal(cs[k].statusReason, CONTAINER_EXITED);
    assertAttempt(cs[k].attempts![0], { exitCode: 3, statusReason: CONTAINER_EXITED });
    for (const c of cs.slice(k + 1)) {
      assert.equal(c.statusReason, DEPENDENT_FAILED);
      assertNeverRan(c);
      assert.equal(c.isCancelled, undefined);
    }
  });

  test('N_TO_N: B:i starts after A:i stopped, and B:3 starts before A:0 stopped (pairs, not the whole array)', async () => {
    // A's children finish in reverse order: child i sleeps (4 - i) × 0.4 s.
    const a = await job('dep-nn-a', { size: 4, script: 'case $AWS_BATCH_JOB_ARRAY_INDEX in 0) s=1.6;; 1) s=1.2;; 2) s=0.8;; *) s=0.4;; esac; sleep $s' });
    const b = await job('dep-nn-b', { size: 4, dependsOn: [{ jobId: a, type: 'N_TO_N' }] });
    const pb = await waitForStatus(env.client, b, ['SUCCEEDED', 'FAILED']);
    assert.equal(pb.status, 'SUCCEEDED');
    assert.deepEqual(pb.dependsOn, [{ jobId: a, type: 'N_TO_N' }]);
    const as = await describeMany(env.client, childIds(a, 4));
    const bs = await describeMany(env.client, childIds(b, 4));
    for (let i = 0; i < 4; i++) assert.ok(after(bs[i], as[i]), `B:${i} started ${bs[i].startedAt} before A:${i} stopped ${as[i].stoppedAt}`);
    assert.ok(bs[3].startedAt! < as[0].stoppedAt!, `B:3 started ${bs[3].startedAt}, not before A:0 stopped ${as[0].stoppedAt}`);
  });

  test('N_TO_N with a failing A:k: B:k FAILS (Dependent Job failed) without running, the other pairs SUCCEED', async () => {
    const k = 2;
    const a = await job('dep-nnf-a', { size: 4, script: `[ "$AWS_BATCH_JOB_ARRAY_INDEX" != ${k} ] || exit 4` });
    const b = await job('dep-nnf-b', { size: 4, dependsOn: [{ jobId: a, type: 'N_TO_N' }] });
    const pb = await waitForStatus(env.client, b, ['SUCCEEDED', 'FAILED']);
    assert.equal(pb.status, 'FAILED');
    assert.equal(pb.statusReason, '1 of 4 child jobs failed');
    assert.deepEqual(pb.arrayProperties?.statusSummary, fullSummary({ SUCCEEDED: 3, FAILED: 1 }));
    const pa = (await describeJobs(env.client, [a]))[0];
    assert.equal(pa.status, 'FAILED');
    const as = await describeMany(env.client, childIds(a, 4));
    const bs = await describeMany(env.client, childIds(b, 4));
    assert.deepEqual(as.map((c) => c.status), ['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED']);
    assert.deepEqual(bs.map((c) => c.status), ['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED']);
    assert.equal(bs[k].statusReason, DEPENDENT_FAILED);
    assertNeverRan(bs[k]);
    for (const i of [0, 1, 3]) assert.ok(after(bs[i], as[i]));

    // Submitted once A has finished: C:k fails at once, the other children run.
    const c = await job('dep-nnf-c', { size: 4, dependsOn: [{ jobId: a, type: 'N_TO_N' }] });
    const ck = (await describeJobs(env.client, [`${c}:${k}`]))[0];
    assert.equal(ck.status, 'FAILED');
    assert.equal(ck.statusReason, DEPENDENT_FAILED);
    assertNeverRan(ck);
    const pc = await waitForStatus(env.client, c, ['SUCCEEDED', 'FAILED']);
    assert.equal(pc.status, 'FAILED');
    assert.equal(pc.statusReason, '1 of 4 child jobs failed');
    assert.deepEqual(pc.arrayProperties?.statusSummary, fullSummary({ SUCCEEDED: 3, FAILED: 1 }));
  });

  test('failure cascades: X fails → Y (on X) → Z (on Y) all FAILED with Dependent Job failed; Y and Z never ran', async () => {
    const gate = new Gate(env.tmp, 'cascade');
    const x = await job('dep-x', gated(gate, 'exit 1'));
    const y = await job('dep-y', { dependsOn: [{ jobId: x }] });
    const z = await job('dep-z', { dependsOn: [{ jobId: y }] });
    const wz = await waitForStatus(env.client, z, 'PENDING');
    assert.match(wz.statusReason ?? '', new RegExp(`^DEPENDENCY - waiting for 1 dependency to succeed: ${y} \\(PENDING\\)$`));
    gate.open();
    await waitForStatus(env.client, z, ['SUCCEEDED', 'FAILED']);
    const [jx, jy, jz] = await describeMany(env.client, [x, y, z]);
    assert.equal(jx.status, 'FAILED');
    assert.equal(jx.statusReason, CONTAINER_EXITED);
    assertAttempt(jx.attempts![0], { exitCode: 1, statusReason: CONTAINER_EXITED });
    for (const j of [jy, jz]) {
      assert.equal(j.status, 'FAILED');
      assert.equal(j.statusReason, DEPENDENT_FAILED);
      assertNeverRan(j);
      assert.ok(j.stoppedAt! >= jx.stoppedAt!);
    }
  });

  test('a dependency on an already FAILED job fails the new job at once (an array: every child too)', async () => {
    const x = await job('dep-failed-first', { script: 'exit 2' });
    await waitForStatus(env.client, x, 'FAILED');
    const w = await job('dep-on-failed', { dependsOn: [{ jobId: x }] });
    // No waiting: the first DescribeJobs already shows it.
    const [jw] = await describeJobs(env.client, [w]);
    assert.equal(jw.status, 'FAILED');
    assert.equal(jw.statusReason, DEPENDENT_FAILED);
    assertNeverRan(jw);

    const arr = await job('dep-arr-on-failed', { size: 3, dependsOn: [{ jobId: x }] });
    const [pa, ...cs] = await describeMany(env.client, [arr, ...childIds(arr, 3)]);
    assert.equal(pa.status, 'FAILED');
    assert.equal(pa.statusReason, DEPENDENT_FAILED);
    assert.deepEqual(pa.arrayProperties?.statusSummary, fullSummary({ FAILED: 3 }));
    for (const c of cs) {
      assert.equal(c.status, 'FAILED');
      assert.equal(c.statusReason, DEPENDENT_FAILED);
      assertNeverRan(c);
    }
  });

  test('a dependency on an already SUCCEEDED job runs at once', async () => {
    const s = await job('dep-succeeded-first');
    const js = await waitForStatus(env.client, s, 'SUCCEEDED');
    const t = await job('dep-on-succeeded', { dependsOn: [{ jobId: s }] });
    const jt = await waitForStatus(env.client, t, 'SUCCEEDED');
    assert.deepEqual(jt.dependsOn, [{ jobId: s }]);
    assert.ok(after(jt, js));
  });

  test('rejected at submit with ClientException, creating nothing: unknown job, N_TO_N size mismatch, N_TO_N without arrays, SEQUENTIAL without jobId on a non-array, more than 20', async () => {
    const arr3 = await job('dep-rej-arr3', { size: 3 });
    const arr4 = await job('dep-rej-arr4', { size: 4 });
    const plain = await job('dep-rej-plain');
    const cases: [string, Opts, string | RegExp][] = [
      ['dep-rej-unknown', { dependsOn: [{ jobId: 'no-such-job' }] }, 'dependsOn[0].jobId: job no-such-job does not exist'],
      ['dep-rej-unknown-2', { dependsOn: [{ jobId: plain }, { jobId: '00000000-0000-0000-0000-000000000000' }] }, 'dependsOn[1].jobId: job 00000000-0000-0000-0000-000000000000 does not exist'],
      [
        'dep-rej-mismatch',
        { size: 4, dependsOn: [{ jobId: arr3, type: 'N_TO_N' }] },
        `dependsOn[0].jobId: N_TO_N needs arrays of the same size; job ${arr3} has 3 children and this job 4`,
      ],
      [
        'dep-rej-nn-dep-plain',
        { size: 4, dependsOn: [{ jobId: plain, type: 'N_TO_N' }] },
        `dependsOn[0].jobId: job ${plain} is not an array job, so it cannot be an N_TO_N dependency`,
      ],
      [
        'dep-rej-nn-self-plain',
        { dependsOn: [{ jobId: arr4, type: 'N_TO_N' }] },
        'dependsOn[0]: an N_TO_N dependency pairs the children of two array jobs; this job has no arrayProperties',
      ],
      ['dep-rej-twice', { dependsOn: [{ jobId: plain }, { jobId: plain }] }, `dependsOn[1].jobId: job ${plain} is listed more than once`],
      [
        'dep-rej-seq-plain',
        { dependsOn: [{ type: 'SEQUENTIAL' }] },
        'dependsOn[0]: a SEQUENTIAL dependency without jobId orders the children of an array job; this job has no arrayProperties',
      ],
    ];
    for (const [name, o, message] of cases) {
      await expectClientError(job(name, o), message);
      await assertNoJobNamed(env.client, Q, name);
    }

    // 20 dependencies are allowed, 21 are not.
    const many: string[] = [];
    for (let i = 0; i < 21; i++) many.push(await job(`dep-many-${i}`));
    await waitForAll(env.client, many, 'SUCCEEDED');
    await expectClientError(
      job('dep-rej-21', { dependsOn: many.map((jobId) => ({ jobId })) }),
      'Invalid value for parameter dependsOn: 21 dependencies given; at most 20 are allowed',
    );
    await assertNoJobNamed(env.client, Q, 'dep-rej-21');
    const twenty = await job('dep-20', { dependsOn: many.slice(0, 20).map((jobId) => ({ jobId })) });
    assert.equal((await waitForStatus(env.client, twenty, 'SUCCEEDED')).dependsOn?.length, 20);
    await waitForAll(env.client, [arr3, arr4, plain], 'SUCCEEDED');
  });
});
