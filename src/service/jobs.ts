// SubmitJob, DescribeJobs, ListJobs, CancelJob, TerminateJob.

import { nodeJobId, resolveMultiNodeSpecs, type NodeOverrides } from '../core/multinode.js';
import { clientError } from '../core/errors.js';
import { resolveJobSpec, type ContainerOverrides } from '../core/job-spec.js';
import {
  cancelArrayChildren,
  cancelJob,
  failArrayChildrenForDependency,
  failDependent,
  isRefusal,
  markArrayStopped,
  STOPPABLE,
  terminateJob,
} from '../core/transitions.js';
import { JOB_STATUSES, type Attempt, type Job, type JobDependency, type JobStatus, type JobTimeout, type RetryStrategy, type Tags } from '../core/types.js';
import type { DependencyEdge, JobListQuery, StoreReader, StoreTx } from '../store/store.js';
import { isFargate } from './compute-environments.js';
import { decodeToken, encodeToken, type ServiceContext } from './context.js';

export interface SubmitJobInput {
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  shareIdentifier?: string;
  schedulingPriorityOverride?: number;
  arrayProperties?: { size?: number };
  dependsOn?: JobDependency[];
  parameters?: Record<string, string>;
  containerOverrides?: ContainerOverrides;
  nodeOverrides?: unknown;
  retryStrategy?: RetryStrategy;
  propagateTags?: boolean;
  timeout?: JobTimeout;
  tags?: Tags;
  [field: string]: unknown;
}

export interface ListJobsInput {
  jobQueue?: string;
  arrayJobId?: string;
  multiNodeJobId?: string;
  jobStatus?: JobStatus;
  maxResults?: number;
  nextToken?: string;
  filters?: { name?: string; values?: string[] }[];
}

/** A job with what DescribeJobs reports about it besides the row itself. */
export interface JobView {
  job: Job;
  attempts: Attempt[];
  tags: Tags;
  /** Array parents: how many children are in each status. */
  childStatusCounts?: Partial<Record<JobStatus, number>>;
}

/** Fields of SubmitJob that later issues implement; rejected clearly until then, never ignored. */
const NOT_YET_SUPPORTED: [keyof SubmitJobInput, string][] = [
  ['eksPropertiesOverride', 'Amazon EKS jobs (eksPropertiesOverride)'],
  ['ecsPropertiesOverride', 'ecsProperties jobs (ecsPropertiesOverride)'],
];

/** Submit tag capping how many children of an array run at once (an OpenBatch extension). */
export const MAX_CONCURRENCY_TAG = 'openbatch:maxConcurrency';

const LIST_DEFAULT_MAX = 1000;
const LIST_FILTERED_DEFAULT_MAX = 100;

export class JobService {
  constructor(private readonly ctx: ServiceContext) {}

  /** A job id, or a job ARN (which AWS accepts too). */
  jobIdOf(ref: string): string {
    return this.ctx.arns.nameFromArn(ref, 'job') ?? ref;
  }

