// The local process executor: runs each attempt's command as a process on this host, under a tiny
// supervisor that outlives the server, so that neither attempts nor their exit statuses are lost
// when the server dies. Supervisors are forked by a long-lived perl launcher (launcher.ts), or, in
// spawn mode (no perl, or asked for), spawned by the server as shell scripts (supervisor.ts).
// Design and on-disk layout: src/executors/README.md.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { logFilePath } from '../../store/log-files.js';
import type { AdoptOutcome, AttemptEvent, AttemptEventListener, AttemptSpec, Executor } from '../executor.js';
import { PerlLauncher, encodeStartRequest, findPerl, type LaunchRequest, type LauncherReports } from './launcher.js';
import {
  findAttemptProcesses,
  findStarters,
  findSupervisors,
  isLiveSupervisor,
  killAttemptProcesses,
  killGroup,
  processStartTime,
} from './proc.js';
import {
  ATTEMPT_KEY_VAR,
  SUPERVISOR_ARG0,
  claimAttempt,
  exitRecordedAt,
  findSetsid,
  isSafePid,
  readPids,
  readRecordedExit,
  supervisorScript,
  type RecordedExit,
} from './supervisor.js';

/**
 * How the local executor starts attempts:
 * - `perl`: through one long-lived perl process that forks the supervisors (the server only writes
 *   to a pipe); needs perl (perl-base);
 * - `spawn`: `child_process.spawn` of a shell supervisor per attempt (forks the server each time);
 *   needs util-linux `setsid`;
 * - `auto`: perl when it is installed, else spawn (also when the perl launcher cannot start).
 */
export type LauncherMode = 'auto' | 'perl' | 'spawn';

/** Environment variable that chooses the launcher when the options do not. */
export const LAUNCHER_ENV = 'OPENBATCH_LOCAL_LAUNCHER';

export interface LocalExecutorOptions {
  /** Root of the server's data: attempts/, work/ and logs/ live under it. */
  dataDir: string;
  /** SIGTERM→SIGKILL grace of `stop` when the caller gives none (AWS: 30 s). */
  stopGraceMs?: number;
  /** Clock for event times (tests). */
  now?: () => number;
  /** How often adopted attempts are checked for a supervisor that died without recording an exit. */
  adoptedCheckIntervalMs?: number;
  /** How attempts are started (default: $OPENBATCH_LOCAL_LAUNCHER, else 'auto'). */
  launcher?: LauncherMode;
  /** The perl interpreter for the launcher (default: /usr/bin/perl, else the first perl in PATH). */
  perl?: string;
}

/** What attemptKey() produces: usable as a single path component. */
const SAFE_KEY = /^(?!\.\.?$)[A-Za-z0-9_.%-]+$/;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A crashed launcher is started again at most this often. */
const RELAUNCH_INTERVAL_MS = 1000;
/** Launchers killed (by a signal) before they said `ready`, in a row, before giving up on perl. */
const MAX_LAUNCH_KILLS = 3;

const REASON_SUPERVISOR_KILLED = "CannotInspectContainerError: the attempt's supervisor was killed before recording an exit status";
const REASON_LOST_WHILE_DOWN =
  "CannotInspectContainerError: the attempt's supervisor is gone without a recorded exit status (lost while the server was down)";
const REASON_SUPERVISOR_GONE = "CannotInspectContainerError: the attempt's supervisor is gone without a recorded exit status";
const REASON_LAUNCHER_DIED = 'CannotStartContainerError: the local launcher exited before it started the attempt';

type ExitedEvent = Extract<AttemptEvent, { type: 'exited' }>;
type ExitFields = Omit<ExitedEvent, 'type' | 'key' | 'jobId' | 'attempt' | 'at'> & { at?: number };

/** One attempt this executor watches: started here, or adopted after a restart or a launcher crash. */
interface Attempt extends LaunchRequest {
  readonly key: string;
  spec: AttemptSpec;
  stateDir: string;
  /** Started through the perl launcher: its events come from the launcher (while that lives). */
  viaLauncher: boolean;
  /** The launcher it was handed to. */
  launcher?: PerlLauncher<Attempt>;
  /** Its environment, kept until a launcher read the request (a fallback to spawn needs it). */
  env?: Record<string, string>;
  /** Counted in `inFlight` (keeps the launcher referenced). */
  counted?: boolean;
  /** spawn mode: our child (the supervisor). */
  child?: ChildProcess;
  supervisorPid?: number;
  /** The supervisor's start time (/proc/<pid>/stat field 22), when known: with the pid, its identity. */
  supervisorStart?: number;
  /** The command's pid = its process group id, once known. */
  commandPid?: number;
  /** Watched through its state files (after adopt, or after its launcher died). */
  adopted: boolean;
  /** The `running` event went out (or, adopted by `adopt`, the server knows it runs). */
  running: boolean;
  /** stop() was called; `stopSent` once SIGTERM went out (possibly later, when the pid is known). */
  stopGraceMs?: number;
  stopSent: boolean;
  killTimer?: NodeJS.Timeout;
  watcher?: fs.FSWatcher;
}

