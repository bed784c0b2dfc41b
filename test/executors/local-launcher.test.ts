// What only the local executor's perl launcher does: one long-lived perl process that forks the
// commands and supervises them itself, journaling their starts and exits. Crash cases (the launcher
// killed: its attempts are lost; the server killed: the launcher carries on), the claim that keeps
// a late child from running a given-up attempt, at most once across restarts, the journals'
// rotation and deletion, exec failures, the framing of requests, and the choice and fallback of the
// launcher mode. The behaviour both modes share: local.test.ts.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AttemptSpec } from '../../src/executors/executor.js';
import { LAUNCHER_ENV, LocalExecutor, attemptStateDir, attemptWorkDir, journalDir } from '../../src/executors/local/local-executor.js';
import { findPerl } from '../../src/executors/local/launcher.js';
import { logFilePath } from '../../src/store/log-files.js';
import { Harness, makeSpec, readLog, recordEvents } from './conformance.js';
import {
  TIMEOUT,
  isAlive,
  journalFiles,
  processesWithKey,
  procTitle,
  readJournals,
  recordedExit,
  waitForPids,
  waitForRecordedExit,
  waitUntil,
  waitUntilGone,
} from './local-helpers.js';

const make = (dataDir: string, journalRotateBytes?: number) =>
  new LocalExecutor({ dataDir, stopGraceMs: 5000, adoptedCheckIntervalMs: 200, launcher: 'perl', ...(journalRotateBytes ? { journalRotateBytes } : {}) });

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
  test('one launcher forks the commands itself and journals each start: pid, start time, time', withHarness(async (h) => {
    const a = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
    const b = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
    await h.waitForLog(a, 'ready');
    await h.waitForLog(b, 'ready');
    const launcherPid = local(h).launcherPid;
    assert.equal(local(h).launcherMode, 'perl');
    assert.ok(launcherPid !== undefined && isAlive(launcherPid));
    assert.equal(procTitle(launcherPid), `openbatch-launcher ${h.dataDir}`);
    assert.deepEqual(journalFiles(h.dataDir), [`journal.${launcherPid}.${startTimeOf(launcherPid)}.0`]);
    assert.equal(fs.existsSync(attemptStateDir(h.dataDir, a.key)), false, 'no state dir in perl mode');
    for (const spec of [a, b]) {
      const e = readJournals(h.dataDir).get(spec.key)!;
      assert.ok(e.start, 'an S record');
      assert.equal(parentOf(e.start.pid), launcherPid, 'the command is a child of the launcher');
      const started = startTimeOf(e.start.pid);
      assert.ok(e.start.startLo <= started && started <= e.start.startHi, `${e.start.startLo} <= ${started} <= ${e.start.startHi}`);
      assert.ok(e.start.startHi - e.start.startLo <= 100, 'tight bounds');
      assert.ok(Math.abs(e.start.at - Date.now()) < 60_000, 'the start time is epoch ms');
      assert.ok(fs.existsSync(attemptWorkDir(h.dataDir, spec.key)), 'the launcher\'s child made the work dir');
    }
  }));

  test('the exit is journaled before it is reported: status and time', withHarness(async (h) => {
    const spec = h.start(h.spec(['sh', '-c', 'exit 6']));
    const exited = await h.events.exited(spec.key, TIMEOUT);
    assert.equal(exited.exitCode, 6);
    const e = readJournals(h.dataDir).get(spec.key)!;
    assert.equal(e.exit?.status, 6);
    assert.ok(e.exit.at >= e.start!.at && e.exit.at <= Date.now());
  }));

  test('kill -9 of the launcher: its attempts are lost and their commands killed; a new launcher serves the next ones', withHarness(async (h) => {
    const go = path.join(h.scratch, 'go');
    const specs = [0, 1].map(() => h.start(h.spec(['sh', '-c', 'echo ready; sleep 30 & while [ ! -e "$1" ]; do sleep 0.05; done; echo done; exit 6', 'sh', go])));
    for (const s of specs) await h.waitForLog(s, 'ready');
    const launcherPid = local(h).launcherPid!;
    const commands = specs.map((s) => readJournals(h.dataDir).get(s.key)!.start!.pid);
    process.kill(launcherPid, 'SIGKILL');
    for (const s of specs) {
      const exited = await h.events.exited(s.key, TIMEOUT);
      assert.equal(exited.lost, true);
      assert.equal(exited.exitCode, undefined);
      assert.equal(exited.reason, 'CannotInspectContainerError: the local launcher supervising the attempt was killed before recording its exit status');
      assert.deepEqual(h.events.of(s.key).map((e) => e.type), ['running', 'exited']);
    }
    for (const pid of commands) await waitUntilGone(pid);
    // SIGKILL was sent before the loss was reported (a killed process never runs user code again);
    // its exit completes when the kernel next schedules it, so wait for that with a deadline: a
    // process that was missed (sleep 30) still fails this.
    for (const s of specs) await waitUntil(() => processesWithKey(s.key).length === 0, 'nothing of a lost attempt runs (its background sleep included)', 5_000);
    fs.writeFileSync(go, '');
    await new Promise((r) => setTimeout(r, 200));
    for (const s of specs) assert.doesNotMatch(h.log(s), /done/);

    const next = h.start(h.spec(['sh', '-c', 'exit 0']));
    assert.equal((await h.events.exited(next.key, TIMEOUT)).exitCode, 0);
    assert.notEqual(local(h).launcherPid, launcherPid);
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
    // The launcher is spawned by the first start(); kill it at once (perl takes some milliseconds to start).
    process.kill(local(h).launcherPid!, 'SIGKILL');
    for (const s of specs) assert.equal((await h.events.exited(s.key, TIMEOUT)).exitCode, 0);
    for (const s of specs) assert.equal(h.log(s), 'ran\n');
    assert.equal(local(h).launcherMode, 'perl');
  }));

  test('many attempts in flight when the launcher is killed: each ends exactly once, none runs twice, none is left running', withHarness(async (h) => {
    const warm = h.start(h.spec(['true']));
    await h.events.exited(warm.key, TIMEOUT);
    const specs = Array.from({ length: 60 }, (_, i) => h.spec(['sh', '-c', `echo ran; sleep 0.$(( ${i} % 3 )); exit ${i % 5}`]));
    for (const s of specs) h.start(s);
    await new Promise((r) => setTimeout(r, 30)); // some read by the launcher, some started, some done
    process.kill(local(h).launcherPid!, 'SIGKILL');
    const outcomes = { exited: 0, lost: 0, neverStarted: 0 };
    for (const [i, s] of specs.entries()) {
      const exited = await h.events.exited(s.key, TIMEOUT);
      const types = h.events.of(s.key).map((e) => e.type);
      assert.equal(types.filter((t) => t === 'exited').length, 1, 'one end');
      if (exited.exitCode !== undefined) {
        // It ran, once; its exit came from the launcher, or from the journal.
        outcomes.exited++;
        assert.equal(exited.exitCode, i % 5);
        assert.deepEqual(types, ['running', 'exited']);
      } else if (exited.lost) {
        // It was running when the launcher died: killed.
        outcomes.lost++;
      } else {
        // Read by the launcher, but nothing ran it; it never will.
        outcomes.neverStarted++;
        assert.equal(exited.neverStarted, true, JSON.stringify(exited));
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const s of specs) {
      assert.match(readLog(h.dataDir, s), /^(ran\n)?$/, 'ran at most once');
      if (h.events.of(s.key).some((e) => e.type === 'exited' && e.neverStarted)) assert.equal(readLog(h.dataDir, s), '', 'a given-up attempt never ran');
      await waitUntil(() => processesWithKey(s.key).length === 0, `no process of ${s.key} left`, 5_000);
    }
    process.stderr.write(`# launcher killed with 60 in flight: ${JSON.stringify(outcomes)}\n`);
  }));

  test('the server killed: the launcher keeps supervising, exits when its last command ended; adopt finds the exits in its journal', withHarness(async (h) => {
    const go = path.join(h.scratch, 'go');
    const slow = h.spec(['sh', '-c', 'echo ready; while [ ! -e "$1" ]; do sleep 0.05; done; exit 9', 'sh', go]);
    const quick = h.spec(['sh', '-c', 'while [ ! -e "$1.quick" ]; do sleep 0.05; done; exit 4', 'sh', go]);
    const server = runServer(
      h,
      `const ex = new LocalExecutor({ dataDir: ${JSON.stringify(h.dataDir)}, launcher: 'perl' });
let n = 0;
ex.onEvent((e) => { if (e.type === 'running' && ++n === 2) console.log(JSON.stringify({ launcher: ex.launcherPid })); });
ex.start(${JSON.stringify(slow)});
ex.start(${JSON.stringify(quick)});
setInterval(() => {}, 1000);
`,
    );
    const { launcher } = JSON.parse(await firstLine(server)) as { launcher: number };
    server.kill('SIGKILL');
    await h.waitForLog(slow, 'ready');
    // An exit while the server is down: journaled by the launcher, which carries on.
    fs.writeFileSync(`${go}.quick`, '');
    await waitForRecordedExit(h.dataDir, quick.key, TIMEOUT);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(isAlive(launcher), 'the launcher still supervises the other attempt');
    assert.equal(readJournals(h.dataDir).get(quick.key)?.exit?.status, 4);
    fs.writeFileSync(go, '');
    await waitUntilGone(launcher); // ...and leaves when it has nothing left
    const journal = fs.readFileSync(path.join(journalDir(h.dataDir), journalFiles(h.dataDir)[0]), 'utf8');
    assert.match(journal, /\nE\n(.*\n)*Q\n$/, 'E (no more requests) and Q (done) in its journal');
    assert.deepEqual(await h.executor.adopt([slow, quick]), [
      { key: slow.key, outcome: 'exited' },
      { key: quick.key, outcome: 'exited' },
    ]);
    assert.equal((await h.events.exited(slow.key, TIMEOUT)).exitCode, 9);
    assert.equal((await h.events.exited(quick.key, TIMEOUT)).exitCode, 4);
  }));

  test('the server killed with requests in the launcher\'s pipe: they run; at most once across the restart', withHarness(async (h) => {
    const specs = Array.from({ length: 30 }, () => h.spec(['sh', '-c', 'echo ran']));
    // The server starts them and dies in the same turn of the event loop or soon after: some
    // requests reached the launcher, maybe some did not.
    const server = runServer(
      h,
      `const ex = new LocalExecutor({ dataDir: ${JSON.stringify(h.dataDir)}, launcher: 'perl' });
const specs = ${JSON.stringify(specs)};
for (const s of specs.slice(0, 15)) ex.start(s);
console.log(JSON.stringify({ launcher: ex.launcherPid }));
setTimeout(() => { for (const s of specs.slice(15)) ex.start(s); setImmediate(() => process.kill(process.pid, 'SIGKILL')); }, 50);
setInterval(() => {}, 1000);
`,
    );
    const { launcher } = JSON.parse(await firstLine(server)) as { launcher: number };
    await new Promise<void>((resolve) => server.once('exit', () => resolve()));
    const outcomes = await h.executor.adopt(specs);
    const notStarted: AttemptSpec[] = [];
    for (const [i, o] of outcomes.entries()) {
      const s = specs[i];
      if (o.outcome === 'exited') assert.equal((await h.events.exited(s.key, TIMEOUT)).exitCode, 0);
      else if (o.outcome === 'running') assert.equal((await h.events.exited(s.key, TIMEOUT)).exitCode, 0);
      else {
        assert.equal(o.outcome, 'not-started', JSON.stringify(o));
        notStarted.push(s);
      }
    }
    for (const s of notStarted) h.start(s); // as the server does
    for (const s of notStarted) assert.equal((await h.events.exited(s.key, TIMEOUT)).exitCode, 0);
    await waitUntilGone(launcher);
    for (const s of specs) assert.equal(readLog(h.dataDir, s), 'ran\n', 'ran exactly once');
    process.stderr.write(`# server killed mid-dispatch: ${specs.length - notStarted.length} ran through the old launcher, ${notStarted.length} started again\n`);
  }));

  test('close() ends the launcher\'s input; it supervises its attempts to their end, then exits; nothing is killed', withHarness(async (h) => {
    const go = path.join(h.scratch, 'go');
    const ex = make(h.dataDir);
    const events = recordEvents(ex);
    const spec = h.spec(['sh', '-c', 'echo ready; while [ ! -e "$1" ]; do sleep 0.05; done; exit 3', 'sh', go]);
    ex.start(spec);
    await events.running(spec.key, TIMEOUT);
    const launcherPid = ex.launcherPid!;
    const pids = await waitForPids(h.dataDir, spec.key);
    await ex.close();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(isAlive(launcherPid), 'the launcher carries on');
    assert.ok(isAlive(pids.command));
    assert.equal((await h.executor.adopt([spec]))[0].outcome, 'running');
    fs.writeFileSync(go, '');
    assert.equal((await h.events.exited(spec.key, TIMEOUT)).exitCode, 3);
    await waitUntilGone(launcherPid);
  }));

  test('close() right after start(): the attempts still run', withHarness(async (h) => {
    const ex = make(h.dataDir);
    const specs = Array.from({ length: 20 }, () => h.spec(['sh', '-c', 'echo ran']));
    for (const s of specs) ex.start(s);
    await ex.close();
    for (const s of specs) await waitForRecordedExit(h.dataDir, s.key, TIMEOUT);
    for (const s of specs) {
      assert.equal(recordedExit(h.dataDir, s.key), 0);
      assert.equal(readLog(h.dataDir, s), 'ran\n');
    }
  }));

  test('a launcher\'s child does not run an attempt that was given up (its work dir exists: the claim)', withHarness(async (h) => {
    const spec = h.spec(['sh', '-c', 'echo ran']);
    fs.mkdirSync(attemptWorkDir(h.dataDir, spec.key)); // as adopt does when it gives an attempt up
    h.start(spec);
    const exited = await h.events.exited(spec.key, TIMEOUT);
    assert.equal(exited.neverStarted, true);
    assert.match(exited.reason ?? '', /^CannotStartContainerError: the attempt was given up/);
    assert.equal(fs.existsSync(logFilePath(h.dataDir, spec.logGroupName, spec.logStreamName)), false, 'nothing ran');
    assert.match(readJournals(h.dataDir).get(spec.key)?.failed?.message ?? '', /given up/);
  }));

  test('adopt while a launcher of a dead server may still read requests (no E): an attempt without a trace is given up (claimed), not undone', withHarness(async (h) => {
    const spec = h.spec(['sh', '-c', 'echo ran']);
    // A process that calls itself a launcher of this data dir, without a journal: it could still start it.
    const impostor = spawn('perl', ['-e', `$0 = "openbatch-launcher ${h.dataDir}"; sleep 30`], { stdio: 'ignore' });
    try {
      await waitUntil(() => procTitle(impostor.pid!) === `openbatch-launcher ${h.dataDir}`, 'the impostor to name itself');
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'lost' }]);
      assert.ok(fs.existsSync(attemptWorkDir(h.dataDir, spec.key)), 'claimed: a late child will not run it');
      assert.equal((await h.events.exited(spec.key, TIMEOUT)).lost, true);
    } finally {
      impostor.kill('SIGKILL');
    }
  }));

  test('adopt waits for a launcher of a dead server that reads its last requests (E), then undoes what it never got', withHarness(async (h) => {
    const go = path.join(h.scratch, 'go');
    const busy = h.spec(['sh', '-c', 'while [ ! -e "$1" ]; do sleep 0.05; done', 'sh', go]);
    const never = h.spec(['sh', '-c', 'echo ran']);
    const ex = make(h.dataDir);
    recordEvents(ex);
    ex.start(busy);
    await waitForPids(h.dataDir, busy.key);
    const launcherPid = ex.launcherPid!;
    await ex.close(); // the launcher reads to the end of its input (E) and supervises `busy`
    assert.deepEqual(
      (await h.executor.adopt([busy, never])).map((o) => [o.key, o.outcome]),
      [
        [busy.key, 'running'],
        [never.key, 'not-started'],
      ],
    );
    assert.ok(isAlive(launcherPid));
    assert.equal(fs.existsSync(attemptWorkDir(h.dataDir, never.key)), false, 'undone: no claim left');
    h.start(never);
    assert.equal((await h.events.exited(never.key, TIMEOUT)).exitCode, 0);
    fs.writeFileSync(go, '');
    assert.equal((await h.events.exited(busy.key, TIMEOUT)).exitCode, 0);
  }));

  test('an adopted attempt whose launcher is then killed: lost, its command killed', withHarness(async (h) => {
    const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
    await h.waitForLog(spec, 'ready');
    const pids = await waitForPids(h.dataDir, spec.key);
    await h.restart();
    assert.equal((await h.executor.adopt([spec]))[0].outcome, 'running');
    process.kill(pids.supervisor, 'SIGKILL'); // the launcher of the previous executor
    const exited = await h.events.exited(spec.key, TIMEOUT);
    assert.equal(exited.lost, true);
    assert.match(exited.reason ?? '', /launcher supervising the attempt was killed/);
    await waitUntilGone(pids.command);
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
    // The launcher reports the start at the fork: the exec failure comes after it.
    assert.deepEqual(h.events.of(spec.key).map((e) => e.type), ['running', 'exited']);
    assert.equal(readJournals(h.dataDir).get(spec.key)?.failed?.message, `exec: "${tool}": no such file or directory`);
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
      assert.equal(readJournals(h.dataDir).has(spec.key), false);
    }
  }));
});

