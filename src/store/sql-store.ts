// The Store on SQL: one code path for SQLite and PostgreSQL. Queries are built with Kysely and
// executed through db.ts; the per-transition hot paths use prepared-by-marker statements.
//
// This file composes the store: SqlOps implements every query of StoreTx by delegating to the
// query modules under sql/ (metadata.ts, jobs.ts, graph.ts, as functions of a context, context.ts;
// row mapping in rows.ts), and SqlStore adds transactions and close. A transaction is a SqlOps
// bound to that transaction's runner, sharing the store's compiled statements and caches.

import type { Kysely } from 'kysely';
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
import { openDatabase, type DatabaseConfig, type SqlDatabase, type SqlRunner } from './db.js';
import type { Schema } from './schema.js';
import type { EventDelivery, EventRule, EventTarget, JobStateChange, NewEventDelivery, RuleTarget } from '../core/events.js';
import type { AttemptPatch, DependencyEdge, JobListQuery, JobPatch, JobUpdate, Store, StoreTx } from './store.js';
import type { Shared, SqlContext } from './sql/context.js';
import * as sqlEvents from './sql/events.js';
import * as sqlGraph from './sql/graph.js';
import * as sqlJobs from './sql/jobs.js';
import * as sqlMetadata from './sql/metadata.js';
import * as sqlUsage from './sql/usage.js';
import * as sqlMetrics from './sql/metrics.js';
import { SqlStatesStore } from './sql/states.js';
import type { StatesStore } from './states-store.js';

export async function openStore(config: DatabaseConfig): Promise<Store> {
  const db = await openDatabase(config);
  try {
    await db.migrate();
  } catch (e) {
    await db.close();
    throw e;
  }
  return new SqlStore(db);
}

/** Queries shared by the store and its transactions; `runner` decides where they execute. */
class SqlOps implements StoreTx, SqlContext {
  constructor(
    readonly db: SqlDatabase,
    readonly runner: SqlRunner,
    readonly shared: Shared,
  ) {}

  get qb(): Kysely<Schema> {
    return this.db.qb;
  }

  // ----- metadata: compute environments, queues, definitions, scheduling policies, tags (sql/metadata.ts)

  loadComputeEnvironments(): Promise<ComputeEnvironment[]> {
    return sqlMetadata.loadComputeEnvironments(this);
  }

  loadJobQueues(): Promise<JobQueue[]> {
    return sqlMetadata.loadJobQueues(this);
  }

  loadJobDefinitions(): Promise<JobDefinition[]> {
    return sqlMetadata.loadJobDefinitions(this);
  }

  getTags(resourceArn: string): Promise<Tags> {
    return sqlMetadata.getTags(this, resourceArn);
  }

  getTagsMany(resourceArns: readonly string[]): Promise<Map<string, Tags>> {
    return sqlMetadata.getTagsMany(this, resourceArns);
  }

  insertComputeEnvironment(ce: ComputeEnvironment): Promise<void> {
    return sqlMetadata.insertComputeEnvironment(this, ce);
  }

  updateComputeEnvironment(ce: ComputeEnvironment): Promise<void> {
    return sqlMetadata.updateComputeEnvironment(this, ce);
  }

  deleteComputeEnvironment(name: string): Promise<void> {
    return sqlMetadata.deleteComputeEnvironment(this, name);
  }

  insertJobQueue(q: JobQueue): Promise<void> {
    return sqlMetadata.insertJobQueue(this, q);
  }

  updateJobQueue(q: JobQueue): Promise<void> {
    return sqlMetadata.updateJobQueue(this, q);
  }

  deleteJobQueue(name: string): Promise<void> {
    return sqlMetadata.deleteJobQueue(this, name);
  }

  insertJobDefinition(def: JobDefinition): Promise<void> {
    return sqlMetadata.insertJobDefinition(this, def);
  }

  updateJobDefinition(def: JobDefinition): Promise<void> {
    return sqlMetadata.updateJobDefinition(this, def);
  }

  putTags(resourceArn: string, tags: Tags): Promise<void> {
    return sqlMetadata.putTags(this, resourceArn, tags);
  }

