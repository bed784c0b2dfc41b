// Batch operation name → service call → response shape. Inputs arrive validated (validate.ts).

import type { Arns } from '../../core/arn.js';
import type { BatchService } from '../../service/index.js';
import type { CreateComputeEnvironmentInput, UpdateComputeEnvironmentInput } from '../../service/compute-environments.js';
import type { RegisterJobDefinitionInput } from '../../service/job-definitions.js';
import type { CreateJobQueueInput, UpdateJobQueueInput } from '../../service/job-queues.js';
import type { ListJobsInput, SubmitJobInput } from '../../service/jobs.js';
import {
  presentComputeEnvironment,
  presentJobDefinition,
  presentJobDetail,
  presentJobQueue,
  presentJobSummary,
  presentSchedulingPolicy,
} from './present.js';

// Inputs are validated against the model before a handler runs; handlers take them as such.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Input = any;
export type Handler = (input: Input) => Promise<unknown>;

/**
 * JSON null means absent (validate.ts checks it so): members that are null are removed, at every
 * depth, so the service never sees one (`state: null` would otherwise be stored as the state, and
 * `arrayProperties: null` read as an object). Lists and maps cannot hold null (validate.ts).
 */
export function dropNulls(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) dropNulls(item);
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (o[key] === null) delete o[key];
      else dropNulls(o[key]);
    }
  }
}

export function batchHandlers(service: BatchService, arns: Arns): Record<string, Handler> {
  const handlers = operationHandlers(service, arns);
  for (const [name, handler] of Object.entries(handlers)) {
    handlers[name] = (input: Input) => {
      dropNulls(input);
      return handler(input);
    };
  }
  return handlers;
}

function operationHandlers(service: BatchService, arns: Arns): Record<string, Handler> {
  const { computeEnvironments, jobQueues, jobDefinitions, jobs, tags, ctx } = service;
  const ceUuid = (name: string) => ctx.registry.computeEnvironments.get(name)?.uuid ?? '00000000-0000-0000-0000-000000000000';

  return {
    // ----- compute environments
    CreateComputeEnvironment: (i: CreateComputeEnvironmentInput) => computeEnvironments.create(i),
    DescribeComputeEnvironments: async (i) => {
      const { page, nextToken } = computeEnvironments.describe(i);
      return {
        computeEnvironments: page.map((ce) => presentComputeEnvironment(ce, arns, ctx.hooks.usageOf(ce.computeEnvironmentName).vcpus)),
        ...(nextToken ? { nextToken } : {}),
      };
    },
    UpdateComputeEnvironment: (i: UpdateComputeEnvironmentInput) => computeEnvironments.update(i),
    DeleteComputeEnvironment: (i) => computeEnvironments.delete(i),

    // ----- job queues
    CreateJobQueue: (i: CreateJobQueueInput) => jobQueues.create(i),
    DescribeJobQueues: async (i) => {
      const { page, nextToken } = jobQueues.describe(i);
      return { jobQueues: page.map(presentJobQueue), ...(nextToken ? { nextToken } : {}) };
    },
    UpdateJobQueue: (i: UpdateJobQueueInput) => jobQueues.update(i),
    DeleteJobQueue: (i) => jobQueues.delete(i),
    GetJobQueueSnapshot: async (i) => {
      const q = jobQueues.get(i.jobQueue);
      const heads = await ctx.store.runnableHeads(q.jobQueueName, 100);
      const created = new Map((await ctx.store.getJobs(heads.map((h) => h.jobId))).map((j) => [j.jobId, j.createdAt]));
      return {
        frontOfQueue: {
          jobs: heads.map((h) => ({ jobArn: arns.job(h.jobId), earliestTimeAtPosition: created.get(h.jobId) ?? ctx.now() })),
          lastUpdatedAt: ctx.now(),
        },
      };
    },

    // ----- job definitions
    RegisterJobDefinition: (i: RegisterJobDefinitionInput) => jobDefinitions.register(i),
    DescribeJobDefinitions: async (i) => {
      const { page, nextToken } = jobDefinitions.describe(i);
      return { jobDefinitions: page.map(presentJobDefinition), ...(nextToken ? { nextToken } : {}) };
    },
    DeregisterJobDefinition: (i) => jobDefinitions.deregister(i),

    // ----- jobs
    SubmitJob: (i: SubmitJobInput) => jobs.submit(i),
    DescribeJobs: async (i) => ({ jobs: (await jobs.describe(i)).map((v) => presentJobDetail(v, arns, ceUuid)) }),
    ListJobs: async (i: ListJobsInput) => {
      const { jobs: page, nextToken } = await jobs.list(i);
      const attempts = page.length ? await ctx.store.getAttempts(page.map((j) => j.jobId)) : [];
      // The container of the job's current (or last) attempt, once it stopped, as DescribeJobs
      // reports it: while a retry runs, the previous attempt's exit code is not the job's.
      const current = new Map(page.map((j) => [j.jobId, j.attemptCount]));
      const last = new Map<string, { exitCode?: number; reason?: string }>();
      for (const a of attempts) {
        if (a.status === 'STOPPED' && a.attempt === current.get(a.jobId)) last.set(a.jobId, { exitCode: a.exitCode, reason: a.reason });
      }
      const parents = page.filter((j) => j.array).map((j) => j.jobId);
      const counts = parents.length ? await ctx.store.arrayStatusCounts(parents) : new Map();
      return {
        jobSummaryList: page.map((j) => presentJobSummary(j, arns, last.get(j.jobId), counts.get(j.jobId))),
        ...(nextToken ? { nextToken } : {}),
      };
    },
    CancelJob: (i) => jobs.cancel(i),
    TerminateJob: (i) => jobs.terminate(i),

    // ----- tags
    TagResource: (i) => tags.tag(i),
    UntagResource: (i) => tags.untag(i),
    ListTagsForResource: (i) => tags.list(i),

    // ----- scheduling policies (fair share)
    CreateSchedulingPolicy: (i) => service.schedulingPolicies.create(i),
    UpdateSchedulingPolicy: (i) => service.schedulingPolicies.update(i),
    DeleteSchedulingPolicy: (i) => service.schedulingPolicies.delete(i),
    DescribeSchedulingPolicies: async (i) => ({ schedulingPolicies: service.schedulingPolicies.describe(i).map(presentSchedulingPolicy) }),
    ListSchedulingPolicies: async (i) => {
      const { page, nextToken } = service.schedulingPolicies.list(i);
      return { schedulingPolicies: page.map((p) => ({ arn: p.arn })), ...(nextToken ? { nextToken } : {}) };
    },
  };
}