describe('local executor: the launchers\' journals', { timeout: 300_000, skip: noPerl }, () => {
  /** Runs the specs and waits for their exits, `batch` at a time (a launcher rotates between batches). */
  async function runAll(h: Harness, specs: AttemptSpec[], batch: number): Promise<void> {
    for (let i = 0; i < specs.length; i += batch) {
      const some = specs.slice(i, i + batch);
      for (const s of some) h.start(s);
      for (const s of some) assert.equal(typeof (await h.events.exited(s.key, TIMEOUT)).exitCode, 'number');
    }
  }

  test('a launcher starts a new journal past the size limit; a journal goes once all its attempts are released', async () => {
    const h = await Harness.create((dataDir) => make(dataDir, 1000), TIMEOUT);
    try {
      const specs = Array.from({ length: 60 }, () => h.spec(['true']));
      await runAll(h, specs, 6);
      const files = journalFiles(h.dataDir);
      assert.ok(files.length >= 4, `rotated: ${files.join(' ')}`);
      const launcherPid = local(h).launcherPid!;
      assert.ok(files.every((f) => f.startsWith(`journal.${launcherPid}.`)));
      const current = files[files.length - 1];
      // One attempt left unreleased keeps its journal.
      const keep = specs[0];
      const keepFile = readJournals(h.dataDir).get(keep.key)!.file;
      for (const s of specs.slice(1)) local(h).release(s.key);
      await waitUntil(() => journalFiles(h.dataDir).length === (keepFile === current ? 1 : 2), 'the other journals deleted');
      assert.deepEqual(journalFiles(h.dataDir), [...new Set([keepFile, current])].sort());
      local(h).release(keep.key);
      await waitUntil(() => journalFiles(h.dataDir).length === 1, 'its journal deleted too');
      assert.deepEqual(journalFiles(h.dataDir), [current], 'the current journal stays');
    } finally {
      await h.dispose();
    }
  });

  test('after a restart: a dead launcher\'s journal goes once the attempts adopt found in it are released; fully released ones at once', async () => {
    const h = await Harness.create((dataDir) => make(dataDir, 1000), TIMEOUT);
    try {
      // The first journal holds attempts that stay unreleased across the restart, the current one
      // only released attempts (kept while its launcher lives: it is the current one).
      const unreleased = Array.from({ length: 3 }, (_, i) => h.spec(['sh', '-c', `exit ${i}`]));
      await runAll(h, unreleased, 3);
      const done = Array.from({ length: 12 }, () => h.spec(['true']));
      await runAll(h, done, 6);
      for (const s of done) local(h).release(s.key);
      const launcherPid = local(h).launcherPid!;
      await waitUntil(() => readJournals(h.dataDir).get(done[done.length - 1].key)?.released === true || readJournals(h.dataDir).get(done[done.length - 1].key) === undefined, 'R records written');
      const oldFiles = journalFiles(h.dataDir);
      const holding = readJournals(h.dataDir).get(unreleased[0].key)!.file;
      await h.restart(); // the old launcher has nothing to supervise: it exits (Q)
      for (const s of done) h.started.delete(s.key); // ended before the restart (no exit event to wait for at dispose)
      await waitUntilGone(launcherPid);
      const outcomes = await h.executor.adopt(unreleased);
      assert.deepEqual(outcomes.map((o) => o.outcome), ['exited', 'exited', 'exited']);
      for (const [i, s] of unreleased.entries()) assert.equal((await h.events.exited(s.key, TIMEOUT)).exitCode, i);
      // Journals whose attempts were all released before the restart are gone already.
      assert.ok(oldFiles.length > 1, `several journals: ${oldFiles.join(' ')}`);
      await waitUntil(() => journalFiles(h.dataDir).length === 1, 'the released journals deleted');
      assert.deepEqual(journalFiles(h.dataDir), [holding], 'only the journal holding unreleased attempts is left');
      h.executor.release!(unreleased[0].key);
      h.executor.release!(unreleased[1].key);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(journalFiles(h.dataDir), [holding]);
      h.executor.release!(unreleased[2].key);
      await waitUntil(() => journalFiles(h.dataDir).length === 0, 'the dead launcher\'s last journal deleted');
    } finally {
      await h.dispose();
    }
  });

  test('a launcher killed: its journals go once its attempts are settled and released', async () => {
    const h = await Harness.create((dataDir) => make(dataDir), TIMEOUT);
    try {
      const finished = h.start(h.spec(['true']));
      await h.events.exited(finished.key, TIMEOUT);
      const running = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
      await h.waitForLog(running, 'ready');
      const launcherPid = local(h).launcherPid!;
      process.kill(launcherPid, 'SIGKILL');
      assert.equal((await h.events.exited(running.key, TIMEOUT)).lost, true);
      assert.equal(journalFiles(h.dataDir).length, 1);
      local(h).release(finished.key);
      local(h).release(running.key);
      await waitUntil(() => journalFiles(h.dataDir).length === 0, 'the dead launcher\'s journal deleted');
    } finally {
      await h.dispose();
    }
  });
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

  test('a data dir path as long as the file system allows still names the launcher', async () => {
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
      const pids = await waitForPids(base, spec.key);
      assert.equal(procTitle(pids.supervisor), `openbatch-launcher ${base}`);
      ex.stop(spec.key, 30_000); // a grace long enough that SIGTERM, not SIGKILL, ends it
      assert.equal((await events.exited(spec.key, TIMEOUT)).exitCode, 143);
    } finally {
      await ex.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