/** What the state directory (and /proc) tell about a dispatched attempt nobody watches live. */
type Found =
  | { kind: 'recorded'; fields: RecordedExit }
  | { kind: 'alive'; supervisorPid: number; supervisorStart?: number; commandPid?: number; startedAt?: number }
  /** Never started, and nothing can start it any more: its state dir was removed again. */
  | { kind: 'never' }
  /** No supervisor ran it, and none ever will (we claimed it: its work dir is ours). */
  | { kind: 'unclaimed' }
  /** Its supervisor is gone without a record. */
  | { kind: 'gone'; commandPid?: number };

/** <dataDir>/attempts/<key>: the supervisor's pid and exit files; its existence marks "dispatched". */
export function attemptStateDir(dataDir: string, key: string): string {
  return path.join(path.resolve(dataDir), 'attempts', key);
}

/** <dataDir>/work/<key>: the attempt's working directory. */
export function attemptWorkDir(dataDir: string, key: string): string {
  return path.join(path.resolve(dataDir), 'work', key);
}

function parseLauncherMode(value: string | undefined, from: string): LauncherMode | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'auto' || value === 'perl' || value === 'spawn') return value;
  throw new Error(`LocalExecutor: ${from} must be auto, perl or spawn (got ${JSON.stringify(value)})`);
}

export class LocalExecutor implements Executor {
  readonly name = 'local';

  private readonly dataDir: string;
  private readonly stopGraceMs: number;
  private readonly now: () => number;
  private readonly adoptedCheckIntervalMs: number;
  private readonly requestedMode: LauncherMode;
  private mode: 'perl' | 'spawn';
  private readonly perlPath: string | undefined;
  /** spawn mode's shell supervisor (needs setsid): made when first needed. */
  private script: string | undefined;

  private readonly listeners: AttemptEventListener[] = [];
  private readonly attempts = new Map<string, Attempt>();
  private readonly knownDirs = new Set<string>();
  private queue: AttemptEvent[] = [];
  private flushScheduled = false;
  private adoptedTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private launcher: PerlLauncher<Attempt> | undefined;
  private lastLaunchAt = -Infinity;
  private launchKills = 0;
  private relaunchTimer: NodeJS.Timeout | undefined;
  /** Attempts waiting for a launcher (a crashed one is started again at most once a second). */
  private waiting: Attempt[] = [];
  /** perl mode: attempts started here and not released yet (a second start() throws). */
  private readonly dispatched = new Set<string>();
  /** perl mode: state dirs being made; close() waits for them. */
  private preparing = 0;
  private preparedWaiters: (() => void)[] = [];
  /** Attempts in flight through the launcher: while there are any, it keeps the event loop alive. */
  private inFlight = 0;
  private readonly reports: LauncherReports<Attempt>;

  constructor(options: LocalExecutorOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.stopGraceMs = options.stopGraceMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.adoptedCheckIntervalMs = options.adoptedCheckIntervalMs ?? 2000;
    this.requestedMode = parseLauncherMode(options.launcher, 'options.launcher') ?? parseLauncherMode(process.env[LAUNCHER_ENV], LAUNCHER_ENV) ?? 'auto';
    this.perlPath = this.requestedMode === 'spawn' ? undefined : (options.perl ?? findPerl());
    if (this.perlPath !== undefined) {
      this.mode = 'perl';
    } else if (this.requestedMode === 'perl') {
      throw new Error('LocalExecutor: the perl launcher needs perl (perl-base), which was not found');
    } else {
      this.mode = 'spawn';
      this.script = supervisorScript(findSetsid());
    }
    this.reports = {
      started: (l, key, pid) => this.onStarted(l, key, pid),
      exited: (l, key, status) => {
        const attempt = this.fromLauncher(l, key);
        if (attempt) this.finish(attempt, { exitCode: status });
      },
      failed: (l, key, message) => {
        const attempt = this.fromLauncher(l, key);
        if (attempt) this.finish(attempt, { neverStarted: true, reason: `CannotStartContainerError: ${message}` });
      },
      gone: (l, key, how) => this.onSupervisorGone(l, key, how),
      died: (l, how) => this.onLauncherDied(l, how),
    };
    fs.mkdirSync(path.join(this.dataDir, 'attempts'), { recursive: true });
    fs.mkdirSync(path.join(this.dataDir, 'work'), { recursive: true });
  }

  /** How attempts are started now: through the perl launcher, or spawned one by one. */
  get launcherMode(): 'perl' | 'spawn' {
    return this.mode;
  }

  /** The pid of the perl launcher while one runs (diagnostics, tests). */
  get launcherPid(): number | undefined {
    return this.launcher && !this.launcher.dead ? this.launcher.pid : undefined;
  }

  /** Where the supervisor of an attempt keeps its pid and exit files; exists once dispatched. */
  stateDir(key: string): string {
    return attemptStateDir(this.dataDir, key);
  }