  deleteTags(resourceArn: string, keys: readonly string[]): Promise<void> {
    return sqlMetadata.deleteTags(this, resourceArn, keys);
  }

  deleteAllTags(resourceArn: string): Promise<void> {
    return sqlMetadata.deleteAllTags(this, resourceArn);
  }

  loadSchedulingPolicies(): Promise<SchedulingPolicy[]> {
    return sqlMetadata.loadSchedulingPolicies(this);
  }

  insertSchedulingPolicy(policy: SchedulingPolicy): Promise<void> {
    return sqlMetadata.insertSchedulingPolicy(this, policy);
  }

  updateSchedulingPolicy(policy: SchedulingPolicy): Promise<void> {
    return sqlMetadata.updateSchedulingPolicy(this, policy);
  }

  deleteSchedulingPolicy(name: string): Promise<void> {
    return sqlMetadata.deleteSchedulingPolicy(this, name);
  }

  // ----- jobs and attempts (sql/jobs.ts)

  insertJobs(jobs: readonly Job[]): Promise<void> {
    return sqlJobs.insertJobs(this, jobs);
  }

  getJob(jobId: string): Promise<Job | undefined> {
    return sqlJobs.getJob(this, jobId);
  }

  getJobs(jobIds: readonly string[]): Promise<Job[]> {
    return sqlJobs.getJobs(this, jobIds);
  }

  getAttempts(jobIds: readonly string[]): Promise<Attempt[]> {
    return sqlJobs.getAttempts(this, jobIds);
  }

  getAttempt(jobId: string, attempt: number): Promise<Attempt | undefined> {
    return sqlJobs.getAttempt(this, jobId, attempt);
  }

  attemptUsage(jobDefinitionName: string, limit: number) {
    return sqlUsage.attemptUsage(this, jobDefinitionName, limit);
  }

  listJobs(q: JobListQuery): Promise<Job[]> {
    return sqlJobs.listJobs(this, q);
  }

  runnableHeads(jobQueue: string, limit: number): Promise<RunnableJob[]> {
    return sqlJobs.runnableHeads(this, jobQueue, limit);
  }

  jobsByStatus(statuses: readonly JobStatus[], afterSeq: number, limit: number): Promise<Job[]> {
    return sqlJobs.jobsByStatus(this, statuses, afterSeq, limit);
  }

  activeUsage(): Promise<Map<string, Resources>> {
    return sqlJobs.activeUsage(this);
  }

  countJobs(jobQueue: string, statuses?: readonly JobStatus[]): Promise<number> {
    return sqlJobs.countJobs(this, jobQueue, statuses);
  }

  maxSeq(): Promise<number> {
    return sqlJobs.maxSeq(this);
  }

  jobCountsByQueue(): Promise<sqlMetrics.QueueJobCount[]> {
    return sqlMetrics.jobCountsByQueue(this);
  }

  updateJob(update: JobUpdate): Promise<boolean> {
    return sqlJobs.updateJob(this, update);
  }

  insertAttempts(attempts: readonly Attempt[]): Promise<void> {
    return sqlJobs.insertAttempts(this, attempts);
  }

  insertAttempt(attempt: Attempt): Promise<void> {
    return sqlJobs.insertAttempt(this, attempt);
  }

  updateAttempt(jobId: string, attempt: number, patch: AttemptPatch): Promise<void> {
    return sqlJobs.updateAttempt(this, jobId, attempt, patch);
  }

  // ----- dependencies, arrays, fair share (sql/graph.ts)

  insertDependencies(edges: readonly DependencyEdge[]): Promise<void> {
    return sqlGraph.insertDependencies(this, edges);
  }

  dependentsOf(jobIds: readonly string[]): Promise<DependencyEdge[]> {
    return sqlGraph.dependentsOf(this, jobIds);
  }

  dependenciesOf(jobId: string): Promise<string[]> {
    return sqlGraph.dependenciesOf(this, jobId);
  }

  decrementUnmetDependencies(counts: ReadonlyMap<string, number>) {
    return sqlGraph.decrementUnmetDependencies(this, counts);
  }

  releaseArrayChildren(parentId: string, now: number, limit?: number): Promise<number> {
    return sqlGraph.releaseArrayChildren(this, parentId, now, limit);
  }

