// The dispatcher and the delivery worker on a real SQLite store: captured changes become one
// delivery each (no duplicates when a second dispatcher starts on the same store), retries stop
// at the target's RetryPolicy, refused deliveries are dropped, concurrency is bounded, commands
// run only while the notifications file lists them, and topics can be published to.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, test } from 'node:test';
import type { EventTarget } from '../../src/core/events.js';
import { EventDispatcher, onStoreCommit, type EventDispatcherOptions } from '../../src/server/event-dispatcher.js';
import { Notifications } from '../../src/server/notifications.js';
import { syncJobEventCapture } from '../../src/service/events.js';
import { openStore } from '../../src/store/sql-store.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../helpers/server.js';
import { makeJob } from '../store/store-suite.js';
import { Webhook } from '../e2e/events-helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-dispatcher-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let n = 0;
async function setup(o: { options?: Partial<EventDispatcherOptions>; notifications?: Notifications; clock?: () => number; file?: string } = {}) {
  const file = o.file ?? path.join(tmp, `s${++n}.db`);
  const store = await openStore({ kind: 'sqlite', path: file });
  const described: string[][] = [];
  const dispatcher = new EventDispatcher({
    store,
    log: quiet,
    notifications: o.notifications ?? Notifications.none(),
    region: 'us-east-1',
    accountId: '000000000000',
    newUuid: () => `uuid-${Math.random()}`,
    jobArn: (id) => `arn:aws:batch:us-east-1:000000000000:job/${id}`,
    describeJobs: async (ids) => {
      described.push([...ids]);
      return new Map(ids.map((id) => [id, { jobId: id, jobName: 'n', status: 'SUCCEEDED', statusReason: 'now' }]));
    },
    clock: o.clock,
    options: { retryBaseMs: 10, retryMaxMs: 20, ...o.options },
  });
  onStoreCommit(store, () => dispatcher.committed());
  cleanups.push(async () => {
    await dispatcher.close();
    await store.close();
  });
  return { store, dispatcher, described, file };
}

async function addRule(store: Store, name: string, pattern: object, targets: EventTarget[]) {
  await store.transaction(async (tx) => {
    await tx.putEventRule({ name, arn: `arn:aws:events:us-east-1:000000000000:rule/${name}`, state: 'ENABLED', eventPattern: JSON.stringify(pattern), createdAt: 0 });
    await tx.putEventTargets(name, targets, 0);
    await syncJobEventCapture(tx);
  });
}

async function drained(store: Store) {
  await waitFor('no outbox rows or deliveries left', async () => (await store.readEventOutbox(1)).length === 0 && (await store.nextEventDeliveryAt()) === undefined);
}

test('a captured state change is delivered once, as of that change; a second dispatcher on the same store sends nothing again', async () => {
  const hook = await new Webhook().start();
  cleanups.push(() => hook.stop());
  const { store, dispatcher, described, file } = await setup();
  await addRule(store, 'failed', { detail: { status: ['FAILED'] } }, [{ Id: 'h', Arn: hook.url('/h') }]);
  await dispatcher.start();
  await store.transaction((tx) => tx.insertJobs([makeJob({ id: 'd1', status: 'RUNNING' }), makeJob({ id: 'd2', status: 'RUNNING' })]));
  await store.transaction(async (tx) => {
    await tx.updateJob({ jobId: 'd1', from: ['RUNNING'], set: { status: 'FAILED', statusReason: 'exit 1' } });
    await tx.updateJob({ jobId: 'd2', from: ['RUNNING'], set: { status: 'SUCCEEDED' } });
  });
  await hook.waitFor('/h');
  await drained(store);
  assert.equal(hook.at('/h').length, 1);
  const e = JSON.parse(hook.at('/h')[0].body);
  // The job is described as it is now (SUCCEEDED in this fake), with status and reason as of the change.
  assert.deepEqual(e.detail, { jobId: 'd1', jobName: 'n', status: 'FAILED', statusReason: 'exit 1' });
  assert.deepEqual(e.resources, ['arn:aws:batch:us-east-1:000000000000:job/d1']);
  assert.deepEqual(described, [['d1']], 'one batched lookup');
  assert.equal(hook.received[0].headers['x-openbatch-rule'], 'failed');

  // A restart: a new dispatcher on the same database finds nothing left to send.
  const second = await setup({ file });
  await second.dispatcher.start();
  await drained(second.store);
  assert.equal(hook.at('/h').length, 1);
});

test('retries stop at MaximumRetryAttempts; a refused (4xx) delivery is not retried; an event older than MaximumEventAgeInSeconds is dropped', async () => {
  const hook = await new Webhook().start();
  hook.status = 503;
  cleanups.push(() => hook.stop());
  let now = 1_000_000;
  const { store, dispatcher } = await setup({ clock: () => now });
  await dispatcher.start();
  await store.transaction((tx) =>
    tx.insertEventDeliveries([
      { ruleName: 'r', targetId: 'retry', endpoint: { kind: 'http', url: hook.url('/retry') }, body: '{}', eventTime: now, nextAttemptAt: now, maxRetries: 2, maxAgeMs: 86_400_000 },
    ]),
  );
  dispatcher.deliveriesAdded();
  // The clock moves on only when asked, so each retry is due once the previous attempt is recorded.
  const tick = setInterval(() => (now += 50), 5);
  cleanups.push(async () => clearInterval(tick));
  await drained(store);
  assert.equal(hook.at('/retry').length, 3, 'the first try and 2 retries');

  hook.status = 400;
  await store.transaction((tx) =>
    tx.insertEventDeliveries([
      { ruleName: 'r', targetId: 'refused', endpoint: { kind: 'http', url: hook.url('/refused') }, body: '{}', eventTime: now, nextAttemptAt: now, maxRetries: 185, maxAgeMs: 86_400_000 },
    ]),
  );
  dispatcher.deliveriesAdded();
  await drained(store);
  assert.equal(hook.at('/refused').length, 1);

  hook.status = 500;
  await store.transaction((tx) =>
    tx.insertEventDeliveries([
      { ruleName: 'r', targetId: 'old', endpoint: { kind: 'http', url: hook.url('/old') }, body: '{}', eventTime: now - 59_990, nextAttemptAt: now, maxRetries: 185, maxAgeMs: 60_000 },
    ]),
  );
  dispatcher.deliveriesAdded();
  await drained(store);
  assert.equal(hook.at('/old').length, 1, 'no retry past the event age limit');
});

