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
  /** vCPUs its jobs hold now (STARTING/RUNNING) in this queue; what computeReservation counts. */
  runningVcpus: number;
  /**
   * Its recent use, in vCPUs averaged over the policy's decay window (decayed vCPU-seconds /
   * window), including what its running jobs have used so far: the figure shares are ordered by.
   */
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
  const what = withGpus && usable.some((ce) => fits(need, ce.capacity) && free.get(ce.name)!.gpus < need.gpus - EPSILON) ? 'GPUs' : 'capacity';
  return `${REASON_CAPACITY}waiting for ${what}: needs ${formatResources(need, withGpus)}; ${have.join('; ')}`;
}

// ---------------------------------------------------------------------------------------------
// Placing jobs (shared by FIFO and fair-share queues)

/** What plan() builds up while it walks the queues. */
interface Placing {
  /** Free room per compute environment, shared by all queues: what one takes, later ones cannot. */
  free: Map<string, Resources>;
  placements: Placement[];
  unplaced: Unplaced[];
  /** Job ids already placed or reported (a duplicate id is decided by its first occurrence). */
  decided: Set<string>;
}

/** The first compute environment of the queue, in its order, with room for the job now. */
function findRoom(p: Placing, prepared: PreparedQueue, job: RunnableJob): ComputeEnvironmentSnapshot | undefined {
  return prepared.usable.find((ce) => fits(job.resources, p.free.get(ce.name)!));
}

function place(p: Placing, prepared: PreparedQueue, job: RunnableJob, ce: ComputeEnvironmentSnapshot): void {
  const need = job.resources;
  const room = p.free.get(ce.name)!;
  room.vcpus -= need.vcpus;
  room.memory -= need.memory;
  room.gpus -= need.gpus;
  p.placements.push({
    jobId: job.jobId,
    jobQueue: prepared.queue.name,
    computeEnvironment: ce.name,
    resources: { vcpus: need.vcpus, memory: need.memory, gpus: need.gpus },
  });
}

/** Why the job stays RUNNABLE, most actionable first. */
function whyNot(p: Placing, prepared: PreparedQueue, job: RunnableJob): string {
  return (
    prepared.noUsableReason ??
    maxResourceReason(job.resources, prepared.usable) ??
    capacityReason(job.resources, prepared.usable, p.free)
  );
}

/** Reported only when it changed, so an unchanged reason is not rewritten every cycle. */
function report(p: Placing, prepared: PreparedQueue, job: RunnableJob, reason: string): void {
  if (reason !== job.statusReason) p.unplaced.push({ jobId: job.jobId, jobQueue: prepared.queue.name, reason });
}

// ---------------------------------------------------------------------------------------------
// Fair share

/** A share of a fair-share queue while plan() gives out turns. */
interface ShareTurn {
  share: ShareSnapshot;
  /** Position in the snapshot: the last tie-break, so the order is total and deterministic. */
  index: number;
  weight: number;
  /** recentVcpus: fixed for the plan. */
  recent: number;
  /** vCPUs placed for the share in this plan. */
  placed: number;
  /** Its RUNNABLE jobs in its own order; `next` is the one it tries on its next turn. */
  jobs: RunnableJob[];
  next: number;
}

function weightedUsage(t: ShareTurn): number {
  // Rounded so that equal usages (1 x 2 vCPUs and 0.5 x 4 vCPUs) tie despite float noise.
  return Math.round(t.weight * (t.recent + t.placed) * 1e9) / 1e9;
}

/** Whether `a` has its turn before `b`: lower weighted usage, then lower weightFactor, then shareIdentifier. */
function turnBefore(a: ShareTurn, b: ShareTurn): boolean {
  const ua = weightedUsage(a);
  const ub = weightedUsage(b);
  if (ua !== ub) return ua < ub;
  if (a.weight !== b.weight) return a.weight < b.weight;
  if (a.share.shareIdentifier !== b.share.shareIdentifier) return a.share.shareIdentifier < b.share.shareIdentifier;
  return a.index < b.index;
}

/** A binary min-heap by turnBefore: the next share in O(log shares), as a queue may have 500 active shares. */
class TurnHeap {
  private readonly items: ShareTurn[] = [];

  get size(): number {
    return this.items.length;
  }

  push(t: ShareTurn): void {
    const h = this.items;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!turnBefore(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  pop(): ShareTurn | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < h.length && turnBefore(h[l], h[best])) best = l;
      if (r < h.length && turnBefore(h[r], h[best])) best = r;
      if (best === i) break;
      [h[i], h[best]] = [h[best], h[i]];
      i = best;
    }
    return top;
  }
}

