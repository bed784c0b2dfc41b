// An in-memory OpenBatch for scheduler simulations: jobs, attempts, compute environments and job
// queues held in maps, driven the way the server drives them. A scheduling cycle evaluates
// SUBMITTED jobs, builds a SchedulerSnapshot, calls plan() and applies it with moveToStarting and
// the reasons' fenced updates (as src/server/job-runtime.ts does); attempt events go through
// moveToRunning / finishAttempt; what follows from jobs finishing (dependents, array parents,
// capped arrays) runs through the real JobGraph (src/service/job-graph.ts) over an in-memory
// StoreTx; SubmitJob's dependency resolution and CancelJob/TerminateJob mirror src/service/jobs.ts.
// Fair-share usage is the server's own FairShareUsage.
//
// Deliberately simpler than the runtime in three ways, so that plan()'s own promises can be
// checked exactly: a cycle looks at every queue (not only those marked dirty), reads all of a
// queue's RUNNABLE jobs (no window of heads), and stores every reason the plan reports (the
// runtime stores waiting-for-capacity reasons only at the head of a queue that made no progress).
//
// Nothing here asserts: the property tests watch it through onWrite() and the public state.

import { addResources, subtractResources } from '../../src/core/capacity.js';
import { plan as makePlan, type Plan, type QueueSnapshot, type RunnableJob, type SchedulerSnapshot } from '../../src/core/scheduler.js';
import {
  applyPatch,
  cancelArrayChildren,
  cancelJob,
  evaluateSubmitted,
  failArrayChildrenForDependency,
  failDependent,
  finishAttempt,
  isRefusal,
  markArrayStopped,
  moveToRunning,
  moveToStarting,
  REASONS,
  requestAttemptStop,
  STOPPABLE,
  terminateJob,
  type ArrayChildrenUpdate,
  type JobUpdate,
  type Outcome,
} from '../../src/core/transitions.js';
import {
  ZERO_RESOURCES,
  type ArrayState,
  type FairsharePolicy,
  type Job,
  type JobStatus,
  type ResourceState,
  type Resources,
} from '../../src/core/types.js';
import { buildFairShareSnapshot, FairShareUsage } from '../../src/server/fair-share.js';
import { JobGraph } from '../../src/service/job-graph.js';
import type { DependencyEdge, StoreTx } from '../../src/store/store.js';

export interface SimComputeEnvironment {
  name: string;
  state: ResourceState;
  capacity: Resources;
}

export interface SimQueue {
  name: string;
  priority: number;
  /** Compute environment names in ascending order. */
  computeEnvironments: string[];
  /** A fair-share queue when present. */
  policy?: FairsharePolicy;
}

export interface SubmitInput {
  queue: string;
  resources: Resources;
  arraySize?: number;
  /** SEQUENTIAL: child i+1 waits for child i (arrays only). */
  sequential?: boolean;
  /** openbatch:maxConcurrency (arrays only). */
  maxConcurrency?: number;
  /** Plain dependencies: whole jobs (an array parent counts once all its children are done). */
  dependsOn?: string[];
  /** N_TO_N dependencies: arrays of the same size (arrays only). */
  nToN?: string[];
  shareIdentifier?: string;
  schedulingPriority?: number;
  /** retryStrategy.attempts. */
  attempts?: number;
  /** Chance that an attempt exits 1 instead of 0 (decided by a hash of job id and attempt, so replays agree). */
  failRate?: number;
}

/** An attempt the executor holds: placed and not yet exited. */
export interface LiveAttempt {
  key: string;
  jobId: string;
  attempt: number;
  computeEnvironment: string;
  resources: Resources;
  queue: string;
  share?: string;
  placedAt: number;
}

/** What one scheduling cycle saw and did. */
export interface CycleResult {
  snapshot?: SchedulerSnapshot;
  plan?: Plan;
  /** Usage per compute environment when the snapshot was taken. */
  usedBefore: Map<string, Resources>;
  placed: LiveAttempt[];
}

