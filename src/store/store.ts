// The one interface the rest of OpenBatch persists through. SQLite and PostgreSQL both sit
// behind it (see sql-store.ts and db.ts); the shared store test suite runs against both.

import type { RunnableJob } from '../core/scheduler.js';
import type {
  ArrayState,
  Attempt,
  ComputeEnvironment,
  Job,
  JobDefinition,
  JobQueue,
  JobStatus,
  Resources,
  SchedulingPolicy,
  Tags,
} from '../core/types.js';

export type { AttemptPatch, JobPatch, JobUpdate } from '../core/transitions.js';
import type { AttemptPatch, JobPatch, JobUpdate } from '../core/transitions.js';
import type { QueueJobCount } from './sql/metrics.js';
import type { EventDelivery, EventRule, EventTarget, JobStateChange, NewEventDelivery, RuleTarget } from '../core/events.js';
import type { StatesStore } from './states-store.js';

export interface JobListQuery {
  /** Exactly one of jobQueue / arrayParentId scopes the listing. */
  jobQueue?: string;
  arrayParentId?: string;
  /** The nodes of a multi-node parallel job (ListJobs multiNodeJobId). */
  nodeParentId?: string;
  /** Undefined means every status. */
  statuses?: readonly JobStatus[];
  /** Case-insensitive; a trailing `*` makes it a prefix match. */
  jobName?: string;
  /** Job definition ARN prefix (`arn:...:job-definition/name:` matches every revision). */
  jobDefinitionArnPrefix?: string;
  /** Exactly this job definition revision. */
  jobDefinitionArn?: string;
  createdBefore?: number;
  createdAfter?: number;
  /** `asc`: oldest first (by submission order); `desc`: newest first. */
  order: 'asc' | 'desc';
  /** Continue after this seq (exclusive), in the listing's order. */
  afterSeq?: number;
  /** Children listings: continue after this array index (the index orders them). */
  afterArrayIndex?: number;
  limit: number;
}

/** One measured attempt of a job definition (right-sizing data). */
export interface AttemptUsageSample {
  jobId: string;
  attempt: number;
  stoppedAt: number;
  peakMemoryMiB?: number;
  cpuSeconds?: number;
  /** The memory the job asked for (MiB, after overrides). */
  requestedMemoryMiB: number;
}

export interface StoreReader {
  loadComputeEnvironments(): Promise<ComputeEnvironment[]>;
  loadJobQueues(): Promise<JobQueue[]>;
  loadJobDefinitions(): Promise<JobDefinition[]>;
  getTags(resourceArn: string): Promise<Tags>;
  getTagsMany(resourceArns: readonly string[]): Promise<Map<string, Tags>>;

  getJobs(jobIds: readonly string[]): Promise<Job[]>;
  getJob(jobId: string): Promise<Job | undefined>;
  /** Attempts of these jobs, ordered by job and attempt number. */
  getAttempts(jobIds: readonly string[]): Promise<Attempt[]>;
  getAttempt(jobId: string, attempt: number): Promise<Attempt | undefined>;
  /** Right-sizing: the measured usage of the job definition's last `limit` attempts, newest first. */
  attemptUsage(jobDefinitionName: string, limit: number): Promise<AttemptUsageSample[]>;
  listJobs(query: JobListQuery): Promise<Job[]>;
  /** The first `limit` RUNNABLE jobs of a queue in FIFO order. */
  runnableHeads(jobQueue: string, limit: number): Promise<RunnableJob[]>;
  /** Jobs in these statuses (SUBMITTED, STARTING, RUNNING only), by seq, for recovery at start; page with afterSeq. */
  jobsByStatus(statuses: readonly JobStatus[], afterSeq: number, limit: number): Promise<Job[]>;
  /** Resources held by STARTING and RUNNING jobs, per compute environment name. */
  activeUsage(): Promise<Map<string, Resources>>;
  /** How many jobs of the queue are in these statuses (any, if undefined). */
  countJobs(jobQueue: string, statuses?: readonly JobStatus[]): Promise<number>;
  maxSeq(): Promise<number>;
  /** Jobs per queue, state and kind, one consistent moment (the metrics endpoint). */
  jobCountsByQueue(): Promise<QueueJobCount[]>;

  // ----- dependencies
  /** Edges whose `dependsOn` is one of these jobs. */
  dependentsOf(jobIds: readonly string[]): Promise<DependencyEdge[]>;
  /** The jobs this job depends on. */
  dependenciesOf(jobId: string): Promise<string[]>;

  // ----- arrays
  /** Children of an array in these statuses, lowest index first. */
  arrayChildren(parentId: string, statuses: readonly JobStatus[], limit: number): Promise<Job[]>;
  countArrayChildren(parentId: string, statuses: readonly JobStatus[]): Promise<number>;
  /** Unfinished children per status (finished ones are the parent's counters), for statusSummary. */
  arrayStatusCounts(parentIds: readonly string[]): Promise<Map<string, Partial<Record<JobStatus, number>>>>;

