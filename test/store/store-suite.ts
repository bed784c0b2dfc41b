// The store test suite every backend passes (SQLite and PostgreSQL run the same cases).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.js';
import type { ComputeEnvironment, Job, JobDefinition, JobQueue } from '../../src/core/types.js';

export interface StoreFactory {
  /** A fresh, empty, migrated store. */
  open(): Promise<Store>;
  /** Opens the same database again (a restart), if the backend can. */
  reopen?(): Promise<Store>;
  cleanup?(): Promise<void>;
}

let seq = 0;
export function makeJob(over: Partial<Job> & { id?: string } = {}): Job {
  seq++;
  const id = over.id ?? `job-${seq}`;
  return {
    jobId: id,
    jobName: over.jobName ?? `name_${seq}`,
    jobQueue: over.jobQueue ?? 'q1',
    status: over.status ?? 'RUNNABLE',
    createdAt: over.createdAt ?? 1_700_000_000_000 + seq,
    seq: over.seq ?? seq,
    attemptCount: over.attemptCount ?? 0,
    unmetDependencies: over.unmetDependencies ?? 0,
    schedulingPriority: over.schedulingPriority ?? 0,
    spec: over.spec ?? {
      jobDefinitionArn: 'arn:aws:batch:us-east-1:000000000000:job-definition/def:1',
      jobDefinitionName: 'def',
      container: { image: 'busybox', command: ['true'] },
      command: ['true'],
      environment: [{ name: 'A', value: '1' }],
      resources: { vcpus: 0.5, memory: 256, gpus: 0 },
      parameters: {},
      dependsOn: [],
      tags: {},
    },
    ...(over.computeEnvironment ? { computeEnvironment: over.computeEnvironment } : {}),
    ...(over.statusReason ? { statusReason: over.statusReason } : {}),
  };
}

function ce(name: string): ComputeEnvironment {
  return {
    computeEnvironmentName: name,
    computeEnvironmentArn: `arn:aws:batch:us-east-1:000000000000:compute-environment/${name}`,
    type: 'MANAGED',
    state: 'ENABLED',
    status: 'VALID',
    statusReason: 'ComputeEnvironment Healthy',
    computeResources: { type: 'EC2', maxvCpus: 4 },
    tags: { team: 'a' },
    uuid: 'u-' + name,
    extra: {},
    capacity: { vcpus: 4, memory: 1024, gpus: 0 },
    executor: 'local',
    createdAt: 1,
  };
}

