// Right-sizing data in the store (migration 0005) on SQLite and PostgreSQL: an attempt's usage is
// written with its end (through finishAttempt's patch, as the runtime does), read back with the
// attempt, and summarised per job definition over its newest attempts (p50/p95, recommendation).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { finishAttempt, isRefusal } from '../../src/core/transitions.js';
import type { Job, JobDefinition } from '../../src/core/types.js';
import { cachedUsageByJobDefinition, jobDefinitionUsage, percentile, summariseUsage, usageByJobDefinition } from '../../src/service/usage.js';
import { openStore } from '../../src/store/sql-store.js';
import type { Store } from '../../src/store/store.js';
import { freshPostgresDatabase } from '../helpers/server.js';
import { makeJob } from './store-suite.js';

function definition(name: string): JobDefinition {
  return {
    jobDefinitionName: name,
    jobDefinitionArn: `arn:aws:batch:us-east-1:000000000000:job-definition/${name}:1`,
    revision: 1,
    status: 'ACTIVE',
    type: 'container',
    containerProperties: { image: 'x', command: ['true'] },
    tags: {},
    extra: {},
    containerOrchestrationType: 'ECS',
    createdAt: 1,
  } as JobDefinition;
}

function jobOf(id: string, defName: string, memory: number): Job {
  const base = makeJob({ id, status: 'RUNNING', attemptCount: 1, computeEnvironment: 'ce' });
  return {
    ...base,
    spec: { ...base.spec, jobDefinitionName: defName, jobDefinitionArn: `arn:aws:batch:us-east-1:000000000000:job-definition/${defName}:1`, resources: { vcpus: 1, memory, gpus: 0 } },
  };
}

/** A running attempt ends with this usage, written as the runtime writes it (finishAttempt's patches). */
async function runAndFinish(store: Store, job: Job, at: number, usage?: { peakMemoryMiB?: number; cpuSeconds?: number }): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.insertJobs([job]);
    await tx.insertAttempt({ jobId: job.jobId, attempt: 1, computeEnvironment: 'ce', taskId: 't-' + job.jobId, logStreamName: `d/default/${job.jobId}`, status: 'RUNNING', startedAt: at - 1000 });
    const outcome = finishAttempt(job, { attempt: 1, at, exitCode: 0, ...(usage ? { usage } : {}) });
    assert.ok(!isRefusal(outcome));
    await tx.updateJob(outcome.update);
    await tx.updateAttempt(job.jobId, 1, outcome.patchAttempt!.patch);
  });
}

