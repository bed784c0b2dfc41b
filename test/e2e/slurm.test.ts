// The Slurm executor end to end: one real server with two compute environments, one local and one
// tagged openbatch:executor=slurm (scripts/slurm-local.sh's single-node cluster). The same jobs (a
// job, a 100-child array, a dependent pipeline, a job that fails and is retried) run through both
// and must reach the same states, reasons and log output; then what only Slurm can show: a Slurm
// job cancelled from outside and a node set DOWN under a job are host losses that the `Host EC2*`
// retry rule retries, and a 2-node MNP job whose main node hears from the other node.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  type BatchClient,
  type JobDetail,
  type SubmitJobCommandInput,
} from '@aws-sdk/client-batch';
import fs from 'node:fs';
import path from 'node:path';
import { dataDirId } from '../../src/executors/container/docker-spec.js';
import { attemptKey } from '../../src/executors/executor.js';
import { reusablePort, TestServer, waitFor, waitForStatus } from '../helpers/server.js';
import { slurm, slurmNode } from '../executors/slurm-helpers.js';
import { expectClientError, jobLogs, SMALL } from './sdk-helpers.js';

const { skip } = await slurm();
const T = 60_000;

/** The Slurm job id of an attempt, found by the comment the executor gives it (as a restarted server does). */
function slurmJobOf(jobId: string, attempt: number): string | undefined {
  const key = attemptKey(jobId, attempt);
  for (const line of execFileSync('squeue', ['-h', '-o', '%i %k'], { encoding: 'utf8' }).split('\n')) {
    const [id, comment] = line.trim().split(' ');
    if (comment?.endsWith(`:${key}`)) return id;
  }
  return undefined;
}

