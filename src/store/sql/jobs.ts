// The SQL store's job queries: inserting and reading jobs and their attempts, listings, the
// scheduler's view of a queue (runnable heads, usage, counts) and the conditional updates that
// fence every transition. The per-transition hot paths live here: the prepared-by-marker
// statements below, and `updateJob`/`updateAttempt`, which compile one statement per patch shape
// and keep it in the shared cache.

import { sql } from 'kysely';
import type { RunnableJob } from '../../core/scheduler.js';
import type { Attempt, Job, JobStatus, Resources } from '../../core/types.js';
import { param, prepare, preparedQuery } from '../db.js';
import type { AttemptRow, JobRow } from '../schema.js';
import type { AttemptPatch, JobListQuery, JobPatch, JobUpdate } from '../store.js';
import { all, chunks, hydrate, run, type SqlContext } from './context.js';
import { ATTEMPT_PATCH_COLUMNS, PATCH_COLUMNS, attemptToRow, jobToRow, patchValue, rowToAttempt } from './rows.js';

// ---------------------------------------------------------------------------------------------
// Prepared statements for the hot paths

const selectRunnableHeads = preparedQuery((qb) =>
  qb
    .selectFrom('jobs')
    .select(['id', 'seq', 'vcpus', 'memory', 'gpus', 'status_reason'])
    .where('queue', '=', param('queue'))
    .where(sql.ref('status'), '=', sql.lit('RUNNABLE'))
    .orderBy('seq', 'asc')
    .limit(param('limit')),
);

const selectAttempt = preparedQuery((qb) =>
  qb.selectFrom('attempts').selectAll().where('job_id', '=', param('jobId')).where('attempt', '=', param('attempt')),
);

const selectJob = preparedQuery((qb) => qb.selectFrom('jobs').selectAll().where('id', '=', param('id')));

// ---------------------------------------------------------------------------------------------

export async function insertJobs(c: SqlContext, jobs: readonly Job[]): Promise<void> {
  for (const part of chunks(jobs)) {
    await run(c, c.qb.insertInto('jobs').values(part.map(jobToRow)));
  }
}

export async function getJob(c: SqlContext, jobId: string): Promise<Job | undefined> {
  const rows = await c.runner.all<JobRow>(selectJob(c.db).bind({ id: jobId }));
  return rows[0] ? (await hydrate(c, rows))[0] : undefined;
}

export async function getJobs(c: SqlContext, jobIds: readonly string[]): Promise<Job[]> {
  if (jobIds.length === 1) {
    const j = await getJob(c, jobIds[0]);
    return j ? [j] : [];
  }
  const out: Job[] = [];
  for (const part of chunks([...new Set(jobIds)])) {
    const rows = await all<JobRow>(c, c.qb.selectFrom('jobs').selectAll().where('id', 'in', part));
    out.push(...(await hydrate(c, rows)));
  }
  return out;
}

export async function getAttempts(c: SqlContext, jobIds: readonly string[]): Promise<Attempt[]> {
  const out: Attempt[] = [];
  for (const part of chunks([...new Set(jobIds)])) {
    const rows = await all<AttemptRow>(
      c,
      c.qb.selectFrom('attempts').selectAll().where('job_id', 'in', part).orderBy('job_id').orderBy('attempt'),
    );
    for (const r of rows) out.push(rowToAttempt(r));
  }
  return out;
}

export async function getAttempt(c: SqlContext, jobId: string, attempt: number): Promise<Attempt | undefined> {
  const rows = await c.runner.all<AttemptRow>(selectAttempt(c.db).bind({ jobId, attempt }));
  return rows[0] ? rowToAttempt(rows[0]) : undefined;
}

export async function listJobs(c: SqlContext, q: JobListQuery): Promise<Job[]> {
  let query = c.qb.selectFrom('jobs').selectAll();
  // A queue lists its jobs and array parents; children are listed through their parent.
  if (q.jobQueue !== undefined) query = query.where('queue', '=', q.jobQueue).where('array_parent_id', 'is', null).where('node_parent_id', 'is', null);
  if (q.arrayParentId !== undefined) query = query.where('array_parent_id', '=', q.arrayParentId);
  if (q.nodeParentId !== undefined) query = query.where('node_parent_id', '=', q.nodeParentId);
  if (q.statuses !== undefined) {
    query = q.statuses.length === 1 ? query.where('status', '=', q.statuses[0]) : query.where('status', 'in', [...q.statuses]);
  }
  if (q.jobName !== undefined) {
    const lower = q.jobName.toLowerCase();
    if (lower.endsWith('*')) {
      // Escape LIKE wildcards in the prefix itself; job names allow '_' which LIKE treats as a wildcard.
      const prefix = lower.slice(0, -1).replace(/[\\%_]/g, (ch) => '\\' + ch);
      query = query.where(sql<boolean>`lower(name) like ${prefix + '%'} escape '\\'`);
    } else {
      query = query.where(sql<boolean>`lower(name) = ${lower}`);
    }
  }
  if (q.jobDefinitionArnPrefix !== undefined) {
    const prefix = q.jobDefinitionArnPrefix.replace(/[\\%_]/g, (ch) => '\\' + ch);
    query = query.where(sql<boolean>`job_definition like ${prefix + '%'} escape '\\'`);
  }
  if (q.jobDefinitionArn !== undefined) query = query.where('job_definition', '=', q.jobDefinitionArn);
  if (q.createdBefore !== undefined) query = query.where('created_at', '<', q.createdBefore);
  if (q.createdAfter !== undefined) query = query.where('created_at', '>', q.createdAfter);
  if (q.afterSeq !== undefined) query = query.where('seq', q.order === 'asc' ? '>' : '<', q.afterSeq);
  if (q.afterArrayIndex !== undefined) query = query.where('array_index', q.order === 'asc' ? '>' : '<', q.afterArrayIndex);
  query = query.orderBy(q.arrayParentId !== undefined ? 'array_index' : q.nodeParentId !== undefined ? 'node_index' : 'seq', q.order).limit(q.limit);
  const rows = await all<JobRow>(c, query);
  return hydrate(c, rows);
}

