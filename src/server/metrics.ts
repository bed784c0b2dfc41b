// Prometheus metrics (GET /metrics): one prom-client Registry per server (never the global one,
// so tests and several servers in one process do not collide).
//
// - Per job queue, the jobs in each state are read from the store at scrape time (one statement,
//   from indexes: src/store/sql/metrics.ts), so they are the numbers ListJobs gives at that moment.
// - The five AWS Batch queue metrics (PendingJobCount, ...) are derived from them; Succeeded and
//   Failed are, as in AWS, the jobs that finished in the last minute (kept in memory).
// - Counters and histograms are fed as things happen, through JobObserver (the service, the job
//   graph, the job runtime) and the API's request hook (src/api/metrics.ts).
// - Compute environments' capacity (the registry) and use (the runtime's view) at scrape time.
// - The security counters of src/api/auth/errors.ts.
//
// What counts as a job for the five AWS metrics and the counters (a "unit of work"): a plain job,
// a multi-node parallel job (its parent; its nodes are not counted apart), each child of an
// array job. Array parents are not counted there (their children are): an array of 100 adds 100
// to RunnableJobCount while its children wait, and 100 to the submitted counter. Every kind is in
// openbatch_queue_jobs{kind}, whose kinds job + array add up to what ListJobs lists for a queue.

import fs from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApiMetrics } from '../api/metrics.js';
import { AUTH_FAILURE_REASONS, securityCounters } from '../api/auth/errors.js';
import { JOB_STATUSES, type Job, type JobStatus, type Resources } from '../core/types.js';
import type { JobObserver } from '../service/observer.js';
import { cachedUsageByJobDefinition } from '../service/usage.js';
import type { Registry as MetadataRegistry } from '../service/registry.js';
import type { JobKind } from '../store/sql/metrics.js';
import type { Store, StoreTx } from '../store/store.js';

export interface MetricsDeps {
  store: Store;
  registry: MetadataRegistry;
  /** vCPUs, memory (MiB) and GPUs held now on a compute environment (the job runtime's view). */
  usageOf: (computeEnvironment: string) => Resources;
  /** The scheduler's clock (the "last minute" of Succeeded/FailedJobCount). */
  now: () => number;
}

const KINDS: readonly JobKind[] = ['job', 'array', 'array_child', 'node'];

/** The five AWS Batch queue metrics: which states each counts (units of work, see above). */
export const AWS_QUEUE_METRICS = {
  PendingJobCount: ['SUBMITTED', 'PENDING'],
  RunnableJobCount: ['RUNNABLE'],
  RunningJobCount: ['STARTING', 'RUNNING'],
  SucceededJobCount: ['SUCCEEDED'],
  FailedJobCount: ['FAILED'],
} as const satisfies Record<string, readonly JobStatus[]>;

/** The Prometheus names of the five AWS metrics. */
export const AWS_METRIC_NAMES: Record<keyof typeof AWS_QUEUE_METRICS, string> = {
  PendingJobCount: 'openbatch_pending_jobs',
  RunnableJobCount: 'openbatch_runnable_jobs',
  RunningJobCount: 'openbatch_running_jobs',
  SucceededJobCount: 'openbatch_succeeded_jobs_last_minute',
  FailedJobCount: 'openbatch_failed_jobs_last_minute',
};

/** The window of SucceededJobCount and FailedJobCount. */
const RECENT_MS = 60_000;
const BUCKET_MS = 1_000;

/** Jobs finished per queue over the last minute, in one-second buckets. */
class RecentFinishes {
  private readonly buckets = new Map<string, { at: number; succeeded: number; failed: number }[]>();

  add(queue: string, at: number, succeeded: number, failed: number): void {
    const slot = Math.floor(at / BUCKET_MS);
    let list = this.buckets.get(queue);
    if (!list) this.buckets.set(queue, (list = []));
    const last = list[list.length - 1];
    if (last && last.at === slot) {
      last.succeeded += succeeded;
      last.failed += failed;
    } else list.push({ at: slot, succeeded, failed });
    this.prune(list, at);
  }

  counts(queue: string, now: number): { succeeded: number; failed: number } {
    const list = this.buckets.get(queue);
    const out = { succeeded: 0, failed: 0 };
    if (!list) return out;
    this.prune(list, now);
    for (const b of list) {
      out.succeeded += b.succeeded;
      out.failed += b.failed;
    }
    return out;
  }

