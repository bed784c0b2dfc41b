// What the metrics module (src/server/metrics.ts) learns from the service and the job runtime as
// jobs move. One-line calls at the places where the changes happen; every method is optional to
// call and cheap (counters and histograms in memory, no I/O).

import type { Job } from '../core/types.js';

export interface JobObserver {
  /** A SubmitJob was committed (array children and multi-node nodes are in the store too). */
  jobSubmitted(job: Job): void;
  /**
   * Jobs that just reached SUCCEEDED or FAILED, each once: array children (one by one or in bulk),
   * array parents, dependents failed in a cascade, multi-node parents. Called from
   * JobGraph.settle(), through which every job that finishes passes.
   */
  jobsFinished(jobs: readonly Job[]): void;
  /** A job's attempt reached RUNNING (`after` is the job as written, with its startedAt). */
  attemptRunning(before: Job, after: Job): void;
  /** A scheduling cycle ended: how long it took, how many attempts it placed. */
  cycleFinished(durationMs: number, placed: number): void;
}
