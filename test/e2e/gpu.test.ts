// GPU scheduling end to end: a compute environment configured with 2 GPUs (tag openbatch:gpus=2,
// so no GPU is needed), driven with the real @aws-sdk/client-batch. Two 1-GPU jobs run at once
// with different CUDA_VISIBLE_DEVICES, a third waits with a GPU reason and gets the GPU the
// first one frees, and a 3-GPU job never runs and says why.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import { waitFor, waitForStatus } from '../helpers/server.js';
import { Gate, GATE_WAIT } from './job-model-helpers.js';
import { expectClientError, jobLogs, useServer } from './sdk-helpers.js';

describe('GPU scheduling', () => {
  const env = useServer(async ({ client }) => {
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'gpu-ce',
        type: 'MANAGED',
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 8, subnets: [], securityGroupIds: [], instanceTypes: ['p3.8xlarge'] },
        tags: { 'openbatch:gpus': '2' },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'gpu-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'gpu-ce' }] }));
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'gpu1',
        type: 'container',
        containerProperties: {
          command: ['sh', '-c', `echo "CUDA=$CUDA_VISIBLE_DEVICES NVIDIA=$NVIDIA_VISIBLE_DEVICES"; ${GATE_WAIT}`],
          resourceRequirements: [
            { type: 'VCPU', value: '1' },
            { type: 'MEMORY', value: '16' },
            { type: 'GPU', value: '1' },
          ],
        },
      }),
    );
  });

  const submit = async (name: string, gate: Gate, gpus?: number) =>
    (
      await env.client.send(
        new SubmitJobCommand({
          jobName: name,
          jobQueue: 'gpu-q',
          jobDefinition: 'gpu1',
          containerOverrides: {
            environment: [gate.env],
            ...(gpus !== undefined ? { resourceRequirements: [{ type: 'GPU', value: String(gpus) }] } : {}),
          },
        }),
      )
    ).jobId!;

  /** The GPU indices a job printed. */
  const devicesOf = (jobId: string) =>
    waitFor(`${jobId} prints its devices`, async () => {
      const { text } = await jobLogs(env.endpoint, jobId);
      const m = /CUDA=(\S*) NVIDIA=(\S*)/.exec(text);
      if (!m) return undefined;
      assert.equal(m[1], m[2], 'CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES agree');
      return m[1];
    });

  test('an openbatch:gpus or openbatch:executor tag that is not valid is refused and changes nothing', async () => {
    const create = (tags: Record<string, string>) =>
      env.client.send(
        new CreateComputeEnvironmentCommand({
          computeEnvironmentName: 'bad-tag-ce',
          type: 'MANAGED',
          computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 2, subnets: [], securityGroupIds: [], instanceTypes: ['optimal'] },
          tags,
        }),
      );
    await expectClientError(create({ 'openbatch:gpus': 'two' }), /^tags\.openbatch:gpus: "two" is not valid/);
    await expectClientError(create({ 'openbatch:gpus': '-1' }), /^tags\.openbatch:gpus: "-1" is not valid/);
    await expectClientError(create({ 'openbatch:executor': 'docker' }), 'tags.openbatch:executor: "docker" is not valid; give one of local, container, slurm');
    const described = await env.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['bad-tag-ce'] }));
    assert.deepEqual(described.computeEnvironments, []);

    const [ce] = (await env.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['gpu-ce'] }))).computeEnvironments!;
    await expectClientError(
      env.client.send(new TagResourceCommand({ resourceArn: ce.computeEnvironmentArn!, tags: { 'openbatch:gpus': '1.5' } })),
      /^tags\.openbatch:gpus: "1\.5" is not valid/,
    );
    const tags = await env.client.send(new ListTagsForResourceCommand({ resourceArn: ce.computeEnvironmentArn! }));
    assert.equal(tags.tags?.['openbatch:gpus'], '2');
  });

  test('two 1-GPU jobs run at once on different GPUs; a third waits for a GPU; a 3-GPU job never runs', async () => {
    const { client } = env;
    const gates = { a: new Gate(env.tmp, 'a'), b: new Gate(env.tmp, 'b'), c: new Gate(env.tmp, 'c') };
    const a = await submit('a', gates.a);
    const b = await submit('b', gates.b);
    await waitForStatus(client, a, 'RUNNING');
    await waitForStatus(client, b, 'RUNNING');
    const devA = await devicesOf(a);
    const devB = await devicesOf(b);
    assert.deepEqual([devA, devB].sort(), ['0', '1'], 'each job sees one distinct GPU');

    const c = await submit('c', gates.c);
    const waiting = await waitFor('c to wait with a GPU reason', async () => {
      const j = (await client.send(new DescribeJobsCommand({ jobs: [c] }))).jobs?.[0];
      return j?.status === 'RUNNABLE' && j.statusReason ? j : undefined;
    });
    // Stored by the scheduler (the queue's head) or derived on describe: either way it names GPUs.
    assert.match(waiting.statusReason!, /^CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - waiting for GPUs: needs (.*, )?1 GPU;/);
    assert.match(waiting.statusReason!, /gpu-ce has (.*, )?0 (of 2 )?GPUs free/);

    const big = await submit('big', new Gate(env.tmp, 'big'), 3);
    const never = await waitFor('the 3-GPU job to say why it cannot run', async () => {
      const j = (await client.send(new DescribeJobsCommand({ jobs: [big] }))).jobs?.[0];
      return j?.status === 'RUNNABLE' && j.statusReason?.startsWith('MISCONFIGURATION') ? j : undefined;
    });
    assert.equal(never.statusReason, 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - needs 3 GPUs, largest compute environment in queue (gpu-ce) has 2');

    // a ends: c gets the GPU a held, while b still holds the other.
    gates.a.open();
    await waitForStatus(client, a, 'SUCCEEDED');
    await waitForStatus(client, c, 'RUNNING');
    assert.equal(await devicesOf(c), devA, 'c gets the GPU a freed');

    gates.b.open();
    gates.c.open();
    await waitForStatus(client, b, 'SUCCEEDED');
    await waitForStatus(client, c, 'SUCCEEDED');
    const still = (await client.send(new DescribeJobsCommand({ jobs: [big] }))).jobs![0];
    assert.equal(still.status, 'RUNNABLE', 'the 3-GPU job never runs');
    assert.match(still.statusReason!, /needs 3 GPUs/);
    await client.send(new TerminateJobCommand({ jobId: big, reason: 'test done' }));
    await waitForStatus(client, big, 'FAILED');
  });

  test('a 2-node job with a GPU per node: gang-placed on the 2 GPUs, each node on its own device', async () => {
    const { client } = env;
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'gpu-mnp',
        type: 'multinode',
        nodeProperties: {
          numNodes: 2,
          mainNode: 0,
          nodeRangeProperties: [
            {
              targetNodes: '0:',
              container: {
                image: 'busybox',
                command: ['sh', '-c', `echo "CUDA=$CUDA_VISIBLE_DEVICES NVIDIA=$NVIDIA_VISIBLE_DEVICES"; ${GATE_WAIT}`],
                resourceRequirements: [
                  { type: 'VCPU', value: '1' },
                  { type: 'MEMORY', value: '16' },
                  { type: 'GPU', value: '1' },
                ],
              },
            },
          ],
        },
      }),
    );
    const gate = new Gate(env.tmp, 'mnp');
    const id = (
      await client.send(
        new SubmitJobCommand({
          jobName: 'gpu-mnp',
          jobQueue: 'gpu-q',
          jobDefinition: 'gpu-mnp',
          nodeOverrides: { nodePropertyOverrides: [{ targetNodes: '0:', containerOverrides: { environment: [gate.env] } }] },
        }),
      )
    ).jobId!;
    await waitForStatus(client, `${id}#1`, 'RUNNING');
    const devices = [await devicesOf(encodeURIComponent(`${id}#0`)), await devicesOf(encodeURIComponent(`${id}#1`))];
    assert.deepEqual(devices.sort(), ['0', '1']);
    gate.open();
    assert.equal((await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
  });

  test('a restart keeps the GPUs given to running jobs: a new job gets the other one', async () => {
    const first = new Gate(env.tmp, 'restart-1');
    const a = await submit('before-restart', first);
    await waitForStatus(env.client, a, 'RUNNING');
    const devA = await devicesOf(a);
    await env.server.kill();
    env.client.destroy();
    await env.server.start();
    env.client = env.server.client();
    env.endpoint = env.server.endpoint;
    const second = new Gate(env.tmp, 'restart-2');
    const b = await submit('after-restart', second);
    await waitForStatus(env.client, b, 'RUNNING');
    const devB = await devicesOf(b);
    assert.notEqual(devB, devA, 'the adopted job keeps its GPU');
    first.open();
    second.open();
    await waitForStatus(env.client, a, 'SUCCEEDED');
    await waitForStatus(env.client, b, 'SUCCEEDED');
  });
});
