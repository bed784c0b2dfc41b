// CreateSchedulingPolicy, DescribeSchedulingPolicies, ListSchedulingPolicies,
// UpdateSchedulingPolicy, DeleteSchedulingPolicy (fair share).

import { clientError } from '../core/errors.js';
import type { FairsharePolicy, SchedulingPolicy, Tags } from '../core/types.js';
import type { ServiceContext } from './context.js';

export interface CreateSchedulingPolicyInput {
  name: string;
  fairsharePolicy?: FairsharePolicy;
  tags?: Tags;
}

export class SchedulingPolicyService {
  constructor(private readonly ctx: ServiceContext) {}

  get(arn: string, field = 'schedulingPolicyArn'): SchedulingPolicy {
    void this.ctx;
    throw clientError(`${field}: scheduling policy ${arn} does not exist`);
  }

  async create(_input: CreateSchedulingPolicyInput): Promise<{ name: string; arn: string }> {
    throw clientError('CreateSchedulingPolicy is not supported by this OpenBatch version yet');
  }

  describe(_input: { arns: string[] }): SchedulingPolicy[] {
    return [];
  }

  list(_input: { maxResults?: number; nextToken?: string }): { page: SchedulingPolicy[]; nextToken?: string } {
    return { page: [] };
  }

  async update(_input: { arn: string; fairsharePolicy?: FairsharePolicy }): Promise<Record<string, never>> {
    throw clientError('UpdateSchedulingPolicy is not supported by this OpenBatch version yet');
  }

  async delete(_input: { arn: string }): Promise<Record<string, never>> {
    throw clientError('DeleteSchedulingPolicy is not supported by this OpenBatch version yet');
  }
}
