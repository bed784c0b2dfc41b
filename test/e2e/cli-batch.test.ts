// The everyday `openbatch` commands against a real server: submit (a shell command, arrays,
// dependencies, env), jobs (squeue-like, with the scheduler's reason for RUNNABLE jobs), wait
// (a progress bar under a pseudo-terminal, plain lines when piped, exit status = the job's
// result), cancel, terminate, queues, envs, --output json/ndjson, and endpoint/credentials the
// AWS CLI way (profiles in ~/.aws/config and ~/.aws/credentials against an authenticated server).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CLI, run, TestServer, waitFor, waitForStatus } from '../helpers/server.js';
import { createComputeEnvironmentAndQueue, useServer } from './sdk-helpers.js';

const env = useServer(async (e) => {
  // One vCPU: a second 1-vCPU job waits RUNNABLE behind the first.
  await createComputeEnvironmentAndQueue(e.client, 'tiny', 1);
});

/** The CLI with the server's endpoint from AWS_ENDPOINT_URL (as a user would set it). */
function ob(args: string[], extraEnv: Record<string, string> = {}) {
  return run(process.execPath, [CLI, ...args], { AWS_ENDPOINT_URL: env.endpoint, AWS_PROFILE: '', ...extraEnv });
}

/** Runs a command line under a pseudo-terminal (util-linux script), so stdout is a TTY. */
function underTty(args: string[]) {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return run('script', ['-qfec', quoted, '/dev/null'], { AWS_ENDPOINT_URL: env.endpoint, TERM: 'xterm' });
}

