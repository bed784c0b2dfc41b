// store.jobCountsByQueue() (the metrics endpoint's per-queue job counts) on SQLite and
// PostgreSQL: plain jobs in every state over two queues, an array job (its finished children
// counted from the parent's counters, the others from their rows), a multi-node job and its
// nodes; every count equals what the store's own listings return.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JOB_STATUSES, type Job, type JobStatus } from '../../src/core/types.js';
import { openStore } from '../../src/store/sql-store.js';
import type { Store } from '../../src/store/store.js';
import { freshPostgresDatabase } from '../helpers/server.js';
import { makeJob } from './store-suite.js';

async function listCount(store: Store, q: { jobQueue?: string; arrayParentId?: string; nodeParentId?: string }, status: JobStatus): Promise<number> {
  return (await store.listJobs({ ...q, statuses: [status], order: 'asc', limit: 100_000 })).length;
}

function fixture(): Job[] {
  const jobs: Job[] = [];
  // Plain jobs: queue a gets i+1 jobs in the i-th state, queue b one job in each.
  JOB_STATUSES.forEach((status, i) => {
    for (let n = 0; n <= i; n++) jobs.push(makeJob({ id: `a-${status}-${n}`, jobQueue: 'mq-a', status }));
    jobs.push(makeJob({ id: `b-${status}`, jobQueue: 'mq-b', status }));
  });
  // An array of 6: two children finished (on the parent's counters), four going on.
  const parent = makeJob({ id: 'arr', jobQueue: 'mq-a', status: 'PENDING' });
  parent.array = { size: 6, succeeded: 1, failed: 1 };
  jobs.push(parent);
  const childStates: JobStatus[] = ['SUCCEEDED', 'FAILED', 'RUNNABLE', 'RUNNABLE', 'RUNNING', 'PENDING'];
  childStates.forEach((status, i) => jobs.push({ ...makeJob({ id: `arr:${i}`, jobQueue: 'mq-a', status }), arrayParentId: 'arr', arrayIndex: i }));
  // A finished array in queue b: its children count through its counters only.
  const old = makeJob({ id: 'old', jobQueue: 'mq-b', status: 'FAILED' });
  old.array = { size: 2, succeeded: 1, failed: 1 };
  jobs.push(old, { ...makeJob({ id: 'old:0', jobQueue: 'mq-b', status: 'SUCCEEDED' }), arrayParentId: 'old', arrayIndex: 0 }, { ...makeJob({ id: 'old:1', jobQueue: 'mq-b', status: 'FAILED' }), arrayParentId: 'old', arrayIndex: 1 });
  // A multi-node job RUNNING with two nodes.
  jobs.push(makeJob({ id: 'mnp', jobQueue: 'mq-a', status: 'RUNNING' }));
  for (let n = 0; n < 2; n++) jobs.push({ ...makeJob({ id: `mnp#${n}`, jobQueue: 'mq-a', status: 'RUNNING' }), nodeParentId: 'mnp', nodeIndex: n });
  return jobs;
}

function suite(name: string, open: () => Promise<Store>, cleanup: () => Promise<void>) {
  describe(`store.jobCountsByQueue: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
      await store.transaction((tx) => tx.insertJobs(fixture()));
    });
    after(async () => {
      await store?.close();
      await cleanup();
    });

    test('equals the listings, per queue, state and kind', async () => {
      const counts = await store.jobCountsByQueue();
      const get = (jobQueue: string, status: string, kind: string) => counts.find((c) => c.jobQueue === jobQueue && c.status === status && c.kind === kind)?.count ?? 0;
      assert.ok(counts.every((c) => c.count > 0), 'no zero or negative rows');
      for (const q of ['mq-a', 'mq-b']) {
        for (const status of JOB_STATUSES) {
          assert.equal(get(q, status, 'job') + get(q, status, 'array'), await listCount(store, { jobQueue: q }, status), `${q} ${status}: ListJobs`);
        }
      }
      for (const status of JOB_STATUSES) {
        assert.equal(get('mq-a', status, 'array_child'), await listCount(store, { arrayParentId: 'arr' }, status), `arr's children ${status}`);
        assert.equal(get('mq-b', status, 'array_child'), await listCount(store, { arrayParentId: 'old' }, status), `old's children ${status}`);
        assert.equal(get('mq-a', status, 'node'), await listCount(store, { nodeParentId: 'mnp' }, status), `nodes ${status}`);
      }
      // Spelled out, so that the comparison above cannot pass on two empty sides.
      assert.equal(get('mq-a', 'FAILED', 'job'), 7);
      assert.equal(get('mq-a', 'RUNNING', 'job'), 5 + 1, 'five plain jobs and the multi-node job');
      assert.equal(get('mq-a', 'PENDING', 'array'), 1);
      assert.equal(get('mq-a', 'RUNNABLE', 'array_child'), 2);
      assert.equal(get('mq-a', 'SUCCEEDED', 'array_child'), 1);
      assert.equal(get('mq-a', 'RUNNING', 'node'), 2);
      assert.equal(get('mq-b', 'FAILED', 'array'), 1);
      assert.equal(get('mq-b', 'FAILED', 'array_child'), 1);
    });
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-metrics-store-'));
suite('SQLite', () => openStore({ kind: 'sqlite', path: path.join(dir, 'openbatch.db') }), async () => fs.rmSync(dir, { recursive: true, force: true }));

const pg = await freshPostgresDatabase('metrics');
if ('skip' in pg) {
  process.stderr.write(`SKIPPING the PostgreSQL case: ${pg.skip}\n`);
  test('store.jobCountsByQueue: PostgreSQL', { skip: pg.skip }, () => {});
} else {
  suite('PostgreSQL', () => openStore({ kind: 'postgres', url: pg.url }), () => pg.drop());
}
