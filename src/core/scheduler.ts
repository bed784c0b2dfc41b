// The scheduler: a pure function from a snapshot to a plan.
// No clock, no database, no executor in here: `now` and all state come in through the snapshot,
// and what to do goes out as a Plan that the server applies in one transaction.

import type { Resources, ResourceState, ResourceStatus } from './types.js';

/** A RUNNABLE job at (or near) the head of its queue. */
export interface RunnableJob {
  jobId: string;
  /** Submission order; FIFO within a queue. */
  seq: number;
  resources: Resources;
  /** The reason currently stored on the job, so the plan only reports reasons that changed. */
  statusReason?: string;
}

export interface QueueSnapshot {
  name: string;
  priority: number;
  state: ResourceState;
  /** Compute environment names in ascending `order`. */
  computeEnvironments: string[];
  /** RUNNABLE jobs of this queue in FIFO order (by seq), possibly only the first N. */
  runnable: RunnableJob[];
}

export interface ComputeEnvironmentSnapshot {
  name: string;
  state: ResourceState;
  status: ResourceStatus;
  capacity: Resources;
  /** Resources held by STARTING and RUNNING jobs. */
  used: Resources;
}

export interface SchedulerSnapshot {
  now: number;
  queues: QueueSnapshot[];
  computeEnvironments: ComputeEnvironmentSnapshot[];
}

export interface Placement {
  jobId: string;
  jobQueue: string;
  computeEnvironment: string;
  resources: Resources;
}

export interface Unplaced {
  jobId: string;
  jobQueue: string;
  /** Why the job stays RUNNABLE, AWS-style prefix first, e.g.
   * "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - needs 8 vCPUs, largest compute environment in queue (default) has 4". */
  reason: string;
}

export interface Plan {
  placements: Placement[];
  /** Jobs that could not be placed whose reason differs from the one stored. */
  unplaced: Unplaced[];
}

export function plan(_snapshot: SchedulerSnapshot): Plan {
  throw new Error('not implemented');
}
