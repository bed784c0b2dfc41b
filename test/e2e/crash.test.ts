// Killing the server with SIGKILL while jobs run, then restarting it on the same data dir,
// leaves every job in a correct state: running attempts are adopted and their exit status is
// not lost, attempts that finished while it was down are recorded, queued and last-minute work
// still runs. Then the host "dies" under some attempts (the server and the local launcher that
// supervises them are SIGKILLed): those fail with a host-lost reason, their orphaned commands are
// killed, and they are retried per their strategy, while attempts of the first launcher survive a
// second restart. No attempt runs twice.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  type BatchClient,
} from '@aws-sdk/client-batch';
import { TestServer, describeJob, freshPostgresDatabase, waitFor, waitForStatus, type ServerOptions } from '../helpers/server.js';

const pg = await freshPostgresDatabase('crash');
if (!process.env.ONLY_PG) crashSuite('SQLite', () => ({}));
if ('skip' in pg) {
  process.stderr.write(`SKIPPING crash safety on PostgreSQL: ${pg.skip}\n`);
  test('crash safety on PostgreSQL', { skip: pg.skip }, () => {});
} else {
  crashSuite('PostgreSQL', () => ({ databaseUrl: pg.url }), () => pg.drop());
}

function crashSuite(backend: string, options: () => ServerOptions, dispose?: () => Promise<void>): void {
describe(`crash safety (${backend}): SIGKILL the server while jobs run, restart it`, () => {
  const server = new TestServer(options());
  let client: BatchClient;
  const work = () => path.join(server.dataDir, 'test-work');
  const ledger = () => path.join(work(), 'ledger');

  before(async () => {
    await server.start();
    client = server.client();
    fs.mkdirSync(work(), { recursive: true });
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'crash-ce',
        type: 'MANAGED',
        computeResources: { type: 'EC2', maxvCpus: 64, minvCpus: 0, subnets: [], securityGroupIds: [], instanceTypes: ['optimal'] },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'crash-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'crash-ce' }] }));
    // A queue with room for one job at a time, so work waits RUNNABLE across the crash.
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'narrow-ce',
        type: 'MANAGED',
        computeResources: { type: 'EC2', maxvCpus: 1, minvCpus: 0, subnets: [], securityGroupIds: [], instanceTypes: ['optimal'] },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'narrow-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'narrow-ce' }] }));
    // Every attempt appends "start" and "end" lines to a ledger: the test checks no attempt ran twice.
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'crash',
        type: 'container',
        containerProperties: {
          image: 'busybox',
          command: ['sh', '-c', 'echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT start" >> "$LEDGER"; eval "$SCRIPT"; rc=$?; echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT end" >> "$LEDGER"; exit $rc'],
          resourceRequirements: [
            { type: 'VCPU', value: '1' },
            { type: 'MEMORY', value: '64' },
          ],
        },
      }),
    );
  });

  after(async () => {
    if (process.env.SHOW_SERVER_OUTPUT) process.stderr.write(server.output);
    await server.kill();
    server.cleanup();
    await dispose?.();
  });

  const submit = async (name: string, script: string, opts: { queue?: string; attempts?: number } = {}) => {
    const out = await client.send(
      new SubmitJobCommand({
        jobName: name,
        jobQueue: opts.queue ?? 'crash-q',
        jobDefinition: 'crash',
        containerOverrides: {
          environment: [
            { name: 'LEDGER', value: ledger() },
            { name: 'SCRIPT', value: script },
            { name: 'W', value: work() },
          ],
        },
        ...(opts.attempts ? { retryStrategy: { attempts: opts.attempts } } : {}),
      }),
    );
    return out.jobId!;
  };
  const exists = (f: string) => async () => fs.existsSync(path.join(work(), f));
  const alive = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'));
    } catch {
      return false;
    }
  };

  test('every job ends right, exit codes survive, lost attempts retry, nothing runs twice', async () => {
    // Phase 1: SIGKILL the server; the attempts' supervisor (the local launcher) carries on.
    // survives: still running across both restarts, then exits 0 / 3 once released.
    const ok = await submit('survives-ok', 'echo "$PPID" > "$W/ok.started"; while [ ! -e "$W/release" ]; do sleep 0.05; done; exit 0');
    const bad = await submit('survives-bad', 'echo "$PPID" > "$W/bad.started"; while [ ! -e "$W/release" ]; do sleep 0.05; done; exit 3');
    // finishes while the server is down.
    const early = await submit('exits-while-down', 'touch "$W/early.started"; while [ ! -e "$W/early.go" ]; do sleep 0.05; done; touch "$W/early.done"; exit 0');
    // queued behind a blocker on a 1-vCPU compute environment.
    const blocker = await submit('blocker', 'touch "$W/blocker.started"; while [ ! -e "$W/release" ]; do sleep 0.05; done', { queue: 'narrow-q' });
    const queued = await submit('queued', 'exit 0', { queue: 'narrow-q' });

    for (const id of [ok, bad, early, blocker]) await waitForStatus(client, id, 'RUNNING');
    await waitFor('the survivors to record their launcher', async () => fs.existsSync(path.join(work(), 'ok.started')) && fs.existsSync(path.join(work(), 'bad.started')));
    assert.equal((await describeJob(client, queued))?.status, 'RUNNABLE');
    // Submitted just before the crash: accepted (200) means it must not be lost.
    const lastMinute = await Promise.all(Array.from({ length: 20 }, (_, i) => submit(`last-minute-${i}`, 'exit 0')));

    await server.kill();

    // While the server is down: one job finishes.
    fs.writeFileSync(path.join(work(), 'early.go'), '');
    await waitFor('the early job to finish while the server is down', exists('early.done'));

    await server.start();
    client = server.client();

    // The adopted jobs are still RUNNING (the restart did not restart or fail them)...
    assert.equal((await describeJob(client, ok))?.status, 'RUNNING');
    assert.equal((await describeJob(client, bad))?.status, 'RUNNING');
    // ...the job that finished while the server was down is recorded with its exit code...
    const e = await waitForStatus(client, early, ['SUCCEEDED', 'FAILED']);
    assert.equal(e.status, 'SUCCEEDED');
    assert.equal(e.attempts?.length, 1);
    assert.equal(e.attempts?.[0].container?.exitCode, 0);
    // ...and the last-minute submissions all run.
    for (const id of lastMinute) assert.equal((await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED', id);

    // Phase 2: the host "dies" under two attempts: SIGKILL the server, then the launcher that
    // supervises them (the one the second server started; the first server's launcher still
    // supervises the survivors). Their commands are orphaned: the next server must kill them and
    // fail the attempts with a host-lost reason; one is retried, one has no retries.
    const lost = await submit(
      'lost-then-retried',
      'if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then echo "$PPID $$" > "$W/lost.pids"; sleep 60; fi; exit 0',
      { attempts: 2 },
    );
    const lostNoRetry = await submit('lost-no-retry', 'echo "$PPID $$" > "$W/lost2.pids"; sleep 60');
    for (const id of [lost, lostNoRetry]) await waitForStatus(client, id, 'RUNNING');
    await waitFor('the lost jobs to record their pids', async () => fs.existsSync(path.join(work(), 'lost.pids')) && fs.existsSync(path.join(work(), 'lost2.pids')));
    const pidsOf = (f: string) => fs.readFileSync(path.join(work(), f), 'utf8').trim().split(/\s+/).map(Number);
    const [launcher, lostCommand] = pidsOf('lost.pids');
    const [launcher2, lostCommand2] = pidsOf('lost2.pids');
    assert.equal(launcher2, launcher, 'one launcher supervises both');
    assert.match(fs.readFileSync(`/proc/${launcher}/cmdline`, 'latin1'), /^openbatch-launcher /);
    const survivorLaunchers = ['ok.started', 'bad.started'].map((f) => Number(fs.readFileSync(path.join(work(), f), 'utf8')));
    assert.ok(!survivorLaunchers.includes(launcher), 'the survivors are supervised by the first server\'s launcher');
    assert.ok(survivorLaunchers.every(alive), 'which still lives');

    await server.kill();
    process.kill(launcher, 'SIGKILL');
    await waitFor('the launcher to be gone', async () => !alive(launcher));
    assert.ok(alive(lostCommand) && alive(lostCommand2), 'its commands run on, orphaned');

    await server.start();
    client = server.client();

    // The survivors are still RUNNING, adopted a second time...
    assert.equal((await describeJob(client, ok))?.status, 'RUNNING');
    assert.equal((await describeJob(client, bad))?.status, 'RUNNING');
    // ...the lost attempts failed with the host-lost reason, their orphaned commands killed.
    const l2 = await waitForStatus(client, lostNoRetry, ['SUCCEEDED', 'FAILED']);
    assert.equal(l2.status, 'FAILED');
    assert.match(l2.statusReason ?? '', /^Host EC2 \(instance .+\) terminated\.$/);
    assert.equal(l2.attempts?.length, 1);
    const l1 = await waitForStatus(client, lost, ['SUCCEEDED', 'FAILED']);
    assert.equal(l1.status, 'SUCCEEDED');
    assert.equal(l1.attempts?.length, 2);
    assert.match(l1.attempts?.[0].statusReason ?? '', /^Host EC2 \(instance .+\) terminated\.$/);
    assert.equal(l1.attempts?.[1].container?.exitCode, 0);
    assert.ok(!alive(lostCommand) && !alive(lostCommand2), 'the orphaned commands were killed');

    // Release the adopted jobs: their exit codes arrive although the server is not their parent.
    fs.writeFileSync(path.join(work(), 'release'), '');
    const o = await waitForStatus(client, ok, ['SUCCEEDED', 'FAILED']);
    assert.equal(o.status, 'SUCCEEDED');
    assert.equal(o.container?.exitCode, 0);
    const b = await waitForStatus(client, bad, ['SUCCEEDED', 'FAILED']);
    assert.equal(b.status, 'FAILED');
    assert.equal(b.container?.exitCode, 3);
    assert.equal(b.statusReason, 'Essential container in task exited');
    // Queued work runs.
    for (const id of [blocker, queued]) {
      assert.equal((await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED', id);
    }

    // No attempt started twice.
    const lines = fs.readFileSync(ledger(), 'utf8').trim().split('\n');
    const starts = new Map<string, number>();
    for (const line of lines.filter((l) => l.endsWith(' start'))) {
      const key = line.slice(0, -' start'.length);
      starts.set(key, (starts.get(key) ?? 0) + 1);
    }
    for (const [key, n] of starts) assert.equal(n, 1, `attempt ${key} started ${n} times`);
    for (const id of [ok, bad, early, blocker, queued, ...lastMinute]) assert.equal(starts.get(`${id} 1`), 1, `${id} ran once`);
    assert.equal(starts.get(`${lost} 2`), 1);
    assert.equal(starts.has(`${lostNoRetry} 2`), false);
  });
});
}
