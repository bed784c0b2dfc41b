// Faults of the local executor's host and of jobs that misbehave, in both launcher modes: each
// ends the attempt with a clear reason (AWS's where AWS has one), and the executor carries on.
//   - an executable on a noexec file system: CannotStartContainerError ... permission denied
//   - the work dir cannot be made (read-only file system, work/ not a directory)
//   - the log cannot be created (no inodes left), the log's file system fills up while the job runs
//   - memory: each attempt in a cgroup of its own, limited to the job's memory; an OOM kill is
//     `OutOfMemoryError: Container killed due to memory usage` (also across a restart)
//   - processes that leave the command's process group (setsid), and ones that ignore SIGTERM:
//     nothing of an attempt outlives it, on stop and (with cgroups) on a normal exit
//   - the cgroups' own housekeeping: leftovers swept, a removed directory made again, close()
// Faults that need root (mounting a tmpfs, cgroups) are skipped where the host does not allow them.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CGROUP_TOP, detectCgroups } from '../../src/executors/local/cgroups.js';
import { LocalExecutor, REASON_OOM, attemptStateDir, attemptWorkDir, type LauncherMode } from '../../src/executors/local/local-executor.js';
import type { AttemptBook } from '../../src/executors/local/attempts.js';
import { findPerl } from '../../src/executors/local/launcher.js';
import { logFilePath } from '../../src/store/log-files.js';
import { Harness } from './conformance.js';
import { TIMEOUT, isAlive, waitForPids, waitForRecordedExit, waitUntil, waitUntilGone } from './local-helpers.js';

/** A process's group (/proc/<pid>/stat field 5). */
function processGroupOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Mounts a tmpfs at `dir` (made if missing); returns its unmount, or undefined where this host does not allow it. */
function mountTmpfs(dir: string, options: string): (() => void) | undefined {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return () => execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
}

const CAN_MOUNT = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-mount-probe-'));
  const unmount = mountTmpfs(dir, 'size=64k');
  unmount?.();
  fs.rmSync(dir, { recursive: true, force: true });
  return unmount !== undefined;
})();

const CGROUPS = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-cgroup-probe-'));
  const found = detectCgroups(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (!('config' in found)) return found.why;
  fs.rmdirSync(found.config.dir);
  return true;
})();

const noMount = CAN_MOUNT ? false : 'cannot mount a tmpfs here (needs root)';
const noCgroups = CGROUPS === true ? false : `no usable memory cgroups: ${CGROUPS}`;

/** The pids a job printed as `name=PID`. */
function printedPids(log: string, ...names: string[]): number[] {
  return names.map((name) => {
    const m = new RegExp(`${name}=(\\d+)`).exec(log);
    assert.ok(m, `${name}=PID in the log: ${JSON.stringify(log)}`);
    return Number(m[1]);
  });
}

