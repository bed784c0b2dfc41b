// Executor faults end to end, through the real server and @aws-sdk/client-batch: each fault ends
// the attempt with a clear reason in attempts[].container.reason, the retry rules
// (evaluateOnExit onReason) decide what follows, and the server keeps serving.
//   - OOM kill (the job's memory enforced with a cgroup): OutOfMemoryError, EXIT or RETRY by rule
//   - a non-executable command, a missing one: CannotStartContainerError, retried or not by rule
//   - the data dir's work dir unwritable (a read-only mount): CannotStartContainerError, and jobs
//     run again once it is writable
//   - the log's file system full: OutOfDiskError
//   - TerminateJob of a job that ignores SIGTERM and leaves a setsid'd grandchild: SIGKILL after
//     the grace (OPENBATCH_LOCAL_STOP_GRACE_MS), exit 137, nothing left running; and a normal exit
//     kills what the job left behind
// Mounting and cgroups need root: those tests are skipped where the host does not allow them.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TerminateJobCommand, type BatchClient, type EvaluateOnExit, type JobDetail, type RetryStrategy } from '@aws-sdk/client-batch';
import { detectCgroups } from '../../src/executors/local/cgroups.js';
import { REASON_OOM } from '../../src/executors/local/local-executor.js';
import { TestServer, httpGet, waitFor, waitForStatus } from '../helpers/server.js';
import { CONTAINER_EXITED } from './job-model-helpers.js';
import { createComputeEnvironmentAndQueue, registerDefinition, submit } from './sdk-helpers.js';

const Q = 'ef-q';
const TASK_FAILED_TO_START = 'Task failed to start';

const CGROUPS = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-cgroup-probe-'));
  const found = detectCgroups(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (!('config' in found)) return found.why;
  fs.rmdirSync(found.config.dir);
  return true;
})();
const noCgroups = CGROUPS === true ? false : `no usable memory cgroups: ${CGROUPS}`;

/** Mounts a tmpfs at `dir` (made if missing); returns its unmount, or undefined where this host does not allow it. */
function mountTmpfs(dir: string, options: string): (() => void) | undefined {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return () => execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
}
const CAN_MOUNT = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-mount-probe-'));
  const unmount = mountTmpfs(dir, 'size=64k');
  unmount?.();
  fs.rmSync(dir, { recursive: true, force: true });
  return unmount !== undefined;
})();
const noMount = CAN_MOUNT ? false : 'cannot mount a tmpfs here (needs root)';

let server: TestServer;
let client: BatchClient;
let tmp: string;
const strays: number[] = [];

before(async () => {
  // A short SIGTERM→SIGKILL grace (AWS's is 30 s).
  server = new TestServer({ env: { OPENBATCH_LOCAL_STOP_GRACE_MS: '500' } });
  await server.start();
  client = server.client();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-e2e-faults-'));
  await createComputeEnvironmentAndQueue(client, 'ef-ce', 4, { queueName: Q });
  await registerDefinition(client, 'ef-sh', ['sh', '-c', 'eval "$SCRIPT"'], {
    containerProperties: {
      image: 'busybox',
      command: ['sh', '-c', 'eval "$SCRIPT"'],
      resourceRequirements: [
        { type: 'VCPU', value: '0.25' },
        { type: 'MEMORY', value: '32' },
      ],
    },
  });
});

after(async () => {
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  client?.destroy();
  await server?.stop();
  server?.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function job(jobName: string, o: { script?: string; command?: string[]; retryStrategy?: RetryStrategy; env?: Record<string, string> }): Promise<string> {
  return submit(client, {
    jobName,
    jobQueue: Q,
    jobDefinition: 'ef-sh',
    containerOverrides: {
      environment: [{ name: 'SCRIPT', value: o.script ?? 'true' }, ...Object.entries(o.env ?? {}).map(([name, value]) => ({ name, value }))],
      ...(o.command ? { command: o.command } : {}),
    },
    ...(o.retryStrategy ? { retryStrategy: o.retryStrategy } : {}),
  });
}

const reasons = (j: JobDetail) => j.attempts?.map((a) => a.container?.reason);

/** Waits until the job is done (generous deadline: the machine may be busy), then checks it ended `status`. */
async function finished(id: string, status: 'SUCCEEDED' | 'FAILED'): Promise<JobDetail> {
  const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], 60_000);
  assert.equal(j.status, status, `job ${j.jobName}: ${j.status}, attempts ${JSON.stringify(j.attempts?.map((a) => ({ exitCode: a.container?.exitCode, reason: a.container?.reason, statusReason: a.statusReason })))}`);
  return j;
}
const exitCodes = (j: JobDetail) => j.attempts?.map((a) => a.container?.exitCode);

