// What every service operation works with, passed in by the composition root (src/server).

import type { Arns } from '../core/arn.js';
import type { HostResources } from '../core/capacity.js';
import { clientError } from '../core/errors.js';
import type { ComputeEnvironment, Job, Resources } from '../core/types.js';
import type { Store } from '../store/store.js';
import type { JobGraph } from './job-graph.js';
import type { JobObserver } from './observer.js';
import type { Registry } from './registry.js';
import type { WriteBatcher } from './write-batcher.js';

/** How the service tells the running server that something changed. */
export interface ServiceHooks {
  /** New jobs were committed in SUBMITTED. */
  jobsSubmitted(jobIds: readonly string[]): void;
  /** Queues, compute environments or capacity changed: run a scheduling cycle. */
  schedule(): void;
  /** A STARTING/RUNNING job's attempt must be stopped (TerminateJob); already committed. */
  stopAttempt(job: Job, attempt: number): void;
  /** vCPUs, memory and GPUs held now on a compute environment (for desiredvCpus). */
  usageOf(computeEnvironment: string): Resources;
  /** Spot reclaims a running job's host (fault injection); false if the job is not STARTING/RUNNING. */
  reclaim(jobId: string): Promise<boolean>;
}

export interface ServiceContext {
  store: Store;
  registry: Registry;
  arns: Arns;
  host: HostResources;
  now: () => number;
  newJobId: () => string;
  newUuid: () => string;
  /** Reserves `count` consecutive submission sequence numbers (FIFO order) and returns the first. OpenBatch is the store's only writer. */
  nextSeq: (count?: number) => number;
  /** What follows from jobs finishing: array progress, dependents (shared with the job runtime). */
  graph: JobGraph;
  writes: WriteBatcher;
  /** Serialises metadata changes (check-then-write on the registry). */
  metadataLock: <T>(fn: () => Promise<T>) => Promise<T>;
  hooks: ServiceHooks;
  /** What a compute environment's cluster offers where it is not this host (a Slurm partition, from
   *  sinfo): the base of its capacity instead of `host`; undefined when not known. */
  clusterResources?: (ce: Pick<ComputeEnvironment, 'executor' | 'tags'>) => Promise<HostResources | undefined>;
  /** Metrics: told of each committed submit (src/server/metrics.ts). */
  observer?: JobObserver;
}

/** A FIFO lock for `metadataLock`. */
export function makeLock(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

// ----- pagination tokens: opaque to clients, checked on the way back in

export function encodeToken(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeToken<T extends Record<string, unknown>>(token: string, check: (v: Record<string, unknown>) => v is T): T {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (v && typeof v === 'object' && check(v)) return v;
  } catch {
    // fall through
  }
  throw clientError('nextToken is not valid: pass the nextToken value from the previous response unchanged');
}

/** Offset-based pages over a small in-memory list (metadata). */
export function paginate<T>(items: T[], maxResults: number | undefined, nextToken: string | undefined, defaultMax = 100) {
  const offset = nextToken
    ? decodeToken(nextToken, (v): v is { o: number } => typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0).o
    : 0;
  const limit = maxResults ?? defaultMax;
  const page = items.slice(offset, offset + limit);
  const more = offset + limit < items.length;
  return { page, nextToken: more ? encodeToken({ o: offset + limit }) : undefined };
}