  async submit(input: SubmitJobInput) {
    const { registry, arns, now, newJobId, nextSeq, writes, hooks, store } = this.ctx;
    for (const [field, what] of NOT_YET_SUPPORTED) {
      if (input[field] !== undefined) throw clientError(`${field}: ${what} are not supported by this OpenBatch version yet`);
    }
    const queue = registry.findJobQueue(input.jobQueue);
    if (!queue) throw clientError(`JobQueue ${input.jobQueue} not found.`);
    if (queue.state !== 'ENABLED') {
      throw clientError(`Job queue ${queue.jobQueueName} is DISABLED and does not accept new jobs; enable it with UpdateJobQueue`);
    }
    if (queue.schedulingPolicyArn === undefined) {
      if (input.shareIdentifier !== undefined || input.schedulingPriorityOverride !== undefined) {
        // AWS's own message, typo included, so that scripts matching on it keep working.
        throw clientError('Job with shareIdentifier or schedulingPriority can onlybe submitted to job queue with fair share scheduling policy.');
      }
    } else if (input.shareIdentifier === undefined) {
      throw clientError(`shareIdentifier is required: job queue ${queue.jobQueueName} has a fair-share scheduling policy (${queue.schedulingPolicyArn})`);
    }
    const def = registry.findJobDefinition(input.jobDefinition, { activeOnly: true });
    if (!def) throw clientError(`JobDefinition name ${input.jobDefinition} does not exist or is not in ACTIVE status`);
    if (def.type !== 'multinode' && input.nodeOverrides !== undefined) {
      throw clientError(`nodeOverrides: only for multinode job definitions; ${def.jobDefinitionName}:${def.revision} has type ${def.type}`);
    }
    if (def.type === 'multinode' && input.arrayProperties !== undefined) {
      throw clientError(`arrayProperties: a multi-node parallel job (${def.jobDefinitionName}:${def.revision}) cannot be an array job`);
    }
    const ces = registry.queueComputeEnvironments(queue);
    const capability = def.platformCapabilities?.includes('FARGATE') ? 'FARGATE' : 'EC2';
    if (ces.length > 0 && ces.every((ce) => isFargate(ce) !== (capability === 'FARGATE'))) {
      throw clientError(
        `Job Queue is attached to Compute Environment that can not run Jobs with capability ${capability}. ` +
          `(job queue ${queue.jobQueueName} uses ${ces.map((c) => `${c.computeEnvironmentName} (${c.computeResources?.type ?? c.type})`).join(', ')}; ` +
          `job definition ${def.jobDefinitionName}:${def.revision} has platformCapabilities ${capability})`,
      );
    }
    if (input.arrayProperties !== undefined && input.arrayProperties.size === undefined) {
      throw clientError('arrayProperties.size is required for an array job (2 to 10000)');
    }
    const size = input.arrayProperties?.size;
    const maxConcurrency = parseMaxConcurrency(input.tags, size);
    const multi = def.type === 'multinode' ? resolveMultiNodeSpecs(def, input as SubmitJobInput & { nodeOverrides?: NodeOverrides }) : undefined;
    const spec = multi ? multi.parent : resolveJobSpec(def, input);
    const plan = await planDependencies(store, input.dependsOn ?? [], size, (ref) => this.jobIdOf(ref));

    const created = now();
    const firstSeq = nextSeq(1 + (size ?? multi?.nodes.length ?? 0));
    const job: Job = {
      jobId: newJobId(),
      jobName: input.jobName,
      jobQueue: queue.jobQueueName,
      status: 'SUBMITTED',
      createdAt: created,
      seq: firstSeq,
      spec,
      attemptCount: 0,
      unmetDependencies: 0,
      schedulingPriority: spec.schedulingPriority ?? 0,
    };
    if (input.shareIdentifier !== undefined) job.shareIdentifier = input.shareIdentifier;
    if (size !== undefined) job.array = { size, succeeded: 0, failed: 0, ...(maxConcurrency !== undefined ? { maxConcurrency } : {}) };
    const jobArn = arns.job(job.jobId);

    await writes.run(async (tx) => {
      // Dependencies' states are read inside the transaction that adds the edges: a dependency
      // finishing meanwhile cannot slip between the two.
      const { edges, children, bornFailed } = await plan.resolve(tx, job, created);
      // Nodes of a multi-node job wait in PENDING: the scheduler places the parent, for all of them at once.
      const nodes: Job[] = (multi?.nodes ?? []).map((nodeSpec, i) => ({
        jobId: nodeJobId(job.jobId, i),
        jobName: job.jobName,
        jobQueue: job.jobQueue,
        status: 'PENDING',
        createdAt: created,
        seq: firstSeq + 1 + i,
        spec: nodeSpec,
        attemptCount: 0,
        unmetDependencies: 0,
        schedulingPriority: job.schedulingPriority,
        nodeParentId: job.jobId,
        nodeIndex: i,
      }));
      await tx.insertJobs([job, ...children, ...nodes]);
      await tx.insertDependencies(edges);
      if (input.tags && Object.keys(input.tags).length > 0) await tx.putTags(jobArn, input.tags);
      if (bornFailed.length > 0) await this.failAtSubmit(tx, bornFailed);
    });
    hooks.jobsSubmitted([job.jobId]);
    this.ctx.observer?.jobSubmitted(job);
    return { jobArn, jobName: job.jobName, jobId: job.jobId };
  }

