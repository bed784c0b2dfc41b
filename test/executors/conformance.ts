// The executor conformance suite: behaviour every executor must show, whatever runs the commands.
// An executor's test file calls `runExecutorConformance(name, makeExecutor, opts)` and adds its own
// specific tests. Commands assume a POSIX sh with `sleep` and `printf` (in the image, for container
// executors); the attempt's log file (store/log-files.ts) is how tests observe a command.
//
// Waiting is event-driven with a deadline: `EventLog.waitFor` (executor events) and `waitForFile`
// (fs.watch on a directory), never sleep-then-check.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { attemptKey, type AttemptEvent, type AttemptSpec, type Executor } from '../../src/executors/executor.js';
import { DEFAULT_LOG_GROUP, logFilePath } from '../../src/store/log-files.js';

export type ExitedEvent = Extract<AttemptEvent, { type: 'exited' }>;

export interface ExecutorConformanceOptions {
  /** Deadline of each wait in ms (default 15000). */
  timeoutMs?: number;
  /** Image to put in specs (container executors). */
  image?: string;
  /**
   * Restart tests: wait until the attempt's exit status is durably recorded by the executor's
   * machinery while no executor object watches (the server is "down"). Without it, the
   * "finished while down" test is skipped.
   */
  waitForRecordedExit?: (dataDir: string, key: string, timeoutMs: number) => Promise<void>;
  /**
   * Restart tests: kill everything of a running attempt abruptly (its supervisor too), as a host
   * crash would, so that no exit status can be recorded. Without it, the "lost" test is skipped.
   */
  killAttemptHard?: (dataDir: string, key: string, timeoutMs: number) => Promise<void>;
  /**
   * Stdout and stderr reach the log through two pipes (containers: the engine reads them apart),
   * so only the order within each stream is kept, not the order between them.
   */
  separateStdoutStderr?: boolean;
  /**
   * Right-sizing data: why this executor (as made, e.g. without cgroups) cannot measure an
   * attempt's peak memory or CPU time; the usage tests then check that it reports none (never a
   * guess) and say why. Absent: both measured.
   */
  usageNotMeasured?: (executor: Executor) => { peakMemory?: string; cpu?: string } | undefined;
}

/** A command that allocates (and touches) 200 MiB, then exits: perl, which every local host has. */
export const ALLOCATE_200_MIB = ['perl', '-e', 'my $x = "x"; $x x= 200 * 1024 * 1024; print length($x), "\n"'];
/** A command that burns one second of CPU time (its own user time, not the wall clock), then exits. */
export const BURN_1S_CPU = ['perl', '-e', '1 while (times)[0] < 1; print "burnt\n"'];

// ---------------------------------------------------------------------------------------------
// Helpers (exported for executor-specific tests)

/** Records every event of an executor from the moment it is attached, and waits on them. */
export class EventLog {
  readonly events: AttemptEvent[] = [];
  private waiters: { predicate: (e: AttemptEvent) => boolean; resolve: (e: AttemptEvent) => void }[] = [];

  constructor(executor: Executor) {
    executor.onEvent((event) => {
      this.events.push(event);
      for (const w of [...this.waiters]) {
        if (w.predicate(event)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(event);
        }
      }
    });
  }

