// MPI for real: a 3-node multi-node parallel job runs examples/mpi/mpi-hello.sh; the main node
// builds a hostfile from the addresses its workers report and runs mpirun (Debian's openmpi-bin)
// across the nodes' slots on this host. Skipped, saying so, where mpirun is not installed.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CreateComputeEnvironmentCommand, CreateJobQueueCommand, RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { ROOT, waitForStatus } from '../helpers/server.js';
import { jobLogs, useServer } from './sdk-helpers.js';

const SCRIPT = path.join(ROOT, 'examples', 'mpi', 'mpi-hello.sh');
const haveMpirun = spawnSync('sh', ['-c', 'command -v mpirun'], { encoding: 'utf8' }).status === 0;
const SMALL = [
  { type: 'VCPU' as const, value: '1' },
  { type: 'MEMORY' as const, value: '64' },
];

describe('MPI hello world across the nodes of a multi-node parallel job', { skip: haveMpirun ? false : 'mpirun is not installed (apt-get install -y openmpi-bin)' }, () => {
  const env = useServer(async ({ client }) => {
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'mpi-ce',
        type: 'MANAGED',
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 3, subnets: [], securityGroupIds: [], instanceTypes: ['optimal'] },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'mpi-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'mpi-ce' }] }));
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'mpi-hello',
        type: 'multinode',
        nodeProperties: {
          numNodes: 3,
          mainNode: 0,
          nodeRangeProperties: [{ targetNodes: '0:', container: { image: 'busybox', command: ['sh', SCRIPT], resourceRequirements: SMALL } }],
        },
      }),
    );
  });

  test('3 nodes, one mpirun, 3 ranks; the job SUCCEEDS', async () => {
    const shared = fs.mkdtempSync(path.join(env.tmp, 'mpi-'));
    const id = (
      await env.client.send(
        new SubmitJobCommand({
          jobName: 'mpi-hello',
          jobQueue: 'mpi-q',
          jobDefinition: 'mpi-hello',
          nodeOverrides: { nodePropertyOverrides: [{ targetNodes: '0:', containerOverrides: { environment: [{ name: 'MPI_SHARED_DIR', value: shared }] } }] },
        }),
      )
    ).jobId!;
    const job = await waitForStatus(env.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    const { text } = await jobLogs(env.endpoint, encodeURIComponent(`${id}#0`));
    assert.equal(job.status, 'SUCCEEDED', text);
    assert.match(text, /127\.0\.0\.1 slots=3/, 'the hostfile lists the nodes');
    const hellos = text.split('\n').filter((l) => l.startsWith('hello from rank')).sort();
    assert.deepEqual(hellos, ['hello from rank 0 of 3', 'hello from rank 1 of 3', 'hello from rank 2 of 3']);
    const worker = await jobLogs(env.endpoint, encodeURIComponent(`${id}#2`));
    assert.match(worker.text, /worker 2 of 3: main node at 127\.0\.0\.1/);
  });
});
