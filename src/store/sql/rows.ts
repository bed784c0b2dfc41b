// Row mapping of the SQL store: jobs and attempts to and from their rows, the columns that job and
// attempt patches write, and metadata documents (stored as JSON without their tags, which live in
// the tags table). Pure functions, no queries: shared by every query module.

import type { Attempt, ArrayState, Job, JobSpec, JobStatus, StopCause, Tags } from '../../core/types.js';
import type { AttemptRow, JobRow } from '../schema.js';
import type { AttemptPatch, JobPatch } from '../store.js';

export function jobToRow(job: Job): JobRow {
  const child = job.arrayParentId !== undefined;
  const node = job.nodeParentId !== undefined;
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
    // A multi-node job's parent holds the resources of all its nodes (gang-scheduled as one); its nodes hold none of their own.
    vcpus: node ? 0 : job.spec.resources.vcpus,
    memory: node ? 0 : job.spec.resources.memory,
    gpus: node ? 0 : job.spec.resources.gpus,
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
    node_parent_id: job.nodeParentId ?? null,
    node_index: job.nodeIndex ?? null,
  };
}

export function rowToJob(r: JobRow, spec: JobSpec): Job {
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
  if (r.node_parent_id != null) {
    job.nodeParentId = r.node_parent_id;
    job.nodeIndex = r.node_index ?? 0;
  }
  if (r.array_size != null) {
    const array: ArrayState = { size: r.array_size, succeeded: r.array_succeeded, failed: r.array_failed };
    if (r.array_summary_updated_at != null) array.summaryUpdatedAt = Number(r.array_summary_updated_at);
    if (r.max_concurrency != null) array.maxConcurrency = r.max_concurrency;
    job.array = array;
  }
  return job;
}

export const PATCH_COLUMNS: Record<keyof JobPatch, keyof JobRow> = {
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

export function patchValue(key: keyof JobPatch, v: unknown): unknown {
  if (key === 'isCancelled' || key === 'isTerminated' || key === 'hasDependents') return v ? 1 : 0;
  return v ?? null;
}

export function attemptToRow(a: Attempt): AttemptRow {
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
    gpu_indices: a.gpuIndices && a.gpuIndices.length > 0 ? a.gpuIndices.join(',') : null,
  };
}

export function rowToAttempt(r: AttemptRow): Attempt {
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
  if (r.gpu_indices != null && r.gpu_indices !== '') a.gpuIndices = r.gpu_indices.split(',').map(Number);
  if (r.peak_memory_mib != null) a.peakMemoryMiB = Number(r.peak_memory_mib);
  if (r.cpu_seconds != null) a.cpuSeconds = Number(r.cpu_seconds);
  return a;
}

export const ATTEMPT_PATCH_COLUMNS: Record<keyof AttemptPatch, keyof AttemptRow> = {
  status: 'status',
  startedAt: 'started_at',
  stoppedAt: 'stopped_at',
  exitCode: 'exit_code',
  reason: 'reason',
  statusReason: 'status_reason',
  peakMemoryMiB: 'peak_memory_mib',
  cpuSeconds: 'cpu_seconds',
  jobDefinitionName: 'job_definition_name',
};

export function docWithoutTags<T extends { tags: Tags }>(record: T): string {
  const { tags: _tags, ...rest } = record;
  return JSON.stringify(rest);
}