  /** The first event (already seen or still to come) that matches, or a rejection at the deadline. */
  waitFor(predicate: (e: AttemptEvent) => boolean, timeoutMs: number, what = 'event'): Promise<AttemptEvent> {
    const seen = this.events.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (e: AttemptEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events so far: ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  running(key: string, timeoutMs: number): Promise<AttemptEvent> {
    return this.waitFor((e) => e.key === key && e.type === 'running', timeoutMs, `running of ${key}`);
  }

  async exited(key: string, timeoutMs: number): Promise<ExitedEvent> {
    return (await this.waitFor((e) => e.key === key && e.type === 'exited', timeoutMs, `exit of ${key}`)) as ExitedEvent;
  }

  of(key: string): AttemptEvent[] {
    return this.events.filter((e) => e.key === key);
  }
}

const logs = new WeakMap<Executor, EventLog>();

/** Attach an EventLog to an executor (do it right after creating it, before any start). */
export function recordEvents(executor: Executor): EventLog {
  let log = logs.get(executor);
  if (!log) {
    log = new EventLog(executor);
    logs.set(executor, log);
  }
  return log;
}

/** Wait for an event of this executor matching `predicate`, seen since `recordEvents` or to come. */
export function waitForEvent(executor: Executor, predicate: (e: AttemptEvent) => boolean, timeoutMs: number): Promise<AttemptEvent> {
  return recordEvents(executor).waitFor(predicate, timeoutMs);
}

/**
 * Wait until `check()` returns a value other than undefined, re-checking whenever something in
 * `dir` changes (fs.watch), plus a slow re-check in case the watch misses a change.
 */
export function waitForFile<T>(dir: string, check: () => T | undefined, timeoutMs: number, what = dir): Promise<T> {
  return new Promise((resolve, reject) => {
    let watcher: fs.FSWatcher | undefined;
    let done = false;
    const finish = (err: Error | undefined, value?: T) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(recheck);
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve(value as T);
    };
    const probe = () => {
      let value: T | undefined;
      try {
        value = check();
      } catch (e) {
        finish(e as Error);
        return;
      }
      if (value !== undefined) finish(undefined, value);
    };
    const deadline = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const recheck = setInterval(() => {
      if (!watcher) tryWatch();
      probe();
    }, 250);
    const tryWatch = () => {
      try {
        watcher = fs.watch(dir, probe);
        watcher.on('error', () => {
          watcher?.close();
          watcher = undefined;
        });
      } catch {
        watcher = undefined; // dir does not exist yet
      }
    };
    tryWatch();
    probe();
  });
}

export function readLog(dataDir: string, spec: AttemptSpec): string {
  try {
    return fs.readFileSync(logFilePath(dataDir, spec.logGroupName, spec.logStreamName), 'utf8');
  } catch {
    return '';
  }
}

/** Wait until the attempt's log contains `text`. */
export function waitForLog(dataDir: string, spec: AttemptSpec, text: string, timeoutMs: number): Promise<string> {
  const file = logFilePath(dataDir, spec.logGroupName, spec.logStreamName);
  return waitForFile(
    path.dirname(file),
    () => {
      const content = readLog(dataDir, spec);
      return content.includes(text) ? content : undefined;
    },
    timeoutMs,
    `${JSON.stringify(text)} in ${file}`,
  );
}

export function makeSpec(command: string[], overrides: Partial<AttemptSpec> = {}): AttemptSpec {
  const jobId = overrides.jobId ?? randomUUID();
  const attempt = overrides.attempt ?? 1;
  const jobName = overrides.jobName ?? 'conformance';
  return {
    key: attemptKey(jobId, attempt),
    jobId,
    attempt,
    jobName,
    jobQueue: 'queue-1',
    computeEnvironment: 'ce-1',
    command,
    environment: {
      AWS_BATCH_JOB_ID: jobId,
      AWS_BATCH_JOB_ATTEMPT: String(attempt),
      AWS_BATCH_JQ_NAME: 'queue-1',
      AWS_BATCH_CE_NAME: 'ce-1',
    },
    vcpus: 1,
    memory: 128,
    gpus: 0,
    logGroupName: DEFAULT_LOG_GROUP,
    logStreamName: `${jobName}/default/${randomUUID().replace(/-/g, '')}`,
    ...overrides,
  };
}

/** One executor on a fresh data dir, tracking the attempts it starts so they are cleaned up. */
export class Harness {
  executor!: Executor;
  events!: EventLog;
  readonly started = new Set<string>();
  /** A scratch directory for files the test and its jobs share. */
  readonly scratch: string;

  private constructor(
    readonly dataDir: string,
    private readonly make: (dataDir: string) => Executor | Promise<Executor>,
    readonly timeoutMs: number,
    readonly image: string | undefined,
  ) {
    this.scratch = path.join(dataDir, 'test-scratch');
    fs.mkdirSync(this.scratch);
  }