  /** Queues with finishes in the window (a deleted queue drops out a minute later). */
  queues(now: number): string[] {
    for (const [q, list] of this.buckets) {
      this.prune(list, now);
      if (list.length === 0) this.buckets.delete(q);
    }
    return [...this.buckets.keys()];
  }

  private prune(list: { at: number }[], now: number): void {
    const oldest = Math.floor((now - RECENT_MS) / BUCKET_MS);
    let drop = 0;
    while (drop < list.length && list[drop].at <= oldest) drop++;
    if (drop > 0) list.splice(0, drop);
  }
}

/** Whether a job is a unit of work for the AWS metrics and counters (see the header). */
function isUnit(job: Job): boolean {
  return job.array === undefined && job.nodeParentId === undefined;
}

export class Metrics implements JobObserver, ApiMetrics {
  readonly registry = new Registry();
  private readonly recent = new RecentFinishes();
  private readonly submitted: Counter<'job_queue'>;
  private readonly succeeded: Counter<'job_queue'>;
  private readonly failed: Counter<'job_queue'>;
  private readonly cycleDuration: Histogram;
  private readonly placements: Counter;
  private readonly startLatency: Histogram<'job_queue'>;
  private readonly requests: Counter<'api' | 'operation' | 'outcome' | 'error_code'>;
  private readonly requestDuration: Histogram<'api' | 'operation' | 'outcome'>;
  private readonly errors: Counter;

  constructor(private readonly deps: MetricsDeps) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    this.errors = new Counter({
      name: 'openbatch_metrics_errors_total',
      help: 'Observations the metrics could not record (a bug in the metrics; the jobs are not affected)',
      registers,
    });

    // ----- queues: states at scrape time

    const queueJobs = new Gauge({
      name: 'openbatch_queue_jobs',
      help: 'Jobs of each job queue in each state, now, by kind: job (plain and multi-node jobs), array (array parents), array_child, node (multi-node nodes). job + array is what ListJobs lists for the queue.',
      labelNames: ['job_queue', 'status', 'kind'] as const,
      registers,
    });
    const aws = Object.fromEntries(
      (Object.keys(AWS_QUEUE_METRICS) as (keyof typeof AWS_QUEUE_METRICS)[]).map((name) => [
        name,
        new Gauge({
          // Not *_count: Prometheus keeps that suffix for histograms and summaries.
          name: AWS_METRIC_NAMES[name],
          help:
            name === 'SucceededJobCount' || name === 'FailedJobCount'
              ? `AWS Batch ${name}: jobs of the queue that reached ${AWS_QUEUE_METRICS[name].join('/')} in the last minute (plain jobs, array children and multi-node jobs; array parents not counted; since this server started)`
              : `AWS Batch ${name}: jobs of the queue in ${AWS_QUEUE_METRICS[name].join(' or ')} now (plain jobs, array children and multi-node jobs; array parents not counted)`,
          labelNames: ['job_queue'] as const,
          registers,
        }),
      ]),
    ) as Record<keyof typeof AWS_QUEUE_METRICS, Gauge<'job_queue'>>;

    // One store read feeds all of them, made by render() before the exposition is written.
    this.refreshQueues = async () => {
      const counts = await deps.store.jobCountsByQueue();
      // From here on synchronous: a concurrent scrape never sees half of an update.
      queueJobs.reset();
      for (const g of Object.values(aws)) g.reset();
      const now = deps.now();
      const queues = new Set([...deps.registry.jobQueues.keys(), ...counts.map((c) => c.jobQueue), ...this.recent.queues(now)]);
      for (const q of queues) {
        for (const status of JOB_STATUSES) for (const kind of KINDS) queueJobs.set({ job_queue: q, status, kind }, 0);
        for (const g of Object.values(aws)) g.set({ job_queue: q }, 0);
      }
      for (const c of counts) {
        queueJobs.set({ job_queue: c.jobQueue, status: c.status, kind: c.kind }, c.count);
        if (c.kind !== 'job' && c.kind !== 'array_child') continue;
        for (const name of ['PendingJobCount', 'RunnableJobCount', 'RunningJobCount'] as const) {
          if ((AWS_QUEUE_METRICS[name] as readonly string[]).includes(c.status)) aws[name].inc({ job_queue: c.jobQueue }, c.count);
        }
      }
      for (const q of queues) {
        const r = this.recent.counts(q, now);
        aws.SucceededJobCount.set({ job_queue: q }, r.succeeded);
        aws.FailedJobCount.set({ job_queue: q }, r.failed);
      }
    };