/** Statuses that hold one of a capped array's slots (as JobGraph counts them). */
export const ACTIVE_CHILD: readonly JobStatus[] = ['RUNNABLE', 'STARTING', 'RUNNING'];

/** A deterministic number in [0, 1) from a string (FNV-1a), for scripted attempt outcomes. */
export function hashUnit(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}

function copyJob(j: Job): Job {
  const c: Job = { ...j };
  if (j.array) c.array = { ...j.array };
  return c;
}

export class SimWorld {
  now = 1_700_000_000_000;
  readonly jobs = new Map<string, Job>();
  /** Job ids per status, kept in step with `jobs`. */
  private readonly byStatus = new Map<JobStatus, Set<string>>();
  /** Top-level jobs (not array children) in submission order. */
  readonly topLevel: string[] = [];
  readonly children = new Map<string, string[]>();
  private readonly dependentsIndex = new Map<string, DependencyEdge[]>();
  /**
   * The model's own view of what each job waits for, from the submit alone (not from the
   * edges the store keeps): the jobs that must all have SUCCEEDED before it may run.
   */
  readonly requires = new Map<string, string[]>();
  readonly failRate = new Map<string, number>();
  readonly ces = new Map<string, SimComputeEnvironment>();
  readonly queues: SimQueue[];
  /** Resources held per compute environment, kept as the runtime keeps it (added at dispatch, released at exit). */
  readonly usage = new Map<string, Resources>();
  readonly fairShare = new FairShareUsage();
  readonly live = new Map<string, LiveAttempt>();
  private submitted: string[] = [];
  private nextId = 1;
  private nextSeq = 1;
  private readonly graph = new JobGraph(() => this.now);
  private readonly tx: StoreTx;
  /** Called on every write of a job (before → after); the tests check transitions here. */
  onWrite?: (before: Job | undefined, after: Job) => void;

  constructor(ces: SimComputeEnvironment[], queues: SimQueue[]) {
    for (const c of ces) this.ces.set(c.name, { ...c, capacity: { ...c.capacity } });
    this.queues = queues;
    this.tx = this.makeTx();
  }

  // ----- the store

  private write(next: Job): void {
    const before = this.jobs.get(next.jobId);
    if (before && before.status !== next.status) this.byStatus.get(before.status)?.delete(next.jobId);
    let set = this.byStatus.get(next.status);
    if (!set) this.byStatus.set(next.status, (set = new Set()));
    set.add(next.jobId);
    this.jobs.set(next.jobId, next);
    this.onWrite?.(before, next);
  }

  /** A fenced update, as the SQL store applies it. */
  private update(u: JobUpdate): boolean {
    const job = this.jobs.get(u.jobId);
    if (!job || !u.from.includes(job.status)) return false;
    this.write(applyPatch(job, u.set));
    return true;
  }

  private apply(o: Outcome): boolean {
    return !isRefusal(o) && this.update(o.update);
  }

  withStatus(...statuses: JobStatus[]): Job[] {
    const out: Job[] = [];
    for (const s of statuses) for (const id of this.byStatus.get(s) ?? []) out.push(this.jobs.get(id)!);
    return out;
  }

  countStatus(status: JobStatus): number {
    return this.byStatus.get(status)?.size ?? 0;
  }

  private childrenIn(parentId: string, statuses: readonly JobStatus[]): Job[] {
    const out: Job[] = [];
    for (const id of this.children.get(parentId) ?? []) {
      const c = this.jobs.get(id)!;
      if (statuses.includes(c.status)) out.push(c);
    }
    return out;
  }

