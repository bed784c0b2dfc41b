// The local executor's default start path: attempts go to one long-lived perl launcher
// (launcher.ts) that forks their supervisors, so a start costs the server one mkdir in the thread
// pool and a few hundred bytes written to a pipe. Also the launcher's life cycle: it is started at
// the first start, started again (at most once a second) when it dies, and its orphans (attempts
// it had acknowledged) are taken over through their state files, as adopt does after a restart.
// A launcher that cannot run at all makes `auto` fall back to spawn mode (spawn-start.ts).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  REASON_LAUNCHER_DIED,
  REASON_SUPERVISOR_GONE,
  REASON_SUPERVISOR_KILLED,
  alreadyDispatched,
  hostFailure,
  type Attempt,
  type AttemptBook,
} from './attempts.js';
import { inspectAttempts } from './inspect.js';
import { PerlLauncher, encodeStartRequest, type LauncherReports } from './launcher.js';
import { findAttemptProcesses, killAttemptProcesses } from './proc.js';
import type { SpawnStarter } from './spawn-start.js';
import type { StateWatch } from './state-watch.js';
import { isSafePid, readPids, readRecordedExit } from './supervisor.js';

/** A crashed launcher is started again at most this often. */
const RELAUNCH_INTERVAL_MS = 1000;
/** Launchers killed (by a signal) before they said `ready`, in a row, before giving up on perl. */
const MAX_LAUNCH_KILLS = 3;

export class PerlStarter {
  /** Attempts are started through the launcher (false after a fall back to spawn mode). */
  active = true;
  /** Attempts started here and not released yet (a second start() throws). */
  readonly dispatched = new Set<string>();
  /** State dirs being made; close() waits for them. */
  preparing = 0;

  private launcher: PerlLauncher<Attempt> | undefined;
  private lastLaunchAt = -Infinity;
  private launchKills = 0;
  private relaunchTimer: NodeJS.Timeout | undefined;
  /** Attempts waiting for a launcher (a crashed one is started again at most once a second). */
  private waiting: Attempt[] = [];
  private preparedWaiters: (() => void)[] = [];
  /** Attempts in flight through the launcher: while there are any, it keeps the event loop alive. */
  private inFlight = 0;
  private readonly reports: LauncherReports<Attempt>;

  constructor(
    private readonly book: AttemptBook,
    private readonly watch: StateWatch,
    private readonly spawner: SpawnStarter,
    private readonly perlPath: string,
    /** `auto` mode: a launcher that cannot run makes attempts spawned instead of failing them. */
    private readonly canFallBack: boolean,
  ) {
    this.reports = {
      started: (l, key, pid) => this.onStarted(l, key, pid),
      exited: (l, key, status) => {
        const attempt = this.fromLauncher(l, key);
        if (attempt) this.book.finish(attempt, { exitCode: status });
      },
      failed: (l, key, message) => {
        const attempt = this.fromLauncher(l, key);
        if (attempt) this.book.finish(attempt, { neverStarted: true, reason: `CannotStartContainerError: ${message}` });
      },
      gone: (l, key, how) => this.onSupervisorGone(l, key, how),
      died: (l, how) => this.onLauncherDied(l, how),
    };
  }

  /** The pid of the launcher while one runs. */
  get launcherPid(): number | undefined {
    return this.launcher && !this.launcher.dead ? this.launcher.pid : undefined;
  }

  /** A new attempt (in `attempts`, its command resolved to `file`): dispatch it to the launcher. */
  start(attempt: Attempt, file: string, workDir: string, logFile: string, env: Record<string, string>): void {
    const { key, spec, stateDir } = attempt;
    // The supervisor makes the work dir and opens the log itself: the server makes the state dir
    // (in the thread pool: a file system may take a fraction of a millisecond to create one) and
    // writes one request. The supervisor execs the file found here (no second PATH search), with
    // argv[0] as given.
    attempt.frame = encodeStartRequest(key, stateDir, workDir, logFile, file, spec.command, env);
    attempt.env = env;
    this.count(attempt);
    this.dispatched.add(key);
    this.dispatch(attempt);
  }

  /** perl mode: make the state dir (the attempt is dispatched from then on), then hand it over. */
  private dispatch(attempt: Attempt, retry = true): void {
    this.preparing++;
    fs.mkdir(attempt.stateDir, (err) => {
      if (err?.code === 'ENOENT' && retry) {
        // attempts/ was removed under us
        fs.mkdir(path.dirname(attempt.stateDir), { recursive: true }, () => {
          this.dispatch(attempt, false);
          this.prepared();
        });
        return;
      }
      if (err) {
        this.book.finish(attempt, err.code === 'EEXIST' ? { neverStarted: true, reason: `CannotStartContainerError: ${alreadyDispatched(attempt.key, attempt.stateDir).message}` } : hostFailure(err));
      } else if (this.book.closed) {
        this.waiting.push(attempt); // close() hands it over
      } else if (this.book.attempts.get(attempt.key) === attempt) {
        this.handOver(attempt);
      }
      this.prepared();
    });
  }

