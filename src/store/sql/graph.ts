// The SQL store's queries over the job graph: dependency edges and unmet-dependency counts, array
// jobs (releasing, updating and counting children, the parent's progress counters) and fair share
// (the shares with runnable jobs, each share's heads, the vCPUs each share holds).

import { sql } from 'kysely';
import type { RunnableJob } from '../../core/scheduler.js';
import type { ArrayState, Job, JobStatus } from '../../core/types.js';
import type { JobRow } from '../schema.js';
import type { DependencyEdge, JobPatch } from '../store.js';
import { all, chunks, hydrate, run, type SqlContext } from './context.js';
import { PATCH_COLUMNS, patchValue } from './rows.js';

// ----- dependencies

export async function insertDependencies(c: SqlContext, edges: readonly DependencyEdge[]): Promise<void> {
  for (const part of chunks(edges)) {
    if (part.length === 0) continue;
    await run(c, c.qb.insertInto('job_dependencies').values(part.map((e) => ({ job_id: e.jobId, depends_on: e.dependsOn }))));
    const targets = [...new Set(part.map((e) => e.dependsOn))];
    await run(c, c.qb.updateTable('jobs').set({ has_dependents: 1 }).where('id', 'in', targets));
  }
}

export async function dependentsOf(c: SqlContext, jobIds: readonly string[]): Promise<DependencyEdge[]> {
  const out: DependencyEdge[] = [];
  for (const part of chunks([...new Set(jobIds)])) {
    if (part.length === 0) continue;
    const rows = await all<{ job_id: string; depends_on: string }>(
      c,
      c.qb.selectFrom('job_dependencies').selectAll().where('depends_on', 'in', part),
    );
    for (const r of rows) out.push({ jobId: r.job_id, dependsOn: r.depends_on });
  }
  return out;
}

export async function dependenciesOf(c: SqlContext, jobId: string): Promise<string[]> {
  const rows = await all<{ depends_on: string }>(
    c,
    c.qb.selectFrom('job_dependencies').select('depends_on').where('job_id', '=', jobId).orderBy('depends_on'),
  );
  return rows.map((r) => r.depends_on);
}

export async function decrementUnmetDependencies(c: SqlContext, counts: ReadonlyMap<string, number>) {
  const out: { jobId: string; unmetDependencies: number; status: JobStatus }[] = [];
  for (const [jobId, n] of counts) {
    const rows = await all<{ id: string; unmet_dependencies: number; status: string }>(
      c,
      c.qb
        .updateTable('jobs')
        .set((eb) => ({ unmet_dependencies: eb('unmet_dependencies', '-', n) }))
        .where('id', '=', jobId)
        .returning(['id', 'unmet_dependencies', 'status']),
    );
    for (const r of rows) out.push({ jobId: r.id, unmetDependencies: r.unmet_dependencies, status: r.status as JobStatus });
  }
  return out;
}

// ----- arrays

export async function releaseArrayChildren(c: SqlContext, parentId: string, now: number, limit?: number): Promise<number> {
  let pick = c.qb
    .selectFrom('jobs')
    .select('id')
    .where('array_parent_id', '=', parentId)
    .where('status', '=', 'PENDING')
    .where('unmet_dependencies', '=', 0)
    .orderBy('array_index');
  if (limit !== undefined) pick = pick.limit(limit);
  return run(
    c,
    c.qb
      .updateTable('jobs')
      .set({ status: 'RUNNABLE', status_reason: null, runnable_since: now })
      .where('id', 'in', pick),
  );
}

export async function updateArrayChildren(c: SqlContext, parentId: string, from: readonly JobStatus[], set: JobPatch): Promise<number> {
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(set) as [keyof JobPatch, unknown][]) {
    if (v !== undefined) values[PATCH_COLUMNS[k]] = patchValue(k, v);
  }
  return run(
    c,
    c.qb
      .updateTable('jobs')
      .set(values)
      .where('array_parent_id', '=', parentId)
      .where('status', 'in', [...from]),
  );
}

export async function addArrayProgress(c: SqlContext, parentId: string, succeeded: number, failed: number, now: number): Promise<ArrayState | undefined> {
  const rows = await all<Pick<JobRow, 'array_size' | 'array_succeeded' | 'array_failed' | 'array_summary_updated_at' | 'max_concurrency'>>(
    c,
    c.qb
      .updateTable('jobs')
      .set((eb) => ({
        array_succeeded: eb('array_succeeded', '+', succeeded),
        array_failed: eb('array_failed', '+', failed),
        array_summary_updated_at: now,
      }))
      .where('id', '=', parentId)
      .returning(['array_size', 'array_succeeded', 'array_failed', 'array_summary_updated_at', 'max_concurrency']),
  );
  const r = rows[0];
  if (!r || r.array_size == null) return undefined;
  const a: ArrayState = { size: r.array_size, succeeded: r.array_succeeded, failed: r.array_failed };
  if (r.array_summary_updated_at != null) a.summaryUpdatedAt = Number(r.array_summary_updated_at);
  if (r.max_concurrency != null) a.maxConcurrency = r.max_concurrency;
  return a;
}