export async function runnableHeads(c: SqlContext, jobQueue: string, limit: number): Promise<RunnableJob[]> {
  const rows = await c.runner.all<Pick<JobRow, 'id' | 'seq' | 'vcpus' | 'memory' | 'gpus' | 'status_reason'>>(
    selectRunnableHeads(c.db).bind({ queue: jobQueue, limit }),
  );
  return rows.map((r) => {
    const j: RunnableJob = {
      jobId: r.id,
      seq: Number(r.seq),
      resources: { vcpus: Number(r.vcpus), memory: Number(r.memory), gpus: Number(r.gpus) },
    };
    if (r.status_reason != null) j.statusReason = r.status_reason;
    return j;
  });
}

export async function jobsByStatus(c: SqlContext, statuses: readonly JobStatus[], afterSeq: number, limit: number): Promise<Job[]> {
  const rows = await all<JobRow>(
    c,
    c.qb
      .selectFrom('jobs')
      .selectAll()
      // The partial index jobs_active_seq's own condition, verbatim, so that SQLite uses it.
      .where(sql.ref('status'), 'in', [sql.lit('SUBMITTED'), sql.lit('STARTING'), sql.lit('RUNNING')])
      .where('status', 'in', [...statuses])
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit),
  );
  return hydrate(c, rows);
}

export async function activeUsage(c: SqlContext): Promise<Map<string, Resources>> {
  const rows = await all<{ ce: string | null; vcpus: number; memory: number; gpus: number }>(
    c,
    c.qb
      .selectFrom('jobs')
      .select((eb) => [
        'compute_environment as ce',
        eb.fn.sum<number>('vcpus').as('vcpus'),
        eb.fn.sum<number>('memory').as('memory'),
        eb.fn.sum<number>('gpus').as('gpus'),
      ])
      .where('status', 'in', ['STARTING', 'RUNNING'])
      .groupBy('compute_environment'),
  );
  const out = new Map<string, Resources>();
  for (const r of rows) {
    if (r.ce == null) continue;
    out.set(r.ce, { vcpus: Number(r.vcpus), memory: Number(r.memory), gpus: Number(r.gpus) });
  }
  return out;
}

export async function countJobs(c: SqlContext, jobQueue: string, statuses?: readonly JobStatus[]): Promise<number> {
  let q = c.qb
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('queue', '=', jobQueue);
  if (statuses) q = q.where('status', 'in', [...statuses]);
  const rows = await all<{ n: number }>(c, q);
  return Number(rows[0]?.n ?? 0);
}

export async function maxSeq(c: SqlContext): Promise<number> {
  const rows = await all<{ m: number | null }>(
    c,
    c.qb.selectFrom('jobs').select((eb) => eb.fn.max<number>('seq').as('m')),
  );
  return Number(rows[0]?.m ?? 0);
}

export async function updateJob(c: SqlContext, update: JobUpdate): Promise<boolean> {
  const keys = (Object.keys(update.set) as (keyof JobPatch)[]).filter((k) => update.set[k] !== undefined).sort();
  const signature = keys.join(',') + '|' + update.from.join(',');
  let q = c.shared.updates.get(signature);
  if (!q) {
    const set: Record<string, unknown> = {};
    for (const k of keys) set[PATCH_COLUMNS[k]] = param(k);
    let b = c.qb.updateTable('jobs').set(set).where('id', '=', param('jobId'));
    b = update.from.length === 1 ? b.where('status', '=', param('from0')) : b.where('status', 'in', update.from.map((_, i) => param('from' + i)));
    q = prepare(b.compile());
    c.shared.updates.set(signature, q);
  }
  const values: Record<string, unknown> = { jobId: update.jobId };
  for (const k of keys) values[k] = patchValue(k, update.set[k]);
  update.from.forEach((s, i) => (values['from' + i] = s));
  return (await c.runner.run(q.bind(values))) > 0;
}

export async function insertAttempt(c: SqlContext, attempt: Attempt): Promise<void> {
  await insertAttempts(c, [attempt]);
}

/** Many attempts in a few multi-row INSERTs (a scheduling cycle starts hundreds at once). */
export async function insertAttempts(c: SqlContext, attempts: readonly Attempt[]): Promise<void> {
  for (const part of chunks(attempts)) {
    if (part.length > 0) await run(c, c.qb.insertInto('attempts').values(part.map(attemptToRow)));
  }
}

export async function updateAttempt(c: SqlContext, jobId: string, attempt: number, patch: AttemptPatch): Promise<void> {
  const keys = (Object.keys(patch) as (keyof AttemptPatch)[]).filter((k) => patch[k] !== undefined).sort();
  if (keys.length === 0) return;
  const signature = 'attempt:' + keys.join(',');
  let q = c.shared.updates.get(signature);
  if (!q) {
    const set: Record<string, unknown> = {};
    for (const k of keys) set[ATTEMPT_PATCH_COLUMNS[k]] = param(k);
    q = prepare(
      c.qb.updateTable('attempts').set(set).where('job_id', '=', param('jobId')).where('attempt', '=', param('attempt')).compile(),
    );
    c.shared.updates.set(signature, q);
  }
  const values: Record<string, unknown> = { jobId, attempt };
  for (const k of keys) values[k] = patch[k] ?? null;
  await c.runner.run(q.bind(values));
}
