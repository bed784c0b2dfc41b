// The tags that bind a compute environment with `openbatch:executor=slurm` to a Slurm cluster and
// partition (checked at CreateComputeEnvironment and TagResource like the other OpenBatch tags).

/** Tags of a compute environment with `openbatch:executor=slurm`. */
export const SLURM_PARTITION_TAG = 'openbatch:slurm-partition';
export const SLURM_CLUSTER_TAG = 'openbatch:slurm-cluster';

export interface SlurmSettings {
  /** sbatch --partition (default: the cluster's default partition). */
  partition?: string;
  /** sbatch --clusters (multi-cluster Slurm; default: the local one). */
  cluster?: string;
}

/** Slurm's partition and cluster names: letters, digits, `_`, `-`, `.` (no commas: one of each). */
const SLURM_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The ClientException message for bad Slurm tags, or undefined when they are fine. */
export function slurmTagProblem(tags: Record<string, string> | undefined): string | undefined {
  for (const tag of [SLURM_PARTITION_TAG, SLURM_CLUSTER_TAG]) {
    const v = tags?.[tag];
    if (v !== undefined && !SLURM_NAME.test(v)) {
      return `tags.${tag}: "${v}" is not valid; give a Slurm ${tag === SLURM_PARTITION_TAG ? 'partition' : 'cluster'} name (letters, digits, _ - ., at most 64)`;
    }
  }
  return undefined;
}

export function slurmSettings(tags: Record<string, string> | undefined): SlurmSettings {
  const s: SlurmSettings = {};
  if (tags?.[SLURM_PARTITION_TAG]) s.partition = tags[SLURM_PARTITION_TAG];
  if (tags?.[SLURM_CLUSTER_TAG]) s.cluster = tags[SLURM_CLUSTER_TAG];
  return s;
}

