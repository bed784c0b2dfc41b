// The application service: the commands the API calls. Each checks what needs stored state,
// runs core logic, and commits in one store transaction before answering.

import { ComputeEnvironmentService } from './compute-environments.js';
import type { ServiceContext } from './context.js';
import { JobDefinitionService } from './job-definitions.js';
import { JobQueueService } from './job-queues.js';
import { JobService } from './jobs.js';
import { SchedulingPolicyService } from './scheduling-policies.js';
import { TagService } from './tags.js';

export class BatchService {
  readonly computeEnvironments: ComputeEnvironmentService;
  readonly jobQueues: JobQueueService;
  readonly jobDefinitions: JobDefinitionService;
  readonly jobs: JobService;
  readonly tags: TagService;
  readonly schedulingPolicies: SchedulingPolicyService;

  constructor(readonly ctx: ServiceContext) {
    this.computeEnvironments = new ComputeEnvironmentService(ctx);
    this.jobs = new JobService(ctx);
    this.jobQueues = new JobQueueService(ctx, this.jobs);
    this.jobDefinitions = new JobDefinitionService(ctx);
    this.tags = new TagService(ctx);
    this.schedulingPolicies = new SchedulingPolicyService(ctx);
  }
}

export type { ServiceContext, ServiceHooks } from './context.js';