export async function arrayChildren(c: SqlContext, parentId: string, statuses: readonly JobStatus[], limit: number): Promise<Job[]> {
  const rows = await all<JobRow>(
    c,
    c.qb
      .selectFrom('jobs')
      .selectAll()
      .where('array_parent_id', '=', parentId)
      .where('status', 'in', [...statuses])
      .orderBy('array_index')
      .limit(limit),
  );
  return hydrate(c, rows);
}

export async function countArrayChildren(c: SqlContext, parentId: string, statuses: readonly JobStatus[]): Promise<number> {
  const rows = await all<{ n: number }>(
    c,
    c.qb
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('array_parent_id', '=', parentId)
      .where('status', 'in', [...statuses]),
  );
  return Number(rows[0]?.n ?? 0);
}

export async function arrayStatusCounts(c: SqlContext, parentIds: readonly string[]): Promise<Map<string, Partial<Record<JobStatus, number>>>> {
  const out = new Map<string, Partial<Record<JobStatus, number>>>();
  for (const part of chunks([...new Set(parentIds)])) {
    if (part.length === 0) continue;
    const rows = await all<{ parent: string; status: string; n: number }>(
      c,
      c.qb
        .selectFrom('jobs')
        .select((eb) => ['array_parent_id as parent', 'status', eb.fn.countAll<number>().as('n')])
        .where('array_parent_id', 'in', part)
        // Finished children are counted on the parent (array_succeeded/array_failed); scanning
        // only the unfinished ones keeps this proportional to what is still going on.
        .where('status', 'in', ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'])
        .groupBy(['array_parent_id', 'status']),
    );
    for (const r of rows) {
      let m = out.get(r.parent);
      if (!m) out.set(r.parent, (m = {}));
      m[r.status as JobStatus] = Number(r.n);
    }
  }
  return out;
}

// ----- fair share

export async function runnableShares(c: SqlContext, jobQueue: string): Promise<string[]> {
  // Distinct values by repeated index seeks (a loose index scan): one seek per share, however
  // many RUNNABLE jobs each has.
  const out: string[] = [];
  let after: string | undefined;
  for (;;) {
    let q = c.qb
      .selectFrom('jobs')
      .select((eb) => eb.fn.min<string>('share_identifier').as('s'))
      .where('queue', '=', jobQueue)
      .where(sql.ref('status'), '=', sql.lit('RUNNABLE'))
      .where('share_identifier', 'is not', null);
    if (after !== undefined) q = q.where('share_identifier', '>', after);
    const rows = await all<{ s: string | null }>(c, q);
    const next = rows[0]?.s;
    if (next == null) return out;
    out.push(next);
    after = next;
  }
}

export async function runnableHeadsForShare(c: SqlContext, jobQueue: string, shareIdentifier: string, limit: number): Promise<RunnableJob[]> {
  const rows = await all<Pick<JobRow, 'id' | 'seq' | 'vcpus' | 'memory' | 'gpus' | 'status_reason' | 'scheduling_priority'>>(
    c,
    c.qb
      .selectFrom('jobs')
      .select(['id', 'seq', 'vcpus', 'memory', 'gpus', 'status_reason', 'scheduling_priority'])
      .where('queue', '=', jobQueue)
      .where(sql.ref('status'), '=', sql.lit('RUNNABLE'))
      .where('share_identifier', '=', shareIdentifier)
      .orderBy('scheduling_priority', 'desc')
      .orderBy('seq', 'asc')
      .limit(limit),
  );
  return rows.map((r) => {
    const j: RunnableJob = {
      jobId: r.id,
      seq: Number(r.seq),
      resources: { vcpus: Number(r.vcpus), memory: Number(r.memory), gpus: Number(r.gpus) },
      schedulingPriority: r.scheduling_priority,
    };
    if (r.status_reason != null) j.statusReason = r.status_reason;
    return j;
  });
}

export async function activeShareUsage(c: SqlContext): Promise<{ jobQueue: string; shareIdentifier: string; vcpus: number }[]> {
  const rows = await all<{ queue: string; share: string; vcpus: number }>(
    c,
    c.qb
      .selectFrom('jobs')
      .select((eb) => ['queue', 'share_identifier as share', eb.fn.sum<number>('vcpus').as('vcpus')])
      .where('status', 'in', ['STARTING', 'RUNNING'])
      .where('share_identifier', 'is not', null)
      .groupBy(['queue', 'share_identifier']),
  );
  return rows.map((r) => ({ jobQueue: r.queue, shareIdentifier: r.share, vcpus: Number(r.vcpus) }));
}