  /** The in-memory StoreTx that JobGraph works through (only what it uses). */
  private makeTx(): StoreTx {
    const w = this;
    const tx: Partial<StoreTx> = {
      async getJobs(ids) {
        return ids.map((id) => w.jobs.get(id)).filter((j): j is Job => j !== undefined).map(copyJob);
      },
      async getJob(id) {
        const j = w.jobs.get(id);
        return j && copyJob(j);
      },
      async updateJob(u) {
        return w.update(u);
      },
      async dependentsOf(ids) {
        return [...new Set(ids)].flatMap((id) => w.dependentsIndex.get(id) ?? []);
      },
      async decrementUnmetDependencies(counts) {
        const out: { jobId: string; unmetDependencies: number; status: JobStatus }[] = [];
        for (const [id, n] of counts) {
          const j = w.jobs.get(id);
          if (!j) continue;
          w.write({ ...j, unmetDependencies: j.unmetDependencies - n });
          out.push({ jobId: id, unmetDependencies: j.unmetDependencies - n, status: j.status });
        }
        return out;
      },
      async releaseArrayChildren(parentId, now, limit) {
        let n = 0;
        for (const id of w.children.get(parentId) ?? []) {
          if (limit !== undefined && n >= limit) break;
          const c = w.jobs.get(id)!;
          if (c.status !== 'PENDING' || c.unmetDependencies !== 0) continue;
          w.write(applyPatch(c, { status: 'RUNNABLE', statusReason: null, runnableSince: now }));
          n++;
        }
        return n;
      },
      async updateArrayChildren(parentId, from, set) {
        const list = w.childrenIn(parentId, from);
        for (const c of list) w.write(applyPatch(c, set));
        return list.length;
      },
      async arrayChildren(parentId, statuses, limit) {
        return w.childrenIn(parentId, statuses).slice(0, limit).map(copyJob);
      },
      async countArrayChildren(parentId, statuses) {
        return w.childrenIn(parentId, statuses).length;
      },
      async addArrayProgress(parentId, succeeded, failed, now) {
        const p = w.jobs.get(parentId);
        if (!p?.array) return undefined;
        const array: ArrayState = { ...p.array, succeeded: p.array.succeeded + succeeded, failed: p.array.failed + failed, summaryUpdatedAt: now };
        w.write({ ...p, array });
        return { ...array };
      },
    };
    return tx as StoreTx;
  }

  // ----- SubmitJob (src/service/jobs.ts: submit, planDependencies, failAtSubmit)