export function runStoreSuite(name: string, factory: StoreFactory): void {
  describe(`store: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await factory.open();
    });
    after(async () => {
      await store.close();
      await factory.cleanup?.();
    });

    test('compute environments, queues and definitions round-trip with their tags', async () => {
      await store.transaction(async (tx) => {
        await tx.insertComputeEnvironment(ce('a'));
        await tx.insertComputeEnvironment(ce('b'));
      });
      const q: JobQueue = {
        jobQueueName: 'q',
        jobQueueArn: 'arn:aws:batch:us-east-1:000000000000:job-queue/q',
        state: 'ENABLED',
        status: 'VALID',
        statusReason: 'JobQueue Healthy',
        priority: 5,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: ce('a').computeEnvironmentArn }],
        tags: {},
        createdAt: 2,
      };
      const def: JobDefinition = {
        jobDefinitionName: 'd',
        jobDefinitionArn: 'arn:aws:batch:us-east-1:000000000000:job-definition/d:1',
        revision: 1,
        status: 'ACTIVE',
        type: 'container',
        containerProperties: { image: 'x', command: ['true'] },
        tags: { k: 'v' },
        extra: {},
        containerOrchestrationType: 'ECS',
        createdAt: 3,
      };
      await store.transaction(async (tx) => {
        await tx.insertJobQueue(q);
        await tx.insertJobDefinition(def);
      });
      const ces = await store.loadComputeEnvironments();
      assert.deepEqual(ces.map((c) => c.computeEnvironmentName), ['a', 'b']);
      assert.deepEqual(ces[0], ce('a'));
      assert.deepEqual(await store.loadJobQueues(), [q]);
      assert.deepEqual(await store.loadJobDefinitions(), [def]);

      await store.transaction(async (tx) => {
        await tx.updateComputeEnvironment({ ...ce('a'), state: 'DISABLED' });
        await tx.updateJobDefinition({ ...def, status: 'INACTIVE' });
        await tx.deleteComputeEnvironment('b');
      });
      const after = await store.loadComputeEnvironments();
      assert.deepEqual(after.map((c) => [c.computeEnvironmentName, c.state]), [['a', 'DISABLED']]);
      assert.equal((await store.loadJobDefinitions())[0].status, 'INACTIVE');
    });

    test('a unique name cannot be inserted twice, and the failed transaction changes nothing', async () => {
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertComputeEnvironment(ce('c'));
          await tx.insertComputeEnvironment(ce('c'));
        }),
      );
      assert.equal((await store.loadComputeEnvironments()).some((c) => c.computeEnvironmentName === 'c'), false);
    });

    test('tags: upsert, delete some, delete all, many at once', async () => {
      const arn = 'arn:aws:batch:us-east-1:000000000000:job/x';
      await store.transaction(async (tx) => {
        await tx.putTags(arn, { a: '1', b: '2' });
        await tx.putTags(arn, { b: '3', c: '4' });
      });
      assert.deepEqual(await store.getTags(arn), { a: '1', b: '3', c: '4' });
      await store.transaction((tx) => tx.deleteTags(arn, ['a', 'nope']));
      assert.deepEqual(await store.getTags(arn), { b: '3', c: '4' });
      const many = await store.getTagsMany([arn, 'arn:other']);
      assert.deepEqual(many.get(arn), { b: '3', c: '4' });
      assert.equal(many.has('arn:other'), false);
      await store.transaction((tx) => tx.deleteAllTags(arn));
      assert.deepEqual(await store.getTags(arn), {});
    });

    test('jobs: bulk insert past one chunk, get, conditional updates fence on status', async () => {
      const jobs = Array.from({ length: 1234 }, (_, i) => makeJob({ id: `bulk-${i}`, jobQueue: 'bulk' }));
      await store.transaction((tx) => tx.insertJobs(jobs));
      const got = await store.getJobs(jobs.map((j) => j.jobId));
      assert.equal(got.length, 1234);
      assert.deepEqual(
        got.find((j) => j.jobId === 'bulk-7'),
        jobs[7],
      );
      assert.equal(await store.maxSeq(), Math.max(...jobs.map((j) => j.seq)));

      const applied = await store.transaction((tx) =>
        tx.updateJob({ jobId: 'bulk-0', from: ['RUNNABLE'], set: { status: 'STARTING', attemptCount: 1, computeEnvironment: 'a', statusReason: null } }),
      );
      assert.equal(applied, true);
      const again = await store.transaction((tx) => tx.updateJob({ jobId: 'bulk-0', from: ['RUNNABLE'], set: { status: 'STARTING', attemptCount: 2 } }));
      assert.equal(again, false, 'a job no longer RUNNABLE is fenced out');
      const j = await store.getJob('bulk-0');
      assert.equal(j?.status, 'STARTING');
      assert.equal(j?.attemptCount, 1);
      assert.equal(j?.computeEnvironment, 'a');
      // null clears, booleans round-trip
      await store.transaction((tx) =>
        tx.updateJob({ jobId: 'bulk-0', from: ['STARTING', 'RUNNING'], set: { stopRequestedReason: 'stop', isTerminated: true, computeEnvironment: null } }),
      );
      const k = await store.getJob('bulk-0');
      assert.equal(k?.stopRequestedReason, 'stop');
      assert.equal(k?.isTerminated, true);
      assert.equal(k?.computeEnvironment, undefined);
      assert.equal(k?.isCancelled, undefined);
    });

    test('a transaction that throws leaves nothing behind', async () => {
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertJobs([makeJob({ id: 'rolled-back' })]);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.getJob('rolled-back'), undefined);
    });

    test('attempts: insert, patch, read in order', async () => {
      await store.transaction(async (tx) => {
        await tx.insertJobs([makeJob({ id: 'att' })]);
        for (const n of [2, 1]) {
          await tx.insertAttempt({ jobId: 'att', attempt: n, computeEnvironment: 'a', taskId: 't' + n, logStreamName: `def/default/t${n}`, status: 'STARTING' });
        }
        await tx.updateAttempt('att', 1, { status: 'STOPPED', startedAt: 10, stoppedAt: 20, exitCode: 3, reason: 'r', statusReason: 's' });
      });
      const list = await store.getAttempts(['att']);
      assert.deepEqual(list.map((a) => a.attempt), [1, 2]);
      assert.deepEqual(list[0], { jobId: 'att', attempt: 1, computeEnvironment: 'a', taskId: 't1', logStreamName: 'def/default/t1', status: 'STOPPED', startedAt: 10, stoppedAt: 20, exitCode: 3, reason: 'r', statusReason: 's' });
      assert.equal((await store.getAttempt('att', 2))?.status, 'STARTING');
      assert.equal(await store.getAttempt('att', 3), undefined);
    });

    test('listJobs: scope, statuses, name filter (case-insensitive prefix, _ literal), definition, time, order, pages', async () => {
      const base = 1_800_000_000_000;
      const defArn = (n: string, r: number) => `arn:aws:batch:us-east-1:000000000000:job-definition/${n}:${r}`;
      const mk = (id: string, name: string, status: Job['status'], t: number, def = defArn('d', 1)) => {
        const j = makeJob({ id, jobName: name, status, jobQueue: 'lq', createdAt: base + t });
        j.spec = { ...j.spec, jobDefinitionArn: def };
        return j;
      };
      await store.transaction((tx) =>
        tx.insertJobs([
          mk('l1', 'Alpha_1', 'RUNNING', 1),
          mk('l2', 'alphaX', 'RUNNING', 2),
          mk('l3', 'beta', 'SUCCEEDED', 3, defArn('d', 2)),
          mk('l4', 'ALPHA_2', 'FAILED', 4, defArn('d', 10)),
          mk('l5', 'gamma', 'RUNNING', 5, defArn('dd', 1)),
        ]),
      );
      const ids = (jobs: Job[]) => jobs.map((j) => j.jobId);
      assert.deepEqual(ids(await store.listJobs({ jobQueue: 'lq', statuses: ['RUNNING'], order: 'asc', limit: 10 })), ['l1', 'l2', 'l5']);
      assert.deepEqual(ids(await store.listJobs({ jobQueue: 'lq', order: 'desc', limit: 10 })), ['l5', 'l4', 'l3', 'l2', 'l1']);
      assert.deepEqual(ids(await store.listJobs({ jobQueue: 'lq', jobName: 'alpha_*', order: 'desc', limit: 10 })), ['l4', 'l1'], '_ is literal, case-insensitive');
      assert.deepEqual(ids(await store.listJobs({ jobQueue: 'lq', jobName: 'ALPHAX', order: 'desc', limit: 10 })), ['l2']);
      assert.deepEqual(ids(await store.listJobs({ jobQueue: 'lq', jobDefinitionArnPrefix: defArn('d', 0).slice(0, -1), order: 'asc', limit: 10 })), ['l1', 'l2', 'l3', 'l4']);
      assert.deepEqual(ids(await store.listJobs({ jobQueue: 'lq', jobDefinitionArn: defArn('d', 1), order: 'asc', limit: 10 })), ['l1', 'l2'], 'revision 1 does not match 10');
      assert.deepEqual(ids(await store.listJobs({ jobQueue: 'lq', createdAfter: base + 2, createdBefore: base + 5, order: 'asc', limit: 10 })), ['l3', 'l4']);
      const page1 = await store.listJobs({ jobQueue: 'lq', order: 'desc', limit: 2 });
      const page2 = await store.listJobs({ jobQueue: 'lq', order: 'desc', limit: 2, afterSeq: page1[1].seq });
      assert.deepEqual(ids([...page1, ...page2]), ['l5', 'l4', 'l3', 'l2']);
      assert.equal(await store.countJobs('lq'), 5);
      assert.equal(await store.countJobs('lq', ['RUNNING', 'FAILED']), 4);
    });

    test('runnableHeads: FIFO by seq, limited, only RUNNABLE, with the stored reason', async () => {
      const jobs = [
        makeJob({ id: 'h3', jobQueue: 'hq', seq: 100_003 }),
        makeJob({ id: 'h1', jobQueue: 'hq', seq: 100_001, statusReason: 'CAPACITY:x' }),
        makeJob({ id: 'h2', jobQueue: 'hq', seq: 100_002, status: 'STARTING' }),
        makeJob({ id: 'h4', jobQueue: 'hq', seq: 100_004 }),
        makeJob({ id: 'other', jobQueue: 'hq2', seq: 100_000 }),
      ];
      await store.transaction((tx) => tx.insertJobs(jobs));
      const heads = await store.runnableHeads('hq', 2);
      assert.deepEqual(heads, [
        { jobId: 'h1', seq: 100_001, resources: { vcpus: 0.5, memory: 256, gpus: 0 }, statusReason: 'CAPACITY:x' },
        { jobId: 'h3', seq: 100_003, resources: { vcpus: 0.5, memory: 256, gpus: 0 } },
      ]);
    });

    test('jobsByStatus pages through; activeUsage sums STARTING and RUNNING per compute environment', async () => {
      const jobs = [
        makeJob({ id: 'u1', status: 'STARTING', computeEnvironment: 'ua', seq: 200_001 }),
        makeJob({ id: 'u2', status: 'RUNNING', computeEnvironment: 'ua', seq: 200_002 }),
        makeJob({ id: 'u3', status: 'RUNNING', computeEnvironment: 'ub', seq: 200_003 }),
        makeJob({ id: 'u4', status: 'SUCCEEDED', computeEnvironment: 'ua', seq: 200_004 }),
      ];
      await store.transaction((tx) => tx.insertJobs(jobs));
      const usage = await store.activeUsage();
      assert.deepEqual(usage.get('ua'), { vcpus: 1, memory: 512, gpus: 0 });
      assert.deepEqual(usage.get('ub'), { vcpus: 0.5, memory: 256, gpus: 0 });
      const first = await store.jobsByStatus(['STARTING', 'RUNNING'], 200_000, 2);
      assert.deepEqual(first.map((j) => j.jobId).filter((id) => id.startsWith('u')), ['u1', 'u2']);
      const rest = await store.jobsByStatus(['STARTING', 'RUNNING'], first[1].seq, 100);
      assert.ok(rest.some((j) => j.jobId === 'u3'));
      assert.ok(!rest.some((j) => j.jobId === 'u4'));
    });

    if (factory.reopen) {
      test('a reopened store has everything, and migrating again is a no-op', async () => {
        await store.transaction((tx) => tx.insertJobs([makeJob({ id: 'durable' })]));
        await store.close();
        store = await factory.reopen!();
        assert.equal((await store.getJob('durable'))?.jobId, 'durable');
        assert.ok((await store.loadComputeEnvironments()).length > 0);
      });
    }
  });
}
