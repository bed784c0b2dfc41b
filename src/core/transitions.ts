// Every job state transition, in one place, named as verbs.
//
//   SUBMITTED ──evaluateSubmitted──▶ PENDING ──▶ RUNNABLE ──moveToStarting──▶ STARTING
//        │                                          ▲                            │
//        │                                          │ finishAttempt (retry)      │ moveToRunning
//        │                                          │                            ▼
//        │                                          └──────────────────────── RUNNING
//        │                                                                       │ finishAttempt
//        └── cancelJob / terminateJob (SUBMITTED, PENDING, RUNNABLE) ──▶ FAILED ◀─┤
//                                                                   SUCCEEDED ◀─┘
//   terminateJob on STARTING/RUNNING records the request (stopRequestedReason); the attempt is
//   stopped and finishAttempt then fails the job with that reason, without a retry.
//
// Each verb is pure: it takes the job as stored and returns the conditional update to apply
// (`from` is the fence: the update applies only if the job is still in that state), the attempt
// row to insert or patch, and the state changes it makes (for events and metrics). A verb that
// does not apply returns a typed refusal instead of throwing.

import { shouldRetry } from './retry.js';
import type { Attempt, Job, JobStatus, StopCause } from './types.js';

/** The mutable part of a job row. `null` clears an optional field. */
export interface JobPatch {
  status?: JobStatus;
  statusReason?: string | null;
  startedAt?: number | null;
  stoppedAt?: number | null;
  attemptCount?: number;
  computeEnvironment?: string | null;
  isCancelled?: boolean;
  isTerminated?: boolean;
  stopRequestedReason?: string | null;
  stopCause?: StopCause | null;
  unmetDependencies?: number;
  hasDependents?: boolean;
  runnableSince?: number | null;
}

/** A conditional update: applied only while the job is in one of `from` (optimistic, fenced). */
export interface JobUpdate {
  jobId: string;
  from: readonly JobStatus[];
  set: JobPatch;
}

export interface AttemptPatch {
  status?: Attempt['status'];
  startedAt?: number;
  stoppedAt?: number;
  exitCode?: number | null;
  reason?: string | null;
  statusReason?: string | null;
  /** Right-sizing data, with the job definition's name they are summarised under. */
  peakMemoryMiB?: number | null;
  cpuSeconds?: number | null;
  jobDefinitionName?: string | null;
}

/** A status a job passed through, in order; what EventBridge-style events will be made of. */
export interface StatusChange {
  jobId: string;
  status: JobStatus;
  at: number;
}

export interface Transition {
  update: JobUpdate;
  insertAttempt?: Attempt;
  patchAttempt?: { attempt: number; patch: AttemptPatch };
  changes: StatusChange[];
  /** TerminateJob on a STARTING/RUNNING job: the executor must stop this attempt. */
  stopAttempt?: number;
}

export type Refusal = { refused: 'JOB_NOT_IN_STATE'; jobId: string; status: JobStatus };
export type Outcome = Transition | Refusal;

export function isRefusal(o: Outcome): o is Refusal {
  return 'refused' in o;
}

function refuse(job: Job): Refusal {
  return { refused: 'JOB_NOT_IN_STATE', jobId: job.jobId, status: job.status };
}

/** Reasons AWS Batch reports, which retry rules (evaluateOnExit) match against. */
export const REASONS = {
  containerExited: 'Essential container in task exited',
  taskFailedToStart: 'Task failed to start',
  timeout: 'Job attempt duration exceeded timeout',
  dependentJobFailed: 'Dependent Job failed',
  hostTerminated: (instance: string) => `Host EC2 (instance ${instance}) terminated.`,
} as const;

export const CANCELLABLE: readonly JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE'];
export const STOPPABLE: readonly JobStatus[] = ['STARTING', 'RUNNING'];

// ---------------------------------------------------------------------------------------------

/**
 * SUBMITTED → PENDING, and on to RUNNABLE in the same step when nothing holds the job back, as
 * AWS evaluates it. An array parent stays PENDING (its children run); a job with unmet
 * dependencies stays PENDING until they succeed (see releaseJob).
 */