  static async create(make: (dataDir: string) => Executor | Promise<Executor>, timeoutMs: number, image?: string): Promise<Harness> {
    const h = new Harness(fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-exec-')), make, timeoutMs, image);
    await h.open();
    return h;
  }

  private async open(): Promise<void> {
    this.executor = await this.make(this.dataDir);
    this.events = recordEvents(this.executor);
  }

  spec(command: string[], overrides: Partial<AttemptSpec> = {}): AttemptSpec {
    return makeSpec(command, { ...(this.image ? { image: this.image } : {}), ...overrides });
  }

  start(spec: AttemptSpec): AttemptSpec {
    this.started.add(spec.key);
    this.executor.start(spec);
    return spec;
  }

  /** Simulate a server restart: close this executor object and make a new one on the same data dir. */
  async restart(): Promise<void> {
    await this.executor.close();
    await this.open();
  }

  log(spec: AttemptSpec): string {
    return readLog(this.dataDir, spec);
  }

  waitForLog(spec: AttemptSpec, text: string): Promise<string> {
    return waitForLog(this.dataDir, spec, text, this.timeoutMs);
  }

  /** Stop whatever still runs (this executor's attempts), close, and remove the data dir. */
  async dispose(): Promise<void> {
    const pending = [...this.started].filter((key) => !this.events.of(key).some((e) => e.type === 'exited'));
    for (const key of pending) this.executor.stop(key, 0);
    await Promise.allSettled(pending.map((key) => this.events.exited(key, 5000)));
    await this.executor.close();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The suite

export function runExecutorConformance(
  name: string,
  makeExecutor: (dataDir: string) => Executor | Promise<Executor>,
  opts: ExecutorConformanceOptions = {},
): void {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const testTimeout = timeoutMs * 4;

  /** A test body with a fresh executor, always disposed. */
  const withHarness = (fn: (h: Harness) => Promise<void>) => async () => {
    const h = await Harness.create(makeExecutor, timeoutMs, opts.image);
    try {
      await fn(h);
    } finally {
      await h.dispose();
    }
  };

  describe(`executor conformance: ${name}`, { timeout: testTimeout * 20 }, () => {
    test('runs a command: running, then exited with 0', { timeout: testTimeout }, withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'exit 0']));
      const running = await h.events.running(spec.key, timeoutMs);
      const exited = await h.events.exited(spec.key, timeoutMs);
      assert.equal(exited.exitCode, 0);
      assert.equal(exited.neverStarted, undefined);
      assert.equal(exited.lost, undefined);
      for (const e of [running, exited]) {
        assert.equal(e.jobId, spec.jobId);
        assert.equal(e.attempt, spec.attempt);
        assert.equal(typeof e.at, 'number');
      }
      assert.ok(running.at <= exited.at, 'running.at <= exited.at');
      assert.deepEqual(h.events.of(spec.key).map((e) => e.type), ['running', 'exited']);
    }));

