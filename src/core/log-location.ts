// Where an attempt's output goes, named as AWS Batch names it in CloudWatch Logs: group
// `/aws/batch/job`, stream `<jobDefinitionName>/default/<taskId>`; or the awslogs options of the
// job's logConfiguration (group, and stream prefix in place of the definition name).

import type { Job } from './types.js';

export const DEFAULT_LOG_GROUP = '/aws/batch/job';

export function logLocation(job: Job, taskId: string): { logGroupName: string; logStreamName: string } {
  const lc = job.spec.container.logConfiguration as { logDriver?: string; options?: Record<string, string> } | undefined;
  const options = lc?.logDriver === 'awslogs' ? (lc.options ?? {}) : {};
  const prefix = options['awslogs-stream-prefix'] ?? job.spec.jobDefinitionName;
  return { logGroupName: options['awslogs-group'] ?? DEFAULT_LOG_GROUP, logStreamName: `${prefix}/default/${taskId}` };
}