export function evaluateSubmitted(job: Job, now: number): Outcome {
  if (job.status !== 'SUBMITTED') return refuse(job);
  if (job.array !== undefined || job.unmetDependencies > 0) {
    return {
      update: { jobId: job.jobId, from: ['SUBMITTED'], set: { status: 'PENDING', statusReason: null } },
      changes: [{ jobId: job.jobId, status: 'PENDING', at: now }],
    };
  }
  return {
    update: { jobId: job.jobId, from: ['SUBMITTED'], set: { status: 'RUNNABLE', statusReason: null, runnableSince: now } },
    changes: [
      { jobId: job.jobId, status: 'PENDING', at: now },
      { jobId: job.jobId, status: 'RUNNABLE', at: now },
    ],
  };
}

/** PENDING → RUNNABLE: the job's dependencies all succeeded. (Array children are released in bulk, see releaseArrayChildren.) */
export function releaseJob(job: Job, now: number): Outcome {
  if (job.status !== 'PENDING' || job.unmetDependencies > 0 || job.array !== undefined) return refuse(job);
  return {
    update: { jobId: job.jobId, from: ['PENDING'], set: { status: 'RUNNABLE', statusReason: null, runnableSince: now } },
    changes: [{ jobId: job.jobId, status: 'RUNNABLE', at: now }],
  };
}

/** SUBMITTED|PENDING → FAILED: a job it depends on failed (AWS's reason; it cascades downstream). */
export function failDependent(job: Job, now: number): Outcome {
  if (job.status !== 'SUBMITTED' && job.status !== 'PENDING') return refuse(job);
  return {
    update: { jobId: job.jobId, from: ['SUBMITTED', 'PENDING'], set: { status: 'FAILED', statusReason: REASONS.dependentJobFailed, stoppedAt: now } },
    changes: [{ jobId: job.jobId, status: 'FAILED', at: now }],
  };
}

/**
 * An array parent's children all finished: SUCCEEDED if every child did and the parent was not
 * cancelled or terminated, else FAILED. A parent never runs itself; it stays PENDING while its
 * children do.
 */
export function finishArray(parent: Job, now: number): Outcome {
  const a = parent.array;
  if (!a || (parent.status !== 'SUBMITTED' && parent.status !== 'PENDING') || a.succeeded + a.failed < a.size) return refuse(parent);
  // A cancelled or terminated parent fails with the reason even if every child it could not stop
  // succeeded (AWS: "The array parent job is canceled when all child jobs are completed").
  const stopped = parent.stopRequestedReason !== undefined;
  const failed = a.failed > 0 || stopped;
  const reason = parent.stopRequestedReason ?? (a.failed > 0 ? `${a.failed} of ${a.size} child jobs failed` : undefined);
  const set: JobPatch = { status: failed ? 'FAILED' : 'SUCCEEDED', stoppedAt: now };
  if (reason !== undefined) set.statusReason = reason;
  return {
    update: { jobId: parent.jobId, from: ['SUBMITTED', 'PENDING'], set },
    changes: [{ jobId: parent.jobId, status: set.status!, at: now }],
  };
}

/** The bulk form of a transition applied to every child of an array that is in `from`. */
export interface ArrayChildrenUpdate {
  parentId: string;
  from: readonly JobStatus[];
  set: JobPatch;
}

/** Children of an array whose dependencies failed: they fail the same way. */
export function failArrayChildrenForDependency(parent: Job, now: number): ArrayChildrenUpdate {
  return {
    parentId: parent.jobId,
    from: ['SUBMITTED', 'PENDING'],
    set: { status: 'FAILED', statusReason: REASONS.dependentJobFailed, stoppedAt: now },
  };
}

/** CancelJob/TerminateJob of an array parent: its children that have not started fail with the reason. */
export function cancelArrayChildren(parent: Job, reason: string, now: number, kind: 'cancel' | 'terminate'): ArrayChildrenUpdate {
  const set: JobPatch = { status: 'FAILED', statusReason: reason, stoppedAt: now };
  if (kind === 'cancel') set.isCancelled = true;
  else set.isTerminated = true;
  return { parentId: parent.jobId, from: CANCELLABLE, set };
}

/**
 * The parent of an array remembers a cancel/terminate (its reason becomes the parent's once the
 * children are done); running children are stopped separately (terminate only).
 */
export function markArrayStopped(parent: Job, reason: string, kind: 'cancel' | 'terminate'): Outcome {
  if (!parent.array || (parent.status !== 'SUBMITTED' && parent.status !== 'PENDING')) return refuse(parent);
  const set: JobPatch = { stopRequestedReason: reason };
  if (kind === 'cancel') set.isCancelled = true;
  else set.isTerminated = true;
  return { update: { jobId: parent.jobId, from: ['SUBMITTED', 'PENDING'], set }, changes: [] };
}