  /** The attempt's working directory (its cwd), scratch space removed by `release`. */
  workDir(key: string): string {
    return attemptWorkDir(this.dataDir, key);
  }

  onEvent(listener: AttemptEventListener): void {
    this.listeners.push(listener);
  }

  start(spec: AttemptSpec): void {
    if (this.closed) throw new Error('LocalExecutor: start() after close()');
    const { key } = spec;
    if (!SAFE_KEY.test(key)) throw new Error(`LocalExecutor: attempt key ${JSON.stringify(key)} is not file-safe (use attemptKey())`);
    if (this.attempts.has(key)) throw new Error(`LocalExecutor: attempt ${key} is already running`);
    const stateDir = this.stateDir(key);
    const workDir = this.workDir(key);

    const env: Record<string, string> = { ...spec.environment };
    if (env.PATH === undefined) env.PATH = process.env.PATH ?? DEFAULT_PATH;
    if (env.HOME === undefined && process.env.HOME !== undefined) env.HOME = process.env.HOME;
    env[ATTEMPT_KEY_VAR] = key;

    // The job's own fault: nothing to run. Reported like ECS's CannotStartContainerError, and
    // decided before anything is written, so such an attempt is never "dispatched".
    const problem = spec.command.length === 0 ? 'no command given' : nulProblem(spec.command, env);
    const resolved = problem === undefined ? resolveExecutable(spec.command[0], env.PATH, workDir) : { problem };
    if ('problem' in resolved) {
      this.emitExited(spec, { neverStarted: true, reason: `CannotStartContainerError: ${resolved.problem}` });
      return;
    }

    // The state directory marks the attempt dispatched (adopt: "not-started" without it). A second
    // start of the same attempt is a bug of the caller and must never run the command twice.
    if (this.mode === 'spawn') {
      try {
        fs.mkdirSync(stateDir);
      } catch (e) {
        if (errno(e) === 'EEXIST') throw alreadyDispatched(key, stateDir);
        if (errno(e) !== 'ENOENT') return this.hostStartFailure(spec, e);
        try {
          fs.mkdirSync(stateDir, { recursive: true }); // attempts/ was removed under us
        } catch (e2) {
          return this.hostStartFailure(spec, e2);
        }
      }
    } else if (this.dispatched.has(key)) {
      // (No existsSync: a lookup in attempts/ waits for the mkdirs in flight there. A state dir
      // from before a restart makes the mkdir below fail instead: the attempt is not run again.)
      throw alreadyDispatched(key, stateDir);
    }

    let logFile: string;
    try {
      logFile = this.logFile(spec);
    } catch (e) {
      return this.hostStartFailure(spec, e);
    }

    const attempt: Attempt = { key, spec, stateDir, viaLauncher: this.mode === 'perl', adopted: false, running: false, stopSent: false };
    this.attempts.set(key, attempt);
    if (this.mode === 'spawn') {
      this.spawnSupervisor(attempt, env);
      return;
    }
    // The supervisor makes the work dir and opens the log itself: the server makes the state dir
    // (in the thread pool: a file system may take a fraction of a millisecond to create one) and
    // writes one request. The supervisor execs the file found here (no second PATH search), with
    // argv[0] as given.
    attempt.frame = encodeStartRequest(key, stateDir, workDir, logFile, resolved.file, spec.command, env);
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
        this.finish(attempt, err.code === 'EEXIST' ? { neverStarted: true, reason: `CannotStartContainerError: ${alreadyDispatched(attempt.key, attempt.stateDir).message}` } : hostFailure(err));
      } else if (this.closed) {
        this.waiting.push(attempt); // close() hands it over
      } else if (this.attempts.get(attempt.key) === attempt) {
        this.handOver(attempt);
      }
      this.prepared();
    });
  }

  private prepared(): void {
    if (--this.preparing === 0) for (const resolve of this.preparedWaiters.splice(0)) resolve();
  }

  stop(key: string, graceMs?: number): void {
    const attempt = this.attempts.get(key);
    if (!attempt || attempt.stopGraceMs !== undefined) return;
    attempt.stopGraceMs = Math.max(0, graceMs ?? this.stopGraceMs);
    this.applyStop(attempt);
  }

  /** Called by the server once it durably recorded the attempt's exit: drop state and scratch. */
  release(key: string): void {
    if (!SAFE_KEY.test(key) || this.attempts.has(key)) return; // still running: its exit is not recorded anywhere yet
    this.dispatched.delete(key);
    const ignore = (): void => {};
    fs.rm(this.stateDir(key), { recursive: true, force: true }, ignore);
    fs.rm(this.workDir(key), { recursive: true, force: true }, ignore);
  }

  async adopt(specs: AttemptSpec[]): Promise<AdoptOutcome[]> {
    if (this.closed) throw new Error('LocalExecutor: adopt() after close()');
    const outcomes: AdoptOutcome[] = [];
    const look: { spec: AttemptSpec; stateDir: string; index: number }[] = [];

    for (const spec of specs) {
      const { key } = spec;
      if (!SAFE_KEY.test(key)) throw new Error(`LocalExecutor: attempt key ${JSON.stringify(key)} is not file-safe`);
      if (this.attempts.has(key)) {
        outcomes.push({ key, outcome: 'running' });
        continue;
      }
      const stateDir = this.stateDir(key);
      if (!fs.existsSync(stateDir)) {
        outcomes.push({ key, outcome: 'not-started' });
        continue;
      }
      outcomes.push({ key, outcome: 'lost' }); // provisional
      look.push({ spec, stateDir, index: outcomes.length - 1 });
    }
    if (look.length === 0) return outcomes;

    const found = inspectAttempts(
      look.map((l) => ({ stateDir: l.stateDir, workDir: this.workDir(l.spec.key) })),
      this.dataDir,
      this.launcherPid,
    );
    const lost: { spec: AttemptSpec; stateDir: string; commandPid?: number }[] = [];
    look.forEach(({ spec, stateDir, index }, i) => {
      const f = found[i];
      const { key } = spec;
      if (f.kind === 'recorded') {
        // Finished while the server was down: reported with when the status was written.
        outcomes[index] = { key, outcome: 'exited' };
        this.emitExited(spec, { ...f.fields, at: exitRecordedAt(stateDir) });
      } else if (f.kind === 'alive') {
        outcomes[index] = f.startedAt !== undefined ? { key, outcome: 'running', startedAt: f.startedAt } : { key, outcome: 'running' };
        this.watchAdopted(spec, stateDir, f);
      } else if (f.kind === 'never') {
        // Dispatched, but the request never reached a supervisor (the server died first): undone.
        outcomes[index] = { key, outcome: 'not-started' };
      } else {
        lost.push({ spec, stateDir, commandPid: f.kind === 'gone' ? f.commandPid : undefined });
      }
    });
    if (lost.length > 0) {
      const strays = findAttemptProcesses(new Set(lost.map((l) => l.spec.key)));
      for (const l of lost) {
        killAttemptProcesses(l.spec.key, l.commandPid ?? readPids(l.stateDir)?.command, strays.get(l.spec.key) ?? []);
        this.emitExited(l.spec, { lost: true, reason: REASON_LOST_WHILE_DOWN });
      }
    }
    return outcomes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    if (this.adoptedTimer) clearInterval(this.adoptedTimer);
    this.adoptedTimer = undefined;
    if (this.relaunchTimer) clearTimeout(this.relaunchTimer);
    this.relaunchTimer = undefined;
    for (const attempt of this.attempts.values()) {
      if (attempt.killTimer) clearTimeout(attempt.killTimer);
      attempt.watcher?.close();
      attempt.child?.unref();
    }
    // Attempts whose state dir is being made were started: they go to the launcher too.
    if (this.preparing > 0) await new Promise<void>((resolve) => this.preparedWaiters.push(resolve));
    this.attempts.clear();
    let launcher = this.launcher && !this.launcher.dead ? this.launcher : undefined;
    const waiting = this.waiting.splice(0);
    if (waiting.length > 0 && this.perlPath !== undefined) {
      // Dispatched (their state dirs exist) but not handed to a launcher yet (one crashed): the
      // server counts on them running, so hand them over now.
      launcher ??= this.launch();
      if (launcher) for (const attempt of waiting) launcher.enqueue(attempt);
    }
    this.launcher = undefined;
    // The launcher reads what is left, forks those supervisors and exits; nothing is killed.
    if (launcher) await launcher.end();
  }

  // -------------------------------------------------------------------------------------------
  // perl launcher

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
        if (this.closed || this.waiting.length === 0) return;
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
      launcher = new PerlLauncher<Attempt>(this.perlPath!, this.dataDir, this.reports);
    } catch (e) {
      // spawn() itself threw (EAGAIN, ...): as if it had died before `ready`.
      setImmediate(() => {
        if (!this.closed) this.launcherNeverRan([], e instanceof Error ? e.message : String(e));
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

  private uncount(attempt: Attempt): void {
    if (!attempt.counted) return;
    attempt.counted = false;
    if (--this.inFlight === 0) this.launcher?.setRef(false);
  }

  /** An attempt of this launcher that it still reports on. */
  private fromLauncher(launcher: PerlLauncher<Attempt>, key: string): Attempt | undefined {
    const attempt = this.attempts.get(key);
    return attempt && attempt.launcher === launcher && !attempt.adopted ? attempt : undefined;
  }

  private onStarted(launcher: PerlLauncher<Attempt>, key: string, commandPid: number): void {
    const attempt = this.fromLauncher(launcher, key);
    if (!attempt) return;
    if (isSafePid(commandPid)) attempt.commandPid = commandPid;
    attempt.frame = undefined;
    attempt.env = undefined;
    this.reportRunning(attempt);
    if (attempt.stopGraceMs !== undefined) this.applyStop(attempt);
  }

  /** The supervisor ended without reporting the attempt's end: killed (or a bug). */
  private onSupervisorGone(launcher: PerlLauncher<Attempt>, key: string, how: { code?: number; signal?: number }): void {
    const attempt = this.fromLauncher(launcher, key);
    if (!attempt) return;
    const recorded = readRecordedExit(attempt.stateDir);
    if (recorded) {
      if ('exitCode' in recorded) this.reportRunning(attempt);
      this.finish(attempt, recorded);
      return;
    }
    // The command may still run, unsupervised. Kill it: it must never run concurrently with a
    // retry of the job.
    killAttemptProcesses(key, attempt.commandPid ?? readPids(attempt.stateDir)?.command);
    const what = how.signal !== undefined ? signalName(how.signal) : `exit status ${how.code}`;
    this.finish(attempt, { lost: true, reason: `${REASON_SUPERVISOR_KILLED} (${what})` });
  }

  /**
   * The launcher is gone (all its output was read). Requests it never read go to the next one.
   * Attempts it read are orphans now: their supervisors (if any) carry on without it, so they are
   * taken over as after a restart (adopt), through their state files.
   */
  private onLauncherDied(launcher: PerlLauncher<Attempt>, how: { code: number | null; signal: NodeJS.Signals | null; error?: Error }): void {
    if (this.launcher === launcher) this.launcher = undefined;
    if (this.closed) return;
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
    for (const attempt of this.attempts.values()) {
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
    if (this.requestedMode !== 'auto') {
      for (const attempt of stranded) this.finish(attempt, { neverStarted: true, reason: `CannotStartContainerError: the perl launcher did not start (${why})` });
      return;
    }
    if (this.mode === 'perl') {
      this.mode = 'spawn';
      process.stderr.write(`openbatch: the local executor's perl launcher did not start (${why}); attempts are spawned one by one instead\n`);
    }
    for (const attempt of stranded) if (this.attempts.get(attempt.key) === attempt) this.handOver(attempt);
  }

  /** A dispatched attempt goes to the launcher, or, after a fall back to spawn mode, is spawned. */
  private handOver(attempt: Attempt): void {
    if (this.mode === 'perl') {
      this.handToLauncher(attempt);
      return;
    }
    attempt.viaLauncher = false;
    attempt.frame = undefined;
    this.uncount(attempt);
    const env = attempt.env!;
    attempt.env = undefined;
    this.spawnSupervisor(attempt, env);
    if (attempt.stopGraceMs !== undefined && this.attempts.get(attempt.key) === attempt) this.applyStop(attempt);
  }

  private takeOverOrphans(orphans: Attempt[]): void {
    const found = inspectAttempts(
      orphans.map((a) => ({ stateDir: a.stateDir, workDir: this.workDir(a.key) })),
      this.dataDir,
      this.launcherPid,
    );
    const lost: { attempt: Attempt; commandPid?: number }[] = [];
    orphans.forEach((attempt, i) => {
      const f = found[i];
      attempt.launcher = undefined;
      switch (f.kind) {
        case 'recorded':
          if ('exitCode' in f.fields) this.reportRunning(attempt);
          this.finish(attempt, f.fields);
          break;
        case 'alive':
          attempt.adopted = true;
          this.uncount(attempt);
          attempt.supervisorPid = f.supervisorPid;
          attempt.supervisorStart = f.supervisorStart;
          attempt.commandPid ??= f.commandPid;
          this.watch(attempt);
          this.ensureAdoptedTimer();
          break;
        case 'never':
          // The launcher died before it forked a supervisor for it: dispatch it again.
          attempt.acked = false;
          this.dispatch(attempt);
          break;
        case 'unclaimed':
          this.finish(attempt, { neverStarted: true, reason: REASON_LAUNCHER_DIED });
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
      this.finish(attempt, { lost: true, reason: REASON_SUPERVISOR_GONE });
    }
  }

  // -------------------------------------------------------------------------------------------
  // spawn mode

  private spawnSupervisor(attempt: Attempt, env: Record<string, string>): void {
    const { spec, stateDir, key } = attempt;
    const workDir = this.workDir(key);
    let fd: number;
    try {
      this.script ??= supervisorScript(findSetsid());
      try {
        fs.mkdirSync(workDir);
      } catch (e) {
        if (errno(e) !== 'EEXIST') fs.mkdirSync(workDir, { recursive: true });
      }
      fd = fs.openSync(this.logFile(spec), 'a');
    } catch (e) {
      return this.finish(attempt, hostFailure(e));
    }

    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', this.script, SUPERVISOR_ARG0, stateDir, ...spec.command], {
        cwd: workDir,
        env,
        // stdout is the log; the command gets 2>&1 from the script. The supervisor's own stderr
        // is /dev/null so that the shell's job-status messages stay out of the job's log.
        stdio: ['ignore', fd, 'ignore'],
        detached: true,
      });
    } catch (e) {
      fs.closeSync(fd);
      return this.finish(attempt, hostFailure(e));
    }
    fs.closeSync(fd);
    attempt.child = child;

    child.once('spawn', () => {
      attempt.supervisorPid = child.pid;
      if (this.attempts.get(key) === attempt) this.reportRunning(attempt);
    });
    child.on('error', (err) => {
      // Only a failed spawn ends an attempt here; otherwise 'exit' follows.
      if (attempt.running || this.closed) return;
      this.finish(attempt, { neverStarted: true, reason: `CannotStartContainerError: ${err.message}` });
    });
    child.once('exit', (code, signal) => {
      if (this.closed || this.attempts.get(key) !== attempt) return;
      if (code !== null) {
        // The supervisor exits with the status it recorded (0..255, 128+N for signal N).
        this.finish(attempt, { exitCode: code });
        return;
      }
      // The supervisor itself was killed by `signal`: maybe after recording the status...
      const recorded = readRecordedExit(stateDir);
      if (recorded !== undefined) {
        this.finish(attempt, recorded);
        return;
      }
      // ...or not: the command may still run, unsupervised. Kill it: it must never run
      // concurrently with a retry of the job.
      killAttemptProcesses(key, attempt.commandPid ?? readPids(stateDir)?.command);
      this.finish(attempt, { lost: true, reason: `${REASON_SUPERVISOR_KILLED} (${signal})` });
    });
  }

  // -------------------------------------------------------------------------------------------

  /** The attempt's log file; its directory is made once per executor. */
  private logFile(spec: AttemptSpec): string {
    const logFile = logFilePath(this.dataDir, spec.logGroupName, spec.logStreamName);
    const logDir = path.dirname(logFile);
    if (!this.knownDirs.has(logDir)) {
      fs.mkdirSync(logDir, { recursive: true });
      this.knownDirs.add(logDir);
    }
    return logFile;
  }

  private reportRunning(attempt: Attempt): void {
    if (attempt.running) return;
    attempt.running = true;
    const { spec } = attempt;
    this.emit({ type: 'running', key: spec.key, jobId: spec.jobId, attempt: spec.attempt, at: this.now() });
  }

  private watchAdopted(spec: AttemptSpec, stateDir: string, found: Extract<Found, { kind: 'alive' }>): void {
    const attempt: Attempt = {
      key: spec.key,
      spec,
      stateDir,
      viaLauncher: false,
      supervisorPid: found.supervisorPid,
      supervisorStart: found.supervisorStart,
      commandPid: found.commandPid,
      adopted: true,
      running: true, // the server knows (adopt's outcome): no second running event
      stopSent: false,
    };
    this.attempts.set(spec.key, attempt);
    this.watch(attempt);
    this.ensureAdoptedTimer();
  }

  private ensureAdoptedTimer(): void {
    if (this.adoptedTimer) return;
    this.adoptedTimer = setInterval(() => this.checkAdoptedAttempts(), this.adoptedCheckIntervalMs);
    this.adoptedTimer.unref();
  }

  /** Watch the state directory: the exit file of an adopted attempt, a pid file a stop waits for. */
  private watch(attempt: Attempt): void {
    if (attempt.watcher) return;
    try {
      attempt.watcher = fs.watch(attempt.stateDir, () => this.onStateChange(attempt));
      attempt.watcher.on('error', () => {
        attempt.watcher?.close();
        attempt.watcher = undefined;
      });
    } catch {
      // Directory gone, or out of inotify watches: the adopted-attempt interval still checks.
    }
    this.onStateChange(attempt); // whatever happened before the watcher existed
  }

  private onStateChange(attempt: Attempt): void {
    if (this.attempts.get(attempt.spec.key) !== attempt) return;
    if (attempt.stopGraceMs !== undefined && !attempt.stopSent) this.applyStop(attempt);
    if (!attempt.adopted) return;
    if (!attempt.running) {
      // Taken over from a crashed launcher before it reported the start.
      const pids = readPids(attempt.stateDir);
      if (pids) {
        attempt.commandPid ??= pids.command;
        this.reportRunning(attempt);
      }
    }
    const recorded = readRecordedExit(attempt.stateDir);
    if (recorded !== undefined) this.finishRecorded(attempt, recorded);
  }

  private finishRecorded(attempt: Attempt, recorded: RecordedExit): void {
    if ('exitCode' in recorded) this.reportRunning(attempt);
    this.finish(attempt, recorded);
  }

  /** Safety net for adopted attempts, whose supervisor is not our child: it may die unrecorded. */
  private checkAdoptedAttempts(): void {
    let adopted = 0;
    for (const attempt of [...this.attempts.values()]) {
      if (!attempt.adopted) continue;
      const recorded = readRecordedExit(attempt.stateDir);
      if (recorded !== undefined) {
        this.finishRecorded(attempt, recorded);
        continue;
      }
      if (attempt.supervisorPid !== undefined && isLiveSupervisor(attempt.supervisorPid, attempt.supervisorStart, attempt.stateDir)) {
        adopted++;
        continue;
      }
      const late = readRecordedExit(attempt.stateDir); // recorded between the two looks
      if (late !== undefined) {
        this.finishRecorded(attempt, late);
        continue;
      }
      killAttemptProcesses(attempt.spec.key, attempt.commandPid ?? readPids(attempt.stateDir)?.command);
      this.finish(attempt, { lost: true, reason: REASON_SUPERVISOR_GONE });
    }
    if (adopted === 0 && this.adoptedTimer) {
      clearInterval(this.adoptedTimer);
      this.adoptedTimer = undefined;
    }
  }

  /** SIGTERM the command's process group now if its pid is known, else as soon as it is. */
  private applyStop(attempt: Attempt): void {
    if (attempt.stopSent || attempt.stopGraceMs === undefined) return;
    if (attempt.commandPid === undefined) {
      const pids = readPids(attempt.stateDir);
      if (!pids) {
        // Through a live launcher, `started` applies it (the command is exec'd by then). Otherwise
        // the supervisor is about to write the pid file (or the spawn is in flight).
        if (attempt.viaLauncher && !attempt.adopted) return;
        this.watch(attempt);
        return;
      }
      attempt.commandPid = pids.command;
      if (attempt.supervisorPid === undefined) attempt.supervisorPid = pids.supervisor;
    }
    const pid = attempt.commandPid;
    if (!isSafePid(pid)) return;
    attempt.stopSent = true;
    if (!attempt.adopted && attempt.watcher) {
      attempt.watcher.close();
      attempt.watcher = undefined;
    }
    killGroup(pid, 'SIGTERM');
    attempt.killTimer = setTimeout(() => {
      attempt.killTimer = undefined;
      if (this.attempts.get(attempt.spec.key) === attempt) killGroup(pid, 'SIGKILL');
    }, attempt.stopGraceMs);
    attempt.killTimer.unref();
  }

  private finish(attempt: Attempt, fields: ExitFields): void {
    if (this.attempts.get(attempt.spec.key) !== attempt) return;
    this.attempts.delete(attempt.spec.key);
    this.uncount(attempt);
    attempt.frame = undefined;
    attempt.env = undefined;
    if (attempt.killTimer) clearTimeout(attempt.killTimer);
    attempt.watcher?.close();
    attempt.watcher = undefined;
    this.emitExited(attempt.spec, fields);
  }

  /** A failure of this host (not the job) to set an attempt up: reported as a start failure. */
  private hostStartFailure(spec: AttemptSpec, e: unknown): void {
    this.emitExited(spec, hostFailure(e));
  }

  private emitExited(spec: AttemptSpec, fields: ExitFields): void {
    const { at, ...rest } = fields;
    this.emit({ type: 'exited', key: spec.key, jobId: spec.jobId, attempt: spec.attempt, at: at ?? this.now(), ...rest });
  }

  /** Events go out in order, in a later turn of the event loop: never inside start/stop/adopt. */
  private emit(event: AttemptEvent): void {
    if (this.closed) return;
    this.queue.push(event);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = this.queue;
      this.queue = [];
      for (const ev of batch) {
        for (const listener of this.listeners) {
          try {
            listener(ev);
          } catch (err) {
            queueMicrotask(() => {
              throw err; // a listener's bug: surface it, but after the other listeners ran
            });
          }
        }
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the state of attempts nobody watches live (adopt, a crashed launcher's orphans)

/**
 * What became of these dispatched attempts: one pass over their state files, one scan of /proc
 * for those that show no supervisor, and, for attempts that show none at all, the claim (the work
 * dir), which settles for good whether a supervisor can still run them. An attempt that nothing
 * ever picked up (its state dir is empty and nothing could still pick it up: no launcher left by
 * an earlier server, no supervisor starting) is undone: `never`, safe to start again.
 */
function inspectAttempts(items: readonly { stateDir: string; workDir: string }[], dataDir: string, ownLauncher?: number): Found[] {
  const found: Found[] = new Array(items.length);
  const scan: number[] = [];
  items.forEach(({ stateDir, workDir }, i) => {
    const quick = inspectQuick(stateDir);
    if (quick === 'scan') scan.push(i);
    else found[i] = quick ?? settle(stateDir, workDir);
  });
  if (scan.length === 0) return found;
  const supervisors = findSupervisors(new Set(scan.map((i) => items[i].stateDir)));
  const claimed: number[] = [];
  for (const i of scan) {
    const { stateDir, workDir } = items[i];
    const pid = supervisors.get(stateDir);
    found[i] = pid !== undefined ? aliveFound(stateDir, pid) : settle(stateDir, workDir);
    if (found[i].kind === 'unclaimed' && isEmptyDir(stateDir)) claimed.push(i);
  }
  if (claimed.length === 0) return found;
  // We hold their claims: no supervisor can run them. Nothing was ever recorded for them. If no
  // process exists that could still try (a supervisor that has not claimed yet fails now, but it
  // would not once we let go of the claim), undo the dispatch.
  const starters = findStarters(dataDir, new Set(claimed.map((i) => items[i].stateDir)), ownLauncher);
  if (starters.launchers.length > 0) return found;
  for (const i of claimed) {
    const { stateDir, workDir } = items[i];
    if (starters.supervisors.has(stateDir)) continue;
    try {
      fs.rmdirSync(stateDir); // fails if anything was written there meanwhile
    } catch {
      continue;
    }
    try {
      fs.rmdirSync(workDir);
    } catch {
      // our own empty dir: removed with the attempt's files by release()
    }
    found[i] = { kind: 'never' };
  }
  return found;
}

/** From the state files alone; 'scan' when only /proc can tell; undefined when the supervisor is gone. */
function inspectQuick(stateDir: string): Found | 'scan' | undefined {
  const fields = readRecordedExit(stateDir);
  if (fields) return { kind: 'recorded', fields };
  const pids = readPids(stateDir, true);
  if (!pids) return 'scan'; // a supervisor that has not started the command yet, or none
  if (!isLiveSupervisor(pids.supervisor, pids.supervisorStart, stateDir)) return undefined;
  return {
    kind: 'alive',
    supervisorPid: pids.supervisor,
    supervisorStart: pids.supervisorStart ?? processStartTime(pids.supervisor),
    commandPid: pids.command,
    startedAt: pids.writtenAt || undefined,
  };
}

function aliveFound(stateDir: string, supervisorPid: number): Found {
  const pids = readPids(stateDir, true);
  return {
    kind: 'alive',
    supervisorPid,
    supervisorStart: processStartTime(supervisorPid),
    commandPid: pids?.command,
    startedAt: pids?.writtenAt || undefined,
  };
}

/** No live supervisor seen: settle it, claiming the attempt if no supervisor did. */
function settle(stateDir: string, workDir: string): Found {
  const recorded = readRecordedExit(stateDir);
  if (recorded) return { kind: 'recorded', fields: recorded };
  const pids = readPids(stateDir);
  if (pids) return { kind: 'gone', commandPid: pids.command };
  const claim = claimAttempt(workDir);
  if (claim === 'us') return { kind: 'unclaimed' };
  if (claim === 'taken') {
    // A supervisor may have claimed it just now (it names itself before it claims): look once more.
    const pid = findSupervisors(new Set([stateDir])).get(stateDir);
    if (pid !== undefined) return aliveFound(stateDir, pid);
  }
  const late = readRecordedExit(stateDir);
  if (late) return { kind: 'recorded', fields: late };
  return { kind: 'gone', commandPid: readPids(stateDir)?.command };
}

function isEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

function alreadyDispatched(key: string, stateDir: string): Error {
  return new Error(`LocalExecutor: attempt ${key} was already dispatched (${stateDir} exists)`);
}

function hostFailure(e: unknown): ExitFields {
  return { neverStarted: true, reason: `CannotStartContainerError: ${e instanceof Error ? e.message : String(e)}` };
}

function signalName(signal: number): string {
  for (const [name, n] of Object.entries(os.constants.signals)) if (n === signal) return name;
  return `signal ${signal}`;
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file, { throwIfNoEntry: false }); // ENOENT, ENOTDIR: undefined
  } catch {
    return undefined; // EACCES on a parent, ...
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** A NUL byte cannot be passed to exec (and would break the launcher's framing). */
function nulProblem(command: readonly string[], env: Readonly<Record<string, string>>): string | undefined {
  for (const arg of command) if (arg.includes('\0')) return 'the command contains a NUL byte';
  for (const name in env) if (name.includes('\0') || env[name].includes('\0')) return `the environment variable ${JSON.stringify(name.replace(/\0/g, '\\0'))} contains a NUL byte`;
  return undefined;
}

/**
 * Why command[0] cannot be executed with this PATH (Docker's wording), or undefined if it can.
 * A name with a slash is resolved against the work dir; a bare name is searched in PATH.
 */
export function checkExecutable(cmd: string, searchPath: string, workDir: string): string | undefined {
  const r = resolveExecutable(cmd, searchPath, workDir);
  return 'problem' in r ? r.problem : undefined;
}

/**
 * The file command[0] names (as execvp would find it, and as Docker resolves it before it starts
 * a container), or why it cannot be executed (Docker's wording). A name with a slash is resolved
 * against the work dir; a bare name is searched in PATH. No exceptions on the way: a failed stat
 * per PATH entry is the common case, and a thrown error costs more than the system call.
 */
export function resolveExecutable(cmd: string, searchPath: string, workDir: string): { file: string } | { problem: string } {
  if (cmd.includes('/')) {
    const file = path.resolve(workDir, cmd);
    const st = statOrUndefined(file);
    if (!st) return { problem: `exec: "${cmd}": stat ${cmd}: no such file or directory` };
    if (st.isDirectory()) return { problem: `exec: "${cmd}": is a directory` };
    if (!isExecutable(file)) return { problem: `exec: "${cmd}": permission denied` };
    return { file };
  }
  if (cmd !== '') {
    for (const dir of searchPath.split(':')) {
      const file = path.resolve(workDir, dir, cmd); // an empty PATH entry means the cwd
      const st = statOrUndefined(file);
      if (!st || st.isDirectory()) continue;
      if (isExecutable(file)) return { file };
      // not executable: keep looking, as execvp does
    }
  }
  return { problem: `exec: "${cmd}": executable file not found in $PATH` };
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