  private prepared(): void {
    if (--this.preparing === 0) for (const resolve of this.preparedWaiters.splice(0)) resolve();
  }

  /** Resolves when no state dir is being made any more (call it only while `preparing` > 0). */
  settled(): Promise<void> {
    return new Promise<void>((resolve) => this.preparedWaiters.push(resolve));
  }

  /** close(): no launcher is started again by the timer. */
  stopRelaunching(): void {
    if (this.relaunchTimer) clearTimeout(this.relaunchTimer);
    this.relaunchTimer = undefined;
  }

  /** close(): the launcher reads what is left, forks those supervisors and exits; nothing is killed. */
  async close(): Promise<void> {
    let launcher = this.launcher && !this.launcher.dead ? this.launcher : undefined;
    const waiting = this.waiting.splice(0);
    if (waiting.length > 0) {
      // Dispatched (their state dirs exist) but not handed to a launcher yet (one crashed): the
      // server counts on them running, so hand them over now.
      launcher ??= this.launch();
      if (launcher) for (const attempt of waiting) launcher.enqueue(attempt);
    }
    this.launcher = undefined;
    if (launcher) await launcher.end();
  }

  private handToLauncher(attempt: Attempt): void {
    const launcher = this.liveLauncher();
    if (launcher) {
      attempt.launcher = launcher;
      launcher.enqueue(attempt);
    } else {
      this.waiting.push(attempt);
    }
  }

  /** The running launcher, or a new one; none while a crashed one may not be restarted yet. */
  private liveLauncher(): PerlLauncher<Attempt> | undefined {
    if (this.launcher && !this.launcher.dead) return this.launcher;
    const wait = this.lastLaunchAt + RELAUNCH_INTERVAL_MS - performance.now();
    if (wait > 0) {
      this.relaunchTimer ??= setTimeout(() => {
        this.relaunchTimer = undefined;
        if (this.book.closed || this.waiting.length === 0) return;
        const waiting = this.waiting.splice(0);
        for (const attempt of waiting) this.handToLauncher(attempt);
      }, wait);
      return undefined;
    }
    return this.launch();
  }

  private launch(): PerlLauncher<Attempt> | undefined {
    this.lastLaunchAt = performance.now();
    let launcher: PerlLauncher<Attempt>;
    try {
      launcher = new PerlLauncher<Attempt>(this.perlPath, this.book.dataDir, this.reports);
    } catch (e) {
      // spawn() itself threw (EAGAIN, ...): as if it had died before `ready`.
      setImmediate(() => {
        if (!this.book.closed) this.launcherNeverRan([], e instanceof Error ? e.message : String(e));
      });
      return undefined;
    }
    this.launcher = launcher;
    launcher.setRef(this.inFlight > 0);
    return launcher;
  }

  private count(attempt: Attempt): void {
    if (attempt.counted) return;
    attempt.counted = true;
    if (this.inFlight++ === 0) this.launcher?.setRef(true);
  }

  uncount(attempt: Attempt): void {
    if (!attempt.counted) return;
    attempt.counted = false;
    if (--this.inFlight === 0) this.launcher?.setRef(false);
  }

  /** An attempt of this launcher that it still reports on. */
  private fromLauncher(launcher: PerlLauncher<Attempt>, key: string): Attempt | undefined {
    const attempt = this.book.attempts.get(key);
    return attempt && attempt.launcher === launcher && !attempt.adopted ? attempt : undefined;
  }

  private onStarted(launcher: PerlLauncher<Attempt>, key: string, commandPid: number): void {
    const attempt = this.fromLauncher(launcher, key);
    if (!attempt) return;
    if (isSafePid(commandPid)) attempt.commandPid = commandPid;
    attempt.frame = undefined;
    attempt.env = undefined;
    this.book.reportRunning(attempt);
    if (attempt.stopGraceMs !== undefined) this.watch.applyStop(attempt);
  }

  /** The supervisor ended without reporting the attempt's end: killed (or a bug). */
  private onSupervisorGone(launcher: PerlLauncher<Attempt>, key: string, how: { code?: number; signal?: number }): void {
    const attempt = this.fromLauncher(launcher, key);
    if (!attempt) return;
    const recorded = readRecordedExit(attempt.stateDir);
    if (recorded) {
      if ('exitCode' in recorded) this.book.reportRunning(attempt);
      this.book.finish(attempt, recorded);
      return;
    }
    // The command may still run, unsupervised. Kill it: it must never run concurrently with a
    // retry of the job.
    killAttemptProcesses(key, attempt.commandPid ?? readPids(attempt.stateDir)?.command);
    const what = how.signal !== undefined ? signalName(how.signal) : `exit status ${how.code}`;
    this.book.finish(attempt, { lost: true, reason: `${REASON_SUPERVISOR_KILLED} (${what})` });
  }

