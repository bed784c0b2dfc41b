// Queue jobStateTimeLimitActions end to end (AWS Batch reference §10): a RUNNABLE job at the head
// of its queue whose statusReason names an action's reason is cancelled once it has been RUNNABLE
// for maxTimeSeconds (at least 600). Ten minutes are not waited for: the server runs in this
// process with a clock the test shifts (ServerConfig.clock), and the test then asks the runtime
// for a scheduling cycle.
//
// How long a job has waited is counted, in OpenBatch, from when it became RUNNABLE (not from
// when it reached the head of the queue): a job submitted along with the head is cancelled in the
// same round as the head, the cycle after it; one submitted later waits its own maxTimeSeconds.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateJobQueueCommand, type BatchClient } from '@aws-sdk/client-batch';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { batchClient, killProcessesUnder, waitFor, waitForStatus } from '../helpers/server.js';
import { Gate, GATE_WAIT } from './job-model-helpers.js';
import { createComputeEnvironmentAndQueue, describeJobs, registerDefinition, submit, waitForReason } from './sdk-helpers.js';

const MAX_RESOURCE = 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE';
const CANCELLED = `Canceled by JobStateTimeLimit action due to reason: ${MAX_RESOURCE}`;
const ACTIONS = [{ reason: MAX_RESOURCE, state: 'RUNNABLE' as const, maxTimeSeconds: 600, action: 'CANCEL' as const }];

let offset = 0;
let dir: string;
let server: RunningServer;
let client: BatchClient;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-time-limits-'));
  server = await startServer({ port: 0, dataDir: path.join(dir, 'data'), clock: () => Date.now() + offset, logLevel: 'warn' });
  client = batchClient(server.url);
  // tl-ce has 2 vCPUs: a 4-vCPU job can never run there (MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE).
  await createComputeEnvironmentAndQueue(client, 'tl-ce', 2, { queueName: 'tl-base-q' });
  await client.send(new CreateJobQueueCommand({ jobQueueName: 'tl-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'tl-ce' }], jobStateTimeLimitActions: ACTIONS }));
  // tl-busy has 1 vCPU, kept busy: its queue's head waits for capacity (CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY).
  await createComputeEnvironmentAndQueue(client, 'tl-busy', 1, { queueName: 'tl-busy-base-q' });
  await client.send(new CreateJobQueueCommand({ jobQueueName: 'tl-busy-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'tl-busy' }], jobStateTimeLimitActions: ACTIONS }));
  await registerDefinition(client, 'tl-sh', [], {
    containerProperties: { image: 'busybox', command: ['sh', '-c', 'eval "$SCRIPT"'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '16' }] },
  });
});

after(async () => {
  client?.destroy();
  await server?.close();
  if (dir) {
    killProcessesUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function job(jobName: string, queue: string, vcpus: string, script = 'true', extraEnv: { name: string; value: string }[] = []): Promise<string> {
  return submit(client, {
    jobName,
    jobQueue: queue,
    jobDefinition: 'tl-sh',
    containerOverrides: { environment: [{ name: 'SCRIPT', value: script }, ...extraEnv], resourceRequirements: [{ type: 'VCPU', value: vcpus }] },
  });
}

/**
 * Moves the scheduler's clock to `seconds` past the start and runs a scheduling cycle; resolves
 * once a cycle has completed after the call (the server is otherwise idle here: every job waits).
 */
async function shiftTo(seconds: number): Promise<void> {
  offset = seconds * 1000;
  const previous = server.runtime.lastCycle;
  server.runtime.schedule();
  await waitFor('a scheduling cycle', async () => server.runtime.lastCycle !== previous);
}

const status = async (id: string) => (await describeJobs(client, [id]))[0];

describe('jobStateTimeLimitActions', () => {
  test('a head job RUNNABLE with the action\'s reason is cancelled after maxTimeSeconds; the next head after its own time; other reasons never', async () => {
    // Not matching: a job waiting for capacity behind a running one.
    const gate = new Gate(dir, 'busy');
    const blocker = await job('tl-blocker', 'tl-busy-q', '1', GATE_WAIT, [gate.env]);
    await waitForStatus(client, blocker, 'RUNNING');
    const capacity = await job('tl-capacity', 'tl-busy-q', '1');
    await waitForReason(client, capacity, (r) => r.startsWith('CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY'), 'a CAPACITY reason');

    // Matching: two jobs too big for tl-ce at t=0, a third at t=300 s.
    const first = await job('tl-first', 'tl-q', '4');
    const second = await job('tl-second', 'tl-q', '4');
    const w1 = await waitForReason(client, first, (r) => r.startsWith(MAX_RESOURCE), MAX_RESOURCE);
    assert.equal(w1.status, 'RUNNABLE');
    await shiftTo(300);
    const third = await job('tl-third', 'tl-q', '4');
    await waitForStatus(client, third, 'RUNNABLE');
    await shiftTo(300);
    for (const id of [first, second, third]) assert.equal((await status(id)).status, 'RUNNABLE', 'nothing is due at 300 s');

    // 601 s: the head has been RUNNABLE longer than 600 s: cancelled. So has the job submitted
    // with it, which is the head once the first is gone. The third has waited 301 s.
    await shiftTo(601);
    const j1 = await waitForStatus(client, first, 'FAILED');
    assert.equal(j1.statusReason, CANCELLED);
    assert.equal(j1.isCancelled, true);
    assert.deepEqual(j1.attempts, []);
    assert.equal(j1.startedAt, undefined);
    assert.equal(typeof j1.stoppedAt, 'number');
    assert.ok(j1.stoppedAt! - j1.createdAt! >= 600_000, 'stopped (on the shifted clock) at least 600 s after it was created');
    const j2 = await waitForStatus(client, second, 'FAILED');
    assert.equal(j2.statusReason, CANCELLED);
    assert.equal(j2.isCancelled, true);
    await shiftTo(601);
    const w3 = await status(third);
    assert.equal(w3.status, 'RUNNABLE', 'the third job has not waited 600 s yet');
    assert.ok(w3.statusReason?.startsWith(MAX_RESOURCE));

    // 899 s: still not; 901 s: the third has waited 601 s.
    await shiftTo(899);
    assert.equal((await status(third)).status, 'RUNNABLE');
    await shiftTo(901);
    const j3 = await waitForStatus(client, third, 'FAILED');
    assert.equal(j3.statusReason, CANCELLED);
    assert.equal(j3.isCancelled, true);

    // A day later the capacity-starved job is still waiting: its reason names no action.
    await shiftTo(86_400);
    const c = await status(capacity);
    assert.equal(c.status, 'RUNNABLE');
    assert.ok(c.statusReason?.startsWith('CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY'));
    gate.open();
    await waitForStatus(client, blocker, 'SUCCEEDED');
    const ran = await waitForStatus(client, capacity, 'SUCCEEDED');
    assert.equal(ran.isCancelled, undefined);
  });
});