  /** Jobs whose dependency had already failed when they were submitted fail at once, cascading. */
  private async failAtSubmit(tx: StoreTx, jobs: Job[]): Promise<void> {
    const now = this.ctx.now();
    const finished: Job[] = [];
    for (const j of await tx.getJobs(jobs.map((x) => x.jobId))) {
      const t = failDependent(j, now);
      if (isRefusal(t) || !(await tx.updateJob(t.update))) continue;
      finished.push({ ...j, status: 'FAILED' });
      if (j.array) finished.push(...(await this.ctx.graph.applyToChildren(tx, failArrayChildrenForDependency(j, now))));
    }
    await this.ctx.graph.settle(tx, finished);
  }

  /** Jobs in the order asked for; unknown ids are left out, as AWS does. */
  async describe(input: { jobs: string[] }): Promise<JobView[]> {
    const { store, arns } = this.ctx;
    const ids = input.jobs.map((r) => this.jobIdOf(r));
    const jobs = await store.getJobs(ids);
    const byId = new Map(jobs.map((j) => [j.jobId, j]));
    const attempts = jobs.length ? await store.getAttempts(jobs.map((j) => j.jobId)) : [];
    const tags = jobs.length ? await store.getTagsMany(jobs.map((j) => arns.job(j.jobId))) : new Map<string, Tags>();
    const attemptsByJob = new Map<string, Attempt[]>();
    for (const a of attempts) {
      let list = attemptsByJob.get(a.jobId);
      if (!list) attemptsByJob.set(a.jobId, (list = []));
      list.push(a);
    }
    const parents = jobs.filter((j) => j.array).map((j) => j.jobId);
    const counts = parents.length ? await store.arrayStatusCounts(parents) : new Map<string, Partial<Record<JobStatus, number>>>();
    const seen = new Set<string>();
    const out: JobView[] = [];
    for (const id of ids) {
      const job = byId.get(id);
      if (!job || seen.has(id)) continue;
      seen.add(id);
      const view: JobView = { job: await this.withWaitingReason(job), attempts: attemptsByJob.get(id) ?? [], tags: tags.get(arns.job(id)) ?? {} };
      if (job.array) view.childStatusCounts = counts.get(id) ?? {};
      out.push(view);
    }
    return out;
  }

  /**
   * "Why is my job still RUNNABLE?" always has an answer. The scheduler stores a reason on the
   * jobs at the head of a queue that it could not place; a job further back, or in a queue that is
   * moving, gets this one when described.
   */
  private async withWaitingReason(job: Job): Promise<Job> {
    if (job.statusReason !== undefined) return job;
    if (job.status === 'PENDING') {
      const reason = await this.pendingReason(job);
      return reason === undefined ? job : { ...job, statusReason: reason };
    }
    if (job.status !== 'RUNNABLE') return job;
    const queue = this.ctx.registry.findJobQueue(job.jobQueue);
    const ces = queue ? this.ctx.registry.queueComputeEnvironments(queue).map((c) => c.computeEnvironmentName) : [];
    const gpus = job.spec.resources.gpus;
    if (gpus > 0 && queue) {
      // A GPU job waits for GPUs above all: say how many are free where.
      const free = this.ctx.registry
        .queueComputeEnvironments(queue)
        .filter((c) => c.capacity.gpus >= gpus)
        .slice(0, 3)
        .map((c) => `${c.computeEnvironmentName} has ${Math.max(0, c.capacity.gpus - this.ctx.hooks.usageOf(c.computeEnvironmentName).gpus)} of ${c.capacity.gpus} GPUs free`);
      return {
        ...job,
        statusReason:
          `CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - waiting for GPUs: needs ${gpus} GPU${gpus === 1 ? '' : 's'}` +
          (free.length ? `; ${free.join('; ')}` : '') +
          '; jobs submitted before it are placed first',
      };
    }
    return {
      ...job,
      statusReason:
        `CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - waiting in job queue ${job.jobQueue} for capacity on ` +
        `${ces.length ? ces.join(', ') : 'its compute environments'}; jobs submitted before it are placed first`,
    };
  }

