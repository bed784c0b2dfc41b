// CreateComputeEnvironment, DescribeComputeEnvironments, UpdateComputeEnvironment,
// DeleteComputeEnvironment. Requests arrive validated against the model and AWS's syntactic
// rules (src/api); what needs stored state is checked here.

import { computeEnvironmentCapacity, computeEnvironmentTagProblem, EXECUTOR_TAG } from '../core/capacity.js';
import { clientError } from '../core/errors.js';
import type { ComputeEnvironment, ComputeResources, Tags } from '../core/types.js';
import { paginate, type ServiceContext } from './context.js';

/** AWS's per-Region quota. */
export const MAX_COMPUTE_ENVIRONMENTS = 50;

export interface CreateComputeEnvironmentInput {
  computeEnvironmentName: string;
  type: 'MANAGED' | 'UNMANAGED';
  state?: 'ENABLED' | 'DISABLED';
  unmanagedvCpus?: number;
  computeResources?: ComputeResources;
  serviceRole?: string;
  tags?: Tags;
  [field: string]: unknown;
}

export interface UpdateComputeEnvironmentInput {
  computeEnvironment: string;
  state?: 'ENABLED' | 'DISABLED';
  unmanagedvCpus?: number;
  computeResources?: Partial<ComputeResources>;
  serviceRole?: string;
  [field: string]: unknown;
}

const FARGATE_TYPES = new Set(['FARGATE', 'FARGATE_SPOT']);

export function isFargate(ce: ComputeEnvironment): boolean {
  return FARGATE_TYPES.has(ce.computeResources?.type ?? '');
}

