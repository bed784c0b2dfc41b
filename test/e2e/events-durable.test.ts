// Durable delivery: a webhook that is down while a job fails gets the event once it is back, and
// the delivery survives a SIGKILL of the server in between (at least once; exactly once here,
// since the target answers as soon as it is up). Also: deliveries pending at a kill are not
// dispatched twice, and with no rules nothing is captured at all.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import Database from 'better-sqlite3';
import path from 'node:path';
import { TestServer, freshPostgresDatabase, waitFor, waitForStatus } from '../helpers/server.js';
import { freePort, pendingEvents, pendingOn, waitForAllDelivered, Webhook } from './events-helpers.js';

describe('durable event delivery', () => {
  const servers: TestServer[] = [];
  const hooks: Webhook[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const s of servers) {
      await s.stop();
      s.cleanup();
    }
    for (const h of hooks) await h.stop();
    for (const c of cleanups) await c();
  });

  async function start(dataDir?: string, databaseUrl?: string): Promise<TestServer> {
    // Retries at most 300 ms apart, so the test sees the webhook's return quickly.
    const s = await new TestServer({ dataDir, databaseUrl, env: { OPENBATCH_EVENTS_RETRY_BASE_MS: '100', OPENBATCH_EVENTS_RETRY_MAX_MS: '300' } }).start();
    servers.push(s);
    return s;
  }

  test('a webhook down while a job fails gets the event once it comes back', async () => {
    const port = await freePort();
    const server = await start();
    const events = new EventBridgeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    await events.send(new PutRuleCommand({ Name: 'failed', EventPattern: JSON.stringify({ source: ['aws.batch'], detail: { status: ['FAILED'] } }) }));
    await events.send(new PutTargetsCommand({ Rule: 'failed', Targets: [{ Id: 'hook', Arn: `http://127.0.0.1:${port}/later` }] }));
    const batch = server.client();
    await batch.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'fails', type: 'container', containerProperties: { image: 'busybox', command: ['false'] } }));
    const jobId = (await batch.send(new SubmitJobCommand({ jobName: 'late-hook', jobQueue: 'default', jobDefinition: 'fails' }))).jobId!;
    await waitForStatus(batch, jobId, 'FAILED', 60_000);
    await waitFor('a failed delivery attempt', async () => (pendingEvents(server.dataDir).deliveries[0]?.attempts ?? 0) >= 1);
    const hook = await new Webhook().start(port);
    hooks.push(hook);
    const [got] = await hook.waitFor('/later');
    await waitForAllDelivered(server.dataDir);
    assert.equal(hook.at('/later').length, 1);
    assert.equal(JSON.parse(got.body).detail.jobId, jobId);
  });

  for (const backend of ['SQLite', 'PostgreSQL'] as const) {
    test(`a webhook down while a job fails gets the event after it comes back, across a SIGKILL and restart of the server (${backend})`, async (t) => {
      let databaseUrl: string | undefined;
      if (backend === 'PostgreSQL') {
        const db = await freshPostgresDatabase('events_durable');
        if ('skip' in db) return t.skip(db.skip);
        databaseUrl = db.url;
        cleanups.push(db.drop);
      }
      const port = await freePort();
      const server = await start(undefined, databaseUrl);
      const events = () => new EventBridgeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
      await events().send(new PutRuleCommand({ Name: 'failed', EventPattern: JSON.stringify({ source: ['aws.batch'], detail: { status: ['FAILED'] } }) }));
      await events().send(new PutTargetsCommand({ Rule: 'failed', Targets: [{ Id: 'hook', Arn: `http://127.0.0.1:${port}/down` }] }));
      const batch = server.client();
      await batch.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'fails', type: 'container', containerProperties: { image: 'busybox', command: ['false'] } }));
      const jobId = (await batch.send(new SubmitJobCommand({ jobName: 'down-hook', jobQueue: 'default', jobDefinition: 'fails' }))).jobId!;
      await waitForStatus(batch, jobId, 'FAILED', 60_000);
      // The delivery was tried and failed (connection refused), and is waiting for its next try.
      const pending = await waitFor('a failed delivery attempt', async () => {
        const p = await pendingOn(server.dataDir, databaseUrl);
        return p.deliveries.length === 1 && p.deliveries[0].attempts >= 2 ? p : undefined;
      });
      assert.match(pending.deliveries[0].last_error ?? '', /ECONNREFUSED/);

      await server.kill();
      const restarted = await start(server.dataDir, databaseUrl);
      const hook = await new Webhook().start(port);
      hooks.push(hook);
      const [got] = await hook.waitFor('/down');
      await waitFor('everything delivered', async () => {
        const p = await pendingOn(restarted.dataDir, databaseUrl);
        return p.outbox === 0 && p.deliveries.length === 0;
      });
      assert.equal(hook.at('/down').length, 1, 'delivered once');
      const e = JSON.parse(got.body);
      assert.equal(e.source, 'aws.batch');
      assert.equal(e.detail.jobId, jobId);
      assert.equal(e.detail.status, 'FAILED');
    });
  }

  test('state changes captured but not yet dispatched at a SIGKILL are dispatched after the restart, once', async () => {
    const hook = await new Webhook().start();
    hooks.push(hook);
    const server = await start();
    const events = new EventBridgeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    await events.send(new PutRuleCommand({ Name: 'all', EventPattern: JSON.stringify({ source: ['aws.batch'], detail: { jobName: ['outbox-kill'] } }) }));
    await events.send(new PutTargetsCommand({ Rule: 'all', Targets: [{ Id: 'hook', Arn: hook.url('/all') }] }));
    await server.kill();
    // While the server is down, a state change is committed (as a crash right after a commit would leave it).
    const db = new Database(path.join(server.dataDir, 'openbatch.db'));
    db.prepare("INSERT INTO event_outbox (job_id, status, status_reason, time) VALUES ('no-such-job', 'FAILED', NULL, 1)").run();
    db.close();
    const restarted = await start(server.dataDir);
    const batch = restarted.client();
    await batch.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'ok', type: 'container', containerProperties: { image: 'busybox', command: ['true'] } }));
    const jobId = (await batch.send(new SubmitJobCommand({ jobName: 'outbox-kill', jobQueue: 'default', jobDefinition: 'ok' }))).jobId!;
    await waitForStatus(batch, jobId, 'SUCCEEDED', 60_000);
    await waitForAllDelivered(restarted.dataDir);
    // PENDING → RUNNABLE → STARTING → RUNNING → SUCCEEDED: one event each (the submit itself sends none).
    const statuses = hook.at('/all').map((r) => JSON.parse(r.body).detail.status);
    assert.deepEqual(statuses.slice().sort(), ['PENDING', 'RUNNABLE', 'RUNNING', 'STARTING', 'SUCCEEDED'].sort());
    // The leftover outbox row of a job that does not exist was consumed without a delivery.
    assert.equal(pendingEvents(restarted.dataDir).outbox, 0);
  });

  test('with no rule, state changes leave nothing behind', async () => {
    const server = await start();
    const batch = server.client();
    await batch.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'ok', type: 'container', containerProperties: { image: 'busybox', command: ['true'] } }));
    const jobId = (await batch.send(new SubmitJobCommand({ jobName: 'quiet', jobQueue: 'default', jobDefinition: 'ok', arrayProperties: { size: 3 } }))).jobId!;
    await waitForStatus(batch, jobId, 'SUCCEEDED', 60_000);
    const db = new Database(path.join(server.dataDir, 'openbatch.db'), { readonly: true });
    const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all();
    db.close();
    assert.deepEqual(triggers, []);
    assert.deepEqual(pendingEvents(server.dataDir), { outbox: 0, deliveries: [] });
  });
});