    // ----- right-sizing per job definition (the seed's advice: memory at p95 of observed use
    // plus 20%): over each definition's newest 1,000 measured attempts, recomputed at most every
    // 30 s (one bounded, indexed query per definition).

    const usage = cachedUsageByJobDefinition(deps.store, { ttlMs: 30_000, now: deps.now });
    const usageGauge = (name: string, help: string, quantiles: boolean) =>
      new Gauge({ name, help, labelNames: quantiles ? (['job_definition', 'quantile'] as const) : (['job_definition'] as const), registers });
    const peak = usageGauge('openbatch_job_definition_peak_memory_bytes', "Peak memory of the job definition's recent attempts (whole process tree or container), by quantile (0.5, 0.95, 1 = max)", true);
    const cpu = usageGauge('openbatch_job_definition_cpu_seconds', "CPU seconds (user + system) of the job definition's recent attempts, by quantile (0.5, 0.95, 1 = max)", true);
    const requested = usageGauge('openbatch_job_definition_requested_memory_bytes', 'Memory the newest measured attempt of the job definition asked for', false);
    const recommended = usageGauge('openbatch_job_definition_recommended_memory_bytes', "Memory to ask for: the p95 peak of recent attempts plus 20% (the seed's right-sizing advice)", false);
    const measured = usageGauge('openbatch_job_definition_measured_attempts', 'Recent attempts of the job definition the right-sizing gauges are computed over', false);
    const MIB = 1024 * 1024;
    this.refreshUsage = async () => {
      const list = await usage();
      for (const g of [peak, cpu, requested, recommended, measured]) g.reset();
      for (const u of list) {
        const d = { job_definition: u.jobDefinition };
        measured.set(d, u.count);
        if (u.peakMemoryMiB) for (const [q, v] of [['0.5', u.peakMemoryMiB.p50], ['0.95', u.peakMemoryMiB.p95], ['1', u.peakMemoryMiB.max]] as const) peak.set({ ...d, quantile: q }, v * MIB);
        if (u.cpuSeconds) for (const [q, v] of [['0.5', u.cpuSeconds.p50], ['0.95', u.cpuSeconds.p95], ['1', u.cpuSeconds.max]] as const) cpu.set({ ...d, quantile: q }, v);
        if (u.requestedMemoryMiB !== undefined) requested.set(d, u.requestedMemoryMiB * MIB);
        if (u.recommendedMemoryMiB !== undefined) recommended.set(d, u.recommendedMemoryMiB * MIB);
      }
    };

    // ----- jobs: counters and latencies, as things happen