/** A non-negative finite number, else 0: usage figures come from counters that must not invent room. */
function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * A fair-share queue: turns go to the share with the lowest weighted usage, weightFactor x
 * (recentVcpus + vCPUs placed for it in this plan); each turn tries the share's next job (higher
 * schedulingPriority first, then FIFO) exactly as a FIFO queue tries its jobs, and a job that
 * does not fit is reported while the share goes on to its next one. `queue.runnable` is not used.
 *
 * runningVcpus is deliberately not part of the order (recentVcpus already counts running jobs as
 * they run): added on top, whole running jobs are compared against averages, and the long-run
 * split drifts with the compute environment's size. Simulated with weights 1 and 0.5 and 1-vCPU
 * jobs, the 0.5 share's vCPU-seconds over the 1.0 share's came out 1.0 (N=2 vCPUs), 1.5 (N=5),
 * 1.67 (N=8) instead of 2; ordered by recentVcpus alone it stays within 1.67..2 for every N.
 *
 * computeReservation caps what the queue's jobs together may hold (runningVcpus plus this plan's
 * placements) at (1 - (computeReservation/100)^activeShares) of its usable compute environments' vCPUs.
 */
function planFairShare(p: Placing, prepared: PreparedQueue, fairShare: FairShareSnapshot): void {
  const turns = new TurnHeap();
  let held = 0;
  let activeSeen = 0;
  fairShare.shares.forEach((share, index) => {
    const running = nonNegative(share.runningVcpus);
    held += running;
    if (share.runnable.length > 0 || running > 0) activeSeen++;
    if (share.runnable.length === 0) return;
    const jobs = [...share.runnable].sort(
      (a, b) => (b.schedulingPriority ?? 0) - (a.schedulingPriority ?? 0) || a.seq - b.seq,
    );
    const weight = share.weightFactor > 0 && Number.isFinite(share.weightFactor) ? share.weightFactor : 1;
    turns.push({ share, index, weight, recent: nonNegative(share.recentVcpus), placed: 0, jobs, next: 0 });
  });

  // A share with jobs here is active whatever the snapshot counted.
  const active = Math.max(fairShare.activeShares, activeSeen);
  const reservation = Math.min(99, nonNegative(fairShare.computeReservation));
  const capacity = prepared.usable.reduce((sum, ce) => sum + ce.capacity.vcpus, 0);
  const reservedFraction = reservation > 0 ? (reservation / 100) ** active : 0;
  const limit = capacity * (1 - reservedFraction);

  for (let turn = turns.pop(); turn !== undefined; turn = turns.pop()) {
    const job = turn.jobs[turn.next++];
    if (!p.decided.has(job.jobId)) {
      p.decided.add(job.jobId);
      const target = findRoom(p, prepared, job);
      if (!target) {
        report(p, prepared, job, whyNot(p, prepared, job));
      } else if (reservation > 0 && held + job.resources.vcpus > limit + EPSILON) {
        report(p, prepared, job, reservationReason(prepared, job, reservation, active, capacity, limit, held));
      } else {
        place(p, prepared, job, target);
        held += job.resources.vcpus;
        turn.placed += job.resources.vcpus;
      }
    }
    if (turn.next < turn.jobs.length) turns.push(turn);
  }
}

function reservationReason(
  prepared: PreparedQueue,
  job: RunnableJob,
  reservation: number,
  active: number,
  capacity: number,
  limit: number,
  held: number,
): string {
  const need = job.resources;
  const percent = formatNumber(100 * (reservation / 100) ** active);
  return (
    `${REASON_CAPACITY}waiting for capacity: needs ${formatResources(need, need.gpus > 0)}; ` +
    `computeReservation ${formatNumber(reservation)} keeps ${percent}% of job queue ${prepared.queue.name}'s ` +
    `${count(capacity, 'vCPU')} for inactive shares (${count(active, 'active share')}), ` +
    `and its jobs hold ${formatNumber(held)} of the ${formatNumber(limit)} vCPUs they may use`
  );
}

// ---------------------------------------------------------------------------------------------
// plan()

/**
 * Decides which RUNNABLE jobs start where: greedy first-fit over queues by priority, jobs FIFO
 * (fair-share queues: by share, see planFairShare), compute environments in each queue's order.
 * Pure and deterministic; the snapshot is not changed. A jobId seen more than once (defensively)
 * is decided by its first occurrence only.
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

  // 3. Each queue in turn places what fits; a job that fits nowhere now is reported with its reason.
  const placing: Placing = { free, placements: [], unplaced: [], decided: new Set<string>() };
  for (const prepared of queues) {
    if (prepared.queue.fairShare) {
      planFairShare(placing, prepared, prepared.queue.fairShare);
      continue;
    }
    // FIFO queues: jobs by seq (sorted defensively, stable on equal seq) on the first compute
    // environment with room. A job that does not fit is skipped, not waited for, so a small job
    // behind a big one still starts.
    const jobs = [...prepared.queue.runnable].sort((a, b) => a.seq - b.seq);
    for (const job of jobs) {
      if (placing.decided.has(job.jobId)) continue;
      placing.decided.add(job.jobId);
      const target = findRoom(placing, prepared, job);
      if (target) place(placing, prepared, job, target);
      else report(placing, prepared, job, whyNot(placing, prepared, job));
    }
  }
  return { placements: placing.placements, unplaced: placing.unplaced };
}
