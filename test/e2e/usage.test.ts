// Right-sizing data end to end: a real server runs jobs as local processes; each attempt's peak
// memory and CPU time are measured, stored, and shown by GET /openbatch/v1/jobs/:jobId and
// `openbatch describe`, and summarised per job definition by
// GET /openbatch/v1/job-definitions/:name/usage and `openbatch usage` (p50/p95 against the
// requested memory, the recommendation ceil(p95 × 1.2)). Exits recorded while the server was down
// keep their usage (the launcher's journal). Bad input: clear errors, nothing changed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CLI, TestServer, run, waitForStatus } from '../helpers/server.js';
import { RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import { attemptKey } from '../../src/executors/executor.js';
import { createComputeEnvironmentAndQueue, describeJobs, submit, useServer } from './sdk-helpers.js';

const Q = 'usage-q';
const ALLOCATE = 'my $x = "x"; $x x= $ARGV[0] * 1048576; print length($x), "\\n"';

const env = useServer(async ({ client }) => {
  await createComputeEnvironmentAndQueue(client, 'usage-ce', 8, { queueName: Q });
  // Each asks for 512 MiB. alloc allocates (and touches) Ref::mib MiB; burn burns 1 s of CPU;
  // waiter waits for the file Ref::go, then allocates 150 MiB.
  const register = (name: string, command: string[], parameters?: Record<string, string>) =>
    client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: name,
        type: 'container',
        ...(parameters ? { parameters } : {}),
        containerProperties: { image: 'busybox', command, resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '512' }] },
      }),
    );
  await register('alloc', ['perl', '-e', ALLOCATE, 'Ref::mib'], { mib: '200' });
  await register('burn', ['perl', '-e', '1 while (times)[0] < 1']);
  await register('waiter', ['sh', '-c', 'while [ ! -e "$0" ]; do sleep 0.05; done; perl -e "$1" 150', 'Ref::go', ALLOCATE], { go: '/nonexistent' });
});

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${env.endpoint}${url}`);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function runJob(jobDefinition: string, parameters?: Record<string, string>): Promise<string> {
  const jobId = await submit(env.client, { jobName: `${jobDefinition}-job`, jobQueue: Q, jobDefinition, ...(parameters ? { parameters } : {}) });
  await waitForStatus(env.client, jobId, 'SUCCEEDED', 60_000);
  return jobId;
}

const cli = (...args: string[]) => run(process.execPath, [CLI, ...args, '--endpoint-url', env.endpoint]);

describe('right-sizing data', { timeout: 300_000 }, () => {
  test('a job that allocates about 200 MiB: describe shows its peak memory within 20 %, and its CPU time', async () => {
    const jobId = await runJob('alloc');
    const { status, body: job } = await getJson(`/openbatch/v1/jobs/${jobId}`);
    assert.equal(status, 200);
    // The DescribeJobs record, plus each attempt's number and usage.
    const [sdk] = await describeJobs(env.client, [jobId]);
    assert.equal(job.jobId, jobId);
    assert.equal(job.status, 'SUCCEEDED');
    assert.equal(job.jobDefinition, sdk.jobDefinition);
    assert.deepEqual(job.container.resourceRequirements, sdk.container?.resourceRequirements);
    assert.equal(job.attempts.length, 1);
    const [a] = job.attempts;
    assert.equal(a.attempt, 1);
    assert.equal(a.container.exitCode, 0);
    assert.ok(a.usage.peakMemoryMiB >= 160 && a.usage.peakMemoryMiB <= 240, `peak memory ${a.usage.peakMemoryMiB} MiB, expected 200 ± 20 %`);
    assert.ok(a.usage.cpuSeconds >= 0 && a.usage.cpuSeconds < 30, `CPU ${a.usage.cpuSeconds} s`);
    // The AWS API is unchanged: no usage in DescribeJobs.
    assert.equal((sdk.attempts?.[0] as Record<string, unknown>).usage, undefined);

    const text = await cli('describe', jobId);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^Job +alloc-job \\(${jobId}\\)$`, 'm'));
    assert.match(text.stdout, /^Status +SUCCEEDED/m);
    assert.match(text.stdout, /^Requested +1 vCPU, 512 MiB memory$/m);
    const row = /^ {2}1 +0 +([\d.]+) +([\d.]+) +Essential container in task exited$/m.exec(text.stdout);
    assert.ok(row, text.stdout);
    assert.ok(Math.abs(Number(row[1]) - a.usage.peakMemoryMiB) < 0.1, `${row[1]} vs ${a.usage.peakMemoryMiB}`);

    const json = await cli('describe', jobId, '--output', 'json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), job);
  });

  test('a job that burns about 1 s of CPU reports more than 0.5 CPU seconds', async () => {
    const jobId = await runJob('burn');
    const { body: job } = await getJson(`/openbatch/v1/jobs/${jobId}`);
    const cpu = job.attempts[0].usage.cpuSeconds;
    assert.ok(cpu > 0.5 && cpu < 30, `CPU ${cpu} s`);
  });

  test('the summary over several jobs of one definition: p50/p95 peak memory, CPU, requested memory and the recommendation', async () => {
    // 40, 80, 120 and 160 MiB, plus the 200 MiB job of the first test.
    const ids = await Promise.all(['40', '80', '120', '160'].map((mib) => runJob('alloc', { mib })));
    const peaks = new Map<string, number>();
    for (const id of ids) peaks.set(id, (await getJson(`/openbatch/v1/jobs/${id}`)).body.attempts[0].usage.peakMemoryMiB);
    const sorted = [...peaks.values()].sort((x, y) => x - y);
    sorted.forEach((p, i) => assert.ok(Math.abs(p - (i + 1) * 40) <= (i + 1) * 40 * 0.2 + 8, `job ${i}: peak ${p} MiB, expected about ${(i + 1) * 40}`));

    const { status, body: u } = await getJson('/openbatch/v1/job-definitions/alloc/usage');
    assert.equal(status, 200);
    assert.equal(u.jobDefinition, 'alloc');
    assert.equal(u.count, 5);
    assert.equal(u.window, 1000);
    assert.equal(u.requestedMemoryMiB, 512);
    // Nearest rank over 5: p50 is the 3rd (about 120 MiB), p95 the 5th (about 200 MiB).
    assert.equal(u.peakMemoryMiB.count, 5);
    assert.equal(u.peakMemoryMiB.p50, sorted[2], JSON.stringify(u));
    assert.ok(u.peakMemoryMiB.p95 >= 160 && u.peakMemoryMiB.p95 <= 240, JSON.stringify(u));
    assert.equal(u.peakMemoryMiB.p95, u.peakMemoryMiB.max);
    assert.equal(u.recommendedMemoryMiB, Math.ceil(u.peakMemoryMiB.p95 * 1.2));
    assert.ok(u.recommendedMemoryMiB < 512, 'the definition asks for more than it needs');
    assert.equal(u.cpuSeconds.count, 5);
    assert.ok(u.cpuSeconds.p50 <= u.cpuSeconds.p95);

    // Revisions are one definition; an ARN or name:revision names it too; ?limit= bounds the window.
    assert.deepEqual((await getJson('/openbatch/v1/job-definitions/alloc:1/usage')).body, u);
    const arn = encodeURIComponent('arn:aws:batch:us-east-1:000000000000:job-definition/alloc:1');
    assert.deepEqual((await getJson(`/openbatch/v1/job-definitions/${arn}/usage`)).body, u);
    const last2 = (await getJson('/openbatch/v1/job-definitions/alloc/usage?limit=2')).body;
    assert.equal(last2.count, 2);
    assert.equal(last2.window, 2);

    const text = await cli('usage', 'alloc');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Job definition +alloc: 5 measured attempts/m);
    assert.match(text.stdout, new RegExp(`^Peak memory +p50 ${u.peakMemoryMiB.p50} MiB +p95 ${u.peakMemoryMiB.p95} MiB`, 'm'));
    assert.match(text.stdout, /^Requested +512 MiB memory/m);
    assert.match(text.stdout, new RegExp(`^Recommended +${u.recommendedMemoryMiB} MiB memory .*: ${512 - u.recommendedMemoryMiB} MiB less than requested$`, 'm'));
    const json = await cli('usage', 'alloc', '--output', 'json');
    assert.deepEqual(JSON.parse(json.stdout), u);

    // The same summary as Prometheus gauges per job definition (bytes).
    const metrics = await (await fetch(`${env.endpoint}/metrics`)).text();
    const gauge = (name: string, labels: string) => {
      const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(metrics);
      assert.ok(m, `${name}{${labels}} in /metrics`);
      return Number(m[1]);
    };
    const MIB = 1024 * 1024;
    assert.equal(gauge('openbatch_job_definition_peak_memory_bytes', 'job_definition="alloc",quantile="0.95"'), u.peakMemoryMiB.p95 * MIB);
    assert.equal(gauge('openbatch_job_definition_peak_memory_bytes', 'job_definition="alloc",quantile="0.5"'), u.peakMemoryMiB.p50 * MIB);
    assert.equal(gauge('openbatch_job_definition_recommended_memory_bytes', 'job_definition="alloc"'), u.recommendedMemoryMiB * MIB);
    assert.equal(gauge('openbatch_job_definition_requested_memory_bytes', 'job_definition="alloc"'), 512 * MIB);
    assert.equal(gauge('openbatch_job_definition_measured_attempts', 'job_definition="alloc"'), 5);
    assert.doesNotMatch(metrics, /job_definition="waiter"/, 'a definition without measurements has no gauges');

    // A definition without measured attempts: count 0, no percentiles, no recommendation.
    const none = await getJson('/openbatch/v1/job-definitions/waiter/usage');
    assert.equal(none.status, 200);
    assert.deepEqual(none.body, { jobDefinition: 'waiter', count: 0, window: 1000 });
  });

  test('an exit recorded while the server was down keeps its usage (the launcher journals it)', async () => {
    const go = path.join(env.tmp, 'go');
    const jobId = await submit(env.client, { jobName: 'waiter-job', jobQueue: Q, jobDefinition: 'waiter', parameters: { go } });
    await waitForStatus(env.client, jobId, 'RUNNING', 60_000);
    await env.server.kill();
    fs.writeFileSync(go, '');
    // The launcher outlives the server: it reaps the command and journals its end and usage.
    await waitForJournal(env.server.dataDir, attemptKey(jobId, 1), 60_000);
    await env.server.start();
    env.client.destroy();
    env.client = env.server.client();
    env.endpoint = env.server.endpoint;
    await waitForStatus(env.client, jobId, 'SUCCEEDED', 60_000);
    const { body: job } = await getJson(`/openbatch/v1/jobs/${jobId}`);
    const peak = job.attempts[0].usage.peakMemoryMiB;
    assert.ok(peak >= 120 && peak <= 180, `peak memory ${peak} MiB, expected 150 ± 20 %`);
  });

  test('bad input: clear errors, and a job or definition that does not exist is 404', async () => {
    const missingJob = await getJson('/openbatch/v1/jobs/00000000-0000-0000-0000-000000000000');
    assert.equal(missingJob.status, 404);
    assert.equal(missingJob.body.__type, 'ResourceNotFoundException');
    assert.match(missingJob.body.message, /Job 00000000-0000-0000-0000-000000000000 does not exist/);
    const missingDef = await getJson('/openbatch/v1/job-definitions/nope/usage');
    assert.equal(missingDef.status, 404);
    assert.match(missingDef.body.message, /Job definition nope does not exist/);
    for (const [url, message] of [
      ['/openbatch/v1/job-definitions/bad%20name/usage', /^jobDefinition: "bad name" is not a job definition name/],
      ['/openbatch/v1/job-definitions/alloc/usage?limit=0', /^limit: must be an integer from 1 to 10000 \(got "0"\)/],
      ['/openbatch/v1/job-definitions/alloc/usage?limit=abc', /^limit: must be an integer/],
      ['/openbatch/v1/job-definitions/alloc/usage?limit=10001', /^limit: must be an integer/],
    ] as const) {
      const r = await getJson(url);
      assert.equal(r.status, 400, url);
      assert.equal(r.body.__type, 'ClientException', url);
      assert.match(r.body.message, message, url);
    }
    const cliMissing = await cli('describe', 'no-such-job');
    assert.equal(cliMissing.code, 1);
    assert.match(cliMissing.stderr, /openbatch: Job no-such-job does not exist/);
    const cliBad = await cli('usage', 'alloc', '--limit', '0');
    assert.notEqual(cliBad.code, 0);
    assert.match(cliBad.stderr, /must be an integer from 1 to 10000/);
    // Still serving.
    assert.equal((await getJson('/health')).status, 200);
  });
});

