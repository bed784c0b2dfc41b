// The metrics module on its own, with a real SQLite store: jobs finished inside a transaction
// count once it commits and not at all if it rolls back (the write batcher retries a failed
// batch's submits one by one); Succeeded/FailedJobCount cover the last minute; units of work.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Arns } from '../../src/core/arn.js';
import type { Job } from '../../src/core/types.js';
import { Metrics } from '../../src/server/metrics.js';
import { Registry } from '../../src/service/registry.js';
import { openStore } from '../../src/store/sql-store.js';
import type { Store } from '../../src/store/store.js';
import { parseExposition, sumOf } from '../helpers/prometheus.js';
import { makeJob } from '../store/store-suite.js';

describe('Metrics', () => {
  let dir: string;
  let store: Store;
  let metrics: Metrics;
  let now = 1_800_000_000_000;

  const scrape = async () => parseExposition((await metrics.render()).body);
  const done = (status: 'SUCCEEDED' | 'FAILED', over: Partial<Job> = {}): Job => ({ ...makeJob({ jobQueue: 'q', status }), ...over });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-metrics-unit-'));
    store = await openStore({ kind: 'sqlite', path: path.join(dir, 'openbatch.db') });
    const registry = new Registry(new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' }));
    metrics = new Metrics({ store, registry, usageOf: () => ({ vcpus: 0, memory: 0, gpus: 0 }), now: () => now });
    metrics.bindTransactions(store);
  });
  after(async () => {
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a rolled-back transaction counts nothing; a committed one counts once, after the commit', async () => {
    await assert.rejects(
      store.transaction(async () => {
        metrics.jobsFinished([done('SUCCEEDED'), done('FAILED')]);
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    let e = await scrape();
    assert.equal(sumOf(e, 'openbatch_jobs_succeeded_total', { job_queue: 'q' }), 0);
    assert.equal(sumOf(e, 'openbatch_jobs_failed_total', { job_queue: 'q' }), 0);
    assert.equal(sumOf(e, 'openbatch_succeeded_jobs_last_minute', { job_queue: 'q' }), 0);

    let insideTx = -1;
    await store.transaction(async () => {
      metrics.jobsFinished([done('SUCCEEDED'), done('FAILED')]);
      // (Not a scrape: that reads the store, which waits for this transaction.)
      const counter = await metrics.registry.getSingleMetricAsString('openbatch_jobs_succeeded_total');
      insideTx = sumOf(parseExposition(counter), 'openbatch_jobs_succeeded_total', { job_queue: 'q' });
    });
    assert.equal(insideTx, 0, 'not before the commit');
    e = await scrape();
    assert.equal(sumOf(e, 'openbatch_jobs_succeeded_total', { job_queue: 'q' }), 1);
    assert.equal(sumOf(e, 'openbatch_jobs_failed_total', { job_queue: 'q' }), 1);
  });

  test('units of work: array children and multi-node jobs count, array parents and nodes do not', async () => {
    const parent = done('SUCCEEDED', { jobQueue: 'u' });
    parent.array = { size: 2, succeeded: 2, failed: 0 };
    const child = done('SUCCEEDED', { jobQueue: 'u', arrayParentId: parent.jobId, arrayIndex: 0 });
    const node = done('FAILED', { jobQueue: 'u', nodeParentId: 'mnp', nodeIndex: 1 });
    await store.transaction(async () => metrics.jobsFinished([child, parent, node, done('FAILED', { jobQueue: 'u' })]));
    const e = await scrape();
    assert.equal(sumOf(e, 'openbatch_jobs_succeeded_total', { job_queue: 'u' }), 1);
    assert.equal(sumOf(e, 'openbatch_jobs_failed_total', { job_queue: 'u' }), 1);
    const array = makeJob({ jobQueue: 'u', status: 'SUBMITTED' });
    array.array = { size: 5, succeeded: 0, failed: 0 };
    metrics.jobSubmitted(array);
    metrics.jobSubmitted(makeJob({ jobQueue: 'u', status: 'SUBMITTED' }));
    assert.equal(sumOf(await scrape(), 'openbatch_jobs_submitted_total', { job_queue: 'u' }), 6);
  });

  test('Succeeded/FailedJobCount: the last minute', async () => {
    now += 120_000; // what came before is out of the window
    await store.transaction(async () => metrics.jobsFinished([done('SUCCEEDED', { jobQueue: 'w' }), done('SUCCEEDED', { jobQueue: 'w' }), done('FAILED', { jobQueue: 'w' })]));
    now += 30_000;
    await store.transaction(async () => metrics.jobsFinished([done('FAILED', { jobQueue: 'w' })]));
    let e = await scrape();
    assert.equal(sumOf(e, 'openbatch_succeeded_jobs_last_minute', { job_queue: 'w' }), 2);
    assert.equal(sumOf(e, 'openbatch_failed_jobs_last_minute', { job_queue: 'w' }), 2);
    now += 40_000; // the first three are 70 s old now
    e = await scrape();
    assert.equal(sumOf(e, 'openbatch_succeeded_jobs_last_minute', { job_queue: 'w' }), 0);
    assert.equal(sumOf(e, 'openbatch_failed_jobs_last_minute', { job_queue: 'w' }), 1);
    assert.equal(sumOf(e, 'openbatch_jobs_failed_total', { job_queue: 'w' }), 2, 'the counter keeps them');
  });

  test('registries are per instance', async () => {
    const registry = new Registry(new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' }));
    const other = new Metrics({ store, registry, usageOf: () => ({ vcpus: 0, memory: 0, gpus: 0 }), now: () => now });
    other.jobSubmitted(makeJob({ jobQueue: 'solo', status: 'SUBMITTED' }));
    assert.equal(sumOf(parseExposition((await other.render()).body), 'openbatch_jobs_submitted_total', { job_queue: 'solo' }), 1);
    assert.equal(sumOf(await scrape(), 'openbatch_jobs_submitted_total', { job_queue: 'solo' }), 0);
  });
});