describe('slurm executor end to end', { skip, timeout: 600_000 }, () => {
  let server: TestServer;
  let client: BatchClient;
  before(async () => {
    server = new TestServer({ env: { OPENBATCH_SLURM_POLL_MS: '200', OPENBATCH_SLURM_STOP_GRACE_MS: '2000' }, args: ['--no-defaults'] });
    await server.start();
    client = server.client();
    for (const [name, tags] of [
      ['local-ce', {}],
      ['slurm-ce', { 'openbatch:executor': 'slurm', 'openbatch:slurm-partition': 'debug' }],
    ] as const) {
      await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: name, type: 'UNMANAGED', unmanagedvCpus: 4, tags }));
      await client.send(new CreateJobQueueCommand({ jobQueueName: name.replace('-ce', '-q'), priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: name }] }));
    }
    const define = (name: string, command: string, extra: Record<string, unknown> = {}) =>
      client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: name, type: 'container', containerProperties: { image: 'busybox', command: ['sh', '-c', command], resourceRequirements: SMALL }, ...extra }));
    await define('hello', 'echo "hello from attempt $AWS_BATCH_JOB_ATTEMPT"; echo to-stderr >&2');
    await define('child', 'echo "child $AWS_BATCH_JOB_ARRAY_INDEX of $AWS_BATCH_JOB_ARRAY_SIZE"');
    await define('step', 'echo "step $STEP"');
    await define('flaky', '[ "$AWS_BATCH_JOB_ATTEMPT" = 2 ] || { echo "failing attempt $AWS_BATCH_JOB_ATTEMPT"; exit 3; }; echo recovered', { retryStrategy: { attempts: 2 } });
    await define('host-loss', 'echo "ready $AWS_BATCH_JOB_ATTEMPT"; [ "$AWS_BATCH_JOB_ATTEMPT" = 2 ] && exit 0; exec sleep 300', {
      retryStrategy: { attempts: 2, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
    });
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
    // This server's Slurm jobs (the executor's comment names its data dir) must not outlive the test.
    if (server) {
      const prefix = `openbatch:${dataDirId(server.dataDir)}:`;
      const ids = execFileSync('squeue', ['-h', '-o', '%i %k'], { encoding: 'utf8' }).split('\n').filter((l) => l.split(' ')[1]?.startsWith(prefix)).map((l) => l.split(' ')[0]);
      if (ids.length > 0) execFileSync('scancel', ids);
    }
    server?.cleanup();
  });

  const submit = async (input: Omit<SubmitJobCommandInput, 'jobQueue'>, queue: string) => (await client.send(new SubmitJobCommand({ ...input, jobQueue: queue } as SubmitJobCommandInput))).jobId!;
  const describeAll = async (ids: string[]) => {
    const out: JobDetail[] = [];
    for (let i = 0; i < ids.length; i += 100) out.push(...((await client.send(new DescribeJobsCommand({ jobs: ids.slice(i, i + 100) }))).jobs ?? []));
    return out;
  };
  const logOf = async (jobId: string, attempt?: number) => (await jobLogs(server.endpoint, encodeURIComponent(jobId), attempt)).text;
  /** What must be the same on both executors: states, reasons, exit codes, logs. */
  const outcome = async (j: JobDetail) => ({
    status: j.status,
    statusReason: j.statusReason,
    attempts: (j.attempts ?? []).map((a) => ({ exitCode: a.container?.exitCode, reason: a.container?.reason, statusReason: a.statusReason })),
    logs: await Promise.all((j.attempts ?? []).map((_, i) => logOf(j.jobId!, i + 1))),
  });

  /** The scenario of the issue on one queue; returns what it observed. */
  const scenario = async (queue: string) => {
    const hello = await submit({ jobName: 'hello', jobDefinition: 'hello' }, queue);
    const array = await submit({ jobName: 'array', jobDefinition: 'child', arrayProperties: { size: 100 } }, queue);
    const a = await submit({ jobName: 'a', jobDefinition: 'step', containerOverrides: { environment: [{ name: 'STEP', value: 'a' }] } }, queue);
    const b = await submit({ jobName: 'b', jobDefinition: 'step', dependsOn: [{ jobId: a }], containerOverrides: { environment: [{ name: 'STEP', value: 'b' }] } }, queue);
    const c = await submit({ jobName: 'c', jobDefinition: 'step', dependsOn: [{ jobId: b }], containerOverrides: { environment: [{ name: 'STEP', value: 'c' }] } }, queue);
    const flaky = await submit({ jobName: 'flaky', jobDefinition: 'flaky' }, queue);
    const singles = [hello, a, b, c, flaky];
    for (const id of singles) await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], T);
    const parent = await waitForStatus(client, array, ['SUCCEEDED', 'FAILED'], T);
    const [dHello, dA, dB, dC, dFlaky] = await describeAll(singles);
    assert.ok(dB.startedAt! >= dA.stoppedAt! && dC.startedAt! >= dB.stoppedAt!, 'the pipeline ran in order');
    const children = await describeAll(Array.from({ length: 100 }, (_, i) => `${array}:${i}`));
    const childLogs = await Promise.all(children.map((ch) => logOf(ch.jobId!)));
    return {
      hello: await outcome(dHello),
      pipeline: await Promise.all([dA, dB, dC].map(outcome)),
      flaky: await outcome(dFlaky),
      array: { status: parent.status, summary: parent.arrayProperties?.statusSummary, children: children.map((ch) => ch.status), childLogs },
    };
  };

  test('a job, a 100-child array, a dependent pipeline and a retried job: the same states, reasons and logs on Slurm as on the local executor', async () => {
    const [local, onSlurm] = await Promise.all([scenario('local-q'), scenario('slurm-q')]);
    assert.deepEqual(onSlurm, local);
    // And what they are (so that both being wrong the same way fails too).
    assert.equal(onSlurm.hello.status, 'SUCCEEDED');
    assert.deepEqual(onSlurm.hello.logs, ['hello from attempt 1\nto-stderr\n']);
    assert.deepEqual(onSlurm.pipeline.map((p) => p.logs), [['step a\n'], ['step b\n'], ['step c\n']]);
    assert.equal(onSlurm.flaky.status, 'SUCCEEDED');
    assert.deepEqual(onSlurm.flaky.attempts.map((x) => x.exitCode), [3, 0]);
    assert.equal(onSlurm.flaky.attempts[0].statusReason, 'Essential container in task exited');
    assert.deepEqual(onSlurm.flaky.logs, ['failing attempt 1\n', 'recovered\n']);
    assert.equal(onSlurm.array.status, 'SUCCEEDED');
    assert.equal(onSlurm.array.summary?.SUCCEEDED, 100);
    assert.equal(onSlurm.array.childLogs[42], 'child 42 of 100\n');
  });

  const hostLoss = async (lose: (slurmJobId: string) => void, restore: () => void = () => {}) => {
    const id = await submit({ jobName: 'host-loss', jobDefinition: 'host-loss' }, 'slurm-q');
    await waitForStatus(client, id, 'RUNNING', T);
    await waitFor('the first attempt prints ready', async () => (await logOf(id)).includes('ready 1'), T);
    const slurmId = slurmJobOf(id, 1);
    assert.ok(slurmId, 'the attempt is found in squeue by its comment');
    try {
      lose(slurmId);
      await waitFor('the first attempt is lost', async () => ((await describeAll([id]))[0].attempts?.length ?? 0) >= 1, T);
    } finally {
      restore();
    }
    const done = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], T);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done.attempts));
    assert.equal(done.attempts?.length, 2);
    assert.match(done.attempts![0].statusReason ?? '', /^Host EC2 \(instance .*\) terminated\.$/);
    assert.equal(done.attempts![0].container?.exitCode, undefined);
    assert.equal(await logOf(id, 2), 'ready 2\n');
    return done;
  };

  test('scancel from outside OpenBatch: the host-loss reason, retried by the Host EC2* rule', async () => {
    const done = await hostLoss((slurmId) => execFileSync('scancel', [slurmId]));
    assert.match(done.attempts![0].container?.reason ?? '', /cancelled outside OpenBatch/);
  });

  test('the node set DOWN under a running job (NODE_FAIL): the host-loss reason, retried once the node is back', async () => {
    const node = slurmNode();
    const done = await hostLoss(
      () => execFileSync('scontrol', ['update', `nodename=${node}`, 'state=down', 'reason=openbatch-test-node-loss']),
      () => {
        // ReturnToService=2 may have brought it back already (its slurmd answers): resume only a down node.
        if (/down|drain|fail/i.test(execFileSync('sinfo', ['-h', '-n', node, '-o', '%T'], { encoding: 'utf8' }))) {
          execFileSync('scontrol', ['update', `nodename=${node}`, 'state=resume']);
        }
      },
    );
    assert.match(done.attempts![0].container?.reason ?? '', /NODE_FAIL/);
  });

  test('a 2-node MNP job through Slurm is ONE Slurm job: the main node runs in its batch script, the other in an srun step of it, and hears from it', async () => {
    // Free now and below the ephemeral port range, where srun and slurmd connections take theirs.
    const port = String(await reusablePort());
    const listen = `import socket, os
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(os.environ["PORT"]))); s.listen(1); s.settimeout(50)
c, _ = s.accept(); print("main heard:", c.recv(200).decode().strip(), flush=True)
print("main in Slurm job", os.environ["SLURM_JOB_ID"], "of", os.environ["SLURM_JOB_NUM_NODES"], "node(s),", os.environ.get("SLURM_NTASKS"), "tasks", flush=True)`;
    const connect = `import socket, os, time
addr = os.environ["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"]
for _ in range(500):
    try:
        c = socket.create_connection((addr, int(os.environ["PORT"])), 1); break
    except OSError: time.sleep(0.1)
c.sendall(("node %s of %s" % (os.environ["AWS_BATCH_JOB_NODE_INDEX"], os.environ["AWS_BATCH_JOB_NUM_NODES"])).encode()); c.close()
print("sent to main at", addr, flush=True)
print("node in Slurm job", os.environ["SLURM_JOB_ID"], "step", os.environ["SLURM_STEP_ID"], flush=True)`;
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'mnp',
        type: 'multinode',
        nodeProperties: {
          numNodes: 2,
          mainNode: 0,
          nodeRangeProperties: [
            { targetNodes: '0', container: { image: 'busybox', command: ['python3', '-c', listen], environment: [{ name: 'PORT', value: port }], resourceRequirements: SMALL } },
            { targetNodes: '1', container: { image: 'busybox', command: ['python3', '-c', connect], environment: [{ name: 'PORT', value: port }], resourceRequirements: SMALL } },
          ],
        },
      }),
    );
    const id = await submit({ jobName: 'mnp', jobDefinition: 'mnp' }, 'slurm-q');
    const done = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], T);
    assert.equal(done.status, 'SUCCEEDED', `${await logOf(`${id}#0`)} / ${await logOf(`${id}#1`)}`);
    const main = /^main heard: node 1 of 2\nmain in Slurm job (\d+) of 1 node\(s\), 2 tasks\n$/.exec(await logOf(`${id}#0`));
    assert.ok(main, await logOf(`${id}#0`));
    const other = /^sent to main at \S+\nnode in Slurm job (\d+) step (\d+)\n$/.exec(await logOf(`${id}#1`));
    assert.ok(other, await logOf(`${id}#1`));
    // Both nodes ran in the same allocation (the test cluster has one node: 2 tasks packed on it).
    assert.equal(other[1], main[1]);
  });

  test('the server SIGKILLed and restarted: a running Slurm job is found by its comment and finishes; one cancelled while the server was down is lost and retried', async () => {
    const gate = path.join(server.dataDir, 'restart-gate');
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'gated',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['sh', '-c', 'echo "started $AWS_BATCH_JOB_ATTEMPT"; while [ ! -e "$GATE" ]; do sleep 0.1; done; echo finished'], environment: [{ name: 'GATE', value: gate }], resourceRequirements: SMALL },
      }),
    );
    const kept = await submit({ jobName: 'kept', jobDefinition: 'gated' }, 'slurm-q');
    const lost = await submit({ jobName: 'lost', jobDefinition: 'host-loss' }, 'slurm-q');
    await waitFor('both print', async () => (await logOf(kept)).includes('started 1') && (await logOf(lost)).includes('ready 1'), T);
    await server.kill();
    const lostSlurmId = slurmJobOf(lost, 1);
    assert.ok(lostSlurmId);
    execFileSync('scancel', [lostSlurmId]);
    fs.writeFileSync(gate, '');
    await server.start();
    client.destroy();
    client = server.client();
    const k = await waitForStatus(client, kept, ['SUCCEEDED', 'FAILED'], T);
    assert.equal(k.status, 'SUCCEEDED');
    assert.equal(k.attempts?.length, 1);
    assert.equal(await logOf(kept), 'started 1\nfinished\n');
    const l = await waitForStatus(client, lost, ['SUCCEEDED', 'FAILED'], T);
    assert.equal(l.status, 'SUCCEEDED', JSON.stringify(l.attempts));
    assert.equal(l.attempts?.length, 2);
    assert.match(l.attempts![0].statusReason ?? '', /^Host EC2 /);
  });

  test('the server SIGKILLed and restarted during a 2-node MNP job: both nodes (batch script and srun step) are adopted as running and finish in their one allocation', async () => {
    const gate = path.join(server.dataDir, 'mnp-gate');
    const mainGate = path.join(server.dataDir, 'mnp-main-gate');
    const wait = (f: string) => `while [ ! -e "${f}" ]; do sleep 0.1; done`;
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'mnp-gated',
        type: 'multinode',
        nodeProperties: {
          numNodes: 2,
          mainNode: 0,
          nodeRangeProperties: [
            { targetNodes: '0', container: { image: 'busybox', command: ['sh', '-c', `echo "main started in $SLURM_JOB_ID"; ${wait(mainGate)}; echo "main finished"`], resourceRequirements: SMALL } },
            { targetNodes: '1', container: { image: 'busybox', command: ['sh', '-c', `echo "node started in $SLURM_JOB_ID"; ${wait(gate)}; echo "node finished"`], resourceRequirements: SMALL } },
          ],
        },
      }),
    );
    const id = await submit({ jobName: 'mnp-gated', jobDefinition: 'mnp-gated' }, 'slurm-q');
    await waitFor('both nodes print', async () => (await logOf(`${id}#0`)).includes('main started') && (await logOf(`${id}#1`)).includes('node started'), T);
    await server.kill();
    await server.start();
    client.destroy();
    client = server.client();
    // Adopted, not lost: both nodes still RUNNING once the restarted server has looked.
    await waitFor('the restarted server answers', async () => (await client.send(new DescribeJobsCommand({ jobs: [id] }))).jobs?.[0]?.status === 'RUNNING', T);
    const nodes = (await describeAll([`${id}#0`, `${id}#1`])).map((j) => j.status);
    assert.deepEqual(nodes, ['RUNNING', 'RUNNING']);
    // The other node ends first (its step's exit seen by the restarted server), then the main node.
    fs.writeFileSync(gate, '');
    const other = await waitForStatus(client, `${id}#1`, ['SUCCEEDED', 'FAILED'], T);
    assert.equal(other.status, 'SUCCEEDED', JSON.stringify(other.attempts));
    assert.equal(other.attempts?.length, 1);
    fs.writeFileSync(mainGate, '');
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], T);
    assert.equal(job.status, 'SUCCEEDED', `${await logOf(`${id}#0`)} / ${await logOf(`${id}#1`)}`);
    const main = /^main started in (\d+)\nmain finished\n$/.exec(await logOf(`${id}#0`));
    const node = /^node started in (\d+)\nnode finished\n$/.exec(await logOf(`${id}#1`));
    assert.ok(main && node, `${await logOf(`${id}#0`)} / ${await logOf(`${id}#1`)}`);
    assert.equal(node[1], main[1]);
  });

  test('TerminateJob of a running 2-node MNP job: both nodes end and the one Slurm allocation is gone', async () => {
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'mnp-long',
        type: 'multinode',
        nodeProperties: {
          numNodes: 2,
          mainNode: 0,
          nodeRangeProperties: [{ targetNodes: '0:1', container: { image: 'busybox', command: ['sh', '-c', 'echo "node $AWS_BATCH_JOB_NODE_INDEX up"; exec sleep 300'], resourceRequirements: SMALL } }],
        },
      }),
    );
    const id = await submit({ jobName: 'mnp-long', jobDefinition: 'mnp-long' }, 'slurm-q');
    await waitFor('both nodes run', async () => (await logOf(`${id}#0`)).includes('up') && (await logOf(`${id}#1`)).includes('up'), T);
    const alloc = slurmJobOf(`${id}#0`, 1);
    assert.ok(alloc, 'the main node has a Slurm job');
    await client.send(new TerminateJobCommand({ jobId: id, reason: 'enough' }));
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], T);
    assert.equal(job.status, 'FAILED');
    for (const n of [`${id}#0`, `${id}#1`]) assert.equal((await waitForStatus(client, n, ['SUCCEEDED', 'FAILED'], T)).status, 'FAILED');
    // Every node was in the main node's allocation: nothing of the job is left in Slurm.
    await waitFor('the allocation ends', async () => !execFileSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8' }).split('\n').includes(alloc), T);
  });

  test('a Slurm compute environment without configured vCPUs has its partition\'s (sinfo): a 3-vCPU job runs on the 4-CPU node though this host has fewer', async () => {
    const cpus = Number(execFileSync('sinfo', ['-h', '-p', 'debug', '-o', '%c'], { encoding: 'utf8' }).trim());
    assert.equal(cpus, 4, 'scripts/slurm-local.sh gives the node 4 CPUs');
    await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'slurm-sized', type: 'UNMANAGED', tags: { 'openbatch:executor': 'slurm', 'openbatch:slurm-partition': 'debug' } }));
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'slurm-sized-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'slurm-sized' }] }));
    const big = [{ type: 'VCPU' as const, value: '3' }, { type: 'MEMORY' as const, value: '64' }];
    await client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'three-cpus', type: 'container', containerProperties: { image: 'busybox', command: ['sh', '-c', 'echo "cpus $SLURM_CPUS_PER_TASK"'], resourceRequirements: big } }));
    const id = await submit({ jobName: 'three-cpus', jobDefinition: 'three-cpus' }, 'slurm-sized-q');
    const done = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], T);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done.attempts));
    assert.equal(await logOf(id), 'cpus 3\n');
  });

  test('bad Slurm tags: ClientException naming the tag, nothing created', async () => {
    await expectClientError(
      client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'bad-slurm', type: 'UNMANAGED', tags: { 'openbatch:executor': 'slurm', 'openbatch:slurm-partition': 'a,b' } })),
      /tags\.openbatch:slurm-partition: "a,b" is not valid/,
    );
    await expectClientError(
      client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'bad-exec', type: 'UNMANAGED', tags: { 'openbatch:executor': 'slurmm' } })),
      /tags\.openbatch:executor: "slurmm" is not valid; give one of local, container, slurm/,
    );
  });
});
