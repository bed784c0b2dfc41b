// What only the local executor's perl launcher does: one long-lived perl process that forks the
// supervisors. Crash cases (the launcher killed, the server killed), the claim that keeps a late
// supervisor from running a given-up attempt, exec failures, the framing of requests, and the
// choice and fallback of the launcher mode. The behaviour both modes share: local.test.ts.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LAUNCHER_ENV, LocalExecutor, attemptStateDir, attemptWorkDir } from '../../src/executors/local/local-executor.js';
import { findPerl } from '../../src/executors/local/launcher.js';
import { findSupervisors, isLiveSupervisor, isSupervisorOf } from '../../src/executors/local/proc.js';
import { readPids, readRecordedExit } from '../../src/executors/local/supervisor.js';
import { logFilePath } from '../../src/store/log-files.js';
import { Harness, makeSpec, readLog, recordEvents } from './conformance.js';
import { TIMEOUT, isAlive, processesWithKey, procTitle, waitForPids, waitForRecordedExit, waitUntil, waitUntilGone } from './local-helpers.js';

const make = (dataDir: string) => new LocalExecutor({ dataDir, stopGraceMs: 5000, adoptedCheckIntervalMs: 200, launcher: 'perl' });

const withHarness = (fn: (h: Harness) => Promise<void>) => async () => {
  const h = await Harness.create(make, TIMEOUT);
  try {
    await fn(h);
  } finally {
    await h.dispose();
  }
};

const local = (h: Harness) => h.executor as LocalExecutor;

function startTimeOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

function parentOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Runs `body` (a module's source) in a separate node process, as a server would run. */
function runServer(h: Harness, body: string): ReturnType<typeof spawn> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const script = path.join(h.scratch, `server-${Math.random().toString(36).slice(2)}.ts`);
  fs.writeFileSync(script, `import { LocalExecutor } from ${JSON.stringify(path.join(root, 'src/executors/local/local-executor.ts'))};\n${body}`);
  return spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
}

