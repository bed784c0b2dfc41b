// CreateJobQueue, DescribeJobQueues, UpdateJobQueue, DeleteJobQueue.

import { clientError } from '../core/errors.js';
import type { ComputeEnvironmentOrder, JobQueue, Job, Tags } from '../core/types.js';
import { isFargate } from './compute-environments.js';
import { paginate, type ServiceContext } from './context.js';
import type { JobService } from './jobs.js';

export const MAX_JOB_QUEUES = 50;

export interface CreateJobQueueInput {
  jobQueueName: string;
  state?: 'ENABLED' | 'DISABLED';
  schedulingPolicyArn?: string;
  priority: number;
  computeEnvironmentOrder?: { order: number; computeEnvironment: string }[];
  jobStateTimeLimitActions?: unknown[];
  tags?: Tags;
  [field: string]: unknown;
}

export interface UpdateJobQueueInput {
  jobQueue: string;
  state?: 'ENABLED' | 'DISABLED';
  schedulingPolicyArn?: string;
  priority?: number;
  computeEnvironmentOrder?: { order: number; computeEnvironment: string }[];
  jobStateTimeLimitActions?: unknown[];
  [field: string]: unknown;
}

const UNSUPPORTED_QUEUE_FIELDS = ['serviceEnvironmentOrder', 'jobQueueType'];

/** Reason recorded on jobs that DeleteJobQueue ends. */
export const QUEUE_DELETED_REASON = 'Job queue was deleted';