describe('openbatch submit and wait', () => {
  test('an array of 100 shell commands: a progress bar in a terminal, plain lines when piped, each child echoing its index', async () => {
    const sub = await ob(['submit', '--array', '100', '--', 'sh', '-c', 'echo $AWS_BATCH_JOB_ARRAY_INDEX']);
    assert.equal(sub.code, 0, sub.stderr);
    const jobId = sub.stdout.trim();
    assert.match(jobId, /^[0-9a-f-]{36}$/);

    const tty = await underTty(['wait', jobId]);
    assert.equal(tty.code, 0, tty.stdout + tty.stderr);
    // cli-progress draws a bar of block characters with "done/total" and redraws in place.
    assert.match(tty.stdout, /[█░]{10,}/, `no progress bar in: ${JSON.stringify(tty.stdout.slice(0, 400))}`);
    assert.match(tty.stdout, /100\/100 done \| 0 failed/);
    assert.match(tty.stdout, /\| ETA \S+/);
    assert.match(tty.stdout, /\x1b\[/, 'a terminal gets control sequences');
    assert.match(tty.stdout, new RegExp(`${jobId} SUCCEEDED 100/100 done, 0 failed`));

    const piped = await ob(['wait', jobId]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, `${jobId} SUCCEEDED 100/100 done, 0 failed\n`, 'plain lines only, no bar and no escapes');

    const child = await run(process.execPath, [CLI, 'logs', `${jobId}:42`], { AWS_ENDPOINT_URL: env.endpoint });
    assert.equal(child.stdout, '42\n');
    // The generated definition is reused, not registered again.
    const again = await ob(['submit', '-o', 'json', '--name', 'again', '--', 'true']);
    assert.equal(again.code, 0, again.stderr);
    const [item] = JSON.parse(again.stdout);
    assert.equal(item.jobName, 'again');
    const defs = await ob(['jobs', '--all', '--name', 'again', '-o', 'ndjson']);
    assert.equal(defs.stdout.trim().split('\n').length, 1);
    const d = await run('aws', ['batch', 'describe-job-definitions', '--job-definition-name', 'openbatch-cmd', '--endpoint-url', env.endpoint], {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: 'us-east-1',
    });
    if (d.code === 0) assert.equal(JSON.parse(d.stdout).jobDefinitions.length, 1, 'openbatch-cmd registered once');
  });

  test('a plain job prints its state changes while piped; a failed job makes wait exit 1 with its reason; --env and --depends-on', async () => {
    const first = await ob(['submit', '--name', 'first', '--env', 'GREETING=hi there', '--', 'sh', '-c', 'echo "$GREETING"; exit 3']);
    assert.equal(first.code, 0, first.stderr);
    const firstId = first.stdout.trim();
    const second = await ob(['submit', '--name', 'second', '--depends-on', firstId, '--', 'true']);
    const secondId = second.stdout.trim();
    const w = await ob(['wait', firstId]);
    assert.equal(w.code, 1, 'wait exits 1 for a FAILED job');
    assert.match(w.stdout, new RegExp(`^${firstId} FAILED: Essential container in task exited$`, 'm'));
    const log = await run(process.execPath, [CLI, 'logs', firstId], { AWS_ENDPOINT_URL: env.endpoint });
    assert.equal(log.stdout, 'hi there\n');
    const w2 = await ob(['wait', secondId, '-o', 'json']);
    assert.equal(w2.code, 1);
    const [job] = JSON.parse(w2.stdout);
    assert.equal(job.status, 'FAILED');
    assert.deepEqual(job.dependsOn, [{ jobId: firstId }]);
  });

  test('an array with failing children: wait counts them and exits 1', async () => {
    const sub = await ob(['submit', '--array', '10', '--', 'sh', '-c', 'exit $((AWS_BATCH_JOB_ARRAY_INDEX % 3 == 0))']);
    const id = sub.stdout.trim();
    const w = await ob(['wait', id]);
    assert.equal(w.code, 1);
    assert.match(w.stdout, new RegExp(`^${id} FAILED 10/10 done, 4 failed$`, 'm'));
    const tty = await underTty(['wait', id]);
    assert.equal(tty.code, 1);
    assert.match(tty.stdout, /10\/10 done \| 4 failed/);
  });

  test('bad flags are refused with a clear message and submit nothing', async () => {
    const r = await ob(['submit', '--array', '1', '--', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--array.*from 2 to 10000/);
    const e = await ob(['submit', '--env', 'NOEQUALS', '--', 'true']);
    assert.match(e.stderr, /"NOEQUALS" is not K=V/);
    const q = await ob(['submit', '--queue', 'nope', '--', 'true']);
    assert.equal(q.code, 1);
    assert.match(q.stderr, /ClientException.*nope/);
    const o = await ob(['jobs', '-o', 'yaml']);
    assert.match(o.stderr, /table, json or ndjson/);
    const down = await run(process.execPath, [CLI, 'jobs', '--endpoint-url', 'http://127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach OpenBatch at http:\/\/127\.0\.0\.1:1/);
  });
});

describe('openbatch jobs, cancel, terminate, queues, envs', () => {
  test("jobs shows a RUNNABLE job's scheduler reason; cancel and terminate stop jobs", async () => {
    const busy = (await ob(['submit', '--queue', 'tiny-q', '--name', 'busy', '--', 'sleep', '300'])).stdout.trim();
    await waitForStatus(env.client, busy, 'RUNNING');
    const waiting = (await ob(['submit', '--queue', 'tiny-q', '--name', 'waiting', '--', 'true'])).stdout.trim();
    await waitForStatus(env.client, waiting, 'RUNNABLE');

    const out = await ob(['jobs', '--queue', 'tiny-q']);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split('\n');
    assert.match(lines[0], /^JOBID\s+NAME\s+QUEUE\s+STATE\s+AGE\s+ARRAY\s+REASON$/);
    const row = lines.find((l) => l.startsWith(waiting));
    assert.ok(row, out.stdout);
    assert.match(row, /waiting\s+tiny-q\s+RUNNABLE\s+\S+\s+CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - waiting for capacity: needs 1 vCPU, 512 MiB; tiny has 0 vCPUs/);
    assert.match(lines.find((l) => l.startsWith(busy)) ?? '', /busy\s+tiny-q\s+RUNNING/);

    // Every queue by default; state filter; json.
    const all = JSON.parse((await ob(['jobs', '--state', 'runnable', '-o', 'json'])).stdout);
    assert.deepEqual(all.map((j: { jobId: string }) => j.jobId), [waiting]);
    assert.match(all[0].statusReason, /^CAPACITY:/);

    const queues = await ob(['queues']);
    assert.match(queues.stdout, /^tiny-q\s+ENABLED\s+VALID\s+1\s+0\s+0\s+1\s+0\s+1\s+tiny$/m);
    const qj = JSON.parse((await ob(['queues', '-o', 'json'])).stdout);
    assert.deepEqual(qj.find((q: { jobQueueName: string }) => q.jobQueueName === 'tiny-q').jobCounts, { SUBMITTED: 0, PENDING: 0, RUNNABLE: 1, STARTING: 0, RUNNING: 1 });
    const envs = await ob(['envs']);
    assert.match(envs.stdout, /^tiny\s+ENABLED\s+VALID\s+EC2\s+1\s/m);
    const ndjson = (await ob(['envs', '-o', 'ndjson'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(ndjson.some((e) => e.computeEnvironmentName === 'tiny'));

    const c = await ob(['cancel', waiting, '--reason', 'not needed']);
    assert.equal(c.code, 0, c.stderr);
    const cancelled = await waitForStatus(env.client, waiting, 'FAILED');
    assert.equal(cancelled.statusReason, 'not needed');
    const t = await ob(['terminate', busy]);
    assert.equal(t.code, 0, t.stderr);
    const terminated = await waitForStatus(env.client, busy, 'FAILED');
    assert.equal(terminated.statusReason, 'Terminated with openbatch terminate');
    const none = await ob(['jobs', '--queue', 'tiny-q']);
    assert.equal(none.stdout.trim().split('\n').length, 1, 'only the header once both ended');
  });
});

describe('endpoint and credentials the AWS CLI way', () => {
  test('--profile and AWS_PROFILE read ~/.aws/credentials and ~/.aws/config (endpoint_url, region); a wrong key is refused', async () => {
    const server = new TestServer({ env: { OPENBATCH_CREDENTIALS: 'AKIDCLITEST:cli-secret' } });
    await server.start();
    try {
      const home = fs.mkdtempSync(path.join(env.tmp, 'home-'));
      fs.mkdirSync(path.join(home, '.aws'));
      fs.writeFileSync(path.join(home, '.aws', 'credentials'), '[dev]\naws_access_key_id = AKIDCLITEST\naws_secret_access_key = cli-secret\n\n[bad]\naws_access_key_id = AKIDCLITEST\naws_secret_access_key = wrong\n');
      fs.writeFileSync(path.join(home, '.aws', 'config'), `[profile dev]\nregion = us-east-1\nendpoint_url = ${server.endpoint}\n\n[profile bad]\nendpoint_url = ${server.endpoint}\n`);
      const base = { HOME: home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_BATCH: '' };
      const bare = (args: string[], extra: Record<string, string>) => run(process.execPath, [CLI, ...args], { ...base, ...extra });
      const ok = await bare(['queues', '--profile', 'dev'], {});
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^default\s+ENABLED/m);
      const viaEnv = await bare(['submit', '--', 'true'], { AWS_PROFILE: 'dev' });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      // The older commands (logs, describe) use the profile too.
      const described = await bare(['describe', viaEnv.stdout.trim()], { AWS_PROFILE: 'dev' });
      assert.equal(described.code, 0, described.stderr);
      assert.match(described.stdout, /^Job\s+cmd /m);
      const logs = await bare(['logs', viaEnv.stdout.trim()], { AWS_PROFILE: 'dev' });
      assert.equal(logs.code, 0, logs.stderr);
      const wrong = await bare(['queues', '--profile', 'bad'], {});
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /UnrecognizedClientException|InvalidSignatureException|SignatureDoesNotMatch/);
      const missing = await bare(['queues', '--profile', 'nope'], {});
      assert.match(missing.stderr, /profile \(nope\) could not be found/);
      // AWS_ENDPOINT_URL_BATCH beats the profile's endpoint_url.
      const other = await bare(['queues', '--profile', 'dev'], { AWS_ENDPOINT_URL_BATCH: 'http://127.0.0.1:1' });
      assert.match(other.stderr, /cannot reach OpenBatch at http:\/\/127\.0\.0\.1:1/);
      await waitFor('the job of the profile submit to end', async () => (await bare(['jobs', '--profile', 'dev'], {})).stdout.trim().split('\n').length === 1);
    } finally {
      await server.stop();
      server.cleanup();
    }
  });
});