  /** Why a PENDING job waits: its dependencies, its array's dependencies, or its array's cap. */
  private async pendingReason(job: Job): Promise<string | undefined> {
    const { store } = this.ctx;
    if (job.unmetDependencies > 0) {
      const deps = await store.dependenciesOf(job.jobId);
      const waiting = (await store.getJobs(deps)).filter((d) => d.status !== 'SUCCEEDED').map((d) => `${d.jobId} (${d.status})`);
      const shown = waiting.slice(0, 5).join(', ') + (waiting.length > 5 ? `, and ${waiting.length - 5} more` : '');
      return `DEPENDENCY - waiting for ${job.unmetDependencies} ${job.unmetDependencies === 1 ? 'dependency' : 'dependencies'} to succeed: ${shown}`;
    }
    if (job.arrayParentId === undefined) return undefined;
    const parent = await store.getJob(job.arrayParentId);
    if (!parent) return undefined;
    if (parent.unmetDependencies > 0) return `DEPENDENCY - waiting for the dependencies of array job ${parent.jobId}`;
    if (parent.array?.maxConcurrency !== undefined) {
      return `CONCURRENCY_LIMIT - waiting for a slot: array job ${parent.jobId} runs at most ${parent.array.maxConcurrency} children at once (${MAX_CONCURRENCY_TAG})`;
    }
    return undefined;
  }

