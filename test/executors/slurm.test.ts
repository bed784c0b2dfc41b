// The Slurm executor against a real single-node Slurm (scripts/slurm-local.sh): the shared
// conformance suite, then what is particular to Slurm (sbatch's resources, node loss, scancel from
// outside).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SlurmExecutor } from '../../src/executors/slurm/slurm-executor.js';
import { Harness, runExecutorConformance, waitForFile } from './conformance.js';
import { slurm } from './slurm-helpers.js';

const TIMEOUT = 30_000;
const { skip } = await slurm();

const jobIdOf = (dataDir: string, key: string) => fs.readFileSync(path.join(dataDir, 'slurm', key, 'job'), 'utf8').trim();

if (skip) {
  test('slurm executor', { skip }, () => {});
} else {
  const make = (dataDir: string) => new SlurmExecutor({ dataDir, stopGraceMs: 5000, pollMs: 200 });

  runExecutorConformance('slurm', make, {
    timeoutMs: TIMEOUT,
    waitForRecordedExit: async (dataDir, key, timeoutMs) => {
      // The batch script writes the command's status next to the attempt's state before it exits.
      const dir = path.join(dataDir, 'slurm', key);
      await waitForFile(dir, () => (fs.existsSync(path.join(dir, 'exit')) ? true : undefined), timeoutMs, `${dir}/exit`);
    },
    killAttemptHard: async (dataDir, key, timeoutMs) => {
      // scancel from outside OpenBatch: as a node lost under the job, nothing records an exit.
      const id = jobIdOf(dataDir, key);
      execFileSync('scancel', [id]);
      const deadline = Date.now() + timeoutMs;
      while (!/JobState=CANCELLED/.test(execFileSync('scontrol', ['show', 'job', id, '-o'], { encoding: 'utf8' }))) {
        if (Date.now() > deadline) throw new Error(`Slurm job ${id} not cancelled`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    usageNotMeasured: () => {
      const why = 'the Slurm executor does not measure usage (it would need accounting: sacct / jobacct_gather)';
      return { peakMemory: why, cpu: why };
    },
  });

  describe('slurm executor', { timeout: 300_000 }, () => {
    const withHarness = (fn: (h: Harness) => Promise<void>) => async () => {
      const h = await Harness.create(make, TIMEOUT);
      try {
        await fn(h);
      } finally {
        await h.dispose();
      }
    };

    test('sbatch gets the job name, CPUs, memory and the comment; the log file is the job\'s output', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo "cpus=$SLURM_CPUS_PER_TASK mem=$SLURM_MEM_PER_NODE name=$SLURM_JOB_NAME"'], { vcpus: 2, memory: 300, jobName: 'sized-job' }));
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.exitCode, 0, h.log(spec));
      assert.equal(h.log(spec), 'cpus=2 mem=300 name=sized-job\n');
    }));

    test('scancel from outside while it runs: lost (host-loss), no exit code', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
      await h.events.running(spec.key, TIMEOUT);
      await h.waitForLog(spec, 'ready');
      execFileSync('scancel', [jobIdOf(h.dataDir, spec.key)]);
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.lost, true);
      assert.equal(exited.exitCode, undefined);
      assert.match(exited.reason ?? '', /cancelled outside OpenBatch/);
    }));

    // OUT_OF_MEMORY → the OOM reason is covered by test/executors/slurm-spec.test.ts: the test
    // cluster enforces no memory limit (task/none, proctrack/pgid; see docs/slurm.md).
  });
}
