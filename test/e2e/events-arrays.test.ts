// Array jobs on both stores: the store's bulk updates of children (release to RUNNABLE, cascades)
// are captured like single updates, so a rule matching every Batch event gets each child's
// changes and the parent's, once each; a FAILED-only rule gets only the failures.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { TestServer, freshPostgresDatabase, waitFor, waitForStatus } from '../helpers/server.js';
import { pendingOn, Webhook } from './events-helpers.js';

const postgres = await freshPostgresDatabase('events_arrays');
if ('skip' in postgres) process.stderr.write(`SKIPPING the PostgreSQL case of test/e2e/events-arrays.test.ts: ${postgres.skip}\n`);

for (const backend of ['SQLite', 'PostgreSQL'] as const) {
  const skip = backend === 'PostgreSQL' && 'skip' in postgres ? postgres.skip : undefined;
  describe(`events of array jobs (${backend})`, { skip }, () => {
    const url = backend === 'PostgreSQL' && !('skip' in postgres) ? postgres.url : undefined;
    let server: TestServer;
    let hook: Webhook;
    after(async () => {
      await server?.stop();
      server?.cleanup();
      await hook?.stop();
      if (backend === 'PostgreSQL' && !('skip' in postgres)) await postgres.drop();
    });

    /** Outbox rows and deliveries left, on either store. */
    async function pending(): Promise<number> {
      const p = await pendingOn(server.dataDir, url);
      return p.outbox + p.deliveries.length;
    }

    test('every change of every child and of the parent, once; FAILED-only gets the failures only', async () => {
      hook = await new Webhook().start();
      server = await new TestServer({ databaseUrl: url }).start();
      const events = new EventBridgeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
      await events.send(new PutRuleCommand({ Name: 'everything', EventPattern: JSON.stringify({ source: ['aws.batch'], 'detail-type': ['Batch Job State Change'] }) }));
      await events.send(new PutTargetsCommand({ Rule: 'everything', Targets: [{ Id: 'all', Arn: hook.url('/all') }] }));
      await events.send(new PutRuleCommand({ Name: 'failures', EventPattern: JSON.stringify({ source: ['aws.batch'], detail: { status: ['FAILED'] } }) }));
      await events.send(new PutTargetsCommand({ Rule: 'failures', Targets: [{ Id: 'failed', Arn: hook.url('/failed') }] }));

      const batch = server.client();
      await batch.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: 'odd-fails',
          type: 'container',
          containerProperties: { image: 'busybox', command: ['sh', '-c', 'exit $((AWS_BATCH_JOB_ARRAY_INDEX % 2))'], resourceRequirements: [{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '32' }] },
        }),
      );
      const parent = (await batch.send(new SubmitJobCommand({ jobName: 'arr', jobQueue: 'default', jobDefinition: 'odd-fails', arrayProperties: { size: 3 } }))).jobId!;
      // A job that depends on the array fails with it, through the cascade.
      const dependent = (await batch.send(new SubmitJobCommand({ jobName: 'after-arr', jobQueue: 'default', jobDefinition: 'odd-fails', dependsOn: [{ jobId: parent }] }))).jobId!;
      await waitForStatus(batch, parent, 'FAILED', 60_000);
      await waitForStatus(batch, dependent, 'FAILED', 60_000);
      await waitFor('everything delivered', async () => (await pending()) === 0, 30_000);

      const all = hook.at('/all').map((r) => JSON.parse(r.body));
      const by = new Map<string, string[]>();
      for (const e of all) by.set(e.detail.jobId, [...(by.get(e.detail.jobId) ?? []), e.detail.status]);
      const sorted = (id: string) => (by.get(id) ?? []).slice().sort();
      assert.deepEqual(sorted(parent), ['FAILED', 'PENDING']);
      assert.deepEqual(sorted(`${parent}:0`), ['RUNNABLE', 'RUNNING', 'STARTING', 'SUCCEEDED']);
      assert.deepEqual(sorted(`${parent}:1`), ['FAILED', 'RUNNABLE', 'RUNNING', 'STARTING']);
      assert.deepEqual(sorted(`${parent}:2`), ['RUNNABLE', 'RUNNING', 'STARTING', 'SUCCEEDED']);
      assert.deepEqual(sorted(dependent), ['FAILED', 'PENDING']);
      assert.equal(all.length, 2 + 4 * 3 + 2, 'no duplicates');
      const depFailed = all.find((e) => e.detail.jobId === dependent && e.detail.status === 'FAILED');
      assert.equal(depFailed.detail.statusReason, 'Dependent Job failed');

      const failed = hook.at('/failed').map((r) => JSON.parse(r.body).detail.jobId).sort();
      assert.deepEqual(failed, [parent, `${parent}:1`, dependent].sort());
    });
  });
}
