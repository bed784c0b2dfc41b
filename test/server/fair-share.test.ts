// FairShareUsage (running and decayed usage per queue and share), weightFor, and
// buildFairShareSnapshot. Times are epoch milliseconds passed in; nothing here reads a clock.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { RunnableJob } from '../../src/core/scheduler.js';
import type { FairsharePolicy } from '../../src/core/types.js';
import {
  DEFAULT_DECAY_SECONDS,
  FairShareUsage,
  buildFairShareSnapshot,
  decayWindowSeconds,
  weightFor,
} from '../../src/server/fair-share.js';

const S = 1000; // ms per second
const T0 = 1_700_000_000_000;

/** vCPU-seconds `vcpus` leave behind after `seconds`, decayed with window `tau` meanwhile. */
function accrued(vcpus: number, seconds: number, tau: number): number {
  return vcpus * tau * (1 - Math.exp(-seconds / tau));
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} is not ${expected}`);
}

function runnable(...ids: string[]): RunnableJob[] {
  return ids.map((jobId, i) => ({ jobId, seq: i + 1, resources: { vcpus: 1, memory: 1024, gpus: 0 } }));
}

describe('weightFor', () => {
  const policy: FairsharePolicy = {
    shareDistribution: [
      { shareIdentifier: 'teamA*', weightFactor: 0.5 },
      { shareIdentifier: 'teamAml*', weightFactor: 0.25 },
      { shareIdentifier: 'teamA1', weightFactor: 2 },
      { shareIdentifier: 'plain' },
    ],
  };
  const rows: [string, FairsharePolicy | undefined, string, number][] = [
    ['an exact entry', policy, 'teamA1', 2],
    ['an exact entry wins over a prefix entry that also matches', policy, 'teamA1', 2],
    ['a prefix entry', policy, 'teamA7', 0.5],
    ['a prefix entry matches its prefix itself', policy, 'teamA', 0.5],
    ['the longest matching prefix wins', policy, 'teamAml3', 0.25],
    ['an entry without weightFactor weighs 1', policy, 'plain', 1],
    ['an exact entry does not match longer identifiers', policy, 'plain2', 1],
    ['a share that is not listed weighs 1', policy, 'teamB', 1],
    ['matching is case-sensitive', policy, 'TEAMA1', 1],
    ['no policy', undefined, 'teamA1', 1],
    ['no shareDistribution', { computeReservation: 10 }, 'teamA1', 1],
  ];
  for (const [name, p, id, want] of rows) test(name, () => assert.equal(weightFor(p, id), want));
});

describe('decayWindowSeconds', () => {
  test('0 and absent mean the 600 s default window; anything else is taken as given', () => {
    assert.equal(DEFAULT_DECAY_SECONDS, 600);
    assert.equal(decayWindowSeconds(undefined), 600);
    assert.equal(decayWindowSeconds(0), 600);
    assert.equal(decayWindowSeconds(1), 1);
    assert.equal(decayWindowSeconds(604800), 604800);
  });
});

describe('FairShareUsage', () => {
  test('running vCPUs per queue and share follow started and stopped, without float residue', () => {
    const u = new FairShareUsage();
    u.started('q', 'A', 0.1, T0);
    u.started('q', 'A', 0.2, T0);
    u.started('q', 'B', 4, T0);
    u.started('other', 'A', 1, T0);
    close(u.running('q', 'A'), 0.3, 'A after two starts');
    assert.equal(u.running('q', 'B'), 4);
    assert.equal(u.running('other', 'A'), 1);
    assert.equal(u.running('q', 'nobody'), 0);
    u.stopped('q', 'A', 0.1, T0, T0 + S);
    u.stopped('q', 'A', 0.2, T0, T0 + S);
    assert.equal(u.running('q', 'A'), 0);
    assert.equal(u.running('q', 'B'), 4);
  });

  test('a finished job leaves its decayed vCPU-seconds divided by the window; idle time decays them', () => {
    const u = new FairShareUsage();
    const tau = 600;
    u.started('q', 'A', 2, T0);
    u.stopped('q', 'A', 2, T0, T0 + 60 * S);
    const atStop = accrued(2, 60, tau) / tau;
    close(u.recentVcpus('q', 'A', 600, T0 + 60 * S), atStop, 'right at the stop');
    // About vcpus x seconds / window while the job is much shorter than the window.
    assert.ok(Math.abs(atStop - (2 * 60) / 600) < 0.01);
    close(u.recentVcpus('q', 'A', 600, T0 + 660 * S), atStop * Math.exp(-1), 'one window later');
    close(u.recentVcpus('q', 'A', 600, T0 + 1260 * S), atStop * Math.exp(-2), 'two windows later');
  });

  test('running jobs count as they run, not only once they stop', () => {
    const u = new FairShareUsage();
    u.started('q', 'A', 1, T0);
    close(u.recentVcpus('q', 'A', 600, T0), 0, 'at the start');
    close(u.recentVcpus('q', 'A', 600, T0 + 60 * S), accrued(1, 60, 600) / 600, 'after a minute');
    // Stopping at the time already read adds nothing more.
    u.stopped('q', 'A', 1, T0, T0 + 60 * S);
    close(u.recentVcpus('q', 'A', 600, T0 + 60 * S), accrued(1, 60, 600) / 600, 'after the stop');
  });

  test('a share that keeps r vCPUs busy for many windows reads r', () => {
    const u = new FairShareUsage();
    u.started('q', 'A', 3, T0);
    const later = u.recentVcpus('q', 'A', 100, T0 + 2000 * S);
    assert.ok(Math.abs(later - 3) < 1e-6, `${later}`);
  });

  test('shareDecaySeconds 0 means the 600 s window', () => {
    const a = new FairShareUsage();
    const b = new FairShareUsage();
    for (const u of [a, b]) {
      u.started('q', 'A', 1, T0);
      u.stopped('q', 'A', 1, T0, T0 + 300 * S);
    }
    close(a.recentVcpus('q', 'A', 0, T0 + 900 * S), b.recentVcpus('q', 'A', 600, T0 + 900 * S), '0 vs 600');
  });

  test('a stop applied after a later read takes back what was counted past the stop', () => {
    const u = new FairShareUsage();
    u.started('q', 'A', 1, T0);
    u.recentVcpus('q', 'A', 600, T0 + 120 * S);
    u.stopped('q', 'A', 1, T0, T0 + 60 * S);
    // Used 60 s, then idle for 60 s.
    close(u.recentVcpus('q', 'A', 600, T0 + 120 * S), (accrued(1, 60, 600) * Math.exp(-60 / 600)) / 600, 'after the late stop');
  });

  test('started() without a time counts from the latest time it has seen', () => {
    const u = new FairShareUsage();
    u.recentVcpus('q', 'A', 600, T0 + 10 * S);
    u.started('q', 'A', 1);
    close(u.recentVcpus('q', 'A', 600, T0 + 70 * S), accrued(1, 60, 600) / 600, 'a minute after');
  });

  test('a stop of vCPUs it was never told had started credits them from startedAt', () => {
    const u = new FairShareUsage();
    u.stopped('q', 'A', 2, T0, T0 + 30 * S);
    assert.equal(u.running('q', 'A'), 0);
    close(u.recentVcpus('q', 'A', 600, T0 + 30 * S), accrued(2, 30, 600) / 600, 'credited at the stop');
  });

  test('a stop without startedAt (never RUNNING) of an unknown job adds nothing', () => {
    const u = new FairShareUsage();
    u.stopped('q', 'A', 2, undefined, T0 + 30 * S);
    assert.equal(u.recentVcpus('q', 'A', 600, T0 + 30 * S), 0);
    assert.deepEqual(u.shares('q'), []);
  });

  test('load() rebuilds running vCPUs at start and counts them from then on', () => {
    const u = new FairShareUsage();
    u.started('old', 'X', 5, T0);
    u.load(
      [
        { jobQueue: 'q', shareIdentifier: 'A', vcpus: 2 },
        { jobQueue: 'q', shareIdentifier: 'A', vcpus: 1 },
        { jobQueue: 'q', shareIdentifier: 'B', vcpus: 0.5 },
      ],
      T0 + 100 * S,
    );
    assert.equal(u.running('q', 'A'), 3);
    assert.equal(u.running('q', 'B'), 0.5);
    assert.equal(u.running('old', 'X'), 0, 'what the store does not list is not running');
    close(u.recentVcpus('q', 'A', 600, T0 + 160 * S), accrued(3, 60, 600) / 600, 'A a minute after the load');
  });

  test('an idle share is forgotten once its usage has decayed away; a running one never is', () => {
    const u = new FairShareUsage();
    u.started('q', 'A', 1, T0);
    u.started('q', 'B', 1, T0);
    u.stopped('q', 'A', 1, T0, T0 + S);
    assert.deepEqual(u.shares('q').sort(), ['A', 'B']);
    const muchLater = T0 + 100 * 600 * S;
    assert.equal(u.recentVcpus('q', 'A', 600, muchLater), 0);
    assert.ok(u.recentVcpus('q', 'B', 600, muchLater) > 0.99);
    assert.deepEqual(u.shares('q'), ['B']);
  });

  test('forgetQueue drops a deleted queue', () => {
    const u = new FairShareUsage();
    u.started('q', 'A', 1, T0);
    u.forgetQueue('q');
    assert.equal(u.running('q', 'A'), 0);
    assert.deepEqual(u.shares('q'), []);
  });
});

describe('buildFairShareSnapshot', () => {
  const policy: FairsharePolicy = {
    shareDecaySeconds: 600,
    computeReservation: 25,
    shareDistribution: [
      { shareIdentifier: 'A', weightFactor: 1 },
      { shareIdentifier: 'B*', weightFactor: 0.5 },
    ],
  };

  test('shares with RUNNABLE jobs get their weight and usage; shares that only hold vCPUs are listed for computeReservation', () => {
    const u = new FairShareUsage();
    u.started('q', 'A', 2, T0);
    u.started('q', 'busy', 3, T0);
    u.started('q', 'B1', 1, T0);
    u.stopped('q', 'B1', 1, T0, T0 + 60 * S);
    u.started('other-queue', 'Z', 8, T0);
    const now = T0 + 60 * S;
    const snap = buildFairShareSnapshot(policy, [{ shareIdentifier: 'A', runnable: runnable('a1') }, { shareIdentifier: 'B1', runnable: runnable('b1', 'b2') }], 4, u, 'q', now);
    assert.equal(snap.computeReservation, 25);
    assert.equal(snap.activeShares, 4);
    assert.deepEqual(
      snap.shares.map((s) => [s.shareIdentifier, s.weightFactor, s.runningVcpus, s.runnable.map((j) => j.jobId)]),
      [
        ['A', 1, 2, ['a1']],
        ['B1', 0.5, 0, ['b1', 'b2']],
        ['busy', 1, 3, []],
      ],
    );
    const recent = Object.fromEntries(snap.shares.map((s) => [s.shareIdentifier, s.recentVcpus]));
    close(recent.A, accrued(2, 60, 600) / 600, 'A');
    close(recent.B1, accrued(1, 60, 600) / 600, 'B1');
    close(recent.busy, accrued(3, 60, 600) / 600, 'busy');
  });

  test('without activeShares the shares in the snapshot are counted; the same share listed twice is merged', () => {
    const u = new FairShareUsage();
    const snap = buildFairShareSnapshot(policy, [{ shareIdentifier: 'A', runnable: runnable('a1') }, { shareIdentifier: 'A', runnable: runnable('a2') }], undefined, u, 'q', T0);
    assert.equal(snap.activeShares, 1);
    assert.deepEqual(snap.shares.map((s) => s.runnable.map((j) => j.jobId)), [['a1', 'a2']]);
  });

  test('without a fairsharePolicy: every weight 1, no reservation, the 600 s window', () => {
    const u = new FairShareUsage();
    u.started('q', 'A', 1, T0);
    const snap = buildFairShareSnapshot(undefined, [{ shareIdentifier: 'A', runnable: runnable('a1') }], 1, u, 'q', T0 + 60 * S);
    assert.equal(snap.computeReservation, 0);
    assert.equal(snap.shares[0].weightFactor, 1);
    close(snap.shares[0].recentVcpus, accrued(1, 60, 600) / 600, 'A');
  });
});
