// Resolving what a job runs: the job definition, the SubmitJob overrides and the parameters,
// merged once at submit time into a JobSpec (AWS reports the merged container in DescribeJobs).

import { clientError } from './errors.js';
import type {
  ContainerProperties,
  JobDefinition,
  JobDependency,
  JobSpec,
  JobTimeout,
  KeyValuePair,
  ResourceRequirement,
  Resources,
  RetryStrategy,
  Tags,
} from './types.js';

/** Used when neither the definition nor the overrides size the job (AWS would reject it). */
export const DEFAULT_VCPUS = 1;
export const DEFAULT_MEMORY_MIB = 2048;

export interface ContainerOverrides {
  command?: string[];
  environment?: KeyValuePair[];
  resourceRequirements?: ResourceRequirement[];
  vcpus?: number;
  memory?: number;
  instanceType?: string;
}

/** The parts of a SubmitJob request that shape the job. */
export interface SubmitOverrides {
  containerOverrides?: ContainerOverrides;
  parameters?: Record<string, string>;
  retryStrategy?: RetryStrategy;
  timeout?: JobTimeout;
  tags?: Tags;
  propagateTags?: boolean;
  dependsOn?: JobDependency[];
  shareIdentifier?: string;
  schedulingPriorityOverride?: number;
  arrayProperties?: { size?: number };
}

const REF = /Ref::([A-Za-z0-9_-]+)/g;

/** Replaces `Ref::name` placeholders in each command element with the parameter's value. */
export function substituteParameters(command: readonly string[], parameters: Record<string, string>): string[] {
  return command.map((arg) =>
    arg.replace(REF, (_m, name: string) => {
      const value = parameters[name];
      if (value === undefined) throw clientError(`Unable to substitute value. No parameter found for reference ${name}`);
      return value;
    }),
  );
}

/** Merges environment lists by name; later lists win, order of first appearance is kept. */
export function mergeEnvironment(...lists: (KeyValuePair[] | undefined)[]): KeyValuePair[] {
  const byName = new Map<string, string>();
  for (const list of lists) for (const kv of list ?? []) byName.set(kv.name, kv.value ?? '');
  return [...byName].map(([name, value]) => ({ name, value }));
}

/** Overrides each resource type given in `overrides`, keeps the rest. */
export function mergeResourceRequirements(
  base: ResourceRequirement[] | undefined,
  overrides: ResourceRequirement[] | undefined,
): ResourceRequirement[] | undefined {
  if (!overrides?.length) return base;
  const byType = new Map<string, ResourceRequirement>();
  for (const r of base ?? []) byType.set(r.type, r);
  for (const r of overrides) byType.set(r.type, r);
  return [...byType.values()];
}

/**
 * The vCPUs, memory (MiB) and GPUs a container asks for: `resourceRequirements` first, then the
 * deprecated `vcpus`/`memory` fields, then OpenBatch's defaults.
 */
export function containerResources(c: ContainerProperties): Resources {
  const req = (t: ResourceRequirement['type']) => c.resourceRequirements?.find((r) => r.type === t)?.value;
  const vcpuReq = req('VCPU');
  const memReq = req('MEMORY');
  const gpuReq = req('GPU');
  return {
    vcpus: vcpuReq !== undefined ? Number(vcpuReq) : (c.vcpus ?? DEFAULT_VCPUS),
    memory: memReq !== undefined ? Number(memReq) : (c.memory ?? DEFAULT_MEMORY_MIB),
    gpus: gpuReq !== undefined ? Number(gpuReq) : 0,
  };
}

/** The container a job runs: the definition's container properties with SubmitJob's overrides. */
export function applyContainerOverrides(base: ContainerProperties, o: ContainerOverrides | undefined): ContainerProperties {
  const c: ContainerProperties = structuredClone(base);
  if (!o) return c;
  if (o.command !== undefined) c.command = [...o.command];
  if (o.environment !== undefined) c.environment = mergeEnvironment(c.environment, o.environment);
  const rr = mergeResourceRequirements(c.resourceRequirements, o.resourceRequirements);
  if (rr) c.resourceRequirements = rr;
  // The deprecated fields override the definition's deprecated fields only; VCPU/MEMORY given in
  // the definition's resourceRequirements still win (AWS documents it so).
  if (o.vcpus !== undefined) c.vcpus = o.vcpus;
  if (o.memory !== undefined) c.memory = o.memory;
  if (o.instanceType !== undefined) c.instanceType = o.instanceType;
  return c;
}

/** Resolves a SubmitJob against its job definition. Throws ClientException on a bad combination. */
export function resolveJobSpec(def: JobDefinition, submit: SubmitOverrides): JobSpec {
  if (def.type !== 'container' || !def.containerProperties) {
    throw clientError(
      `Job definition ${def.jobDefinitionName}:${def.revision} is of type ${def.type}; ` +
        'only container job definitions with containerProperties can run on this server yet',
    );
  }
  const container = applyContainerOverrides(def.containerProperties, submit.containerOverrides);
  const parameters = { ...(def.parameters ?? {}), ...(submit.parameters ?? {}) };
  const command = substituteParameters(container.command ?? [], parameters);
  container.command = command;
  const environment = mergeEnvironment(container.environment);
  container.environment = environment;
  const resources = containerResources(container);
  // Report the size the job runs with, as AWS reports vcpus/memory in the job's container.
  if (!container.resourceRequirements?.some((r) => r.type === 'VCPU') && container.vcpus === undefined) container.vcpus = resources.vcpus;
  if (!container.resourceRequirements?.some((r) => r.type === 'MEMORY') && container.memory === undefined) container.memory = resources.memory;
  if (!(resources.vcpus > 0)) throw clientError('The job must ask for more than 0 vCPUs (resourceRequirements VCPU or vcpus)');
  if (!(resources.memory >= 4)) throw clientError('The job must ask for at least 4 MiB of memory (resourceRequirements MEMORY or memory)');

  const spec: JobSpec = {
    jobDefinitionArn: def.jobDefinitionArn,
    jobDefinitionName: def.jobDefinitionName,
    container,
    command,
    environment,
    resources,
    parameters,
    dependsOn: submit.dependsOn ?? [],
    tags: submit.tags ?? {},
  };
  const retryStrategy = submit.retryStrategy ?? def.retryStrategy;
  if (retryStrategy) spec.retryStrategy = retryStrategy;
  const timeout = submit.timeout ?? def.timeout;
  if (timeout?.attemptDurationSeconds !== undefined) spec.timeout = timeout;
  const propagateTags = submit.propagateTags ?? def.propagateTags;
  if (propagateTags !== undefined) spec.propagateTags = propagateTags;
  if (def.platformCapabilities) spec.platformCapabilities = def.platformCapabilities;
  const priority = submit.schedulingPriorityOverride ?? def.schedulingPriority;
  if (priority !== undefined) spec.schedulingPriority = priority;
  if (submit.shareIdentifier !== undefined) spec.shareIdentifier = submit.shareIdentifier;
  if (submit.arrayProperties?.size !== undefined) spec.arrayProperties = { size: submit.arrayProperties.size };
  return spec;
}