  async submit(input: SubmitInput): Promise<string> {
    const size = input.arraySize;
    const jobId = `j${this.nextId++}`;
    const seq = this.nextSeq;
    this.nextSeq += 1 + (size ?? 0);
    const job: Job = {
      jobId,
      jobName: jobId,
      jobQueue: input.queue,
      status: 'SUBMITTED',
      createdAt: this.now,
      seq,
      spec: {
        jobDefinitionArn: 'arn:aws:batch:us-east-1:000000000000:job-definition/sim:1',
        jobDefinitionName: 'sim',
        container: {},
        command: ['true'],
        environment: [],
        resources: { ...input.resources },
        parameters: {},
        dependsOn: [],
        tags: {},
        ...(input.attempts !== undefined ? { retryStrategy: { attempts: input.attempts } } : {}),
      },
      attemptCount: 0,
      unmetDependencies: 0,
      schedulingPriority: input.schedulingPriority ?? 0,
    };
    if (input.shareIdentifier !== undefined) job.shareIdentifier = input.shareIdentifier;
    if (size !== undefined) job.array = { size, succeeded: 0, failed: 0, ...(input.maxConcurrency !== undefined ? { maxConcurrency: input.maxConcurrency } : {}) };
    this.failRate.set(jobId, input.failRate ?? 0);

    const plain = [...new Set(input.dependsOn ?? [])];
    const nToN = size === undefined ? [] : [...new Set(input.nToN ?? [])].filter((id) => this.jobs.get(id)?.array?.size === size && !plain.includes(id));
    this.requires.set(jobId, plain);

    const edges: DependencyEdge[] = [];
    const bornFailed: Job[] = [];
    let failedDependency = false;
    for (const id of plain) {
      const dep = this.jobs.get(id)!;
      if (dep.status === 'SUCCEEDED') continue;
      if (dep.status === 'FAILED') failedDependency = true;
      else {
        edges.push({ jobId, dependsOn: id });
        job.unmetDependencies++;
      }
    }
    if (failedDependency) bornFailed.push(job);
    const children: Job[] = [];
    for (let i = 0; i < (size ?? 0); i++) {
      const child: Job = {
        jobId: `${jobId}:${i}`,
        jobName: job.jobName,
        jobQueue: job.jobQueue,
        status: 'PENDING',
        createdAt: this.now,
        seq: seq + 1 + i,
        spec: job.spec,
        attemptCount: 0,
        unmetDependencies: 0,
        schedulingPriority: job.schedulingPriority,
        arrayParentId: jobId,
        arrayIndex: i,
      };
      if (job.shareIdentifier !== undefined) child.shareIdentifier = job.shareIdentifier;
      const requires = [...plain];
      if (input.sequential && i > 0) {
        edges.push({ jobId: child.jobId, dependsOn: `${jobId}:${i - 1}` });
        child.unmetDependencies++;
        requires.push(`${jobId}:${i - 1}`);
      }
      let doomed = false;
      for (const other of nToN) {
        const pair = `${other}:${i}`;
        requires.push(pair);
        const st = this.jobs.get(pair)!.status;
        if (st === 'SUCCEEDED') continue;
        if (st === 'FAILED') doomed = true;
        else {
          edges.push({ jobId: child.jobId, dependsOn: pair });
          child.unmetDependencies++;
        }
      }
      if (doomed && !failedDependency) bornFailed.push(child);
      children.push(child);
      this.requires.set(child.jobId, requires);
      this.failRate.set(child.jobId, input.failRate ?? 0);
    }

    this.topLevel.push(jobId);
    for (const j of [job, ...children]) this.write(j);
    if (children.length > 0) this.children.set(jobId, children.map((c) => c.jobId));
    for (const e of edges) {
      const list = this.dependentsIndex.get(e.dependsOn) ?? [];
      list.push(e);
      this.dependentsIndex.set(e.dependsOn, list);
      const target = this.jobs.get(e.dependsOn)!;
      if (!target.hasDependents) this.write({ ...target, hasDependents: true });
    }
    if (bornFailed.length > 0) {
      const finished: Job[] = [];
      for (const b of bornFailed) {
        const j = this.jobs.get(b.jobId)!;
        const t = failDependent(j, this.now);
        if (!this.apply(t)) continue;
        finished.push({ ...j, status: 'FAILED' });
        if (j.array) finished.push(...(await this.graph.applyToChildren(this.tx, failArrayChildrenForDependency(j, this.now))));
      }
      await this.graph.settle(this.tx, finished);
    }
    this.submitted.push(jobId);
    return jobId;
  }

  // ----- CancelJob / TerminateJob (src/service/jobs.ts: stopInTransaction, stopArray)

