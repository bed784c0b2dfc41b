// What a compute environment offers the scheduler. AWS sizes compute environments in vCPUs only
// (instances bring their memory); OpenBatch runs them on known hosts, so memory and GPUs come
// from the host unless configured.

import type { ComputeEnvironment, Resources } from './types.js';

export interface HostResources {
  /** Logical CPUs. */
  cpus: number;
  /** MiB. */
  memory: number;
  gpus: number;
}

/**
 * MANAGED: `maxvCpus` vCPUs; UNMANAGED: `unmanagedvCpus` if set, else the host's CPUs.
 * Memory and GPUs: the host's (a compute environment cannot use more than the host it runs on).
 */
export function computeEnvironmentCapacity(
  ce: Pick<ComputeEnvironment, 'type' | 'computeResources' | 'unmanagedvCpus'>,
  host: HostResources,
): Resources {
  const vcpus =
    ce.type === 'MANAGED' ? (ce.computeResources?.maxvCpus ?? 0) : ce.unmanagedvCpus && ce.unmanagedvCpus > 0 ? ce.unmanagedvCpus : host.cpus;
  return { vcpus, memory: host.memory, gpus: host.gpus };
}

export function addResources(a: Resources, b: Resources): Resources {
  return { vcpus: a.vcpus + b.vcpus, memory: a.memory + b.memory, gpus: a.gpus + b.gpus };
}

export function subtractResources(a: Resources, b: Resources): Resources {
  // Round away float noise from fractional vCPUs (0.1 + 0.2 - 0.3).
  const r = (x: number) => Math.round(x * 1e6) / 1e6;
  return { vcpus: r(a.vcpus - b.vcpus), memory: r(a.memory - b.memory), gpus: r(a.gpus - b.gpus) };
}
