// CreateSchedulingPolicy, DescribeSchedulingPolicies, ListSchedulingPolicies,
// UpdateSchedulingPolicy, DeleteSchedulingPolicy (fair share). Requests arrive validated
// (src/api/batch/rules.ts checks the fairsharePolicy itself); what needs stored state is checked here.

import { clientError } from '../core/errors.js';
import type { FairsharePolicy, SchedulingPolicy, Tags } from '../core/types.js';
import { paginate, type ServiceContext } from './context.js';

export interface CreateSchedulingPolicyInput {
  name: string;
  fairsharePolicy?: FairsharePolicy;
  tags?: Tags;
}

export interface UpdateSchedulingPolicyInput {
  arn: string;
  fairsharePolicy?: FairsharePolicy;
}

/** "job queue a" or "job queues a, b". */
function queueNames(names: string[]): string {
  return `job queue${names.length === 1 ? '' : 's'} ${names.join(', ')}`;
}

export class SchedulingPolicyService {
  constructor(private readonly ctx: ServiceContext) {}

  /** By ARN; not found → ClientException naming the field and the value. */
  get(arn: string, field = 'schedulingPolicyArn'): SchedulingPolicy {
    const policy = this.ctx.registry.findSchedulingPolicy(arn);
    if (!policy) throw clientError(`${field}: scheduling policy ${arn} does not exist`);
    return policy;
  }

  async create(input: CreateSchedulingPolicyInput): Promise<{ name: string; arn: string }> {
    const { registry, arns, store, now } = this.ctx;
    return this.ctx.metadataLock(async () => {
      const name = input.name;
      if (registry.schedulingPolicies.has(name)) throw clientError(`name: a scheduling policy named ${name} already exists`);
      const policy: SchedulingPolicy = { name, arn: arns.schedulingPolicy(name), tags: { ...input.tags }, createdAt: now() };
      if (input.fairsharePolicy !== undefined) policy.fairsharePolicy = structuredClone(input.fairsharePolicy);
      await store.transaction((tx) => tx.insertSchedulingPolicy(policy));
      registry.putSchedulingPolicy(policy);
      return { name, arn: policy.arn };
    });
  }

  /** The policies named by `arns`, in the order asked, each once; unknown ARNs are left out, as AWS does. */
  describe(input: { arns: string[] }): SchedulingPolicy[] {
    const found = input.arns
      .map((arn) => this.ctx.registry.findSchedulingPolicy(arn))
      .filter((p): p is SchedulingPolicy => p !== undefined);
    return [...new Set(found)];
  }

  list(input: { maxResults?: number; nextToken?: string }): { page: SchedulingPolicy[]; nextToken?: string } {
    return paginate([...this.ctx.registry.schedulingPolicies.values()], input.maxResults, input.nextToken);
  }

  /** Replaces the policy's fairsharePolicy; without one the policy is left as it was. */
  async update(input: UpdateSchedulingPolicyInput): Promise<Record<string, never>> {
    const { registry, store } = this.ctx;
    return this.ctx.metadataLock(async () => {
      const current = this.get(input.arn, 'arn');
      if (input.fairsharePolicy === undefined) return {};
      const next: SchedulingPolicy = { ...current, fairsharePolicy: structuredClone(input.fairsharePolicy) };
      await store.transaction((tx) => tx.updateSchedulingPolicy(next));
      registry.putSchedulingPolicy(next);
      // Weights and the reservation of the queues using it changed.
      if (registry.queuesUsingPolicy(next).length > 0) this.ctx.hooks.schedule();
      return {};
    });
  }

  /** AWS: refused while any job queue uses the policy. */
  async delete(input: { arn: string }): Promise<Record<string, never>> {
    const { registry, store } = this.ctx;
    return this.ctx.metadataLock(async () => {
      const policy = this.get(input.arn, 'arn');
      const users = registry.queuesUsingPolicy(policy).map((q) => q.jobQueueName);
      if (users.length > 0) {
        throw clientError(
          `Cannot delete scheduling policy ${policy.name}: ${queueNames(users)} ${users.length === 1 ? 'uses' : 'use'} it. ` +
            "A job queue's schedulingPolicyArn can be replaced but never removed: point the queue at another " +
            'scheduling policy with UpdateJobQueue, or delete the queue, first',
        );
      }
      await store.transaction(async (tx) => {
        await tx.deleteSchedulingPolicy(policy.name);
        await tx.deleteAllTags(policy.arn);
      });
      registry.deleteSchedulingPolicy(policy.name);
      return {};
    });
  }
}