  updateArrayChildren(parentId: string, from: readonly JobStatus[], set: JobPatch): Promise<number> {
    return sqlGraph.updateArrayChildren(this, parentId, from, set);
  }

  addArrayProgress(parentId: string, succeeded: number, failed: number, now: number): Promise<ArrayState | undefined> {
    return sqlGraph.addArrayProgress(this, parentId, succeeded, failed, now);
  }

  arrayChildren(parentId: string, statuses: readonly JobStatus[], limit: number): Promise<Job[]> {
    return sqlGraph.arrayChildren(this, parentId, statuses, limit);
  }

  countArrayChildren(parentId: string, statuses: readonly JobStatus[]): Promise<number> {
    return sqlGraph.countArrayChildren(this, parentId, statuses);
  }

  arrayStatusCounts(parentIds: readonly string[]): Promise<Map<string, Partial<Record<JobStatus, number>>>> {
    return sqlGraph.arrayStatusCounts(this, parentIds);
  }

  runnableShares(jobQueue: string): Promise<string[]> {
    return sqlGraph.runnableShares(this, jobQueue);
  }

  runnableHeadsForShare(jobQueue: string, shareIdentifier: string, limit: number): Promise<RunnableJob[]> {
    return sqlGraph.runnableHeadsForShare(this, jobQueue, shareIdentifier, limit);
  }

  activeShareUsage(): Promise<{ jobQueue: string; shareIdentifier: string; vcpus: number }[]> {
    return sqlGraph.activeShareUsage(this);
  }

  // ----- events: rules, targets, the outbox, deliveries (sql/events.ts)

  loadEventRules(): Promise<EventRule[]> {
    return sqlEvents.loadEventRules(this);
  }

  loadEventTargets(ruleName?: string): Promise<RuleTarget[]> {
    return sqlEvents.loadEventTargets(this, ruleName);
  }

  readEventOutbox(limit: number): Promise<JobStateChange[]> {
    return sqlEvents.readEventOutbox(this, limit);
  }

  dueEventDeliveries(now: number, limit: number): Promise<EventDelivery[]> {
    return sqlEvents.dueEventDeliveries(this, now, limit);
  }

  nextEventDeliveryAt(): Promise<number | undefined> {
    return sqlEvents.nextEventDeliveryAt(this);
  }

  jobEventCapture(): Promise<readonly JobStatus[] | 'all'> {
    return sqlEvents.jobEventCapture(this);
  }

  putEventRule(rule: EventRule): Promise<void> {
    return sqlEvents.putEventRule(this, rule);
  }

  deleteEventRule(name: string): Promise<void> {
    return sqlEvents.deleteEventRule(this, name);
  }

  putEventTargets(ruleName: string, targets: readonly EventTarget[], now: number): Promise<void> {
    return sqlEvents.putEventTargets(this, ruleName, targets, now);
  }

  deleteEventTargets(ruleName: string, ids: readonly string[]): Promise<void> {
    return sqlEvents.deleteEventTargets(this, ruleName, ids);
  }

  syncJobEventCapture(statuses: readonly JobStatus[] | 'all'): Promise<void> {
    return sqlEvents.syncJobEventCapture(this, statuses);
  }

  deleteEventOutbox(ids: readonly number[]): Promise<void> {
    return sqlEvents.deleteEventOutbox(this, ids);
  }

  insertEventDeliveries(deliveries: readonly NewEventDelivery[]): Promise<void> {
    return sqlEvents.insertEventDeliveries(this, deliveries);
  }

  deleteEventDeliveries(ids: readonly number[]): Promise<void> {
    return sqlEvents.deleteEventDeliveries(this, ids);
  }

  retryEventDelivery(id: number, attempts: number, nextAttemptAt: number, lastError: string): Promise<void> {
    return sqlEvents.retryEventDelivery(this, id, attempts, nextAttemptAt, lastError);
  }
}

class SqlStore extends SqlOps implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly states: StatesStore = new SqlStatesStore(this);

  constructor(db: SqlDatabase) {
    super(db, db, { updates: new Map(), parentSpecs: new Map() });
    this.dialect = db.dialect;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.transaction((runner) => fn(new SqlOps(this.db, runner, this.shared)));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