async function assertHealthy(): Promise<void> {
  assert.equal((await httpGet(`${server.endpoint}/health`)).status, 200, 'the server keeps serving');
}

function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pid a job wrote to `file`. */
async function pidIn(file: string): Promise<number> {
  const pid = await waitFor(`a pid in ${file}`, async () => {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    return /^\d+\n$/.test(text) ? Number(text) : undefined;
  });
  strays.push(pid);
  return pid;
}

describe('out of memory', { skip: noCgroups }, () => {
  const OOM = 'exec tail -n1 /dev/zero'; // one line that never ends: grows past any limit

  test('OutOfMemoryError (exit 137) with onReason OutOfMemoryError* → EXIT: one attempt, FAILED', async () => {
    const rules: EvaluateOnExit[] = [{ onReason: 'OutOfMemoryError*', action: 'EXIT' }];
    const id = await job('ef-oom-exit', { script: OOM, retryStrategy: { attempts: 2, evaluateOnExit: rules } });
    const j = await finished(id, 'FAILED');
    assert.deepEqual(exitCodes(j), [137]);
    assert.deepEqual(reasons(j), [REASON_OOM]);
    assert.equal(j.attempts![0].statusReason, CONTAINER_EXITED);
    assert.equal(j.statusReason, CONTAINER_EXITED);
    assert.equal(j.container?.exitCode, 137);
    await assertHealthy();
  });

  test('onReason OutOfMemoryError* → RETRY: the second attempt (within its memory) succeeds', async () => {
    const rules: EvaluateOnExit[] = [
      { onReason: 'OutOfMemoryError*', action: 'RETRY' },
      { onReason: '*', action: 'EXIT' },
    ];
    const id = await job('ef-oom-retry', { script: `[ "$AWS_BATCH_JOB_ATTEMPT" = 1 ] && ${OOM}; head -c 4000000 /dev/zero | tail -n1 | wc -c`, retryStrategy: { attempts: 2, evaluateOnExit: rules } });
    const j = await finished(id, 'SUCCEEDED');
    assert.deepEqual(exitCodes(j), [137, 0]);
    assert.deepEqual(reasons(j), [REASON_OOM, undefined]);
    // A shell whose child was OOM-killed exits with its own code; the reason still says why.
    const wrapped = await job('ef-oom-wrapped', { script: 'head -c 200000000 /dev/zero | tail -n1 >/dev/null; exit 9', retryStrategy: { attempts: 2, evaluateOnExit: [{ onReason: 'OutOfMemoryError*', action: 'EXIT' }] } });
    const w = await finished(wrapped, 'FAILED');
    assert.deepEqual(exitCodes(w), [9]);
    assert.deepEqual(reasons(w), [REASON_OOM]);
  });
});

