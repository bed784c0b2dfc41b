// Scheduler invariants over random workloads and random event orders.
//
// fast-check generates compute environments (vCPUs, memory, GPUs, ENABLED/DISABLED), job queues
// (priorities, compute environment order, FIFO or fair share with weights and computeReservation),
// jobs (sizes with fractional vCPUs and GPUs, arrays with SEQUENTIAL, N_TO_N and a concurrency cap,
// dependencies, share identifiers, scheduling priorities, retries, failures) and a random sequence
// of events: scheduling cycles; attempts starting, exiting, never starting or losing their host;
// timeouts and Spot reclaims; CancelJob and TerminateJob on any job; capacity and state changes of
// compute environments; time passing; more submits. SimWorld (sim-world.ts) applies each plan()
// the way the server does, through the transitions module and the real JobGraph.
//
// Checked around every plan (checkPlan, checkOrder, cycle):
//   - capacity: a plan puts on a compute environment no more than it has free, in vCPUs, memory
//     and GPUs, and nothing on a DISABLED one; afterwards one that got placements is within its
//     capacity; computeReservation caps what a fair-share queue's jobs hold;
//   - never placed twice: only RUNNABLE jobs without a live attempt, once;
//   - priority and FIFO order, exactly as plan() promises it (see checkOrder), and each job on
//     the first compute environment of its queue that had room;
//   - every RUNNABLE job left waiting has a reason of the right kind, and the one stored is the
//     plan's; the plan reports exactly the reasons that changed;
//   - determinism: the same snapshot, or the same one listed in another order, gives the same plan.
// After every write of a job (watchWrites) and after every event (checkWorld):
//   - only transitions of the job state machine; a finished job never changes again; terminated
//     and timed-out attempts are not retried;
//   - dependency order: nothing becomes RUNNABLE or STARTING before everything it depends on
//     SUCCEEDED (whole jobs, the previous child of a SEQUENTIAL array, the paired child of N_TO_N);
//   - a dependency failing fails its dependents at once; array counters match the children; a
//     capped array never has more children active than its cap; retries stop at attempts;
//   - one live attempt per STARTING/RUNNING job and none for any other; the usage the runtime
//     keeps (per compute environment, per fair-share share) is what the live attempts hold.
// At the end the world is drained (everything enabled, every attempt finished, cycles until
// nothing moves) and checkSettled checks what must have become of every job.
// A second suite checks that fair share converges to the weights over time.
//
// Replay a failure with FC_SEED=<seed> (and the `path` fast-check prints). SCHEDULER_PROPERTY_RUNS
// sets how many random workloads run (default 200), FAIR_SHARE_RUNS how many fair-share runs per
// weighting (default 4).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  fits,
  isUsable,
  plan,
  type ComputeEnvironmentSnapshot,
  type Plan,
  type QueueSnapshot,
  type RunnableJob,
  type SchedulerSnapshot,
} from '../../src/core/scheduler.js';
import { TERMINAL_STATUSES, type Job, type JobStatus, type Resources } from '../../src/core/types.js';
import { ACTIVE_CHILD, SimWorld, type LiveAttempt, type SimQueue, type SubmitInput } from './sim-world.js';

const SEED = Number(process.env.FC_SEED ?? 42);
const RUNS = Number(process.env.SCHEDULER_PROPERTY_RUNS ?? 200);
/** SCHEDULER_PROPERTY_STATS=1 prints what the random workloads exercised (to judge the generators). */
const STATS: Record<string, number> | undefined = process.env.SCHEDULER_PROPERTY_STATS ? {} : undefined;

function stat(key: string, n = 1): void {
  if (STATS) STATS[key] = (STATS[key] ?? 0) + n;
}

const ACTION_REQUIRED = 'ACTION_REQUIRED - ';
const MAX_RESOURCE = 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - ';
const CAPACITY = 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - ';
/** Resource sums are compared with this slack (fractional vCPUs, and usage rounded to 1e-6 on release). */
const SLACK = 1e-6;
const KEYS = ['vcpus', 'memory', 'gpus'] as const;
const SHARES = ['A', 'B', 'C'];

// ---------------------------------------------------------------------------------------------
// Random workloads

interface CeGen {
  vcpus: number;
  memory: number;
  gpus: number;
  enabled: boolean;
}

interface QueueGen {
  priority: number;
  ces: number[];
  fairShare: { computeReservation: number; decaySeconds: number; weights: number[] } | null;
}

interface JobGen {
  queue: number;
  vcpus: number;
  memory: number;
  gpus: number;
  array: number | null;
  sequential: boolean;
  maxConcurrency: number | null;
  /** Plain dependencies: indices into the jobs submitted so far (modulo). */
  deps: number[];
  /** N_TO_N: an index into the earlier arrays of the same size (modulo), if any. */
  nToN: number | null;
  share: number;
  priority: number;
  attempts: number;
  failRate: number;
}

type EventGen =
  | { t: 'cycle' }
  | { t: 'run'; k: number }
  | { t: 'exit'; k: number; how: 'exit' | 'lost' | 'neverStarted' }
  /** CancelJob/TerminateJob on the k-th job submitted (whole arrays), or on the k-th job of any kind (children too). */
  | { t: 'stop'; k: number; kind: 'cancel' | 'terminate'; topLevel: boolean }
  | { t: 'platformStop'; k: number; cause: 'TIMEOUT' | 'RECLAIMED' }
  | { t: 'capacity'; ce: number; vcpus: number; memory: number; gpus: number }
  | { t: 'state'; ce: number }
  | { t: 'advance'; ms: number }
  | { t: 'submit'; job: JobGen };

interface Scenario {
  ces: CeGen[];
  queues: QueueGen[];
  jobs: JobGen[];
  events: EventGen[];
}

