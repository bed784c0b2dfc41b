// Multi-node parallel jobs end to end, with the real @aws-sdk/client-batch: a 3-node job whose
// nodes print their environment SUCCEEDS with its main node's result; a failing main node fails
// the job and stops the other nodes.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  TerminateJobCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
} from '@aws-sdk/client-batch';
import { waitFor, waitForStatus } from '../helpers/server.js';
import { Gate, GATE_WAIT } from './job-model-helpers.js';
import { jobLogs, parseEnv, useServer } from './sdk-helpers.js';

const SMALL = [
  { type: 'VCPU' as const, value: '1' },
  { type: 'MEMORY' as const, value: '16' },
];
const PRINT = 'env | grep ^AWS_BATCH_JOB_';

describe('multi-node parallel jobs', () => {
  const env = useServer(async ({ client }) => {
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'mnp-ce',
        type: 'MANAGED',
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 6, subnets: [], securityGroupIds: [], instanceTypes: ['optimal'] },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'mnp-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'mnp-ce' }] }));
    const register = (name: string, main: string, workers: string) =>
      client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: name,
          type: 'multinode',
          nodeProperties: {
            numNodes: 3,
            mainNode: 0,
            nodeRangeProperties: [
              { targetNodes: '0:0', container: { image: 'busybox', command: ['sh', '-c', main], resourceRequirements: SMALL } },
              { targetNodes: '1:', container: { image: 'busybox', command: ['sh', '-c', workers], resourceRequirements: SMALL } },
            ],
          },
        }),
      );
    await register('mnp-ok', `${PRINT}; ${GATE_WAIT}`, `${PRINT}`);
    await register('mnp-fail', `${PRINT}; ${GATE_WAIT}; exit 3`, `${PRINT}; ${GATE_WAIT}`);
  });

  const submit = async (def: string, gate: Gate) =>
    (await env.client.send(new SubmitJobCommand({ jobName: def, jobQueue: 'mnp-q', jobDefinition: def, nodeOverrides: { nodePropertyOverrides: [{ targetNodes: '0:', containerOverrides: { environment: [gate.env] } }] } }))).jobId!;

  const envOf = (jobId: string) =>
    waitFor(`${jobId} prints its environment`, async () => {
      const { text } = await jobLogs(env.endpoint, encodeURIComponent(jobId));
      return text.includes('AWS_BATCH_JOB_NUM_NODES') ? parseEnv(text) : undefined;
    });

  test('a 3-node job: node jobs <id>#n, the main node first, node environment, the main node decides', async () => {
    const { client } = env;
    const gate = new Gate(env.tmp, 'ok');
    const id = await submit('mnp-ok', gate);
    const nodes = [0, 1, 2].map((n) => `${id}#${n}`);
    // The main node runs; the others start only once it is RUNNING and here exit at once.
    await waitForStatus(client, nodes[0], 'RUNNING');
    await waitForStatus(client, nodes[1], 'SUCCEEDED');
    await waitForStatus(client, nodes[2], 'SUCCEEDED');
    const details = (await client.send(new DescribeJobsCommand({ jobs: [id, ...nodes] }))).jobs!;
    const byId = new Map(details.map((j) => [j.jobId!, j]));
    assert.equal(byId.get(id)!.status, 'RUNNING', 'the job runs while its main node does');
    assert.equal(byId.get(id)!.nodeProperties?.numNodes, 3);
    assert.equal(byId.get(id)!.nodeProperties?.mainNode, 0);
    assert.deepEqual(byId.get(id)!.nodeProperties?.nodeRangeProperties?.map((r) => r.targetNodes), ['0:0', '1:']);
    assert.deepEqual(byId.get(nodes[0])!.nodeDetails, { nodeIndex: 0, isMainNode: true });
    assert.deepEqual(byId.get(nodes[2])!.nodeDetails, { nodeIndex: 2, isMainNode: false });
    for (const w of [nodes[1], nodes[2]]) assert.ok(byId.get(w)!.startedAt! >= byId.get(nodes[0])!.startedAt!, `${w} started after the main node`);

    const mainEnv = await envOf(nodes[0]);
    assert.equal(mainEnv.AWS_BATCH_JOB_NODE_INDEX, '0');
    assert.equal(mainEnv.AWS_BATCH_JOB_NUM_NODES, '3');
    assert.equal(mainEnv.AWS_BATCH_JOB_MAIN_NODE_INDEX, '0');
    assert.equal(mainEnv.AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS, undefined, 'the main node is not told its own address');
    assert.equal(mainEnv.AWS_BATCH_JOB_ID, nodes[0]);
    for (const n of [1, 2]) {
      const e = await envOf(nodes[n]);
      assert.equal(e.AWS_BATCH_JOB_NODE_INDEX, String(n));
      assert.equal(e.AWS_BATCH_JOB_NUM_NODES, '3');
      assert.equal(e.AWS_BATCH_JOB_MAIN_NODE_INDEX, '0');
      assert.equal(e.AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS, '127.0.0.1');
    }

    const all = (await client.send(new ListJobsCommand({ multiNodeJobId: id, filters: [{ name: 'JOB_NAME', values: ['mnp-ok'] }] }))).jobSummaryList ?? [];
    assert.deepEqual(all.map((j) => j.jobId).sort(), [...nodes].sort(), 'ListJobs --multi-node-job-id lists the nodes');
    assert.deepEqual(all.find((j) => j.jobId === nodes[1])?.nodeProperties, { isMainNode: false, numNodes: 3, nodeIndex: 1 });
    const queued = (await client.send(new ListJobsCommand({ jobQueue: 'mnp-q', filters: [{ name: 'JOB_NAME', values: ['mnp-ok'] }] }))).jobSummaryList ?? [];
    assert.deepEqual(queued.map((j) => j.jobId), [id], 'the queue lists the job, not its nodes');

    gate.open();
    await waitForStatus(client, id, 'SUCCEEDED');
    assert.equal((await waitForStatus(client, nodes[0], 'SUCCEEDED')).container?.exitCode, 0);
  });

  test('a failing main node fails the job and stops the other nodes', async () => {
    const { client } = env;
    const gate = new Gate(env.tmp, 'fail-main');
    // Only the main node gets this gate; the workers wait on one that never opens.
    const id = (
      await client.send(
        new SubmitJobCommand({
          jobName: 'mnp-fail',
          jobQueue: 'mnp-q',
          jobDefinition: 'mnp-fail',
          nodeOverrides: {
            nodePropertyOverrides: [
              { targetNodes: '0:0', containerOverrides: { environment: [gate.env] } },
              { targetNodes: '1:', containerOverrides: { environment: [new Gate(env.tmp, 'never').env] } },
            ],
          },
        }),
      )
    ).jobId!;
    const nodes = [0, 1, 2].map((n) => `${id}#${n}`);
    for (const n of nodes) await waitForStatus(client, n, 'RUNNING');
    gate.open();
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'FAILED');
    const main = await waitForStatus(client, nodes[0], ['SUCCEEDED', 'FAILED']);
    assert.equal(main.container?.exitCode, 3);
    for (const w of [nodes[1], nodes[2]]) {
      const d = await waitForStatus(client, w, ['SUCCEEDED', 'FAILED']);
      assert.equal(d.status, 'FAILED', `${w} is stopped`);
      assert.match(d.statusReason ?? '', /Main node 0 exited/);
    }
  });

  test('TerminateJob on the job stops all its nodes and fails it', async () => {
    const { client } = env;
    const id = await submit('mnp-fail', new Gate(env.tmp, 'never-opened'));
    const nodes = [0, 1, 2].map((n) => `${id}#${n}`);
    for (const n of nodes) await waitForStatus(client, n, 'RUNNING');
    await client.send(new TerminateJobCommand({ jobId: id, reason: 'stop it' }));
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'FAILED');
    for (const n of nodes) assert.equal((await waitForStatus(client, n, ['SUCCEEDED', 'FAILED'])).status, 'FAILED', `${n} is stopped`);
  });

  test('a server restart keeps a running multi-node job: it ends with its main node', async () => {
    const gate = new Gate(env.tmp, 'restart');
    const id = await submit('mnp-ok', gate);
    const nodes = [0, 1, 2].map((n) => `${id}#${n}`);
    await waitForStatus(env.client, nodes[0], 'RUNNING');
    await waitForStatus(env.client, nodes[2], 'SUCCEEDED');
    await env.server.kill();
    env.client.destroy();
    await env.server.start();
    env.client = env.server.client();
    env.endpoint = env.server.endpoint;
    assert.equal((await waitForStatus(env.client, id, ['RUNNING', 'SUCCEEDED', 'FAILED'])).status, 'RUNNING');
    gate.open();
    assert.equal((await waitForStatus(env.client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
    assert.equal((await waitForStatus(env.client, nodes[0], ['SUCCEEDED', 'FAILED'])).container?.exitCode, 0);
  });
});