export class JobQueueService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly jobs: JobService,
  ) {}

  get(nameOrArn: string, field = 'jobQueue'): JobQueue {
    const q = this.ctx.registry.findJobQueue(nameOrArn);
    if (!q) throw clientError(`${field}: job queue ${nameOrArn} does not exist`);
    return q;
  }

  /** Resolves names or ARNs to ARNs and checks AWS's rules on a queue's compute environments. */
  private resolveOrder(order: { order: number; computeEnvironment: string }[]): ComputeEnvironmentOrder[] {
    const resolved = order.map((o, i) => {
      const ce = this.ctx.registry.findComputeEnvironment(o.computeEnvironment);
      if (!ce) {
        throw clientError(`computeEnvironmentOrder[${i}].computeEnvironment: compute environment ${o.computeEnvironment} does not exist`);
      }
      if (ce.status !== 'VALID') {
        throw clientError(
          `computeEnvironmentOrder[${i}].computeEnvironment: compute environment ${ce.computeEnvironmentName} is ${ce.status}; only VALID compute environments can be attached to a job queue`,
        );
      }
      return { ce, entry: { order: o.order, computeEnvironment: ce.computeEnvironmentArn } };
    });
    const arns = resolved.map((r) => r.entry.computeEnvironment);
    if (new Set(arns).size !== arns.length) {
      throw clientError('computeEnvironmentOrder: the same compute environment is listed more than once');
    }
    const fargate = resolved.filter((r) => isFargate(r.ce)).length;
    if (fargate > 0 && fargate < resolved.length) {
      throw clientError(
        'computeEnvironmentOrder: a job queue cannot mix Fargate (FARGATE, FARGATE_SPOT) and EC2 (EC2, SPOT, UNMANAGED) compute environments',
      );
    }
    return resolved.map((r) => r.entry);
  }

  /** The ARN of an existing scheduling policy, as the registry spells it. */
  private resolvePolicy(arn: string): string {
    const policy = this.ctx.registry.findSchedulingPolicy(arn);
    if (!policy) throw clientError(`schedulingPolicyArn: scheduling policy ${arn} does not exist`);
    return policy.arn;
  }

  /**
   * AWS: a fair-share queue's schedulingPolicyArn can be replaced but never removed, and a queue
   * created without one (FIFO) can never get one. An empty string asks for no policy.
   */
  private nextPolicy(q: JobQueue, requested: string): string | undefined {
    if (q.schedulingPolicyArn === undefined) {
      if (requested === '') return undefined;
      throw clientError(
        `schedulingPolicyArn: job queue ${q.jobQueueName} was created without a scheduling policy (FIFO); ` +
          'a scheduling policy can only be given when a job queue is created, never added later',
      );
    }
    if (requested === '') {
      throw clientError(
        `schedulingPolicyArn: the scheduling policy of job queue ${q.jobQueueName} can be replaced but never removed`,
      );
    }
    return this.resolvePolicy(requested);
  }

  private rejectUnsupported(input: Record<string, unknown>): void {
    for (const f of UNSUPPORTED_QUEUE_FIELDS) {
      if (input[f] !== undefined) throw clientError(`${f} is not supported by OpenBatch (service environments are SageMaker-only)`);
    }
  }

  async create(input: CreateJobQueueInput) {
    const { registry, arns, store, now } = this.ctx;
    this.rejectUnsupported(input);
    if (!input.computeEnvironmentOrder) throw clientError('Missing required parameter: computeEnvironmentOrder');
    return this.ctx.metadataLock(async () => {
      const name = input.jobQueueName;
      if (registry.jobQueues.has(name)) throw clientError(`jobQueueName: a job queue named ${name} already exists`);
      if (registry.jobQueues.size >= MAX_JOB_QUEUES) throw clientError(`At most ${MAX_JOB_QUEUES} job queues can exist; delete one first`);
      const computeEnvironmentOrder = this.resolveOrder(input.computeEnvironmentOrder!);
      // An empty schedulingPolicyArn is taken as none: the queue is FIFO.
      const policyArn = input.schedulingPolicyArn ? this.resolvePolicy(input.schedulingPolicyArn) : undefined;
      const q: JobQueue = {
        jobQueueName: name,
        jobQueueArn: arns.jobQueue(name),
        state: input.state ?? 'ENABLED',
        status: 'VALID',
        statusReason: 'JobQueue Healthy',
        priority: input.priority,
        computeEnvironmentOrder,
        tags: input.tags ?? {},
        createdAt: now(),
      };
      if (policyArn !== undefined) q.schedulingPolicyArn = policyArn;
      if (input.jobStateTimeLimitActions !== undefined) q.jobStateTimeLimitActions = input.jobStateTimeLimitActions;
      await store.transaction((tx) => tx.insertJobQueue(q));
      registry.putJobQueue(q);
      this.ctx.hooks.schedule();
      return { jobQueueName: name, jobQueueArn: q.jobQueueArn };
    });
  }

  describe(input: { jobQueues?: string[]; maxResults?: number; nextToken?: string }) {
    let items = [...this.ctx.registry.jobQueues.values()];
    if (input.jobQueues?.length) {
      const wanted = input.jobQueues.map((r) => this.ctx.registry.findJobQueue(r)).filter((q) => q);
      items = items.filter((q) => wanted.includes(q));
    }
    return paginate(items, input.maxResults, input.nextToken);
  }

  async update(input: UpdateJobQueueInput) {
    const { registry, store } = this.ctx;
    this.rejectUnsupported(input);
    return this.ctx.metadataLock(async () => {
      const current = this.get(input.jobQueue);
      const next: JobQueue = structuredClone(current);
      if (input.state !== undefined) next.state = input.state;
      if (input.priority !== undefined) next.priority = input.priority;
      if (input.computeEnvironmentOrder !== undefined) next.computeEnvironmentOrder = this.resolveOrder(input.computeEnvironmentOrder);
      if (input.schedulingPolicyArn !== undefined) {
        const policyArn = this.nextPolicy(current, input.schedulingPolicyArn);
        if (policyArn !== undefined) next.schedulingPolicyArn = policyArn;
      }
      if (input.jobStateTimeLimitActions !== undefined) next.jobStateTimeLimitActions = input.jobStateTimeLimitActions;
      await store.transaction((tx) => tx.updateJobQueue(next));
      registry.putJobQueue(next);
      this.ctx.hooks.schedule();
      return { jobQueueName: next.jobQueueName, jobQueueArn: next.jobQueueArn };
    });
  }

  /**
   * AWS: the queue must be DISABLED first; its jobs are then terminated. Jobs that have not
   * started fail at once; running ones are stopped and fail when their attempt ends.
   */
  async delete(input: { jobQueue: string }) {
    const { registry, store, now } = this.ctx;
    return this.ctx.metadataLock(async () => {
      const q = this.get(input.jobQueue);
      if (q.state !== 'DISABLED') {
        throw clientError(
          `Cannot delete job queue ${q.jobQueueName} while it is ENABLED; set its state to DISABLED with UpdateJobQueue first`,
        );
      }
      const toStop: { job: Job; attempt: number }[] = [];
      await store.transaction(async (tx) => {
        let afterSeq: number | undefined;
        for (;;) {
          const jobs = await tx.listJobs({
            jobQueue: q.jobQueueName,
            statuses: ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'],
            order: 'asc',
            afterSeq,
            limit: 1000,
          });
          for (const job of jobs) toStop.push(...(await this.jobs.stopInTransaction(tx, job, QUEUE_DELETED_REASON, 'terminate')));
          if (jobs.length < 1000) break;
          afterSeq = jobs[jobs.length - 1].seq;
        }
        await tx.deleteJobQueue(q.jobQueueName);
        await tx.deleteAllTags(q.jobQueueArn);
      });
      registry.deleteJobQueue(q.jobQueueName);
      for (const s of toStop) this.ctx.hooks.stopAttempt(s.job, s.attempt);
      this.ctx.hooks.schedule();
      return {};
    });
  }
}