    this.submitted = new Counter({
      name: 'openbatch_jobs_submitted_total',
      help: 'Jobs submitted to the queue: 1 per job, the size of an array job (its children), 1 per multi-node job',
      labelNames: ['job_queue'] as const,
      registers,
    });
    this.succeeded = new Counter({
      name: 'openbatch_jobs_succeeded_total',
      help: 'Jobs of the queue that reached SUCCEEDED: plain jobs, array children, multi-node jobs (array parents and nodes not counted)',
      labelNames: ['job_queue'] as const,
      registers,
    });
    this.failed = new Counter({
      name: 'openbatch_jobs_failed_total',
      help: 'Jobs of the queue that reached FAILED (failed, cancelled, terminated, timed out, dependency failed): plain jobs, array children, multi-node jobs (array parents and nodes not counted)',
      labelNames: ['job_queue'] as const,
      registers,
    });
    this.startLatency = new Histogram({
      name: 'openbatch_job_start_latency_seconds',
      help: "Time from a job's submission (an array child: its array's) to its first attempt reaching RUNNING",
      labelNames: ['job_queue'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.cycleDuration = new Histogram({
      name: 'openbatch_scheduler_cycle_duration_seconds',
      help: 'Duration of scheduling cycles (evaluate SUBMITTED jobs, plan, place, in one transaction)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.placements = new Counter({
      name: 'openbatch_scheduler_placements_total',
      help: 'Attempts placed (RUNNABLE to STARTING) by scheduling cycles',
      registers,
    });

    // ----- compute environments: capacity and use at scrape time

    const ceGauge = (name: string, help: string, value: (ce: string) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['compute_environment'] as const,
        registers,
        collect() {
          this.reset();
          for (const ce of deps.registry.computeEnvironments.keys()) this.set({ compute_environment: ce }, value(ce));
        },
      });
    const capacity = (ce: string) => deps.registry.computeEnvironments.get(ce)?.capacity ?? { vcpus: 0, memory: 0, gpus: 0 };
    ceGauge('openbatch_compute_environment_vcpus', 'vCPUs the compute environment offers (maxvCpus)', (ce) => capacity(ce).vcpus);
    ceGauge('openbatch_compute_environment_vcpus_used', 'vCPUs held by STARTING and RUNNING jobs', (ce) => deps.usageOf(ce).vcpus);
    ceGauge('openbatch_compute_environment_memory_bytes', 'Memory the compute environment offers', (ce) => capacity(ce).memory * 1024 * 1024);
    ceGauge('openbatch_compute_environment_memory_used_bytes', 'Memory held by STARTING and RUNNING jobs', (ce) => deps.usageOf(ce).memory * 1024 * 1024);
    ceGauge('openbatch_compute_environment_gpus', 'GPUs the compute environment offers', (ce) => capacity(ce).gpus);
    ceGauge('openbatch_compute_environment_gpus_used', 'GPUs held by STARTING and RUNNING jobs', (ce) => deps.usageOf(ce).gpus);

    // ----- the API

    this.requests = new Counter({
      name: 'openbatch_api_requests_total',
      help: 'API requests answered, by API (batch, logs, events, states, openbatch), operation ("unknown" for none), outcome (success, client_error, server_error) and AWS error code',
      labelNames: ['api', 'operation', 'outcome', 'error_code'] as const,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'openbatch_api_request_duration_seconds',
      help: 'Time to answer API requests, by API, operation and outcome',
      labelNames: ['api', 'operation', 'outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });

    // ----- security (process-wide counters kept by src/api/auth/errors.ts)

    new Counter({
      name: 'openbatch_auth_failures_total',
      help: 'Requests refused by authentication or authorization, by reason',
      labelNames: ['reason'] as const,
      registers,
      collect() {
        const c = securityCounters();
        this.reset();
        for (const r of AUTH_FAILURE_REASONS) this.inc({ reason: r }, c.authFailures[r]);
      },
    });
    new Counter({
      name: 'openbatch_requests_throttled_total',
      help: 'Requests answered 429 by the per-key rate limit',
      registers,
      collect() {
        this.reset();
        this.inc(securityCounters().throttled);
      },
    });
    new Counter({
      name: 'openbatch_requests_too_large_total',
      help: 'Requests refused for an over-long URL or oversized headers',
      registers,
      collect() {
        this.reset();
        this.inc(securityCounters().tooLarge);
      },
    });
  }

  // ----- observations inside store transactions

  /** Observations made inside the running transaction, applied once it commits. */
  private pending?: (() => void)[];

  /**
   * Jobs finish and start inside store transactions, and a transaction can roll back after that
   * (the write batcher retries a failed batch's submits one by one, a store error undoes a flush
   * of attempt events that is then retried): counting them at once would count some twice. So
   * the store's transaction() is wrapped: what is observed inside one is applied when it commits
   * and dropped when it rolls back. Transactions run one at a time (db.ts), so whatever is
   * observed while a callback runs belongs to that transaction.
   */
  bindTransactions(store: Store): void {
    const transaction = store.transaction.bind(store);
    store.transaction = async <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> => {
      let committed: (() => void)[] = [];
      const result = await transaction(async (tx) => {
        this.pending = [];
        try {
          const r = await fn(tx);
          committed = this.pending;
          return r;
        } finally {
          this.pending = undefined;
        }
      });
      for (const apply of committed) this.guard(apply);
      return result;
    };
  }

  private record(apply: () => void): void {
    if (this.pending) this.pending.push(apply);
    else this.guard(apply);
  }

  /**
   * Metrics never break what they observe: the observer runs inside the store's transactions and
   * right after their commit, where an exception would undo or disturb the jobs' own work.
   */
  private guard(f: () => void): void {
    try {
      f();
    } catch {
      this.errors.inc();
    }
  }

  // ----- JobObserver

  jobSubmitted(job: Job): void {
    this.guard(() => this.submitted.inc({ job_queue: job.jobQueue }, job.array?.size ?? 1));
  }

  jobsFinished(jobs: readonly Job[]): void {
    this.guard(() => this.finished(jobs));
  }

  private finished(jobs: readonly Job[]): void {
    const at = this.deps.now();
    const byQueue = new Map<string, { succeeded: number; failed: number }>();
    for (const j of jobs) {
      if (!isUnit(j)) continue;
      const e = byQueue.get(j.jobQueue) ?? { succeeded: 0, failed: 0 };
      if (j.status === 'SUCCEEDED') e.succeeded++;
      else if (j.status === 'FAILED') e.failed++;
      byQueue.set(j.jobQueue, e);
    }
    this.record(() => {
      for (const [q, e] of byQueue) {
        if (e.succeeded > 0) this.succeeded.inc({ job_queue: q }, e.succeeded);
        if (e.failed > 0) this.failed.inc({ job_queue: q }, e.failed);
        this.recent.add(q, at, e.succeeded, e.failed);
      }
    });
  }

  attemptRunning(before: Job, after: Job): void {
    this.guard(() => this.running(before, after));
  }

  private running(before: Job, after: Job): void {
    // First attempts only (a retry's wait is not the submit latency); a multi-node job by its main node.
    if (after.attemptCount !== 1 || after.startedAt === undefined || before.array !== undefined) return;
    const np = after.spec.nodeProperties;
    if (after.nodeParentId !== undefined && after.nodeIndex !== np?.mainNode) return;
    const seconds = Math.max(0, after.startedAt - after.createdAt) / 1000;
    this.record(() => this.startLatency.observe({ job_queue: after.jobQueue }, seconds));
  }

  cycleFinished(durationMs: number, placed: number): void {
    this.guard(() => {
      this.cycleDuration.observe(durationMs / 1000);
      if (placed > 0) this.placements.inc(placed);
    });
  }

  // ----- ApiMetrics

  observeRequest(r: { api: string; operation: string; outcome: string; errorCode: string; seconds: number }): void {
    this.guard(() => {
      this.requests.inc({ api: r.api, operation: r.operation, outcome: r.outcome, error_code: r.errorCode });
      this.requestDuration.observe({ api: r.api, operation: r.operation, outcome: r.outcome }, r.seconds);
    });
  }

  /** Reads the per-queue job counts from the store into the queue gauges. */
  private readonly refreshQueues: () => Promise<void>;
  /** Reads the right-sizing summaries per job definition into their gauges. */
  private readonly refreshUsage: () => Promise<void>;

  async render(): Promise<{ contentType: string; body: string }> {
    await Promise.all([this.refreshQueues(), this.refreshUsage()]);
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** The shortest metrics token accepted: a guessable token would open the endpoint to anyone. */
const MIN_TOKEN_LENGTH = 16;

/**
 * The bearer token for GET /metrics: OPENBATCH_METRICS_TOKEN, or the first line of
 * --metrics-token-file (never a command-line value: command lines are visible in `ps`).
 */
export function loadMetricsToken(token: string | undefined, file: string | undefined): string | undefined {
  if (token !== undefined && file !== undefined) throw new Error('metrics token: set OPENBATCH_METRICS_TOKEN or --metrics-token-file, not both');
  let value = token;
  if (file !== undefined) {
    try {
      value = fs.readFileSync(file, 'utf8').split('\n')[0];
    } catch (e) {
      throw new Error(`--metrics-token-file ${file}: ${(e as Error).message}`);
    }
  }
  if (value === undefined || value === '') return undefined;
  value = value.trim();
  if (value.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(value)) {
    throw new Error(`metrics token: at least ${MIN_TOKEN_LENGTH} printable characters without spaces (e.g. openssl rand -hex 32)`);
  }
  return value;
}
