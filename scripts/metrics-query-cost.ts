// How long the metrics endpoint's per-queue job count (store.jobCountsByQueue) takes on a big
// SQLite store: N plain jobs over a few queues in every state, M array jobs of S children (most
// finished), a few multi-node jobs. Rows are written straight into a fresh store's tables.
//
//   node --import tsx scripts/metrics-query-cost.ts [plainJobs=150000] [arrays=50] [arraySize=2000]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../src/store/sql-store.js';

const [plain = 150_000, arrays = 50, size = 2000] = process.argv.slice(2).map(Number);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-metrics-cost-'));
const file = path.join(dir, 'openbatch.db');
await (await openStore({ kind: 'sqlite', path: file })).close();

const db = new Database(file);
const insert = db.prepare(
  `INSERT INTO jobs (id, seq, name, queue, status, created_at, stopped_at, job_definition, vcpus, memory, gpus, spec, array_parent_id, array_index, array_size, array_succeeded, array_failed, node_parent_id, node_index)
   VALUES (@id, @seq, 'j', @queue, @status, 0, NULL, 'def', 1, 16, 0, @spec, @parent, @index, @size, @s, @f, @node, @nodeIndex)`,
);
const STATUSES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];
let seq = 0;
const row = (o: Record<string, unknown>) => ({ spec: '{}', parent: null, index: null, size: null, s: 0, f: 0, node: null, nodeIndex: null, ...o, seq: ++seq });
db.transaction(() => {
  for (let i = 0; i < plain; i++) {
    // Mostly finished, as a store that has run for a while.
    const status = i % 10 < 7 ? 'SUCCEEDED' : STATUSES[i % 7];
    insert.run(row({ id: `p${i}`, queue: `q${i % 5}`, status }));
  }
  for (let a = 0; a < arrays; a++) {
    const active = a % 5 === 0;
    const done = active ? size / 2 : size;
    insert.run(row({ id: `a${a}`, queue: `q${a % 5}`, status: active ? 'PENDING' : 'SUCCEEDED', spec: '{}', size, s: done, f: 0 }));
    for (let i = 0; i < size; i++) {
      insert.run(row({ id: `a${a}:${i}`, queue: `q${a % 5}`, status: i < done ? 'SUCCEEDED' : i % 2 ? 'RUNNABLE' : 'RUNNING', spec: '', parent: `a${a}`, index: i }));
    }
  }
  for (let m = 0; m < 20; m++) {
    insert.run(row({ id: `m${m}`, queue: 'q0', status: 'RUNNING' }));
    for (let n = 0; n < 4; n++) insert.run(row({ id: `m${m}#${n}`, queue: 'q0', status: 'RUNNING', node: `m${m}`, nodeIndex: n }));
  }
})();
db.exec('ANALYZE');
db.close();
console.log(`${seq} jobs (${plain} plain, ${arrays} arrays of ${size}, 20 multi-node jobs of 4 nodes) in ${file}`);

const store = await openStore({ kind: 'sqlite', path: file });
const time = async (label: string) => {
  await store.jobCountsByQueue();
  const runs = 20;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await store.jobCountsByQueue();
  console.log(`${label}: ${(Number(process.hrtime.bigint() - t0) / 1e6 / runs).toFixed(2)} ms per scrape`);
};
await time('jobCountsByQueue');
await store.close();

const raw = new Database(file);
const plan = raw.prepare(`EXPLAIN QUERY PLAN
  SELECT queue, status, 'top' AS part, count(*) AS n, 0 AS s, 0 AS f FROM jobs WHERE array_parent_id IS NULL GROUP BY queue, status
  UNION ALL SELECT queue, status, 'array', count(*), sum(array_succeeded), sum(array_failed) FROM jobs WHERE array_size IS NOT NULL GROUP BY queue, status
  UNION ALL SELECT queue, status, 'node', count(*), 0, 0 FROM jobs WHERE node_parent_id IS NOT NULL GROUP BY queue, status
  UNION ALL SELECT child.queue, child.status, 'child', count(*), 0, 0 FROM jobs parent JOIN jobs child ON child.array_parent_id = parent.id
    WHERE parent.array_size IS NOT NULL AND parent.status IN ('SUBMITTED','PENDING','RUNNABLE','STARTING','RUNNING')
      AND child.array_parent_id IS NOT NULL AND child.status IN ('SUBMITTED','PENDING','RUNNABLE','STARTING','RUNNING')
    GROUP BY child.queue, child.status`).all() as { detail: string }[];
for (const p of plan) console.log('  plan:', p.detail);
raw.exec('DROP INDEX jobs_array_parents');
raw.close();
const without = await openStore({ kind: 'sqlite', path: file });
const t0 = process.hrtime.bigint();
for (let i = 0; i < 20; i++) await without.jobCountsByQueue();
console.log(`without the 0006 index: ${(Number(process.hrtime.bigint() - t0) / 1e6 / 20).toFixed(2)} ms per scrape`);
await without.close();
fs.rmSync(dir, { recursive: true, force: true });