const ceVcpusArb = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 12, arbitrary: fc.integer({ min: 1, max: 12 }) });
const ceMemoryArb = fc.integer({ min: 2, max: 16 }).map((n) => n * 1024);
const ceGpusArb = fc.constantFrom(0, 0, 1, 2, 4);

const ceArb: fc.Arbitrary<CeGen> = fc.record({
  vcpus: ceVcpusArb,
  memory: ceMemoryArb,
  gpus: ceGpusArb,
  enabled: fc.constantFrom(true, true, true, true, true, false),
});

const queueArb = (nCes: number): fc.Arbitrary<QueueGen> =>
  fc.record({
    priority: fc.integer({ min: 0, max: 3 }),
    // Now and then a queue without compute environments (its jobs wait with ACTION_REQUIRED).
    ces: fc.oneof(
      { weight: 1, arbitrary: fc.constant<number[]>([]) },
      {
        weight: 8,
        arbitrary: fc.shuffledSubarray(
          Array.from({ length: nCes }, (_, i) => i),
          { minLength: 1, maxLength: nCes },
        ),
      },
    ),
    fairShare: fc.option(
      fc.record({
        computeReservation: fc.constantFrom(0, 0, 0, 20, 50, 90),
        decaySeconds: fc.constantFrom(0, 30, 600),
        weights: fc.array(fc.constantFrom(0.5, 1, 1, 3), { minLength: 3, maxLength: 3 }),
      }),
      { nil: null, freq: 2 },
    ),
  });

const jobArb: fc.Arbitrary<JobGen> = fc.record({
  queue: fc.nat(),
  // Fractional vCPUs too (Fargate sizes, and 0.1/0.3 whose sums carry float noise).
  vcpus: fc.constantFrom(0.1, 0.25, 0.3, 0.5, 1, 1, 1, 2, 2, 3, 4, 6),
  memory: fc.constantFrom(256, 512, 1024, 1024, 2048, 2048, 4096, 12288),
  gpus: fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 2),
  array: fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: fc.integer({ min: 2, max: 4 }) }),
  sequential: fc.boolean(),
  maxConcurrency: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) }),
  deps: fc.oneof({ weight: 3, arbitrary: fc.constant<number[]>([]) }, { weight: 1, arbitrary: fc.array(fc.nat(), { minLength: 1, maxLength: 2 }) }),
  nToN: fc.option(fc.nat(), { nil: null, freq: 2 }),
  share: fc.integer({ min: 0, max: SHARES.length - 1 }),
  priority: fc.integer({ min: 0, max: 3 }),
  attempts: fc.constantFrom(1, 1, 2, 3),
  failRate: fc.constantFrom(0, 0, 0, 0, 0, 0.3, 1),
});

const eventArb: fc.Arbitrary<EventGen> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ t: 'cycle' as const }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('run' as const), k: fc.nat() }) },
  {
    weight: 10,
    arbitrary: fc.record({
      t: fc.constant('exit' as const),
      k: fc.nat(),
      how: fc.constantFrom('exit' as const, 'exit' as const, 'exit' as const, 'exit' as const, 'lost' as const, 'neverStarted' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('stop' as const),
      k: fc.nat(),
      kind: fc.constantFrom('cancel' as const, 'terminate' as const),
      topLevel: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('platformStop' as const), k: fc.nat(), cause: fc.constantFrom('TIMEOUT' as const, 'RECLAIMED' as const) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('capacity' as const), ce: fc.nat(), vcpus: ceVcpusArb, memory: ceMemoryArb, gpus: ceGpusArb }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('state' as const), ce: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 120_000 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('submit' as const), job: jobArb }) },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.array(ceArb, { minLength: 1, maxLength: 3 }).chain((ces) =>
  fc.record({
    ces: fc.constant(ces),
    queues: fc.array(queueArb(ces.length), { minLength: 1, maxLength: 3 }),
    jobs: fc.array(jobArb, { minLength: 2, maxLength: 14, size: 'max' }),
    events: fc.array(eventArb, { minLength: 10, maxLength: 100, size: 'max' }),
  }),
);

function ceName(i: number): string {
  return `ce${i}`;
}

function buildWorld(sc: Scenario): SimWorld {
  const queues: SimQueue[] = sc.queues.map((q, i) => {
    const sq: SimQueue = { name: `q${i}`, priority: q.priority, computeEnvironments: q.ces.map(ceName) };
    if (q.fairShare) {
      sq.policy = {
        computeReservation: q.fairShare.computeReservation,
        shareDecaySeconds: q.fairShare.decaySeconds,
        shareDistribution: SHARES.map((shareIdentifier, k) => ({ shareIdentifier, weightFactor: q.fairShare!.weights[k] })),
      };
    }
    return sq;
  });
  return new SimWorld(
    sc.ces.map((c, i) => ({
      name: ceName(i),
      state: c.enabled ? 'ENABLED' : 'DISABLED',
      capacity: { vcpus: c.vcpus, memory: c.memory, gpus: c.gpus },
    })),
    queues,
  );
}

/** SubmitJob as a client would call it: share identifiers and priorities only on fair-share queues. */
async function submitGen(world: SimWorld, sc: Scenario, g: JobGen): Promise<void> {
  const qi = g.queue % sc.queues.length;
  const top = world.topLevel;
  const input: SubmitInput = {
    queue: `q${qi}`,
    resources: { vcpus: g.vcpus, memory: g.memory, gpus: g.gpus },
    dependsOn: top.length > 0 ? [...new Set(g.deps.map((d) => top[d % top.length]))] : [],
    attempts: g.attempts,
    failRate: g.failRate,
  };
  if (g.array !== null) {
    input.arraySize = g.array;
    input.sequential = g.sequential;
    if (g.maxConcurrency !== null) input.maxConcurrency = g.maxConcurrency;
    const sameSize = top.filter((id) => world.jobs.get(id)!.array?.size === g.array);
    if (g.nToN !== null && sameSize.length > 0) input.nToN = [sameSize[g.nToN % sameSize.length]];
  }
  if (sc.queues[qi].fairShare) {
    input.shareIdentifier = SHARES[g.share];
    input.schedulingPriority = g.priority;
  }
  await world.submit(input);
}

