// SubmitJob, DescribeJobs, ListJobs, CancelJob, TerminateJob.

import { clientError } from '../core/errors.js';
import { resolveJobSpec, type ContainerOverrides } from '../core/job-spec.js';
import { cancelJob, isRefusal, terminateJob, type Transition } from '../core/transitions.js';
import type { Attempt, Job, JobDependency, JobStatus, JobTimeout, RetryStrategy, Tags } from '../core/types.js';
import type { JobListQuery } from '../store/store.js';
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
}

/** Fields of SubmitJob that later issues implement; rejected clearly until then, never ignored. */
const NOT_YET_SUPPORTED: [keyof SubmitJobInput, string][] = [
  ['arrayProperties', 'array jobs (arrayProperties)'],
  ['dependsOn', 'job dependencies (dependsOn)'],
  ['nodeOverrides', 'multi-node parallel jobs (nodeOverrides)'],
  ['eksPropertiesOverride', 'Amazon EKS jobs (eksPropertiesOverride)'],
  ['ecsPropertiesOverride', 'ecsProperties jobs (ecsPropertiesOverride)'],
];

const LIST_DEFAULT_MAX = 1000;
const LIST_FILTERED_DEFAULT_MAX = 100;

export class JobService {
  constructor(private readonly ctx: ServiceContext) {}

  /** A job id, or a job ARN (which AWS accepts too). */
  jobIdOf(ref: string): string {
    return this.ctx.arns.nameFromArn(ref, 'job') ?? ref;
  }

  async submit(input: SubmitJobInput) {
    const { registry, arns, now, newJobId, nextSeq, writes, hooks } = this.ctx;
    for (const [field, what] of NOT_YET_SUPPORTED) {
      if (input[field] !== undefined) throw clientError(`${field}: ${what} are not supported by this OpenBatch version yet`);
    }
    const queue = registry.findJobQueue(input.jobQueue);
    if (!queue) throw clientError(`JobQueue ${input.jobQueue} not found.`);
    if (queue.state !== 'ENABLED') {
      throw clientError(`Job queue ${queue.jobQueueName} is DISABLED and does not accept new jobs; enable it with UpdateJobQueue`);
    }
    if (input.shareIdentifier !== undefined || input.schedulingPriorityOverride !== undefined) {
      // AWS's own message, typo included, so that scripts matching on it keep working.
      throw clientError(
        'Job with shareIdentifier or schedulingPriority can onlybe submitted to job queue with fair share scheduling policy.',
      );
    }
    const def = registry.findJobDefinition(input.jobDefinition, { activeOnly: true });
    if (!def) throw clientError(`JobDefinition name ${input.jobDefinition} does not exist or is not in ACTIVE status`);
    if (def.type === 'multinode') {
      throw clientError(`jobDefinition: ${def.jobDefinitionName}:${def.revision} is a multinode job definition; multi-node parallel jobs are not supported by this OpenBatch version yet`);
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
    const spec = resolveJobSpec(def, input);
    const job: Job = {
      jobId: newJobId(),
      jobName: input.jobName,
      jobQueue: queue.jobQueueName,
      status: 'SUBMITTED',
      createdAt: now(),
      seq: nextSeq(),
      spec,
      attemptCount: 0,
      unmetDependencies: 0,
      schedulingPriority: 0,
    };
    const jobArn = arns.job(job.jobId);
    await writes.run(async (tx) => {
      await tx.insertJobs([job]);
      if (input.tags && Object.keys(input.tags).length > 0) await tx.putTags(jobArn, input.tags);
    });
    hooks.jobsSubmitted([job.jobId]);
    return { jobArn, jobName: job.jobName, jobId: job.jobId };
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
    const seen = new Set<string>();
    const out: JobView[] = [];
    for (const id of ids) {
      const job = byId.get(id);
      if (!job || seen.has(id)) continue;
      seen.add(id);
      out.push({ job: this.withWaitingReason(job), attempts: attemptsByJob.get(id) ?? [], tags: tags.get(arns.job(id)) ?? {} });
    }
    return out;
  }

  /**
   * "Why is my job still RUNNABLE?" always has an answer. The scheduler stores a reason on the
   * jobs at the head of a queue that it could not place; a job further back, or in a queue that is
   * moving, gets this one when described.
   */
  private withWaitingReason(job: Job): Job {
    if (job.status !== 'RUNNABLE' || job.statusReason !== undefined) return job;
    const queue = this.ctx.registry.findJobQueue(job.jobQueue);
    const ces = queue ? this.ctx.registry.queueComputeEnvironments(queue).map((c) => c.computeEnvironmentName) : [];
    return {
      ...job,
      statusReason:
        `CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - waiting in job queue ${job.jobQueue} for capacity on ` +
        `${ces.length ? ces.join(', ') : 'its compute environments'}; jobs submitted before it are placed first`,
    };
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
      // Multi-node parallel jobs do not exist yet, so no job has nodes.
      return { jobs: [] };
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
      query.afterSeq = t.s;
    }
    // One extra row tells whether there is a next page.
    const rows = await this.ctx.store.listJobs({ ...query, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const more = rows.length > query.limit;
    const result: { jobs: Job[]; nextToken?: string } = { jobs: page };
    if (more) result.nextToken = encodeToken({ s: page[page.length - 1].seq, f: fingerprint });
    return result;
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
    const { store, now, hooks } = this.ctx;
    const id = this.jobIdOf(input.jobId);
    const applied = await store.transaction(async (tx): Promise<{ job: Job; t: Transition } | undefined> => {
      const job = await tx.getJob(id);
      if (!job) throw clientError(`jobId: job ${input.jobId} does not exist`);
      // A second TerminateJob while the first one's stop is under way changes nothing.
      if (job.stopRequestedReason !== undefined) return undefined;
      const t = kind === 'cancel' ? cancelJob(job, input.reason, now()) : terminateJob(job, input.reason, now());
      // CancelJob on a STARTING/RUNNING job and either call on a finished job: AWS answers 200 and
      // does nothing.
      if (isRefusal(t)) return undefined;
      return (await tx.updateJob(t.update)) ? { job, t } : undefined;
    });
    if (applied?.t.stopAttempt !== undefined) hooks.stopAttempt(applied.job, applied.t.stopAttempt);
  }
}
