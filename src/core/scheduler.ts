// The scheduler: a pure function from a snapshot to a plan.
// No clock, no database, no executor in here: `now` and all state come in through the snapshot,
// and what to do goes out as a Plan that the server applies in one transaction.

import type { Resources, ResourceState, ResourceStatus } from './types.js';

/** A RUNNABLE job at (or near) the head of its queue. */
export interface RunnableJob {
  jobId: string;
  /** Submission order; FIFO within a queue. */
  seq: number;
  resources: Resources;
  /** The reason currently stored on the job, so the plan only reports reasons that changed. */
  statusReason?: string;
  /** Fair-share queues: higher runs first within its share (0..9999, default 0). */
  schedulingPriority?: number;
}

/** One share identifier of a fair-share queue, as the scheduler sees it. */
export interface ShareSnapshot {
  shareIdentifier: string;
  /** From the policy's shareDistribution (exact or prefix `*` match); 1 when not listed. Lower gets more. */
  weightFactor: number;
  /** vCPUs its jobs hold now (STARTING/RUNNING) in this queue. */
  runningVcpus: number;
  /** Its recent use, in vCPUs averaged over the policy's decay window (decayed vCPU-seconds / window). */
  recentVcpus: number;
  /** Its RUNNABLE jobs: higher schedulingPriority first, then FIFO. */
  runnable: RunnableJob[];
}

export interface FairShareSnapshot {
  /** 0..99: (computeReservation/100)^activeShares of the queue's capacity is held for inactive shares. */
  computeReservation: number;
  /** Share identifiers with jobs SUBMITTED..RUNNING in the queue. */
  activeShares: number;
  shares: ShareSnapshot[];
}

export interface QueueSnapshot {
  name: string;
  priority: number;
  state: ResourceState;
  /** Compute environment names in ascending `order`. */
  computeEnvironments: string[];
  /** RUNNABLE jobs of this queue in FIFO order (by seq), possibly only the first N. Empty for fair-share queues. */
  runnable: RunnableJob[];
  /** Present for a queue with a fair-share scheduling policy: its jobs come per share instead. */
  fairShare?: FairShareSnapshot;
}

export interface ComputeEnvironmentSnapshot {
  name: string;
  state: ResourceState;
  status: ResourceStatus;
  capacity: Resources;
  /** Resources held by STARTING and RUNNING jobs. */
  used: Resources;
}

export interface SchedulerSnapshot {
  now: number;
  queues: QueueSnapshot[];
  computeEnvironments: ComputeEnvironmentSnapshot[];
}

export interface Placement {
  jobId: string;
  jobQueue: string;
  computeEnvironment: string;
  resources: Resources;
}

export interface Unplaced {
  jobId: string;
  jobQueue: string;
  /** Why the job stays RUNNABLE, AWS-style prefix first, e.g.
   * "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - needs 8 vCPUs, largest compute environment in queue (default) has 4". */
  reason: string;
}