function pick<T>(list: readonly T[], k: number): T {
  return list[k % list.length];
}

// ---------------------------------------------------------------------------------------------
// Invariants of every write: the job state machine as the store sees it

const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  SUBMITTED: ['PENDING', 'RUNNABLE', 'FAILED', 'SUCCEEDED'],
  PENDING: ['RUNNABLE', 'FAILED', 'SUCCEEDED'],
  RUNNABLE: ['STARTING', 'FAILED'],
  STARTING: ['RUNNING', 'RUNNABLE', 'SUCCEEDED', 'FAILED'],
  RUNNING: ['RUNNABLE', 'SUCCEEDED', 'FAILED'],
  SUCCEEDED: [],
  FAILED: [],
};

function childrenOf(world: SimWorld, parentId: string): Job[] {
  return (world.children.get(parentId) ?? []).map((id) => world.jobs.get(id)!);
}

function watchWrites(world: SimWorld): void {
  world.onWrite = (before, after) => {
    const id = after.jobId;
    if (!before) {
      assert.equal(after.status, after.arrayParentId !== undefined ? 'PENDING' : 'SUBMITTED', `${id} inserted as ${after.status}`);
      return;
    }
    if (before.status === after.status) return;
    const move = `${id}: ${before.status} → ${after.status}`;
    assert.ok(!TERMINAL_STATUSES.has(before.status), `${move}: a finished job changed state`);
    assert.ok(NEXT[before.status].includes(after.status), `${move} is not a transition of the job state machine`);
    if (after.array) assert.ok(after.status !== 'RUNNABLE' && after.status !== 'STARTING', `${move}: an array parent never runs itself`);
    // Dependency order: nothing becomes RUNNABLE (let alone STARTING) before all it waits for SUCCEEDED.
    if (after.status === 'RUNNABLE' || after.status === 'STARTING') {
      for (const dep of world.requires.get(id) ?? []) {
        const st = world.jobs.get(dep)!.status;
        assert.equal(st, 'SUCCEEDED', `${move} while its dependency ${dep} is ${st}`);
      }
    }
    // A terminated or timed-out attempt is never retried.
    if (before.stopCause === 'TERMINATED' || before.stopCause === 'TIMEOUT') {
      assert.notEqual(after.status, 'RUNNABLE', `${move}: retried after ${before.stopCause}`);
    }
    if (before.stopCause !== undefined) assert.notEqual(after.status, 'SUCCEEDED', `${move}: succeeded although ${before.stopCause}`);
    if (after.status === 'SUCCEEDED') {
      if (after.array) {
        assert.equal(after.stopRequestedReason, undefined, `${move}: a cancelled or terminated array succeeded`);
        for (const c of childrenOf(world, id)) assert.equal(c.status, 'SUCCEEDED', `${move} while its child ${c.jobId} is ${c.status}`);
      } else {
        assert.ok(before.status === 'STARTING' || before.status === 'RUNNING', `${move}: succeeded without running`);
      }
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Invariants after every event

function sumInto(into: Resources, r: Resources): void {
  for (const k of KEYS) into[k] += r[k];
}

function checkWorld(world: SimWorld): void {
  // A job is never placed twice: one live attempt per STARTING/RUNNING job, none for any other.
  const liveByJob = new Map<string, LiveAttempt[]>();
  const held = new Map<string, Resources>();
  for (const a of world.live.values()) {
    const list = liveByJob.get(a.jobId) ?? [];
    list.push(a);
    liveByJob.set(a.jobId, list);
    const h = held.get(a.computeEnvironment) ?? { vcpus: 0, memory: 0, gpus: 0 };
    sumInto(h, a.resources);
    held.set(a.computeEnvironment, h);
  }
  for (const [id, list] of liveByJob) {
    assert.equal(list.length, 1, `${id} has ${list.length} live attempts: ${list.map((a) => a.key).join(', ')}`);
    const j = world.jobs.get(id)!;
    assert.ok(j.status === 'STARTING' || j.status === 'RUNNING', `${id} is ${j.status} with attempt ${list[0].key} still live`);
    assert.equal(j.attemptCount, list[0].attempt, `${id}: attempt ${j.attemptCount} stored, ${list[0].attempt} live`);
    assert.equal(j.computeEnvironment, list[0].computeEnvironment);
  }
  for (const j of world.withStatus('STARTING', 'RUNNING')) assert.ok(liveByJob.has(j.jobId), `${j.jobId} is ${j.status} without a live attempt`);

  // What the runtime thinks each compute environment (and each fair-share share) holds is what
  // its live attempts hold.
  const shareHeld = new Map<string, number>();
  for (const a of world.live.values()) {
    if (a.share !== undefined) shareHeld.set(`${a.queue}/${a.share}`, (shareHeld.get(`${a.queue}/${a.share}`) ?? 0) + a.resources.vcpus);
  }
  for (const q of world.queues) {
    if (!q.policy) continue;
    for (const share of SHARES) {
      const want = shareHeld.get(`${q.name}/${share}`) ?? 0;
      const got = world.fairShare.running(q.name, share);
      assert.ok(Math.abs(got - want) < SLACK, `${q.name} share ${share}: FairShareUsage says ${got} vCPUs running, live attempts hold ${want}`);
    }
  }
  for (const name of world.ces.keys()) {
    const want = held.get(name) ?? { vcpus: 0, memory: 0, gpus: 0 };
    const got = world.usageOf(name);
    for (const k of KEYS) assert.ok(Math.abs(got[k] - want[k]) < SLACK, `${name} usage ${k} ${got[k]}, live attempts hold ${want[k]}`);
  }

  for (const j of world.jobs.values()) {
    // Retries stop at retryStrategy.attempts.
    assert.ok(j.attemptCount <= (j.spec.retryStrategy?.attempts ?? 1), `${j.jobId} has ${j.attemptCount} attempts`);
    // A dependency failing fails the dependent at once (in the same transaction).
    if (!TERMINAL_STATUSES.has(j.status)) {
      for (const dep of world.requires.get(j.jobId) ?? []) {
        assert.notEqual(world.jobs.get(dep)!.status, 'FAILED', `${j.jobId} is ${j.status} although its dependency ${dep} FAILED`);
      }
    }
    if (j.array) {
      const children = childrenOf(world, j.jobId);
      const count = (s: JobStatus) => children.filter((c) => c.status === s).length;
      assert.equal(j.array.succeeded, count('SUCCEEDED'), `${j.jobId}: succeeded counter`);
      assert.equal(j.array.failed, count('FAILED'), `${j.jobId}: failed counter`);
      if (j.array.maxConcurrency !== undefined) {
        const active = children.filter((c) => ACTIVE_CHILD.includes(c.status)).length;
        assert.ok(active <= j.array.maxConcurrency, `${j.jobId}: ${active} children active, cap ${j.array.maxConcurrency}`);
      }
      if (TERMINAL_STATUSES.has(j.status)) {
        for (const c of children) assert.ok(TERMINAL_STATUSES.has(c.status), `${j.jobId} is ${j.status} while child ${c.jobId} is ${c.status}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Invariants of every plan

function withoutReasons(s: SchedulerSnapshot): SchedulerSnapshot {
  const strip = (j: RunnableJob): RunnableJob => {
    const { statusReason: _, ...rest } = j;
    return rest;
  };
  return {
    ...s,
    queues: s.queues.map((q) => ({
      ...q,
      runnable: q.runnable.map(strip),
      ...(q.fairShare ? { fairShare: { ...q.fairShare, shares: q.fairShare.shares.map((sh) => ({ ...sh, runnable: sh.runnable.map(strip) })) } } : {}),
    })),
  };
}

/** The same situation as the store might return it in another order: compute environments, shares and jobs reversed. */
function reordered(s: SchedulerSnapshot): SchedulerSnapshot {
  return {
    ...s,
    computeEnvironments: [...s.computeEnvironments].reverse(),
    queues: s.queues.map((q) => ({
      ...q,
      runnable: [...q.runnable].reverse(),
      ...(q.fairShare
        ? { fairShare: { ...q.fairShare, shares: [...q.fairShare.shares].reverse().map((sh) => ({ ...sh, runnable: [...sh.runnable].reverse() })) } }
        : {}),
    })),
  };
}

interface SnapshotJob {
  job: RunnableJob;
  queue: QueueSnapshot;
  share?: string;
  /** Position in its share's order (schedulingPriority desc, then seq): the order plan() tries them. */
  shareIndex?: number;
}

function snapshotJobs(s: SchedulerSnapshot): Map<string, SnapshotJob> {
  const out = new Map<string, SnapshotJob>();
  for (const q of s.queues) {
    if (q.fairShare) {
      for (const sh of q.fairShare.shares) {
        const ordered = [...sh.runnable].sort((a, b) => (b.schedulingPriority ?? 0) - (a.schedulingPriority ?? 0) || a.seq - b.seq);
        ordered.forEach((job, shareIndex) => out.set(job.jobId, { job, queue: q, share: sh.shareIdentifier, shareIndex }));
      }
    } else {
      for (const job of q.runnable) out.set(job.jobId, { job, queue: q });
    }
  }
  return out;
}

function usableOf(q: QueueSnapshot, byName: Map<string, ComputeEnvironmentSnapshot>): ComputeEnvironmentSnapshot[] {
  const out: ComputeEnvironmentSnapshot[] = [];
  for (const name of q.computeEnvironments) {
    const c = byName.get(name);
    if (c && isUsable(c) && !out.includes(c)) out.push(c);
  }
  return out;
}

/**
 * Checks a plan against its snapshot before it is applied; returns each unplaced job's reason as
 * plan() gives it when no reason is stored yet.
 */
function checkPlan(world: SimWorld, s: SchedulerSnapshot, p: Plan): Map<string, string> {
  const byName = new Map(s.computeEnvironments.map((c) => [c.name, c]));
  const jobs = snapshotJobs(s);

  // A job is never placed twice: once per plan, only a RUNNABLE job of the snapshot without a
  // live attempt, on a usable compute environment of its own queue, with its own resources.
  const placedIds = new Set<string>();
  for (const x of p.placements) {
    assert.ok(!placedIds.has(x.jobId), `${x.jobId} placed twice in one plan`);
    placedIds.add(x.jobId);
    const sj = jobs.get(x.jobId);
    assert.ok(sj && sj.queue.name === x.jobQueue, `${x.jobId} placed from ${x.jobQueue}, not a RUNNABLE job of it`);
    assert.deepEqual(x.resources, sj.job.resources);
    assert.equal(world.jobs.get(x.jobId)!.status, 'RUNNABLE', `${x.jobId} placed while ${world.jobs.get(x.jobId)!.status}`);
    assert.ok(![...world.live.values()].some((a) => a.jobId === x.jobId), `${x.jobId} placed while an attempt of it is live`);
    assert.ok(sj.queue.computeEnvironments.includes(x.computeEnvironment), `${x.jobId} placed on ${x.computeEnvironment}, not in ${x.jobQueue}`);
    assert.ok(isUsable(byName.get(x.computeEnvironment)!), `${x.jobId} placed on ${x.computeEnvironment}, which is not ENABLED and VALID`);
  }

  // Capacity: what a plan puts on a compute environment fits in what was free there.
  const added = new Map<string, Resources>();
  for (const x of p.placements) {
    const a = added.get(x.computeEnvironment) ?? { vcpus: 0, memory: 0, gpus: 0 };
    sumInto(a, x.resources);
    added.set(x.computeEnvironment, a);
  }
  for (const [name, a] of added) {
    const c = byName.get(name)!;
    for (const k of KEYS) {
      const free = Math.max(0, c.capacity[k] - c.used[k]);
      assert.ok(a[k] <= free + SLACK, `plan puts ${a[k]} ${k} on ${name}, which had ${free} free (capacity ${c.capacity[k]}, used ${c.used[k]})`);
    }
  }

  // computeReservation: a fair-share queue's jobs together never hold more than
  // (1 - (cr/100)^activeShares) of its usable compute environments' vCPUs through this plan.
  for (const q of s.queues) {
    const fs = q.fairShare;
    if (!fs || fs.computeReservation <= 0) continue;
    const placedHere = p.placements.filter((x) => x.jobQueue === q.name).reduce((n, x) => n + x.resources.vcpus, 0);
    if (placedHere === 0) continue;
    const running = fs.shares.reduce((n, sh) => n + sh.runningVcpus, 0);
    const active = Math.max(fs.activeShares, fs.shares.filter((sh) => sh.runnable.length > 0 || sh.runningVcpus > 0).length);
    const capacity = usableOf(q, byName).reduce((n, c) => n + c.capacity.vcpus, 0);
    const limit = capacity * (1 - (Math.min(99, fs.computeReservation) / 100) ** active);
    assert.ok(running + placedHere <= limit + SLACK, `${q.name}: its jobs hold ${running} + ${placedHere} vCPUs, computeReservation allows ${limit}`);
  }

  // Every RUNNABLE job that is not placed gets a reason; stored reasons change nothing but what is reported.
  const fresh = plan(withoutReasons(s));
  assert.deepEqual(fresh.placements, p.placements, 'stored reasons changed the placements');
  const reasons = new Map(fresh.unplaced.map((u) => [u.jobId, u.reason]));
  assert.equal(reasons.size, fresh.unplaced.length, 'a job reported twice');
  for (const [id, sj] of jobs) {
    if (placedIds.has(id)) {
      assert.ok(!reasons.has(id), `${id} both placed and reported`);
      continue;
    }
    const reason = reasons.get(id);
    assert.ok(reason, `${id} is RUNNABLE, not placed, and has no reason`);
    const usable = usableOf(sj.queue, byName);
    if (usable.length === 0) assert.ok(reason.startsWith(ACTION_REQUIRED), `${id}: ${reason}`);
    else if (!usable.some((c) => fits(sj.job.resources, c.capacity))) assert.ok(reason.startsWith(MAX_RESOURCE), `${id}: ${reason}`);
    else assert.ok(reason.startsWith(CAPACITY), `${id}: ${reason}`);
  }
  assert.deepEqual(
    p.unplaced,
    fresh.unplaced.filter((u) => u.reason !== jobs.get(u.jobId)!.job.statusReason),
    'the plan reports exactly the reasons that changed',
  );

  checkOrder(s, p, jobs, reasons);

  // Deterministic: the same snapshot, or the same one read in another order, gives the same plan.
  assert.deepEqual(plan(structuredClone(s)), p, 'plan() is not deterministic');
  assert.deepEqual(plan(reordered(s)), p, 'plan() depends on the order the store returned things in');
  return reasons;
}

/**
 * Priority and FIFO order, exactly as plan() promises them: queues are tried by priority
 * (highest first, ties in snapshot order), a FIFO queue's jobs by seq, a share's jobs by
 * (schedulingPriority desc, seq), each on the first compute environment with room, and a job that
 * does not fit is skipped, not waited for (no head-of-line blocking). Room only shrinks while a
 * plan is made, so a job left waiting did not fit into what was free at the end plus everything
 * placed after its turn: by lower-priority queues (or equal priority later in the snapshot), by
 * later jobs of its FIFO queue, by later jobs of its share. For fair-share queues other shares'
 * placements are left out of that sum (their turns interleave), which only makes the check weaker.
 * A job held back by computeReservation fits by definition and is exempt.
 */
function checkOrder(s: SchedulerSnapshot, p: Plan, jobs: Map<string, SnapshotJob>, reasons: Map<string, string>): void {
  const rank = new Map<string, number>();
  s.queues
    .map((q, i) => ({ q, i }))
    .sort((a, b) => b.q.priority - a.q.priority || a.i - b.i)
    .forEach(({ q }, r) => rank.set(q.name, r));
  const byName = new Map(s.computeEnvironments.map((c) => [c.name, c]));
  const endFree = new Map<string, Resources>();
  for (const c of s.computeEnvironments) {
    endFree.set(c.name, {
      vcpus: c.capacity.vcpus - Math.max(0, c.used.vcpus),
      memory: c.capacity.memory - Math.max(0, c.used.memory),
      gpus: c.capacity.gpus - Math.max(0, c.used.gpus),
    });
  }
  for (const x of p.placements) for (const k of KEYS) endFree.get(x.computeEnvironment)![k] -= x.resources[k];

  // Placements come in the order they were decided: queues by priority, a FIFO queue's jobs by seq.
  const ranks = p.placements.map((x) => rank.get(x.jobQueue)!);
  assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), 'a queue placed after a less important one');
  for (const q of s.queues) {
    if (q.fairShare) continue;
    const seqs = p.placements.filter((x) => x.jobQueue === q.name).map((x) => jobs.get(x.jobId)!.job.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${q.name} placed out of seq order`);
  }
  // So the room at a placement's turn is known exactly: each job went to the first compute
  // environment of its queue, in the queue's order, that had room for it then.
  p.placements.forEach((x, i) => {
    const roomAtTurn = (name: string): Resources => {
      const room = { ...endFree.get(name)! };
      for (const later of p.placements.slice(i)) if (later.computeEnvironment === name) sumInto(room, later.resources);
      return room;
    };
    for (const c of usableOf(jobs.get(x.jobId)!.queue, byName)) {
      if (c.name === x.computeEnvironment) break;
      assert.ok(!fits(x.resources, roomAtTurn(c.name)), `${x.jobId} placed on ${x.computeEnvironment} although ${c.name} comes first and had room`);
    }
  });

  const placed = new Set(p.placements.map((x) => x.jobId));
  for (const [id, u] of jobs) {
    if (placed.has(id)) continue;
    const reason = reasons.get(id)!;
    if (reason.includes('computeReservation')) {
      assert.ok(u.queue.fairShare && u.queue.fairShare.computeReservation > 0, `${id}: ${reason}`);
      continue;
    }
    const usable = usableOf(u.queue, byName);
    const decidedLater = (xId: string, xQueue: string): boolean => {
      if (rank.get(xQueue)! !== rank.get(u.queue.name)!) return rank.get(xQueue)! > rank.get(u.queue.name)!;
      const x = jobs.get(xId)!;
      if (!u.queue.fairShare) return x.job.seq > u.job.seq;
      return x.share === u.share && x.shareIndex! > u.shareIndex!;
    };
    for (const c of usable) {
      const room = { ...endFree.get(c.name)! };
      for (const x of p.placements) if (x.computeEnvironment === c.name && decidedLater(x.jobId, x.jobQueue)) sumInto(room, x.resources);
      assert.ok(
        !fits(u.job.resources, room),
        `${id} (queue ${u.queue.name}, priority ${u.queue.priority}${u.share ? `, share ${u.share}` : ''}, seq ${u.job.seq}) waits although it ` +
          `fits ${c.name} at its turn (${JSON.stringify(u.job.resources)} into ${JSON.stringify(room)}); placed: ` +
          p.placements.map((x) => `${x.jobId}@${x.computeEnvironment}`).join(' '),
      );
    }
  }
}

/** One scheduling cycle with every check around it. */
async function cycle(world: SimWorld): Promise<number> {
  let reasons = new Map<string, string>();
  let snapshotIds: string[] = [];
  const r = await world.cycle((s, p) => {
    reasons = checkPlan(world, s, p);
    stat('plans');
    stat('placements', p.placements.length);
    stat('left waiting', reasons.size);
    if (p.placements.length > 0 && [...reasons.values()].some((r) => r.startsWith(CAPACITY))) stat('plans placing some and leaving some waiting for capacity');
    if (s.queues.some((q) => q.fairShare) && p.placements.length > 0) stat('plans placing with a fair-share queue');
    if (s.queues.length > 1 && p.placements.length > 0) stat('plans placing with several queues');
    snapshotIds = [...snapshotJobs(s).keys()];
  });
  if (!r.snapshot) return 0;
  const placed = new Set(r.placed.map((a) => a.jobId));
  assert.equal(r.placed.length, r.plan!.placements.length, 'a placement was refused by moveToStarting');
  for (const id of snapshotIds) {
    const j = world.jobs.get(id)!;
    if (placed.has(id)) {
      assert.equal(j.status, 'STARTING');
      continue;
    }
    // The reason is stored: every RUNNABLE job that was not placed says why.
    assert.equal(j.status, 'RUNNABLE');
    assert.equal(j.statusReason, reasons.get(id), `${id}: stored reason is not the plan's`);
  }
  // Capacity is never over-committed: a compute environment that got placements is within its
  // capacity afterwards; one that got none holds no more than before (its capacity may have
  // been lowered below what its running jobs hold, which is not the scheduler's doing).
  for (const [name, c] of world.ces) {
    const before = r.usedBefore.get(name)!;
    const after = world.usageOf(name);
    const got = r.placed.some((a) => a.computeEnvironment === name);
    for (const k of KEYS) {
      assert.ok(after[k] <= Math.max(c.capacity[k], before[k]) + SLACK, `${name} ${k}: ${after[k]} held, capacity ${c.capacity[k]}`);
      if (got) assert.ok(after[k] <= c.capacity[k] + SLACK, `${name} over-committed in ${k}: ${after[k]} > ${c.capacity[k]}`);
    }
    if (got) assert.equal(c.state, 'ENABLED', `placed on ${name} while ${c.state}`);
  }
  return r.placed.length;
}

// ---------------------------------------------------------------------------------------------
// Running a scenario

async function step(world: SimWorld, sc: Scenario, e: EventGen): Promise<void> {
  switch (e.t) {
    case 'cycle':
      await cycle(world);
      return;
    case 'run': {
      const starting = world.liveAttempts().filter((a) => world.jobs.get(a.jobId)!.status === 'STARTING');
      if (starting.length > 0) assert.ok(world.run(pick(starting, e.k).key), 'moveToRunning refused for a live attempt');
      return;
    }
    case 'exit': {
      const live = world.liveAttempts();
      if (live.length > 0) assert.ok(await world.exit(pick(live, e.k).key, e.how), 'finishAttempt refused for a live attempt');
      return;
    }
    case 'stop': {
      const ids = e.topLevel ? world.topLevel : [...world.jobs.keys()];
      if (ids.length > 0) await world.stop(pick(ids, e.k), `stopped by the test (${e.kind})`, e.kind);
      return;
    }
    case 'platformStop': {
      const live = world.liveAttempts();
      if (live.length > 0) world.platformStop(pick(live, e.k).key, e.cause);
      return;
    }
    case 'capacity':
      world.setCapacity(ceName(e.ce % sc.ces.length), { vcpus: e.vcpus, memory: e.memory, gpus: e.gpus });
      return;
    case 'state': {
      const name = ceName(e.ce % sc.ces.length);
      world.setState(name, world.ces.get(name)!.state === 'ENABLED' ? 'DISABLED' : 'ENABLED');
      return;
    }
    case 'advance':
      world.now += e.ms;
      return;
    case 'submit':
      await submitGen(world, sc, e.job);
      return;
  }
}

/** Everything enabled at its first capacity; attempts finish and cycles run until nothing moves. */
async function drain(world: SimWorld, sc: Scenario): Promise<void> {
  sc.ces.forEach((c, i) => {
    world.setCapacity(ceName(i), { vcpus: c.vcpus, memory: c.memory, gpus: c.gpus });
    world.setState(ceName(i), 'ENABLED');
  });
  for (let round = 0; round < 1000; round++) {
    const live = world.liveAttempts();
    for (const a of live) {
      if (world.jobs.get(a.jobId)!.status === 'STARTING') assert.ok(world.run(a.key));
      world.now += 10;
      assert.ok(await world.exit(a.key));
    }
    checkWorld(world);
    const placed = await cycle(world);
    checkWorld(world);
    if (live.length === 0 && placed === 0 && !world.hasSubmitted()) return;
    world.now += 1000;
  }
  assert.fail('the world did not settle');
}

/** What must have become of every job once nothing can move any more. */
function checkSettled(world: SimWorld): void {
  for (const j of world.jobs.values()) {
    const deps = (world.requires.get(j.jobId) ?? []).map((id) => world.jobs.get(id)!);
    const failedDep = deps.find((d) => d.status === 'FAILED');
    if (failedDep) {
      // A dependency that failed fails the dependent, which never ran.
      assert.equal(j.status, 'FAILED', `${j.jobId} is ${j.status} although ${failedDep.jobId} FAILED`);
      assert.equal(j.attemptCount, 0, `${j.jobId} ran although ${failedDep.jobId} FAILED`);
    }
    switch (j.status) {
      case 'SUBMITTED':
      case 'STARTING':
      case 'RUNNING':
        assert.fail(`${j.jobId} is still ${j.status} after draining`);
        break;
      case 'RUNNABLE':
        // Only a job that can never run waits: it fits no compute environment of its queue (or
        // the queue has none usable), or computeReservation keeps more than it needs.
        assert.ok(j.statusReason, `${j.jobId} RUNNABLE without a reason`);
        assert.ok(
          j.statusReason.startsWith(ACTION_REQUIRED) || j.statusReason.startsWith(MAX_RESOURCE) || j.statusReason.includes('computeReservation'),
          `${j.jobId} still RUNNABLE on an idle system: ${j.statusReason}`,
        );
        break;
      case 'PENDING': {
        // Only behind something that can never finish.
        const stuckDep = deps.some((d) => !TERMINAL_STATUSES.has(d.status));
        const stuckChild = j.array !== undefined && childrenOf(world, j.jobId).some((c) => !TERMINAL_STATUSES.has(c.status));
        // A child of a capped array also waits while its siblings hold every slot.
        const parent = j.arrayParentId !== undefined ? world.jobs.get(j.arrayParentId)! : undefined;
        const cap = parent?.array?.maxConcurrency;
        const capFull = cap !== undefined && childrenOf(world, parent!.jobId).filter((c) => ACTIVE_CHILD.includes(c.status)).length >= cap;
        assert.ok(stuckDep || stuckChild || capFull, `${j.jobId} PENDING with nothing left to wait for`);
        break;
      }
      case 'SUCCEEDED':
        for (const d of deps) assert.equal(d.status, 'SUCCEEDED');
        if (j.array) {
          assert.ok(childrenOf(world, j.jobId).every((c) => c.status === 'SUCCEEDED'));
          assert.equal(j.isCancelled ?? false, false);
        } else {
          assert.ok(j.attemptCount >= 1);
        }
        break;
      case 'FAILED':
        if (j.array) assert.ok(childrenOf(world, j.jobId).every((c) => TERMINAL_STATUSES.has(c.status)));
        break;
    }
    // CancelJob and TerminateJob that took effect end in FAILED (an array once its children are done).
    if (j.isCancelled || j.isTerminated) assert.equal(j.status, TERMINAL_STATUSES.has(j.status) ? 'FAILED' : j.status, `${j.jobId} was stopped and ${j.status}`);
    if (j.array && TERMINAL_STATUSES.has(j.status)) {
      const allOk = childrenOf(world, j.jobId).every((c) => c.status === 'SUCCEEDED');
      assert.equal(j.status === 'SUCCEEDED', allOk && j.stopRequestedReason === undefined, `${j.jobId} ${j.status}`);
    }
  }
}

async function runScenario(sc: Scenario): Promise<void> {
  const world = buildWorld(sc);
  watchWrites(world);
  for (const g of sc.jobs) await submitGen(world, sc, g);
  checkWorld(world);
  for (const e of sc.events) {
    await step(world, sc, e);
    checkWorld(world);
  }
  const attempts = [...world.jobs.values()].reduce((n, j) => n + j.attemptCount, 0);
  stat('attempts before draining', attempts);
  stat(`runs with ${attempts < 5 ? '<5' : attempts < 10 ? '5-9' : attempts < 20 ? '10-19' : '20+'} attempts before draining`);
  stat(`runs with ${sc.events.length < 20 ? '<20' : sc.events.length < 50 ? '20-49' : '50+'} events`);
  await drain(world, sc);
  checkSettled(world);
  if (STATS) {
    for (const j of world.jobs.values()) {
      stat(`final ${j.status}${j.array ? ' (array parent)' : ''}`);
      if (j.status === 'FAILED' || j.status === 'RUNNABLE') stat(`final ${j.status}: ${j.statusReason?.replace(/\d+ of \d+/, 'n of m').slice(0, 40)}`);
      if ((world.requires.get(j.jobId) ?? []).length > 0) stat('jobs with dependencies');
    }
  }
}

describe('scheduler invariants over random workloads and event orders', () => {
  test('capacity, no double placement, dependency order, priority and FIFO order, reasons, determinism', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (sc) => {
        await runScenario(sc);
      }),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
    if (STATS) console.log(STATS);
  });
});

// ---------------------------------------------------------------------------------------------
// Fair share converges

/** A small seeded PRNG (mulberry32): job lengths follow fast-check's seed. */
function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FairShareRun {
  /** weightFactor of shares A and B (lower gets more). */
  weights: [number, number];
  vcpus: number;
  /** Chance per simulated second that a running job ends. */
  pEnd: number;
  decaySeconds: number;
  seconds: number;
  seed: number;
}

/**
 * Shares A and B submit identical 1-vCPU jobs into one fair-share queue, always more than fit
 * (each keeps a backlog of `vcpus` RUNNABLE jobs), on one compute environment of `vcpus`. Each
 * simulated second every running job ends with probability pEnd and a cycle fills the room.
 * Returns, per share, the vCPU-seconds held and the jobs finished after the first decay window,
 * and the same over the second half of the run.
 */
async function fairShareRun(o: FairShareRun) {
  const world = new SimWorld(
    [{ name: 'ce', state: 'ENABLED', capacity: { vcpus: o.vcpus, memory: 1 << 20, gpus: 0 } }],
    [
      {
        name: 'fs',
        priority: 1,
        computeEnvironments: ['ce'],
        policy: {
          shareDecaySeconds: o.decaySeconds,
          shareDistribution: [
            { shareIdentifier: 'A', weightFactor: o.weights[0] },
            { shareIdentifier: 'B', weightFactor: o.weights[1] },
          ],
        },
      },
    ],
  );
  const random = prng(o.seed);
  const waiting = { A: 0, B: 0 };
  const all = { held: { A: 0, B: 0 }, finished: { A: 0, B: 0 } };
  const late = { held: { A: 0, B: 0 }, finished: { A: 0, B: 0 } };
  const warmUp = o.decaySeconds;
  for (let t = 0; t < o.seconds; t++) {
    world.now += 1000;
    for (const a of world.liveAttempts()) {
      if (random() >= o.pEnd) continue;
      if (world.jobs.get(a.jobId)!.status === 'STARTING') world.run(a.key);
      assert.ok(await world.exit(a.key));
      const share = a.share as 'A' | 'B';
      if (t >= warmUp) all.finished[share]++;
      if (t >= o.seconds / 2) late.finished[share]++;
    }
    for (const share of ['A', 'B'] as const) {
      for (; waiting[share] < o.vcpus; waiting[share]++) {
        await world.submit({ queue: 'fs', resources: { vcpus: 1, memory: 1, gpus: 0 }, shareIdentifier: share });
      }
    }
    const r = await world.cycle();
    for (const a of r.placed) waiting[a.share as 'A' | 'B']--;
    assert.equal(world.live.size, o.vcpus, 'the compute environment is kept full');
    for (const a of world.live.values()) {
      const share = a.share as 'A' | 'B';
      if (t >= warmUp) all.held[share]++;
      if (t >= o.seconds / 2) late.held[share]++;
    }
  }
  return { all, late };
}

describe('fair share converges to the weights over time', () => {
  // The decay window spans many jobs (10 to 30 mean job lengths): shares can only be compared over
  // a window that remembers several jobs of each (see the fair-share simulation in
  // fair-share.test.ts); the run lasts a few windows and a few hundred jobs.
  const runArb = (weights: [number, number]) =>
    fc
      .record({
        vcpus: fc.integer({ min: 4, max: 16 }),
        pEnd: fc.double({ min: 0.05, max: 0.2, noNaN: true }),
        windowJobs: fc.integer({ min: 10, max: 30 }),
        seed: fc.integer(),
      })
      .map(({ vcpus, pEnd, windowJobs, seed }): FairShareRun => {
        const decaySeconds = Math.ceil(windowJobs / pEnd);
        return { weights, vcpus, pEnd, decaySeconds, seed, seconds: Math.max(4 * decaySeconds, Math.ceil(1500 / (vcpus * pEnd))) };
      });

  for (const { weights, want, name } of [
    { weights: [1, 1] as [number, number], want: 1, name: 'equal weights: A and B get the same' },
    { weights: [1, 3] as [number, number], want: 3, name: 'weightFactor 1 against 3: A gets three times what B gets' },
  ]) {
    // Sampled over 40 seeds, A/B of the vCPU-seconds came out 0.99..1.02 for equal weights and
    // 2.59..2.98 for 1:3 (a little short of 3: the 1-second steps against jobs of 5 to 20 s);
    // finished jobs, a count, scatter more (0.89..1.16, 2.49..3.14).
    test(`${name} (vCPU-seconds within 20%, finished jobs within 25%)`, async () => {
      await fc.assert(
        fc.asyncProperty(runArb(weights), async (o) => {
          const { all, late } = await fairShareRun(o);
          for (const [what, got, tolerance] of [
            ['vCPU-seconds held after the first window', all.held.A / all.held.B, 0.2],
            ['vCPU-seconds held in the second half', late.held.A / late.held.B, 0.2],
            ['jobs finished after the first window', all.finished.A / all.finished.B, 0.25],
          ] as const) {
            assert.ok(
              Math.abs(got / want - 1) < tolerance,
              `${what}: A/B = ${got.toFixed(3)}, want ${want} within ${tolerance * 100}% (${JSON.stringify({ all, late })})`,
            );
          }
        }),
        { seed: SEED, numRuns: Number(process.env.FAIR_SHARE_RUNS ?? 4), includeErrorInReport: true },
      );
    });
  }
});