/**
 * An attempt must stop for a reason of the platform's (timeout, Spot reclaim): recorded first so a
 * crash cannot lose why, then the executor stops it.
 */
export function requestAttemptStop(job: Job, cause: Exclude<StopCause, 'TERMINATED'>, reason: string, attempt: number): Outcome {
  if (!STOPPABLE.includes(job.status) || job.attemptCount !== attempt || job.stopCause !== undefined) return refuse(job);
  return {
    update: { jobId: job.jobId, from: STOPPABLE, set: { stopCause: cause, stopRequestedReason: reason } },
    changes: [],
    stopAttempt: attempt,
  };
}

export interface PlacementInfo {
  computeEnvironment: string;
  taskId: string;
  logStreamName: string;
}

/** RUNNABLE → STARTING: the scheduler placed the job; a new attempt begins. */
export function moveToStarting(job: Job, placement: PlacementInfo, now: number): Outcome {
  if (job.status !== 'RUNNABLE') return refuse(job);
  const attempt = job.attemptCount + 1;
  return {
    update: {
      jobId: job.jobId,
      from: ['RUNNABLE'],
      set: { status: 'STARTING', statusReason: null, attemptCount: attempt, computeEnvironment: placement.computeEnvironment },
    },
    insertAttempt: {
      jobId: job.jobId,
      attempt,
      computeEnvironment: placement.computeEnvironment,
      taskId: placement.taskId,
      logStreamName: placement.logStreamName,
      status: 'STARTING',
    },
    changes: [{ jobId: job.jobId, status: 'STARTING', at: now }],
  };
}

/** STARTING → RUNNING: the executor started the attempt's command. */
export function moveToRunning(job: Job, attempt: number, at: number): Outcome {
  if (job.status !== 'STARTING' || job.attemptCount !== attempt) return refuse(job);
  return {
    update: { jobId: job.jobId, from: ['STARTING'], set: { status: 'RUNNING', startedAt: at } },
    patchAttempt: { attempt, patch: { status: 'RUNNING', startedAt: at } },
    changes: [{ jobId: job.jobId, status: 'RUNNING', at }],
  };
}

export interface AttemptExit {
  attempt: number;
  at: number;
  /** When the command started, if known and the job is still STARTING (its RUNNING report came with the exit). */
  startedAt?: number;
  exitCode?: number;
  /** Container-level reason from the executor. */
  reason?: string;
  neverStarted?: boolean;
  lost?: boolean;
  /** The attempt ran past its timeout and was stopped. */
  timedOut?: boolean;
  /** Name of the host the attempt ran on, for host-loss reasons. */
  host?: string;
  /** What the attempt used, where its executor measured it. */
  usage?: { peakMemoryMiB?: number; cpuSeconds?: number };
}

/**
 * STARTING|RUNNING → SUCCEEDED | FAILED | RUNNABLE (retry): the attempt stopped.
 * Terminated, cancelled and timed-out attempts are not retried; otherwise the retry strategy decides.
 */
