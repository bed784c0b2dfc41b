// plan() on fair-share queues: table cases (weights, usage, priorities within a share,
// computeReservation, shares without room), invariants on random snapshots that mix FIFO and
// fair-share queues, and a long simulation checking that weights split the compute over time.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  EPSILON,
  isUsable,
  plan,
  type ComputeEnvironmentSnapshot,
  type Plan,
  type QueueSnapshot,
  type RunnableJob,
  type SchedulerSnapshot,
} from '../../src/core/scheduler.js';
import type { Resources } from '../../src/core/types.js';
import { FairShareUsage, buildFairShareSnapshot } from '../../src/server/fair-share.js';
import { ce, job, queue, share, snapshot } from './builders.js';

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

/** n jobs `${prefix}1`..`${prefix}n` of 1 vCPU and 1024 MiB. */
function jobs(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => job(`${prefix}${i + 1}`));
}

// ---------------------------------------------------------------------------------------------
// Table-driven cases

interface Case {
  name: string;
  given: SchedulerSnapshot;
  /** "jobId@ce" in the order the plan places them. */
  wantPlaced: string[];
  /** Exact reason per reported job; when given, no other job may be reported. */
  wantUnplaced?: Record<string, string>;
}

const cases: Case[] = [
  {
    name: 'equal weights and no usage: the shares take turns, ties going to the lower shareIdentifier',
    given: snapshot(queue('fs').ces('a').shares(share('B').jobs(...jobs('b', 3)), share('A').jobs(...jobs('a', 3))), ce('a')),
    wantPlaced: ['a1@a', 'b1@a', 'a2@a', 'b2@a'],
    wantUnplaced: {
      a3: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; a has 0 vCPUs, 4096 MiB free`,
      b3: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; a has 0 vCPUs, 4096 MiB free`,
    },
  },
  {
    name: 'weights 1 and 0.5: the 0.5 share gets two turns for each of the other, and wins ties',
    given: snapshot(
      queue('fs').ces('a').shares(share('A').jobs(...jobs('a', 6)), share('B').weight(0.5).jobs(...jobs('b', 6))),
      ce('a').capacity(6, 65536),
    ),
    // Weighted usage before each turn: A 0/B 0 (tie, lower weight) → B; A 0 < B 0.5 → A;
    // A 1 > B 0.5 → B; A 1 = B 1 (tie) → B; A 1 < B 1.5 → A; A 2 > B 1.5 → B.
    wantPlaced: ['b1@a', 'a1@a', 'b2@a', 'b3@a', 'a2@a', 'b4@a'],
  },
  {
    name: 'weights 1 and 0.25: the 0.25 share gets four turns for each of the other',
    given: snapshot(
      queue('fs').ces('a').shares(share('A').jobs(...jobs('a', 5)), share('B').weight(0.25).jobs(...jobs('b', 10))),
      ce('a').capacity(10, 65536),
    ),
    wantPlaced: ['b1@a', 'a1@a', 'b2@a', 'b3@a', 'b4@a', 'b5@a', 'a2@a', 'b6@a', 'b7@a', 'b8@a'],
  },
  {
    name: 'recent usage counts: the share that used more waits until the other has caught up',
    given: snapshot(
      queue('fs').ces('a').shares(share('A').recent(2.5).jobs(...jobs('a', 4)), share('B').jobs(...jobs('b', 4))),
      ce('a'),
    ),
    // B 0, 1, 2 < A 2.5 → three turns for B, then A 2.5 < B 3.
    wantPlaced: ['b1@a', 'b2@a', 'b3@a', 'a1@a'],
  },
  {
    name: 'recent usage is weighted: 4 vCPUs at weight 0.25 weigh the same as 1 vCPU at weight 1',
    given: snapshot(
      queue('fs')
        .ces('a')
        .shares(share('A').recent(1).jobs(...jobs('a', 2)), share('B').weight(0.25).recent(4).jobs(...jobs('b', 2))),
      ce('a').capacity(1, 8192),
    ),
    // A 1 = B 0.25 x 4: the tie goes to the lower weightFactor.
    wantPlaced: ['b1@a'],
  },
  {
    name: 'running vCPUs do not order the shares (recentVcpus already counts running jobs)',
    given: snapshot(
      queue('fs').ces('a').shares(share('A').running(3).jobs(...jobs('a', 1)), share('B').recent(0.5).jobs(...jobs('b', 1))),
      ce('a').capacity(4, 8192).used(3, 3072),
    ),
    wantPlaced: ['a1@a'],
  },
  {
    name: 'within a share, higher schedulingPriority first, then submission order',
    given: snapshot(
      queue('fs')
        .ces('a')
        .shares(share('A').jobs(job('low').seq(1), job('high-late').priority(9).seq(3), job('high-early').priority(9).seq(2), job('mid').priority(5).seq(4))),
      ce('a').capacity(3, 8192),
    ),
    wantPlaced: ['high-early@a', 'high-late@a', 'mid@a'],
    wantUnplaced: { low: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; a has 0 vCPUs, 5120 MiB free` },
  },
  {
    name: 'schedulingPriority is only compared within a share: a high priority does not jump the share with less usage',
    given: snapshot(
      queue('fs')
        .ces('a')
        .shares(share('A').recent(1).jobs(job('urgent').priority(9999)), share('B').jobs(job('plain').priority(0))),
      ce('a').capacity(1, 8192),
    ),
    wantPlaced: ['plain@a'],
    wantUnplaced: { urgent: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; a has 0 vCPUs, 7168 MiB free` },
  },
  {
    name: 'a share whose next job does not fit moves on to its following job',
    given: snapshot(
      queue('fs').ces('a').shares(share('A').jobs(job('big').vcpus(4), job('small'))),
      ce('a').capacity(4, 8192).used(2, 0),
    ),
    wantPlaced: ['small@a'],
    wantUnplaced: { big: `${CAPACITY}waiting for capacity: needs 4 vCPUs, 1024 MiB; a has 2 vCPUs, 8192 MiB free` },
  },
  {
    name: 'a share with no room for any of its jobs does not hold back the others',
    given: snapshot(
      queue('fs').ces('a').shares(share('A').jobs(job('a1').vcpus(3), job('a2').vcpus(3)), share('B').recent(5).jobs(...jobs('b', 3))),
      ce('a').capacity(4, 8192).used(2, 0),
    ),
    wantPlaced: ['b1@a', 'b2@a'],
    wantUnplaced: {
      a1: `${CAPACITY}waiting for capacity: needs 3 vCPUs, 1024 MiB; a has 2 vCPUs, 8192 MiB free`,
      a2: `${CAPACITY}waiting for capacity: needs 3 vCPUs, 1024 MiB; a has 2 vCPUs, 8192 MiB free`,
      b3: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; a has 0 vCPUs, 6144 MiB free`,
    },
  },
  {
    name: 'a job too big for every compute environment is a misconfiguration; its share goes on',
    given: snapshot(queue('fs').ces('a').shares(share('A').jobs(job('huge').vcpus(8), job('ok'))), ce('a')),
    wantPlaced: ['ok@a'],
    wantUnplaced: { huge: `${MAX_RESOURCE}needs 8 vCPUs, largest compute environment in queue (a) has 4` },
  },
  {
    name: 'no usable compute environment: every share job gets ACTION_REQUIRED',
    given: snapshot(queue('fs').ces('a').shares(share('A').jobs(job('a1')), share('B').jobs(job('b1'))), ce('a').disabled()),
    wantPlaced: [],
    wantUnplaced: {
      a1: `${ACTION_REQUIRED}no ENABLED and VALID compute environment in job queue fs (a is DISABLED)`,
      b1: `${ACTION_REQUIRED}no ENABLED and VALID compute environment in job queue fs (a is DISABLED)`,
    },
  },
  {
    name: 'computeReservation 50 with one active share keeps half of the vCPUs free',
    given: snapshot(queue('fs').ces('a').fairShare({ computeReservation: 50 }).shares(share('A').jobs(...jobs('a', 6))), ce('a').capacity(8, 65536)),
    wantPlaced: ['a1@a', 'a2@a', 'a3@a', 'a4@a'],
    wantUnplaced: {
      a5: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; computeReservation 50 keeps 50% of job queue fs's 8 vCPUs for inactive shares (1 active share), and its jobs hold 4 of the 4 vCPUs they may use`,
      a6: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; computeReservation 50 keeps 50% of job queue fs's 8 vCPUs for inactive shares (1 active share), and its jobs hold 4 of the 4 vCPUs they may use`,
    },
  },
  {
    name: 'computeReservation 50 with two active shares keeps 25%',
    given: snapshot(
      queue('fs').ces('a').fairShare({ computeReservation: 50 }).shares(share('A').jobs(...jobs('a', 4)), share('B').jobs(...jobs('b', 4))),
      ce('a').capacity(8, 65536),
    ),
    wantPlaced: ['a1@a', 'b1@a', 'a2@a', 'b2@a', 'a3@a', 'b3@a'],
    wantUnplaced: {
      a4: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; computeReservation 50 keeps 25% of job queue fs's 8 vCPUs for inactive shares (2 active shares), and its jobs hold 6 of the 6 vCPUs they may use`,
      b4: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; computeReservation 50 keeps 25% of job queue fs's 8 vCPUs for inactive shares (2 active shares), and its jobs hold 6 of the 6 vCPUs they may use`,
    },
  },
  {
    name: 'computeReservation counts active shares the snapshot reports, not only those with RUNNABLE jobs',
    given: snapshot(
      queue('fs').ces('a').fairShare({ computeReservation: 50, activeShares: 3 }).shares(share('A').jobs(...jobs('a', 8))),
      ce('a').capacity(8, 65536),
    ),
    // 12.5% of 8 vCPUs reserved: 7 may be used.
    wantPlaced: ['a1@a', 'a2@a', 'a3@a', 'a4@a', 'a5@a', 'a6@a', 'a7@a'],
    wantUnplaced: {
      a8: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; computeReservation 50 keeps 12.5% of job queue fs's 8 vCPUs for inactive shares (3 active shares), and its jobs hold 7 of the 7 vCPUs they may use`,
    },
  },
  {
    name: "computeReservation counts what the queue's jobs already hold, in shares without RUNNABLE jobs too",
    given: snapshot(
      queue('fs')
        .ces('a')
        .fairShare({ computeReservation: 50, activeShares: 2 })
        .shares(share('A').jobs(...jobs('a', 3)), share('busy').running(5)),
      ce('a').capacity(8, 65536).used(5, 5120),
    ),
    wantPlaced: ['a1@a'],
    wantUnplaced: {
      a2: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; computeReservation 50 keeps 25% of job queue fs's 8 vCPUs for inactive shares (2 active shares), and its jobs hold 6 of the 6 vCPUs they may use`,
      a3: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; computeReservation 50 keeps 25% of job queue fs's 8 vCPUs for inactive shares (2 active shares), and its jobs hold 6 of the 6 vCPUs they may use`,
    },
  },
  {
    name: 'computeReservation: a smaller job still fits under the limit after a bigger one did not',
    given: snapshot(
      queue('fs').ces('a').fairShare({ computeReservation: 50 }).shares(share('A').jobs(job('a1').vcpus(3), job('a2').vcpus(2), job('a3').vcpus(1))),
      ce('a').capacity(8, 65536),
    ),
    wantPlaced: ['a1@a', 'a3@a'],
    wantUnplaced: {
      a2: `${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; computeReservation 50 keeps 50% of job queue fs's 8 vCPUs for inactive shares (1 active share), and its jobs hold 3 of the 4 vCPUs they may use`,
    },
  },
  {
    name: 'computeReservation is judged against all usable compute environments of the queue',
    given: snapshot(
      queue('fs').ces('a', 'b', 'off').fairShare({ computeReservation: 50 }).shares(share('A').jobs(...jobs('a', 5))),
      ce('a').capacity(2, 65536),
      ce('b').capacity(6, 65536),
      ce('off').capacity(64, 65536).disabled(),
    ),
    wantPlaced: ['a1@a', 'a2@a', 'a3@b', 'a4@b'],
  },
  {
    name: 'a job that fits nowhere now gets the plain capacity reason, even under computeReservation',
    given: snapshot(
      queue('fs').ces('a').fairShare({ computeReservation: 50 }).shares(share('A').jobs(job('a1').vcpus(2))),
      ce('a').capacity(4, 8192).used(3, 0),
    ),
    wantPlaced: [],
    wantUnplaced: { a1: `${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; a has 1 vCPU, 8192 MiB free` },
  },
  {
    name: 'computeReservation 0 reserves nothing',
    given: snapshot(queue('fs').ces('a').fairShare({ computeReservation: 0 }).shares(share('A').jobs(...jobs('a', 4))), ce('a')),
    wantPlaced: ['a1@a', 'a2@a', 'a3@a', 'a4@a'],
  },
  {
    name: 'a fair-share queue ignores its FIFO runnable list',
    given: snapshot(queue('fs').ces('a').jobs(job('fifo')).shares(share('A').jobs(job('a1'))), ce('a')),
    wantPlaced: ['a1@a'],
  },
  {
    name: 'queue priority still goes first: a higher-priority FIFO queue fills the room before a fair-share queue',
    given: snapshot(
      queue('fs').priority(1).ces('a').shares(share('A').jobs(...jobs('a', 2))),
      queue('fifo').priority(10).ces('a').jobs(job('f1').vcpus(3)),
      ce('a'),
    ),
    wantPlaced: ['f1@a', 'a1@a'],
    wantUnplaced: { a2: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; a has 0 vCPUs, 6144 MiB free` },
  },
  {
    name: 'queue priority still goes first: a higher-priority fair-share queue fills the room before a FIFO queue',
    given: snapshot(
      queue('fifo').priority(1).ces('a').jobs(job('f1')),
      queue('fs').priority(10).ces('a').shares(share('A').jobs(...jobs('a', 4))),
      ce('a'),
    ),
    wantPlaced: ['a1@a', 'a2@a', 'a3@a', 'a4@a'],
    wantUnplaced: { f1: `${CAPACITY}waiting for capacity: needs 1 vCPU, 1024 MiB; a has 0 vCPUs, 4096 MiB free` },
  },
  {
    name: 'a job id listed in two shares is decided once, by the share whose turn comes first',
    given: snapshot(queue('fs').ces('a').shares(share('A').recent(1).jobs(job('dup')), share('B').jobs(job('dup'), job('b2'))), ce('a')),
    wantPlaced: ['dup@a', 'b2@a'],
  },
  {
    name: 'an unchanged stored reason is not reported again',
    given: snapshot(
      queue('fs')
        .ces('a')
        .shares(share('A').jobs(job('a1').vcpus(2).reason(`${CAPACITY}waiting for capacity: needs 2 vCPUs, 1024 MiB; a has 1 vCPU, 8192 MiB free`))),
      ce('a').used(3, 0),
    ),
    wantPlaced: [],
    wantUnplaced: {},
  },
];

describe('plan(): fair-share table cases', () => {
  for (const c of cases) {
    test(c.name, () => {
      const got = plan(c.given);
      assert.deepEqual(placed(got), c.wantPlaced);
      if (c.wantUnplaced) assert.deepEqual(reasons(got), c.wantUnplaced);
    });
  }

  test('weights and usage in fractions still tie exactly (0.1 x 3 vCPUs against 0.3 x 1 vCPU)', () => {
    const got = plan(
      snapshot(
        queue('fs')
          .ces('a')
          .shares(share('A').weight(0.3).recent(1).jobs(job('a1')), share('B').weight(0.1).recent(3).jobs(job('b1'))),
        ce('a').capacity(1, 8192),
      ),
    );
    // Equal usage: the lower weightFactor has the turn.
    assert.deepEqual(placed(got), ['b1@a']);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties on random snapshots mixing FIFO and fair-share queues

const CE_NAMES = ['c0', 'c1', 'c2'];

const ceArb = (name: string): fc.Arbitrary<ComputeEnvironmentSnapshot> =>
  fc
    .record({
      usable: fc.constantFrom(true, true, true, false),
      vcpus: fc.integer({ min: 0, max: 16 }),
      memory: fc.integer({ min: 0, max: 32 }).map((n) => n * 512),
      gpus: fc.constantFrom(0, 0, 1, 2),
      usedQuarter: fc.integer({ min: 0, max: 4 }),
    })
    .map(({ usable, vcpus, memory, gpus, usedQuarter }) => ({
      name,
      state: usable ? ('ENABLED' as const) : ('DISABLED' as const),
      status: 'VALID' as const,
      capacity: { vcpus, memory, gpus },
      used: { vcpus: (vcpus * usedQuarter) / 4, memory: (memory * usedQuarter) / 4, gpus: 0 },
    }));

const resourcesArb: fc.Arbitrary<Resources> = fc
  .record({
    vcpus: fc.constantFrom(0.25, 0.5, 1, 1, 1, 2, 3, 4),
    memory: fc.constantFrom(256, 512, 1024, 1024, 4096),
    gpus: fc.constantFrom(0, 0, 0, 1),
  })
  .map((r) => ({ ...r }));

const jobArb = fc.record({
  seq: fc.integer({ min: 0, max: 1000 }),
  priority: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  resources: resourcesArb,
});

const shareArb = fc.record({
  weightFactor: fc.constantFrom(0.0001, 0.1, 0.5, 1, 1, 2, 999.9999),
  runningVcpus: fc.constantFrom(0, 0, 1, 2.5, 6),
  recentVcpus: fc.constantFrom(0, 0, 0.3, 1, 4),
  jobs: fc.array(jobArb, { maxLength: 6 }),
});

const queueArb = fc.record({
  priority: fc.integer({ min: 0, max: 3 }),
  computeEnvironments: fc.shuffledSubarray([...CE_NAMES, 'ghost'], { minLength: 0, maxLength: 3 }),
  fifoJobs: fc.array(jobArb, { maxLength: 6 }),
  fairShare: fc.option(
    fc.record({
      computeReservation: fc.constantFrom(0, 0, 25, 50, 99),
      extraActive: fc.integer({ min: 0, max: 3 }),
      shares: fc.array(shareArb, { minLength: 0, maxLength: 4 }),
    }),
    { nil: undefined },
  ),
});

/** Random snapshots, unique job ids, some queues fair-share (their FIFO list is filled too, and must be ignored). */
const snapshotArb: fc.Arbitrary<SchedulerSnapshot> = fc
  .record({
    ces: fc.tuple(...CE_NAMES.map((n) => fc.option(ceArb(n), { nil: undefined }))),
    queues: fc.array(queueArb, { minLength: 1, maxLength: 4 }),
  })
  .map(({ ces, queues }) => ({
    now: 0,
    computeEnvironments: ces.filter((c): c is ComputeEnvironmentSnapshot => c !== undefined),
    queues: queues.map((q, qi) => {
      const toJob = (id: string, j: { seq: number; priority?: number; resources: Resources }): RunnableJob => {
        const r: RunnableJob = { jobId: id, seq: j.seq, resources: j.resources };
        if (j.priority !== undefined) r.schedulingPriority = j.priority;
        return r;
      };
      const out: QueueSnapshot = {
        name: `q${qi}`,
        priority: q.priority,
        state: 'ENABLED',
        computeEnvironments: q.computeEnvironments,
        runnable: q.fifoJobs.map((j, ji) => toJob(`q${qi}-f${ji}`, j)),
      };
      if (q.fairShare) {
        out.fairShare = {
          computeReservation: q.fairShare.computeReservation,
          activeShares: q.fairShare.shares.length + q.fairShare.extraActive,
          shares: q.fairShare.shares.map((s, si) => ({
            shareIdentifier: `s${si}`,
            weightFactor: s.weightFactor,
            runningVcpus: s.runningVcpus,
            recentVcpus: s.recentVcpus,
            runnable: s.jobs.map((j, ji) => toJob(`q${qi}-s${si}-j${ji}`, j)),
          })),
        };
      }
      return out;
    }),
  }));

/** The jobs plan() decides for a queue: its shares' jobs if fair-share, else its FIFO list. */
function jobsOf(q: QueueSnapshot): RunnableJob[] {
  return q.fairShare ? q.fairShare.shares.flatMap((s) => s.runnable) : q.runnable;
}

function usableOf(s: SchedulerSnapshot, q: QueueSnapshot): ComputeEnvironmentSnapshot[] {
  return q.computeEnvironments
    .map((n) => s.computeEnvironments.find((c) => c.name === n))
    .filter((c, i, all): c is ComputeEnvironmentSnapshot => c !== undefined && isUsable(c) && all.indexOf(c) === i);
}

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

describe('plan(): fair-share properties', () => {
  test('capacity is never exceeded on any compute environment', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const got = plan(s);
        for (const c of s.computeEnvironments) {
          const free = freeAfter(c, got.placements);
          assert.ok(free.vcpus >= -EPSILON && free.memory >= -EPSILON && free.gpus >= -EPSILON, `${c.name} overfull`);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('no job is placed twice; each placement is a job of its queue (its shares, for fair share) on a usable compute environment of that queue', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const got = plan(s);
        const ids = got.placements.map((x) => x.jobId);
        assert.equal(new Set(ids).size, ids.length, 'placed twice');
        for (const x of got.placements) {
          const q = s.queues.find((qq) => qq.name === x.jobQueue)!;
          assert.ok(jobsOf(q).some((j) => j.jobId === x.jobId), `${x.jobId} is not a job plan() may place for ${q.name}`);
          assert.ok(usableOf(s, q).some((c) => c.name === x.computeEnvironment), `${x.computeEnvironment} is not usable for ${q.name}`);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('every job is placed or reported exactly once; a fair-share queue\'s FIFO list is never touched', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const got = plan(s);
        const decided = [...got.placements.map((x) => x.jobId), ...got.unplaced.map((u) => u.jobId)];
        assert.equal(new Set(decided).size, decided.length);
        assert.deepEqual(new Set(decided), new Set(s.queues.flatMap(jobsOf).map((j) => j.jobId)));
      }),
      { numRuns: 400 },
    );
  });

  test('computeReservation: what a fair-share queue places never takes its jobs above (1 - (cr/100)^active) of its capacity', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const got = plan(s);
        for (const q of s.queues) {
          const fs = q.fairShare;
          if (!fs || fs.computeReservation === 0) continue;
          const added = got.placements.filter((x) => x.jobQueue === q.name).reduce((n, x) => n + x.resources.vcpus, 0);
          if (added === 0) continue;
          const active = Math.max(fs.activeShares, fs.shares.filter((sh) => sh.runnable.length > 0 || sh.runningVcpus > 0).length);
          const capacity = usableOf(s, q).reduce((n, c) => n + c.capacity.vcpus, 0);
          const held = fs.shares.reduce((n, sh) => n + sh.runningVcpus, 0);
          assert.ok(held + added <= capacity * (1 - (fs.computeReservation / 100) ** active) + EPSILON, `${q.name} over its reservation`);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('reasons keep their prefixes; a job held back only by computeReservation says so, any other capacity reason means it fits nowhere', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const got = plan(s);
        for (const u of got.unplaced) {
          assert.match(u.reason, /^(ACTION_REQUIRED - |MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - |CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - )/);
          if (!u.reason.startsWith(CAPACITY) || u.reason.includes('computeReservation')) continue;
          const q = s.queues.find((qq) => qq.name === u.jobQueue)!;
          const j = jobsOf(q).find((jj) => jj.jobId === u.jobId)!;
          for (const c of usableOf(s, q)) {
            const free = freeAfter(c, got.placements);
            const fitsNow = j.resources.vcpus <= free.vcpus + EPSILON && j.resources.memory <= free.memory + EPSILON && j.resources.gpus <= free.gpus + EPSILON;
            assert.ok(!fitsNow, `${u.jobId} fits ${c.name}`);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  test('within a share, jobs of the same size are placed in (schedulingPriority desc, seq) order', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const got = plan(s);
        const placedIds = new Set(got.placements.map((x) => x.jobId));
        for (const q of s.queues) {
          for (const sh of q.fairShare?.shares ?? []) {
            const ordered = [...sh.runnable].sort((a, b) => (b.schedulingPriority ?? 0) - (a.schedulingPriority ?? 0) || a.seq - b.seq);
            // A placed job has no unplaced job of the same size ahead of it in its share.
            ordered.forEach((j, i) => {
              if (!placedIds.has(j.jobId)) return;
              for (const earlier of ordered.slice(0, i)) {
                if (JSON.stringify(earlier.resources) === JSON.stringify(j.resources)) {
                  assert.ok(placedIds.has(earlier.jobId), `${j.jobId} placed before ${earlier.jobId} of its share`);
                }
              }
            });
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  test('identical 1-vCPU jobs on one compute environment: each share\'s last turn came when its weighted usage was the lowest', () => {
    const arb = fc.record({
      capacity: fc.integer({ min: 0, max: 30 }),
      shares: fc.array(
        fc.record({
          weightFactor: fc.constantFrom(0.125, 0.25, 0.5, 1, 2, 3),
          recentVcpus: fc.constantFrom(0, 0, 0.5, 1, 3, 10),
          jobs: fc.integer({ min: 0, max: 12 }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    });
    fc.assert(
      fc.property(arb, ({ capacity, shares }) => {
        const s = snapshot(
          queue('fs')
            .ces('a')
            .shares(
              ...shares.map((sh, i) =>
                share(`s${i}`)
                  .weight(sh.weightFactor)
                  .recent(sh.recentVcpus)
                  .jobs(...jobs(`s${i}-`, sh.jobs)),
              ),
            ),
          ce('a').capacity(capacity, 1 << 20),
        );
        const got = plan(s);
        const n = shares.map((_, i) => got.placements.filter((x) => x.jobId.startsWith(`s${i}-`)).length);
        assert.equal(n.reduce((a, b) => a + b, 0), Math.min(capacity, shares.reduce((a, sh) => a + sh.jobs, 0)));
        // x's last job went to it when its usage (before that job) was at most y's at the end.
        shares.forEach((x, i) => {
          if (n[i] === 0) return;
          shares.forEach((y, k) => {
            if (k === i || n[k] === y.jobs) return;
            const before = x.weightFactor * (x.recentVcpus + n[i] - 1);
            assert.ok(before <= y.weightFactor * (y.recentVcpus + n[k]) + 1e-9, `s${i} took a turn s${k} should have had`);
          });
        });
      }),
      { numRuns: 400 },
    );
  });

  test('deterministic, and the snapshot is left as it was', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const before = structuredClone(s);
        const first = plan(s);
        assert.deepEqual(s, before);
        assert.deepEqual(plan(structuredClone(before)), first);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Simulation: weights split the compute over time

/** A small seeded PRNG (mulberry32), so a failing run replays from fast-check's seed. */
function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Shares A (weightFactor 1) and B (0.5) with endless identical 1-vCPU jobs on one compute
 * environment of `vcpus`, kept full. Each simulated second every running job ends with
 * probability `pEnd`; its vCPU-seconds go into FairShareUsage, and the next plan fills the room.
 * Returns the vCPU-seconds each share got.
 */
function simulate(vcpus: number, decaySeconds: number, pEnd: number, seconds: number, seed: number): { A: number; B: number } {
  const random = prng(seed);
  const usage = new FairShareUsage();
  const policy = {
    shareDecaySeconds: decaySeconds,
    shareDistribution: [
      { shareIdentifier: 'A', weightFactor: 1 },
      { shareIdentifier: 'B', weightFactor: 0.5 },
    ],
  };
  const running: { share: 'A' | 'B'; startedAt: number }[] = [];
  const total = { A: 0, B: 0 };
  let seq = 0;
  const runnable = (id: 'A' | 'B'): RunnableJob[] =>
    Array.from({ length: vcpus }, () => ({ jobId: `${id}-${++seq}`, seq, resources: { vcpus: 1, memory: 1, gpus: 0 } }));
  for (let now = 1000; now <= seconds * 1000; now += 1000) {
    for (let i = running.length - 1; i >= 0; i--) {
      if (random() >= pEnd) continue;
      const [r] = running.splice(i, 1);
      usage.stopped('q', r.share, 1, r.startedAt, now);
      total[r.share] += (now - r.startedAt) / 1000;
    }
    const fairShare = buildFairShareSnapshot(policy, [{ shareIdentifier: 'A', runnable: runnable('A') }, { shareIdentifier: 'B', runnable: runnable('B') }], 2, usage, 'q', now);
    const got = plan({
      now,
      computeEnvironments: [{ name: 'ce', state: 'ENABLED', status: 'VALID', capacity: { vcpus, memory: 1 << 30, gpus: 0 }, used: { vcpus: running.length, memory: running.length, gpus: 0 } }],
      queues: [{ name: 'q', priority: 1, state: 'ENABLED', computeEnvironments: ['ce'], runnable: [], fairShare }],
    });
    for (const p of got.placements) {
      const id = p.jobId.startsWith('A') ? 'A' : 'B';
      usage.started('q', id, 1, now);
      running.push({ share: id, startedAt: now });
    }
    assert.equal(running.length, vcpus, 'the compute environment is kept full');
  }
  for (const r of running) total[r.share] += seconds - r.startedAt / 1000;
  return total;
}

describe('fair share over time', () => {
  // Shares can only be compared over a window that remembers several jobs: with a decay window
  // shorter than a job lasts, whoever just finished looks busiest and the shares simply alternate
  // (B/A tends to 1 on one vCPU). So the window is at least ten mean job lengths, and the run long
  // enough to finish a few hundred jobs, as with AWS's 600 s minimum window and short jobs.
  test('weightFactor 0.5 gets about twice the vCPU-seconds of weightFactor 1 (within 20%), whatever the size, when the decay window spans many jobs', () => {
    const arb = fc
      .record({
        vcpus: fc.integer({ min: 1, max: 32 }),
        pEnd: fc.double({ min: 0.02, max: 0.5, noNaN: true }),
        windowJobs: fc.integer({ min: 10, max: 60 }),
        seed: fc.integer(),
      })
      .map(({ vcpus, pEnd, windowJobs, seed }) => ({ vcpus, pEnd, seed, decaySeconds: Math.ceil(windowJobs / pEnd) }));
    fc.assert(
      fc.property(arb, ({ vcpus, decaySeconds, pEnd, seed }) => {
        const seconds = Math.min(30_000, Math.max(1500, 3 * decaySeconds, Math.ceil(400 / (vcpus * pEnd))));
        const { A, B } = simulate(vcpus, decaySeconds, pEnd, seconds, seed);
        const ratio = B / A;
        assert.ok(ratio > 1.6 && ratio < 2.4, `B/A = ${ratio.toFixed(3)} (A ${A.toFixed(0)}, B ${B.toFixed(0)} vCPU-seconds)`);
      }),
      { numRuns: Number(process.env.FAIR_SHARE_RUNS ?? 25) },
    );
  });
});
