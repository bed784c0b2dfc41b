// The loops that move jobs: the scheduling cycle (SUBMITTED → RUNNABLE → STARTING, then
// dispatch to executors) and the attempt-event flush (RUNNING, exits, retries). Both work in
// batches, one store transaction each, and touch the executors only after their commit: a crash
// between commit and dispatch loses nothing, because recovery (see recover()) finds the
// STARTING attempt and the executor tells whether it ever started.
//
// No polling: a cycle runs when something signals it (a submit, an exit that freed capacity, a
// change to a queue or compute environment) and repeats only while it makes progress.

import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Arns } from '../core/arn.js';
import { addResources, assignGpuIndices, gpuInventory, subtractResources, type HostResources } from '../core/capacity.js';
import { plan as makePlan, type Plan, type QueueSnapshot, type RunnableJob, type SchedulerSnapshot } from '../core/scheduler.js';
import {
  applyPatch,
  cancelJob,
  evaluateSubmitted,
  finishAttempt,
  isRefusal,
  moveToRunning,
  moveToStarting,
  REASONS,
  requestAttemptStop,
  terminateJob,
  type Outcome,
} from '../core/transitions.js';
import { ZERO_RESOURCES, type Attempt, type Job, type JobQueue, type Resources } from '../core/types.js';
import { attemptKey, type AttemptContainerSettings, type AttemptEvent, type AttemptSpec, type Executor } from '../executors/executor.js';
import type { JobGraph } from '../service/job-graph.js';
import type { Registry } from '../service/registry.js';
import type { ServiceHooks } from '../service/context.js';
import type { JobObserver } from '../service/observer.js';
import { logLocation } from '../core/log-location.js';
import { nodeEnvironment, nodeJobId } from '../core/multinode.js';
import type { Store, StoreTx } from '../store/store.js';
import { Deadlines } from './deadlines.js';
import { buildFairShareSnapshot, FairShareUsage } from './fair-share.js';
import type { SecretStore } from './secrets.js';

type JobSecret = { name: string; valueFrom: string };
type TimeLimitAction = { reason: string; state: string; maxTimeSeconds: number; action: string };

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export interface JobRuntimeDeps {
  store: Store;
  registry: Registry;
  arns: Arns;
  executors: Map<string, Executor>;
  now: () => number;
  newUuid: () => string;
  log: Logger;
  graph: JobGraph;
  /** Randomness for Spot interruptions (tests pass their own). */
  random?: () => number;
  secrets?: SecretStore;
  /** The host's GPU device indices (nvidia-smi), from which compute environments' GPUs are numbered. */
  host?: Pick<HostResources, 'gpuIndices'>;
  /** Metrics: scheduling cycles and attempts reaching RUNNING (src/server/metrics.ts). */
  observer?: JobObserver;
  /** Told which attempts run (e.g. the log archive, which indexes their output while they run). */
  attemptObserver?: AttemptObserver;
}

/** Learns of attempts as the runtime does: handed to an executor or adopted, then their events. */
export interface AttemptObserver {
  /** Dispatched to its executor, or found STARTING/RUNNING at start (startedAt, when known). */
  attemptStarted(spec: AttemptSpec, startedAt?: number): void;
  /** An executor's event (running, exited), as it arrives. */
  attemptEvent(event: AttemptEvent): void;
}