export function finishAttempt(job: Job, exit: AttemptExit): Outcome {
  if ((job.status !== 'STARTING' && job.status !== 'RUNNING') || job.attemptCount !== exit.attempt) return refuse(job);
  // Why the attempt ended: a stop the platform asked for first, then what the executor saw.
  const cause: StopCause | undefined = job.stopCause ?? (job.stopRequestedReason !== undefined ? 'TERMINATED' : undefined);
  const terminated = cause === 'TERMINATED';
  const timedOut = cause === 'TIMEOUT' || exit.timedOut === true;
  const hostLost = cause === 'RECLAIMED' || exit.lost === true;
  let attemptStatusReason: string;
  if (terminated) attemptStatusReason = job.stopRequestedReason ?? 'Terminated';
  else if (timedOut) attemptStatusReason = REASONS.timeout;
  else if (cause === 'RECLAIMED') attemptStatusReason = job.stopRequestedReason ?? REASONS.hostTerminated(exit.host ?? 'local');
  else if (exit.lost) attemptStatusReason = REASONS.hostTerminated(exit.host ?? 'local');
  else if (exit.neverStarted) attemptStatusReason = REASONS.taskFailedToStart;
  else attemptStatusReason = REASONS.containerExited;

  const succeeded = !terminated && !timedOut && !hostLost && !exit.neverStarted && exit.exitCode === 0;
  // Terminated and timed-out attempts are never retried (AWS); the retry strategy decides the rest.
  const retry =
    !succeeded &&
    !terminated &&
    !timedOut &&
    shouldRetry(job.spec.retryStrategy, exit.attempt, {
      exitCode: exit.exitCode,
      reason: exit.reason,
      statusReason: attemptStatusReason,
    });

  const changes: StatusChange[] = [];
  // An exit that arrives while the job is still STARTING ran nonetheless (its RUNNING report was
  // lost in a restart, or the command exited at once): the job passed through RUNNING.
  const ran = !exit.neverStarted && !exit.lost;
  const set: JobPatch = {};
  const startedAt = exit.startedAt ?? exit.at;
  if (job.status === 'STARTING' && ran) {
    changes.push({ jobId: job.jobId, status: 'RUNNING', at: startedAt });
    set.startedAt = startedAt;
  }
  const next: JobStatus = succeeded ? 'SUCCEEDED' : retry ? 'RUNNABLE' : 'FAILED';
  changes.push({ jobId: job.jobId, status: next, at: exit.at });
  set.status = next;
  if (next === 'RUNNABLE') {
    set.statusReason = null;
    set.runnableSince = exit.at;
    // The stop belonged to this attempt; the next one starts clean.
    if (cause !== undefined) {
      set.stopCause = null;
      set.stopRequestedReason = null;
    }
  } else {
    set.statusReason = attemptStatusReason;
    set.stoppedAt = exit.at;
  }
  const patch: AttemptPatch = {
    status: 'STOPPED',
    stoppedAt: exit.at,
    exitCode: exit.exitCode ?? null,
    reason: exit.reason ?? null,
    statusReason: attemptStatusReason,
  };
  if (job.status === 'STARTING' && ran) patch.startedAt = startedAt;
  if (exit.usage && (exit.usage.peakMemoryMiB !== undefined || exit.usage.cpuSeconds !== undefined)) {
    if (exit.usage.peakMemoryMiB !== undefined) patch.peakMemoryMiB = exit.usage.peakMemoryMiB;
    if (exit.usage.cpuSeconds !== undefined) patch.cpuSeconds = exit.usage.cpuSeconds;
    patch.jobDefinitionName = job.spec.jobDefinitionName;
  }
  return {
    update: { jobId: job.jobId, from: [job.status], set },
    patchAttempt: { attempt: exit.attempt, patch },
    changes,
  };
}

/** CancelJob: SUBMITTED, PENDING and RUNNABLE jobs fail with the reason; later states are left alone. */
export function cancelJob(job: Job, reason: string, now: number): Outcome {
  if (!CANCELLABLE.includes(job.status)) return refuse(job);
  return {
    update: {
      jobId: job.jobId,
      from: CANCELLABLE,
      set: { status: 'FAILED', statusReason: reason, stoppedAt: now, isCancelled: true },
    },
    changes: [{ jobId: job.jobId, status: 'FAILED', at: now }],
  };
}

/**
 * TerminateJob: jobs not yet STARTING are cancelled; STARTING and RUNNING jobs have their attempt
 * stopped (SIGTERM, then SIGKILL) and then fail with the reason (see finishAttempt).
 */
export function terminateJob(job: Job, reason: string, now: number): Outcome {
  if (CANCELLABLE.includes(job.status)) {
    return {
      update: {
        jobId: job.jobId,
        from: CANCELLABLE,
        set: { status: 'FAILED', statusReason: reason, stoppedAt: now, isTerminated: true },
      },
      changes: [{ jobId: job.jobId, status: 'FAILED', at: now }],
    };
  }
  if (STOPPABLE.includes(job.status)) {
    return {
      update: { jobId: job.jobId, from: STOPPABLE, set: { stopRequestedReason: reason, stopCause: 'TERMINATED', isTerminated: true } },
      changes: [],
      stopAttempt: job.attemptCount,
    };
  }
  return refuse(job);
}

/** Applies a patch to an in-memory copy of a job, as the store would. */
export function applyPatch(job: Job, set: JobPatch): Job {
  const next: Job = { ...job };
  for (const [k, v] of Object.entries(set) as [keyof JobPatch, unknown][]) {
    if (v === undefined) continue;
    if (v === null) delete (next as unknown as Record<string, unknown>)[k];
    else (next as unknown as Record<string, unknown>)[k] = v;
  }
  return next;
}