  async list(input: ListJobsInput): Promise<{ jobs: Job[]; nextToken?: string }> {
    const { registry } = this.ctx;
    const scopes = [input.jobQueue, input.arrayJobId, input.multiNodeJobId].filter((s) => s !== undefined);
    if (scopes.length !== 1) throw clientError('Exactly one of jobQueue, arrayJobId and multiNodeJobId must be given');
    const query: JobListQuery = { order: 'asc', limit: LIST_DEFAULT_MAX };
    if (input.jobQueue !== undefined) {
      const q = registry.findJobQueue(input.jobQueue);
      // Jobs of a deleted queue stay listable by its name or ARN.
      query.jobQueue = q?.jobQueueName ?? this.ctx.arns.nameFromArn(input.jobQueue, 'job-queue') ?? input.jobQueue;
    } else if (input.arrayJobId !== undefined) {
      query.arrayParentId = this.jobIdOf(input.arrayJobId);
    } else {
      query.nodeParentId = this.jobIdOf(input.multiNodeJobId!);
    }
    const filters = input.filters ?? [];
    if (filters.length > 0) {
      // AWS: a filter overrides jobStatus and lists every status, newest first.
      query.order = 'desc';
      query.limit = LIST_FILTERED_DEFAULT_MAX;
      for (const f of filters) {
        const value = f.values?.[0];
        if (value === undefined) throw clientError(`filters: filter ${f.name} needs a value`);
        switch (f.name) {
          case 'JOB_NAME':
            query.jobName = value;
            break;
          case 'JOB_DEFINITION': {
            // name (every revision), name:revision, or an ARN of either form.
            const tail = this.ctx.arns.nameFromArn(value, 'job-definition') ?? value;
            const [name, revision] = tail.split(':');
            if (revision !== undefined) query.jobDefinitionArn = this.ctx.arns.jobDefinition(name, Number(revision));
            else query.jobDefinitionArnPrefix = this.ctx.arns.jobDefinition(name, 0).slice(0, -1);
            break;
          }
          case 'BEFORE_CREATED_AT':
            query.createdBefore = Number(value);
            break;
          case 'AFTER_CREATED_AT':
            query.createdAfter = Number(value);
            break;
          case 'SHARE_IDENTIFIER':
            // No fair-share queues yet: no job has a share identifier.
            return { jobs: [] };
          default:
            throw clientError(`filters: unknown filter name ${f.name}`);
        }
      }
    } else {
      query.statuses = [input.jobStatus ?? 'RUNNING'];
    }
    if (input.maxResults !== undefined) query.limit = input.maxResults;
    const fingerprint = JSON.stringify([query.jobQueue, query.arrayParentId, query.statuses, filters]);
    if (input.nextToken !== undefined) {
      const t = decodeToken(input.nextToken, (v): v is { s: number; f: string } => typeof v.s === 'number' && typeof v.f === 'string');
      if (t.f !== fingerprint) throw clientError('nextToken was returned for a different ListJobs request; repeat the same parameters with it');
      // Children are paged by index (their own index range), everything else by submission order.
      if (query.arrayParentId !== undefined) query.afterArrayIndex = t.s;
      else query.afterSeq = t.s;
    }
    // One extra row tells whether there is a next page.
    const rows = await this.ctx.store.listJobs({ ...query, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const more = rows.length > query.limit;
    const result: { jobs: Job[]; nextToken?: string } = { jobs: page };
    const last = page[page.length - 1];
    if (more) result.nextToken = encodeToken({ s: query.arrayParentId !== undefined ? (last.arrayIndex ?? 0) : last.seq, f: fingerprint });
    return result;
  }

  /**
   * Simulates a Spot interruption of a running job (OpenBatch's fault-injection hook): its attempt
   * ends with `Host EC2 (instance i-...) terminated.` and the retry strategy decides, as on AWS.
   */
  async reclaim(jobRef: string): Promise<{ jobId: string; reclaimed: boolean }> {
    const jobId = this.jobIdOf(jobRef);
    const job = await this.ctx.store.getJob(jobId);
    if (!job) throw clientError(`jobId: job ${jobRef} does not exist`);
    const ce = job.computeEnvironment ? this.ctx.registry.computeEnvironments.get(job.computeEnvironment) : undefined;
    const type = ce?.computeResources?.type;
    if (job.status === 'STARTING' || job.status === 'RUNNING') {
      if (type !== 'SPOT' && type !== 'FARGATE_SPOT') {
        throw clientError(`jobId: job ${jobId} runs on compute environment ${job.computeEnvironment} (${type ?? ce?.type ?? 'unknown'}); only SPOT and FARGATE_SPOT capacity can be reclaimed`);
      }
      return { jobId, reclaimed: await this.ctx.hooks.reclaim(jobId) };
    }
    return { jobId, reclaimed: false };
  }

  async cancel(input: { jobId: string; reason: string }) {
    await this.stop(input, 'cancel');
    return {};
  }

  async terminate(input: { jobId: string; reason: string }) {
    await this.stop(input, 'terminate');
    return {};
  }

  private async stop(input: { jobId: string; reason: string }, kind: 'cancel' | 'terminate'): Promise<void> {
    const { store, hooks } = this.ctx;
    const id = this.jobIdOf(input.jobId);
    const toStop = await store.transaction(async (tx) => {
      const job = await tx.getJob(id);
      if (!job) throw clientError(`jobId: job ${input.jobId} does not exist`);
      return this.stopInTransaction(tx, job, input.reason, kind);
    });
    for (const s of toStop) hooks.stopAttempt(s.job, s.attempt);
  }

  /**
   * CancelJob / TerminateJob of one job inside a transaction (DeleteJobQueue uses it too).
   * Returns the attempts the executors must stop once the transaction has committed.
   */
  async stopInTransaction(tx: StoreTx, job: Job, reason: string, kind: 'cancel' | 'terminate'): Promise<{ job: Job; attempt: number }[]> {
    const { now, graph } = this.ctx;
    if (job.array) return this.stopArray(tx, job, reason, kind);
    // A second TerminateJob while the first one's stop is under way changes nothing.
    if (job.stopCause === 'TERMINATED') return [];
    const t = kind === 'cancel' ? cancelJob(job, reason, now()) : terminateJob(job, reason, now());
    // CancelJob on a STARTING/RUNNING job and either call on a finished job: AWS answers 200 and
    // does nothing.
    if (isRefusal(t) || !(await tx.updateJob(t.update))) return [];
    if (t.update.set.status === 'FAILED') await graph.settle(tx, [{ ...job, status: 'FAILED' }]);
    const np = job.spec.nodeProperties;
    if (np && job.nodeParentId === undefined) {
      // A multi-node job's parent runs nothing itself: its nodes stop (those not started fail now);
      // the parent ends with its main node.
      const stops: { job: Job; attempt: number }[] = [];
      const nodes = await tx.getJobs(Array.from({ length: np.numNodes }, (_, i) => nodeJobId(job.jobId, i)));
      for (const node of nodes) {
        const n = terminateJob(node, reason, now());
        if (isRefusal(n) || !(await tx.updateJob(n.update))) continue;
        if (n.stopAttempt !== undefined) stops.push({ job: node, attempt: n.stopAttempt });
      }
      return stops;
    }
    return t.stopAttempt !== undefined ? [{ job, attempt: t.stopAttempt }] : [];
  }

  /**
   * Cancel/terminate of an array parent cascades to its children: those not started fail now;
   * terminate also stops the running ones. The parent fails with the reason once all are done.
   */
  private async stopArray(tx: StoreTx, parent: Job, reason: string, kind: 'cancel' | 'terminate') {
    const { now, graph } = this.ctx;
    const t = markArrayStopped(parent, reason, kind);
    if (isRefusal(t) || !(await tx.updateJob(t.update))) return [];
    const toStop: { job: Job; attempt: number }[] = [];
    if (kind === 'terminate') {
      for (const child of await tx.arrayChildren(parent.jobId, STOPPABLE, Number.MAX_SAFE_INTEGER)) {
        if (child.stopCause === 'TERMINATED') continue;
        const ct = terminateJob(child, reason, now());
        if (!isRefusal(ct) && (await tx.updateJob(ct.update)) && ct.stopAttempt !== undefined) toStop.push({ job: child, attempt: ct.stopAttempt });
      }
    }
    const cancelled = await graph.applyToChildren(tx, cancelArrayChildren(parent, reason, now(), kind));
    await graph.settle(tx, cancelled);
    return toStop;
  }
}

/** `openbatch:maxConcurrency` on an array job: how many children may run at once (Slurm's `%N`). */
function parseMaxConcurrency(tags: Tags | undefined, size: number | undefined): number | undefined {
  const raw = tags?.[MAX_CONCURRENCY_TAG];
  if (raw === undefined) return undefined;
  if (size === undefined) throw clientError(`tags.${MAX_CONCURRENCY_TAG} only applies to array jobs (arrayProperties.size)`);
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(n) || n < 1) {
    throw clientError(`tags.${MAX_CONCURRENCY_TAG}: "${raw}" is not valid; give how many children may run at once, a whole number from 1`);
  }
  return n;
}

/** What SubmitJob's dependsOn turns into, checked against the store before anything is written. */
interface DependencyPlan {
  /** Called inside the write transaction: edges, the array's children, and jobs already doomed. */
  resolve(tx: StoreTx, job: Job, now: number): Promise<{ edges: DependencyEdge[]; children: Job[]; bornFailed: Job[] }>;
}

async function planDependencies(
  store: StoreReader,
  dependsOn: JobDependency[],
  size: number | undefined,
  idOf: (ref: string) => string,
): Promise<DependencyPlan> {
  let sequential = false;
  const plain: string[] = [];
  const nToN: string[] = [];
  const seen = new Set<string>();
  const refs = dependsOn.filter((d) => d.jobId !== undefined).map((d) => idOf(d.jobId!));
  const found = new Map((await store.getJobs(refs)).map((j) => [j.jobId, j]));
  dependsOn.forEach((d, i) => {
    if (d.jobId === undefined) {
      if (d.type !== 'SEQUENTIAL') throw clientError(`dependsOn[${i}].jobId is required unless type is SEQUENTIAL (which orders the children of an array job)`);
      if (size === undefined) throw clientError(`dependsOn[${i}]: a SEQUENTIAL dependency without jobId orders the children of an array job; this job has no arrayProperties`);
      sequential = true;
      return;
    }
    const id = idOf(d.jobId);
    const dep = found.get(id);
    if (!dep) throw clientError(`dependsOn[${i}].jobId: job ${d.jobId} does not exist`);
    if (seen.has(id)) throw clientError(`dependsOn[${i}].jobId: job ${d.jobId} is listed more than once`);
    seen.add(id);
    if (d.type === 'N_TO_N') {
      if (size === undefined) throw clientError(`dependsOn[${i}]: an N_TO_N dependency pairs the children of two array jobs; this job has no arrayProperties`);
      if (!dep.array) throw clientError(`dependsOn[${i}].jobId: job ${d.jobId} is not an array job, so it cannot be an N_TO_N dependency`);
      if (dep.array.size !== size) {
        throw clientError(`dependsOn[${i}].jobId: N_TO_N needs arrays of the same size; job ${d.jobId} has ${dep.array.size} children and this job ${size}`);
      }
      nToN.push(id);
    } else {
      // A plain dependency, and SEQUENTIAL with a jobId (as the AWS Batch guides write it), wait
      // for the whole job: all of an array's children.
      plain.push(id);
    }
  });

  return {
    async resolve(tx, job, now) {
      const edges: DependencyEdge[] = [];
      const bornFailed: Job[] = [];
      let failedDependency = false;
      for (const dep of await tx.getJobs(plain)) {
        if (dep.status === 'SUCCEEDED') continue;
        if (dep.status === 'FAILED') failedDependency = true;
        else {
          edges.push({ jobId: job.jobId, dependsOn: dep.jobId });
          job.unmetDependencies++;
        }
      }
      if (failedDependency) bornFailed.push(job);
      const children: Job[] = [];
      if (size === undefined) return { edges, children, bornFailed };
      // N_TO_N: child i waits for child i of each array it pairs with.
      const pairedStatus = new Map<string, Map<number, JobStatus>>();
      for (const other of nToN) {
        const byIndex = new Map<number, JobStatus>();
        for (const c of await tx.arrayChildren(other, JOB_STATUSES, size)) byIndex.set(c.arrayIndex ?? 0, c.status);
        pairedStatus.set(other, byIndex);
      }
      for (let i = 0; i < size; i++) {
        const child: Job = {
          jobId: `${job.jobId}:${i}`,
          jobName: job.jobName,
          jobQueue: job.jobQueue,
          status: 'PENDING',
          createdAt: now,
          seq: job.seq + 1 + i,
          spec: job.spec,
          attemptCount: 0,
          unmetDependencies: 0,
          schedulingPriority: job.schedulingPriority,
          arrayParentId: job.jobId,
          arrayIndex: i,
        };
        if (job.shareIdentifier !== undefined) child.shareIdentifier = job.shareIdentifier;
        if (sequential && i > 0) {
          edges.push({ jobId: child.jobId, dependsOn: `${job.jobId}:${i - 1}` });
          child.unmetDependencies++;
        }
        let doomed = false;
        for (const other of nToN) {
          const st = pairedStatus.get(other)!.get(i);
          if (st === 'SUCCEEDED') continue;
          if (st === 'FAILED') doomed = true;
          else {
            edges.push({ jobId: child.jobId, dependsOn: `${other}:${i}` });
            child.unmetDependencies++;
          }
        }
        if (doomed && !failedDependency) bornFailed.push(child);
        children.push(child);
      }
      return { edges, children, bornFailed };
    },
  };
}
