// TagResource, UntagResource, ListTagsForResource, for compute environments, job queues, job
// definitions, scheduling policies and jobs (not array children, as AWS).

import { parseArn } from '../core/arn.js';
import { clientError } from '../core/errors.js';
import { computeEnvironmentTagProblem, configuredGpus } from '../core/capacity.js';
import type { ComputeEnvironment, Tags } from '../core/types.js';
import type { ServiceContext } from './context.js';

export const MAX_TAGS = 50;

export class TagService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Checks the ARN names an existing taggable resource; returns how to update its cached copy. */
  private async resolve(resourceArn: string): Promise<{ cached?: { tags: Tags } }> {
    const { registry, store } = this.ctx;
    const p = parseArn(resourceArn);
    if (!p || p.service !== 'batch') throw clientError(`resourceArn: ${resourceArn} is not an AWS Batch resource ARN`);
    const notFound = () => clientError(`resourceArn: resource ${resourceArn} does not exist`);
    switch (p.resourceType) {
      case 'compute-environment': {
        const ce = registry.findComputeEnvironment(resourceArn);
        if (!ce || ce.computeEnvironmentArn !== resourceArn) throw notFound();
        return { cached: ce };
      }
      case 'job-queue': {
        const q = registry.findJobQueue(resourceArn);
        if (!q || q.jobQueueArn !== resourceArn) throw notFound();
        return { cached: q };
      }
      case 'job-definition': {
        const d = registry.findJobDefinitionByArn(resourceArn);
        if (!d) throw notFound();
        return { cached: d };
      }
      case 'scheduling-policy': {
        const policy = registry.findSchedulingPolicy(resourceArn);
        if (!policy || policy.arn !== resourceArn) throw notFound();
        return { cached: policy };
      }
      case 'job': {
        if (/[:#]/.test(p.resource)) {
          throw clientError(`resourceArn: ${resourceArn} is an array child or a node of a multi-node job, which cannot be tagged`);
        }
        if (resourceArn !== this.ctx.arns.job(p.resource) || !(await store.getJob(p.resource))) throw notFound();
        return {};
      }
      default:
        throw clientError(`resourceArn: ${resourceArn} is not a taggable AWS Batch resource`);
    }
  }

  async list(input: { resourceArn: string }) {
    await this.resolve(input.resourceArn);
    return { tags: await this.ctx.store.getTags(input.resourceArn) };
  }

  async tag(input: { resourceArn: string; tags: Tags }) {
    return this.ctx.metadataLock(async () => {
      const { cached } = await this.resolve(input.resourceArn);
      if (cached && (cached as Partial<ComputeEnvironment>).computeEnvironmentName !== undefined) {
        const problem = computeEnvironmentTagProblem(input.tags);
        if (problem) throw clientError(problem);
      }
      const merged = { ...(await this.ctx.store.getTags(input.resourceArn)), ...input.tags };
      if (Object.keys(merged).length > MAX_TAGS) {
        throw clientError(`tags: a resource can have at most ${MAX_TAGS} tags; ${input.resourceArn} would have ${Object.keys(merged).length}`);
      }
      await this.ctx.store.transaction((tx) => tx.putTags(input.resourceArn, input.tags));
      if (cached) cached.tags = merged;
      this.refreshGpus(cached);
      return {};
    });
  }

  async untag(input: { resourceArn: string; tagKeys: string[] }) {
    return this.ctx.metadataLock(async () => {
      const { cached } = await this.resolve(input.resourceArn);
      await this.ctx.store.transaction((tx) => tx.deleteTags(input.resourceArn, input.tagKeys));
      if (cached) for (const k of input.tagKeys) delete cached.tags[k];
      this.refreshGpus(cached);
      return {};
    });
  }

  /** A compute environment's `openbatch:gpus` tag sets its GPU capacity: applied at once (and again at each start). */
  private refreshGpus(cached: { tags: Tags } | undefined): void {
    const ce = cached as Partial<ComputeEnvironment> | undefined;
    if (!ce?.capacity || ce.computeEnvironmentName === undefined) return;
    const gpus = configuredGpus(ce.tags) ?? this.ctx.host.gpus;
    if (gpus === ce.capacity.gpus) return;
    ce.capacity = { ...ce.capacity, gpus };
    this.ctx.hooks.schedule();
  }
}
