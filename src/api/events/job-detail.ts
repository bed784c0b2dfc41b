// The `detail` of a "Batch Job State Change" event: the job's DescribeJobs record, exactly as the
// Batch API answers DescribeJobs, for many jobs in one batched lookup.

import type { Arns } from '../../core/arn.js';
import type { BatchService } from '../../service/index.js';
import { presentJobDetail } from '../batch/present.js';

/** DescribeJobs records by job id, 100 jobs per lookup (DescribeJobs' own limit). */
export function jobDetails(service: BatchService, arns: Arns): (jobIds: readonly string[]) => Promise<Map<string, Record<string, unknown>>> {
  const ceUuid = (name: string) => service.ctx.registry.computeEnvironments.get(name)?.uuid ?? '00000000-0000-0000-0000-000000000000';
  return async (jobIds) => {
    const out = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < jobIds.length; i += 100) {
      for (const view of await service.jobs.describe({ jobs: jobIds.slice(i, i + 100) })) {
        out.set(view.job.jobId, presentJobDetail(view, arns, ceUuid) as Record<string, unknown>);
      }
    }
    return out;
  };
}