function usageSuite(backend: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`attempt usage: ${backend}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await open());
      await store.transaction(async (tx) => {
        await tx.insertJobDefinition(definition('train'));
        await tx.insertJobDefinition(definition('etl'));
        await tx.insertJobDefinition(definition('idle'));
      });
    });
    after(async () => {
      await store.close();
      await cleanup();
    });

    test('usage is written with the attempt\'s end and read back with it', async () => {
      await runAndFinish(store, jobOf('u-1', 'train', 512), 2_000_000, { peakMemoryMiB: 201.5, cpuSeconds: 1.25 });
      const a = await store.getAttempt('u-1', 1);
      assert.equal(a?.status, 'STOPPED');
      assert.equal(a?.peakMemoryMiB, 201.5);
      assert.equal(a?.cpuSeconds, 1.25);
      // Without a measurement: nothing made up, and the attempt stays out of the summaries.
      await runAndFinish(store, jobOf('u-none', 'train', 512), 2_000_001);
      const none = await store.getAttempt('u-none', 1);
      assert.equal(none?.peakMemoryMiB, undefined);
      assert.equal(none?.cpuSeconds, undefined);
      assert.equal((await store.attemptUsage('train', 10)).length, 1);
    });

    test('a definition\'s newest attempts, newest first, bounded; p50/p95 and the recommendation', async () => {
      // 20 attempts of etl: peak 10, 20, ..., 200 MiB; CPU 0.1 .. 2.0 s; the last asked for 256 MiB.
      for (let i = 1; i <= 20; i++) {
        await runAndFinish(store, jobOf(`etl-${i}`, 'etl', i === 20 ? 256 : 1024), 3_000_000 + i, { peakMemoryMiB: i * 10, cpuSeconds: i / 10 });
      }
      const rows = await store.attemptUsage('etl', 5);
      assert.deepEqual(rows.map((r) => r.jobId), ['etl-20', 'etl-19', 'etl-18', 'etl-17', 'etl-16']);
      assert.equal(rows[0].requestedMemoryMiB, 256);
      assert.equal(rows[0].stoppedAt, 3_000_020);

      const all = await jobDefinitionUsage(store, 'etl');
      assert.equal(all.count, 20);
      assert.deepEqual(all.peakMemoryMiB, { count: 20, p50: 100, p95: 190, max: 200 });
      assert.deepEqual(all.cpuSeconds, { count: 20, p50: 1, p95: 1.9, max: 2 });
      assert.equal(all.requestedMemoryMiB, 256);
      assert.equal(all.recommendedMemoryMiB, 228); // ceil(190 × 1.2)
      assert.equal(all.from, 3_000_001);
      assert.equal(all.to, 3_000_020);

      const recent = await jobDefinitionUsage(store, 'etl', 4); // 170..200
      assert.equal(recent.count, 4);
      assert.deepEqual(recent.peakMemoryMiB, { count: 4, p50: 180, p95: 200, max: 200 });
      assert.equal(recent.recommendedMemoryMiB, 240);
    });

    test('usageByJobDefinition: every definition with measured attempts, none without', async () => {
      const list = await usageByJobDefinition(store);
      assert.deepEqual(list.map((u) => [u.jobDefinition, u.count]), [['etl', 20], ['train', 1]]);
      const only = await usageByJobDefinition(store, { names: ['train', 'idle'], window: 10 });
      assert.deepEqual(only.map((u) => u.jobDefinition), ['train']);
      assert.equal(only[0].peakMemoryMiB?.p95, 201.5);
      assert.equal(only[0].recommendedMemoryMiB, 242); // ceil(201.5 × 1.2 = 241.8)
    });

    test('cachedUsageByJobDefinition: one run per ttl, shared by the gauges of one scrape', async () => {
      let t = 0;
      let runs = 0;
      const counting = { ...store, attemptUsage: (n: string, l: number) => (runs++, store.attemptUsage(n, l)), loadJobDefinitions: () => store.loadJobDefinitions() };
      const get = cachedUsageByJobDefinition(counting, { ttlMs: 1000, now: () => t });
      const [a, b] = await Promise.all([get(), get()]);
      assert.equal(a, b);
      const perRun = runs;
      assert.equal(perRun, 3, 'one query per definition name');
      t = 999;
      await get();
      assert.equal(runs, perRun);
      t = 1000;
      assert.deepEqual((await get()).map((u) => u.jobDefinition), ['etl', 'train']);
      assert.equal(runs, 2 * perRun);
    });
  });
}

test('percentile is nearest-rank; a summary without measurements has no recommendation', () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(xs, 0.5), 5);
  assert.equal(percentile(xs, 0.95), 10);
  assert.equal(percentile([7], 0.95), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
  const empty = summariseUsage('x', [], 1000);
  assert.deepEqual(empty, { jobDefinition: 'x', count: 0, window: 1000 });
  const cpuOnly = summariseUsage('x', [{ jobId: 'j', attempt: 1, stoppedAt: 5, cpuSeconds: 2, requestedMemoryMiB: 64 }], 1000);
  assert.equal(cpuOnly.peakMemoryMiB, undefined);
  assert.equal(cpuOnly.recommendedMemoryMiB, undefined);
  assert.deepEqual(cpuOnly.cpuSeconds, { count: 1, p50: 2, p95: 2, max: 2 });
});

usageSuite('SQLite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-usage-'));
  const store = await openStore({ kind: 'sqlite', path: path.join(dir, 'openbatch.db') });
  return { store, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

const pg = await freshPostgresDatabase('usage');
if ('skip' in pg) {
  process.stderr.write(`SKIPPING the PostgreSQL attempt usage tests: ${pg.skip}\n`);
  test('attempt usage: PostgreSQL', { skip: pg.skip }, () => {});
} else {
  usageSuite('PostgreSQL', async () => ({ store: await openStore({ kind: 'postgres', url: pg.url }), cleanup: () => pg.drop() }));
}