  /**
   * The launcher is gone (all its output was read). Requests it never read go to the next one.
   * Attempts it read are orphans now: their supervisors (if any) carry on without it, so they are
   * taken over as after a restart (adopt), through their state files.
   */
  private onLauncherDied(launcher: PerlLauncher<Attempt>, how: { code: number | null; signal: NodeJS.Signals | null; error?: Error }): void {
    if (this.launcher === launcher) this.launcher = undefined;
    if (this.book.closed) return;
    const unsent = launcher.unsent();
    for (const attempt of unsent) attempt.launcher = undefined;

    if (!launcher.ready) {
      // Nothing was written to it. Killed by a signal (from outside) while it started: try again,
      // a few times. Failed by itself (perl cannot run the script here?): no use trying again.
      if (how.signal !== null && !how.error && ++this.launchKills < MAX_LAUNCH_KILLS) {
        for (const attempt of unsent) this.handToLauncher(attempt);
        return;
      }
      const why = how.error?.message ?? (how.signal ? `killed by ${how.signal}` : `exit status ${how.code}`) + (launcher.stderrTail ? `: ${launcher.stderrTail.trim()}` : '');
      this.launcherNeverRan(unsent, why);
      return;
    }
    this.launchKills = 0;

    const orphans: Attempt[] = [];
    for (const attempt of this.book.attempts.values()) {
      if (attempt.launcher === launcher && attempt.acked && !attempt.adopted) orphans.push(attempt);
    }
    if (orphans.length > 0) this.takeOverOrphans(orphans);
    for (const attempt of unsent) this.handToLauncher(attempt);
  }

  /**
   * A launcher died before it said `ready` (perl cannot run the script here?): nothing was written
   * to it. In auto mode, fall back to spawning; with perl asked for, these attempts fail to start.
   */
  private launcherNeverRan(unsent: Attempt[], why: string): void {
    const stranded = [...unsent, ...this.waiting.splice(0)];
    if (!this.canFallBack) {
      for (const attempt of stranded) this.book.finish(attempt, { neverStarted: true, reason: `CannotStartContainerError: the perl launcher did not start (${why})` });
      return;
    }
    if (this.active) {
      this.active = false;
      process.stderr.write(`openbatch: the local executor's perl launcher did not start (${why}); attempts are spawned one by one instead\n`);
    }
    for (const attempt of stranded) if (this.book.attempts.get(attempt.key) === attempt) this.handOver(attempt);
  }

  /** A dispatched attempt goes to the launcher, or, after a fall back to spawn mode, is spawned. */
  private handOver(attempt: Attempt): void {
    if (this.active) {
      this.handToLauncher(attempt);
      return;
    }
    attempt.viaLauncher = false;
    attempt.frame = undefined;
    this.uncount(attempt);
    const env = attempt.env!;
    attempt.env = undefined;
    this.spawner.spawn(attempt, env);
    if (attempt.stopGraceMs !== undefined && this.book.attempts.get(attempt.key) === attempt) this.watch.applyStop(attempt);
  }

  private takeOverOrphans(orphans: Attempt[]): void {
    const found = inspectAttempts(
      orphans.map((a) => ({ stateDir: a.stateDir, workDir: this.book.workDir(a.key) })),
      this.book.dataDir,
      this.launcherPid,
    );
    const lost: { attempt: Attempt; commandPid?: number }[] = [];
    orphans.forEach((attempt, i) => {
      const f = found[i];
      attempt.launcher = undefined;
      switch (f.kind) {
        case 'recorded':
          if ('exitCode' in f.fields) this.book.reportRunning(attempt);
          this.book.finish(attempt, f.fields);
          break;
        case 'alive':
          attempt.adopted = true;
          this.uncount(attempt);
          attempt.supervisorPid = f.supervisorPid;
          attempt.supervisorStart = f.supervisorStart;
          attempt.commandPid ??= f.commandPid;
          this.watch.watch(attempt);
          this.watch.ensureAdoptedTimer();
          break;
        case 'never':
          // The launcher died before it forked a supervisor for it: dispatch it again.
          attempt.acked = false;
          this.dispatch(attempt);
          break;
        case 'unclaimed':
          this.book.finish(attempt, { neverStarted: true, reason: REASON_LAUNCHER_DIED });
          break;
        case 'gone':
          lost.push({ attempt, commandPid: f.commandPid });
          break;
      }
    });
    if (lost.length === 0) return;
    const strays = findAttemptProcesses(new Set(lost.map((l) => l.attempt.key)));
    for (const { attempt, commandPid } of lost) {
      killAttemptProcesses(attempt.key, commandPid ?? attempt.commandPid, strays.get(attempt.key) ?? []);
      this.book.finish(attempt, { lost: true, reason: REASON_SUPERVISOR_GONE });
    }
  }
}

function signalName(signal: number): string {
  for (const [name, n] of Object.entries(os.constants.signals)) if (n === signal) return name;
  return `signal ${signal}`;
}
