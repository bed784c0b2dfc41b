// The Slurm executor's pure parts (no Slurm needed): sbatch's arguments, Slurm's states and wait
// statuses as exit codes and AWS reasons, the compute environment's Slurm tags.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeEnvironmentTagProblem } from '../../src/core/capacity.js';
import { exitCodeOf, filenamePattern, gpusOfGres, mainNodeJobId, parsePartitionResources, mnpNode, parseSbatch, REASON_OOM, REASON_TIMEOUT, relativeNode, sbatchArgs, slurmEnd, slurmEnvironment, slurmSettings, srunArgs } from '../../src/executors/slurm/slurm-spec.js';
import { makeSpec } from './conformance.js';

test('sbatch arguments: name, resources, comment, log file (% escaped), time a minute beyond the timeout, partition and cluster', () => {
  const spec = makeSpec(['true'], { jobName: 'my-job', vcpus: 1.5, memory: 300, gpus: 2, timeoutSeconds: 90 });
  const args = sbatchArgs(spec, { settings: { partition: 'gpu', cluster: 'c2' }, comment: 'openbatch:x:k', logFile: '/d/logs/%2Faws/s%2F1', workDir: '/d/slurm/k' });
  for (const a of ['--parsable', '--job-name=my-job', '--comment=openbatch:x:k', '--cpus-per-task=2', '--mem=300M', '--gres=gpu:2', '--time=3', '--partition=gpu', '--clusters=c2', '--no-requeue', '--output=/d/logs/%%2Faws/s%%2F1', '--error=/d/logs/%%2Faws/s%%2F1', '--chdir=/d/slurm/k']) {
    assert.ok(args.includes(a), `${a} in ${args.join(' ')}`);
  }
  const plain = sbatchArgs(makeSpec(['true']), { settings: {}, comment: 'c', logFile: '/l', workDir: '/w' });
  assert.ok(!plain.some((a) => /^--(gres|time|partition|clusters)=/.test(a)), plain.join(' '));
  assert.equal(filenamePattern('/a%b%%c'), '/a%%b%%%%c');
});

test('multi-node parallel jobs: the main node allocates every node (one per node, else packed tasks), the others are srun steps on their relative node', () => {
  const env = (i: number) => ({ AWS_BATCH_JOB_NODE_INDEX: String(i), AWS_BATCH_JOB_NUM_NODES: '3', AWS_BATCH_JOB_MAIN_NODE_INDEX: '1' });
  assert.deepEqual(mnpNode(makeSpec(['true'], { environment: env(1) })), { index: 1, numNodes: 3, mainNode: 1, main: true });
  assert.equal(mnpNode(makeSpec(['true'], { environment: env(2) }))?.main, false);
  assert.equal(mnpNode(makeSpec(['true'])), undefined);
  assert.equal(mnpNode(makeSpec(['true'], { environment: { ...env(0), AWS_BATCH_JOB_NUM_NODES: '1' } })), undefined);
  assert.equal(mainNodeJobId('abc#2', 1), 'abc#1');
  const spec = makeSpec(['true'], { vcpus: 2, memory: 300 });
  const o = { settings: {}, comment: 'c', logFile: '/l', workDir: '/w' };
  const spread = sbatchArgs(spec, { ...o, allocation: { nodes: 3, spread: true } });
  for (const a of ['--nodes=3', '--ntasks-per-node=1', '--cpus-per-task=2', '--mem=300M']) assert.ok(spread.includes(a), `${a} in ${spread.join(' ')}`);
  const packed = sbatchArgs(spec, { ...o, allocation: { nodes: 3, spread: false } });
  for (const a of ['--ntasks=3', '--cpus-per-task=2', '--mem-per-cpu=150M']) assert.ok(packed.includes(a), `${a} in ${packed.join(' ')}`);
  assert.ok(!packed.some((a) => a.startsWith('--nodes=') || a.startsWith('--mem=')), packed.join(' '));
  // Main node 1 on relative node 0 (the batch script), then nodes 0 and 2.
  assert.deepEqual([0, 1, 2].map((i) => relativeNode(i, 1, 3)), [1, 0, 2]);
  assert.deepEqual([0, 1, 2].map((i) => relativeNode(i, 1, 1)), [0, 0, 0]);
  const srun = srunArgs(spec, { allocation: '77', relative: 2, logFile: '/l%x', workDir: '/w' });
  for (const a of ['--jobid=77', '--overlap', '--nodes=1', '--ntasks=1', '--relative=2', '--output=/l%%x', '--chdir=/w', '--export=ALL']) assert.ok(srun.includes(a), `${a} in ${srun.join(' ')}`);
});