export class ComputeEnvironmentService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Not found → ClientException naming the value, as every operation that takes a reference does. */
  get(nameOrArn: string, field = 'computeEnvironment'): ComputeEnvironment {
    const ce = this.ctx.registry.findComputeEnvironment(nameOrArn);
    if (!ce) throw clientError(`${field}: compute environment ${nameOrArn} does not exist`);
    return ce;
  }

  async create(input: CreateComputeEnvironmentInput) {
    const { registry, arns, store, now, newUuid, host } = this.ctx;
    const { computeEnvironmentName: name, type, state, unmanagedvCpus, computeResources, serviceRole, tags, ...extra } = input;
    if (type === 'MANAGED' && !computeResources) {
      throw clientError('computeResources is required when type is MANAGED');
    }
    if (type === 'UNMANAGED' && computeResources) {
      throw clientError('computeResources can only be given when type is MANAGED; this compute environment is UNMANAGED');
    }
    if (type === 'MANAGED' && unmanagedvCpus !== undefined) {
      throw clientError('unmanagedvCpus can only be given when type is UNMANAGED');
    }
    const tagProblem = computeEnvironmentTagProblem(tags);
    if (tagProblem) throw clientError(tagProblem);
    // A Slurm compute environment's memory and GPUs (and vCPUs unless configured) are its partition's.
    const executor = tags?.[EXECUTOR_TAG] === 'slurm' ? 'slurm' : undefined;
    const base = (executor && (await this.ctx.clusterResources?.({ executor, tags: tags ?? {} }))) || host;
    return this.ctx.metadataLock(async () => {
      if (registry.computeEnvironments.has(name)) {
        throw clientError(`computeEnvironmentName: a compute environment named ${name} already exists`);
      }
      if (registry.computeEnvironments.size >= MAX_COMPUTE_ENVIRONMENTS) {
        throw clientError(`At most ${MAX_COMPUTE_ENVIRONMENTS} compute environments can exist; delete one first`);
      }
      const uuid = newUuid();
      const ce: ComputeEnvironment = {
        computeEnvironmentName: name,
        computeEnvironmentArn: arns.computeEnvironment(name),
        type,
        state: state ?? 'ENABLED',
        status: 'VALID',
        statusReason: 'ComputeEnvironment Healthy',
        tags: tags ?? {},
        uuid,
        extra,
        capacity: { vcpus: 0, memory: 0, gpus: 0 },
        // `openbatch:executor=container` at creation runs its jobs in containers (fixed for its life).
        // `openbatch:executor=slurm` submits them to a Slurm cluster (openbatch:slurm-partition, -cluster).
        executor: tags?.[EXECUTOR_TAG] === 'container' ? 'container' : tags?.[EXECUTOR_TAG] === 'slurm' ? 'slurm' : 'local',
        createdAt: now(),
      };
      if (computeResources) ce.computeResources = computeResources;
      if (unmanagedvCpus !== undefined) ce.unmanagedvCpus = unmanagedvCpus;
      if (serviceRole !== undefined) ce.serviceRole = serviceRole;
      ce.capacity = computeEnvironmentCapacity(ce, base);
      await store.transaction((tx) => tx.insertComputeEnvironment(ce));
      registry.putComputeEnvironment(ce);
      this.ctx.hooks.schedule();
      return { computeEnvironmentName: name, computeEnvironmentArn: ce.computeEnvironmentArn };
    });
  }

  describe(input: { computeEnvironments?: string[]; maxResults?: number; nextToken?: string }) {
    let items = [...this.ctx.registry.computeEnvironments.values()];
    if (input.computeEnvironments?.length) {
      // Unknown names are left out, as AWS does.
      const wanted = input.computeEnvironments.map((r) => this.ctx.registry.findComputeEnvironment(r)).filter((c) => c);
      items = items.filter((c) => wanted.includes(c));
    }
    return paginate(items, input.maxResults, input.nextToken);
  }

  async update(input: UpdateComputeEnvironmentInput) {
    const { registry, store, host } = this.ctx;
    return this.ctx.metadataLock(async () => {
      const current = this.get(input.computeEnvironment);
      const { computeEnvironment: _ref, state, unmanagedvCpus, computeResources, serviceRole, ...extra } = input;
      const next: ComputeEnvironment = structuredClone(current);
      if (state !== undefined) next.state = state;
      if (unmanagedvCpus !== undefined) {
        if (next.type !== 'UNMANAGED') throw clientError('unmanagedvCpus can only be updated on an UNMANAGED compute environment');
        next.unmanagedvCpus = unmanagedvCpus;
      }
      if (computeResources !== undefined) {
        if (next.type !== 'MANAGED' || !next.computeResources) {
          throw clientError('computeResources can only be updated on a MANAGED compute environment');
        }
        // updateToLatestImageVersion asks for an AMI update; it is not a setting AWS reports back.
        const { updateToLatestImageVersion: _amiUpdate, ...changes } = computeResources as Partial<ComputeResources> & { updateToLatestImageVersion?: boolean };
        const merged = { ...next.computeResources, ...changes } as ComputeResources;
        const min = merged.minvCpus ?? 0;
        if (merged.maxvCpus < min) {
          throw clientError(`computeResources.maxvCpus (${merged.maxvCpus}) must not be less than minvCpus (${min})`);
        }
        next.computeResources = merged;
      }
      if (serviceRole !== undefined) next.serviceRole = serviceRole;
      next.extra = { ...next.extra, ...extra };
      next.capacity = computeEnvironmentCapacity(next, (await this.ctx.clusterResources?.(next)) ?? host);
      await store.transaction((tx) => tx.updateComputeEnvironment(next));
      registry.putComputeEnvironment(next);
      this.ctx.hooks.schedule();
      return { computeEnvironmentName: next.computeEnvironmentName, computeEnvironmentArn: next.computeEnvironmentArn };
    });
  }

  async delete(input: { computeEnvironment: string }) {
    const { registry, store } = this.ctx;
    return this.ctx.metadataLock(async () => {
      const ce = this.get(input.computeEnvironment);
      if (ce.state !== 'DISABLED') {
        throw clientError(
          `Cannot delete compute environment ${ce.computeEnvironmentName} while it is ENABLED; ` +
            'set its state to DISABLED with UpdateComputeEnvironment first',
        );
      }
      const users = registry.queuesUsing(ce);
      if (users.length > 0) {
        throw clientError(
          `Cannot delete, found existing JobQueue relationship: compute environment ${ce.computeEnvironmentName} ` +
            `is in the computeEnvironmentOrder of job queue ${users.map((q) => q.jobQueueName).join(', ')}; ` +
            'remove it there with UpdateJobQueue first',
        );
      }
      await store.transaction(async (tx) => {
        await tx.deleteComputeEnvironment(ce.computeEnvironmentName);
        await tx.deleteAllTags(ce.computeEnvironmentArn);
      });
      registry.deleteComputeEnvironment(ce.computeEnvironmentName);
      this.ctx.hooks.schedule();
      return {};
    });
  }
}
