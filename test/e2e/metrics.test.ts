// GET /metrics on a real server driven by the AWS SDK: the per-queue gauges equal what ListJobs
// reports at the same moment while jobs are held in known states (a job RUNNING until the test
// creates a file, jobs RUNNABLE behind it on a 1-vCPU compute environment, a job PENDING on a
// dependency, an array whose children wait, succeeded and failed jobs), and again once they are
// released; counters and histograms move; API requests are counted by operation and outcome; the
// exposition parses; and with authentication on, /metrics wants the operator's bearer token.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  CancelJobCommand,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeJobQueuesCommand,
  ListJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  type BatchClient,
  type JobStatus,
  type JobSummary,
} from '@aws-sdk/client-batch';
import { TestServer, waitFor, waitForStatus } from '../helpers/server.js';
import { parseExposition, sumOf, type Exposition } from '../helpers/prometheus.js';
import { createComputeEnvironmentAndQueue, expectClientError, SMALL, useServer } from './sdk-helpers.js';

const STATUSES: JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];
const AWS_GAUGES: Record<string, JobStatus[]> = {
  openbatch_pending_jobs: ['SUBMITTED', 'PENDING'],
  openbatch_runnable_jobs: ['RUNNABLE'],
  openbatch_running_jobs: ['STARTING', 'RUNNING'],
};

async function scrape(endpoint: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; contentType: string | null }> {
  const res = await fetch(`${endpoint}/metrics`, { headers });
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') };
}

