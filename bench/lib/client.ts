// The real AWS SDK client, as a user would configure it for throughput: keep-alive connections
// (NodeHttpHandler with an http.Agent, keepAlive, up to 64 sockets), no retries (a failed call is
// counted, never hidden), static credentials (the server accepts any key on 127.0.0.1).
// Also the few resources every scenario creates: a compute environment, its queue, a `true` job
// definition, and paging helpers.

import http from 'node:http';
import {
  BatchClient,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  RegisterJobDefinitionCommand,
  type JobDetail,
  type JobStatus,
  type JobSummary,
} from '@aws-sdk/client-batch';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface ClientOptions {
  maxSockets?: number;
}

export function batchClient(endpoint: string, opts: ClientOptions = {}): BatchClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  return new BatchClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: agent, connectionTimeout: 10_000, requestTimeout: 120_000 }),
  });
}

export interface QueueSetup {
  name: string;
  /** DISABLED: jobs are stored and stay RUNNABLE; nothing runs. */
  state: 'ENABLED' | 'DISABLED';
  maxvCpus: number;
  /** Tags of the compute environment (e.g. `openbatch:executor=slurm`). */
  tags?: Record<string, string>;
}

/** A MANAGED EC2 compute environment and a queue in front of it, both named `name`. */
export async function createQueue(client: BatchClient, q: QueueSetup): Promise<void> {
  await client.send(
    new CreateComputeEnvironmentCommand({
      computeEnvironmentName: q.name,
      type: 'MANAGED',
      state: q.state,
      computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: q.maxvCpus, instanceTypes: ['optimal'], subnets: ['subnet-bench'], instanceRole: 'bench' },
      ...(q.tags ? { tags: q.tags } : {}),
    }),
  );
  await client.send(
    new CreateJobQueueCommand({ jobQueueName: q.name, priority: 1, state: 'ENABLED', computeEnvironmentOrder: [{ order: 1, computeEnvironment: q.name }] }),
  );
}

/** Children of the array scenario and every other job: `true`, 0.25 vCPU, 16 MiB. */
export const TRUE_JOB = { vcpus: '0.25', memoryMiB: '16' };

export async function registerTrueDefinition(client: BatchClient, name = 'bench-true'): Promise<string> {
  await client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      containerProperties: {
        image: 'busybox',
        command: ['true'],
        resourceRequirements: [
          { type: 'VCPU', value: TRUE_JOB.vcpus },
          { type: 'MEMORY', value: TRUE_JOB.memoryMiB },
        ],
      },
    }),
  );
  return name;
}

/** Every job ListJobs returns for these parameters, all pages. */
export async function listAll(
  client: BatchClient,
  params: { jobQueue?: string; arrayJobId?: string; jobStatus: JobStatus },
  pageSize = 1000,
): Promise<JobSummary[]> {
  const out: JobSummary[] = [];
  let nextToken: string | undefined;
  do {
    const r = await client.send(new ListJobsCommand({ ...params, maxResults: pageSize, nextToken }));
    out.push(...(r.jobSummaryList ?? []));
    nextToken = r.nextToken;
  } while (nextToken);
  return out;
}

/** DescribeJobs for any number of ids (100 per call, `parallel` calls at a time). */
export async function describeAll(client: BatchClient, ids: string[], parallel = 4): Promise<JobDetail[]> {
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += 100) batches.push(ids.slice(i, i + 100));
  const out: JobDetail[][] = new Array(batches.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, batches.length) }, async () => {
      while (next < batches.length) {
        const i = next++;
        out[i] = (await client.send(new DescribeJobsCommand({ jobs: batches[i] }))).jobs ?? [];
      }
    }),
  );
  return out.flat();
}

/** Runs `fn` over `items` with at most `parallel` calls in flight; results in order. */
export async function mapParallel<T, R>(items: T[], parallel: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}