test('partition resources from sinfo: each node once, the default partition without a name, GPUs from GRES', () => {
  const out = ['a|debug*|4|1000|(null)', 'b|debug*|8|2000|gpu:2', 'b|gpu|8|2000|gpu:2', 'c|gpu|16|4000|gpu:a100:4(S:0-1),shard:8', 'b|debug*|8|2000|gpu:2', ''].join('\n');
  assert.deepEqual(parsePartitionResources(out), { cpus: 12, memory: 3000, gpus: 2, nodes: 2 });
  assert.deepEqual(parsePartitionResources(out, 'gpu'), { cpus: 24, memory: 6000, gpus: 6, nodes: 2 });
  assert.deepEqual(parsePartitionResources(out, 'debug'), { cpus: 12, memory: 3000, gpus: 2, nodes: 2 });
  assert.equal(parsePartitionResources(out, 'none'), undefined);
  assert.equal(parsePartitionResources('CLUSTER: c2\n'), undefined);
  assert.equal(gpusOfGres('(null)'), 0);
  assert.equal(gpusOfGres('gpu:tesla:2(S:0),gpu:a100:1'), 3);
});

test('sbatch environment: the job\'s, plus PATH and HOME when it sets none', () => {
  const env = slurmEnvironment(makeSpec(['true'], { environment: { A: '1' } }), { PATH: '/p', HOME: '/h', SECRET: 'x', SLURM_CONF: '/etc/s.conf' });
  assert.deepEqual(env, { A: '1', PATH: '/p', HOME: '/h', SLURM_CONF: '/etc/s.conf' });
  assert.equal(slurmEnvironment(makeSpec(['true'], { environment: { PATH: '/mine' } }), { PATH: '/p' }).PATH, '/mine');
});

test('parseSbatch: JOBID or JOBID;CLUSTER', () => {
  assert.equal(parseSbatch('42\n'), '42');
  assert.equal(parseSbatch('42;c2\n'), '42');
  assert.equal(parseSbatch('sbatch: error: x'), undefined);
});

test('wait statuses: raw (squeue --json) and CODE:SIGNAL (scontrol) as exit codes', () => {
  assert.equal(exitCodeOf(3 << 8), 3);
  assert.equal(exitCodeOf(15), 143);
  assert.equal(exitCodeOf(9), 137);
  assert.equal(exitCodeOf('0:15'), 143);
  assert.equal(exitCodeOf('4:0'), 4);
  assert.equal(exitCodeOf('x'), undefined);
});

test('Slurm states → exit codes and reasons', () => {
  const base = { stopped: false, jobId: '7', node: 'n1' };
  for (const s of ['NODE_FAIL', 'BOOT_FAIL', 'PREEMPTED']) {
    const e = slurmEnd(s, { ...base, recorded: 0 });
    assert.equal(e.lost, true, s);
    assert.match(e.reason ?? '', new RegExp(`^CannotInspectContainerError: Slurm job 7 ended ${s} on node n1$`));
  }
  assert.deepEqual(slurmEnd('CANCELLED', { ...base, recorded: 143 }).lost, true, 'an outside scancel is a lost host');
  assert.deepEqual(slurmEnd('CANCELLED', { ...base, stopped: true, recorded: 143 }), { exitCode: 143 });
  assert.deepEqual(slurmEnd('CANCELLED', { ...base, stopped: true, raw: '0:0' }), { exitCode: 143 }, 'cancelled while pending at our request');
  assert.deepEqual(slurmEnd('OUT_OF_MEMORY', base), { exitCode: 137, reason: REASON_OOM });
  assert.deepEqual(slurmEnd('TIMEOUT', { ...base, raw: 15 }), { exitCode: 143, reason: REASON_TIMEOUT });
  assert.deepEqual(slurmEnd('COMPLETED', { ...base, recorded: 0 }), { exitCode: 0 });
  assert.deepEqual(slurmEnd('FAILED', { ...base, recorded: 3, raw: 3 << 8 }), { exitCode: 3 });
  assert.deepEqual(slurmEnd('FAILED', { ...base, raw: 9 }), { exitCode: 137 });
});

test('Slurm tags: checked at create, read as settings', () => {
  assert.equal(computeEnvironmentTagProblem({ 'openbatch:executor': 'slurm', 'openbatch:slurm-partition': 'batch', 'openbatch:slurm-cluster': 'c-2.x' }), undefined);
  assert.match(computeEnvironmentTagProblem({ 'openbatch:slurm-partition': 'a b' }) ?? '', /^tags\.openbatch:slurm-partition: "a b" is not valid/);
  assert.match(computeEnvironmentTagProblem({ 'openbatch:slurm-cluster': '' }) ?? '', /^tags\.openbatch:slurm-cluster: "" is not valid/);
  assert.deepEqual(slurmSettings({ 'openbatch:slurm-partition': 'p' }), { partition: 'p' });
  assert.deepEqual(slurmSettings(undefined), {});
});