    test('a nonzero exit code passes through', { timeout: testTimeout }, withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'exit 3']));
      assert.equal((await h.events.exited(spec.key, timeoutMs)).exitCode, 3);
    }));

    test('events are delivered asynchronously, never inside start() or stop()', { timeout: testTimeout }, withHarness(async (h) => {
      let inside = false;
      const seenInside: AttemptEvent[] = [];
      h.executor.onEvent((e) => {
        if (inside) seenInside.push(e);
      });
      inside = true;
      const ok = h.start(h.spec(['sh', '-c', 'exit 0']));
      const bad = h.start(h.spec(['openbatch-no-such-command']));
      h.executor.stop(ok.key, 0);
      inside = false;
      await h.events.exited(ok.key, timeoutMs);
      await h.events.exited(bad.key, timeoutMs);
      assert.deepEqual(seenInside, []);
    }));

    test('the environment reaches the command, the argv unchanged', { timeout: testTimeout }, withHarness(async (h) => {
      const spec = h.spec(['sh', '-c', 'printf "%s\\n" "$AWS_BATCH_JOB_ID" "$AWS_BATCH_JOB_ATTEMPT" "$AWS_BATCH_JQ_NAME" "$AWS_BATCH_CE_NAME" "$MY_VAR"; printf "[%s]\\n" "$@"', 'sh', 'a b', '$HOME', '"q"', "it's", ';', '*', '']);
      spec.environment.MY_VAR = 'some value; $(not expanded)';
      h.start(spec);
      assert.equal((await h.events.exited(spec.key, timeoutMs)).exitCode, 0);
      assert.equal(
        h.log(spec),
        [spec.jobId, '1', 'queue-1', 'ce-1', 'some value; $(not expanded)', '[a b]', '[$HOME]', '["q"]', "[it's]", '[;]', '[*]', '[]', ''].join('\n'),
      );
    }));

    test('stdout and stderr land in the log file', { timeout: testTimeout }, withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo to-stdout; echo to-stderr >&2; echo again-stdout']));
      assert.equal((await h.events.exited(spec.key, timeoutMs)).exitCode, 0);
      if (opts.separateStdoutStderr) {
        const lines = h.log(spec).split('\n');
        assert.deepEqual(lines.filter((l) => l.includes('stdout')), ['to-stdout', 'again-stdout']);
        assert.deepEqual(lines.filter((l) => l.includes('stderr')), ['to-stderr']);
        assert.equal(h.log(spec).length, 'to-stdout\nto-stderr\nagain-stdout\n'.length);
      } else {
        assert.equal(h.log(spec), 'to-stdout\nto-stderr\nagain-stdout\n');
      }
    }));

    test('stop() of a sleeping job: SIGTERM, exit 143', { timeout: testTimeout }, withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
      await h.events.running(spec.key, timeoutMs);
      await h.waitForLog(spec, 'ready');
      h.executor.stop(spec.key, 10_000);
      const exited = await h.events.exited(spec.key, timeoutMs);
      assert.equal(exited.exitCode, 143);
    }));

    test('stop() right after start() (start still in flight) still stops it', { timeout: testTimeout }, withHarness(async (h) => {
      const spec = h.start(h.spec(['sleep', '30']));
      h.executor.stop(spec.key, 10_000);
      const exited = await h.events.exited(spec.key, timeoutMs);
      assert.equal(exited.exitCode, 143);
    }));

    test('stop() of a job that ignores SIGTERM: SIGKILL after the grace period, exit 137', { timeout: testTimeout }, withHarness(async (h) => {
      const graceMs = 300;
      const spec = h.start(h.spec(['sh', '-c', 'trap "" TERM; echo ready; sleep 30; echo survived']));
      await h.waitForLog(spec, 'ready');
      const stoppedAt = Date.now();
      h.executor.stop(spec.key, graceMs);
      const exited = await h.events.exited(spec.key, timeoutMs);
      const elapsed = Date.now() - stoppedAt;
      assert.equal(exited.exitCode, 137);
      assert.ok(elapsed >= graceMs - 20, `killed after ${elapsed} ms, before the ${graceMs} ms grace`);
      assert.doesNotMatch(h.log(spec), /survived/);
    }));

    test('stop() of an unknown or finished attempt is a no-op', { timeout: testTimeout }, withHarness(async (h) => {
      h.executor.stop('no-such-attempt.1');
      const spec = h.start(h.spec(['sh', '-c', 'exit 0']));
      await h.events.exited(spec.key, timeoutMs);
      h.executor.stop(spec.key, 0);
      const after = h.start(h.spec(['sh', '-c', 'exit 0']));
      await h.events.exited(after.key, timeoutMs);
      assert.deepEqual(h.events.of(spec.key).map((e) => e.type), ['running', 'exited']);
    }));

    test('a missing executable: exited, neverStarted, CannotStartContainerError', { timeout: testTimeout }, withHarness(async (h) => {
      const inPath = h.start(h.spec(['openbatch-no-such-command', 'arg']));
      const byPath = h.start(h.spec(['/nonexistent/openbatch/bin/tool']));
      const empty = h.start(h.spec([]));
      for (const [spec, mention] of [
        [inPath, 'openbatch-no-such-command'],
        [byPath, '/nonexistent/openbatch/bin/tool'],
        [empty, ''],
      ] as const) {
        const exited = await h.events.exited(spec.key, timeoutMs);
        assert.equal(exited.neverStarted, true);
        assert.equal(exited.exitCode, undefined);
        assert.match(exited.reason ?? '', /^CannotStartContainerError: /);
        assert.ok((exited.reason ?? '').includes(mention), exited.reason);
        assert.deepEqual(h.events.of(spec.key).map((e) => e.type), ['exited'], 'no running event');
      }
      assert.match((await h.events.exited(inPath.key, timeoutMs)).reason ?? '', /executable file not found in \$PATH/);
    }));

    test('adopt after a restart: a still-running attempt is adopted and its exit reported', { timeout: testTimeout }, withHarness(async (h) => {
      const go = path.join(h.scratch, 'go');
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; while [ ! -e "$1" ]; do sleep 0.05; done; echo done; exit 5', 'sh', go]));
      await h.events.running(spec.key, timeoutMs);
      await h.waitForLog(spec, 'ready');
      await h.restart();
      const outcomes = await h.executor.adopt([spec]);
      assert.equal(outcomes.length, 1);
      assert.equal(outcomes[0].key, spec.key);
      assert.equal(outcomes[0].outcome, 'running');
      const startedAt = outcomes[0].outcome === 'running' ? outcomes[0].startedAt : undefined;
      if (startedAt !== undefined) assert.ok(typeof startedAt === 'number' && startedAt <= Date.now() + 1000, 'startedAt, if given, is a time');
      fs.writeFileSync(go, '');
      const exited = await h.events.exited(spec.key, timeoutMs);
      assert.equal(exited.exitCode, 5);
      assert.equal(exited.lost, undefined);
      assert.match(h.log(spec), /ready\ndone\n/);
    }));

    test('adopt after a restart: stop() works on an adopted attempt', { timeout: testTimeout }, withHarness(async (h) => {
      const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
      await h.waitForLog(spec, 'ready');
      await h.restart();
      const [outcome] = await h.executor.adopt([spec]);
      assert.equal(outcome.key, spec.key);
      assert.equal(outcome.outcome, 'running');
      h.executor.stop(spec.key, 10_000);
      assert.equal((await h.events.exited(spec.key, timeoutMs)).exitCode, 143);
    }));

    test(
      'adopt after a restart: finished while down → exited with its code; never dispatched → not-started',
      { timeout: testTimeout, skip: opts.waitForRecordedExit ? false : 'needs opts.waitForRecordedExit' },
      withHarness(async (h) => {
        const go = path.join(h.scratch, 'go');
        const spec = h.start(h.spec(['sh', '-c', 'echo ready; while [ ! -e "$1" ]; do sleep 0.05; done; exit 4', 'sh', go]));
        await h.waitForLog(spec, 'ready');
        await h.restart();
        fs.writeFileSync(go, '');
        await opts.waitForRecordedExit!(h.dataDir, spec.key, timeoutMs);
        const never = h.spec(['sh', '-c', 'exit 0']);
        const outcomes = await h.executor.adopt([never, spec]);
        assert.deepEqual(outcomes, [
          { key: never.key, outcome: 'not-started' },
          { key: spec.key, outcome: 'exited' },
        ]);
        const exited = await h.events.exited(spec.key, timeoutMs);
        assert.equal(exited.exitCode, 4);
        assert.equal(typeof exited.at, 'number');
        assert.deepEqual(h.events.of(never.key), [], 'no events for an attempt that was never dispatched');
      }),
    );

    test('usage: a command that allocates about 200 MiB reports its peak memory within 20 % (none where not measurable)', { timeout: testTimeout }, async (t) => {
      const h = await Harness.create(makeExecutor, timeoutMs, opts.image);
      try {
        const why = opts.usageNotMeasured?.(h.executor)?.peakMemory;
        // (Where it is not measurable a plain shell will do: the image may have nothing else.)
        const spec = h.start(h.spec(why ? ['sh', '-c', 'exit 0'] : ALLOCATE_200_MIB, { memory: 1024 }));
        const exited = await h.events.exited(spec.key, timeoutMs);
        assert.equal(exited.exitCode, 0, h.log(spec));
        const peak = exited.usage?.peakMemoryMiB;
        if (why) {
          // Not measurable here: reported as absent, never guessed.
          t.diagnostic(`peak memory not measured: ${why}`);
          assert.equal(peak, undefined, `an executor that cannot measure peak memory reported ${peak} MiB`);
          return;
        }
        assert.ok(peak !== undefined && peak >= 160 && peak <= 240, `peak memory ${peak} MiB, expected 200 ± 20 %`);
        // A trivial command is measured too, and far below.
        const small = h.start(h.spec(['sh', '-c', 'exit 0']));
        const quick = await h.events.exited(small.key, timeoutMs);
        assert.ok(quick.usage?.peakMemoryMiB !== undefined && quick.usage.peakMemoryMiB < 60, `peak memory of sh -c 'exit 0': ${quick.usage?.peakMemoryMiB} MiB`);
      } finally {
        await h.dispose();
      }
    });

    test('usage: a command that burns about 1 s of CPU reports more than 0.5 CPU seconds (none where not measurable)', { timeout: testTimeout }, async (t) => {
      const h = await Harness.create(makeExecutor, timeoutMs, opts.image);
      try {
        const why = opts.usageNotMeasured?.(h.executor)?.cpu;
        const spec = h.start(h.spec(why ? ['sh', '-c', 'exit 0'] : BURN_1S_CPU));
        const exited = await h.events.exited(spec.key, timeoutMs);
        assert.equal(exited.exitCode, 0, h.log(spec));
        const cpu = exited.usage?.cpuSeconds;
        if (why) {
          t.diagnostic(`CPU time not measured: ${why}`);
          assert.equal(cpu, undefined, `an executor that cannot measure CPU time reported ${cpu} s`);
          return;
        }
        assert.ok(cpu !== undefined && cpu > 0.5 && cpu < 30, `CPU ${cpu} s, expected about 1`);
        const small = h.start(h.spec(['sh', '-c', 'exit 0']));
        const quick = await h.events.exited(small.key, timeoutMs);
        assert.ok(quick.usage?.cpuSeconds !== undefined && quick.usage.cpuSeconds < 0.5, `CPU of sh -c 'exit 0': ${quick.usage?.cpuSeconds} s`);
      } finally {
        await h.dispose();
      }
    });

    test('adopt: an attempt never dispatched is not-started', { timeout: testTimeout }, withHarness(async (h) => {
      const spec = h.spec(['sh', '-c', 'exit 0']);
      assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'not-started' }]);
      // The server then starts it as usual.
      h.start(spec);
      assert.equal((await h.events.exited(spec.key, timeoutMs)).exitCode, 0);
    }));

    test(
      'adopt after a restart: an attempt killed while down (no recorded exit) is lost',
      { timeout: testTimeout, skip: opts.killAttemptHard ? false : 'needs opts.killAttemptHard' },
      withHarness(async (h) => {
        const spec = h.start(h.spec(['sh', '-c', 'echo ready; exec sleep 30']));
        await h.waitForLog(spec, 'ready');
        await h.restart();
        await opts.killAttemptHard!(h.dataDir, spec.key, timeoutMs);
        assert.deepEqual(await h.executor.adopt([spec]), [{ key: spec.key, outcome: 'lost' }]);
        const exited = await h.events.exited(spec.key, timeoutMs);
        assert.equal(exited.lost, true);
        assert.equal(exited.exitCode, undefined);
        assert.ok(exited.reason, 'a lost attempt has a reason');
      }),
    );
  });
}
