// The SQL store's query for the metrics endpoint: how many jobs of each queue are in each state,
// by kind, in one statement (so that the numbers are one consistent moment) and from indexes:
//
//   top      jobs ListJobs lists for a queue (plain jobs, array parents, multi-node parents) plus
//            multi-node nodes: the partial index jobs_queue_status_seq, index only;
//   array    array parents, with their finished-children counters: jobs_array_parents (0006);
//   node     nodes of multi-node jobs: jobs_node_parent;
//   child    unfinished children of unfinished array parents: one seek per parent and state in
//            jobs_array_parent_status. Finished children are the parents' counters (as for
//            DescribeJobs' statusSummary), so a million finished children cost nothing here.

import { sql } from 'kysely';
import type { JobStatus } from '../../core/types.js';
import { all, type SqlContext } from './context.js';

export type JobKind = 'job' | 'array' | 'array_child' | 'node';

export interface QueueJobCount {
  jobQueue: string;
  status: JobStatus;
  kind: JobKind;
  count: number;
}

const ACTIVE = sql`('SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING')`;

export async function jobCountsByQueue(c: SqlContext): Promise<QueueJobCount[]> {
  const rows = await all<{ queue: string; status: string; part: string; n: number | string; s: number | string | null; f: number | string | null }>(
    c,
    sql`
      SELECT queue, status, 'top' AS part, count(*) AS n, 0 AS s, 0 AS f
        FROM jobs WHERE array_parent_id IS NULL GROUP BY queue, status
      UNION ALL
      SELECT queue, status, 'array' AS part, count(*) AS n, sum(array_succeeded) AS s, sum(array_failed) AS f
        FROM jobs WHERE array_size IS NOT NULL GROUP BY queue, status
      UNION ALL
      SELECT queue, status, 'node' AS part, count(*) AS n, 0 AS s, 0 AS f
        FROM jobs WHERE node_parent_id IS NOT NULL GROUP BY queue, status
      UNION ALL
      SELECT child.queue, child.status, 'child' AS part, count(*) AS n, 0 AS s, 0 AS f
        FROM jobs parent JOIN jobs child ON child.array_parent_id = parent.id
        WHERE parent.array_size IS NOT NULL AND parent.status IN ${ACTIVE}
          AND child.array_parent_id IS NOT NULL AND child.status IN ${ACTIVE}
        GROUP BY child.queue, child.status`.compile(c.qb),
  );
  const counts = new Map<string, QueueJobCount>();
  const add = (jobQueue: string, status: string, kind: JobKind, n: number) => {
    if (n === 0) return;
    const key = `${jobQueue}\0${status}\0${kind}`;
    const e = counts.get(key);
    if (e) e.count += n;
    else counts.set(key, { jobQueue, status: status as JobStatus, kind, count: n });
  };
  for (const r of rows) {
    const n = Number(r.n);
    switch (r.part) {
      case 'top':
        add(r.queue, r.status, 'job', n);
        break;
      case 'array':
        // Parents and nodes were counted with the top-level jobs: move them to their kind.
        add(r.queue, r.status, 'job', -n);
        add(r.queue, r.status, 'array', n);
        add(r.queue, 'SUCCEEDED', 'array_child', Number(r.s ?? 0));
        add(r.queue, 'FAILED', 'array_child', Number(r.f ?? 0));
        break;
      case 'node':
        add(r.queue, r.status, 'job', -n);
        add(r.queue, r.status, 'node', n);
        break;
      case 'child':
        add(r.queue, r.status, 'array_child', n);
        break;
    }
  }
  return [...counts.values()].filter((e) => e.count !== 0);
}