function killQuietly(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** The memory cgroup a process is in, from /proc/<pid>/cgroup (cgroup v1 `memory` line, else v2's). */
function memoryCgroupOf(log: string): string | undefined {
  return /^\d+:memory:(.*)$/m.exec(log)?.[1] ?? /^0::(.*)$/m.exec(log)?.[1];
}

if (findPerl()) faultTests('perl');
else test('local executor faults (perl)', { skip: 'no perl on this machine' }, () => {});
faultTests('spawn');

function faultTests(launcher: Exclude<LauncherMode, 'auto'>): void {
  const make = (cgroups: 'auto' | 'off') => (dataDir: string) => new LocalExecutor({ dataDir, stopGraceMs: 5000, adoptedCheckIntervalMs: 200, launcher, cgroups });
  const withHarness = (fn: (h: Harness) => Promise<void>, cgroups: 'auto' | 'off' = 'auto') => async () => {
    const h = await Harness.create(make(cgroups), TIMEOUT);
    try {
      await fn(h);
    } finally {
      await h.dispose();
    }
  };
  const local = (h: Harness) => h.executor as LocalExecutor;

  describe(`local executor faults (${launcher})`, { timeout: 300_000 }, () => {
    test('an executable on a noexec file system: CannotStartContainerError ... permission denied', { skip: noMount }, withHarness(async (h) => {
      const dir = path.join(h.scratch, 'noexec');
      const unmount = mountTmpfs(dir, 'noexec,size=64k')!;
      try {
        const tool = path.join(dir, 'tool');
        fs.writeFileSync(tool, '#!/bin/sh\necho ran\n', { mode: 0o755 });
        const spec = h.start(h.spec([tool]));
        const exited = await h.events.exited(spec.key, TIMEOUT);
        assert.equal(exited.neverStarted, true);
        assert.equal(exited.reason, `CannotStartContainerError: exec: "${tool}": permission denied`);
        assert.doesNotMatch(h.log(spec), /ran/);
      } finally {
        unmount();
      }
    }));

    test('the work dir cannot be made (read-only, not a directory): CannotStartContainerError, and attempts run again once it can', { skip: noMount }, withHarness(async (h) => {
      const work = path.dirname(attemptWorkDir(h.dataDir, 'x'));
      const unmount = mountTmpfs(work, 'ro,size=64k')!;
      const ro = h.spec(['sh', '-c', 'echo ran']);
      try {
        h.start(ro);
        const exited = await h.events.exited(ro.key, TIMEOUT);
        assert.equal(exited.neverStarted, true);
        assert.equal(exited.reason, `CannotStartContainerError: cannot create the working directory ${attemptWorkDir(h.dataDir, ro.key)}: read-only file system`);
      } finally {
        unmount();
      }
      assert.equal(h.log(ro), '');
      const ok = h.start(h.spec(['sh', '-c', 'echo ran']));
      assert.equal((await h.events.exited(ok.key, TIMEOUT)).exitCode, 0);
      assert.equal(h.log(ok), 'ran\n');

      // work/ is a file: a new executor on this data dir does not throw; its attempts fail to start.
      await h.executor.close();
      fs.rmSync(work, { recursive: true, force: true });
      fs.writeFileSync(work, 'not a directory');
      await h.restart();
      const notDir = h.start(h.spec(['sh', '-c', 'echo ran']));
      const exited = await h.events.exited(notDir.key, TIMEOUT);
      assert.equal(exited.neverStarted, true);
      assert.equal(exited.reason, `CannotStartContainerError: cannot create the working directory ${attemptWorkDir(h.dataDir, notDir.key)}: not a directory`);
      fs.rmSync(work);
    }));

    test('the log cannot be created (no inodes left on its file system): CannotStartContainerError', { skip: noMount }, withHarness(async (h) => {
      const logs = path.join(h.dataDir, 'logs');
      const unmount = mountTmpfs(logs, 'size=256k,nr_inodes=16')!;
      try {
        const first = h.start(h.spec(['sh', '-c', 'echo first']));
        assert.equal((await h.events.exited(first.key, TIMEOUT)).exitCode, 0);
        // Use up the inodes, next to the first log (its directory exists).
        const dir = path.dirname(logFilePath(h.dataDir, first.logGroupName, first.logStreamName));
        for (let i = 0; ; i++) {
          try {
            fs.writeFileSync(path.join(dir, `filler-${i}`), '');
          } catch (e) {
            assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
            break;
          }
        }
        const spec = h.start(h.spec(['sh', '-c', 'echo second']));
        const exited = await h.events.exited(spec.key, TIMEOUT);
        const logFile = logFilePath(h.dataDir, spec.logGroupName, spec.logStreamName);
        assert.equal(exited.neverStarted, true);
        assert.equal(exited.reason, `CannotStartContainerError: cannot open the log file ${logFile}: no space left on device`);
      } finally {
        unmount();
      }
    }));

    test('the log\'s file system fills up while the job runs: the failed attempt says OutOfDiskError', { skip: noMount }, withHarness(async (h) => {
      const logs = path.join(h.dataDir, 'logs');
      const unmount = mountTmpfs(logs, 'size=128k')!;
      try {
        const spec = h.start(h.spec(['sh', '-c', 'echo start; head -c 1000000 /dev/zero']));
        const exited = await h.events.exited(spec.key, TIMEOUT);
        assert.notEqual(exited.exitCode, 0);
        assert.equal(exited.neverStarted, undefined);
        const dir = path.dirname(logFilePath(h.dataDir, spec.logGroupName, spec.logStreamName));
        assert.equal(exited.reason, `OutOfDiskError: no space left on the device of the job's log (${dir}) when it exited; the log may be incomplete`);
        assert.match(h.log(spec), /^start\n/);
        // A job that succeeds despite the full disk gets no reason.
        const quiet = h.start(h.spec(['true']));
        const ok = await h.events.exited(quiet.key, TIMEOUT);
        assert.equal(ok.exitCode, 0);
        assert.equal(ok.reason, undefined);
      } finally {
        unmount();
      }
      // Space again (the mount is gone): jobs run and log as usual, with the same executor.
      const after = h.start(h.spec(['sh', '-c', 'echo fine; exit 3']));
      const exited = await h.events.exited(after.key, TIMEOUT);
      assert.equal(exited.exitCode, 3);
      assert.equal(exited.reason, undefined);
      assert.equal(h.log(after), 'fine\n');
    }));

    test('memory: the command runs in a cgroup of its own with the job\'s memory as its limit, removed after it', { skip: noCgroups }, withHarness(async (h) => {
      const config = local(h).cgroups!;
      assert.ok(config, 'cgroups are in use');
      const limitFile = config.version === 1 ? 'memory.limit_in_bytes' : 'memory.max';
      const spec = h.start(h.spec(['sh', '-c', `cat /proc/self/cgroup; echo "limit=$(cat "${config.dir}/$OPENBATCH_ATTEMPT_KEY/${limitFile}")"`], { memory: 48 }));
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 0);
      const log = h.log(spec);
      assert.ok(memoryCgroupOf(log)?.endsWith(`/${CGROUP_TOP}/${path.basename(config.dir)}/${spec.key}`), log);
      assert.match(log, new RegExp(`^limit=${48 * 1024 * 1024}$`, 'm'));
      await waitUntil(() => !fs.existsSync(path.join(config.dir, spec.key)), 'the cgroup removed');
    }));

    test('memory: an OOM kill is OutOfMemoryError (the command killed: 137; a shell whose child was killed: its own code)', { skip: noCgroups }, withHarness(async (h) => {
      const killed = h.start(h.spec(['sh', '-c', 'exec tail -n1 /dev/zero'], { memory: 32 }));
      // The wrapping shell is kept out of the OOM killer's choice (oom_score_adj -1000, root only, as
      // cgroups are), its pipeline back in: on a loaded machine a second OOM kill while the first
      // victim is still exiting could otherwise take the shell itself (seen in CI: 137, not 3).
      const wrapper = h.start(
        h.spec(['sh', '-c', 'echo -1000 >/proc/self/oom_score_adj; head -c 200000000 /dev/zero | sh -c \'echo 0 >/proc/self/oom_score_adj; exec tail -n1\' >/dev/null; echo "pipeline=$?"; exit 3'], { memory: 32 }),
      );
      const within = h.start(h.spec(['sh', '-c', 'head -c 8000000 /dev/zero | tail -n1 | wc -c; exit 4'], { memory: 64 }));
      const a = await h.events.exited(killed.key, TIMEOUT);
      assert.equal(a.exitCode, 137);
      assert.equal(a.reason, REASON_OOM);
      const b = await h.events.exited(wrapper.key, TIMEOUT);
      assert.equal(b.exitCode, 3);
      assert.equal(b.reason, REASON_OOM);
      assert.match(h.log(wrapper), /pipeline=137/);
      const c = await h.events.exited(within.key, TIMEOUT);
      assert.equal(c.exitCode, 4, 'within its limit, the job runs to its own end');
      assert.equal(c.reason, undefined);
      assert.match(h.log(within), /^8000000$/m);
    }));

    test('memory: an OOM kill while the server was down is reported by adopt with OutOfMemoryError', { skip: noCgroups }, withHarness(async (h) => {
      const go = path.join(h.scratch, 'go');
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; while [ ! -e "$1" ]; do sleep 0.05; done; exec tail -n1 /dev/zero', 'sh', go], { memory: 32 }));
      await h.waitForLog(spec, 'ready');
      await h.restart();
      fs.writeFileSync(go, '');
      await waitForRecordedExit(h.dataDir, spec.key, TIMEOUT);
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'exited' }]);
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.exitCode, 137);
      assert.equal(exited.reason, REASON_OOM);
    }));

    test('memory: cgroups off: no cgroup of its own, no limit', withHarness(async (h) => {
      assert.equal(local(h).cgroups, undefined);
      const spec = h.start(h.spec(['sh', '-c', 'cat /proc/self/cgroup; head -c 100000000 /dev/zero | tail -n1 | wc -c'], { memory: 16 }));
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 0);
      const log = h.log(spec);
      assert.equal(memoryCgroupOf(log), memoryCgroupOf(fs.readFileSync('/proc/self/cgroup', 'utf8')), 'the server\'s own cgroup');
      assert.match(log, /^100000000$/m);
    }, 'off'));

    for (const cgroups of ['auto', 'off'] as const) {
      const skip = cgroups === 'auto' ? noCgroups : false;
      const label = cgroups === 'auto' ? 'with cgroups' : 'without cgroups';

      test(`stop(): a job that ignores SIGTERM and leaves a setsid'd, TERM-ignoring grandchild: all killed, 137 (${label})`, { skip }, withHarness(async (h) => {
        // The grandchild leaves the process group (setsid), ignores SIGTERM, and says its pid in a file.
        const sidFile = path.join(h.scratch, 'sid');
        const spec = h.start(
          h.spec([
            'sh',
            '-c',
            `trap "" TERM; sleep 100 & echo bg=$!; setsid sh -c 'trap "" TERM; echo $$ >"$0.tmp"; mv "$0.tmp" "$0"; exec sleep 100' "$1" & while [ ! -e "$1" ]; do sleep 0.01; done; echo "sid=$(cat "$1")"; echo ready; wait`,
            'sh',
            sidFile,
          ]),
        );
        await h.waitForLog(spec, 'ready');
        const [bg, sid] = printedPids(h.log(spec), 'bg', 'sid');
        try {
          const stoppedAt = Date.now();
          h.executor.stop(spec.key, 300);
          const exited = await h.events.exited(spec.key, TIMEOUT);
          assert.equal(exited.exitCode, 137);
          assert.ok(Date.now() - stoppedAt >= 280, 'SIGKILL after the grace');
          await waitUntilGone(bg);
          await waitUntilGone(sid);
        } finally {
          killQuietly([bg, sid]);
        }
      }, cgroups));

      test(`a normal exit: the rest of its process group is killed${cgroups === 'auto' ? ', and what left it (setsid)' : ''} (${label})`, { skip }, withHarness(async (h) => {
        const spec = h.start(h.spec(['sh', '-c', `sleep 100 & echo bg=$!; ${cgroups === 'auto' ? 'env -u OPENBATCH_ATTEMPT_KEY ' : ''}setsid sleep 100 & echo sid=$!; exit 0`]));
        assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 0);
        const [bg, sid] = printedPids(h.log(spec), 'bg', 'sid');
        try {
          await waitUntilGone(bg);
          // Without cgroups a process that left the group (a daemon) outlives the command: a
          // documented limit (README); it is killed when its attempt is stopped or found lost.
          if (cgroups === 'auto') await waitUntilGone(sid);
        } finally {
          killQuietly([bg, sid]);
        }
      }, cgroups));
    }

    // A daemon that left the process group and dropped the attempt's key from its environment:
    // only its cgroup still says whose it is.
    const DAEMON = 'env -u OPENBATCH_ATTEMPT_KEY setsid sleep 100 & echo sid=$!; echo ready; exec sleep 100';

    test('a supervisor killed: the attempt is lost, what ran in its cgroup is killed and the cgroup removed', { skip: noCgroups }, withHarness(async (h) => {
      const config = local(h).cgroups!;
      const spec = h.start(h.spec(['sh', '-c', DAEMON]));
      await h.waitForLog(spec, 'ready');
      const [sid] = printedPids(h.log(spec), 'sid');
      try {
        const pids = await waitForPids(h.dataDir, spec.key);
        process.kill(pids.supervisor, 'SIGKILL');
        const exited = await h.events.exited(spec.key, TIMEOUT);
        assert.equal(exited.lost, true);
        await waitUntilGone(pids.command);
        await waitUntilGone(sid);
        await waitUntil(() => !fs.existsSync(path.join(config.dir, spec.key)), 'the cgroup removed');
      } finally {
        killQuietly([sid]);
      }
    }));

    test('adopt: an attempt whose supervisor died while the server was down is lost; its cgroup is emptied and removed', { skip: noCgroups }, withHarness(async (h) => {
      const config = local(h).cgroups!;
      const spec = h.start(h.spec(['sh', '-c', DAEMON]));
      await h.waitForLog(spec, 'ready');
      const [sid] = printedPids(h.log(spec), 'sid');
      try {
        const pids = await waitForPids(h.dataDir, spec.key);
        await h.restart();
        process.kill(pids.supervisor, 'SIGKILL');
        await waitUntilGone(pids.supervisor);
        assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'lost' }]);
        assert.equal((await h.events.exited(spec.key, TIMEOUT)).lost, true);
        await waitUntilGone(pids.command);
        await waitUntilGone(sid);
        await waitUntil(() => !fs.existsSync(path.join(config.dir, spec.key)), 'the cgroup removed');
      } finally {
        killQuietly([sid]);
      }
    }));

    // Spawn mode only: a perl launcher's child makes its cgroup itself, again if it went.
    if (launcher === 'spawn') test('a restart before the supervisor moved into its cgroup: the cgroup is kept for it, the command runs in it and adopt reports exit 0', { skip: noCgroups }, withHarness(async (h) => {
      const config = local(h).cgroups!;
      const go = path.join(h.scratch, 'go');
      const spec = h.start(h.spec(['sh', '-c', 'while [ ! -e "$1" ]; do sleep 0.05; done; cat /proc/self/cgroup', 'sh', go], { memory: 64 }));
      // Hold the supervisor and its subshell (its process group) right after the spawn, before the
      // subshell moves into the cgroup (almost always: the spawn returned microseconds ago), while
      // the server restarts: the new executor's start-up sweep finds the attempt's cgroup empty.
      const child = (local(h) as unknown as { book: AttemptBook }).book.attempts.get(spec.key)?.child;
      assert.ok(child?.pid, 'the supervisor was spawned');
      const group = processGroupOf(child.pid);
      process.kill(-group, 'SIGSTOP');
      try {
        if (fs.readFileSync(path.join(config.dir, spec.key, 'cgroup.procs'), 'utf8').trim() !== '') {
          process.stderr.write('# the subshell had moved into its cgroup already: the window was missed (the sweep test checks the rule)\n');
        }
        await h.restart();
        await new Promise((r) => setImmediate(r)); // after the new executor's start-up sweep
        assert.ok(fs.existsSync(path.join(config.dir, spec.key)), "the cgroup of a dispatched attempt is not swept");
      } finally {
        process.kill(-group, 'SIGCONT');
      }
      fs.writeFileSync(go, '');
      await waitForRecordedExit(h.dataDir, spec.key, TIMEOUT);
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'exited' }]);
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.exitCode, 0, JSON.stringify(exited));
      assert.ok(memoryCgroupOf(h.log(spec))?.endsWith(`/${path.basename(config.dir)}/${spec.key}`), h.log(spec));
      assert.ok(exited.usage?.peakMemoryMiB !== undefined, 'its peak memory, read from the cgroup before adopt removed it');
      await waitUntil(() => !fs.existsSync(path.join(config.dir, spec.key)), 'the cgroup removed by adopt');
    }));

    test("cgroups: leftovers nothing runs in are swept at start (and empty directories of other data dirs), busy ones and dispatched spawn-mode attempts' stay; a removed directory is made again; close() removes it", { skip: noCgroups }, async () => {
      const h = await Harness.create(make('auto'), TIMEOUT);
      let holder: number | undefined;
      let dir: string | undefined;
      try {
        dir = local(h).cgroups!.dir;
        await h.executor.close();
        // A leftover (its supervisor died before it removed it), and one a process still runs in.
        fs.mkdirSync(path.join(dir, 'leftover.1'), { recursive: true });
        fs.mkdirSync(path.join(dir, 'busy.1'));
        // An empty one of a spawn-mode attempt still dispatched (its state dir exists): its supervisor
        // may be about to move in, or adopt is still to read its peak memory.
        fs.mkdirSync(path.join(dir, 'dispatched.1'));
        fs.mkdirSync(attemptStateDir(h.dataDir, 'dispatched.1'), { recursive: true });
        // The directory of another data dir whose launcher was SIGKILLed, empty.
        const other = path.join(path.dirname(dir), 'leftover-data-dir');
        fs.mkdirSync(other);
        const sleeper = execFileSync('sh', ['-c', `sleep 100 >/dev/null 2>&1 & echo $! > "${path.join(dir, 'busy.1', 'cgroup.procs')}"; echo $!`], { encoding: 'utf8' });
        holder = Number(sleeper.trim());
        await h.restart();
        await waitUntil(() => !fs.existsSync(path.join(dir!, 'leftover.1')), 'the leftover swept');
        assert.equal(fs.existsSync(other), false, 'an empty directory of another data dir swept');
        assert.ok(fs.existsSync(path.join(dir, 'busy.1')), 'a cgroup in use stays');
        assert.ok(fs.existsSync(path.join(dir, 'dispatched.1')), "a dispatched spawn-mode attempt's cgroup stays");
        fs.rmdirSync(path.join(dir, 'dispatched.1'));
        assert.ok(isAlive(holder));
        killQuietly([holder]);
        await waitUntilGone(holder);
        await waitUntil(() => {
          try {
            fs.rmdirSync(path.join(dir!, 'busy.1'));
            return true;
          } catch {
            return false;
          }
        }, 'busy.1 removed');

        // The data dir's cgroup directory removed under the executor: made again by the next attempt.
        fs.rmdirSync(dir);
        const spec = h.start(h.spec(['cat', '/proc/self/cgroup']));
        assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 0);
        assert.ok(memoryCgroupOf(h.log(spec))?.endsWith(`/${path.basename(dir)}/${spec.key}`), h.log(spec));

        await h.executor.close();
        await waitUntil(() => !fs.existsSync(dir!), 'the data dir\'s cgroup directory removed at close');
        await h.restart();
      } finally {
        if (holder !== undefined) killQuietly([holder]);
        try {
          if (dir !== undefined) fs.rmdirSync(path.join(dir, 'dispatched.1'));
        } catch {
          // removed by the test (or never made)
        }
        await h.dispose();
      }
    });
  });
}
