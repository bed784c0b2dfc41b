// Shared pieces of the SDK end-to-end suites (sdk-resources, sdk-jobs): one real server per file,
// driven with the real @aws-sdk/client-batch, plus small helpers for the recurring checks.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  type BatchClient,
  type JobDetail,
  type JobSummary,
  type KeyValuePair,
  type ListJobsCommandInput,
  type RegisterJobDefinitionCommandInput,
  type SubmitJobCommandInput,
} from '@aws-sdk/client-batch';
import { TestServer, waitFor, waitForStatus } from '../helpers/server.js';

export const REGION = 'us-east-1';
export const ACCOUNT = '000000000000';
export const ARN_PREFIX = `arn:aws:batch:${REGION}:${ACCOUNT}`;
export const ceArn = (name: string) => `${ARN_PREFIX}:compute-environment/${name}`;
export const queueArn = (name: string) => `${ARN_PREFIX}:job-queue/${name}`;
export const defArn = (name: string, revision: number) => `${ARN_PREFIX}:job-definition/${name}:${revision}`;
export const jobArn = (id: string) => `${ARN_PREFIX}:job/${id}`;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Small enough that many jobs fit side by side on any host. */
export const SMALL: { type: 'VCPU' | 'MEMORY'; value: string }[] = [
  { type: 'VCPU', value: '1' },
  { type: 'MEMORY', value: '16' },
];

export interface Env {
  server: TestServer;
  client: BatchClient;
  endpoint: string;
  /** A temp dir the test file owns (removed in after()). */
  tmp: string;
}

/**
 * Starts one server for the calling test file (before) and stops and removes it (after). The
 * returned object is filled in by the time the tests run. `setup` runs in the same hook, once the
 * server is up (a second top-level before() is not ordered after this one on Node 20).
 */
export function useServer(setup?: (env: Env) => Promise<void>): Env {
  const env = {} as Env;
  before(async () => {
    env.server = new TestServer();
    await env.server.start();
    env.client = env.server.client();
    env.endpoint = env.server.endpoint;
    env.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-e2e-'));
    await setup?.(env);
  });
  after(async () => {
    env.client?.destroy();
    await env.server?.stop();
    env.server?.cleanup();
    if (env.tmp) fs.rmSync(env.tmp, { recursive: true, force: true });
  });
  return env;
}

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Asserts that `call` is rejected with a ClientException (HTTP 400) whose message matches
 * `message` (a regex, or an exact string). Returns the message.
 */
export async function expectClientError(call: Promise<unknown>, message: RegExp | string): Promise<string> {
  let caught: SdkError | undefined;
  try {
    await call;
  } catch (e) {
    caught = e as SdkError;
  }
  assert.ok(caught, `expected a ClientException matching ${String(message)}, but the call succeeded`);
  assert.equal(caught.name, 'ClientException', `error name (message: ${caught.message})`);
  assert.equal(caught.$metadata?.httpStatusCode, 400, 'HTTP status');
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message ?? '', message);
  return caught.message ?? '';
}

/** All pages of a paginated call, following nextToken; asserts every page respects maxResults. */
export async function collectPages<T>(
  fetchPage: (nextToken: string | undefined) => Promise<{ items: T[] | undefined; nextToken?: string }>,
  maxResults: number,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await fetchPage(token);
    pages++;
    assert.ok((page.items ?? []).length <= maxResults, `page ${pages} has ${page.items?.length} items, more than maxResults ${maxResults}`);
    if (page.nextToken !== undefined) assert.ok((page.items ?? []).length > 0, 'a page with a nextToken must not be empty');
    items.push(...(page.items ?? []));
    token = page.nextToken;
    assert.ok(pages < 1000, 'pagination does not end');
  } while (token !== undefined);
  return { items, pages };
}

/** A managed EC2 compute environment of `maxvCpus` and a queue in front of it. */
export async function createComputeEnvironmentAndQueue(
  client: BatchClient,
  name: string,
  maxvCpus: number,
  opts: { priority?: number; queueName?: string } = {},
): Promise<{ ce: string; queue: string }> {
  await client.send(
    new CreateComputeEnvironmentCommand({
      computeEnvironmentName: name,
      type: 'MANAGED',
      computeResources: { type: 'EC2', maxvCpus, minvCpus: 0, subnets: [], instanceTypes: ['optimal'] },
    }),
  );
  const queue = opts.queueName ?? `${name}-q`;
  await client.send(
    new CreateJobQueueCommand({
      jobQueueName: queue,
      priority: opts.priority ?? 1,
      computeEnvironmentOrder: [{ order: 1, computeEnvironment: name }],
    }),
  );
  return { ce: name, queue };
}

