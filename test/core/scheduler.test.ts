import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  EPSILON,
  fits,
  formatNumber,
  formatResources,
  isUsable,
  plan,
  type ComputeEnvironmentSnapshot,
  type Plan,
  type QueueSnapshot,
  type RunnableJob,
  type SchedulerSnapshot,
} from '../../src/core/scheduler.js';
import type { Resources } from '../../src/core/types.js';
import { ce, job, queue, snapshot } from './builders.js';

const ACTION_REQUIRED = 'ACTION_REQUIRED - ';
const MAX_RESOURCE = 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - ';
const CAPACITY = 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - ';

/** "jobId@computeEnvironment" for each placement, in plan order. */
function placed(p: Plan): string[] {
  return p.placements.map((x) => `${x.jobId}@${x.computeEnvironment}`);
}

function reasons(p: Plan): Record<string, string> {
  return Object.fromEntries(p.unplaced.map((u) => [u.jobId, u.reason]));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Table-driven cases

interface Case {
  name: string;
  given: SchedulerSnapshot;
  /** "jobId@ce" in the order the plan places them. */
  wantPlaced: string[];
  /** Exact reason per job that the plan reports as unplaced; every other job must be absent. */
  wantUnplaced?: Record<string, string>;
}

const cases: Case[] = [
  {
    name: 'a single job on a compute environment with room is placed there',
    given: snapshot(queue('q').ces('a').jobs(job('j1')), ce('a').capacity(4, 8192)),
    wantPlaced: ['j1@a'],
  },
  {
    name: 'vCPUs run out: the third 2-vCPU job on a 4-vCPU compute environment waits',
    given: snapshot(
      queue('q').ces('a').jobs(job('j1').vcpus(2), job('j2').vcpus(2), job('j3').vcpus(2)),
      ce('a').capacity(4, 8192),
    ),
    wantPlaced: ['j1@a', 'j2@a'],
    wantUnplaced: { j3: `${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; a has 0 vCPUs, 6144 MiB free` },
  },
  {
    name: 'memory runs out before vCPUs do',
    given: snapshot(
      queue('q').ces('a').jobs(job('j1').memory(2048), job('j2').memory(2048), job('j3').memory(2048)),
      ce('a').capacity(8, 4096),
    ),
    wantPlaced: ['j1@a', 'j2@a'],
    wantUnplaced: { j3: `${CAPACITY}waiting for capacity: needs 1 vCPU, 2048 MiB; a has 6 vCPUs, 0 MiB free` },
  },
  {
    name: 'GPUs run out: the second 1-GPU job waits, and its reason mentions GPUs',
    given: snapshot(queue('q').ces('a').jobs(job('j1').gpus(1), job('j2').gpus(1)), ce('a').capacity(8, 16384, 1)),
    wantPlaced: ['j1@a'],
    wantUnplaced: {
      j2: `${CAPACITY}waiting for GPUs: needs 1 vCPU, 1024 MiB, 1 GPU; a has 7 vCPUs, 15360 MiB, 0 GPUs free`,
    },
  },
  {
    name: 'what running jobs use is not free',
    given: snapshot(queue('q').ces('a').jobs(job('j1').vcpus(2)), ce('a').capacity(4, 8192).used(3, 0)),
    wantPlaced: [],
    wantUnplaced: { j1: `${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; a has 1 vCPU, 8192 MiB free` },
  },
  {
    name: 'two queues share a compute environment: the higher-priority queue goes first even when listed second',
    given: snapshot(
      queue('low').priority(1).ces('shared').jobs(job('low1').vcpus(2)),
      queue('high').priority(10).ces('shared').jobs(job('high1').vcpus(2)),
      ce('shared').capacity(2, 8192),
    ),
    wantPlaced: ['high1@shared'],
    wantUnplaced: {
      low1: `${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; shared has 0 vCPUs, 7168 MiB free`,
    },
  },
  {
    name: 'queues of equal priority are served in snapshot order',
    given: snapshot(
      queue('first').priority(5).ces('shared').jobs(job('f1').vcpus(2)),
      queue('second').priority(5).ces('shared').jobs(job('s1').vcpus(2)),
      ce('shared').capacity(2, 8192),
    ),
    wantPlaced: ['f1@shared'],
    wantUnplaced: {
      s1: `${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; shared has 0 vCPUs, 7168 MiB free`,
    },
  },
  {
    name: 'a lower-priority queue gets what the higher-priority one leaves',
    given: snapshot(
      queue('high').priority(10).ces('shared').jobs(job('h1').vcpus(3)),
      queue('low').priority(1).ces('shared').jobs(job('l1').vcpus(2), job('l2').vcpus(1)),
      ce('shared').capacity(4, 8192),
    ),
    wantPlaced: ['h1@shared', 'l2@shared'],
    wantUnplaced: {
      l1: `${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; shared has 1 vCPU, 7168 MiB free`,
    },
  },
  {
    name: 'within a queue jobs go FIFO by seq, even when the snapshot lists them out of order',
    given: snapshot(
      queue('q')
        .ces('a')
        .jobs(job('third').vcpus(2).seq(30), job('first').vcpus(2).seq(10), job('second').vcpus(2).seq(20)),
      ce('a').capacity(4, 8192),
    ),
    wantPlaced: ['first@a', 'second@a'],
    wantUnplaced: {
      third: `${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; a has 0 vCPUs, 6144 MiB free`,
    },
  },
  {
    name: 'the first compute environment in queue order is preferred when both have room',
    given: snapshot(queue('q').ces('b', 'a').jobs(job('j1')), ce('a'), ce('b')),
    wantPlaced: ['j1@b'],
  },
  {
    name: 'the second compute environment takes the job when the first is full',
    given: snapshot(
      queue('q').ces('a', 'b').jobs(job('j1').vcpus(2), job('j2').vcpus(2)),
      ce('a').capacity(2, 8192),
      ce('b').capacity(2, 8192),
    ),
    wantPlaced: ['j1@a', 'j2@b'],
  },
  {
    name: 'a DISABLED compute environment is skipped',
    given: snapshot(queue('q').ces('a', 'b').jobs(job('j1')), ce('a').disabled(), ce('b')),
    wantPlaced: ['j1@b'],
  },
  {
    name: 'an INVALID compute environment is skipped',
    given: snapshot(queue('q').ces('a', 'b').jobs(job('j1')), ce('a').invalid(), ce('b')),
    wantPlaced: ['j1@b'],
  },
  {
    name: 'a compute environment still CREATING is skipped',
    given: snapshot(queue('q').ces('a', 'b').jobs(job('j1')), ce('a').status('CREATING'), ce('b')),
    wantPlaced: ['j1@b'],
  },
  {
    name: 'an unknown compute environment name is skipped',
    given: snapshot(queue('q').ces('ghost', 'b').jobs(job('j1')), ce('b')),
    wantPlaced: ['j1@b'],
  },
  {
    name: 'a DISABLED queue still places the jobs already in it',
    given: snapshot(queue('q').disabled().ces('a').jobs(job('j1')), ce('a')),
    wantPlaced: ['j1@a'],
  },
  {
    name: 'no head-of-line blocking: a small job behind a big one that does not fit right now is placed',
    given: snapshot(
      queue('q').ces('a').jobs(job('big').vcpus(4), job('small').vcpus(1)),
      ce('a').capacity(4, 8192).used(2, 0),
    ),
    wantPlaced: ['small@a'],
    wantUnplaced: { big: `${CAPACITY}waiting for capacity: needs 4 vCPUs, 1024 MiB; a has 2 vCPUs, 8192 MiB free` },
  },
  {
    name: 'a job with more vCPUs than any compute environment is a misconfiguration; the others still run',
    given: snapshot(
      queue('q').ces('default').jobs(job('huge').vcpus(8), job('ok').vcpus(1)),
      ce('default').capacity(4, 8192),
    ),
    wantPlaced: ['ok@default'],
    wantUnplaced: { huge: `${MAX_RESOURCE}needs 8 vCPUs, largest compute environment in queue (default) has 4` },
  },
  {
    name: 'a job with more memory than any compute environment is a misconfiguration',
    given: snapshot(queue('q').ces('default').jobs(job('fat').memory(32768)), ce('default').capacity(4, 16000)),
    wantPlaced: [],
    wantUnplaced: {
      fat: `${MAX_RESOURCE}needs 32768 MiB of memory, largest compute environment in queue (default) has 16000 MiB`,
    },
  },
  {
    name: 'a GPU job on a queue without GPUs is a misconfiguration',
    given: snapshot(queue('q').ces('default').jobs(job('g').gpus(1)), ce('default')),
    wantPlaced: [],
    wantUnplaced: { g: `${MAX_RESOURCE}needs 1 GPU, no compute environment in queue has GPUs` },
  },
  {
    name: 'a job with more GPUs than the largest compute environment names the one with most GPUs',
    given: snapshot(
      queue('q').ces('cpu', 'gpu', 'gpu-small').jobs(job('g').gpus(4)),
      ce('cpu').capacity(64, 65536),
      ce('gpu').capacity(8, 16384, 2),
      ce('gpu-small').capacity(8, 16384, 1),
    ),
    wantPlaced: [],
    wantUnplaced: { g: `${MAX_RESOURCE}needs 4 GPUs, largest compute environment in queue (gpu) has 2` },
  },
  {
    name: 'every resource that is too big is named',
    given: snapshot(
      queue('q').ces('a', 'b').jobs(job('j').vcpus(16).memory(65536)),
      ce('a').capacity(8, 4096),
      ce('b').capacity(2, 32768),
    ),
    wantPlaced: [],
    wantUnplaced: {
      j: `${MAX_RESOURCE}needs 16 vCPUs, largest compute environment in queue (a) has 8; needs 65536 MiB of memory, largest compute environment in queue (b) has 32768 MiB`,
    },
  },
  {
    name: 'a job that fits each resource somewhere but never all on one compute environment is a misconfiguration',
    given: snapshot(
      queue('q').ces('a', 'b').jobs(job('j').vcpus(4).memory(8192)),
      ce('a').capacity(8, 1024),
      ce('b').capacity(1, 16384),
    ),
    wantPlaced: [],
    wantUnplaced: {
      j: `${MAX_RESOURCE}needs 4 vCPUs, 8192 MiB, no single compute environment in queue has all of it (a has 8 vCPUs, 1024 MiB; b has 1 vCPU, 16384 MiB)`,
    },
  },
  {
    name: 'too big is judged against usable compute environments only',
    given: snapshot(
      queue('q').ces('big', 'small').jobs(job('j').vcpus(8)),
      ce('big').capacity(64, 65536).disabled(),
      ce('small').capacity(4, 8192),
    ),
    wantPlaced: [],
    wantUnplaced: { j: `${MAX_RESOURCE}needs 8 vCPUs, largest compute environment in queue (small) has 4` },
  },
  {
    name: 'a job that fits only the larger compute environment goes there, even if it is second',
    given: snapshot(
      queue('q').ces('small', 'big').jobs(job('j').vcpus(8)),
      ce('small').capacity(4, 8192),
      ce('big').capacity(16, 8192),
    ),
    wantPlaced: ['j@big'],
  },
  {
    name: 'a capacity reason names only compute environments large enough for the job, at most three',
    given: snapshot(
      queue('q').ces('tiny', 'b', 'c', 'd', 'e').jobs(job('j').vcpus(2)),
      ce('tiny').capacity(1, 8192),
      ce('b').capacity(4, 8192).used(4, 0),
      ce('c').capacity(4, 8192).used(3, 0),
      ce('d').capacity(4, 8192).used(3.5, 0),
      ce('e').capacity(4, 8192).used(4, 0),
    ),
    wantPlaced: [],
    wantUnplaced: {
      j: `${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; b has 0 vCPUs, 8192 MiB free; c has 1 vCPU, 8192 MiB free; d has 0.5 vCPUs, 8192 MiB free`,
    },
  },
  {
    name: 'a job whose stored reason is unchanged is not reported again; one with a stale reason is',
    given: snapshot(
      queue('q')
        .ces('default')
        .jobs(
          job('same')
            .vcpus(8)
            .reason(`${MAX_RESOURCE}needs 8 vCPUs, largest compute environment in queue (default) has 4`),
          job('stale').vcpus(8).reason(`${CAPACITY}waiting for capacity`),
        ),
      ce('default').capacity(4, 8192),
    ),
    wantPlaced: [],
    wantUnplaced: { stale: `${MAX_RESOURCE}needs 8 vCPUs, largest compute environment in queue (default) has 4` },
  },
  {
    name: 'fractional vCPUs add up without float trouble: 0.1 + 0.2 fit in 0.3',
    given: snapshot(
      queue('q').ces('a').jobs(job('tenth').vcpus(0.1), job('fifth').vcpus(0.2), job('quarter').vcpus(0.25)),
      ce('a').capacity(0.3, 8192),
    ),
    wantPlaced: ['tenth@a', 'fifth@a'],
    wantUnplaced: {
      quarter: `${CAPACITY}waiting for capacity: needs 0.25 vCPUs, 1024 MiB; a has 0 vCPUs, 6144 MiB free`,
    },
  },
  {
    name: 'a job id seen twice, in one queue and in another, is placed once',
    given: snapshot(
      queue('q1').priority(2).ces('a').jobs(job('dup'), job('dup')),
      queue('q2').priority(1).ces('a').jobs(job('dup')),
      ce('a'),
    ),
    wantPlaced: ['dup@a'],
  },
  {
    name: 'a job id seen twice that does not fit is reported once',
    given: snapshot(
      queue('q1').priority(2).ces('a').jobs(job('dup').vcpus(8)),
      queue('q2').priority(1).ces('a').jobs(job('dup').vcpus(8)),
      ce('a'),
    ),
    wantPlaced: [],
    wantUnplaced: { dup: `${MAX_RESOURCE}needs 8 vCPUs, largest compute environment in queue (a) has 4` },
  },
  {
    name: 'a queue without compute environments needs action',
    given: snapshot(queue('empty').jobs(job('j1'))),
    wantPlaced: [],
    wantUnplaced: {
      j1: `${ACTION_REQUIRED}no ENABLED and VALID compute environment in job queue empty (the queue has no compute environments)`,
    },
  },
  {
    name: 'a queue whose compute environments are all unusable needs action and says why, in one line',
    given: snapshot(
      queue('q').ces('a', 'b', 'c', 'ghost').jobs(job('j1').vcpus(100)),
      ce('a').disabled(),
      ce('b').invalid(),
      ce('c').disabled().invalid(),
    ),
    wantPlaced: [],
    wantUnplaced: {
      j1: `${ACTION_REQUIRED}no ENABLED and VALID compute environment in job queue q (a is DISABLED, b is INVALID, c is DISABLED and INVALID, ghost does not exist)`,
    },
  },
  {
    name: 'an empty snapshot plans nothing',
    given: snapshot(),
    wantPlaced: [],
  },
];

describe('plan(): cases', () => {
  for (const c of cases) {
    test(c.name, () => {
      const got = plan(deepFreeze(structuredClone(c.given)));
      assert.deepEqual(placed(got), c.wantPlaced);
      assert.deepEqual(reasons(got), c.wantUnplaced ?? {});
      for (const r of got.unplaced) assert.ok(!r.reason.includes('\n'), 'reasons are one line');
    });
  }

  test('a placement carries the queue name and the job resources', () => {
    const got = plan(
      snapshot(queue('gpu-q').ces('g').jobs(job('j').vcpus(2.5).memory(3000).gpus(1)), ce('g').capacity(8, 8192, 2)),
    );
    assert.deepEqual(got.placements, [
      { jobId: 'j', jobQueue: 'gpu-q', computeEnvironment: 'g', resources: { vcpus: 2.5, memory: 3000, gpus: 1 } },
    ]);
  });

  test('an unplaced entry carries the queue name', () => {
    const got = plan(snapshot(queue('q').ces('a').jobs(job('j').vcpus(9)), ce('a')));
    assert.equal(got.unplaced.length, 1);
    assert.equal(got.unplaced[0].jobQueue, 'q');
  });
});

describe('plan(): helpers', () => {
  test('fits compares every resource, with slack for float vCPUs', () => {
    assert.equal(fits({ vcpus: 0.1 + 0.2, memory: 1, gpus: 0 }, { vcpus: 0.3, memory: 1, gpus: 0 }), true);
    assert.equal(fits({ vcpus: 1, memory: 2, gpus: 0 }, { vcpus: 1, memory: 1, gpus: 0 }), false);
    assert.equal(fits({ vcpus: 1, memory: 1, gpus: 1 }, { vcpus: 1, memory: 1, gpus: 0 }), false);
  });

  test('numbers print plainly, without float noise, in singular for one', () => {
    assert.equal(formatNumber(0.1 + 0.2), '0.3');
    assert.equal(formatNumber(-0), '0');
    assert.equal(formatResources({ vcpus: 1, memory: 512, gpus: 0 }), '1 vCPU, 512 MiB');
    assert.equal(formatResources({ vcpus: 0.25, memory: 512, gpus: 2 }), '0.25 vCPUs, 512 MiB, 2 GPUs');
    assert.equal(formatResources({ vcpus: 2, memory: 512, gpus: 1 }), '2 vCPUs, 512 MiB, 1 GPU');
  });

  test('10,000 jobs over 20 queues are planned quickly', () => {
    const ces = Array.from({ length: 5 }, (_, i) => ce(`ce${i}`).capacity(256, 1 << 20));
    const queues = Array.from({ length: 20 }, (_, q) =>
      queue(`q${q}`)
        .priority(q % 4)
        .ces(`ce${q % 5}`, `ce${(q + 1) % 5}`, `ce${(q + 2) % 5}`)
        .jobs(
          ...Array.from({ length: 500 }, (_, j) =>
            job(`q${q}-j${j}`)
              .vcpus(0.5 + (j % 4))
              .memory(512),
          ),
        ),
    );
    const s = snapshot(...queues, ...ces);
    const start = performance.now();
    const got = plan(s);
    const ms = performance.now() - start;
    assert.equal(got.placements.length + got.unplaced.length, 10_000);
    assert.ok(ms < 1000, `took ${ms} ms`);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random snapshots

const CE_NAMES = ['a', 'b', 'c', 'd'];

const ceArb = (name: string): fc.Arbitrary<ComputeEnvironmentSnapshot> =>
  fc
    .record({
      state: fc.constantFrom('ENABLED', 'ENABLED', 'ENABLED', 'DISABLED' as const),
      status: fc.constantFrom('VALID', 'VALID', 'VALID', 'VALID', 'INVALID', 'UPDATING' as const),
      vcpus: fc.integer({ min: 0, max: 16 }),
      memory: fc.integer({ min: 0, max: 32 }).map((n) => n * 512),
      gpus: fc.constantFrom(0, 0, 1, 2, 4),
      // Used as quarters of the capacity, so it is exact in binary and never above capacity.
      usedQuarters: fc.tuple(
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
      ),
    })
    .map(({ state, status, vcpus, memory, gpus, usedQuarters: [uv, um, ug] }) => ({
      name,
      state: state as ComputeEnvironmentSnapshot['state'],
      status: status as ComputeEnvironmentSnapshot['status'],
      capacity: { vcpus, memory, gpus },
      used: { vcpus: (vcpus * uv) / 4, memory: (memory * um) / 4, gpus: Math.floor((gpus * ug) / 4) },
    }));

const resourcesArb: fc.Arbitrary<Resources> = fc
  .record({
    vcpus: fc.constantFrom(0.25, 0.5, 1, 1, 2, 2, 3, 4, 8),
    memory: fc.constantFrom(256, 512, 1024, 1024, 2048, 4096, 16384),
    gpus: fc.constantFrom(0, 0, 0, 0, 1, 2),
  })
  .map((r) => ({ ...r })); // plain objects: fast-check may give records a null prototype

const jobArb = fc.record({
  seq: fc.integer({ min: 0, max: 1000 }),
  resources: resourcesArb,
  statusReason: fc.option(fc.constantFrom('ACTION_REQUIRED - old', `${CAPACITY}waiting for capacity`), {
    nil: undefined,
  }),
});

const queueArb = fc.record({
  priority: fc.integer({ min: 0, max: 3 }),
  state: fc.constantFrom('ENABLED', 'ENABLED', 'DISABLED' as const),
  computeEnvironments: fc.shuffledSubarray([...CE_NAMES, 'ghost'], { minLength: 0, maxLength: 3 }),
  jobs: fc.array(jobArb, { maxLength: 10 }),
});

/** Random snapshots with unique job ids. */
const snapshotArb: fc.Arbitrary<SchedulerSnapshot> = fc
  .record({
    ces: fc.tuple(...CE_NAMES.map((n) => fc.option(ceArb(n), { nil: undefined }))),
    queues: fc.array(queueArb, { minLength: 1, maxLength: 4 }),
  })
  .map(({ ces, queues }) => ({
    now: 0,
    computeEnvironments: ces.filter((c): c is ComputeEnvironmentSnapshot => c !== undefined),
    queues: queues.map((q, qi) => ({
      name: `q${qi}`,
      priority: q.priority,
      state: q.state as QueueSnapshot['state'],
      computeEnvironments: q.computeEnvironments,
      runnable: q.jobs.map((j, ji) => {
        const r: RunnableJob = { jobId: `q${qi}-j${ji}`, seq: j.seq, resources: j.resources };
        if (j.statusReason !== undefined) r.statusReason = j.statusReason;
        return r;
      }),
    })),
  }));

/** Random snapshots where some job ids also appear a second time, in the same or another queue. */
const snapshotWithDuplicatesArb: fc.Arbitrary<SchedulerSnapshot> = snapshotArb.chain((s) => {
  const all = s.queues.flatMap((q) => q.runnable);
  if (all.length === 0) return fc.constant(s);
  const copy = fc.record({
    from: fc.integer({ min: 0, max: all.length - 1 }),
    to: fc.integer({ min: 0, max: s.queues.length - 1 }),
    seq: fc.integer({ min: 0, max: 1000 }),
    resources: resourcesArb,
  });
  return fc.array(copy, { minLength: 1, maxLength: 5 }).map((copies) => {
    const out = structuredClone(s);
    for (const c of copies)
      out.queues[c.to].runnable.push({ jobId: all[c.from].jobId, seq: c.seq, resources: c.resources });
    return out;
  });
});

function withoutReasons(s: SchedulerSnapshot): SchedulerSnapshot {
  const out = structuredClone(s);
  for (const q of out.queues) for (const j of q.runnable) delete j.statusReason;
  return out;
}

function usableOf(s: SchedulerSnapshot, q: QueueSnapshot): ComputeEnvironmentSnapshot[] {
  return q.computeEnvironments
    .map((n) => s.computeEnvironments.find((c) => c.name === n))
    .filter((c): c is ComputeEnvironmentSnapshot => c !== undefined && isUsable(c));
}

/** Free room of a compute environment after the given placements. */
function freeAfter(c: ComputeEnvironmentSnapshot, p: Plan['placements']): Resources {
  const free = {
    vcpus: c.capacity.vcpus - c.used.vcpus,
    memory: c.capacity.memory - c.used.memory,
    gpus: c.capacity.gpus - c.used.gpus,
  };
  for (const x of p) {
    if (x.computeEnvironment !== c.name) continue;
    free.vcpus -= x.resources.vcpus;
    free.memory -= x.resources.memory;
    free.gpus -= x.resources.gpus;
  }
  return free;
}

describe('plan(): properties', () => {
  test('(a) capacity is never exceeded on any compute environment', () => {
    fc.assert(
      fc.property(fc.oneof(snapshotArb, snapshotWithDuplicatesArb), (s) => {
        const got = plan(s);
        for (const c of s.computeEnvironments) {
          const free = freeAfter(c, got.placements);
          assert.ok(free.vcpus >= -EPSILON && free.memory >= -EPSILON && free.gpus >= -EPSILON, `${c.name} overfull`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('(b) no job is placed twice; each placement is a job of its queue on a usable compute environment of that queue', () => {
    fc.assert(
      fc.property(fc.oneof(snapshotArb, snapshotWithDuplicatesArb), (s) => {
        const got = plan(s);
        const ids = got.placements.map((x) => x.jobId);
        assert.equal(new Set(ids).size, ids.length, 'placed twice');
        for (const x of got.placements) {
          const q = s.queues.find((qq) => qq.name === x.jobQueue);
          assert.ok(q, `unknown queue ${x.jobQueue}`);
          assert.ok(
            q.runnable.some((j) => j.jobId === x.jobId && JSON.stringify(j.resources) === JSON.stringify(x.resources)),
            `${x.jobId} is not a job of ${q.name} with these resources`,
          );
          assert.ok(q.computeEnvironments.includes(x.computeEnvironment), `${x.computeEnvironment} not in ${q.name}`);
          const c = s.computeEnvironments.find((cc) => cc.name === x.computeEnvironment);
          assert.ok(c && isUsable(c), `${x.computeEnvironment} is not ENABLED and VALID`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('(c) a lower-priority queue never takes room a higher-priority job could have used', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const got = plan(withoutReasons(s));
        const queueOf = new Map(s.queues.map((q) => [q.name, q]));
        for (const u of got.unplaced) {
          const q = queueOf.get(u.jobQueue)!;
          const j = q.runnable.find((jj) => jj.jobId === u.jobId)!;
          // With only the placements of queues at least as important, the job still fits nowhere.
          const ahead = got.placements.filter((x) => queueOf.get(x.jobQueue)!.priority >= q.priority);
          for (const c of usableOf(s, q))
            assert.ok(!fits(j.resources, freeAfter(c, ahead)), `${u.jobId} would fit ${c.name}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('(c) with identical jobs and one shared compute environment, the placed jobs are a prefix in (priority, seq) order', () => {
    const arb = fc.record({
      size: fc.record({
        vcpus: fc.integer({ min: 1, max: 4 }),
        memory: fc.integer({ min: 1, max: 4 }).map((n) => n * 512),
        gpus: fc.integer({ min: 0, max: 1 }),
      }),
      capacity: fc.record({
        vcpus: fc.integer({ min: 0, max: 24 }),
        memory: fc.integer({ min: 0, max: 24 }).map((n) => n * 512),
        gpus: fc.integer({ min: 0, max: 6 }),
      }),
      queues: fc.array(
        fc.record({
          priority: fc.integer({ min: 0, max: 3 }),
          seqs: fc.uniqueArray(fc.integer({ min: 0, max: 100 }), { maxLength: 8 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(arb, ({ size, capacity, queues }) => {
        const s: SchedulerSnapshot = {
          now: 0,
          computeEnvironments: [
            { name: 'shared', state: 'ENABLED', status: 'VALID', capacity, used: { vcpus: 0, memory: 0, gpus: 0 } },
          ],
          queues: queues.map((q, qi) => ({
            name: `q${qi}`,
            priority: q.priority,
            state: 'ENABLED',
            computeEnvironments: ['shared'],
            runnable: q.seqs.map((seq) => ({ jobId: `q${qi}-s${seq}`, seq, resources: size })),
          })),
        };
        const order = s.queues
          .map((q, qi) => ({ q, qi }))
          .sort((x, y) => y.q.priority - x.q.priority || x.qi - y.qi)
          .flatMap(({ q }) => [...q.runnable].sort((x, y) => x.seq - y.seq).map((j) => j.jobId));
        const k = Math.min(
          ...(['vcpus', 'memory', 'gpus'] as const).map((r) =>
            size[r] > 0 ? Math.floor(capacity[r] / size[r]) : Infinity,
          ),
        );
        assert.deepEqual(
          plan(s).placements.map((x) => x.jobId),
          order.slice(0, k),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('(d) FIFO: with identical jobs in one queue, the first floor(free/size) jobs by seq are placed, in seq order', () => {
    const arb = fc.record({
      vcpus: fc.constantFrom(0.25, 0.5, 1, 2, 3),
      capacity: fc.integer({ min: 0, max: 16 }),
      used: fc.integer({ min: 0, max: 16 }),
      seqs: fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { maxLength: 30 }),
    });
    fc.assert(
      fc.property(arb, ({ vcpus, capacity, used, seqs }) => {
        const usedV = Math.min(used, capacity);
        const s = snapshot(
          queue('q')
            .ces('a')
            .jobs(...seqs.map((seq) => job(`s${seq}`).seq(seq).vcpus(vcpus).memory(1))),
          ce('a')
            .capacity(capacity, 1 << 20)
            .used(usedV, 0),
        );
        const k = Math.floor((capacity - usedV) / vcpus + EPSILON);
        const want = [...seqs]
          .sort((x, y) => x - y)
          .slice(0, k)
          .map((seq) => `s${seq}`);
        assert.deepEqual(
          plan(s).placements.map((x) => x.jobId),
          want,
        );
      }),
      { numRuns: 300 },
    );
  });

  test('(e) a job too big for every compute environment of its queue is never placed, is a misconfiguration, and changes nothing else', () => {
    const arb = snapshotArb.chain((s) => {
      const candidates = s.queues.filter((q) => usableOf(s, q).length > 0);
      if (candidates.length === 0) return fc.constant(undefined);
      return fc.record({
        s: fc.constant(s),
        q: fc.constantFrom(...candidates.map((q) => q.name)),
        seq: fc.integer({ min: 0, max: 1000 }),
        // Beyond any capacity the generator makes, in one resource or another.
        huge: fc.constantFrom<Resources>(
          { vcpus: 1000, memory: 512, gpus: 0 },
          { vcpus: 1, memory: 1 << 20, gpus: 0 },
          { vcpus: 1, memory: 512, gpus: 100 },
        ),
      });
    });
    fc.assert(
      fc.property(arb, (x) => {
        fc.pre(x !== undefined);
        const { s, q, seq, huge } = x;
        const withHuge = structuredClone(s);
        withHuge.queues.find((qq) => qq.name === q)!.runnable.push({ jobId: 'huge', seq, resources: huge });
        const got = plan(withHuge);
        assert.ok(!got.placements.some((p) => p.jobId === 'huge'));
        const u = got.unplaced.filter((p) => p.jobId === 'huge');
        assert.equal(u.length, 1);
        assert.ok(u[0].reason.startsWith(MAX_RESOURCE), u[0].reason);
        assert.deepEqual(got.placements, plan(s).placements);
        // Stored already, the same reason is not reported again.
        withHuge.queues.find((qq) => qq.name === q)!.runnable.at(-1)!.statusReason = u[0].reason;
        assert.ok(!plan(withHuge).unplaced.some((p) => p.jobId === 'huge'));
      }),
      { numRuns: 300 },
    );
  });

  test('(f) every job not placed is reported exactly once, unless its stored reason is the same', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const got = plan(s);
        const fresh = plan(withoutReasons(s));
        // Stored reasons do not change what is placed.
        assert.deepEqual(fresh.placements, got.placements);
        const jobs = s.queues.flatMap((q) => q.runnable);
        const placedIds = new Set(got.placements.map((x) => x.jobId));
        // Without stored reasons, every job that is not placed is reported, once.
        const freshIds = fresh.unplaced.map((u) => u.jobId);
        assert.equal(new Set(freshIds).size, freshIds.length);
        assert.deepEqual(new Set(freshIds), new Set(jobs.filter((j) => !placedIds.has(j.jobId)).map((j) => j.jobId)));
        // With them, exactly those whose reason changed.
        const stored = new Map(jobs.map((j) => [j.jobId, j.statusReason]));
        assert.deepEqual(
          got.unplaced,
          fresh.unplaced.filter((u) => u.reason !== stored.get(u.jobId)),
        );
        // Storing the reasons of this plan makes the next identical plan report nothing.
        const reasonOf = new Map(fresh.unplaced.map((u) => [u.jobId, u.reason]));
        const next = structuredClone(s);
        for (const q of next.queues)
          for (const j of q.runnable) if (reasonOf.has(j.jobId)) j.statusReason = reasonOf.get(j.jobId);
        assert.deepEqual(plan(next), { placements: got.placements, unplaced: [] });
      }),
      { numRuns: 300 },
    );
  });

  test('(f) with duplicate job ids, a job is either placed or reported, never both and never twice', () => {
    fc.assert(
      fc.property(snapshotWithDuplicatesArb, (s) => {
        const got = plan(withoutReasons(s));
        const ids = [...got.placements.map((x) => x.jobId), ...got.unplaced.map((u) => u.jobId)];
        assert.equal(new Set(ids).size, ids.length);
        assert.deepEqual(new Set(ids), new Set(s.queues.flatMap((q) => q.runnable.map((j) => j.jobId))));
      }),
      { numRuns: 300 },
    );
  });

  test('reasons follow their precedence: no usable compute environment, then too big, then no room now', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const got = plan(withoutReasons(s));
        for (const u of got.unplaced) {
          const q = s.queues.find((qq) => qq.name === u.jobQueue)!;
          const j = q.runnable.find((jj) => jj.jobId === u.jobId)!;
          const usable = usableOf(s, q);
          if (usable.length === 0) {
            assert.ok(u.reason.startsWith(ACTION_REQUIRED), u.reason);
          } else if (!usable.some((c) => fits(j.resources, c.capacity))) {
            assert.ok(u.reason.startsWith(MAX_RESOURCE), u.reason);
          } else {
            assert.ok(u.reason.startsWith(CAPACITY), u.reason);
            // Greedy, no head-of-line blocking: room only shrinks, so it does not fit at the end either.
            for (const c of usable)
              assert.ok(!fits(j.resources, freeAfter(c, got.placements)), `${u.jobId} fits ${c.name}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test('deterministic, and the snapshot is left as it was', () => {
    fc.assert(
      fc.property(fc.oneof(snapshotArb, snapshotWithDuplicatesArb), (s) => {
        const before = structuredClone(s);
        const first = plan(deepFreeze(s));
        assert.deepEqual(s, before);
        assert.deepEqual(plan(structuredClone(before)), first);
      }),
      { numRuns: 200 },
    );
  });
});