async function metrics(endpoint: string): Promise<Exposition> {
  const r = await scrape(endpoint);
  assert.equal(r.status, 200, r.text);
  assert.match(r.contentType ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(r.text);
}

async function listAll(client: BatchClient, input: { jobQueue?: string; arrayJobId?: string }, status: JobStatus): Promise<JobSummary[]> {
  const out: JobSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListJobsCommand({ ...input, jobStatus: status, nextToken }));
    out.push(...(page.jobSummaryList ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/** What ListJobs says now: per status, the queue's listing and the children of its arrays. */
async function listCounts(client: BatchClient, queue: string, arrays: string[]) {
  const listed: Record<string, number> = {};
  const units: Record<string, number> = {};
  const children: Record<string, number> = {};
  for (const status of STATUSES) {
    const jobs = await listAll(client, { jobQueue: queue }, status);
    listed[status] = jobs.length;
    units[status] = jobs.filter((j) => j.arrayProperties?.size === undefined).length;
    children[status] = 0;
    for (const a of arrays) children[status] += (await listAll(client, { arrayJobId: a }, status)).length;
    units[status] += children[status];
  }
  return { listed, units, children };
}

/** The gauges of one queue equal what ListJobs says (which the caller read while nothing moved). */
function assertGaugesMatch(e: Exposition, queue: string, list: Awaited<ReturnType<typeof listCounts>>, when: string): void {
  for (const status of STATUSES) {
    const listed = sumOf(e, 'openbatch_queue_jobs', { job_queue: queue, status, kind: 'job' }) + sumOf(e, 'openbatch_queue_jobs', { job_queue: queue, status, kind: 'array' });
    assert.equal(listed, list.listed[status], `${when}: ${status} jobs listed by ListJobs for ${queue}`);
    assert.equal(sumOf(e, 'openbatch_queue_jobs', { job_queue: queue, status, kind: 'array_child' }), list.children[status], `${when}: ${status} array children`);
  }
  for (const [gauge, statuses] of Object.entries(AWS_GAUGES)) {
    const expected = statuses.reduce((n, s) => n + list.units[s], 0);
    assert.equal(sumOf(e, gauge, { job_queue: queue }), expected, `${when}: ${gauge}{job_queue="${queue}"}`);
  }
}

describe('GET /metrics', () => {
  const env = useServer();
  let queue: string;
  let dir: string;

  before(async () => {
    ({ queue } = await createComputeEnvironmentAndQueue(env.client, 'metrics-one-vcpu', 1));
    // A compute environment with two GPUs (the openbatch:gpus tag), for the GPU gauges.
    await env.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'metrics-gpu', type: 'MANAGED', tags: { 'openbatch:gpus': '2' }, computeResources: { type: 'EC2', maxvCpus: 2, minvCpus: 0, subnets: [], instanceTypes: ['optimal'] } }));
    await env.client.send(new CreateJobQueueCommand({ jobQueueName: 'metrics-gpu-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'metrics-gpu' }] }));
    dir = fs.mkdtempSync(path.join(env.tmp, 'gate-'));
    for (const [name, command] of [
      ['m-ok', ['true']],
      ['m-fail', ['sh', '-c', 'exit 3']],
      ['m-gate', ['sh', '-c', `while [ ! -e ${dir}/open ]; do sleep 0.05; done`]],
    ] as const) {
      await env.client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: name, type: 'container', containerProperties: { image: 'busybox', command: [...command], resourceRequirements: SMALL } }));
    }
    await env.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'm-gate-gpu',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['sh', '-c', `while [ ! -e ${dir}/open ]; do sleep 0.05; done`], resourceRequirements: [...SMALL, { type: 'GPU', value: '1' }] },
      }),
    );
  });

  test('queue gauges equal ListJobs while jobs are held in known states, and after they are released', async () => {
    const { client, endpoint } = env;
    const submit = async (name: string, def: string, extra: Record<string, unknown> = {}) =>
      (await client.send(new SubmitJobCommand({ jobName: name, jobQueue: queue, jobDefinition: def, ...extra }))).jobId!;

    const empty = await metrics(endpoint);
    for (const gauge of [...Object.keys(AWS_GAUGES), 'openbatch_succeeded_jobs_last_minute', 'openbatch_failed_jobs_last_minute']) {
      // A queue with no jobs is there with 0, not missing (dashboards and alerts see a value).
      assert.ok(empty.samples.some((s) => s.name === gauge && s.labels.job_queue === queue && s.value === 0), `${gauge} for the empty queue`);
    }
    const cyclesBefore = sumOf(empty, 'openbatch_scheduler_cycle_duration_seconds_count');

    const started = Date.now();
    // Exact only while everything finished within the minute those two gauges cover (a slow VM may take longer).
    const lastMinute = (e: Exposition, gauge: string, expected: number, lowest: number) => {
      const v = sumOf(e, gauge, { job_queue: queue });
      if (Date.now() - started < 50_000) assert.equal(v, expected, gauge);
      else assert.ok(v >= lowest && v <= expected, `${gauge} = ${v}, expected ${lowest} to ${expected} (the test took over 50 s)`);
    };

    // Some finished jobs: two succeed, one fails.
    const done = [await submit('ok-1', 'm-ok'), await submit('ok-2', 'm-ok'), await submit('fail-1', 'm-fail')];
    for (const id of done) await waitForStatus(client, id, ['SUCCEEDED', 'FAILED']);

    // Then the held states: the gate job RUNNING on the only vCPU, three jobs RUNNABLE behind it,
    // one PENDING on the gate, an array of 3 whose children are RUNNABLE (parent PENDING).
    const gate = await submit('gate', 'm-gate');
    await waitForStatus(client, gate, 'RUNNING');
    const gpuGate = (await client.send(new SubmitJobCommand({ jobName: 'gpu-gate', jobQueue: 'metrics-gpu-q', jobDefinition: 'm-gate-gpu' }))).jobId!;
    await waitForStatus(client, gpuGate, 'RUNNING');
    const runnable = [await submit('r-1', 'm-ok'), await submit('r-2', 'm-ok'), await submit('r-3', 'm-fail')];
    const dependent = await submit('dep', 'm-ok', { dependsOn: [{ jobId: gate }] });
    const array = await submit('arr', 'm-ok', { arrayProperties: { size: 3 } });
    for (const id of runnable) await waitForStatus(client, id, 'RUNNABLE');
    await waitForStatus(client, dependent, 'PENDING');
    await waitFor('array children RUNNABLE', async () => (await listAll(client, { arrayJobId: array }, 'RUNNABLE')).length === 3);
    // Cancelling a RUNNABLE job fails it (counted as failed).
    await client.send(new CancelJobCommand({ jobId: runnable[2], reason: 'not needed' }));
    await waitForStatus(client, runnable[2], 'FAILED');

    const held1 = await metrics(endpoint);
    const list = await listCounts(client, queue, [array]);
    const held2 = await metrics(endpoint);
    // Nothing moved between the reads (the gauges agree with themselves around ListJobs).
    for (const e of [held1, held2]) assertGaugesMatch(e, queue, list, 'held');
    assert.deepEqual(
      { RUNNING: list.units.RUNNING, RUNNABLE: list.units.RUNNABLE, PENDING: list.units.PENDING, SUCCEEDED: list.units.SUCCEEDED, FAILED: list.units.FAILED },
      { RUNNING: 1, RUNNABLE: 5, PENDING: 1, SUCCEEDED: 2, FAILED: 2 },
      'the states the test set up',
    );
    assert.equal(list.listed.PENDING, 2, 'ListJobs PENDING: the dependent job and the array parent');
    assert.equal(sumOf(held1, 'openbatch_runnable_jobs', { job_queue: queue }), 5);
    assert.equal(sumOf(held1, 'openbatch_running_jobs', { job_queue: queue }), 1);
    assert.equal(sumOf(held1, 'openbatch_pending_jobs', { job_queue: queue }), 1, 'the dependent job; the array parent is not a unit of work');
    // Finished in the last minute (all of them, in this test).
    lastMinute(held1, 'openbatch_succeeded_jobs_last_minute', 2, 0);
    lastMinute(held1, 'openbatch_failed_jobs_last_minute', 2, 1);
    // The compute environment's capacity and what the RUNNING gate holds.
    const ce = { compute_environment: 'metrics-one-vcpu' };
    assert.equal(sumOf(held1, 'openbatch_compute_environment_vcpus', ce), 1);
    assert.equal(sumOf(held1, 'openbatch_compute_environment_vcpus_used', ce), 1);
    assert.equal(sumOf(held1, 'openbatch_compute_environment_memory_used_bytes', ce), 16 * 1024 * 1024);
    assert.ok(sumOf(held1, 'openbatch_compute_environment_memory_bytes', ce) > 0);
    assert.equal(sumOf(held1, 'openbatch_compute_environment_gpus_used', ce), 0);
    const gpu = { compute_environment: 'metrics-gpu' };
    assert.equal(sumOf(held1, 'openbatch_compute_environment_gpus', gpu), 2);
    assert.equal(sumOf(held1, 'openbatch_compute_environment_gpus_used', gpu), 1);
    assert.equal(sumOf(held1, 'openbatch_compute_environment_vcpus', gpu), 2);
    assert.equal(sumOf(held1, 'openbatch_running_jobs', { job_queue: 'metrics-gpu-q' }), 1);

    // Release: everything runs to the end.
    fs.writeFileSync(path.join(dir, 'open'), '');
    for (const id of [gate, gpuGate, runnable[0], runnable[1], dependent, array]) await waitForStatus(client, id, 'SUCCEEDED', 60_000);
    const after1 = await metrics(endpoint);
    const listAfter = await listCounts(client, queue, [array]);
    const after2 = await metrics(endpoint);
    for (const e of [after1, after2]) assertGaugesMatch(e, queue, listAfter, 'released');
    for (const gauge of Object.keys(AWS_GAUGES)) assert.equal(sumOf(after1, gauge, { job_queue: queue }), 0, `${gauge} after release`);
    // 2 + gate + 2 runnable + dependent + 3 children; failed: fail-1 and the cancelled one.
    lastMinute(after1, 'openbatch_succeeded_jobs_last_minute', 9, 7);
    lastMinute(after1, 'openbatch_failed_jobs_last_minute', 2, 0);
    assert.equal(sumOf(after1, 'openbatch_compute_environment_vcpus_used', ce), 0);
    assert.equal(sumOf(after1, 'openbatch_compute_environment_gpus_used', { compute_environment: 'metrics-gpu' }), 0);

    // Counters: units of work (an array counts its children).
    assert.equal(sumOf(after1, 'openbatch_jobs_submitted_total', { job_queue: queue }), 11, 'submitted: 3 + gate + 3 runnable + dependent + 3 children');
    assert.equal(sumOf(after1, 'openbatch_jobs_succeeded_total', { job_queue: queue }), 9);
    assert.equal(sumOf(after1, 'openbatch_jobs_failed_total', { job_queue: queue }), 2);
    // Histograms: one start latency per job that ran (all but the cancelled one), cycles ran.
    assert.equal(sumOf(after1, 'openbatch_job_start_latency_seconds_count', { job_queue: queue }), 10);
    assert.ok(sumOf(after1, 'openbatch_job_start_latency_seconds_sum', { job_queue: queue }) > 0);
    assert.ok(sumOf(after1, 'openbatch_scheduler_cycle_duration_seconds_count') > cyclesBefore, 'scheduling cycles observed');
    assert.ok(sumOf(after1, 'openbatch_scheduler_placements_total') >= 10);
  });

  test('API requests by operation and outcome, with bounded labels', async () => {
    const { client, endpoint } = env;
    const requests = (e: Exposition, labels: Record<string, string>) => sumOf(e, 'openbatch_api_requests_total', labels);
    const before = await metrics(endpoint);
    await client.send(new DescribeJobQueuesCommand({}));
    await client.send(new DescribeJobQueuesCommand({}));
    await client.send(new ListJobsCommand({ jobQueue: 'default' }));
    await expectClientError(client.send(new SubmitJobCommand({ jobName: 'x', jobQueue: 'no-such-queue', jobDefinition: 'm-ok' })), /no-such-queue/);
    // Unknown paths and targets are counted as "unknown", never under a name the client made up.
    assert.equal((await fetch(`${endpoint}/v1/madeupoperation${Date.now()}`, { method: 'POST', body: '{}' })).status, 404);
    const target = await fetch(`${endpoint}/`, { method: 'POST', headers: { 'x-amz-target': `Made.Up${Date.now()}`, 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
    assert.equal(target.status, 400);
    const after = await metrics(endpoint);
    const delta = (labels: Record<string, string>) => requests(after, labels) - requests(before, labels);
    assert.equal(delta({ api: 'batch', operation: 'DescribeJobQueues', outcome: 'success', error_code: '' }), 2);
    assert.equal(delta({ api: 'batch', operation: 'ListJobs', outcome: 'success' }), 1);
    assert.equal(delta({ api: 'batch', operation: 'SubmitJob', outcome: 'client_error', error_code: 'ClientException' }), 1);
    assert.equal(delta({ api: 'batch', operation: 'SubmitJob', outcome: 'success' }), 0);
    assert.equal(delta({ api: 'batch', operation: 'unknown', outcome: 'client_error', error_code: 'UnknownOperationException' }), 1);
    assert.equal(delta({ api: 'unknown', operation: 'unknown', outcome: 'client_error', error_code: 'UnknownOperationException' }), 1);
    assert.ok(delta({ api: 'openbatch', operation: 'GetMetrics', outcome: 'success' }) >= 1, 'the scrape itself');
    for (const s of after.samples) {
      if (s.name !== 'openbatch_api_requests_total') continue;
      assert.doesNotMatch(s.labels.operation, /madeup|Made/i, 'a made-up operation became a label');
    }
    // The latency histogram has the same series.
    assert.equal(
      sumOf(after, 'openbatch_api_request_duration_seconds_count', { api: 'batch', operation: 'DescribeJobQueues', outcome: 'success' }) -
        sumOf(before, 'openbatch_api_request_duration_seconds_count', { api: 'batch', operation: 'DescribeJobQueues', outcome: 'success' }),
      2,
    );
    // The security counters are there, every reason (0 here: authentication is off).
    for (const reason of ['missing_token', 'malformed', 'unknown_key', 'bad_signature', 'expired', 'wrong_service', 'access_denied']) {
      assert.ok(after.samples.some((s) => s.name === 'openbatch_auth_failures_total' && s.labels.reason === reason), reason);
    }
    assert.ok(after.types.get('openbatch_requests_throttled_total') === 'counter');
    assert.ok(after.types.get('openbatch_requests_too_large_total') === 'counter');
  });

  test('the exposition is well formed, and curl reads it', async (t) => {
    const e = await metrics(env.endpoint);
    for (const [family, type] of e.types) {
      if (!family.startsWith('openbatch_')) continue;
      assert.ok(e.help.get(family), `${family} has HELP`);
      if (type === 'counter') assert.match(family, /_total$/, `counter ${family} ends in _total`);
    }
    if (!fs.existsSync('/usr/bin/curl')) return t.skip('curl is not installed (apt-get install curl)');
    const { stdout } = await promisify(execFile)('/usr/bin/curl', ['-sS', '--fail', `${env.endpoint}/metrics`]);
    const parsed = parseExposition(stdout);
    assert.ok(parsed.types.get('openbatch_runnable_jobs') === 'gauge');
  });
});

describe('GET /metrics with authentication on', () => {
  const TOKEN = 'metrics-token-0123456789abcdef';
  let server: TestServer;
  let tokenless: TestServer;

  before(async () => {
    server = new TestServer({ env: { OPENBATCH_CREDENTIALS: 'AKIDMETRICS:metrics-secret', OPENBATCH_METRICS_TOKEN: TOKEN }, credentials: { accessKeyId: 'AKIDMETRICS', secretAccessKey: 'metrics-secret' } });
    tokenless = new TestServer({ env: { OPENBATCH_CREDENTIALS: 'AKIDMETRICS:metrics-secret' }, credentials: { accessKeyId: 'AKIDMETRICS', secretAccessKey: 'metrics-secret' } });
    await Promise.all([server.start(), tokenless.start()]);
  });
  after(async () => {
    for (const s of [server, tokenless]) {
      await s?.stop();
      s?.cleanup();
    }
  });

  test('the bearer token is required, and refusals are counted', async () => {
    const none = await scrape(server.endpoint);
    assert.equal(none.status, 403);
    assert.equal(JSON.parse(none.text).__type, 'MissingAuthenticationTokenException');
    const wrong = await scrape(server.endpoint, { authorization: 'Bearer not-the-token-at-all-no' });
    assert.equal(wrong.status, 403);
    assert.equal(JSON.parse(wrong.text).__type, 'AccessDeniedException');
    assert.doesNotMatch(wrong.text, new RegExp(TOKEN));
    const ok = await scrape(server.endpoint, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    const e = parseExposition(ok.text);
    assert.ok(sumOf(e, 'openbatch_auth_failures_total', { reason: 'missing_token' }) >= 1);
    assert.ok(sumOf(e, 'openbatch_auth_failures_total', { reason: 'bad_signature' }) >= 1);
    // The rest of the API still wants SigV4: the token opens /metrics only.
    assert.equal((await fetch(`${server.endpoint}/v1/describejobqueues`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{}' })).status, 403);
    const client = server.client();
    try {
      await client.send(new DescribeJobQueuesCommand({}));
    } finally {
      client.destroy();
    }
  });

  test('without a token, /metrics stays behind SigV4 like every route', async () => {
    const unsigned = await scrape(tokenless.endpoint);
    assert.equal(unsigned.status, 403);
    assert.equal(JSON.parse(unsigned.text).__type, 'MissingAuthenticationTokenException');
    assert.equal((await scrape(tokenless.endpoint, { authorization: `Bearer ${TOKEN}` })).status, 403);
  });

  test('a weak token is refused at start', async () => {
    const weak = new TestServer({ env: { OPENBATCH_CREDENTIALS: 'AKIDMETRICS:metrics-secret', OPENBATCH_METRICS_TOKEN: 'short' } });
    try {
      await assert.rejects(weak.start(), /metrics token: at least 16 printable characters/);
    } finally {
      await weak.stop();
      weak.cleanup();
    }
  });
});