export interface Plan {
  placements: Placement[];
  /** Jobs that could not be placed whose reason differs from the one stored. */
  unplaced: Unplaced[];
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Slack for comparing vCPUs: fractional vCPUs (0.1 + 0.2) must not miss a fit by a rounding error. */
export const EPSILON = 1e-9;

const RESOURCE_KEYS = ['vcpus', 'memory', 'gpus'] as const;

/** Whether `need` fits into `room` in every resource. */
export function fits(need: Resources, room: Resources): boolean {
  return need.vcpus <= room.vcpus + EPSILON && need.memory <= room.memory + EPSILON && need.gpus <= room.gpus + EPSILON;
}

/** Only ENABLED and VALID compute environments take new jobs. */
export function isUsable(ce: ComputeEnvironmentSnapshot): boolean {
  return ce.state === 'ENABLED' && ce.status === 'VALID';
}

/** A plain JS number, without float noise from subtraction (0.30000000000000004 -> 0.3) and without -0. */
export function formatNumber(n: number): string {
  const rounded = Math.round(n * 1e6) / 1e6;
  return String(rounded === 0 ? 0 : rounded);
}

function count(n: number, unit: string): string {
  return `${formatNumber(n)} ${unit}${n === 1 ? '' : 's'}`;
}

/** "2 vCPUs, 2048 MiB" (", 1 GPU" appended when `withGpus`). */
export function formatResources(r: Resources, withGpus = r.gpus > 0): string {
  const parts = [count(r.vcpus, 'vCPU'), `${formatNumber(r.memory)} MiB`];
  if (withGpus) parts.push(count(r.gpus, 'GPU'));
  return parts.join(', ');
}

const REASON_ACTION_REQUIRED = 'ACTION_REQUIRED - ';
const REASON_MAX_RESOURCE = 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - ';
const REASON_CAPACITY = 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - ';
/** How many compute environments a reason names at most, to keep it one short line. */
const MAX_NAMED = 3;

/** A queue as plan() works on it: its usable compute environments resolved once, not per job. */
interface PreparedQueue {
  queue: QueueSnapshot;
  /** ENABLED and VALID compute environments, in the queue's order. */
  usable: ComputeEnvironmentSnapshot[];
  /** The reason for every job of the queue when `usable` is empty. */
  noUsableReason?: string;
}

function noUsableReason(queue: QueueSnapshot, byName: Map<string, ComputeEnvironmentSnapshot>): string {
  const head = `${REASON_ACTION_REQUIRED}no ENABLED and VALID compute environment in job queue ${queue.name}`;
  if (queue.computeEnvironments.length === 0) return `${head} (the queue has no compute environments)`;
  const why = queue.computeEnvironments.map((name) => {
    const ce = byName.get(name);
    if (!ce) return `${name} does not exist`;
    const faults: string[] = [];
    if (ce.state !== 'ENABLED') faults.push(ce.state);
    if (ce.status !== 'VALID') faults.push(ce.status);
    return `${name} is ${faults.join(' and ')}`;
  });
  return `${head} (${why.join(', ')})`;
}

/** Why a job fits none of `usable` even when they are empty; undefined when it fits one of them. */
function maxResourceReason(need: Resources, usable: ComputeEnvironmentSnapshot[]): string | undefined {
  if (usable.some((ce) => fits(need, ce.capacity))) return undefined;
  const problems: string[] = [];
  for (const key of RESOURCE_KEYS) {
    // The largest compute environment for this resource; the first in queue order on a tie.
    let largest = usable[0];
    for (const ce of usable) if (ce.capacity[key] > largest.capacity[key]) largest = ce;
    const max = largest.capacity[key];
    if (need[key] <= max + EPSILON) continue;
    const where = `largest compute environment in queue (${largest.name})`;
    if (key === 'vcpus') problems.push(`needs ${count(need.vcpus, 'vCPU')}, ${where} has ${formatNumber(max)}`);
    else if (key === 'memory')
      problems.push(`needs ${formatNumber(need.memory)} MiB of memory, ${where} has ${formatNumber(max)} MiB`);
    else if (max <= 0) problems.push(`needs ${count(need.gpus, 'GPU')}, no compute environment in queue has GPUs`);
    else problems.push(`needs ${count(need.gpus, 'GPU')}, ${where} has ${formatNumber(max)}`);
  }
  if (problems.length === 0) {
    // Every resource is available somewhere, but never all of them on one compute environment.
    const withGpus = need.gpus > 0;
    const have = usable.slice(0, MAX_NAMED).map((ce) => `${ce.name} has ${formatResources(ce.capacity, withGpus)}`);
    problems.push(
      `needs ${formatResources(need, withGpus)}, no single compute environment in queue has all of it (${have.join('; ')})`,
    );
  }
  return REASON_MAX_RESOURCE + problems.join('; ');
}

function capacityReason(need: Resources, usable: ComputeEnvironmentSnapshot[], free: Map<string, Resources>): string {
  const withGpus = need.gpus > 0;
  // Name the compute environments the job is waiting for: those large enough to ever take it.
  const have = usable
    .filter((ce) => fits(need, ce.capacity))
    .slice(0, MAX_NAMED)
    .map((ce) => {
      const room = free.get(ce.name)!;
      const shown: Resources = {
        vcpus: Math.max(0, room.vcpus),
        memory: Math.max(0, room.memory),
        gpus: Math.max(0, room.gpus),
      };
      return `${ce.name} has ${formatResources(shown, withGpus)} free`;
    });
  return `${REASON_CAPACITY}waiting for capacity: needs ${formatResources(need, withGpus)}; ${have.join('; ')}`;
}

// ---------------------------------------------------------------------------------------------
// plan()

/**
 * Decides which RUNNABLE jobs start where: greedy first-fit over queues by priority, jobs FIFO,
 * compute environments in each queue's order. Pure and deterministic; the snapshot is not changed.
 * A jobId seen more than once (defensively) is decided by its first occurrence only.
 */
export function plan(snapshot: SchedulerSnapshot): Plan {
  // 1. Compute environments by name (the first one wins on a duplicate name) and their free room.
  //    Free room is shared by all queues: what one queue takes, later queues cannot.
  const byName = new Map<string, ComputeEnvironmentSnapshot>();
  const free = new Map<string, Resources>();
  for (const ce of snapshot.computeEnvironments) {
    if (byName.has(ce.name)) continue;
    byName.set(ce.name, ce);
    free.set(ce.name, {
      // A negative `used` would invent room; never offer more than the capacity.
      vcpus: ce.capacity.vcpus - Math.max(0, ce.used.vcpus),
      memory: ce.capacity.memory - Math.max(0, ce.used.memory),
      gpus: ce.capacity.gpus - Math.max(0, ce.used.gpus),
    });
  }

  // 2. Queues by priority, highest first; Array.prototype.sort is stable, so ties keep snapshot order.
  //    Queue state is not consulted: a DISABLED queue takes no new jobs, but its RUNNABLE ones still run.
  const queues: PreparedQueue[] = [...snapshot.queues]
    .sort((a, b) => b.priority - a.priority)
    .map((queue) => {
      const usable: ComputeEnvironmentSnapshot[] = [];
      for (const name of queue.computeEnvironments) {
        const ce = byName.get(name);
        if (ce && isUsable(ce) && !usable.includes(ce)) usable.push(ce);
      }
      return { queue, usable, noUsableReason: usable.length === 0 ? noUsableReason(queue, byName) : undefined };
    });

  // 3. Place each queue's jobs FIFO (by seq; sorted defensively, stable on equal seq) on the first
  //    compute environment with room. A job that does not fit is skipped, not waited for, so a small
  //    job behind a big one still starts.
  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  const decided = new Set<string>();
  for (const { queue, usable, noUsableReason: queueReason } of queues) {
    const jobs = [...queue.runnable].sort((a, b) => a.seq - b.seq);
    for (const job of jobs) {
      if (decided.has(job.jobId)) continue;
      decided.add(job.jobId);
      const need = job.resources;

      let target: ComputeEnvironmentSnapshot | undefined;
      for (const ce of usable) {
        if (fits(need, free.get(ce.name)!)) {
          target = ce;
          break;
        }
      }
      if (target) {
        const room = free.get(target.name)!;
        room.vcpus -= need.vcpus;
        room.memory -= need.memory;
        room.gpus -= need.gpus;
        placements.push({
          jobId: job.jobId,
          jobQueue: queue.name,
          computeEnvironment: target.name,
          resources: { vcpus: need.vcpus, memory: need.memory, gpus: need.gpus },
        });
        continue;
      }

      // 4. Why it stays RUNNABLE, most actionable first; reported only when it changed, so an
      //    unchanged reason is not rewritten every cycle.
      const reason = queueReason ?? maxResourceReason(need, usable) ?? capacityReason(need, usable, free);
      if (reason !== job.statusReason) unplaced.push({ jobId: job.jobId, jobQueue: queue.name, reason });
    }
  }
  return { placements, unplaced };
}
