// An execution survives a crash of the server: SIGKILL in the middle of a `.sync` Batch task,
// start again on the same data dir, and the execution re-attaches to the running job (never
// submitting it again) and completes; its history is the one it had, continued.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListJobsCommand, RegisterJobDefinitionCommand, type BatchClient } from '@aws-sdk/client-batch';
import { freshPostgresDatabase, TestServer, waitFor, waitForStatus } from '../helpers/server.js';
import { enteredStates, history, sfn, waitForExecution } from './sfn-helpers.js';

function restartSuite(label: string, databaseUrl?: string, dropDatabase?: () => Promise<void>) {
  describe(`Step Functions: a server restart in the middle of a .sync task (${label})`, () => {
    const server = new TestServer(databaseUrl ? { databaseUrl } : {});
    let client: BatchClient;
    let work: string;

    before(async () => {
      await server.start();
      client = server.client();
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-sfn-restart-'));
      await client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: 'gated',
          type: 'container',
          containerProperties: {
            image: 'busybox',
            // Runs until the test opens the gate, so the crash lands while the task waits on it.
            command: ['sh', '-c', 'echo started >> "$WORK/runs"; while [ ! -e "$WORK/gate" ]; do sleep 0.05; done'],
            environment: [{ name: 'WORK', value: work }],
            resourceRequirements: [
              { type: 'VCPU', value: '0.25' },
              { type: 'MEMORY', value: '32' },
            ],
          },
        }),
      );
    });

    after(async () => {
      await server.kill();
      server.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
      await dropDatabase?.();
    });

    test('SIGKILL while the job runs: after the restart the execution completes and the job was submitted once', async () => {
      const definition = JSON.stringify({
        StartAt: 'Gated',
        States: {
          Gated: {
            Type: 'Task',
            Resource: 'arn:aws:states:::batch:submitJob.sync',
            Parameters: { JobName: 'gated-job', JobDefinition: 'gated', JobQueue: 'default' },
            ResultSelector: { 'status.$': '$.Status', 'id.$': '$.JobId' },
            Next: 'After',
          },
          After: { Type: 'Pass', Result: 'done', ResultPath: '$.after', End: true },
        },
      });
      const created = await sfn(server.endpoint, 'CreateStateMachine', { name: 'gated', definition, roleArn: 'arn:aws:iam::000000000000:role/r' });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const started = await sfn(server.endpoint, 'StartExecution', { stateMachineArn: created.body.stateMachineArn, name: 'survivor', input: '{"n":1}' });
      const executionArn = started.body.executionArn;
      const submitted = await waitFor('the job to be submitted', async () => (await history(server.endpoint, executionArn)).find((e) => e.type === 'TaskSubmitted'));
      const jobId = JSON.parse(submitted.taskSubmittedEventDetails.output).JobId;
      await waitForStatus(client, jobId, 'RUNNING');
      const before = await history(server.endpoint, executionArn);

      await server.kill();
      await server.start();
      client = server.client();
      // Still running, and waiting on the same job.
      const mid = await sfn(server.endpoint, 'DescribeExecution', { executionArn });
      assert.equal(mid.body.status, 'RUNNING');
      fs.writeFileSync(path.join(work, 'gate'), '');

      const done = await waitForExecution(server.endpoint, executionArn, 60_000);
      assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
      assert.deepEqual(JSON.parse(done.output), { status: 'SUCCEEDED', id: jobId, after: 'done' }); // the result replaced the input (no ResultPath)

      const jobs = await client.send(new ListJobsCommand({ jobQueue: 'default', filters: [{ name: 'JOB_NAME', values: ['gated-job'] }] }));
      assert.equal(jobs.jobSummaryList?.length, 1, 'submitted once');
      assert.equal(fs.readFileSync(path.join(work, 'runs'), 'utf8'), 'started\n', 'the job ran once');

      const events = await history(server.endpoint, executionArn);
      // The history kept what it had before the crash, and continued without duplicates.
      assert.deepEqual(events.slice(0, before.length), before);
      assert.equal(events.filter((e) => e.type === 'TaskSubmitted').length, 1);
      assert.equal(events.filter((e) => e.type === 'TaskScheduled').length, 1);
      assert.deepEqual(enteredStates(events), ['Gated', 'After']);
      assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1));
      assert.equal(events.at(-1).type, 'ExecutionSucceeded');
    });
  });
}

restartSuite('SQLite');
const pg = await freshPostgresDatabase('sfn_restart');
if ('skip' in pg) {
  process.stderr.write(`SKIPPING the PostgreSQL Step Functions restart test: ${pg.skip}\n`);
  test('Step Functions restart (PostgreSQL)', { skip: pg.skip }, () => {});
} else {
  restartSuite('PostgreSQL', pg.url, () => pg.drop());
}
