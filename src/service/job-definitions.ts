// RegisterJobDefinition, DescribeJobDefinitions, DeregisterJobDefinition.

import { resolveNodeRanges, type NodePropertiesShape } from '../core/multinode.js';
import { clientError } from '../core/errors.js';
import type { ContainerProperties, JobDefinition, JobTimeout, RetryStrategy, Tags } from '../core/types.js';
import { paginate, type ServiceContext } from './context.js';

export interface RegisterJobDefinitionInput {
  jobDefinitionName: string;
  type: 'container' | 'multinode';
  parameters?: Record<string, string>;
  schedulingPriority?: number;
  containerProperties?: ContainerProperties;
  nodeProperties?: Record<string, unknown>;
  retryStrategy?: RetryStrategy;
  propagateTags?: boolean;
  timeout?: JobTimeout;
  tags?: Tags;
  platformCapabilities?: string[];
  [field: string]: unknown;
}

export class JobDefinitionService {
  constructor(private readonly ctx: ServiceContext) {}

  async register(input: RegisterJobDefinitionInput) {
    const { registry, arns, store, now } = this.ctx;
    const {
      jobDefinitionName: name,
      type,
      parameters,
      schedulingPriority,
      containerProperties,
      nodeProperties,
      retryStrategy,
      propagateTags,
      timeout,
      tags,
      platformCapabilities,
      ...extra
    } = input;
    if (type === 'container' && !containerProperties && !extra.ecsProperties && !extra.eksProperties) {
      throw clientError('containerProperties is required when type is container (or ecsProperties / eksProperties)');
    }
    if (type === 'multinode' && !nodeProperties) throw clientError('nodeProperties is required when type is multinode');
    if (type === 'multinode' && containerProperties) {
      throw clientError('containerProperties cannot be given when type is multinode; put containers in nodeProperties.nodeRangeProperties');
    }
    if (type === 'container' && nodeProperties) throw clientError('nodeProperties can only be given when type is multinode');
    // Every node in exactly one range, mainNode < numNodes (AWS's checks), naming the field at fault.
    if (type === 'multinode' && nodeProperties) resolveNodeRanges(nodeProperties as NodePropertiesShape);
    return this.ctx.metadataLock(async () => {
      const revision = registry.nextRevision(name);
      const def: JobDefinition = {
        jobDefinitionName: name,
        jobDefinitionArn: arns.jobDefinition(name, revision),
        revision,
        status: 'ACTIVE',
        type,
        tags: tags ?? {},
        extra,
        containerOrchestrationType: extra.eksProperties ? 'EKS' : 'ECS',
        createdAt: now(),
      };
      if (parameters !== undefined) def.parameters = parameters;
      if (schedulingPriority !== undefined) def.schedulingPriority = schedulingPriority;
      if (containerProperties !== undefined) def.containerProperties = containerProperties;
      if (nodeProperties !== undefined) def.nodeProperties = nodeProperties;
      if (retryStrategy !== undefined) def.retryStrategy = retryStrategy;
      if (propagateTags !== undefined) def.propagateTags = propagateTags;
      if (timeout !== undefined) def.timeout = timeout;
      if (platformCapabilities !== undefined) def.platformCapabilities = platformCapabilities;
      await store.transaction((tx) => tx.insertJobDefinition(def));
      registry.putJobDefinition(def);
      return { jobDefinitionName: name, jobDefinitionArn: def.jobDefinitionArn, revision };
    });
  }

  describe(input: {
    jobDefinitions?: string[];
    maxResults?: number;
    jobDefinitionName?: string;
    status?: string;
    nextToken?: string;
  }) {
    const { registry } = this.ctx;
    let items: JobDefinition[];
    if (input.jobDefinitions?.length) {
      if (input.jobDefinitionName !== undefined || input.status !== undefined) {
        throw clientError('jobDefinitions cannot be combined with jobDefinitionName or status');
      }
      const seen = new Set<JobDefinition>();
      for (const ref of input.jobDefinitions) {
        const tail = this.ctx.arns.nameFromArn(ref, 'job-definition') ?? ref;
        if (/^[^:]+$/.test(tail)) {
          // A bare name means every revision of it.
          for (const d of registry.jobDefinitionRevisions(tail)) seen.add(d);
        } else {
          const d = registry.findJobDefinition(ref, { activeOnly: false });
          if (d) seen.add(d);
        }
      }
      items = [...seen];
    } else {
      items = input.jobDefinitionName !== undefined ? [...registry.jobDefinitionRevisions(input.jobDefinitionName)] : registry.allJobDefinitions();
      if (input.status !== undefined) items = items.filter((d) => d.status === input.status);
    }
    return paginate(items, input.maxResults, input.nextToken);
  }

  async deregister(input: { jobDefinition: string }) {
    const { registry, store } = this.ctx;
    return this.ctx.metadataLock(async () => {
      const tail = this.ctx.arns.nameFromArn(input.jobDefinition, 'job-definition') ?? input.jobDefinition;
      if (!/^[^:]+:\d+$/.test(tail)) {
        throw clientError(
          `jobDefinition: ${input.jobDefinition} must name a revision, as name:revision or a job definition ARN ending in :revision`,
        );
      }
      const def = registry.findJobDefinition(input.jobDefinition, { activeOnly: false });
      if (!def) throw clientError(`jobDefinition: job definition ${input.jobDefinition} does not exist`);
      if (def.status === 'INACTIVE') return {};
      const next: JobDefinition = { ...def, status: 'INACTIVE' };
      await store.transaction((tx) => tx.updateJobDefinition(next));
      registry.putJobDefinition(next);
      return {};
    });
  }
}
