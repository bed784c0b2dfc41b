// Fair-share usage per job queue and share identifier, kept in memory by the runtime, and the
// FairShareSnapshot that plan() takes for a fair-share queue.
//
// A share's usage is the vCPUs its jobs held over time (from started() to stopped()), decayed
// exponentially with time constant = the decay window, in vCPU-seconds; recentVcpus() divides it
// by the window. A share that kept r vCPUs busy for much longer than the window reads r, one idle
// for a few windows reads ~0. Running jobs count as they run, not only once they finish: plan()
// orders shares by this figure alone (see planFairShare for why running vCPUs are not added).
// Usage is not persisted: after a restart every share starts from its running jobs (load()).
// No clock and no timers in here: calls that need the time take it (epoch milliseconds).

import type { FairShareSnapshot, RunnableJob, ShareSnapshot } from '../core/scheduler.js';
import type { FairsharePolicy } from '../core/types.js';

/** The window shareDecaySeconds 0 (or absent) stands for: AWS's "default minimum time window". */
export const DEFAULT_DECAY_SECONDS = 600;

/** Below this (vCPUs), an idle share's usage is forgotten, so the map does not grow forever. */
const NEGLIGIBLE_VCPUS = 1e-9;

/** The decay window in seconds for a policy's shareDecaySeconds. */
export function decayWindowSeconds(shareDecaySeconds: number | undefined): number {
  return shareDecaySeconds !== undefined && shareDecaySeconds > 0 ? shareDecaySeconds : DEFAULT_DECAY_SECONDS;
}

/**
 * The share's weightFactor in the policy: an exact shareDistribution entry wins over `prefix*`
 * entries, the longest matching prefix over shorter ones; 1 when nothing matches (AWS's default).
 * An entry without weightFactor weighs 1.
 */
export function weightFor(policy: FairsharePolicy | undefined, shareIdentifier: string): number {
  let prefixLength = -1;
  let prefixWeight = 1;
  for (const entry of policy?.shareDistribution ?? []) {
    const id = entry.shareIdentifier;
    if (id.endsWith('*')) {
      const prefix = id.slice(0, -1);
      if (shareIdentifier.startsWith(prefix) && prefix.length > prefixLength) {
        prefixLength = prefix.length;
        prefixWeight = entry.weightFactor ?? 1;
      }
    } else if (id === shareIdentifier) {
      return entry.weightFactor ?? 1;
    }
  }
  return prefixWeight;
}

interface ShareUsage {
  /** vCPUs held by STARTING/RUNNING jobs. */
  running: number;
  /** Decayed vCPU-seconds as of `at`, including what `running` accrued up to then. */
  decayed: number;
  /** Epoch ms `decayed` refers to; undefined until the first call that carried a time. */
  at: number | undefined;
  /** Decay window (s) last asked for in recentVcpus() (600 until then); usage decays with it. */
  windowSeconds: number;
}

/** Float noise from adding and removing fractional vCPUs (0.1 + 0.2 - 0.3) must not linger. */
function roundVcpus(n: number): number {
  const r = Math.round(n * 1e6) / 1e6;
  return r > 0 ? r : 0;
}

/** vCPU-seconds that `vcpus` held for `seconds` leave behind right after, decayed with `tau` meanwhile. */
function accrued(vcpus: number, seconds: number, tau: number): number {
  return seconds > 0 ? vcpus * tau * -Math.expm1(-seconds / tau) : 0;
}

export class FairShareUsage {
  /** queue name → share identifier → usage. */
  private readonly queues = new Map<string, Map<string, ShareUsage>>();
  /** The latest time any call carried: when started() or load() is given none, it happened then. */
  private clock: number | undefined;

  /** A job of the share began to hold `vcpus` (it moved to STARTING) at `at` (default: the latest time seen). */
  started(queue: string, share: string, vcpus: number, at?: number): void {
    this.change(this.entry(queue, share), vcpus, this.see(at));
  }

  /**
   * A job of the share that held `vcpus` stopped at `stoppedAt` (epoch ms). What it used was
   * counted from started() on; `startedAt` (when its attempt began RUNNING, if it did) only
   * matters for vCPUs that started() was never told about, which are credited from then.
   */
  stopped(queue: string, share: string, vcpus: number, startedAt: number | undefined, stoppedAt: number): void {
    const t = this.see(stoppedAt)!;
    const u = this.entry(queue, share);
    const covered = Math.min(vcpus, u.running);
    this.change(u, -covered, t);
    const uncovered = vcpus - covered;
    if (uncovered > 1e-9 && startedAt !== undefined) {
      // Valued at stoppedAt, then brought to `at` (the entry may already be past stoppedAt).
      const amount = accrued(uncovered, (t - startedAt) / 1000, u.windowSeconds);
      u.decayed += u.at !== undefined && u.at > t ? amount * Math.exp(-(u.at - t) / 1000 / u.windowSeconds) : amount;
    }
    this.prune(queue, share, u);
  }

  /** vCPUs the share's jobs hold now in the queue. */
  running(queue: string, share: string): number {
    return this.queues.get(queue)?.get(share)?.running ?? 0;
  }

