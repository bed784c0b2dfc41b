// Spot first, On-Demand when Spot is full (the seed guide's cost advice), and desiredvCpus
// following demand between minvCpus and maxvCpus, as AWS's managed scaling reports it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeComputeEnvironmentsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  type BatchClient,
} from '@aws-sdk/client-batch';
import { TestServer, waitFor, waitForStatus } from '../helpers/server.js';
import { Gate, GATE_WAIT } from './job-model-helpers.js';

describe('compute environments in order, and managed scaling', () => {
  const server = new TestServer();
  let client: BatchClient;
  let dir: string;

  before(async () => {
    await server.start();
    client = server.client();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-capacity-'));
    const ce = (name: string, type: 'SPOT' | 'EC2', maxvCpus: number, minvCpus = 0) =>
      client.send(
        new CreateComputeEnvironmentCommand({
          computeEnvironmentName: name,
          type: 'MANAGED',
          computeResources: { type, minvCpus, maxvCpus, desiredvCpus: minvCpus, subnets: [], securityGroupIds: [], instanceTypes: ['optimal'] },
        }),
      );
    await ce('spot', 'SPOT', 2);
    await ce('on-demand', 'EC2', 8, 1);
    await client.send(
      new CreateJobQueueCommand({
        jobQueueName: 'smart-cost-queue',
        priority: 10,
        computeEnvironmentOrder: [
          { order: 1, computeEnvironment: 'spot' },
          { order: 2, computeEnvironment: 'on-demand' },
        ],
      }),
    );
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'held',
        type: 'container',
        containerProperties: {
          command: ['sh', '-c', `echo "$AWS_BATCH_CE_NAME"; ${GATE_WAIT}`],
          resourceRequirements: [
            { type: 'VCPU', value: '1' },
            { type: 'MEMORY', value: '64' },
          ],
        },
      }),
    );
  });
  after(async () => {
    await server.kill();
    server.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const desired = async (name: string) =>
    (await client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [name] }))).computeEnvironments![0].computeResources!.desiredvCpus;

  test('jobs fill the Spot compute environment first and spill over to On-Demand; desiredvCpus follows', async () => {
    assert.equal(await desired('spot'), 0, 'idle: minvCpus');
    assert.equal(await desired('on-demand'), 1, 'idle: minvCpus');
    const gate = new Gate(dir, 'capacity');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { jobId } = await client.send(
        new SubmitJobCommand({
          jobName: `held-${i}`,
          jobQueue: 'smart-cost-queue',
          jobDefinition: 'held',
          containerOverrides: { environment: [{ name: 'GATE', value: gate.path }] },
        }),
      );
      ids.push(jobId!);
    }
    const running = [];
    for (const id of ids) running.push(await waitForStatus(client, id, 'RUNNING'));
    const placedOn = running.map((j) => /container-instance\/([^_]+)_Batch_/.exec(j.container?.containerInstanceArn ?? '')?.[1]);
    assert.deepEqual(placedOn, ['spot', 'spot', 'on-demand', 'on-demand'], 'the first two fit on Spot (2 vCPUs), the rest go On-Demand');
    assert.equal(await desired('spot'), 2);
    assert.equal(await desired('on-demand'), 2);

    gate.open();
    for (const id of ids) assert.equal((await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
    const logs = await Promise.all(ids.map(async (id) => (await fetch(`${server.endpoint}/openbatch/v1/jobs/${id}/logs`)).text()));
    assert.deepEqual(logs, ['spot\n', 'spot\n', 'on-demand\n', 'on-demand\n'], 'AWS_BATCH_CE_NAME names where each ran');
    // Back to minvCpus once idle: the seed's scale-to-zero advice.
    await waitFor('desiredvCpus back to minvCpus', async () => (await desired('spot')) === 0 && (await desired('on-demand')) === 1);
  });
});