test('at most `concurrency` deliveries are in flight at once', async () => {
  let inFlight = 0;
  let most = 0;
  let done = 0;
  const slow = http.createServer((req, res) => {
    inFlight++;
    most = Math.max(most, inFlight);
    req.resume();
    setTimeout(() => {
      inFlight--;
      done++;
      res.end('ok');
    }, 30);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  cleanups.push(async () => void (await new Promise((r) => slow.close(r))));
  const url = `http://127.0.0.1:${(slow.address() as { port: number }).port}/`;
  const { store, dispatcher } = await setup({ options: { concurrency: 2 } });
  await dispatcher.start();
  await store.transaction((tx) =>
    tx.insertEventDeliveries(
      Array.from({ length: 7 }, (_, i) => ({ ruleName: 'r', targetId: `t${i}`, endpoint: { kind: 'http' as const, url }, body: '{}', eventTime: Date.now(), nextAttemptAt: 0, maxRetries: 0, maxAgeMs: 60_000 })),
    ),
  );
  dispatcher.deliveriesAdded();
  await drained(store);
  assert.equal(done, 7);
  assert.equal(most, 2);
});

test('topics: publish reaches the topic\'s webhooks and commands; a command no longer in the notifications file does not run', async () => {
  const hook = await new Webhook().start();
  cleanups.push(() => hook.stop());
  const out = path.join(tmp, 'published.txt');
  const stray = path.join(tmp, 'stray.txt');
  const notifications = Notifications.parse(
    JSON.stringify({ topics: { alerts: { webhooks: [hook.url('/alerts')], commands: [['/bin/sh', '-c', 'cat > "$1"; echo "$OPENBATCH_TOPIC_ARN ${OPENBATCH_CREDENTIALS:-no-credentials}" >> "$1"', 'sh', out]] } } }),
  );
  const { store, dispatcher } = await setup({ notifications });
  // The server's own secrets never reach a command.
  process.env.OPENBATCH_CREDENTIALS = 'KEY:SECRET';
  cleanups.push(async () => void delete process.env.OPENBATCH_CREDENTIALS);
  await dispatcher.start();
  assert.equal(await dispatcher.publish('arn:aws:sns:us-east-1:123456789012:alerts', '"hello"', { source: 'test' }), 2);
  assert.equal(await dispatcher.publish('arn:aws:sns:us-east-1:123456789012:nobody', '"x"', { source: 'test' }), 0);
  await store.transaction((tx) =>
    tx.insertEventDeliveries([
      {
        ruleName: 'r',
        targetId: 't',
        endpoint: { kind: 'command', topicArn: 'arn:aws:sns:us-east-1:123456789012:alerts', command: ['/bin/sh', '-c', `touch ${stray}`] },
        body: '{}',
        eventTime: Date.now(),
        nextAttemptAt: 0,
        maxRetries: 185,
        maxAgeMs: 60_000,
      },
    ]),
  );
  dispatcher.deliveriesAdded();
  await drained(store);
  assert.deepEqual(hook.at('/alerts').map((r) => r.body), ['"hello"']);
  assert.equal(fs.readFileSync(out, 'utf8'), '"hello"arn:aws:sns:us-east-1:123456789012:alerts no-credentials\n');
  assert.equal(fs.existsSync(stray), false, 'a command not in the notifications file never runs');
});

test('the notifications file is checked: bad entries are refused with the topic named', () => {
  assert.throws(() => Notifications.parse('{"topics":{"t":{"commands":["echo hi"]}}}'), /topic t: commands must be a list of argument lists/);
  assert.throws(() => Notifications.parse('{"topics":{"t":{"webhooks":["ftp://x"]}}}'), /topic t: webhooks must be a list of http/);
  assert.throws(() => Notifications.parse('{"topics":{"t":{"webhook":[]}}}'), /topic t: expected/);
  assert.throws(() => Notifications.parse('{"topic":{}}'), /expected \{"topics"/);
  assert.throws(() => Notifications.parse('nope'), /not valid JSON/);
  const n = Notifications.parse('{"topics":{"a":{"webhooks":["http://h/"]},"arn:aws:sns:eu-west-1:123456789012:a":{"commands":[["true"]]}}}');
  assert.deepEqual(n.endpoints('arn:aws:sns:us-east-1:000000000000:a'), [{ kind: 'http', url: 'http://h/' }]);
  assert.deepEqual(n.endpoints('arn:aws:sns:eu-west-1:123456789012:a'), [{ kind: 'command', topicArn: 'arn:aws:sns:eu-west-1:123456789012:a', command: ['true'] }]);
  assert.deepEqual(n.endpoints('arn:aws:sns:us-east-1:000000000000:b'), []);
});
