// The local process executor: the shared conformance suite, then what is particular to it
// (process groups, work dirs, the supervisor and what it records, crash cases, throughput), in both
// of its launcher modes: `perl` (one perl launcher forks the commands and supervises them, keeping a
// journal) and `spawn` (the server spawns a shell supervisor per attempt, which keeps state files).
// "The supervisor" below is the launcher in perl mode. What only the perl launcher does:
// local-launcher.test.ts.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LocalExecutor, attemptStateDir, attemptWorkDir, type LauncherMode } from '../../src/executors/local/local-executor.js';
import { findPerl } from '../../src/executors/local/launcher.js';
import { logFilePath } from '../../src/store/log-files.js';
import { readExitStatus } from '../../src/executors/local/supervisor.js';
import { Harness, runExecutorConformance } from './conformance.js';
import {
  TIMEOUT,
  carriesKey,
  isAlive,
  killAttemptHard,
  readJournals,
  recordedExit,
  startedPids,
  waitForPids,
  waitForRecordedExit,
  waitUntil,
  waitUntilGone,
} from './local-helpers.js';

if (findPerl()) localExecutorTests('perl');
else test('local executor (perl)', { skip: 'no perl on this machine' }, () => {});
localExecutorTests('spawn');

function localExecutorTests(launcher: Exclude<LauncherMode, 'auto'>): void {
  runExecutorConformance(`local (${launcher})`, (dataDir) => new LocalExecutor({ dataDir, stopGraceMs: 5000, launcher }), {
    timeoutMs: TIMEOUT,
    waitForRecordedExit,
    killAttemptHard,
    usageNotMeasured: (executor) =>
      launcher === 'spawn' && !(executor as LocalExecutor).cgroups
        ? { peakMemory: 'spawn mode measures peak memory only through memory cgroups, which this host does not give (OPENBATCH_LOCAL_CGROUPS=off, not root, or no memory controller)' }
        : launcher === 'perl' && !['x64', 'arm64'].includes(process.arch) && !(executor as LocalExecutor).cgroups
          ? { peakMemory: `perl mode measures peak memory through cgroups or wait4(2), whose system call number is known for x64 and arm64 only (this is ${process.arch})` }
          : undefined,
  });

  describe(`local executor (${launcher})`, { timeout: 300_000 }, () => {
    const make = (dataDir: string) => new LocalExecutor({ dataDir, stopGraceMs: 5000, adoptedCheckIntervalMs: 200, launcher });
    const withHarness = (fn: (h: Harness) => Promise<void>) => async () => {
      const h = await Harness.create(make, TIMEOUT);
      try {
        await fn(h);
      } finally {
        await h.dispose();
      }
    };
    const local = (h: Harness) => h.executor as LocalExecutor;

    test('the command leads its own session and process group, runs in its work dir, carries its key', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'cat /proc/$$/stat; pwd; echo "key=$OPENBATCH_ATTEMPT_KEY"; grep SigIgn /proc/$$/status']));
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 0);
      const [stat, cwd, key, sigIgn] = h.log(spec).split('\n');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(stat.split(' ')[0]);
      assert.equal(Number(fields[2]), pid, 'pgid = pid');
      assert.equal(Number(fields[3]), pid, 'sid = pid');
      assert.equal(cwd, attemptWorkDir(h.dataDir, spec.key));
      assert.equal(key, `key=${spec.key}`);
      // Not a shell background job: SIGINT and SIGQUIT are not ignored.
      assert.equal(sigIgn, 'SigIgn:\t0000000000000000');
      assert.equal(startedPids(h.dataDir, spec.key)?.command, pid);
    }));

    test('PATH and HOME come from the server unless the job sets them; command[0] is looked up in the job PATH', withHarness(async (h) => {
      const inherit = h.start(h.spec(['sh', '-c', 'echo "$PATH|$HOME"']));
      assert.equal((await h.events.exited(inherit.key, TIMEOUT)).exitCode, 0);
      assert.equal(h.log(inherit), `${process.env.PATH}|${process.env.HOME}\n`);

      const own = h.spec(['sh', '-c', 'echo "$PATH|$HOME"']);
      own.environment.PATH = '/usr/bin:/bin';
      own.environment.HOME = '/nowhere';
      h.start(own);
      assert.equal((await h.events.exited(own.key, TIMEOUT)).exitCode, 0);
      assert.equal(h.log(own), '/usr/bin:/bin|/nowhere\n');

      const noSh = h.spec(['sh', '-c', 'exit 0']);
      noSh.environment.PATH = '/nonexistent';
      h.start(noSh);
      const exited = await h.events.exited(noSh.key, TIMEOUT);
      assert.equal(exited.neverStarted, true);
      assert.equal(exited.reason, 'CannotStartContainerError: exec: "sh": executable file not found in $PATH');
      assert.equal(fs.existsSync(attemptStateDir(h.dataDir, noSh.key)), false, 'not dispatched');
    }));

    test('start failures by path: no such file, permission denied, a directory', withHarness(async (h) => {
      const plain = path.join(h.scratch, 'not-executable.sh');
      fs.writeFileSync(plain, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
      const cases: [string[], string][] = [
        [[plain], `CannotStartContainerError: exec: "${plain}": permission denied`],
        [[h.scratch], `CannotStartContainerError: exec: "${h.scratch}": is a directory`],
        [['./missing'], 'CannotStartContainerError: exec: "./missing": stat ./missing: no such file or directory'],
      ];
      for (const [command, reason] of cases) {
        const spec = h.start(h.spec(command));
        const exited = await h.events.exited(spec.key, TIMEOUT);
        assert.equal(exited.neverStarted, true);
        assert.equal(exited.reason, reason);
      }
    }));

    test('a relative executable is resolved against the work dir', withHarness(async (h) => {
      const spec = h.start(h.spec(['../../test-scratch/tool.sh']));
      // not there yet → start failure
      const first = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(first.neverStarted, true);
      fs.writeFileSync(path.join(h.scratch, 'tool.sh'), '#!/bin/sh\necho "tool in $(pwd)"\n', { mode: 0o755 });
      const again = h.start(h.spec(['../../test-scratch/tool.sh']));
      assert.equal((await h.events.exited(again.key, TIMEOUT)).exitCode, 0);
      assert.equal(h.log(again), `tool in ${attemptWorkDir(h.dataDir, again.key)}\n`);
    }));

    test('release() removes the work dir and what was recorded (state dir / journal: released)', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo scratch > file; exit 0']));
      const stateDir = attemptStateDir(h.dataDir, spec.key);
      const workDir = attemptWorkDir(h.dataDir, spec.key);
      await h.events.exited(spec.key, TIMEOUT);
      assert.equal(fs.readFileSync(path.join(workDir, 'file'), 'utf8'), 'scratch\n');
      assert.equal(recordedExit(h.dataDir, spec.key), 0);
      assert.equal(fs.existsSync(stateDir), launcher === 'spawn', 'a state dir in spawn mode only');
      local(h).release(spec.key);
      await waitUntil(() => !fs.existsSync(stateDir) && !fs.existsSync(workDir), 'state and work dirs removed');
      if (launcher === 'perl') {
        // The launcher's current journal stays; an R record says the attempt is released.
        await waitUntil(() => readJournals(h.dataDir).get(spec.key)?.released === true, 'an R record');
      }
      assert.ok(fs.existsSync(path.dirname(workDir)));
      assert.ok(fs.existsSync(logFilePath(h.dataDir, spec.logGroupName, spec.logStreamName)), 'the log stays (it belongs to the log store)');
    }));

    test('release() of a running attempt is a no-op', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
      await h.waitForLog(spec, 'ready');
      local(h).release(spec.key);
      h.executor.stop(spec.key, 0);
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 143);
      assert.equal(recordedExit(h.dataDir, spec.key), 143);
    }));

    test('starting the same attempt twice is a bug and throws', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'exit 0']));
      assert.throws(() => h.executor.start(spec), /already/);
      await h.events.exited(spec.key, TIMEOUT);
      assert.throws(() => h.executor.start(spec), /already dispatched/);
    }));

    test('event times come from the injected clock', async () => {
      let clock = 1_000;
      const h = await Harness.create((dataDir) => new LocalExecutor({ dataDir, now: () => clock++, launcher }), TIMEOUT);
      try {
        const spec = h.start(h.spec(['sh', '-c', 'exit 0']));
        const running = await h.events.running(spec.key, TIMEOUT);
        const exited = await h.events.exited(spec.key, TIMEOUT);
        assert.equal(running.at, 1000);
        assert.equal(exited.at, 1001);
      } finally {
        await h.dispose();
      }
    });

    test('when the command exits, the rest of its process group is killed (as a container stops)', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'sleep 30 & echo "bg=$!"; exit 0']));
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 0);
      const bg = Number(/bg=(\d+)/.exec(h.log(spec))?.[1]);
      assert.ok(bg > 1);
      await waitUntilGone(bg);
    }));

    test('a SIGTERM to the supervisor does not cost the exit status', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
      await h.waitForLog(spec, 'ready');
      const pids = await waitForPids(h.dataDir, spec.key);
      process.kill(pids.supervisor, 'SIGTERM');
      process.kill(pids.supervisor, 'SIGHUP');
      h.executor.stop(spec.key, 5000);
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.exitCode, 143);
      assert.equal(exited.lost, undefined);
    }));

    test('a supervisor killed while the server runs: lost, and its command is killed', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
      await h.waitForLog(spec, 'ready');
      const pids = await waitForPids(h.dataDir, spec.key);
      process.kill(pids.supervisor, 'SIGKILL');
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.lost, true);
      assert.match(exited.reason ?? '', launcher === 'perl' ? /^CannotInspectContainerError: the local launcher supervising the attempt was killed/ : /^CannotInspectContainerError: .*supervisor was killed/);
      await waitUntilGone(pids.command);
    }));

    test('adopt: a supervisor killed while down with its command still running: the command is killed, lost', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; sleep 30 & sleep 30; wait']));
      await h.waitForLog(spec, 'ready');
      const pids = await waitForPids(h.dataDir, spec.key);
      await h.restart();
      process.kill(pids.supervisor, 'SIGKILL');
      await waitUntilGone(pids.supervisor);
      assert.ok(isAlive(pids.command));
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'lost' }]);
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.lost, true);
      await waitUntilGone(pids.command);
      // and nothing that carries the attempt's key is left
      await waitUntil(() => !fs.readdirSync('/proc').some((p) => /^\d+$/.test(p) && carriesKey(Number(p), spec.key)), 'no process with the key');
    }));

    test('adopt: dispatched, then the server died before anything picked it up (spawn: a bare state dir; perl: no trace) is not-started, and undone', withHarness(async (h) => {
      const spec = h.spec(['sh', '-c', 'echo ran']);
      if (launcher === 'spawn') fs.mkdirSync(attemptStateDir(h.dataDir, spec.key));
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'not-started' }]);
      assert.equal(fs.existsSync(attemptStateDir(h.dataDir, spec.key)), false);
      assert.equal(fs.existsSync(attemptWorkDir(h.dataDir, spec.key)), false);
      // The server then starts it as usual.
      h.start(spec);
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 0);
      assert.equal(h.log(spec), 'ran\n');
      assert.deepEqual(h.events.of(spec.key).map((e) => e.type), ['running', 'exited']);
    }));

    test('adopt: claimed (a work dir) but nothing recorded and no supervisor (one was there, gone before it recorded anything) is lost', withHarness(async (h) => {
      const spec = h.spec(['sh', '-c', 'exit 0']);
      if (launcher === 'spawn') fs.mkdirSync(attemptStateDir(h.dataDir, spec.key));
      fs.mkdirSync(attemptWorkDir(h.dataDir, spec.key));
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'lost' }]);
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).lost, true);
    }));

    test('adopt: an incomplete exit record (no newline) does not count as an exit', withHarness(async (h) => {
      const spec = h.spec(['sh', '-c', 'exit 0']);
      if (launcher === 'spawn') {
        const stateDir = attemptStateDir(h.dataDir, spec.key);
        fs.mkdirSync(stateDir);
        fs.writeFileSync(path.join(stateDir, 'exit'), '1');
        assert.equal(readExitStatus(stateDir), undefined);
        assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'lost' }]);
        fs.writeFileSync(path.join(stateDir, 'exit'), '12\n');
        assert.equal(readExitStatus(stateDir), 12);
        return;
      }
      // The journal of a launcher that is gone (pid 4194304 is above any pid_max): started, and an
      // X record cut short.
      const journal = path.join(h.dataDir, 'journals', 'journal.4194304.1.0');
      fs.mkdirSync(path.dirname(journal), { recursive: true });
      fs.writeFileSync(journal, `S ${spec.key} 4194304 1 1 1000\nX ${spec.key} 1`);
      fs.mkdirSync(attemptWorkDir(h.dataDir, spec.key));
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'lost' }]);
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).lost, true);
      // Completed, it counts (for the next restart).
      fs.appendFileSync(journal, '2 2000\n');
      await h.restart();
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'exited' }]);
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.exitCode, 12);
      assert.equal(exited.at, 2000);
    }));

    test('adopt: an exit recorded while down is reported with when it was recorded', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'exit 7']));
      await waitForRecordedExit(h.dataDir, spec.key, TIMEOUT);
      await h.restart();
      const recordedAt =
        launcher === 'spawn' ? fs.statSync(path.join(attemptStateDir(h.dataDir, spec.key), 'exit')).mtimeMs : readJournals(h.dataDir).get(spec.key)!.exit!.at;
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'exited' }]);
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.exitCode, 7);
      assert.equal(exited.at, recordedAt);
    }));

    test('adopt: an adopted attempt whose supervisor then dies unrecorded is reported lost', withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
      await h.waitForLog(spec, 'ready');
      const pids = await waitForPids(h.dataDir, spec.key);
      await h.restart();
      const [outcome] = await h.executor.adopt([spec]);
      assert.equal(outcome.outcome, 'running');
      const startedAt =
        launcher === 'spawn' ? fs.statSync(path.join(attemptStateDir(h.dataDir, spec.key), 'pid')).mtimeMs : readJournals(h.dataDir).get(spec.key)!.start!.at;
      assert.equal(outcome.outcome === 'running' ? outcome.startedAt : undefined, startedAt);
      process.kill(pids.supervisor, 'SIGKILL');
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.lost, true);
      await waitUntilGone(pids.command);
    }));

    test('adopt: many attempts at once, mixed outcomes', withHarness(async (h) => {
      const go = path.join(h.scratch, 'go');
      const running = Array.from({ length: 5 }, () =>
        h.start(h.spec(['sh', '-c', 'echo ready; while [ ! -e "$1" ]; do sleep 0.05; done; exit 2', 'sh', go])),
      );
      const finished = Array.from({ length: 5 }, (_, i) => h.start(h.spec(['sh', '-c', `exit ${10 + i}`])));
      for (const s of running) await h.waitForLog(s, 'ready');
      for (const s of finished) await waitForRecordedExit(h.dataDir, s.key, TIMEOUT);
      const never = Array.from({ length: 3 }, () => h.spec(['true']));
      await h.restart();
      const outcomes = await h.executor.adopt([...running, ...finished, ...never]);
      assert.deepEqual(
        outcomes.map((o) => o.outcome),
        [...running.map(() => 'running'), ...finished.map(() => 'exited'), ...never.map(() => 'not-started')],
      );
      fs.writeFileSync(go, '');
      for (const [i, s] of finished.entries()) assert.equal((await h.events.exited(s.key, TIMEOUT)).exitCode, 10 + i);
      for (const s of running) assert.equal((await h.events.exited(s.key, TIMEOUT)).exitCode, 2);
    }));

    test('close() does not kill attempts and leaves nothing that keeps the event loop alive', async () => {
      const h = await Harness.create(make, TIMEOUT);
      try {
        const root = fileURLToPath(new URL('../..', import.meta.url));
        const script = path.join(h.scratch, 'close.ts');
        const spec = h.spec(['sh', '-c', 'echo ready; exec sleep 30']);
        fs.writeFileSync(
          script,
          `import { LocalExecutor } from ${JSON.stringify(path.join(root, 'src/executors/local/local-executor.ts'))};
const ex = new LocalExecutor({ dataDir: ${JSON.stringify(h.dataDir)}, launcher: ${JSON.stringify(launcher)} });
ex.onEvent(async (e) => { if (e.type === 'running') { ex.stop('unknown'); await ex.close(); console.log('closed'); } });
ex.start(${JSON.stringify(spec)});
`,
        );
        const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        const code = await new Promise<number | null>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('the process did not exit after close()')), TIMEOUT);
          child.on('exit', (c) => {
            clearTimeout(timer);
            resolve(c);
          });
        });
        assert.equal(code, 0);
        assert.equal(out, 'closed\n');
        const pids = await waitForPids(h.dataDir, spec.key);
        assert.ok(isAlive(pids.command), 'the attempt survives');
        await h.waitForLog(spec, 'ready');
        // Clean up through a new executor, as a restarted server would.
        assert.equal((await h.executor.adopt([spec]))[0].outcome, 'running');
        h.started.add(spec.key);
        h.executor.stop(spec.key, 0);
        assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 143);
      } finally {
        await h.dispose();
      }
    });

    test('throughput: 500 concurrent `true` jobs all exit 0 (time printed, not asserted)', withHarness(async (h) => {
      const specs = Array.from({ length: 500 }, () => h.spec(['true']));
      const t0 = performance.now();
      for (const s of specs) h.start(s);
      const startMs = performance.now() - t0;
      const exits = await Promise.all(specs.map((s) => h.events.exited(s.key, 120_000)));
      const totalMs = performance.now() - t0;
      assert.deepEqual(
        exits.map((e) => e.exitCode),
        specs.map(() => 0),
      );
      assert.equal(h.events.events.filter((e) => e.type === 'running').length, 500);
      process.stderr.write(`# local (${launcher}): 500 \`true\` jobs: start() calls ${startMs.toFixed(0)} ms, all exited after ${totalMs.toFixed(0)} ms\n`);
    }));
  });
}