  async stop(jobId: string, reason: string, kind: 'cancel' | 'terminate'): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job) return;
    if (job.array) {
      const t = markArrayStopped(job, reason, kind);
      if (!this.apply(t)) return;
      if (kind === 'terminate') {
        for (const child of this.childrenIn(jobId, STOPPABLE)) {
          if (child.stopCause === 'TERMINATED') continue;
          this.apply(terminateJob(child, reason, this.now));
        }
      }
      const u: ArrayChildrenUpdate = cancelArrayChildren(job, reason, this.now, kind);
      const cancelled = await this.graph.applyToChildren(this.tx, u);
      await this.graph.settle(this.tx, cancelled);
      return;
    }
    if (job.stopCause === 'TERMINATED') return;
    const t = kind === 'cancel' ? cancelJob(job, reason, this.now) : terminateJob(job, reason, this.now);
    if (!this.apply(t) || isRefusal(t)) return;
    if (t.update.set.status === 'FAILED') await this.graph.settle(this.tx, [{ ...job, status: 'FAILED' }]);
  }

  // ----- compute environments

  setCapacity(name: string, capacity: Resources): void {
    this.ces.get(name)!.capacity = { ...capacity };
  }

  setState(name: string, state: ResourceState): void {
    this.ces.get(name)!.state = state;
  }

  usageOf(ce: string): Resources {
    return this.usage.get(ce) ?? ZERO_RESOURCES;
  }

  // ----- the scheduling cycle (src/server/job-runtime.ts: cycle)

  /** The snapshot a cycle plans from: every queue with RUNNABLE jobs, all of them (no heads window). */
  snapshot(): SchedulerSnapshot {
    const runnableByQueue = new Map<string, Job[]>();
    for (const j of this.withStatus('RUNNABLE')) {
      const list = runnableByQueue.get(j.jobQueue) ?? [];
      list.push(j);
      runnableByQueue.set(j.jobQueue, list);
    }
    const toRunnable = (j: Job, withPriority: boolean): RunnableJob => {
      const r: RunnableJob = { jobId: j.jobId, seq: j.seq, resources: { ...j.spec.resources } };
      if (j.statusReason !== undefined) r.statusReason = j.statusReason;
      if (withPriority) r.schedulingPriority = j.schedulingPriority;
      return r;
    };
    const queues: QueueSnapshot[] = [];
    for (const q of this.queues) {
      const jobs = runnableByQueue.get(q.name) ?? [];
      if (jobs.length === 0) continue;
      const base = { name: q.name, priority: q.priority, state: 'ENABLED' as const, computeEnvironments: [...q.computeEnvironments] };
      if (q.policy) {
        const byShare = new Map<string, Job[]>();
        for (const j of jobs) {
          const list = byShare.get(j.shareIdentifier!) ?? [];
          list.push(j);
          byShare.set(j.shareIdentifier!, list);
        }
        // As the store reads them: shares by identifier, each share's heads by (priority desc, seq).
        const shares = [...byShare.keys()].sort().map((shareIdentifier) => ({
          shareIdentifier,
          runnable: byShare
            .get(shareIdentifier)!
            .sort((a, b) => b.schedulingPriority - a.schedulingPriority || a.seq - b.seq)
            .map((j) => toRunnable(j, true)),
        }));
        queues.push({ ...base, runnable: [], fairShare: buildFairShareSnapshot(q.policy, shares, undefined, this.fairShare, q.name, this.now) });
      } else {
        queues.push({ ...base, runnable: jobs.sort((a, b) => a.seq - b.seq).map((j) => toRunnable(j, false)) });
      }
    }
    return {
      now: this.now,
      queues,
      computeEnvironments: [...this.ces.values()].map((c) => ({
        name: c.name,
        state: c.state,
        status: 'VALID',
        capacity: { ...c.capacity },
        used: { ...this.usageOf(c.name) },
      })),
    };
  }

  /**
   * One scheduling cycle: SUBMITTED → PENDING/RUNNABLE, snapshot, plan, apply (placements →
   * STARTING with a new attempt, every reported reason stored). `inspect` sees the snapshot and
   * the plan before anything is applied.
   */
  async cycle(inspect?: (s: SchedulerSnapshot, p: Plan) => void): Promise<CycleResult> {
    const submitted = this.submitted;
    this.submitted = [];
    for (const id of submitted) {
      const job = this.jobs.get(id)!;
      const outcome = evaluateSubmitted(job, this.now);
      if (!this.apply(outcome) || isRefusal(outcome)) continue;
      if (job.array) await this.graph.topUpArray(this.tx, applyPatch(job, outcome.update.set));
    }
    const usedBefore = new Map([...this.ces.keys()].map((n) => [n, { ...this.usageOf(n) }]));
    const snapshot = this.snapshot();
    if (snapshot.queues.length === 0) return { usedBefore, placed: [] };
    const plan = makePlan(snapshot);
    inspect?.(snapshot, plan);
    const placed: LiveAttempt[] = [];
    for (const p of plan.placements) {
      const job = this.jobs.get(p.jobId)!;
      const outcome = moveToStarting(job, { computeEnvironment: p.computeEnvironment, taskId: `t-${p.jobId}`, logStreamName: 's' }, this.now);
      if (!this.apply(outcome) || isRefusal(outcome)) continue;
      const attempt = outcome.insertAttempt!.attempt;
      const a: LiveAttempt = {
        key: `${p.jobId}#${attempt}`,
        jobId: p.jobId,
        attempt,
        computeEnvironment: p.computeEnvironment,
        resources: { ...p.resources },
        queue: p.jobQueue,
        placedAt: this.now,
      };
      if (job.shareIdentifier !== undefined) a.share = job.shareIdentifier;
      placed.push(a);
    }
    for (const u of plan.unplaced) this.update({ jobId: u.jobId, from: ['RUNNABLE'], set: { statusReason: u.reason } });
    // After the commit: usage and fair-share usage, then dispatch to the executor.
    for (const a of placed) {
      this.usage.set(a.computeEnvironment, addResources(this.usageOf(a.computeEnvironment), a.resources));
      if (a.share !== undefined) this.fairShare.started(a.queue, a.share, a.resources.vcpus, this.now);
      this.live.set(a.key, a);
    }
    return { snapshot, plan, usedBefore, placed };
  }

  // ----- attempt events (src/server/job-runtime.ts: applyEvents)

  /** The executor reports the attempt's command started. */
  run(key: string): boolean {
    const a = this.live.get(key);
    if (!a) return false;
    return this.apply(moveToRunning(this.jobs.get(a.jobId)!, a.attempt, this.now));
  }

  /**
   * The attempt ended: its scripted exit code (mostly 143 when it was being terminated), or it never
   * started, or its host was lost. Returns whether the store took the exit (false: the job was not
   * in this attempt any more, which the runtime would log and ignore).
   */
  async exit(key: string, how: 'exit' | 'neverStarted' | 'lost' = 'exit'): Promise<boolean> {
    const a = this.live.get(key);
    if (!a) return false;
    const job = this.jobs.get(a.jobId)!;
    const fails = hashUnit(`${a.jobId}#${a.attempt}`) < (this.failRate.get(a.jobId) ?? 0);
    // A terminated attempt mostly dies of the SIGTERM (143), but may have exited 0 on its own just before.
    const killed = hashUnit(`${a.jobId}#${a.attempt}/kill`) < 0.7;
    const exitCode = how !== 'exit' ? undefined : job.stopRequestedReason !== undefined ? (killed ? 143 : 0) : fails ? 1 : 0;
    const outcome = finishAttempt(job, {
      attempt: a.attempt,
      at: this.now,
      exitCode,
      neverStarted: how === 'neverStarted' && job.status === 'STARTING',
      lost: how === 'lost',
      host: 'i-sim',
    });
    // The executor forgets the attempt whatever the store says: it has exited.
    this.live.delete(key);
    if (!this.apply(outcome) || isRefusal(outcome)) return false;
    this.usage.set(a.computeEnvironment, subtractResources(this.usageOf(a.computeEnvironment), job.spec.resources));
    if (job.shareIdentifier !== undefined) this.fairShare.stopped(job.jobQueue, job.shareIdentifier, job.spec.resources.vcpus, job.startedAt, this.now);
    const after = this.jobs.get(a.jobId)!;
    if (after.status === 'SUCCEEDED' || after.status === 'FAILED') await this.graph.settle(this.tx, [copyJob(after)]);
    return true;
  }

  /** The platform stops an attempt (a timeout, a Spot reclaim): recorded first, the exit comes later (stopForPlatform). */
  platformStop(key: string, cause: 'TIMEOUT' | 'RECLAIMED'): boolean {
    const a = this.live.get(key);
    if (!a) return false;
    const reason = cause === 'TIMEOUT' ? REASONS.timeout : REASONS.hostTerminated('i-sim');
    return this.apply(requestAttemptStop(this.jobs.get(a.jobId)!, cause, reason, a.attempt));
  }

  /** Live attempts in a stable order (by key), for picking one by index. */
  liveAttempts(): LiveAttempt[] {
    return [...this.live.values()].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  }

  hasSubmitted(): boolean {
    return this.submitted.length > 0;
  }
}