  // ----- fair share
  /** Share identifiers with RUNNABLE jobs in the queue. */
  runnableShares(jobQueue: string): Promise<string[]>;
  /** The first RUNNABLE jobs of one share: higher schedulingPriority first, then FIFO. */
  runnableHeadsForShare(jobQueue: string, shareIdentifier: string, limit: number): Promise<RunnableJob[]>;
  /** vCPUs held by STARTING/RUNNING jobs per queue and share identifier. */
  activeShareUsage(): Promise<{ jobQueue: string; shareIdentifier: string; vcpus: number }[]>;
  loadSchedulingPolicies(): Promise<SchedulingPolicy[]>;

  // ----- events (EventBridge rules and targets, the outbox of job state changes, deliveries)
  loadEventRules(): Promise<EventRule[]>;
  /** Targets of one rule, or of every rule. */
  loadEventTargets(ruleName?: string): Promise<RuleTarget[]>;
  /** The oldest captured job state changes, in commit order. */
  readEventOutbox(limit: number): Promise<JobStateChange[]>;
  /** Deliveries due at `now`, the earliest first. */
  dueEventDeliveries(now: number, limit: number): Promise<EventDelivery[]>;
  /** When the next delivery is due, or undefined when none is left. */
  nextEventDeliveryAt(): Promise<number | undefined>;
  /** What the installed capture trigger captures: 'all', some statuses, or [] (none installed). */
  jobEventCapture(): Promise<readonly JobStatus[] | 'all'>;
}

export interface DependencyEdge {
  jobId: string;
  dependsOn: string;
}

export interface StoreWriter {
  insertComputeEnvironment(ce: ComputeEnvironment): Promise<void>;
  updateComputeEnvironment(ce: ComputeEnvironment): Promise<void>;
  deleteComputeEnvironment(name: string): Promise<void>;
  insertJobQueue(q: JobQueue): Promise<void>;
  updateJobQueue(q: JobQueue): Promise<void>;
  deleteJobQueue(name: string): Promise<void>;
  insertJobDefinition(def: JobDefinition): Promise<void>;
  updateJobDefinition(def: JobDefinition): Promise<void>;
  putTags(resourceArn: string, tags: Tags): Promise<void>;
  deleteTags(resourceArn: string, keys: readonly string[]): Promise<void>;
  deleteAllTags(resourceArn: string): Promise<void>;

  insertJobs(jobs: readonly Job[]): Promise<void>;
  /** Applies a conditional update; resolves to whether the job was in a `from` state. */
  updateJob(update: JobUpdate): Promise<boolean>;
  insertAttempt(attempt: Attempt): Promise<void>;
  insertAttempts(attempts: readonly Attempt[]): Promise<void>;
  updateAttempt(jobId: string, attempt: number, patch: AttemptPatch): Promise<void>;

  insertDependencies(edges: readonly DependencyEdge[]): Promise<void>;
  /** Lowers each job's unmet-dependency count by the given amount; returns the jobs' new state. */
  decrementUnmetDependencies(counts: ReadonlyMap<string, number>): Promise<{ jobId: string; unmetDependencies: number; status: JobStatus }[]>;
  /** Moves an array's PENDING children with no unmet dependencies to RUNNABLE, lowest index first. */
  releaseArrayChildren(parentId: string, now: number, limit?: number): Promise<number>;
  /** The same update on every child of the array in one of `from` states; returns how many changed. */
  updateArrayChildren(parentId: string, from: readonly JobStatus[], set: JobPatch): Promise<number>;
  /** Adds finished children to the parent's counters; returns the parent's new counters. */
  addArrayProgress(parentId: string, succeeded: number, failed: number, now: number): Promise<ArrayState | undefined>;

  insertSchedulingPolicy(policy: SchedulingPolicy): Promise<void>;
  updateSchedulingPolicy(policy: SchedulingPolicy): Promise<void>;
  deleteSchedulingPolicy(name: string): Promise<void>;

  // ----- events
  putEventRule(rule: EventRule): Promise<void>;
  deleteEventRule(name: string): Promise<void>;
  /** Adds or replaces a rule's targets by Id. */
  putEventTargets(ruleName: string, targets: readonly EventTarget[], now: number): Promise<void>;
  deleteEventTargets(ruleName: string, ids: readonly string[]): Promise<void>;
  /** Captures changes to these job statuses into the outbox from now on (in this transaction): 'all', or none when empty. */
  syncJobEventCapture(statuses: readonly JobStatus[] | 'all'): Promise<void>;
  deleteEventOutbox(ids: readonly number[]): Promise<void>;
  insertEventDeliveries(deliveries: readonly NewEventDelivery[]): Promise<void>;
  /** Deliveries done with (delivered or given up). */
  deleteEventDeliveries(ids: readonly number[]): Promise<void>;
  retryEventDelivery(id: number, attempts: number, nextAttemptAt: number, lastError: string): Promise<void>;
}

export interface StoreTx extends StoreReader, StoreWriter {}

export interface Store extends StoreReader {
  readonly dialect: 'sqlite' | 'postgres';
  /** One transaction; writes are serialised, so reads inside see a stable state. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Step Functions state machines and executions (states-store.ts). */
  readonly states: StatesStore;
}
