// Right-sizing data of the local executor, per way of measuring: the perl launcher with cgroups
// (the cgroup's high-water mark) and without (wait4's rusage), spawn mode with cgroups (the
// cgroup) and without (CPU time only: `times`; no peak memory, never a guess); and usage that
// survives a restart (the journal's X record, spawn mode's usage file). The conformance suite
// (conformance.ts) checks the default configuration of each executor.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { detectCgroups } from '../../src/executors/local/cgroups.js';
import { parseExitTokens } from '../../src/executors/local/launcher.js';
import { LocalExecutor, type LauncherMode } from '../../src/executors/local/local-executor.js';
import { findPerl } from '../../src/executors/local/launcher.js';
import { readCpuSeconds } from '../../src/executors/local/supervisor.js';
import { ALLOCATE_200_MIB, BURN_1S_CPU, Harness } from './conformance.js';
import { TIMEOUT, readJournals, waitForRecordedExit } from './local-helpers.js';

const CGROUPS = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-cgroup-probe-'));
  const found = detectCgroups(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (!('config' in found)) return found.why;
  fs.rmdirSync(found.config.dir);
  return true;
})();
const noCgroups = CGROUPS === true ? false : `no usable memory cgroups: ${CGROUPS}`;
const WAIT4 = ['x64', 'arm64'].includes(process.arch);

test('exit tokens: oom, mem=KiB, cpu=ms, in any order; unknown and malformed ones ignored', () => {
  assert.deepEqual(parseExitTokens([]), { oom: false });
  assert.deepEqual(parseExitTokens(['oom']), { oom: true });
  assert.deepEqual(parseExitTokens(['oom', 'mem=205824', 'cpu=1250']), { oom: true, usage: { peakMemoryMiB: 201, cpuSeconds: 1.25 } });
  assert.deepEqual(parseExitTokens(['cpu=0', 'later=1']), { oom: false, usage: { cpuSeconds: 0 } });
  assert.deepEqual(parseExitTokens(['mem=', 'mem=x', 'cpu=-1']), { oom: false });
});

test('spawn mode: the CPU time from the supervisor\'s `times` output (dash, old dash, past a minute)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-usage-file-'));
  try {
    const at = (text: string) => {
      fs.writeFileSync(path.join(dir, 'usage'), text);
      return readCpuSeconds(dir);
    };
    assert.equal(at('0m0.000000s 0m0.000000s\n0m1.010000s 0m0.004000s\n'), 1.014);
    assert.equal(at('0m0.00s 0m0.00s\n0m0.36s 0m0.04s\n'), 0.4);
    assert.equal(at('0m0.00s 0m0.00s\n2m3.5s 0m0.5s\n'), 124);
    assert.equal(at('garbage\n'), undefined);
    fs.rmSync(path.join(dir, 'usage'));
    assert.equal(readCpuSeconds(dir), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const modes: Exclude<LauncherMode, 'auto'>[] = findPerl() ? ['perl', 'spawn'] : ['spawn'];
for (const launcher of modes) {
  for (const cgroups of ['off', 'auto'] as const) {
    const make = (dataDir: string) => new LocalExecutor({ dataDir, stopGraceMs: 5000, adoptedCheckIntervalMs: 200, launcher, cgroups });
    const skip = cgroups === 'auto' ? noCgroups : false;
    // Peak memory: always with cgroups; without them, the launcher's wait4 (perl mode, x64/arm64).
    const measuresMemory = cgroups === 'auto' || (launcher === 'perl' && WAIT4);

    describe(`local executor usage: ${launcher}, cgroups ${cgroups}`, { skip, timeout: 300_000 }, () => {
      const withHarness = (fn: (h: Harness) => Promise<void>) => async () => {
        const h = await Harness.create(make, TIMEOUT);
        try {
          await fn(h);
        } finally {
          await h.dispose();
        }
      };

      test(measuresMemory ? 'a 200 MiB allocation: peak memory within 20 %' : 'no peak memory without cgroups (spawn mode): absent, not guessed', withHarness(async (h) => {
        if (cgroups === 'auto') assert.ok((h.executor as LocalExecutor).cgroups, 'cgroups in use');
        const spec = h.start(h.spec(ALLOCATE_200_MIB, { memory: 1024 }));
        const exited = await h.events.exited(spec.key, TIMEOUT);
        assert.equal(exited.exitCode, 0, h.log(spec));
        const peak = exited.usage?.peakMemoryMiB;
        if (measuresMemory) assert.ok(peak !== undefined && peak >= 160 && peak <= 240, `peak memory ${peak} MiB, expected 200 ± 20 %`);
        else assert.equal(peak, undefined);
        assert.ok(exited.usage?.cpuSeconds !== undefined, 'CPU time is measured in every mode');
      }));

      test('1 s of CPU: more than 0.5 CPU seconds; a failing command is measured too', withHarness(async (h) => {
        const spec = h.start(h.spec(BURN_1S_CPU));
        const exited = await h.events.exited(spec.key, TIMEOUT);
        assert.equal(exited.exitCode, 0, h.log(spec));
        const cpu = exited.usage?.cpuSeconds;
        assert.ok(cpu !== undefined && cpu > 0.5 && cpu < 30, `CPU ${cpu} s`);
        const failing = h.start(h.spec(['sh', '-c', 'exit 7']));
        const failed = await h.events.exited(failing.key, TIMEOUT);
        assert.equal(failed.exitCode, 7);
        assert.ok(failed.usage?.cpuSeconds !== undefined && failed.usage.cpuSeconds < 0.5, JSON.stringify(failed.usage));
      }));

      test('finished while the server was down: adopt reports the recorded usage', withHarness(async (h) => {
        const go = path.join(h.scratch, 'go');
        const spec = h.start(h.spec(['sh', '-c', 'while [ ! -e "$0" ]; do sleep 0.05; done; exec "$@"', go, ...ALLOCATE_200_MIB], { memory: 1024 }));
        await h.events.running(spec.key, TIMEOUT);
        await h.restart();
        fs.writeFileSync(go, '');
        await waitForRecordedExit(h.dataDir, spec.key, TIMEOUT);
        if (launcher === 'perl') {
          const x = readJournals(h.dataDir).get(spec.key);
          assert.equal(x?.exit?.status, 0);
        }
        assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'exited' }]);
        const exited = await h.events.exited(spec.key, TIMEOUT);
        assert.equal(exited.exitCode, 0, JSON.stringify(exited));
        const peak = exited.usage?.peakMemoryMiB;
        if (measuresMemory) assert.ok(peak !== undefined && peak >= 160 && peak <= 240, `peak memory ${peak} MiB after adopt`);
        else assert.equal(peak, undefined);
        assert.ok(exited.usage?.cpuSeconds !== undefined, 'CPU time recorded');
      }));
    });
  }
}