describe('right-sizing endpoints with access keys', { timeout: 120_000 }, () => {
  test('they need a signed request like every route; the CLI signs with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY', async () => {
    const key = { accessKeyId: 'AKIAUSAGETEST', secretAccessKey: 'usage-secret' };
    const server = await new TestServer({ env: { OPENBATCH_CREDENTIALS: `${key.accessKeyId}:${key.secretAccessKey}` }, credentials: key }).start();
    const client = server.client();
    try {
      await client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'signed', type: 'container', containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] } }));
      for (const url of ['/openbatch/v1/jobs/00000000-0000-0000-0000-000000000000', '/openbatch/v1/job-definitions/signed/usage']) {
        const res = await fetch(`${server.endpoint}${url}`);
        assert.equal(res.status, 403, url);
        assert.match(await res.text(), /Missing Authentication Token/, url);
      }
      const signed = { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey };
      const usage = await run(process.execPath, [CLI, 'usage', 'signed', '--output', 'json', '--endpoint-url', server.endpoint], signed);
      assert.equal(usage.code, 0, usage.stderr);
      assert.deepEqual(JSON.parse(usage.stdout), { jobDefinition: 'signed', count: 0, window: 1000 });
      const missing = await run(process.execPath, [CLI, 'describe', 'nope', '--endpoint-url', server.endpoint], signed);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /Job nope does not exist/);
      const wrong = await run(process.execPath, [CLI, 'describe', 'nope', '--endpoint-url', server.endpoint], { ...signed, AWS_SECRET_ACCESS_KEY: 'wrong' });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /signature we calculated does not match/);
    } finally {
      client.destroy();
      await server.stop();
      server.cleanup();
    }
  });
});

/** Waits until a journal of the data dir holds the attempt's X record with its peak memory (its end, journaled). */
async function waitForJournal(dataDir: string, key: string, timeoutMs: number): Promise<void> {
  const dir = path.join(dataDir, 'journals');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      let text = '';
      try {
        text = fs.readFileSync(path.join(dir, name), 'utf8');
      } catch {
        continue;
      }
      if (text.split('\n').some((line) => line.startsWith(`X ${key} 0 `) && / mem=\d+/.test(line))) return;
    }
    if (Date.now() > deadline) throw new Error(`no X record with usage in ${dir} within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      const w = fs.watch(dir, () => {
        w.close();
        resolve();
      });
      setTimeout(() => {
        w.close();
        resolve();
      }, 200).unref();
    });
  }
}