  /**
   * The share's usage at `now` in vCPUs: its decayed vCPU-seconds (running jobs included, up to
   * `now`) divided by the decay window, shareDecaySeconds (0 or undefined: 600 s).
   */
  recentVcpus(queue: string, share: string, decaySeconds: number | undefined, now: number): number {
    this.see(now);
    const u = this.queues.get(queue)?.get(share);
    if (!u) return 0;
    // The window asked for now also applies since the last update: callers read every cycle.
    u.windowSeconds = decayWindowSeconds(decaySeconds);
    this.advance(u, now);
    if (this.prune(queue, share, u)) return 0;
    return u.decayed / u.windowSeconds;
  }

  /**
   * Rebuilds running usage at start from the store's STARTING/RUNNING jobs
   * (store.activeShareUsage()), as of `now` (default: the latest time seen). Replaces every
   * share's running vCPUs; keeps what was used before.
   */
  load(active: readonly { jobQueue: string; shareIdentifier: string; vcpus: number }[], now?: number): void {
    const t = this.see(now);
    for (const shares of this.queues.values()) {
      for (const u of shares.values()) {
        if (t !== undefined) this.advance(u, t);
        u.running = 0;
      }
    }
    for (const a of active) this.change(this.entry(a.jobQueue, a.shareIdentifier), a.vcpus, t);
    for (const [queue, shares] of this.queues) for (const [share, u] of shares) this.prune(queue, share, u);
  }

  /** Share identifiers of the queue with any usage (running or recent), in first-seen order. */
  shares(queue: string): string[] {
    return [...(this.queues.get(queue)?.keys() ?? [])];
  }

  /** Drops everything known about a queue (it was deleted). */
  forgetQueue(queue: string): void {
    this.queues.delete(queue);
  }

  private see(t: number | undefined): number | undefined {
    if (t === undefined) return this.clock;
    if (this.clock === undefined || t > this.clock) this.clock = t;
    return t;
  }

  private entry(queue: string, share: string): ShareUsage {
    let shares = this.queues.get(queue);
    if (!shares) {
      shares = new Map();
      this.queues.set(queue, shares);
    }
    let u = shares.get(share);
    if (!u) {
      u = { running: 0, decayed: 0, at: this.clock, windowSeconds: DEFAULT_DECAY_SECONDS };
      shares.set(share, u);
    }
    return u;
  }

  /** Brings `decayed` forward to `t`: what it was decays, what `running` held meanwhile is added. */
  private advance(u: ShareUsage, t: number): void {
    if (u.at === undefined) {
      u.at = t;
      return;
    }
    if (t <= u.at) return;
    const seconds = (t - u.at) / 1000;
    u.decayed = u.decayed * Math.exp(-seconds / u.windowSeconds) + accrued(u.running, seconds, u.windowSeconds);
    u.at = t;
  }

  /**
   * Changes the running vCPUs by `delta` at time `t`. A `t` before the entry's time (an exit
   * applied after a later read) corrects what was accrued meanwhile with the old figure.
   */
  private change(u: ShareUsage, delta: number, t: number | undefined): void {
    if (t !== undefined) {
      if (u.at === undefined || t >= u.at) this.advance(u, t);
      else u.decayed = Math.max(0, u.decayed + accrued(delta, (u.at - t) / 1000, u.windowSeconds));
    }
    u.running = roundVcpus(u.running + delta);
  }

  /** Forgets an idle share with negligible usage, so the map does not grow forever; true if it did. */
  private prune(queue: string, share: string, u: ShareUsage): boolean {
    if (u.running > 0 || u.decayed / u.windowSeconds > NEGLIGIBLE_VCPUS) return false;
    const shares = this.queues.get(queue);
    shares?.delete(share);
    if (shares?.size === 0) this.queues.delete(queue);
    return true;
  }
}

/**
 * The fair-share part of a queue's snapshot for plan(): every share with RUNNABLE jobs (the
 * runnable heads the runtime read, in any order: plan() orders them), plus the shares that only
 * hold vCPUs now (so computeReservation counts what the queue holds), each with its weightFactor
 * from the policy and its usage. `activeShares` is the number of share identifiers with jobs
 * SUBMITTED..RUNNING in the queue; undefined counts the shares in the snapshot.
 */
export function buildFairShareSnapshot(
  policy: FairsharePolicy | undefined,
  shares: readonly { shareIdentifier: string; runnable: readonly RunnableJob[] }[],
  activeShares: number | undefined,
  usage: FairShareUsage,
  queue: string,
  now: number,
): FairShareSnapshot {
  const runnable = new Map<string, RunnableJob[]>();
  for (const s of shares) {
    const list = runnable.get(s.shareIdentifier) ?? [];
    list.push(...s.runnable);
    runnable.set(s.shareIdentifier, list);
  }
  for (const id of usage.shares(queue)) {
    if (!runnable.has(id) && usage.running(queue, id) > 0) runnable.set(id, []);
  }
  const out: ShareSnapshot[] = [...runnable].map(([shareIdentifier, jobs]) => ({
    shareIdentifier,
    weightFactor: weightFor(policy, shareIdentifier),
    runningVcpus: usage.running(queue, shareIdentifier),
    recentVcpus: usage.recentVcpus(queue, shareIdentifier, policy?.shareDecaySeconds, now),
    runnable: jobs,
  }));
  return {
    computeReservation: policy?.computeReservation ?? 0,
    activeShares: activeShares ?? out.length,
    shares: out,
  };
}
