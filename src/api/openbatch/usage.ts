// OpenBatch's own read endpoints for right-sizing data (no AWS Batch operation carries it):
//   GET /openbatch/v1/jobs/:jobId                      the DescribeJobs record, each attempts[] entry
//                                                      with the `usage` its executor measured
//   GET /openbatch/v1/job-definitions/:name/usage      p50/p95 peak memory and CPU time of the
//                                                      definition's newest attempts (?limit=N, default
//                                                      1000), the memory asked for, the recommendation
// Reads only: every authenticated key (read-only ones included) may call them, as DescribeJobs.

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Arns } from '../../core/arn.js';
import { clientError } from '../../core/errors.js';
import type { BatchService } from '../../service/index.js';
import { MAX_USAGE_WINDOW, USAGE_WINDOW, jobDefinitionUsage } from '../../service/usage.js';
import { presentJobDetail } from '../batch/present.js';

const DEFINITION_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const DEFINITION_ARN = /^arn:[^:]+:batch:[^:]*:\d*:job-definition\/([^:/]+)(?::\d+)?$/;

function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply
    .code(404)
    .header('x-amzn-ErrorType', 'ResourceNotFoundException')
    .header('content-type', 'application/json')
    .send(JSON.stringify({ __type: 'ResourceNotFoundException', message }));
}

/** `name`, `name:revision` or a job definition ARN → the name (usage is summarised across revisions). */
export function jobDefinitionNameOf(ref: string): string {
  const fromArn = DEFINITION_ARN.exec(ref)?.[1];
  const name = fromArn ?? ref.replace(/:\d+$/, '');
  if (!DEFINITION_NAME.test(name)) {
    throw clientError(`jobDefinition: ${JSON.stringify(ref.slice(0, 300))} is not a job definition name (1-128 letters, numbers, hyphens and underscores), name:revision or ARN`);
  }
  return name;
}

export function parseUsageLimit(value: unknown): number {
  if (value === undefined) return USAGE_WINDOW;
  const n = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_USAGE_WINDOW) throw clientError(`limit: must be an integer from 1 to ${MAX_USAGE_WINDOW} (got ${JSON.stringify(String(value).slice(0, 50))})`);
  return n;
}

export function registerUsageRoutes(app: FastifyInstance, deps: { service: BatchService; arns: Arns }): void {
  const { service, arns } = deps;
  const ceUuid = (name: string) => service.ctx.registry.computeEnvironments.get(name)?.uuid ?? '00000000-0000-0000-0000-000000000000';

  app.get('/openbatch/v1/jobs/:jobId', async (request, reply) => {
    const { jobId } = request.params as { jobId: string };
    const [view] = await service.jobs.describe({ jobs: [jobId] });
    if (!view) return notFound(reply, `Job ${jobId} does not exist`);
    const record = presentJobDetail(view, arns, ceUuid) as Record<string, unknown> & { attempts: Record<string, unknown>[] };
    // attempts[] lists the stopped attempts in order, as presentJobDetail does: add each one's number and usage.
    const stopped = view.attempts.filter((a) => a.status === 'STOPPED');
    record.attempts = record.attempts.map((entry, i) => {
      const a = stopped[i];
      if (!a) return entry;
      const usage: Record<string, number> = {};
      if (a.peakMemoryMiB !== undefined) usage.peakMemoryMiB = a.peakMemoryMiB;
      if (a.cpuSeconds !== undefined) usage.cpuSeconds = a.cpuSeconds;
      return { ...entry, attempt: a.attempt, usage };
    });
    return reply.header('content-type', 'application/json').send(JSON.stringify(record));
  });

  app.get('/openbatch/v1/job-definitions/:name/usage', async (request, reply) => {
    const { name: ref } = request.params as { name: string };
    const { limit } = request.query as { limit?: unknown };
    const name = jobDefinitionNameOf(ref);
    const window = parseUsageLimit(limit);
    if (service.ctx.registry.jobDefinitionRevisions(name).length === 0) return notFound(reply, `Job definition ${name} does not exist`);
    const usage = await jobDefinitionUsage(service.ctx.store, name, window);
    return reply.header('content-type', 'application/json').send(JSON.stringify(usage));
  });
}