export async function registerDefinition(
  client: BatchClient,
  name: string,
  command: string[],
  extra: Partial<RegisterJobDefinitionCommandInput> & { environment?: KeyValuePair[] } = {},
): Promise<{ arn: string; revision: number }> {
  const { environment, ...rest } = extra;
  const out = await client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      containerProperties: { image: 'busybox', command, resourceRequirements: SMALL, ...(environment ? { environment } : {}) },
      ...rest,
    }),
  );
  return { arn: out.jobDefinitionArn!, revision: out.revision! };
}

export async function submit(client: BatchClient, input: SubmitJobCommandInput): Promise<string> {
  const out = await client.send(new SubmitJobCommand(input));
  assert.match(out.jobId ?? '', UUID);
  assert.equal(out.jobName, input.jobName);
  assert.equal(out.jobArn, jobArn(out.jobId!));
  return out.jobId!;
}

export async function describeJobs(client: BatchClient, ids: string[]): Promise<JobDetail[]> {
  return (await client.send(new DescribeJobsCommand({ jobs: ids }))).jobs ?? [];
}

/** Waits until the job's statusReason satisfies `check` (RUNNABLE jobs get theirs from the scheduler). */
export function waitForReason(client: BatchClient, jobId: string, check: (reason: string) => boolean, what: string): Promise<JobDetail> {
  return waitFor(`job ${jobId}: ${what}`, async () => {
    const [j] = await describeJobs(client, [jobId]);
    return j && check(j.statusReason ?? '') ? j : undefined;
  });
}

/** Every job of ListJobs across pages. */
export async function listAll(client: BatchClient, input: ListJobsCommandInput): Promise<JobSummary[]> {
  const out: JobSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListJobsCommand({ ...input, nextToken }));
    out.push(...(page.jobSummaryList ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/** The output of the job's latest attempt (or attempt `attempt`), from OpenBatch's logs endpoint. */
export async function jobLogs(endpoint: string, jobId: string, attempt?: number): Promise<{ status: number; text: string; stream: string | null }> {
  const res = await fetch(`${endpoint}/openbatch/v1/jobs/${jobId}/logs${attempt !== undefined ? `?attempt=${attempt}` : ''}`);
  return { status: res.status, text: await res.text(), stream: res.headers.get('x-openbatch-log-stream') };
}

/** Terminates jobs and waits until they have ended (frees capacity for the next test). */
export async function terminateAndWait(client: BatchClient, ids: string[], reason = 'e2e cleanup'): Promise<void> {
  for (const id of ids) await client.send(new TerminateJobCommand({ jobId: id, reason }));
  for (const id of ids) await waitForStatus(client, id, ['SUCCEEDED', 'FAILED']);
}

/** Parses `env` output (NAME=value lines) into a map. */
export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Everything DescribeComputeEnvironments/DescribeJobQueues/DescribeJobDefinitions report. */
export async function metadataSnapshot(client: BatchClient): Promise<unknown> {
  const [ces, queues, defs] = await Promise.all([
    client.send(new DescribeComputeEnvironmentsCommand({})),
    client.send(new DescribeJobQueuesCommand({})),
    client.send(new DescribeJobDefinitionsCommand({})),
  ]);
  return { ces: ces.computeEnvironments, queues: queues.jobQueues, defs: defs.jobDefinitions };
}

/**
 * A rejected write: asserts the ClientException (see expectClientError) and that no compute
 * environment, job queue or job definition changed because of it.
 */
export async function expectRejected(client: BatchClient, call: () => Promise<unknown>, message: RegExp | string): Promise<string> {
  const before = await metadataSnapshot(client);
  const msg = await expectClientError(call(), message);
  assert.deepEqual(await metadataSnapshot(client), before, 'a rejected request changed the metadata');
  return msg;
}
