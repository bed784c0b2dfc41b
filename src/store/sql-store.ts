// The Store on SQL: one code path for SQLite and PostgreSQL. Queries are built with Kysely and
// executed through db.ts; the per-transition hot paths use prepared-by-marker statements.

import { sql, type Kysely } from 'kysely';
import type { RunnableJob } from '../core/scheduler.js';
import type {
  Attempt,
  ComputeEnvironment,
  Job,
  JobDefinition,
  JobQueue,
  JobSpec,
  ArrayState,
  JobStatus,
  Resources,
  SchedulingPolicy,
  StopCause,
  Tags,
} from '../core/types.js';
import { openDatabase, param, prepare, preparedQuery, type DatabaseConfig, type PreparedQuery, type SqlDatabase, type SqlRunner, type Statement } from './db.js';
import type { AttemptRow, JobRow, Schema } from './schema.js';
import type { AttemptPatch, DependencyEdge, JobListQuery, JobPatch, JobUpdate, Store, StoreTx } from './store.js';

/** Rows per multi-row INSERT and ids per IN list: well under both backends' parameter limits. */
const CHUNK = 500;

export async function openStore(config: DatabaseConfig): Promise<Store> {
  const db = await openDatabase(config);
  try {
    await db.migrate();
  } catch (e) {
    await db.close();
    throw e;
  }
  return new SqlStore(db);
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Row mapping

function jobToRow(job: Job): JobRow {
  const child = job.arrayParentId !== undefined;
  return {
    id: job.jobId,
    seq: job.seq,
    name: job.jobName,
    queue: job.jobQueue,
    status: job.status,
    status_reason: job.statusReason ?? null,
    created_at: job.createdAt,
    started_at: job.startedAt ?? null,
    stopped_at: job.stoppedAt ?? null,
    job_definition: job.spec.jobDefinitionArn,
    vcpus: job.spec.resources.vcpus,
    memory: job.spec.resources.memory,
    gpus: job.spec.resources.gpus,
    attempt_count: job.attemptCount,
    compute_environment: job.computeEnvironment ?? null,
    is_cancelled: job.isCancelled ? 1 : 0,
    is_terminated: job.isTerminated ? 1 : 0,
    stop_reason: job.stopRequestedReason ?? null,
    array_parent_id: job.arrayParentId ?? null,
    array_index: job.arrayIndex ?? null,
    // Children share their parent's spec: a 10,000-child array stores it once.
    spec: child ? '' : JSON.stringify(job.spec),
    unmet_dependencies: job.unmetDependencies,
    has_dependents: job.hasDependents ? 1 : 0,
    runnable_since: job.runnableSince ?? null,
    stop_cause: job.stopCause ?? null,
    share_identifier: job.shareIdentifier ?? null,
    scheduling_priority: job.schedulingPriority,
    array_size: job.array?.size ?? null,
    array_succeeded: job.array?.succeeded ?? 0,
    array_failed: job.array?.failed ?? 0,
    array_summary_updated_at: job.array?.summaryUpdatedAt ?? null,
    max_concurrency: job.array?.maxConcurrency ?? null,
  };
}

function rowToJob(r: JobRow, spec: JobSpec): Job {
  const job: Job = {
    jobId: r.id,
    jobName: r.name,
    jobQueue: r.queue,
    status: r.status as JobStatus,
    createdAt: Number(r.created_at),
    seq: Number(r.seq),
    spec,
    attemptCount: r.attempt_count,
    unmetDependencies: r.unmet_dependencies,
    schedulingPriority: r.scheduling_priority,
  };
  if (r.status_reason != null) job.statusReason = r.status_reason;
  if (r.started_at != null) job.startedAt = Number(r.started_at);
  if (r.stopped_at != null) job.stoppedAt = Number(r.stopped_at);
  if (r.compute_environment != null) job.computeEnvironment = r.compute_environment;
  if (r.is_cancelled) job.isCancelled = true;
  if (r.is_terminated) job.isTerminated = true;
  if (r.stop_reason != null) job.stopRequestedReason = r.stop_reason;
  if (r.stop_cause != null) job.stopCause = r.stop_cause as StopCause;
  if (r.has_dependents) job.hasDependents = true;
  if (r.runnable_since != null) job.runnableSince = Number(r.runnable_since);
  if (r.share_identifier != null) job.shareIdentifier = r.share_identifier;
  if (r.array_parent_id != null) {
    job.arrayParentId = r.array_parent_id;
    job.arrayIndex = r.array_index ?? 0;
  }
  if (r.array_size != null) {
    const array: ArrayState = { size: r.array_size, succeeded: r.array_succeeded, failed: r.array_failed };
    if (r.array_summary_updated_at != null) array.summaryUpdatedAt = Number(r.array_summary_updated_at);
    if (r.max_concurrency != null) array.maxConcurrency = r.max_concurrency;
    job.array = array;
  }
  return job;
}

const PATCH_COLUMNS: Record<keyof JobPatch, keyof JobRow> = {
  status: 'status',
  statusReason: 'status_reason',
  startedAt: 'started_at',
  stoppedAt: 'stopped_at',
  attemptCount: 'attempt_count',
  computeEnvironment: 'compute_environment',
  isCancelled: 'is_cancelled',
  isTerminated: 'is_terminated',
  stopRequestedReason: 'stop_reason',
  stopCause: 'stop_cause',
  unmetDependencies: 'unmet_dependencies',
  hasDependents: 'has_dependents',
  runnableSince: 'runnable_since',
};

function patchValue(key: keyof JobPatch, v: unknown): unknown {
  if (key === 'isCancelled' || key === 'isTerminated' || key === 'hasDependents') return v ? 1 : 0;
  return v ?? null;
}

function attemptToRow(a: Attempt): AttemptRow {
  return {
    job_id: a.jobId,
    attempt: a.attempt,
    compute_environment: a.computeEnvironment,
    task_id: a.taskId,
    log_stream_name: a.logStreamName,
    status: a.status,
    started_at: a.startedAt ?? null,
    stopped_at: a.stoppedAt ?? null,
    exit_code: a.exitCode ?? null,
    reason: a.reason ?? null,
    status_reason: a.statusReason ?? null,
  };
}

function rowToAttempt(r: AttemptRow): Attempt {
  const a: Attempt = {
    jobId: r.job_id,
    attempt: r.attempt,
    computeEnvironment: r.compute_environment,
    taskId: r.task_id,
    logStreamName: r.log_stream_name,
    status: r.status as Attempt['status'],
  };
  if (r.started_at != null) a.startedAt = Number(r.started_at);
  if (r.stopped_at != null) a.stoppedAt = Number(r.stopped_at);
  if (r.exit_code != null) a.exitCode = r.exit_code;
  if (r.reason != null) a.reason = r.reason;
  if (r.status_reason != null) a.statusReason = r.status_reason;
  return a;
}

const ATTEMPT_PATCH_COLUMNS: Record<keyof AttemptPatch, keyof AttemptRow> = {
  status: 'status',
  startedAt: 'started_at',
  stoppedAt: 'stopped_at',
  exitCode: 'exit_code',
  reason: 'reason',
  statusReason: 'status_reason',
};

function docWithoutTags<T extends { tags: Tags }>(record: T): string {
  const { tags: _tags, ...rest } = record;
  return JSON.stringify(rest);
}

// ---------------------------------------------------------------------------------------------
// Prepared statements for the hot paths

const selectRunnableHeads = preparedQuery((qb) =>
  qb
    .selectFrom('jobs')
    .select(['id', 'seq', 'vcpus', 'memory', 'gpus', 'status_reason'])
    .where('queue', '=', param('queue'))
    .where('status', '=', param('status'))
    .orderBy('seq', 'asc')
    .limit(param('limit')),
);

const selectAttempt = preparedQuery((qb) =>
  qb.selectFrom('attempts').selectAll().where('job_id', '=', param('jobId')).where('attempt', '=', param('attempt')),
);

const selectJob = preparedQuery((qb) => qb.selectFrom('jobs').selectAll().where('id', '=', param('id')));

// ---------------------------------------------------------------------------------------------

/** Queries shared by the store and its transactions; `runner` decides where they execute. */
/** State shared by the store and its transactions: compiled statements and parent specs. */
interface Shared {
  updates: Map<string, PreparedQuery>;
  /** Array parents' specs, which their children share (bounded; parents are immutable). */
  parentSpecs: Map<string, JobSpec>;
}

const PARENT_SPEC_CACHE = 2000;

class SqlOps implements StoreTx {
  private readonly updateCache: Map<string, PreparedQuery>;
  constructor(
    protected readonly db: SqlDatabase,
    protected readonly runner: SqlRunner,
    protected readonly shared: Shared,
  ) {
    this.updateCache = shared.updates;
  }

  /** Rows → jobs; children get their parent's spec (loaded once, then cached). */
  private async hydrate(rows: JobRow[]): Promise<Job[]> {
    const cache = this.shared.parentSpecs;
    const missing = new Set<string>();
    for (const r of rows) if (r.spec === '' && r.array_parent_id && !cache.has(r.array_parent_id)) missing.add(r.array_parent_id);
    if (missing.size > 0) {
      for (const part of chunks([...missing])) {
        const parents = await this.all<{ id: string; spec: string }>(this.qb.selectFrom('jobs').select(['id', 'spec']).where('id', 'in', part));
        for (const p of parents) {
          if (cache.size >= PARENT_SPEC_CACHE) cache.delete(cache.keys().next().value!);
          cache.set(p.id, JSON.parse(p.spec) as JobSpec);
        }
      }
    }
    return rows.map((r) => {
      if (r.spec !== '') return rowToJob(r, JSON.parse(r.spec) as JobSpec);
      const spec = cache.get(r.array_parent_id ?? '');
      if (!spec) throw new Error(`array child ${r.id} has no parent ${r.array_parent_id}`);
      return rowToJob(r, spec);
    });
  }

  protected get qb(): Kysely<Schema> {
    return this.db.qb;
  }

  private all<R>(q: Statement | { compile(): Statement }): Promise<R[]> {
    return this.runner.all<R>('compile' in q ? q.compile() : q);
  }

  private run(q: Statement | { compile(): Statement }): Promise<number> {
    return this.runner.run('compile' in q ? q.compile() : q);
  }

  // ----- metadata

  async loadComputeEnvironments(): Promise<ComputeEnvironment[]> {
    const rows = await this.all<{ arn: string; doc: string }>(
      this.qb.selectFrom('compute_environments').select(['arn', 'doc']).orderBy('created_at').orderBy('name'),
    );
    const tags = await this.getTagsMany(rows.map((r) => r.arn));
    return rows.map((r) => ({ ...JSON.parse(r.doc), tags: tags.get(r.arn) ?? {} }));
  }

  async loadJobQueues(): Promise<JobQueue[]> {
    const rows = await this.all<{ arn: string; doc: string }>(
      this.qb.selectFrom('job_queues').select(['arn', 'doc']).orderBy('created_at').orderBy('name'),
    );
    const tags = await this.getTagsMany(rows.map((r) => r.arn));
    return rows.map((r) => ({ ...JSON.parse(r.doc), tags: tags.get(r.arn) ?? {} }));
  }

  async loadJobDefinitions(): Promise<JobDefinition[]> {
    const rows = await this.all<{ arn: string; doc: string }>(
      this.qb.selectFrom('job_definitions').select(['arn', 'doc']).orderBy('name').orderBy('revision'),
    );
    const tags = await this.getTagsMany(rows.map((r) => r.arn));
    return rows.map((r) => ({ ...JSON.parse(r.doc), tags: tags.get(r.arn) ?? {} }));
  }

  async getTags(resourceArn: string): Promise<Tags> {
    return (await this.getTagsMany([resourceArn])).get(resourceArn) ?? {};
  }

  async getTagsMany(resourceArns: readonly string[]): Promise<Map<string, Tags>> {
    const out = new Map<string, Tags>();
    for (const part of chunks([...new Set(resourceArns)])) {
      if (part.length === 0) continue;
      const rows = await this.all<{ resource_arn: string; key: string; value: string }>(
        this.qb.selectFrom('tags').selectAll().where('resource_arn', 'in', part).orderBy('resource_arn').orderBy('key'),
      );
      for (const r of rows) {
        let t = out.get(r.resource_arn);
        if (!t) out.set(r.resource_arn, (t = {}));
        t[r.key] = r.value;
      }
    }
    return out;
  }

  async insertComputeEnvironment(ce: ComputeEnvironment): Promise<void> {
    await this.run(
      this.qb.insertInto('compute_environments').values({
        name: ce.computeEnvironmentName,
        arn: ce.computeEnvironmentArn,
        created_at: ce.createdAt,
        doc: docWithoutTags(ce),
      }),
    );
    await this.putTags(ce.computeEnvironmentArn, ce.tags);
  }

  async updateComputeEnvironment(ce: ComputeEnvironment): Promise<void> {
    await this.run(
      this.qb
        .updateTable('compute_environments')
        .set({ doc: docWithoutTags(ce) })
        .where('name', '=', ce.computeEnvironmentName),
    );
  }

  async deleteComputeEnvironment(name: string): Promise<void> {
    await this.run(this.qb.deleteFrom('compute_environments').where('name', '=', name));
  }

  async insertJobQueue(q: JobQueue): Promise<void> {
    await this.run(
      this.qb
        .insertInto('job_queues')
        .values({ name: q.jobQueueName, arn: q.jobQueueArn, created_at: q.createdAt, doc: docWithoutTags(q) }),
    );
    await this.putTags(q.jobQueueArn, q.tags);
  }

  async updateJobQueue(q: JobQueue): Promise<void> {
    await this.run(this.qb.updateTable('job_queues').set({ doc: docWithoutTags(q) }).where('name', '=', q.jobQueueName));
  }

  async deleteJobQueue(name: string): Promise<void> {
    await this.run(this.qb.deleteFrom('job_queues').where('name', '=', name));
  }

  async insertJobDefinition(def: JobDefinition): Promise<void> {
    await this.run(
      this.qb.insertInto('job_definitions').values({
        arn: def.jobDefinitionArn,
        name: def.jobDefinitionName,
        revision: def.revision,
        status: def.status,
        created_at: def.createdAt,
        doc: docWithoutTags(def),
      }),
    );
    await this.putTags(def.jobDefinitionArn, def.tags);
  }

  async updateJobDefinition(def: JobDefinition): Promise<void> {
    await this.run(
      this.qb
        .updateTable('job_definitions')
        .set({ status: def.status, doc: docWithoutTags(def) })
        .where('arn', '=', def.jobDefinitionArn),
    );
  }

  async putTags(resourceArn: string, tags: Tags): Promise<void> {
    const entries = Object.entries(tags);
    if (entries.length === 0) return;
    await this.run(
      this.qb
        .insertInto('tags')
        .values(entries.map(([key, value]) => ({ resource_arn: resourceArn, key, value })))
        .onConflict((oc) => oc.columns(['resource_arn', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') })),
    );
  }

  async deleteTags(resourceArn: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.run(this.qb.deleteFrom('tags').where('resource_arn', '=', resourceArn).where('key', 'in', [...keys]));
  }

  async deleteAllTags(resourceArn: string): Promise<void> {
    await this.run(this.qb.deleteFrom('tags').where('resource_arn', '=', resourceArn));
  }

  // ----- jobs

  async insertJobs(jobs: readonly Job[]): Promise<void> {
    for (const part of chunks(jobs)) {
      await this.run(this.qb.insertInto('jobs').values(part.map(jobToRow)));
    }
  }

  async getJob(jobId: string): Promise<Job | undefined> {
    const rows = await this.runner.all<JobRow>(selectJob(this.db).bind({ id: jobId }));
    return rows[0] ? (await this.hydrate(rows))[0] : undefined;
  }

  async getJobs(jobIds: readonly string[]): Promise<Job[]> {
    if (jobIds.length === 1) {
      const j = await this.getJob(jobIds[0]);
      return j ? [j] : [];
    }
    const out: Job[] = [];
    for (const part of chunks([...new Set(jobIds)])) {
      const rows = await this.all<JobRow>(this.qb.selectFrom('jobs').selectAll().where('id', 'in', part));
      out.push(...(await this.hydrate(rows)));
    }
    return out;
  }

  async getAttempts(jobIds: readonly string[]): Promise<Attempt[]> {
    const out: Attempt[] = [];
    for (const part of chunks([...new Set(jobIds)])) {
      const rows = await this.all<AttemptRow>(
        this.qb.selectFrom('attempts').selectAll().where('job_id', 'in', part).orderBy('job_id').orderBy('attempt'),
      );
      for (const r of rows) out.push(rowToAttempt(r));
    }
    return out;
  }

  async getAttempt(jobId: string, attempt: number): Promise<Attempt | undefined> {
    const rows = await this.runner.all<AttemptRow>(selectAttempt(this.db).bind({ jobId, attempt }));
    return rows[0] ? rowToAttempt(rows[0]) : undefined;
  }

  async listJobs(q: JobListQuery): Promise<Job[]> {
    let query = this.qb.selectFrom('jobs').selectAll();
    // A queue lists its jobs and array parents; children are listed through their parent.
    if (q.jobQueue !== undefined) query = query.where('queue', '=', q.jobQueue).where('array_parent_id', 'is', null);
    if (q.arrayParentId !== undefined) query = query.where('array_parent_id', '=', q.arrayParentId);
    if (q.statuses !== undefined) {
      query = q.statuses.length === 1 ? query.where('status', '=', q.statuses[0]) : query.where('status', 'in', [...q.statuses]);
    }
    if (q.jobName !== undefined) {
      const lower = q.jobName.toLowerCase();
      if (lower.endsWith('*')) {
        // Escape LIKE wildcards in the prefix itself; job names allow '_' which LIKE treats as a wildcard.
        const prefix = lower.slice(0, -1).replace(/[\\%_]/g, (c) => '\\' + c);
        query = query.where(sql<boolean>`lower(name) like ${prefix + '%'} escape '\\'`);
      } else {
        query = query.where(sql<boolean>`lower(name) = ${lower}`);
      }
    }
    if (q.jobDefinitionArnPrefix !== undefined) {
      const prefix = q.jobDefinitionArnPrefix.replace(/[\\%_]/g, (c) => '\\' + c);
      query = query.where(sql<boolean>`job_definition like ${prefix + '%'} escape '\\'`);
    }
    if (q.jobDefinitionArn !== undefined) query = query.where('job_definition', '=', q.jobDefinitionArn);
    if (q.createdBefore !== undefined) query = query.where('created_at', '<', q.createdBefore);
    if (q.createdAfter !== undefined) query = query.where('created_at', '>', q.createdAfter);
    if (q.afterSeq !== undefined) query = query.where('seq', q.order === 'asc' ? '>' : '<', q.afterSeq);
    query = query.orderBy(q.arrayParentId !== undefined ? 'array_index' : 'seq', q.order).limit(q.limit);
    const rows = await this.all<JobRow>(query);
    return this.hydrate(rows);
  }

  async runnableHeads(jobQueue: string, limit: number): Promise<RunnableJob[]> {
    const rows = await this.runner.all<Pick<JobRow, 'id' | 'seq' | 'vcpus' | 'memory' | 'gpus' | 'status_reason'>>(
      selectRunnableHeads(this.db).bind({ queue: jobQueue, status: 'RUNNABLE', limit }),
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

  async jobsByStatus(statuses: readonly JobStatus[], afterSeq: number, limit: number): Promise<Job[]> {
    const rows = await this.all<JobRow>(
      this.qb
        .selectFrom('jobs')
        .selectAll()
        .where('status', 'in', [...statuses])
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit),
    );
    return this.hydrate(rows);
  }

  async activeUsage(): Promise<Map<string, Resources>> {
    const rows = await this.all<{ ce: string | null; vcpus: number; memory: number; gpus: number }>(
      this.qb
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

  async countJobs(jobQueue: string, statuses?: readonly JobStatus[]): Promise<number> {
    let q = this.qb
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('queue', '=', jobQueue);
    if (statuses) q = q.where('status', 'in', [...statuses]);
    const rows = await this.all<{ n: number }>(q);
    return Number(rows[0]?.n ?? 0);
  }

  async maxSeq(): Promise<number> {
    const rows = await this.all<{ m: number | null }>(
      this.qb.selectFrom('jobs').select((eb) => eb.fn.max<number>('seq').as('m')),
    );
    return Number(rows[0]?.m ?? 0);
  }

  async updateJob(update: JobUpdate): Promise<boolean> {
    const keys = (Object.keys(update.set) as (keyof JobPatch)[]).filter((k) => update.set[k] !== undefined).sort();
    const signature = keys.join(',') + '|' + update.from.join(',');
    let q = this.updateCache.get(signature);
    if (!q) {
      const set: Record<string, unknown> = {};
      for (const k of keys) set[PATCH_COLUMNS[k]] = param(k);
      let b = this.qb.updateTable('jobs').set(set).where('id', '=', param('jobId'));
      b = update.from.length === 1 ? b.where('status', '=', param('from0')) : b.where('status', 'in', update.from.map((_, i) => param('from' + i)));
      q = prepare(b.compile());
      this.updateCache.set(signature, q);
    }
    const values: Record<string, unknown> = { jobId: update.jobId };
    for (const k of keys) values[k] = patchValue(k, update.set[k]);
    update.from.forEach((s, i) => (values['from' + i] = s));
    return (await this.runner.run(q.bind(values))) > 0;
  }

  async insertAttempt(attempt: Attempt): Promise<void> {
    await this.run(this.qb.insertInto('attempts').values(attemptToRow(attempt)));
  }

  async updateAttempt(jobId: string, attempt: number, patch: AttemptPatch): Promise<void> {
    const keys = (Object.keys(patch) as (keyof AttemptPatch)[]).filter((k) => patch[k] !== undefined).sort();
    if (keys.length === 0) return;
    const signature = 'attempt:' + keys.join(',');
    let q = this.updateCache.get(signature);
    if (!q) {
      const set: Record<string, unknown> = {};
      for (const k of keys) set[ATTEMPT_PATCH_COLUMNS[k]] = param(k);
      q = prepare(
        this.qb.updateTable('attempts').set(set).where('job_id', '=', param('jobId')).where('attempt', '=', param('attempt')).compile(),
      );
      this.updateCache.set(signature, q);
    }
    const values: Record<string, unknown> = { jobId, attempt };
    for (const k of keys) values[k] = patch[k] ?? null;
    await this.runner.run(q.bind(values));
  }

  // ----- dependencies

  async insertDependencies(edges: readonly DependencyEdge[]): Promise<void> {
    for (const part of chunks(edges)) {
      if (part.length === 0) continue;
      await this.run(this.qb.insertInto('job_dependencies').values(part.map((e) => ({ job_id: e.jobId, depends_on: e.dependsOn }))));
      const targets = [...new Set(part.map((e) => e.dependsOn))];
      await this.run(this.qb.updateTable('jobs').set({ has_dependents: 1 }).where('id', 'in', targets));
    }
  }

  async dependentsOf(jobIds: readonly string[]): Promise<DependencyEdge[]> {
    const out: DependencyEdge[] = [];
    for (const part of chunks([...new Set(jobIds)])) {
      if (part.length === 0) continue;
      const rows = await this.all<{ job_id: string; depends_on: string }>(
        this.qb.selectFrom('job_dependencies').selectAll().where('depends_on', 'in', part),
      );
      for (const r of rows) out.push({ jobId: r.job_id, dependsOn: r.depends_on });
    }
    return out;
  }

  async dependenciesOf(jobId: string): Promise<string[]> {
    const rows = await this.all<{ depends_on: string }>(
      this.qb.selectFrom('job_dependencies').select('depends_on').where('job_id', '=', jobId).orderBy('depends_on'),
    );
    return rows.map((r) => r.depends_on);
  }

  async decrementUnmetDependencies(counts: ReadonlyMap<string, number>) {
    const out: { jobId: string; unmetDependencies: number; status: JobStatus }[] = [];
    for (const [jobId, n] of counts) {
      const rows = await this.all<{ id: string; unmet_dependencies: number; status: string }>(
        this.qb
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

  async releaseArrayChildren(parentId: string, now: number, limit?: number): Promise<number> {
    let pick = this.qb
      .selectFrom('jobs')
      .select('id')
      .where('array_parent_id', '=', parentId)
      .where('status', '=', 'PENDING')
      .where('unmet_dependencies', '=', 0)
      .orderBy('array_index');
    if (limit !== undefined) pick = pick.limit(limit);
    return this.run(
      this.qb
        .updateTable('jobs')
        .set({ status: 'RUNNABLE', status_reason: null, runnable_since: now })
        .where('id', 'in', pick),
    );
  }

  async updateArrayChildren(parentId: string, from: readonly JobStatus[], set: JobPatch): Promise<number> {
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(set) as [keyof JobPatch, unknown][]) {
      if (v !== undefined) values[PATCH_COLUMNS[k]] = patchValue(k, v);
    }
    return this.run(
      this.qb
        .updateTable('jobs')
        .set(values)
        .where('array_parent_id', '=', parentId)
        .where('status', 'in', [...from]),
    );
  }

  async addArrayProgress(parentId: string, succeeded: number, failed: number, now: number): Promise<ArrayState | undefined> {
    const rows = await this.all<Pick<JobRow, 'array_size' | 'array_succeeded' | 'array_failed' | 'array_summary_updated_at' | 'max_concurrency'>>(
      this.qb
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

  async arrayChildren(parentId: string, statuses: readonly JobStatus[], limit: number): Promise<Job[]> {
    const rows = await this.all<JobRow>(
      this.qb
        .selectFrom('jobs')
        .selectAll()
        .where('array_parent_id', '=', parentId)
        .where('status', 'in', [...statuses])
        .orderBy('array_index')
        .limit(limit),
    );
    return this.hydrate(rows);
  }

  async countArrayChildren(parentId: string, statuses: readonly JobStatus[]): Promise<number> {
    const rows = await this.all<{ n: number }>(
      this.qb
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('array_parent_id', '=', parentId)
        .where('status', 'in', [...statuses]),
    );
    return Number(rows[0]?.n ?? 0);
  }

  async arrayStatusCounts(parentIds: readonly string[]): Promise<Map<string, Partial<Record<JobStatus, number>>>> {
    const out = new Map<string, Partial<Record<JobStatus, number>>>();
    for (const part of chunks([...new Set(parentIds)])) {
      if (part.length === 0) continue;
      const rows = await this.all<{ parent: string; status: string; n: number }>(
        this.qb
          .selectFrom('jobs')
          .select((eb) => ['array_parent_id as parent', 'status', eb.fn.countAll<number>().as('n')])
          .where('array_parent_id', 'in', part)
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

  async runnableShares(jobQueue: string): Promise<string[]> {
    // Distinct values by repeated index seeks (a loose index scan): one seek per share, however
    // many RUNNABLE jobs each has.
    const out: string[] = [];
    let after: string | undefined;
    for (;;) {
      let q = this.qb
        .selectFrom('jobs')
        .select((eb) => eb.fn.min<string>('share_identifier').as('s'))
        .where('queue', '=', jobQueue)
        .where('status', '=', 'RUNNABLE')
        .where('share_identifier', 'is not', null);
      if (after !== undefined) q = q.where('share_identifier', '>', after);
      const rows = await this.all<{ s: string | null }>(q);
      const next = rows[0]?.s;
      if (next == null) return out;
      out.push(next);
      after = next;
    }
  }

  async runnableHeadsForShare(jobQueue: string, shareIdentifier: string, limit: number): Promise<RunnableJob[]> {
    const rows = await this.all<Pick<JobRow, 'id' | 'seq' | 'vcpus' | 'memory' | 'gpus' | 'status_reason' | 'scheduling_priority'>>(
      this.qb
        .selectFrom('jobs')
        .select(['id', 'seq', 'vcpus', 'memory', 'gpus', 'status_reason', 'scheduling_priority'])
        .where('queue', '=', jobQueue)
        .where('status', '=', 'RUNNABLE')
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

  async activeShareUsage(): Promise<{ jobQueue: string; shareIdentifier: string; vcpus: number }[]> {
    const rows = await this.all<{ queue: string; share: string; vcpus: number }>(
      this.qb
        .selectFrom('jobs')
        .select((eb) => ['queue', 'share_identifier as share', eb.fn.sum<number>('vcpus').as('vcpus')])
        .where('status', 'in', ['STARTING', 'RUNNING'])
        .where('share_identifier', 'is not', null)
        .groupBy(['queue', 'share_identifier']),
    );
    return rows.map((r) => ({ jobQueue: r.queue, shareIdentifier: r.share, vcpus: Number(r.vcpus) }));
  }

  async loadSchedulingPolicies(): Promise<SchedulingPolicy[]> {
    const rows = await this.all<{ arn: string; doc: string }>(
      this.qb.selectFrom('scheduling_policies').select(['arn', 'doc']).orderBy('created_at').orderBy('name'),
    );
    const tags = await this.getTagsMany(rows.map((r) => r.arn));
    return rows.map((r) => ({ ...JSON.parse(r.doc), tags: tags.get(r.arn) ?? {} }));
  }

  async insertSchedulingPolicy(policy: SchedulingPolicy): Promise<void> {
    await this.run(
      this.qb
        .insertInto('scheduling_policies')
        .values({ name: policy.name, arn: policy.arn, created_at: policy.createdAt, doc: docWithoutTags(policy) }),
    );
    await this.putTags(policy.arn, policy.tags);
  }

  async updateSchedulingPolicy(policy: SchedulingPolicy): Promise<void> {
    await this.run(this.qb.updateTable('scheduling_policies').set({ doc: docWithoutTags(policy) }).where('name', '=', policy.name));
  }

  async deleteSchedulingPolicy(name: string): Promise<void> {
    await this.run(this.qb.deleteFrom('scheduling_policies').where('name', '=', name));
  }

}

class SqlStore extends SqlOps implements Store {
  readonly dialect: 'sqlite' | 'postgres';

  constructor(db: SqlDatabase) {
    super(db, db, { updates: new Map(), parentSpecs: new Map() });
    this.dialect = db.dialect;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.transaction((runner) => fn(new SqlOps(this.db, runner, this.shared)));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