/** RUNNABLE jobs read per queue per cycle; a cycle that fills them all runs again. */
const HEADS_PER_QUEUE = 256;
/** RUNNABLE jobs read from a queue that has no room anywhere: enough for its head's reason. */
const HEADS_WITHOUT_ROOM = 16;
/** How many waiting-for-capacity reasons a queue stores per cycle (its head; the rest are derived on describe). */
const STORED_CAPACITY_REASONS = 16;
/** Backoff after a failed cycle or flush (the store was unavailable, say). */
const RETRY_DELAY_MS = 1000;
/** Tag on a SPOT/FARGATE_SPOT compute environment: chance per attempt-hour that Spot reclaims an attempt. */
export const SPOT_RATE_TAG = 'openbatch:spotInterruptionRate';
const SPOT_SWEEP_MS = 5000;
/** How often one attempt event may fail to apply before it is dropped. */
const MAX_EVENT_TRIES = 5;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class JobRuntime implements ServiceHooks {
  /** Resources held by STARTING/RUNNING jobs per compute environment; mirrors the store. */
  private readonly usage = new Map<string, Resources>();
  private submitted: string[] = [];
  private events: AttemptEvent[] = [];
  private cycleState: 'idle' | 'scheduled' | 'running' = 'idle';
  private cycleAgain = false;
  private flushState: 'idle' | 'scheduled' | 'running' = 'idle';
  private closed = false;
  private readonly host = os.hostname();
  /** Last cycle's outcome, for "why is my job RUNNABLE" and metrics. */
  lastCycle = { at: 0, placed: 0, durationMs: 0 };
  /** Attempt timeouts (attemptDurationSeconds), counted from each attempt's startedAt. */
  private readonly timeouts: Deadlines<{ jobId: string; attempt: number }>;
  /** When the next queue time-limit action comes due: a cycle then looks at the queues' heads. */
  private readonly timeLimits: Deadlines<null>;
  private spotTimer?: NodeJS.Timeout;
  /** Each share's running and recent use, for fair-share queues (rebuilt from running jobs at start). */
  private readonly fairShare = new FairShareUsage();
  /** GPU device indices held by STARTING/RUNNING attempts, per compute environment; rebuilt from the attempts at start. */
  private readonly gpusInUse = new Map<string, Set<number>>();
  /** The same, by attempt key, to release them when the attempt exits. */
  private readonly gpusByKey = new Map<string, { ce: string; indices: number[] }>();

  constructor(private readonly deps: JobRuntimeDeps) {
    for (const ex of deps.executors.values()) ex.onEvent((e) => this.onAttemptEvent(e));
    this.timeouts = new Deadlines(deps.now, (due) => void this.stopForPlatform(due, 'TIMEOUT'));
    this.timeLimits = new Deadlines(deps.now, () => this.schedule());
  }

  /** Instance id reported for attempts on a compute environment: `i-` and 17 hex digits, stable per host and compute environment. */
  instanceId(ce: string): string {
    return 'i-' + createHash('sha256').update(`${this.host}/${ce}`).digest('hex').slice(0, 17);
  }

  usageOf(ce: string): Resources {
    return this.usage.get(ce) ?? ZERO_RESOURCES;
  }

  /** The device indices of a compute environment's GPUs. */
  gpuInventory(ce: string): number[] {
    return gpuInventory(this.deps.registry.computeEnvironments.get(ce)?.capacity.gpus ?? 0, this.deps.host ?? {});
  }

  /** GPU device indices held now on a compute environment. */
  gpusInUseOn(ce: string): number[] {
    return [...(this.gpusInUse.get(ce) ?? [])].sort((a, b) => a - b);
  }

  private holdGpus(key: string, ce: string, indices: number[] | undefined): void {
    if (!indices || indices.length === 0 || this.gpusByKey.has(key)) return;
    const set = this.gpusInUse.get(ce) ?? new Set<number>();
    for (const i of indices) set.add(i);
    this.gpusInUse.set(ce, set);
    this.gpusByKey.set(key, { ce, indices });
  }

  private releaseGpus(key: string): void {
    const held = this.gpusByKey.get(key);
    if (!held) return;
    this.gpusByKey.delete(key);
    const set = this.gpusInUse.get(held.ce);
    if (set) for (const i of held.indices) set.delete(i);
  }

  // ----- ServiceHooks

  jobsSubmitted(jobIds: readonly string[]): void {
    for (const id of jobIds) this.submitted.push(id);
    this.kick();
  }

  /**
   * Queues whose situation changed since the last cycle: new RUNNABLE jobs, freed capacity on one
   * of their compute environments. A cycle looks only at these (and at all after an outside
   * change): a queue where nothing changed would get the same answer as last time, so the work
   * per cycle follows what changed, not the backlog.
   */
  private readonly dirtyQueues = new Set<string>();
  private allQueuesDirty = true;

  private markQueue(queue: string): void {
    this.dirtyQueues.add(queue);
  }

  /** Capacity freed on a compute environment: every queue that uses it may place again. */
  private markComputeEnvironment(ce: string): void {
    const arn = this.deps.registry.computeEnvironments.get(ce)?.computeEnvironmentArn;
    for (const q of this.deps.registry.jobQueues.values()) {
      if (q.computeEnvironmentOrder.some((o) => o.computeEnvironment === arn)) this.dirtyQueues.add(q.jobQueueName);
    }
  }

  /** Something outside changed (a queue, a compute environment, a policy): every queue is looked at again. */
  schedule(): void {
    this.allQueuesDirty = true;
    this.kick();
  }

  /** Runs a cycle soon; it looks at the queues marked dirty. */
  private kick(): void {
    if (this.closed) return;
    if (this.cycleState === 'running') {
      this.cycleAgain = true;
      return;
    }
    if (this.cycleState === 'scheduled') return;
    this.cycleState = 'scheduled';
    // setImmediate lets the submits of this turn join one cycle.
    setImmediate(() => void this.runCycles());
  }

  stopAttempt(job: Job, attempt: number): void {
    const ex = this.executorFor(job.computeEnvironment);
    ex?.stop(attemptKey(job.jobId, attempt));
  }

  /**
   * The platform stops attempts: a timeout, or a Spot reclaim. The cause is committed first, so
   * a crash cannot forget why; then the executors stop them. Returns the jobs it applied to.
   */
  async stopForPlatform(items: { jobId: string; attempt: number }[], cause: 'TIMEOUT' | 'RECLAIMED'): Promise<string[]> {
    const stops: { job: Job; attempt: number }[] = [];
    try {
      await this.deps.store.transaction(async (tx) => {
        stops.length = 0;
        for (const job of await tx.getJobs(items.map((i) => i.jobId))) {
          const item = items.find((i) => i.jobId === job.jobId)!;
          const reason = cause === 'TIMEOUT' ? REASONS.timeout : REASONS.hostTerminated(this.instanceId(job.computeEnvironment ?? ''));
          const outcome = requestAttemptStop(job, cause, reason, item.attempt);
          if (await this.apply(tx, outcome)) stops.push({ job, attempt: item.attempt });
        }
      });
    } catch (e) {
      this.deps.log.error({ err: e, cause }, 'could not record an attempt stop; retrying');
      if (cause === 'TIMEOUT') for (const i of items) this.timeouts.add(this.deps.now() + RETRY_DELAY_MS, i);
      return [];
    }
    for (const s of stops) this.stopAttempt(s.job, s.attempt);
    return stops.map((s) => s.job.jobId);
  }

  /** Spot reclaim of one running job (the fault-injection hook); false if it is not STARTING/RUNNING. */
  async reclaim(jobId: string): Promise<boolean> {
    const job = await this.deps.store.getJob(jobId);
    if (!job || (job.status !== 'STARTING' && job.status !== 'RUNNING')) return false;
    return (await this.stopForPlatform([{ jobId, attempt: job.attemptCount }], 'RECLAIMED')).length > 0;
  }

  /**
   * Spot interruptions at a rate: compute environments tagged `openbatch:spotInterruptionRate`
   * (the chance, per attempt-hour, that an attempt's host is reclaimed) lose attempts at random.
   */
  private async spotSweep(): Promise<void> {
    const rates = new Map<string, number>();
    for (const ce of this.deps.registry.computeEnvironments.values()) {
      const type = ce.computeResources?.type;
      const rate = Number(ce.tags[SPOT_RATE_TAG]);
      if ((type === 'SPOT' || type === 'FARGATE_SPOT') && rate > 0) rates.set(ce.computeEnvironmentName, rate);
    }
    if (rates.size === 0) return;
    const chance = (rate: number) => 1 - Math.exp((-rate * SPOT_SWEEP_MS) / 3_600_000);
    let afterSeq = 0;
    const doomed: { jobId: string; attempt: number }[] = [];
    for (;;) {
      const page = await this.deps.store.jobsByStatus(['RUNNING'], afterSeq, 1000);
      for (const j of page) {
        const rate = rates.get(j.computeEnvironment ?? '');
        if (rate !== undefined && this.random() < chance(rate)) doomed.push({ jobId: j.jobId, attempt: j.attemptCount });
      }
      if (page.length < 1000) break;
      afterSeq = page[page.length - 1].seq;
    }
    if (doomed.length > 0) await this.stopForPlatform(doomed, 'RECLAIMED');
  }

  private random(): number {
    return (this.deps.random ?? Math.random)();
  }

  // ----- startup

  /**
   * Rebuilds in-memory state from the store and reconciles attempts that were STARTING or
   * RUNNING when the server stopped. Adopt before anything is retried: an attempt that is still
   * running must never get a second one beside it.
   */
  async recover(): Promise<{ submitted: number; adopted: number; restarted: number; lost: number }> {
    const { store } = this.deps;
    for (const [ce, r] of await store.activeUsage()) this.usage.set(ce, r);
    this.fairShare.load(await store.activeShareUsage(), this.deps.now());
    let afterSeq = 0;
    for (;;) {
      const page = await store.jobsByStatus(['SUBMITTED'], afterSeq, 10_000);
      for (const j of page) this.submitted.push(j.jobId);
      if (page.length < 10_000) break;
      afterSeq = page[page.length - 1].seq;
    }
    const counts = { submitted: this.submitted.length, adopted: 0, restarted: 0, lost: 0 };
    afterSeq = 0;
    for (;;) {
      const page = await store.jobsByStatus(['STARTING', 'RUNNING'], afterSeq, 1000);
      const byExecutor = new Map<Executor, { job: Job; spec: AttemptSpec }[]>();
      for (const job of page) {
        // A multi-node job's parent runs nothing itself: its nodes are adopted as jobs of their own.
        if (isMultiNodeParent(job)) continue;
        this.armTimeout(job);
        const attempt = await store.getAttempt(job.jobId, job.attemptCount);
        if (attempt) this.holdGpus(attemptKey(job.jobId, attempt.attempt), attempt.computeEnvironment, attempt.gpuIndices);
        const ex = this.executorFor(job.computeEnvironment);
        if (!attempt || !ex) {
          // Nothing to reattach to; report it lost so the retry strategy decides.
          this.onAttemptEvent({ type: 'exited', key: attemptKey(job.jobId, job.attemptCount), jobId: job.jobId, attempt: job.attemptCount, at: this.deps.now(), lost: true, reason: 'CannotInspectContainerError: the attempt has no executor' });
          counts.lost++;
          continue;
        }
        const list = byExecutor.get(ex) ?? [];
        list.push({ job, spec: this.attemptSpec(job, attempt) });
        this.deps.attemptObserver?.attemptStarted(list[list.length - 1].spec, attempt.startedAt);
        byExecutor.set(ex, list);
      }
      for (const [ex, items] of byExecutor) {
        const outcomes = await ex.adopt(items.map((i) => i.spec));
        const byKey = new Map(items.map((i) => [i.spec.key, i]));
        for (const o of outcomes) {
          const item = byKey.get(o.key);
          if (!item) continue;
          switch (o.outcome) {
            case 'running':
              counts.adopted++;
              if (item.job.status === 'STARTING') {
                this.onAttemptEvent({ type: 'running', key: o.key, jobId: item.job.jobId, attempt: item.spec.attempt, at: o.startedAt ?? this.deps.now() });
              }
              if (item.job.stopCause !== undefined || item.job.stopRequestedReason !== undefined) ex.stop(o.key);
              break;
            case 'not-started':
              counts.restarted++;
              if (item.job.stopRequestedReason !== undefined) {
                // Terminated before it ever started: finish it without running it.
                this.onAttemptEvent({ type: 'exited', key: o.key, jobId: item.job.jobId, attempt: item.spec.attempt, at: this.deps.now(), neverStarted: true });
              } else {
                this.dispatch(ex, item.spec, item.job.spec.container.secrets as JobSecret[] | undefined);
              }
              break;
            case 'lost':
              counts.lost++;
              break;
            case 'exited':
              break;
          }
        }
      }
      if (page.length < 1000) break;
      afterSeq = page[page.length - 1].seq;
    }
    this.spotTimer = setInterval(() => void this.spotSweep().catch((e) => this.deps.log.error({ err: e }, 'Spot sweep failed')), SPOT_SWEEP_MS);
    this.spotTimer.unref();
    this.schedule();
    return counts;
  }

  /** A RUNNING attempt with a timeout gets its deadline (from its startedAt, as AWS counts). */
  private armTimeout(job: Job): void {
    const secs = job.spec.timeout?.attemptDurationSeconds;
    if (secs === undefined || job.status !== 'RUNNING' || job.startedAt === undefined || job.stopCause !== undefined) return;
    this.timeouts.add(job.startedAt + secs * 1000, { jobId: job.jobId, attempt: job.attemptCount });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timeouts.close();
    this.timeLimits.close();
    if (this.spotTimer) clearInterval(this.spotTimer);
    // Let an in-flight cycle or flush finish its transaction.
    for (let i = 0; i < 200 && (this.cycleState === 'running' || this.flushState === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // ----- the scheduling cycle

  private async runCycles(): Promise<void> {
    this.cycleState = 'running';
    try {
      let keepGoing = true;
      while (keepGoing && !this.closed) {
        this.cycleAgain = false;
        keepGoing = (await this.cycle()) || this.cycleAgain;
        // SQLite work is synchronous: yield to the event loop between cycles so that requests and
        // attempt events are served while a long backlog is being placed.
        if (keepGoing) await yieldToEventLoop();
      }
    } catch (e) {
      this.deps.log.error({ err: e }, 'scheduling cycle failed; retrying');
      this.allQueuesDirty = true;
      setTimeout(() => this.schedule(), RETRY_DELAY_MS).unref();
    } finally {
      this.cycleState = 'idle';
      if (this.cycleAgain && !this.closed) this.kick();
    }
  }

  /**
   * One cycle, one transaction:
   *   1. evaluate SUBMITTED jobs (→ RUNNABLE);
   *   2. snapshot: each queue's RUNNABLE heads, each compute environment's capacity and usage;
   *   3. plan (pure);
   *   4. apply: placed jobs → STARTING with a new attempt; reasons of jobs left waiting;
   * then, after the commit, 5. dispatch the placed attempts to their executors.
   * Returns whether another cycle could place more.
   */
  private async cycle(): Promise<boolean> {
    const { store, registry, now } = this.deps;
    const started = Date.now();
    const submitted = this.submitted;
    this.submitted = [];
    let dispatch: { ex: Executor; spec: AttemptSpec; ce: string; resources: Resources; secrets?: JobSecret[]; share?: string; at: number }[] = [];
    let keepGoing = false;
    try {
      await store.transaction(async (tx) => {
        dispatch = [];
        // 1. SUBMITTED → PENDING / RUNNABLE; an array parent releases its children.
        if (submitted.length > 0) {
          const t = now();
          for (const job of await tx.getJobs(submitted)) {
            const outcome = evaluateSubmitted(job, t);
            if (!(await this.apply(tx, outcome)) || isRefusal(outcome)) continue;
            this.markQueue(job.jobQueue);
            if (job.array) await this.deps.graph.topUpArray(tx, applyPatch(job, outcome.update.set));
          }
        }
        // 2. snapshot
        const queues: QueueSnapshot[] = [];
        const all = this.allQueuesDirty;
        const dirty = new Set(this.dirtyQueues);
        this.allQueuesDirty = false;
        this.dirtyQueues.clear();
        for (const q of registry.jobQueues.values()) {
          if (!all && !dirty.has(q.jobQueueName)) continue;
          // With no room on any of its compute environments nothing can be placed: read only the
          // first few jobs (for their reasons and time limits), not a full window.
          const heads = this.hasRoom(q) ? HEADS_PER_QUEUE : HEADS_WITHOUT_ROOM;
          const base = {
            name: q.jobQueueName,
            priority: q.priority,
            state: q.state,
            computeEnvironments: registry.queueComputeEnvironments(q).map((ce) => ce.computeEnvironmentName),
          };
          if (q.schedulingPolicyArn !== undefined) {
            // Fair share: the heads of each share, and each share's recent use.
            const shares = [];
            for (const shareIdentifier of await tx.runnableShares(q.jobQueueName)) {
              shares.push({ shareIdentifier, runnable: await tx.runnableHeadsForShare(q.jobQueueName, shareIdentifier, heads) });
            }
            if (shares.length === 0) continue;
            const policy = registry.findSchedulingPolicy(q.schedulingPolicyArn)?.fairsharePolicy;
            queues.push({ ...base, runnable: [], fairShare: buildFairShareSnapshot(policy, shares, undefined, this.fairShare, q.jobQueueName, now()) });
            continue;
          }
          const runnable = await tx.runnableHeads(q.jobQueueName, heads);
          if (runnable.length === 0) continue;
          queues.push({ ...base, runnable });
        }
        if (queues.length === 0) return;
        const snapshot: SchedulerSnapshot = {
          now: now(),
          queues,
          computeEnvironments: [...registry.computeEnvironments.values()].map((ce) => ({
            name: ce.computeEnvironmentName,
            state: ce.state,
            status: ce.status,
            capacity: ce.capacity,
            used: this.usageOf(ce.computeEnvironmentName),
          })),
        };
        // 3. plan
        const plan = makePlan(snapshot);
        // 4. apply
        const placedJobs = new Map((await tx.getJobs(plan.placements.map((p) => p.jobId))).map((j) => [j.jobId, j]));
        const placedQueues = new Set<string>();
        const newAttempts: Attempt[] = [];
        const t = now();
        // GPU device indices taken by this cycle's placements, on top of those held (committed after the transaction).
        const cycleGpus = new Map<string, Set<number>>();
        for (const p of plan.placements) {
          const job = placedJobs.get(p.jobId);
          const ce = registry.computeEnvironments.get(p.computeEnvironment);
          const ex = this.executorFor(p.computeEnvironment);
          if (!job || !ce || !ex) continue;
          if (isMultiNodeParent(job)) {
            // Gang-scheduled: the parent holds every node's resources from here; the main node starts now, the others once it runs.
            const taken = cycleGpus.get(p.computeEnvironment) ?? new Set(this.gpusInUse.get(p.computeEnvironment));
            cycleGpus.set(p.computeEnvironment, taken);
            const main = await this.placeMultiNode(tx, job, p.computeEnvironment, t, taken);
            if (!main) continue;
            newAttempts.push(main.attempt);
            placedQueues.add(p.jobQueue);
            dispatch.push({ ex, spec: main.spec, ce: p.computeEnvironment, resources: p.resources, secrets: main.node.spec.container.secrets as JobSecret[] | undefined, at: t });
            continue;
          }
          let gpuIndices: number[] | undefined;
          let taken: Set<number> | undefined;
          if (p.resources.gpus > 0) {
            taken = cycleGpus.get(p.computeEnvironment) ?? new Set(this.gpusInUse.get(p.computeEnvironment));
            cycleGpus.set(p.computeEnvironment, taken);
            gpuIndices = assignGpuIndices(this.gpuInventory(p.computeEnvironment), taken, p.resources.gpus);
            // The scheduler counted GPUs free; the indices disagree only if the inventory changed under it.
            if (!gpuIndices) continue;
          }
          const taskId = this.deps.newUuid().replace(/-/g, '');
          const { logStreamName } = logLocation(job, taskId);
          const outcome = moveToStarting(job, { computeEnvironment: p.computeEnvironment, taskId, logStreamName }, t);
          if (isRefusal(outcome) || !(await tx.updateJob(outcome.update))) continue;
          if (gpuIndices && taken) {
            outcome.insertAttempt!.gpuIndices = gpuIndices;
            for (const i of gpuIndices) taken.add(i);
          }
          newAttempts.push(outcome.insertAttempt!);
          placedQueues.add(p.jobQueue);
          dispatch.push({
            ex,
            spec: this.attemptSpec({ ...job, attemptCount: outcome.insertAttempt!.attempt }, outcome.insertAttempt!),
            ce: p.computeEnvironment,
            resources: p.resources,
            secrets: job.spec.container.secrets as JobSecret[] | undefined,
            share: job.shareIdentifier,
            at: t,
          });
        }
        await tx.insertAttempts(newAttempts);
        // Reasons. Waiting for capacity is the normal state of a busy queue: its reason is stored
        // only on the first jobs of a queue that made no progress this cycle (while a queue moves,
        // such reasons go stale at once and rewriting them is wasted work); DescribeJobs gives the
        // others one. Reasons that need someone to act (MISCONFIGURATION, ACTION_REQUIRED) are
        // always stored.
        // A capacity reason that is not stored still clears an older reason of another kind (an
        // ACTION_REQUIRED that no longer holds), so DescribeJobs derives the current one.
        const capacityReasons = new Map<string, number>();
        const storedReasons = new Map<string, string | undefined>();
        for (const q of queues) {
          for (const j of q.runnable) storedReasons.set(j.jobId, j.statusReason);
          for (const sh of q.fairShare?.shares ?? []) for (const j of sh.runnable) storedReasons.set(j.jobId, j.statusReason);
        }
        for (const u of plan.unplaced) {
          let reason: string | null = u.reason;
          if (u.reason.startsWith('CAPACITY:')) {
            const n = capacityReasons.get(u.jobQueue) ?? 0;
            if (placedQueues.has(u.jobQueue) || n >= STORED_CAPACITY_REASONS) {
              const stored = storedReasons.get(u.jobId);
              if (stored === undefined || stored.startsWith('CAPACITY:')) continue;
              reason = null;
            } else {
              capacityReasons.set(u.jobQueue, n + 1);
            }
          }
          await tx.updateJob({ jobId: u.jobId, from: ['RUNNABLE'], set: { statusReason: reason } });
        }
        // A queue that filled its window and placed jobs may have more to place: look again.
        for (const q of queues) {
          const full = q.runnable.length === HEADS_PER_QUEUE || (q.fairShare?.shares.some((sh) => sh.runnable.length === HEADS_PER_QUEUE) ?? false);
          if (full && placedQueues.has(q.name)) {
            this.markQueue(q.name);
            keepGoing = true;
          }
        }
        // 4b. Queue time-limit actions on jobs stuck at the head of their queue.
        if (await this.applyTimeLimits(tx, queues, plan, placedJobs)) keepGoing = true;
      });
    } catch (e) {
      this.submitted = submitted.concat(this.submitted);
      this.allQueuesDirty = true;
      throw e;
    }
    // 5. dispatch what was committed
    for (const d of dispatch) {
      this.usage.set(d.ce, addResources(this.usageOf(d.ce), d.resources));
      this.holdGpus(d.spec.key, d.ce, d.spec.gpuIndices);
      if (d.share !== undefined) this.fairShare.started(d.spec.jobQueue, d.share, d.resources.vcpus, d.at);
    }
    for (const d of dispatch) this.dispatch(d.ex, d.spec, d.secrets);
    this.lastCycle = { at: Date.now(), placed: dispatch.length, durationMs: Date.now() - started };
    this.deps.observer?.cycleFinished(this.lastCycle.durationMs, this.lastCycle.placed);
    return keepGoing;
  }

  /** Hands an attempt to its executor, with its secrets; a secret that cannot be found fails it. */
  private dispatch(ex: Executor, spec: AttemptSpec, secrets: JobSecret[] | undefined): void {
    const resolved = this.deps.secrets?.resolve(secrets);
    if (resolved && !resolved.ok) {
      // As AWS does when it cannot fetch a secret: the attempt fails and the command never runs.
      this.onAttemptEvent({ type: 'exited', key: spec.key, jobId: spec.jobId, attempt: spec.attempt, at: this.deps.now(), neverStarted: true, reason: resolved.reason });
      return;
    }
    if (resolved) Object.assign(spec.environment, resolved.environment);
    this.deps.attemptObserver?.attemptStarted(spec);
    ex.start(spec);
  }

  /**
   * jobStateTimeLimitActions: the job at the head of a queue that has been RUNNABLE longer than
   * maxTimeSeconds with a reason the action names is cancelled, as AWS does. Returns whether it
   * cancelled one (the next head is then looked at in another cycle).
   */
  private async applyTimeLimits(tx: StoreTx, queues: QueueSnapshot[], plan: Plan, placed: Map<string, Job>): Promise<boolean> {
    const now = this.deps.now();
    let cancelled = false;
    const reasons = new Map(plan.unplaced.map((u) => [u.jobId, u.reason]));
    for (const qs of queues) {
      const q = this.deps.registry.jobQueues.get(qs.name);
      const actions = (q?.jobStateTimeLimitActions ?? []) as TimeLimitAction[];
      if (actions.length === 0) continue;
      const heads = qs.fairShare ? qs.fairShare.shares.flatMap((s) => s.runnable) : qs.runnable;
      const head = heads.reduce<RunnableJob | undefined>((a, b) => (a === undefined || b.seq < a.seq ? b : a), undefined);
      if (!head || placed.has(head.jobId)) continue;
      const reason = reasons.get(head.jobId) ?? head.statusReason;
      const action = actions.find((a) => a.state === 'RUNNABLE' && a.action === 'CANCEL' && reason?.startsWith(a.reason));
      if (!action) continue;
      const job = await tx.getJob(head.jobId);
      if (!job || job.status !== 'RUNNABLE') continue;
      const due = (job.runnableSince ?? job.createdAt) + action.maxTimeSeconds * 1000;
      if (due > now) {
        this.timeLimits.add(due, null);
        continue;
      }
      const outcome = cancelJob(job, `Canceled by JobStateTimeLimit action due to reason: ${action.reason}`, now);
      if (!(await this.apply(tx, outcome))) continue;
      await this.deps.graph.settle(tx, [{ ...job, status: 'FAILED' }]);
      // The next job is now the head: the next cycle looks at this queue again.
      this.markQueue(qs.name);
      cancelled = true;
    }
    return cancelled;
  }

  /** Applies a transition in the transaction; false if it was refused or fenced out. */
  private async apply(tx: StoreTx, outcome: Outcome): Promise<boolean> {
    if (isRefusal(outcome)) return false;
    if (!(await tx.updateJob(outcome.update))) return false;
    if (outcome.insertAttempt) await tx.insertAttempt(outcome.insertAttempt);
    if (outcome.patchAttempt) await tx.updateAttempt(outcome.update.jobId, outcome.patchAttempt.attempt, outcome.patchAttempt.patch);
    return true;
  }

  // ----- attempt events

  private onAttemptEvent(e: AttemptEvent): void {
    this.deps.attemptObserver?.attemptEvent(e);
    this.events.push(e);
    if (this.flushState === 'idle') {
      this.flushState = 'scheduled';
      setImmediate(() => void this.flushEvents());
    }
  }

  /**
   * Applies the attempt events received so far, in arrival order, one transaction per batch. If a
   * batch fails, its events are tried one by one so that one bad event cannot hold up the rest; an
   * event that keeps failing is dropped after a few tries (and logged) rather than wedge the loop.
   */
  private async flushEvents(): Promise<void> {
    this.flushState = 'running';
    let retryLater = false;
    try {
      let first = true;
      while (this.events.length > 0 && !this.closed) {
        if (!first) await yieldToEventLoop();
        first = false;
        const events = this.events;
        this.events = [];
        try {
          await this.applyEvents(events);
        } catch (err) {
          if (events.length === 1) {
            this.eventFailed(events[0], err);
            retryLater = true;
            continue;
          }
          for (const e of events) {
            try {
              await this.applyEvents([e]);
            } catch (err1) {
              this.eventFailed(e, err1);
              retryLater = true;
            }
          }
        }
        if (retryLater) break;
      }
    } finally {
      this.flushState = 'idle';
    }
    if (retryLater && !this.closed) {
      setTimeout(() => {
        if (this.flushState === 'idle' && this.events.length > 0) {
          this.flushState = 'scheduled';
          void this.flushEvents();
        }
      }, RETRY_DELAY_MS).unref();
    }
  }

  private readonly eventFailures = new Map<AttemptEvent, number>();

  private eventFailed(e: AttemptEvent, err: unknown): void {
    const n = (this.eventFailures.get(e) ?? 0) + 1;
    if (n >= MAX_EVENT_TRIES) {
      this.eventFailures.delete(e);
      this.deps.log.error({ err, event: e }, `attempt event failed ${n} times; dropped (the job is reconciled on the next restart)`);
      return;
    }
    this.eventFailures.set(e, n);
    this.deps.log.error({ err, event: e }, 'applying an attempt event failed; will retry');
    this.events.unshift(e);
  }

  /** One transaction for a batch of events; after the commit, releases capacity and signals a cycle. */
  private async applyEvents(events: AttemptEvent[]): Promise<void> {
    const released: { ce: string; resources: Resources; ex?: Executor; key: string; job: Job; at: number }[] = [];
    const nodeStarts: { ex: Executor; spec: AttemptSpec; secrets?: JobSecret[] }[] = [];
    const nodeStops: { job: Job; attempt: number }[] = [];
    await this.deps.store.transaction(async (tx) => {
      released.length = 0;
      nodeStarts.length = 0;
      nodeStops.length = 0;
      const finished: Job[] = [];
      const jobs = new Map((await tx.getJobs([...new Set(events.map((e) => e.jobId))])).map((j) => [j.jobId, j]));
      // A command that started and exited within one batch (most short jobs) is written once:
      // its exit carries the start time, and the job passes through RUNNING in that one update.
      const exiting = new Set(events.filter((e) => e.type === 'exited').map((e) => e.key));
      const startedAt = new Map<string, number>();
      for (const e of events) {
        if (e.type === 'running' && exiting.has(e.key)) {
          startedAt.set(e.key, Math.round(e.at));
          continue;
        }
        const job = jobs.get(e.jobId);
        if (!job) continue;
        // Timestamps are whole epoch milliseconds (file times from executors are fractional).
        const at = Math.round(e.at);
        const outcome =
          e.type === 'running'
            ? moveToRunning(job, e.attempt, at)
            : finishAttempt(job, {
                attempt: e.attempt,
                at,
                exitCode: e.exitCode,
                reason: e.reason,
                neverStarted: e.neverStarted,
                lost: e.lost,
                startedAt: startedAt.get(e.key),
                host: this.instanceId(job.computeEnvironment ?? ''),
                usage: e.usage,
              });
        if (!(await this.apply(tx, outcome)) || isRefusal(outcome)) {
          this.deps.log.debug({ event: e, status: job.status }, 'attempt event does not apply; ignored');
          continue;
        }
        const after = applyPatch(job, outcome.update.set);
        jobs.set(job.jobId, after);
        if (after.startedAt !== undefined && after.startedAt !== job.startedAt) this.deps.observer?.attemptRunning(job, after);
        if (after.status === 'RUNNING') this.armTimeout(after);
        if (after.status === 'RUNNABLE') this.markQueue(after.jobQueue); // a retry
        if (e.type === 'exited' && job.computeEnvironment) {
          // A node's resources are held by its parent (released when the parent finishes).
          const node = job.nodeParentId !== undefined;
          released.push({ ce: job.computeEnvironment, resources: node ? ZERO_RESOURCES : job.spec.resources, ex: this.executorFor(job.computeEnvironment), key: e.key, job: node ? { ...job, shareIdentifier: undefined } : job, at });
        }
        if (after.status === 'SUCCEEDED' || after.status === 'FAILED') finished.push(after);
        if (job.nodeParentId !== undefined) await this.followMainNode(tx, job, after, at, { released, nodeStarts, nodeStops, finished });
      }
      // Array parents, dependents, capped arrays: what follows from these jobs finishing. What it
      // releases may be in any queue (dependents) or the same one (children): mark them.
      if (finished.length > 0) {
        await this.deps.graph.settle(tx, finished);
        for (const f of finished) {
          if (f.hasDependents) this.allQueuesDirty = true;
          else if (f.arrayParentId !== undefined) this.markQueue(f.jobQueue);
        }
      }
    });
    for (const e of events) this.eventFailures.delete(e);
    for (const n of nodeStarts) {
      this.holdGpus(n.spec.key, n.spec.computeEnvironment, n.spec.gpuIndices);
      this.dispatch(n.ex, n.spec, n.secrets);
    }
    for (const n of nodeStops) this.stopAttempt(n.job, n.attempt);
    for (const r of released) {
      this.usage.set(r.ce, subtractResources(this.usageOf(r.ce), r.resources));
      this.releaseGpus(r.key);
      this.markComputeEnvironment(r.ce);
      if (r.job.shareIdentifier !== undefined) {
        this.fairShare.stopped(r.job.jobQueue, r.job.shareIdentifier, r.resources.vcpus, r.job.startedAt, r.at);
      }
      r.ex?.release?.(r.key);
    }
    if (released.length > 0 || this.dirtyQueues.size > 0 || this.allQueuesDirty) this.kick();
  }

  /** Whether any usable compute environment of the queue has a vCPU to spare. */
  private hasRoom(q: JobQueue): boolean {
    for (const ce of this.deps.registry.queueComputeEnvironments(q)) {
      if (ce.state !== 'ENABLED' || ce.status !== 'VALID') continue;
      const used = this.usageOf(ce.computeEnvironmentName);
      if (ce.capacity.vcpus - used.vcpus > 1e-9 && ce.capacity.memory - used.memory > 0) return true;
    }
    return false;
  }

  // ----- multi-node parallel jobs

  /** A node PENDING → STARTING with its first attempt on the parent's compute environment. */
  private async startNode(tx: StoreTx, node: Job, ce: string, at: number, taken: Set<number>): Promise<Attempt | undefined> {
    // GPUs: the parent holds the count for all nodes; each node gets its own device indices as it starts.
    let gpuIndices: number[] | undefined;
    if (node.spec.resources.gpus > 0) {
      gpuIndices = assignGpuIndices(this.gpuInventory(ce), taken, node.spec.resources.gpus);
      if (!gpuIndices) return undefined;
    }
    const taskId = this.deps.newUuid().replace(/-/g, '');
    const { logStreamName } = logLocation(node, taskId);
    const outcome = moveToStarting({ ...node, status: 'RUNNABLE' }, { computeEnvironment: ce, taskId, logStreamName }, at);
    if (isRefusal(outcome) || node.status !== 'PENDING') return undefined;
    outcome.update.from = ['PENDING'];
    if (!(await tx.updateJob(outcome.update))) return undefined;
    if (gpuIndices) {
      outcome.insertAttempt!.gpuIndices = gpuIndices;
      for (const i of gpuIndices) taken.add(i);
    }
    return outcome.insertAttempt!;
  }

  /** The scheduler placed a multi-node job: the parent goes STARTING (no attempt of its own) and its main node starts. */
  private async placeMultiNode(tx: StoreTx, parent: Job, ce: string, at: number, taken: Set<number>): Promise<{ node: Job; attempt: Attempt; spec: AttemptSpec } | undefined> {
    const np = parent.spec.nodeProperties!;
    const main = await tx.getJob(nodeJobId(parent.jobId, np.mainNode));
    if (!main) return undefined;
    const up = moveToStarting(parent, { computeEnvironment: ce, taskId: '', logStreamName: '' }, at);
    if (isRefusal(up) || !(await tx.updateJob(up.update))) return undefined;
    const attempt = await this.startNode(tx, main, ce, at, taken);
    if (!attempt) return undefined;
    const spec = this.attemptSpec({ ...main, status: 'STARTING', attemptCount: attempt.attempt, computeEnvironment: ce }, attempt);
    return { node: main, attempt, spec };
  }

  /**
   * What a node's change means for its job: the main node RUNNING starts the other nodes (and the
   * parent RUNS); the main node ending ends the parent with its result, stops the other nodes and
   * releases what the parent held.
   */
  private async followMainNode(
    tx: StoreTx,
    node: Job,
    after: Job,
    at: number,
    out: {
      released: { ce: string; resources: Resources; ex?: Executor; key: string; job: Job; at: number }[];
      nodeStarts: { ex: Executor; spec: AttemptSpec; secrets?: JobSecret[] }[];
      nodeStops: { job: Job; attempt: number }[];
      finished: Job[];
    },
  ): Promise<void> {
    const np = node.spec.nodeProperties;
    if (!np || node.nodeIndex !== np.mainNode || node.nodeParentId === undefined) return;
    const parent = await tx.getJob(node.nodeParentId);
    if (!parent || (parent.status !== 'STARTING' && parent.status !== 'RUNNING')) return;
    const ce = parent.computeEnvironment ?? node.computeEnvironment ?? '';
    const others: Job[] = [];
    for (let i = 0; i < np.numNodes; i++) {
      if (i === np.mainNode) continue;
      const other = await tx.getJob(nodeJobId(parent.jobId, i));
      if (other) others.push(other);
    }
    if (after.status === 'RUNNING') {
      await tx.updateJob({ jobId: parent.jobId, from: ['STARTING'], set: { status: 'RUNNING', startedAt: after.startedAt ?? at } });
      const ex = this.executorFor(ce);
      const attempts: Attempt[] = [];
      const taken = new Set(this.gpusInUse.get(ce));
      for (const n of out.nodeStarts) for (const i of n.spec.gpuIndices ?? []) taken.add(i);
      for (const other of others) {
        const attempt = ex ? await this.startNode(tx, other, ce, at, taken) : undefined;
        if (!attempt || !ex) continue;
        attempts.push(attempt);
        out.nodeStarts.push({
          ex,
          spec: this.attemptSpec({ ...other, status: 'STARTING', attemptCount: attempt.attempt, computeEnvironment: ce }, attempt),
          secrets: other.spec.container.secrets as JobSecret[] | undefined,
        });
      }
      await tx.insertAttempts(attempts);
      return;
    }
    if (after.status !== 'SUCCEEDED' && after.status !== 'FAILED') return;
    // The job's result is the main node's.
    const set = {
      status: after.status,
      statusReason: after.statusReason ?? null,
      stoppedAt: at,
      ...(parent.startedAt === undefined && after.startedAt !== undefined ? { startedAt: after.startedAt } : {}),
    };
    if (!(await tx.updateJob({ jobId: parent.jobId, from: ['STARTING', 'RUNNING'], set }))) return;
    out.finished.push(applyPatch(parent, set));
    out.released.push({ ce, resources: parent.spec.resources, key: '', job: { ...parent, shareIdentifier: undefined }, at });
    for (const other of others) {
      const stop = terminateJob(other, `Main node ${np.mainNode} exited (${after.status})`, at);
      if (!(await this.apply(tx, stop)) || isRefusal(stop)) continue;
      if (stop.stopAttempt !== undefined) out.nodeStops.push({ job: other, attempt: stop.stopAttempt });
    }
  }

  // ----- helpers

  private executorFor(ceName: string | undefined): Executor | undefined {
    if (!ceName) return undefined;
    const ce = this.deps.registry.computeEnvironments.get(ceName);
    return this.deps.executors.get(ce?.executor ?? 'local');
  }

  /** What the executor needs for an attempt, AWS_BATCH_* environment included. */
  attemptSpec(job: Job, attempt: Attempt): AttemptSpec {
    const environment: Record<string, string> = {};
    for (const kv of job.spec.environment) environment[kv.name] = kv.value;
    environment.AWS_BATCH_JOB_ID = job.jobId;
    environment.AWS_BATCH_JOB_ATTEMPT = String(attempt.attempt);
    environment.AWS_BATCH_CE_NAME = attempt.computeEnvironment;
    environment.AWS_BATCH_JQ_NAME = job.jobQueue;
    const np = job.spec.nodeProperties;
    if (job.nodeParentId !== undefined && job.nodeIndex !== undefined && np) {
      // Nodes are processes on this host: the main node is reached at the loopback address.
      Object.assign(environment, nodeEnvironment(job.nodeIndex, np.numNodes, np.mainNode, '127.0.0.1'));
    }
    if (job.arrayIndex !== undefined) {
      environment.AWS_BATCH_JOB_ARRAY_INDEX = String(job.arrayIndex);
      environment.AWS_BATCH_JOB_ARRAY_SIZE = String(job.spec.arrayProperties?.size ?? '');
    }
    if (attempt.gpuIndices && attempt.gpuIndices.length > 0) {
      // The GPUs given at placement, and only those.
      environment.CUDA_VISIBLE_DEVICES = attempt.gpuIndices.join(',');
      environment.NVIDIA_VISIBLE_DEVICES = attempt.gpuIndices.join(',');
    }
    const { logGroupName } = logLocation(job, attempt.taskId);
    const spec: AttemptSpec = {
      key: attemptKey(job.jobId, attempt.attempt),
      jobId: job.jobId,
      attempt: attempt.attempt,
      jobName: job.jobName,
      jobQueue: job.jobQueue,
      computeEnvironment: attempt.computeEnvironment,
      command: job.spec.command,
      environment,
      vcpus: job.spec.resources.vcpus,
      memory: job.spec.resources.memory,
      gpus: job.spec.resources.gpus,
      logGroupName,
      logStreamName: attempt.logStreamName,
    };
    if (job.spec.container.image !== undefined) spec.image = job.spec.container.image;
    if (job.spec.timeout?.attemptDurationSeconds) spec.timeoutSeconds = job.spec.timeout.attemptDurationSeconds;
    if (attempt.gpuIndices && attempt.gpuIndices.length > 0) spec.gpuIndices = [...attempt.gpuIndices];
    // The definition's container settings, for executors that run containers (AWS shapes as given).
    const c = job.spec.container as Record<string, unknown>;
    const container: Record<string, unknown> = {};
    for (const k of CONTAINER_SETTINGS) if (c[k] !== undefined && c[k] !== null) container[k] = c[k];
    if (Object.keys(container).length > 0) spec.container = container as AttemptContainerSettings;
    return spec;
  }
}

/** containerProperties members handed to executors in `AttemptSpec.container`. */
const CONTAINER_SETTINGS = [
  'mountPoints',
  'volumes',
  'user',
  'privileged',
  'readonlyRootFilesystem',
  'ulimits',
  'linuxParameters',
  'jobRoleArn',
  'executionRoleArn',
] as const;

/** The parent of a multi-node parallel job: placed by the scheduler, runs nothing itself. */
function isMultiNodeParent(job: Job): boolean {
  return job.spec.nodeProperties !== undefined && job.nodeParentId === undefined;
}
