// `openbatch logs <jobId> --follow` on a running job: a line the job prints shows in the CLI's
// stdout within a second (the job prints when the test creates a file; the test measures from
// that moment to the line in the CLI's output, with a deadline, no sleeps), and the CLI exits
// when the job ends, with a status that reflects it (0 SUCCEEDED, 1 FAILED).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RegisterJobDefinitionCommand, SubmitJobCommand, type BatchClient } from '@aws-sdk/client-batch';
import { CLI, TestServer, describeJob, reusablePort, waitFor } from '../helpers/server.js';

describe('openbatch logs --follow', () => {
  let server: TestServer;
  let batch: BatchClient;
  let work: string;

  before(async () => {
    server = await new TestServer().start(await reusablePort()); // restarted on the same port below
    batch = server.client();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-follow-'));
    await batch.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'sh',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['sh', '-c', 'Ref::script'], resourceRequirements: [{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '16' }] },
      }),
    );
  });

  after(async () => {
    batch?.destroy();
    await server?.stop();
    server?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** Runs `openbatch logs <jobId> --follow`; `waitForText` resolves when stdout first contains a text. */
  function follow(jobId: string) {
    const child = spawn(process.execPath, [CLI, 'logs', jobId, '--follow', '--endpoint-url', server.endpoint], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const waiters: { text: string; resolve: (at: number) => void }[] = [];
    child.stdout.on('data', (d) => {
      stdout += d;
      for (const w of waiters.filter((x) => stdout.includes(x.text))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(Date.now());
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    return {
      get stdout() {
        return stdout;
      },
      get stderr() {
        return stderr;
      },
      exited,
      waitForText(text: string, timeoutMs: number): Promise<number> {
        if (stdout.includes(text)) return Promise.resolve(Date.now());
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`"${text}" not in the CLI's output within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`)), timeoutMs);
          waiters.push({ text, resolve: (at) => (clearTimeout(timer), resolve(at)) });
        });
      },
      kill: () => child.kill('SIGKILL'),
    };
  }

  const submit = async (name: string, script: string, attempts?: number) =>
    (await batch.send(new SubmitJobCommand({ jobName: name, jobQueue: 'default', jobDefinition: 'sh', parameters: { script }, ...(attempts ? { retryStrategy: { attempts } } : {}) }))).jobId!;

  test('a line shows within a second of the job printing it; the CLI exits 0 when the job SUCCEEDED', async () => {
    const go = path.join(work, 'go');
    const end = path.join(work, 'end');
    const jobId = await submit('follow-ok', `echo first; while [ ! -e ${go} ]; do sleep 0.01; done; echo the-line; while [ ! -e ${end} ]; do sleep 0.01; done; echo bye`);
    const cli = follow(jobId);
    try {
      await cli.waitForText('first\n', 20_000);
      assert.equal((await describeJob(batch, jobId))?.status, 'RUNNING');
      const t0 = Date.now();
      fs.writeFileSync(go, '');
      const seenAt = await cli.waitForText('the-line\n', 5_000);
      assert.ok(seenAt - t0 < 1000, `the line took ${seenAt - t0} ms to show`);
      fs.writeFileSync(end, '');
      assert.equal(await cli.exited, 0, cli.stderr);
      assert.equal(cli.stdout, 'first\nthe-line\nbye\n');
      assert.match(cli.stderr, new RegExp(`job ${jobId} SUCCEEDED`));
    } finally {
      cli.kill();
    }
  });

  test('a FAILED job: the CLI prints its last lines and exits 1', async () => {
    const go = path.join(work, 'go-fail');
    const jobId = await submit('follow-fail', `echo working; while [ ! -e ${go} ]; do sleep 0.01; done; echo oops >&2; exit 3`);
    await waitFor('the job to run', async () => (await describeJob(batch, jobId))?.status === 'RUNNING');
    const cli = follow(jobId);
    try {
      await cli.waitForText('working\n', 20_000);
      fs.writeFileSync(go, '');
      assert.equal(await cli.exited, 1, cli.stderr);
      assert.equal(cli.stdout, 'working\noops\n');
      assert.match(cli.stderr, /FAILED/);
    } finally {
      cli.kill();
    }
  });

  test('a retried job: follow moves on to the next attempt; --attempt N prints only that one', async () => {
    const go = path.join(work, 'go-retry');
    const jobId = await submit('follow-retry', `echo "attempt $AWS_BATCH_JOB_ATTEMPT"; if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then while [ ! -e ${go} ]; do sleep 0.01; done; exit 1; fi`, 2);
    const cli = follow(jobId);
    try {
      await cli.waitForText('attempt 1\n', 20_000);
      fs.writeFileSync(go, '');
      assert.equal(await cli.exited, 0, cli.stderr);
      assert.equal(cli.stdout, 'attempt 1\nattempt 2\n');
    } finally {
      cli.kill();
    }
    const first = spawn(process.execPath, [CLI, 'logs', jobId, '--follow', '--attempt', '1', '--endpoint-url', server.endpoint], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    first.stdout.on('data', (d) => (out += d));
    assert.equal(await new Promise((r) => first.on('close', r)), 0);
    assert.equal(out, 'attempt 1\n');
  });

  test('following survives a restart of the server (SIGKILL, then the same port again)', async () => {
    const go = path.join(work, 'go-restart');
    const end = path.join(work, 'end-restart');
    const jobId = await submit('follow-restart', `echo before; while [ ! -e ${go} ]; do sleep 0.01; done; echo after; while [ ! -e ${end} ]; do sleep 0.01; done; echo done`);
    const cli = follow(jobId);
    try {
      await cli.waitForText('before\n', 20_000);
      const port = Number(new URL(server.endpoint).port);
      await server.kill();
      fs.writeFileSync(go, '');
      await server.start(port);
      batch.destroy();
      batch = server.client();
      await cli.waitForText('after\n', 20_000);
      fs.writeFileSync(end, '');
      assert.equal(await cli.exited, 0, cli.stderr);
      assert.equal(cli.stdout, 'before\nafter\ndone\n');
    } finally {
      cli.kill();
    }
  });
});
