// What a compute environment offers the scheduler. AWS sizes compute environments in vCPUs only
// (instances bring their memory); OpenBatch runs them on known hosts, so memory and GPUs come
// from the host unless configured.

import { slurmTagProblem } from './slurm-tags.js';
import type { ComputeEnvironment, Resources } from './types.js';

export interface HostResources {
  /** Logical CPUs. */
  cpus: number;
  /** MiB. */
  memory: number;
  gpus: number;
  /** Device indices of the host's GPUs (nvidia-smi's `index`); 0..gpus-1 when absent. */
  gpuIndices?: number[];
}

/** Tag on a compute environment: how many GPUs it offers (`openbatch:gpus=4`), instead of the host's. */
export const GPUS_TAG = 'openbatch:gpus';

/** Tag on a compute environment at creation: which executor runs its jobs. */
export const EXECUTOR_TAG = 'openbatch:executor';
const EXECUTORS = ['local', 'container', 'slurm'];

/**
 * Checks the OpenBatch tags of a compute environment (at CreateComputeEnvironment and TagResource):
 * returns the message of the ClientException to answer, or undefined when they are fine.
 */
export function computeEnvironmentTagProblem(tags: Record<string, string> | undefined): string | undefined {
  const gpus = tags?.[GPUS_TAG];
  if (gpus !== undefined && !(/^\s*\d+\s*$/.test(gpus) && Number(gpus) <= 4096)) {
    return `tags.${GPUS_TAG}: "${gpus}" is not valid; give the number of GPUs the compute environment offers, a whole number from 0`;
  }
  const executor = tags?.[EXECUTOR_TAG];
  if (executor !== undefined && !EXECUTORS.includes(executor)) {
    return `tags.${EXECUTOR_TAG}: "${executor}" is not valid; give one of ${EXECUTORS.join(', ')}`;
  }
  const slurm = slurmTagProblem(tags);
  if (slurm) return slurm;
  return undefined;
}

/** The GPU count a compute environment's `openbatch:gpus` tag configures; undefined when absent or not a whole number >= 0. */
export function configuredGpus(tags: Record<string, string> | undefined): number | undefined {
  const raw = tags?.[GPUS_TAG];
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * The device indices of a compute environment's GPUs: the host's indices (discovered), the first
 * `capacity.gpus` of them; configured GPUs beyond what the host reports are numbered on from there
 * (0..N-1 on a host without GPUs, so it can be tested anywhere).
 */
export function gpuInventory(gpus: number, host: Pick<HostResources, 'gpuIndices'>): number[] {
  const known = host.gpuIndices ?? [];
  const out = known.slice(0, Math.max(0, gpus));
  let next = known.length > 0 ? Math.max(...known) + 1 : 0;
  while (out.length < gpus) out.push(next++);
  return out;
}

/**
 * N distinct GPU indices from `inventory` that are not in `inUse`, lowest first (in inventory
 * order); undefined when fewer than N are free. N = 0 gives [].
 */
export function assignGpuIndices(inventory: readonly number[], inUse: ReadonlySet<number>, n: number): number[] | undefined {
  if (!(n > 0)) return [];
  const out: number[] = [];
  for (const i of inventory) {
    if (out.length === n) break;
    if (!inUse.has(i) && !out.includes(i)) out.push(i);
  }
  return out.length === n ? out : undefined;
}

/**
 * MANAGED: `maxvCpus` vCPUs; UNMANAGED: `unmanagedvCpus` if set, else the host's CPUs.
 * Memory: the host's (a compute environment cannot use more than the host it runs on). GPUs: the
 * `openbatch:gpus` tag when set, else the host's (nvidia-smi, or OPENBATCH_GPUS).
 */
export function computeEnvironmentCapacity(
  ce: Pick<ComputeEnvironment, 'type' | 'computeResources' | 'unmanagedvCpus'> & { tags?: Record<string, string> },
  host: HostResources,
): Resources {
  const vcpus =
    ce.type === 'MANAGED' ? (ce.computeResources?.maxvCpus ?? 0) : ce.unmanagedvCpus && ce.unmanagedvCpus > 0 ? ce.unmanagedvCpus : host.cpus;
  return { vcpus, memory: host.memory, gpus: configuredGpus(ce.tags) ?? host.gpus };
}

export function addResources(a: Resources, b: Resources): Resources {
  return { vcpus: a.vcpus + b.vcpus, memory: a.memory + b.memory, gpus: a.gpus + b.gpus };
}

export function subtractResources(a: Resources, b: Resources): Resources {
  // Round away float noise from fractional vCPUs (0.1 + 0.2 - 0.3).
  const r = (x: number) => Math.round(x * 1e6) / 1e6;
  return { vcpus: r(a.vcpus - b.vcpus), memory: r(a.memory - b.memory), gpus: r(a.gpus - b.gpus) };
}
