// The store's EventBridge part on SQLite and PostgreSQL: rules and targets round-trip, the capture
// trigger writes an outbox row for exactly the status changes it was installed for (single and
// bulk updates, in the changing transaction), and deliveries move through their retries.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EventRule } from '../../src/core/events.js';
import { openStore } from '../../src/store/sql-store.js';
import type { Store } from '../../src/store/store.js';
import { freshPostgresDatabase } from '../helpers/server.js';
import { makeJob } from './store-suite.js';

const rule = (name: string, state: EventRule['state'] = 'ENABLED'): EventRule => ({
  name,
  arn: `arn:aws:events:us-east-1:000000000000:rule/${name}`,
  state,
  eventPattern: '{"source":["aws.batch"]}',
  createdAt: 1,
});

function suite(name: string, open: () => Promise<Store>, cleanup: () => Promise<void>) {
  describe(`events store: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
      await cleanup();
    });

    test('rules and targets round-trip; PutRule and PutTargets replace by name and Id', async () => {
      await store.transaction(async (tx) => {
        await tx.putEventRule(rule('b'));
        await tx.putEventRule(rule('a'));
        await tx.putEventRule({ ...rule('a', 'DISABLED'), description: 'second' });
        await tx.putEventTargets('a', [{ Id: 't1', Arn: 'http://127.0.0.1:1/' }, { Id: 't2', Arn: 'http://127.0.0.1:2/' }], 10);
        await tx.putEventTargets('a', [{ Id: 't1', Arn: 'http://127.0.0.1:3/', Input: '"x"' }], 11);
        await tx.putEventTargets('b', [{ Id: 't1', Arn: 'http://127.0.0.1:4/' }], 12);
      });
      const rules = await store.loadEventRules();
      assert.deepEqual(
        rules.map((r) => [r.name, r.state, r.description]),
        [
          ['a', 'DISABLED', 'second'],
          ['b', 'ENABLED', undefined],
        ],
      );
      assert.deepEqual(
        (await store.loadEventTargets('a')).map((t) => t.target),
        [
          { Id: 't1', Arn: 'http://127.0.0.1:3/', Input: '"x"' },
          { Id: 't2', Arn: 'http://127.0.0.1:2/' },
        ],
      );
      assert.equal((await store.loadEventTargets()).length, 3);
      await store.transaction(async (tx) => {
        await tx.deleteEventTargets('a', ['t1', 't2', 'nope']);
        await tx.deleteEventRule('a');
      });
      assert.deepEqual((await store.loadEventRules()).map((r) => r.name), ['b']);
      assert.deepEqual((await store.loadEventTargets('a')).length, 0);
    });

    test('no trigger, no outbox rows; a FAILED-only trigger captures failures only, bulk updates included', async () => {
      const parent = makeJob({ id: 'ev-parent', status: 'PENDING' });
      const solo = makeJob({ id: 'ev-solo', status: 'RUNNABLE' });
      const children = [0, 1, 2].map((i) => ({ ...makeJob({ id: `ev-parent:${i}`, status: 'RUNNABLE' }), arrayParentId: 'ev-parent', arrayIndex: i }));
      await store.transaction(async (tx) => {
        await tx.syncJobEventCapture([]);
        await tx.insertJobs([parent, solo, ...children]);
        await tx.updateJob({ jobId: 'ev-solo', from: ['RUNNABLE'], set: { status: 'STARTING' } });
      });
      assert.deepEqual(await store.jobEventCapture(), []);
      assert.deepEqual(await store.readEventOutbox(100), []);

      const before = Date.now();
      await store.transaction((tx) => tx.syncJobEventCapture(['FAILED']));
      assert.deepEqual(await store.jobEventCapture(), ['FAILED']);
      await store.transaction(async (tx) => {
        await tx.updateJob({ jobId: 'ev-solo', from: ['STARTING'], set: { status: 'RUNNING' } });
        await tx.updateJob({ jobId: 'ev-solo', from: ['RUNNING'], set: { status: 'FAILED', statusReason: 'Essential container in task exited' } });
        await tx.updateArrayChildren('ev-parent', ['RUNNABLE'], { status: 'FAILED', statusReason: 'Dependent Job failed' });
      });
      // A transaction that rolls back leaves no row either.
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.updateJob({ jobId: 'ev-parent', from: ['PENDING'], set: { status: 'FAILED' } });
          throw new Error('rollback');
        }),
      );
      const rows = await store.readEventOutbox(100);
      assert.deepEqual(
        rows.map((r) => [r.jobId, r.status, r.statusReason]),
        [
          ['ev-solo', 'FAILED', 'Essential container in task exited'],
          ['ev-parent:0', 'FAILED', 'Dependent Job failed'],
          ['ev-parent:1', 'FAILED', 'Dependent Job failed'],
          ['ev-parent:2', 'FAILED', 'Dependent Job failed'],
        ],
      );
      for (const r of rows) assert.ok(r.time >= before - 2000 && r.time <= Date.now() + 2000, `time ${r.time}`);
      assert.ok(rows.every((r, i) => i === 0 || r.id > rows[i - 1].id), 'ids in commit order');

      // 'all' captures every change of status, and a write that keeps the status is not one.
      await store.transaction(async (tx) => {
        await tx.syncJobEventCapture('all');
        await tx.deleteEventOutbox(rows.map((r) => r.id));
      });
      assert.equal(await store.jobEventCapture(), 'all');
      await store.transaction(async (tx) => {
        await tx.insertJobs([makeJob({ id: 'ev-new', status: 'SUBMITTED' })]);
        await tx.updateJob({ jobId: 'ev-parent', from: ['PENDING'], set: { status: 'RUNNABLE' } });
        await tx.updateJob({ jobId: 'ev-parent', from: ['RUNNABLE'], set: { status: 'RUNNABLE', statusReason: 'same status' } });
        // SUBMITTED → RUNNABLE in one update passes PENDING: two changes, PENDING first.
        await tx.updateJob({ jobId: 'ev-new', from: ['SUBMITTED'], set: { status: 'RUNNABLE' } });
      });
      assert.deepEqual(
        (await store.readEventOutbox(100)).map((r) => [r.jobId, r.status]),
        [
          ['ev-parent', 'RUNNABLE'],
          ['ev-new', 'PENDING'],
          ['ev-new', 'RUNNABLE'],
        ],
      );
      // STARTING → SUCCEEDED of an attempt that ran (startedAt set) passes RUNNING; one that never started does not.
      await store.transaction(async (tx) => {
        await tx.deleteEventOutbox((await tx.readEventOutbox(100)).map((r) => r.id));
        await tx.insertJobs([makeJob({ id: 'ev-ran', status: 'STARTING' }), makeJob({ id: 'ev-never', status: 'STARTING' })]);
        await tx.updateJob({ jobId: 'ev-ran', from: ['STARTING'], set: { status: 'SUCCEEDED', startedAt: 5, stoppedAt: 6 } });
        await tx.updateJob({ jobId: 'ev-never', from: ['STARTING'], set: { status: 'FAILED', statusReason: 'Task failed to start' } });
      });
      assert.deepEqual(
        (await store.readEventOutbox(100)).map((r) => [r.jobId, r.status, r.statusReason]),
        [
          ['ev-ran', 'RUNNING', undefined],
          ['ev-ran', 'SUCCEEDED', undefined],
          ['ev-never', 'FAILED', 'Task failed to start'],
        ],
      );
      // Capturing PENDING only: the passed-through PENDING, not the RUNNABLE.
      await store.transaction(async (tx) => {
        await tx.deleteEventOutbox((await tx.readEventOutbox(100)).map((r) => r.id));
        await tx.syncJobEventCapture(['PENDING']);
        await tx.insertJobs([makeJob({ id: 'ev-new2', status: 'SUBMITTED' })]);
        await tx.updateJob({ jobId: 'ev-new2', from: ['SUBMITTED'], set: { status: 'RUNNABLE' } });
      });
      assert.deepEqual((await store.readEventOutbox(100)).map((r) => [r.jobId, r.status]), [['ev-new2', 'PENDING']]);

      // Dropped again: nothing more.
      await store.transaction(async (tx) => {
        await tx.syncJobEventCapture([]);
        await tx.deleteEventOutbox((await tx.readEventOutbox(100)).map((r) => r.id));
        await tx.updateJob({ jobId: 'ev-parent', from: ['RUNNABLE'], set: { status: 'FAILED' } });
      });
      assert.deepEqual(await store.readEventOutbox(100), []);
      assert.deepEqual(await store.jobEventCapture(), []);
    });

    test('deliveries: due ones first, retries rescheduled, delivered ones gone', async () => {
      await store.transaction((tx) =>
        tx.insertEventDeliveries([
          { ruleName: 'r', targetId: 't', endpoint: { kind: 'http', url: 'http://127.0.0.1:9/' }, body: '{"a":1}', eventTime: 1, nextAttemptAt: 100, maxRetries: 185, maxAgeMs: 86_400_000 },
          { ruleName: 'r', targetId: 't', endpoint: { kind: 'command', topicArn: 'arn:aws:sns:us-east-1:000000000000:t', command: ['cat'] }, body: 'b', eventTime: 2, nextAttemptAt: 50, maxRetries: 3, maxAgeMs: 60_000 },
          { ruleName: 'r', targetId: 't', endpoint: { kind: 'http', url: 'http://127.0.0.1:9/' }, body: 'c', eventTime: 3, nextAttemptAt: 500, maxRetries: 185, maxAgeMs: 86_400_000 },
        ]),
      );
      const due = await store.dueEventDeliveries(100, 10);
      assert.deepEqual(due.map((d) => d.body), ['b', '{"a":1}']);
      assert.deepEqual(due[0].endpoint, { kind: 'command', topicArn: 'arn:aws:sns:us-east-1:000000000000:t', command: ['cat'] });
      assert.equal(due[0].attempts, 0);
      assert.equal(await store.nextEventDeliveryAt(), 50);
      await store.transaction(async (tx) => {
        await tx.retryEventDelivery(due[0].id, 1, 700, 'exit 1');
        await tx.deleteEventDeliveries([due[1].id]);
      });
      assert.equal(await store.nextEventDeliveryAt(), 500);
      const later = await store.dueEventDeliveries(1000, 10);
      assert.deepEqual(later.map((d) => [d.body, d.attempts, d.lastError]), [['c', 0, undefined], ['b', 1, 'exit 1']]);
      await store.transaction(async (tx) => {
        await tx.deleteEventDeliveries(later.map((d) => d.id));
      });
      assert.equal(await store.nextEventDeliveryAt(), undefined);
    });
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-events-store-'));
suite('SQLite', () => openStore({ kind: 'sqlite', path: path.join(dir, 'openbatch.db') }), async () => fs.rmSync(dir, { recursive: true, force: true }));

const pg = await freshPostgresDatabase('events');
if ('skip' in pg) {
  process.stderr.write(`SKIPPING the PostgreSQL events store suite: ${pg.skip}\n`);
  test('events store: PostgreSQL', { skip: pg.skip }, () => {});
} else {
  suite('PostgreSQL', () => openStore({ kind: 'postgres', url: pg.url }), () => pg.drop());
}