function firstLine(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no output from the server process; so far ${JSON.stringify(out)}`)), TIMEOUT);
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.on('exit', () => reject(new Error(`the server process exited; output ${JSON.stringify(out)}`)));
  });
}

const noPerl = findPerl() ? false : 'no perl on this machine';

describe('local executor: the perl launcher', { timeout: 300_000, skip: noPerl }, () => {
  test('one launcher forks the supervisors; a supervisor names its state dir and records its start time', withHarness(async (h) => {
    const a = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
    const b = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
    await h.waitForLog(a, 'ready');
    await h.waitForLog(b, 'ready');
    const launcherPid = local(h).launcherPid;
    assert.equal(local(h).launcherMode, 'perl');
    assert.ok(launcherPid !== undefined && isAlive(launcherPid));
    assert.match(procTitle(launcherPid), /^openbatch-launcher /);
    for (const spec of [a, b]) {
      const stateDir = attemptStateDir(h.dataDir, spec.key);
      const pids = await waitForPids(h.dataDir, spec.key); // written once the command is exec'd: maybe after its first output
      assert.equal(parentOf(pids.supervisor), launcherPid, 'a fork of the launcher');
      assert.equal(procTitle(pids.supervisor), `openbatch-supervisor ${stateDir}`);
      assert.equal(pids.supervisorStart, startTimeOf(pids.supervisor));
      assert.equal(parentOf(pids.command), pids.supervisor);
      assert.ok(fs.existsSync(attemptWorkDir(h.dataDir, spec.key)), 'the supervisor made the work dir');
    }
  }));

  test('a perl supervisor is recognised in /proc by its name and by pid + start time', withHarness(async (h) => {
    const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
    await h.waitForLog(spec, 'ready');
    const stateDir = attemptStateDir(h.dataDir, spec.key);
    const pids = await waitForPids(h.dataDir, spec.key);
    assert.ok(isSupervisorOf(pids.supervisor, stateDir));
    assert.ok(!isSupervisorOf(pids.command, stateDir));
    assert.deepEqual([...findSupervisors(new Set([stateDir, '/elsewhere']))], [[stateDir, pids.supervisor]]);
    assert.ok(isLiveSupervisor(pids.supervisor, pids.supervisorStart, stateDir));
    assert.ok(!isLiveSupervisor(pids.supervisor, pids.supervisorStart! + 1, stateDir), 'another start time: a reused pid');
  }));

  test('adopt finds a live supervisor by its name when it has not written its pid file yet', withHarness(async (h) => {
    const go = path.join(h.scratch, 'go');
    const spec = h.start(h.spec(['sh', '-c', 'echo ready; while [ ! -e "$1" ]; do sleep 0.05; done; exit 4', 'sh', go]));
    await waitForPids(h.dataDir, spec.key);
    await h.restart();
    fs.rmSync(path.join(attemptStateDir(h.dataDir, spec.key), 'pid'));
    assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'running' }]);
    fs.writeFileSync(go, '');
    assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 4);
  }));

  test('kill -9 of the launcher while an attempt runs: the attempt completes, its exit is reported from the exit file', withHarness(async (h) => {
    const go = path.join(h.scratch, 'go');
    const spec = h.start(h.spec(['sh', '-c', 'echo ready; while [ ! -e "$1" ]; do sleep 0.05; done; echo done; exit 6', 'sh', go]));
    await h.events.running(spec.key, TIMEOUT);
    await h.waitForLog(spec, 'ready');
    const launcherPid = local(h).launcherPid!;
    const pids = readPids(attemptStateDir(h.dataDir, spec.key))!;
    process.kill(launcherPid, 'SIGKILL');
    await waitUntilGone(launcherPid);
    assert.ok(isAlive(pids.supervisor), 'the supervisor outlives the launcher');
    assert.ok(isAlive(pids.command));
    fs.writeFileSync(go, '');
    const exited = await h.events.exited(spec.key, TIMEOUT);
    assert.equal(exited.exitCode, 6);
    assert.equal(exited.lost, undefined);
    assert.deepEqual(h.events.of(spec.key).map((e) => e.type), ['running', 'exited']);
    assert.match(h.log(spec), /ready\ndone\n/);

    // A new launcher serves the next attempts.
    const next = h.start(h.spec(['sh', '-c', 'exit 0']));
    assert.equal((await h.events.exited(next.key, TIMEOUT)).exitCode, 0);
    assert.notEqual(local(h).launcherPid, launcherPid);
  }));

  test('after a launcher crash, stop() still stops its attempts', withHarness(async (h) => {
    const a = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
    const b = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
    await h.waitForLog(a, 'ready');
    await h.waitForLog(b, 'ready');
    const launcherPid = local(h).launcherPid!;
    process.kill(launcherPid, 'SIGKILL');
    h.executor.stop(a.key, 5000); // before the executor noticed
    await waitUntilGone(launcherPid);
    await new Promise((r) => setTimeout(r, 100)); // ... and after
    h.executor.stop(b.key, 5000);
    assert.equal((await h.events.exited(a.key, TIMEOUT)).exitCode, 143);
    assert.equal((await h.events.exited(b.key, TIMEOUT)).exitCode, 143);
  }));

  test('after a launcher crash, an orphan whose supervisor then dies unrecorded is lost, its command killed', withHarness(async (h) => {
    const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
    await h.waitForLog(spec, 'ready');
    const pids = await waitForPids(h.dataDir, spec.key);
    const launcherPid = local(h).launcherPid!;
    process.kill(launcherPid, 'SIGKILL');
    await waitUntilGone(launcherPid);
    await new Promise((r) => setTimeout(r, 100));
    process.kill(pids.supervisor, 'SIGKILL');
    const exited = await h.events.exited(spec.key, TIMEOUT);
    assert.equal(exited.lost, true);
    await waitUntilGone(pids.command);
  }));

  test('requests the dead launcher never read go to the next launcher; each attempt runs exactly once', withHarness(async (h) => {
    const warm = h.start(h.spec(['true']));
    await h.events.exited(warm.key, TIMEOUT);
    const launcherPid = local(h).launcherPid!;
    const specs = Array.from({ length: 40 }, () => h.spec(['sh', '-c', 'echo ran']));
    for (const s of specs) h.start(s);
    process.kill(launcherPid, 'SIGKILL'); // before anything was written to it
    for (const s of specs) {
      const exited = await h.events.exited(s.key, TIMEOUT);
      assert.equal(exited.exitCode, 0, JSON.stringify(exited));
    }
    for (const s of specs) {
      assert.equal(h.log(s), 'ran\n');
      assert.deepEqual(h.events.of(s.key).map((e) => e.type), ['running', 'exited']);
    }
  }));

  test('the launcher killed before it said ready: started again, the attempts run', withHarness(async (h) => {
    const specs = Array.from({ length: 5 }, () => h.spec(['sh', '-c', 'echo ran']));
    for (const s of specs) h.start(s);
    // The launcher is spawned once the first state dir is made; kill it at once (perl takes some
    // milliseconds to start).
    while (local(h).launcherPid === undefined) await new Promise((r) => setImmediate(r));
    process.kill(local(h).launcherPid!, 'SIGKILL');
    for (const s of specs) assert.equal((await h.events.exited(s.key, TIMEOUT)).exitCode, 0);
    for (const s of specs) assert.equal(h.log(s), 'ran\n');
    assert.equal(local(h).launcherMode, 'perl');
  }));

  test('the server killed: the launcher leaves, the attempt runs on, adopt finds its exit', withHarness(async (h) => {
    const go = path.join(h.scratch, 'go');
    const spec = h.spec(['sh', '-c', 'echo ready; while [ ! -e "$1" ]; do sleep 0.05; done; exit 9', 'sh', go]);
    const server = runServer(
      h,
      `const ex = new LocalExecutor({ dataDir: ${JSON.stringify(h.dataDir)}, launcher: 'perl' });
ex.onEvent((e) => { if (e.type === 'running') console.log(JSON.stringify({ launcher: ex.launcherPid })); });
ex.start(${JSON.stringify(spec)});
setInterval(() => {}, 1000);
`,
    );
    const { launcher } = JSON.parse(await firstLine(server)) as { launcher: number };
    server.kill('SIGKILL');
    await waitUntilGone(launcher); // EOF on its stdin: it leaves...
    const pids = await waitForPids(h.dataDir, spec.key);
    assert.ok(isAlive(pids.supervisor), '...and the supervisor carries on');
    assert.ok(isAlive(pids.command));
    await h.waitForLog(spec, 'ready');
    fs.writeFileSync(go, '');
    await waitForRecordedExit(h.dataDir, spec.key, TIMEOUT);
    assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'exited' }]);
    assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 9);
  }));

  test('close() ends the launcher and kills nothing', withHarness(async (h) => {
    const ex = make(h.dataDir);
    const events = recordEvents(ex);
    const spec = h.spec(['sh', '-c', 'echo ready; exec sleep 30']);
    ex.start(spec);
    await events.running(spec.key, TIMEOUT);
    const launcherPid = ex.launcherPid!;
    const pids = await waitForPids(h.dataDir, spec.key);
    await ex.close();
    await waitUntilGone(launcherPid);
    assert.ok(isAlive(pids.supervisor));
    assert.ok(isAlive(pids.command));
    assert.equal((await h.executor.adopt([spec]))[0].outcome, 'running');
    h.started.add(spec.key); // disposed (stopped) with the harness
  }));

  test('close() right after start(): the attempts still run', withHarness(async (h) => {
    const ex = make(h.dataDir);
    const specs = Array.from({ length: 20 }, () => h.spec(['sh', '-c', 'echo ran']));
    for (const s of specs) ex.start(s);
    await ex.close();
    for (const s of specs) await waitForRecordedExit(h.dataDir, s.key, TIMEOUT);
    for (const s of specs) {
      assert.deepEqual(readRecordedExit(attemptStateDir(h.dataDir, s.key)), { exitCode: 0 });
      assert.equal(readLog(h.dataDir, s), 'ran\n');
    }
  }));

  test('a supervisor does not run an attempt that was given up (its work dir exists: the claim)', withHarness(async (h) => {
    const spec = h.spec(['sh', '-c', 'echo ran']);
    fs.mkdirSync(attemptWorkDir(h.dataDir, spec.key)); // as adopt does when it gives an attempt up
    h.start(spec);
    const exited = await h.events.exited(spec.key, TIMEOUT);
    assert.equal(exited.neverStarted, true);
    assert.match(exited.reason ?? '', /^CannotStartContainerError: the attempt was given up/);
    assert.deepEqual(h.events.of(spec.key).map((e) => e.type), ['exited']);
    assert.equal(fs.existsSync(logFilePath(h.dataDir, spec.logGroupName, spec.logStreamName)), false, 'nothing ran');
    assert.equal(readPids(attemptStateDir(h.dataDir, spec.key)), undefined);
  }));

  test('adopt while a launcher of a dead server still lives: a bare state dir is given up (claimed), not undone', withHarness(async (h) => {
    const spec = h.spec(['sh', '-c', 'echo ran']);
    fs.mkdirSync(attemptStateDir(h.dataDir, spec.key));
    // A process that calls itself a launcher of this data dir: it could still fork a supervisor.
    const impostor = spawn('perl', ['-e', `$0 = "openbatch-launcher ${h.dataDir}"; sleep 30`], { stdio: 'ignore' });
    try {
      await waitUntil(() => procTitle(impostor.pid!) === `openbatch-launcher ${h.dataDir}`, 'the impostor to name itself');
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'lost' }]);
      assert.ok(fs.existsSync(attemptWorkDir(h.dataDir, spec.key)), 'claimed: a late supervisor will not run it');
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).lost, true);
    } finally {
      impostor.kill('SIGKILL');
    }
  }));

  test('exec failing after the pre-check: neverStarted, CannotStartContainerError, recorded for adopt', withHarness(async (h) => {
    const tool = path.join(h.scratch, 'tool');
    fs.writeFileSync(tool, '#!/nonexistent/interpreter\n', { mode: 0o755 }); // executable, but execve fails
    const spec = h.start(h.spec([tool, 'arg']));
    const exited = await h.events.exited(spec.key, TIMEOUT);
    const reason = `CannotStartContainerError: exec: "${tool}": no such file or directory`;
    assert.equal(exited.neverStarted, true);
    assert.equal(exited.exitCode, undefined);
    assert.equal(exited.reason, reason);
    assert.deepEqual(h.events.of(spec.key).map((e) => e.type), ['exited'], 'no running event');
    assert.deepEqual(readRecordedExit(attemptStateDir(h.dataDir, spec.key)), { neverStarted: true, reason });
    await h.restart();
    assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'exited' }]);
    const again = await h.events.exited(spec.key, TIMEOUT);
    assert.equal(again.neverStarted, true);
    assert.equal(again.reason, reason);
  }));

  test('argv and environment pass through byte for byte: newlines, quotes, non-ASCII, empty, long', withHarness(async (h) => {
    const long = 'x'.repeat(60_000);
    const args = ['a\nb', 'tab\there', "it's \"quoted\"", 'ünïcødé ✓', '', '\\0 not a nul', long, '$(echo no)'];
    const spec = h.spec(['sh', '-c', 'for a in "$@"; do printf "[%s]\\n" "$a"; done; printf "<%s>\\n" "$V1" "$V2" "$V3" "${#V4}"', 'sh', ...args]);
    spec.environment.V1 = 'line1\nline2=with=equals';
    spec.environment.V2 = '';
    spec.environment.V3 = 'ü ✓';
    spec.environment.V4 = long;
    h.start(spec);
    assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 0);
    const expected = args.map((a) => `[${a}]\n`).join('') + ['line1\nline2=with=equals', '', 'ü ✓', String(long.length)].map((v) => `<${v}>\n`).join('');
    assert.equal(h.log(spec), expected);
  }));

  test('a NUL byte in the command or the environment: a start failure, never dispatched', withHarness(async (h) => {
    const inArg = h.start(h.spec(['echo', 'a\0b']));
    const inEnv = h.spec(['true']);
    inEnv.environment.BAD = 'x\0y';
    h.start(inEnv);
    for (const spec of [inArg, inEnv]) {
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.neverStarted, true);
      assert.match(exited.reason ?? '', /^CannotStartContainerError: .*NUL/);
      assert.equal(fs.existsSync(attemptStateDir(h.dataDir, spec.key)), false);
    }
  }));

  test('many attempts in flight when the launcher is killed: every one ends exactly once, none is left running', withHarness(async (h) => {
    const warm = h.start(h.spec(['true']));
    await h.events.exited(warm.key, TIMEOUT);
    const specs = Array.from({ length: 60 }, (_, i) => h.spec(['sh', '-c', `echo ran; exit ${i % 5}`]));
    for (const s of specs) h.start(s);
    await new Promise((r) => setTimeout(r, 20)); // some read by the launcher, some started, some done
    process.kill(local(h).launcherPid!, 'SIGKILL');
    for (const [i, s] of specs.entries()) {
      const exited = await h.events.exited(s.key, TIMEOUT);
      const types = h.events.of(s.key).map((e) => e.type);
      if (exited.exitCode !== undefined) {
        // It ran, once, and its exit came from the launcher or from the exit file.
        assert.equal(exited.exitCode, i % 5);
        assert.deepEqual(types, ['running', 'exited']);
        assert.equal(readLog(h.dataDir, s), 'ran\n');
      } else {
        // Given up before it could run (read by the launcher, no supervisor yet): it never runs.
        assert.equal(exited.neverStarted, true, JSON.stringify(exited));
        assert.deepEqual(types, ['exited']);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const s of specs) {
      if (h.events.of(s.key).some((e) => e.type === 'exited' && e.neverStarted)) assert.equal(readLog(h.dataDir, s), '', 'a given-up attempt never ran');
      assert.deepEqual(processesWithKey(s.key), []);
    }
  }));
});

describe('local executor: choosing the launcher', { timeout: 120_000, skip: noPerl }, () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-launcher-'));

  test('the option, else OPENBATCH_LOCAL_LAUNCHER, else auto (perl when installed)', async () => {
    const dataDir = tmp();
    const saved = process.env[LAUNCHER_ENV];
    try {
      delete process.env[LAUNCHER_ENV];
      assert.equal(new LocalExecutor({ dataDir }).launcherMode, 'perl');
      assert.equal(new LocalExecutor({ dataDir, launcher: 'spawn' }).launcherMode, 'spawn');
      process.env[LAUNCHER_ENV] = 'spawn';
      assert.equal(new LocalExecutor({ dataDir }).launcherMode, 'spawn');
      assert.equal(new LocalExecutor({ dataDir, launcher: 'perl' }).launcherMode, 'perl');
      process.env[LAUNCHER_ENV] = 'perl';
      assert.equal(new LocalExecutor({ dataDir }).launcherMode, 'perl');
      process.env[LAUNCHER_ENV] = 'fork';
      assert.throws(() => new LocalExecutor({ dataDir }), /OPENBATCH_LOCAL_LAUNCHER must be auto, perl or spawn/);
      assert.throws(() => new LocalExecutor({ dataDir, launcher: 'nope' as never }), /must be auto, perl or spawn/);
    } finally {
      if (saved === undefined) delete process.env[LAUNCHER_ENV];
      else process.env[LAUNCHER_ENV] = saved;
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  for (const perl of ['/bin/false', '/nonexistent/perl']) {
    test(`auto: a launcher that cannot start (perl = ${perl}) falls back to spawning`, async () => {
      const h = await Harness.create((dataDir) => new LocalExecutor({ dataDir, launcher: 'auto', perl, stopGraceMs: 5000 }), TIMEOUT);
      try {
        assert.equal(local(h).launcherMode, 'perl');
        const ok = h.start(h.spec(['sh', '-c', 'echo ran; exit 3']));
        const stopped = h.start(h.spec(['sleep', '30']));
        h.executor.stop(stopped.key, 5000);
        assert.equal((await h.events.exited(ok.key, TIMEOUT)).exitCode, 3);
        assert.equal(h.log(ok), 'ran\n');
        assert.equal((await h.events.exited(stopped.key, TIMEOUT)).exitCode, 143);
        assert.equal(local(h).launcherMode, 'spawn');
        const later = h.start(h.spec(['true']));
        assert.equal((await h.events.exited(later.key, TIMEOUT)).exitCode, 0);
      } finally {
        await h.dispose();
      }
    });
  }

  test('perl asked for, but the launcher cannot start: the attempts fail to start', async () => {
    const h = await Harness.create((dataDir) => new LocalExecutor({ dataDir, launcher: 'perl', perl: '/bin/false' }), TIMEOUT);
    try {
      const spec = h.start(h.spec(['true']));
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.neverStarted, true);
      assert.match(exited.reason ?? '', /^CannotStartContainerError: the perl launcher did not start \(exit status 1\)/);
      assert.equal(local(h).launcherMode, 'perl');
    } finally {
      await h.dispose();
    }
  });

  test('a state dir path as long as the file system allows still names the supervisor', async () => {
    // The data dir is long; the key is one path component of up to 255 bytes.
    let base = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-long-'));
    const root = base;
    while (base.length < 3000) {
      base = path.join(base, 'd'.repeat(200));
      fs.mkdirSync(base);
    }
    const ex = new LocalExecutor({ dataDir: base, launcher: 'perl' });
    const events = recordEvents(ex);
    try {
      const spec = makeSpec(['sh', '-c', 'echo ready; exec sleep 30'], { jobId: 'j'.repeat(240) });
      ex.start(spec);
      await events.running(spec.key, TIMEOUT);
      const stateDir = attemptStateDir(base, spec.key);
      const pids = await waitForPids(base, spec.key);
      assert.equal(procTitle(pids.supervisor), `openbatch-supervisor ${stateDir}`);
      ex.stop(spec.key, 0);
      assert.equal((await events.exited(spec.key, TIMEOUT)).exitCode, 143);
    } finally {
      await ex.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
