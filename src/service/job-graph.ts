// What follows from jobs finishing, inside the transaction that finished them: array parents
// count their children and finish when all have; dependents are released when their last
// dependency succeeds, or fail with "Dependent Job failed" when one fails, cascading downstream;
// arrays with a concurrency cap get their next children released.
//
// Work is proportional to what changed: dependents are found through an index from a job to the
// jobs that depend on it, parents keep counters instead of re-counting their children.

import {
  failArrayChildrenForDependency,
  failDependent,
  finishArray,
  isRefusal,
  releaseJob,
  type ArrayChildrenUpdate,
  type Outcome,
} from '../core/transitions.js';
import type { Job } from '../core/types.js';
import type { StoreTx } from '../store/store.js';
import type { JobObserver } from './observer.js';

/** Statuses that hold one of a capped array's slots. */
const ACTIVE_CHILD = ['RUNNABLE', 'STARTING', 'RUNNING'] as const;

export class JobGraph {
  constructor(
    private readonly now: () => number,
    private readonly observer?: JobObserver,
  ) {}

  /** Applies a single-job transition; false if refused or fenced out. */
  private async apply(tx: StoreTx, outcome: Outcome): Promise<boolean> {
    if (isRefusal(outcome)) return false;
    return tx.updateJob(outcome.update);
  }

  /** Applies a bulk transition to an array's children; returns the children it changed (before the change). */
  async applyToChildren(tx: StoreTx, u: ArrayChildrenUpdate): Promise<Job[]> {
    const children = await tx.arrayChildren(u.parentId, u.from, Number.MAX_SAFE_INTEGER);
    if (children.length === 0) return [];
    await tx.updateArrayChildren(u.parentId, u.from, u.set);
    return children.map((c) => ({ ...c, status: u.set.status ?? c.status }));
  }

  /**
   * Moves an array's eligible PENDING children to RUNNABLE: all of them, or up to its
   * concurrency cap counting the children already RUNNABLE, STARTING or RUNNING.
   */
  async topUpArray(tx: StoreTx, parent: Job): Promise<number> {
    if (!parent.array || parent.unmetDependencies > 0 || (parent.status !== 'SUBMITTED' && parent.status !== 'PENDING')) return 0;
    const now = this.now();
    const cap = parent.array.maxConcurrency;
    if (cap === undefined) return tx.releaseArrayChildren(parent.jobId, now);
    const active = await tx.countArrayChildren(parent.jobId, ACTIVE_CHILD);
    return cap > active ? tx.releaseArrayChildren(parent.jobId, now, cap - active) : 0;
  }

  /**
   * Jobs that just reached SUCCEEDED or FAILED (already written, passed as they are now). Returns
   * every job this made terminal in turn (parents, failed dependents), for events and metrics.
   */
  async settle(tx: StoreTx, finished: Job[]): Promise<Job[]> {
    const cascaded: Job[] = [];
    let work = finished;
    while (work.length > 0) {
      this.observer?.jobsFinished(work); // every job that finishes passes here once (metrics)
      const next: Job[] = [];

      // 1. Array progress: count finished children per parent.
      const progress = new Map<string, { succeeded: number; failed: number; capped: boolean }>();
      for (const j of work) {
        if (j.arrayParentId === undefined) continue;
        const p = progress.get(j.arrayParentId) ?? { succeeded: 0, failed: 0, capped: false };
        if (j.status === 'SUCCEEDED') p.succeeded++;
        else p.failed++;
        progress.set(j.arrayParentId, p);
      }

      // 2. Dependents of what finished.
      const withDependents = work.filter((j) => j.hasDependents);
      if (withDependents.length > 0) {
        const byId = new Map(withDependents.map((j) => [j.jobId, j]));
        const edges = await tx.dependentsOf(withDependents.map((j) => j.jobId));
        const metCounts = new Map<string, number>();
        const failedDependents = new Set<string>();
        for (const e of edges) {
          if (byId.get(e.dependsOn)?.status === 'SUCCEEDED') metCounts.set(e.jobId, (metCounts.get(e.jobId) ?? 0) + 1);
          else failedDependents.add(e.jobId);
        }
        // Successes: lower the counters; a dependent with none left runs (or its array's children do).
        const released = (await tx.decrementUnmetDependencies(metCounts)).filter((u) => u.unmetDependencies === 0 && u.status === 'PENDING');
        for (const job of await tx.getJobs(released.map((r) => r.jobId))) {
          if (failedDependents.has(job.jobId)) continue;
          if (job.array) await this.topUpArray(tx, job);
          else if (job.arrayParentId !== undefined) {
            const parent = await tx.getJob(job.arrayParentId);
            if (parent) await this.topUpArray(tx, parent);
          } else await this.apply(tx, releaseJob(job, this.now()));
        }
        // Failures: dependents not yet running fail the same way, and so on downstream.
        for (const job of await tx.getJobs([...failedDependents])) {
          const now = this.now();
          if (!(await this.apply(tx, failDependent(job, now)))) continue;
          const failed: Job = { ...job, status: 'FAILED' };
          next.push(failed);
          cascaded.push(failed);
          if (job.array) {
            // Its children never ran (a parent with unmet dependencies releases none): they fail too.
            // They are counted into the parent's progress in the next round, like any finished child.
            next.push(...(await this.applyToChildren(tx, failArrayChildrenForDependency(job, now))));
          }
        }
      }

      // 3. Parents whose children are all done finish; capped ones release more children.
      for (const [parentId, p] of progress) {
        const now = this.now();
        const counters = await tx.addArrayProgress(parentId, p.succeeded, p.failed, now);
        if (!counters) continue;
        const parent = await tx.getJob(parentId);
        if (!parent) continue;
        if (counters.succeeded + counters.failed >= counters.size) {
          const outcome = finishArray(parent, now);
          if (await this.apply(tx, outcome)) {
            const done: Job = { ...parent, status: isRefusal(outcome) ? parent.status : outcome.update.set.status! };
            next.push(done);
            cascaded.push(done);
          }
        } else if (counters.maxConcurrency !== undefined) {
          await this.topUpArray(tx, parent);
        }
      }
      work = next;
    }
    return cascaded;
  }
}