describe('commands that cannot start', () => {
  test('a non-executable file: CannotStartContainerError ... permission denied, retried by onReason; a missing command not, by EXIT', async () => {
    const plain = path.join(tmp, 'not-executable.sh');
    fs.writeFileSync(plain, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    const retry: RetryStrategy = { attempts: 2, evaluateOnExit: [{ onReason: 'CannotStartContainerError*', action: 'RETRY' }] };
    const id = await job('ef-perm', { command: [plain], retryStrategy: retry });
    const j = await finished(id, 'FAILED');
    assert.deepEqual(reasons(j), [1, 2].map(() => `CannotStartContainerError: exec: "${plain}": permission denied`));
    assert.deepEqual(exitCodes(j), [undefined, undefined]);
    assert.equal(j.statusReason, TASK_FAILED_TO_START);

    const exit: RetryStrategy = { attempts: 2, evaluateOnExit: [{ onReason: 'CannotStartContainerError*', action: 'EXIT' }] };
    const missing = await job('ef-missing', { command: ['openbatch-e2e-no-such-command'], retryStrategy: exit });
    const m = await finished(missing, 'FAILED');
    assert.deepEqual(reasons(m), ['CannotStartContainerError: exec: "openbatch-e2e-no-such-command": executable file not found in $PATH']);
    await assertHealthy();
  });

  test('the work dir cannot be created (read-only): CannotStartContainerError, retried by rule; jobs run again once it is writable', { skip: noMount }, async () => {
    const work = path.join(server.dataDir, 'work');
    const unmount = mountTmpfs(work, 'ro,size=64k')!;
    let id: string;
    try {
      id = await job('ef-ro-work', { script: 'echo ran', retryStrategy: { attempts: 2, evaluateOnExit: [{ onReason: 'CannotStartContainerError*', action: 'RETRY' }] } });
      const j = await finished(id, 'FAILED');
      assert.equal(j.attempts?.length, 2);
      for (const r of reasons(j)!) assert.match(r ?? '', new RegExp(`^CannotStartContainerError: cannot create the working directory ${work}/[^ ]+: read-only file system$`));
      assert.equal(j.statusReason, TASK_FAILED_TO_START);
      await assertHealthy();
    } finally {
      unmount();
    }
    const ok = await job('ef-work-again', { script: 'echo ran' });
    assert.equal((await finished(ok, 'SUCCEEDED')).container?.exitCode, 0);
  });
});

describe('out of disk for logs', { skip: noMount }, () => {
  test('the log\'s file system fills up: the failed attempt says OutOfDiskError (EXIT by rule); the server keeps running', async () => {
    const logs = path.join(server.dataDir, 'logs');
    const unmount = mountTmpfs(logs, 'size=128k')!;
    try {
      const id = await job('ef-disk', { script: 'echo start; head -c 1000000 /dev/zero', retryStrategy: { attempts: 2, evaluateOnExit: [{ onReason: 'OutOfDiskError*', action: 'EXIT' }] } });
      const j = await finished(id, 'FAILED');
      assert.equal(j.attempts?.length, 1);
      assert.notEqual(j.attempts![0].container?.exitCode, 0);
      assert.match(j.attempts![0].container?.reason ?? '', /^OutOfDiskError: no space left on the device of the job's log \(.*\) when it exited; the log may be incomplete$/);
      await assertHealthy();
    } finally {
      unmount();
    }
    const ok = await job('ef-disk-again', { script: 'echo fine' });
    assert.equal((await finished(ok, 'SUCCEEDED')).container?.exitCode, 0);
  });
});

describe('jobs that ignore SIGTERM and leave processes behind', () => {
  // The grandchild leaves the job's process group (setsid), ignores SIGTERM too, and writes its pid.
  const grandchild = (file: string) => `setsid sh -c 'trap "" TERM; echo $$ >"$0.tmp"; mv "$0.tmp" "$0"; exec sleep 100' "${file}" &`;

  test('TerminateJob: SIGTERM ignored → SIGKILL after the grace, exit 137, the terminate reason; the setsid\'d grandchild is gone too', async () => {
    const file = path.join(tmp, 'terminate.pid');
    const id = await job('ef-terminate', { script: `trap "" TERM; ${grandchild(file)} while :; do sleep 0.05; done`, retryStrategy: { attempts: 2 } });
    await waitForStatus(client, id, 'RUNNING');
    const pid = await pidIn(file);
    assert.ok(isAlive(pid));
    await client.send(new TerminateJobCommand({ jobId: id, reason: 'stop it' }));
    const j = await finished(id, 'FAILED');
    assert.deepEqual(exitCodes(j), [137], 'killed, not retried (a terminated attempt never is)');
    assert.equal(j.statusReason, 'stop it');
    await waitFor(`grandchild ${pid} gone`, async () => !isAlive(pid));
  });

  test('a normal exit: what the job left running is killed (setsid\'d too, with cgroups)', { skip: noCgroups }, async () => {
    const file = path.join(tmp, 'exit.pid');
    const id = await job('ef-leftover', { script: `${grandchild(file)} while [ ! -e "${file}" ]; do sleep 0.01; done; exit 0` });
    await finished(id, 'SUCCEEDED');
    const pid = await pidIn(file);
    await waitFor(`grandchild ${pid} gone`, async () => !isAlive(pid));
    await assertHealthy();
  });
});
