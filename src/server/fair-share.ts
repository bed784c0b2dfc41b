// Fair-share usage per job queue and share identifier, kept in memory by the runtime, and the
// FairShareSnapshot that plan() takes for a fair-share queue.
//
// Usage has two parts, both in vCPUs so plan() can add them:
//   running: vCPUs held now by the share's STARTING/RUNNING jobs (rebuilt from the store at start);
//   recent:  vCPU-seconds of the share's finished attempts, decayed exponentially with time
//            constant = the decay window, divided by the window. A share that kept r vCPUs busy
//            for much longer than the window reads r; one idle for a few windows reads ~0.
// Recent usage is not persisted: after a restart every share starts from its running jobs only.
// No clock and no timers in here: every call that needs the time takes it (epoch milliseconds).

import type { FairShareSnapshot, RunnableJob, ShareSnapshot } from '../core/scheduler.js';
import type { FairsharePolicy } from '../core/types.js';

/** The window shareDecaySeconds 0 (or absent) stands for: AWS's "default minimum time window". */
export const DEFAULT_DECAY_SECONDS = 600;

/** Below this (vCPUs), an idle share's recent usage is forgotten, so the map does not grow forever. */
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
  /** Decayed vCPU-seconds as of `at`. */
  decayed: number;
  /** Epoch ms `decayed` refers to. */
  at: number;
  /** Decay window (s) last asked for; stops are decayed with it until the next ask. */
  windowSeconds: number;
}

/** Float noise from adding and removing fractional vCPUs (0.1 + 0.2 - 0.3) must not linger. */
function roundVcpus(n: number): number {
  const r = Math.round(n * 1e6) / 1e6;
  return r > 0 ? r : 0;
}

export class FairShareUsage {
  /** queue name → share identifier → usage. */
  private readonly queues = new Map<string, Map<string, ShareUsage>>();

  private entry(queue: string, share: string): ShareUsage {
    let shares = this.queues.get(queue);
    if (!shares) {
      shares = new Map();
      this.queues.set(queue, shares);
    }
    let u = shares.get(share);
    if (!u) {
      u = { running: 0, decayed: 0, at: 0, windowSeconds: DEFAULT_DECAY_SECONDS };
      shares.set(share, u);
    }
    return u;
  }

  private find(queue: string, share: string): ShareUsage | undefined {
    return this.queues.get(queue)?.get(share);
  }

  /** A job of the share started to hold `vcpus` (it moved to STARTING). */
  started(queue: string, share: string, vcpus: number): void {
    const u = this.entry(queue, share);
    u.running = roundVcpus(u.running + vcpus);
  }

  /**
   * A job of the share that held `vcpus` stopped. Its attempt ran from `startedAt` to `stoppedAt`
   * (epoch ms; startedAt undefined when it never reached RUNNING), which adds that many
   * vCPU-seconds to recent usage, decayed within the attempt too (for attempts much shorter than
   * the window that is vcpus x seconds).
   */
  stopped(queue: string, share: string, vcpus: number, startedAt: number | undefined, stoppedAt: number): void {
    const u = this.entry(queue, share);
    u.running = roundVcpus(u.running - vcpus);
    const seconds = startedAt === undefined ? 0 : Math.max(0, (stoppedAt - startedAt) / 1000);
    if (seconds > 0 && vcpus > 0) {
      const tau = u.windowSeconds;
      // The integral of vcpus x e^(-(stoppedAt - t)/tau) over the attempt.
      this.add(u, vcpus * tau * -Math.expm1(-seconds / tau), stoppedAt);
    }
    this.prune(queue, share, u);
  }

  /** vCPUs the share's jobs hold now in the queue. */
  running(queue: string, share: string): number {
    return this.find(queue, share)?.running ?? 0;
  }

  /**
   * The share's recent usage in vCPUs at `now`: decayed vCPU-seconds of its finished attempts
   * divided by the decay window (shareDecaySeconds; 0 or undefined means 600 s).
   */
  recentVcpus(queue: string, share: string, decaySeconds: number | undefined, now: number): number {
    const u = this.find(queue, share);
    if (!u) return 0;
    u.windowSeconds = decayWindowSeconds(decaySeconds);
    this.decayTo(u, now);
    const recent = u.decayed / u.windowSeconds;
    if (this.prune(queue, share, u)) return 0;
    return recent;
  }

  /**
   * Rebuilds running usage at start from the store's STARTING/RUNNING jobs (store.activeShareUsage());
   * replaces every share's running vCPUs, keeps recent usage.
   */
  load(active: readonly { jobQueue: string; shareIdentifier: string; vcpus: number }[]): void {
    for (const shares of this.queues.values()) for (const u of shares.values()) u.running = 0;
    for (const a of active) {
      const u = this.entry(a.jobQueue, a.shareIdentifier);
      u.running = roundVcpus(u.running + a.vcpus);
    }
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

  private decayTo(u: ShareUsage, t: number): void {
    if (t > u.at) {
      u.decayed *= Math.exp(-(t - u.at) / 1000 / u.windowSeconds);
      u.at = t;
    }
  }

  /** Adds vCPU-seconds counted at time `t`; a `t` before the last update is decayed to it. */
  private add(u: ShareUsage, vcpuSeconds: number, t: number): void {
    if (t >= u.at) {
      this.decayTo(u, t);
      u.decayed += vcpuSeconds;
    } else {
      u.decayed += vcpuSeconds * Math.exp(-(u.at - t) / 1000 / u.windowSeconds);
    }
  }

  /** Forgets an idle share with negligible recent usage; true if it did. */
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
