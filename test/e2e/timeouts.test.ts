// Attempt timeouts end to end (AWS Batch reference §6). AWS's smallest attemptDurationSeconds is
// 60, so THIS FILE TAKES OVER A MINUTE ON PURPOSE: one job really runs into its timeout. (That
// each child of an array times out on its own is not tested here: it would cost another minute.)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitForStatus } from '../helpers/server.js';
import { assertAttempt } from './job-model-helpers.js';
import { createComputeEnvironmentAndQueue, describeJobs, expectClientError, registerDefinition, submit, useServer } from './sdk-helpers.js';

const Q = 'to-q';
const TIMED_OUT = 'Job attempt duration exceeded timeout';

const env = useServer(async ({ client }) => {
  await createComputeEnvironmentAndQueue(client, 'to-ce', 4, { queueName: Q });
  await registerDefinition(client, 'to-sleep', ['sleep', '600'], { timeout: { attemptDurationSeconds: 60 }, retryStrategy: { attempts: 2 } });
  await registerDefinition(client, 'to-quick', ['true'], { timeout: { attemptDurationSeconds: 120 } });
});

describe('attempt timeouts', () => {
  test('the timeout given to SubmitJob beats the job definition\'s', async () => {
    const plain = await submit(env.client, { jobName: 'to-def', jobQueue: Q, jobDefinition: 'to-quick' });
    const overridden = await submit(env.client, { jobName: 'to-override', jobQueue: Q, jobDefinition: 'to-quick', timeout: { attemptDurationSeconds: 90 } });
    const [jp, jo] = [await waitForStatus(env.client, plain, 'SUCCEEDED'), await waitForStatus(env.client, overridden, 'SUCCEEDED')];
    assert.deepEqual(jp.timeout, { attemptDurationSeconds: 120 });
    assert.deepEqual(jo.timeout, { attemptDurationSeconds: 90 });
    await expectClientError(
      submit(env.client, { jobName: 'to-short', jobQueue: Q, jobDefinition: 'to-quick', timeout: { attemptDurationSeconds: 59 } }),
      /^Invalid value for parameter timeout\.attemptDurationSeconds: 59/,
    );
  });

  test('sleep 600 with attemptDurationSeconds 60 and attempts 2: FAILED after ~60 s, Job attempt duration exceeded timeout, exit 143, not retried', async () => {
    const id = await submit(env.client, { jobName: 'to-sleep', jobQueue: Q, jobDefinition: 'to-sleep' });
    const running = await waitForStatus(env.client, id, 'RUNNING');
    assert.deepEqual(running.timeout, { attemptDurationSeconds: 60 });
    const j = await waitForStatus(env.client, id, ['SUCCEEDED', 'FAILED'], 90_000);
    assert.equal(j.status, 'FAILED');
    assert.equal(j.statusReason, TIMED_OUT);
    assert.deepEqual(j.retryStrategy, { attempts: 2 });
    assert.equal(j.attempts?.length, 1, 'a timed-out attempt is not retried');
    assertAttempt(j.attempts![0], { exitCode: 143, statusReason: TIMED_OUT });
    assert.equal(j.container?.exitCode, 143);
    assert.equal(j.isTerminated, undefined);
    assert.equal(j.isCancelled, undefined);
    const ran = j.stoppedAt! - j.startedAt!;
    assert.ok(ran >= 60_000 && ran < 70_000, `the attempt ran ${ran} ms`);
    assert.equal((await describeJobs(env.client, [id]))[0].attempts?.length, 1);
  });
});
