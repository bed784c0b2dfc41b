// The local process executor: runs each attempt's command as a process on this host, under a tiny
// shell supervisor that outlives the server, so that neither attempts nor their exit statuses are
// lost when the server dies. Design and on-disk layout: src/executors/README.md.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { logFilePath } from '../../store/log-files.js';
import type { AdoptOutcome, AttemptEvent, AttemptEventListener, AttemptSpec, Executor } from '../executor.js';
import {
  findAttemptProcesses,
  findSupervisors,
  hasAttemptKey,
  isSupervisorOf,
  killAttemptProcesses,
  killGroup,
} from './proc.js';
import {
  ATTEMPT_KEY_VAR,
  SUPERVISOR_ARG0,
  exitRecordedAt,
  findSetsid,
  isSafePid,
  readExitStatus,
  readPids,
  supervisorScript,
} from './supervisor.js';

export interface LocalExecutorOptions {
  /** Root of the server's data: attempts/, work/ and logs/ live under it. */
  dataDir: string;
  /** SIGTERM→SIGKILL grace of `stop` when the caller gives none (AWS: 30 s). */
  stopGraceMs?: number;
  /** Clock for event times (tests). */
  now?: () => number;
  /** How often adopted attempts are checked for a supervisor that died without recording an exit. */
  adoptedCheckIntervalMs?: number;
}

/** What attemptKey() produces: usable as a single path component. */
const SAFE_KEY = /^(?!\.\.?$)[A-Za-z0-9_.%-]+$/;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const REASON_SUPERVISOR_KILLED = "CannotInspectContainerError: the attempt's supervisor was killed before recording an exit status";
const REASON_LOST_WHILE_DOWN =
  "CannotInspectContainerError: the attempt's supervisor is gone without a recorded exit status (lost while the server was down)";
const REASON_SUPERVISOR_GONE = "CannotInspectContainerError: the attempt's supervisor is gone without a recorded exit status";

type ExitedEvent = Extract<AttemptEvent, { type: 'exited' }>;
type ExitFields = Omit<ExitedEvent, 'type' | 'key' | 'jobId' | 'attempt' | 'at'> & { at?: number };

/** One attempt this executor watches: started here, or adopted after a restart. */
interface Attempt {
  spec: AttemptSpec;
  stateDir: string;
  /** Our child (the supervisor) when started by this executor object. */
  child?: ChildProcess;
  supervisorPid?: number;
  /** The command's pid = its process group id, once known (from the pid file). */
  commandPid?: number;
  adopted: boolean;
  spawned: boolean;
  /** stop() was called; `stopSent` once SIGTERM went out (possibly later, when the pid is known). */
  stopGraceMs?: number;
  stopSent: boolean;
  killTimer?: NodeJS.Timeout;
  watcher?: fs.FSWatcher;
}

/** <dataDir>/attempts/<key>: the supervisor's pid and exit files; its existence marks "dispatched". */
export function attemptStateDir(dataDir: string, key: string): string {
  return path.join(path.resolve(dataDir), 'attempts', key);
}

/** <dataDir>/work/<key>: the attempt's working directory. */
export function attemptWorkDir(dataDir: string, key: string): string {
  return path.join(path.resolve(dataDir), 'work', key);
}

export class LocalExecutor implements Executor {
  readonly name = 'local';

  private readonly dataDir: string;
  private readonly stopGraceMs: number;
  private readonly now: () => number;
  private readonly adoptedCheckIntervalMs: number;
  private readonly script: string;

  private readonly listeners: AttemptEventListener[] = [];
  private readonly attempts = new Map<string, Attempt>();
  private readonly knownDirs = new Set<string>();
  private queue: AttemptEvent[] = [];
  private flushScheduled = false;
  private adoptedTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: LocalExecutorOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.stopGraceMs = options.stopGraceMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.adoptedCheckIntervalMs = options.adoptedCheckIntervalMs ?? 2000;
    this.script = supervisorScript(findSetsid());
    fs.mkdirSync(path.join(this.dataDir, 'attempts'), { recursive: true });
    fs.mkdirSync(path.join(this.dataDir, 'work'), { recursive: true });
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
    const problem = spec.command.length === 0 ? 'no command given' : checkExecutable(spec.command[0], env.PATH, workDir);
    if (problem !== undefined) {
      this.emitExited(spec, { neverStarted: true, reason: `CannotStartContainerError: ${problem}` });
      return;
    }

    // The state directory marks the attempt dispatched (adopt: "not-started" without it). A second
    // start of the same attempt is a bug of the caller and must never run the command twice.
    try {
      fs.mkdirSync(stateDir);
    } catch (e) {
      if (errno(e) === 'EEXIST') throw new Error(`LocalExecutor: attempt ${key} was already dispatched (${stateDir} exists)`);
      if (errno(e) !== 'ENOENT') return this.hostStartFailure(spec, e);
      try {
        fs.mkdirSync(stateDir, { recursive: true }); // attempts/ was removed under us
      } catch (e2) {
        return this.hostStartFailure(spec, e2);
      }
    }

    let fd: number;
    try {
      try {
        fs.mkdirSync(workDir);
      } catch (e) {
        if (errno(e) !== 'EEXIST') fs.mkdirSync(workDir, { recursive: true });
      }
      const logFile = logFilePath(this.dataDir, spec.logGroupName, spec.logStreamName);
      const logDir = path.dirname(logFile);
      if (!this.knownDirs.has(logDir)) {
        fs.mkdirSync(logDir, { recursive: true });
        this.knownDirs.add(logDir);
      }
      fd = fs.openSync(logFile, 'a');
    } catch (e) {
      return this.hostStartFailure(spec, e);
    }

    const attempt: Attempt = { spec, stateDir, adopted: false, spawned: false, stopSent: false };
    this.attempts.set(key, attempt);
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
      this.attempts.delete(key);
      fs.closeSync(fd);
      return this.hostStartFailure(spec, e);
    }
    fs.closeSync(fd);
    attempt.child = child;

    child.once('spawn', () => {
      attempt.spawned = true;
      attempt.supervisorPid = child.pid;
      this.emit({ type: 'running', key, jobId: spec.jobId, attempt: spec.attempt, at: this.now() });
    });
    child.on('error', (err) => {
      // Only a failed spawn ends an attempt here; otherwise 'exit' follows.
      if (attempt.spawned || this.closed) return;
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
      const recorded = readExitStatus(stateDir);
      if (recorded !== undefined) {
        this.finish(attempt, { exitCode: recorded });
        return;
      }
      // ...or not: the command may still run, unsupervised. Kill it: it must never run
      // concurrently with a retry of the job.
      killAttemptProcesses(key, attempt.commandPid ?? readPids(stateDir)?.command);
      this.finish(attempt, { lost: true, reason: `${REASON_SUPERVISOR_KILLED} (${signal})` });
    });
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
    const ignore = (): void => {};
    fs.rm(this.stateDir(key), { recursive: true, force: true }, ignore);
    fs.rm(this.workDir(key), { recursive: true, force: true }, ignore);
  }

  async adopt(specs: AttemptSpec[]): Promise<AdoptOutcome[]> {
    if (this.closed) throw new Error('LocalExecutor: adopt() after close()');
    const outcomes: AdoptOutcome[] = [];
    const undecided: { spec: AttemptSpec; stateDir: string; index: number }[] = [];

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
      if (this.adoptExited(spec, stateDir)) {
        outcomes.push({ key, outcome: 'exited' });
        continue;
      }
      const pids = readPids(stateDir, true);
      if (pids && isSupervisorOf(pids.supervisor, stateDir)) {
        outcomes.push({ key, outcome: 'running', startedAt: pids.writtenAt || undefined });
        this.watchAdopted(spec, stateDir, pids.supervisor, pids.command);
        continue;
      }
      // No pid file (a supervisor between spawn and writing it?) or its supervisor is gone.
      outcomes.push({ key, outcome: 'lost' }); // provisional
      undecided.push({ spec, stateDir, index: outcomes.length - 1 });
    }
    if (undecided.length === 0) return outcomes;

    // One pass over /proc for all of them.
    const supervisors = findSupervisors(new Set(undecided.map((u) => u.stateDir)));
    const lost: typeof undecided = [];
    for (const u of undecided) {
      const supervisorPid = supervisors.get(u.stateDir);
      if (supervisorPid !== undefined) {
        outcomes[u.index] = { key: u.spec.key, outcome: 'running' };
        this.watchAdopted(u.spec, u.stateDir, supervisorPid, undefined);
      } else if (this.adoptExited(u.spec, u.stateDir)) {
        outcomes[u.index] = { key: u.spec.key, outcome: 'exited' }; // finished just now
      } else {
        lost.push(u);
      }
    }
    if (lost.length > 0) {
      const strays = findAttemptProcesses(new Set(lost.map((u) => u.spec.key)));
      for (const u of lost) {
        killAttemptProcesses(u.spec.key, readPids(u.stateDir)?.command, strays.get(u.spec.key) ?? []);
        this.emitExited(u.spec, { lost: true, reason: REASON_LOST_WHILE_DOWN });
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
    for (const attempt of this.attempts.values()) {
      if (attempt.killTimer) clearTimeout(attempt.killTimer);
      attempt.watcher?.close();
      attempt.child?.unref();
    }
    this.attempts.clear();
  }

  // -------------------------------------------------------------------------------------------

  /** adopt(): an exit recorded while the server was down is reported with when it was recorded. */
  private adoptExited(spec: AttemptSpec, stateDir: string): boolean {
    const exitCode = readExitStatus(stateDir);
    if (exitCode === undefined) return false;
    this.emitExited(spec, { exitCode, at: exitRecordedAt(stateDir) });
    return true;
  }

  private watchAdopted(spec: AttemptSpec, stateDir: string, supervisorPid: number, commandPid: number | undefined): void {
    const attempt: Attempt = {
      spec,
      stateDir,
      supervisorPid,
      commandPid,
      adopted: true,
      spawned: true,
      stopSent: false,
    };
    this.attempts.set(spec.key, attempt);
    this.watch(attempt);
    if (!this.adoptedTimer) {
      this.adoptedTimer = setInterval(() => this.checkAdoptedAttempts(), this.adoptedCheckIntervalMs);
      this.adoptedTimer.unref();
    }
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
    const exitCode = readExitStatus(attempt.stateDir);
    if (exitCode !== undefined) this.finish(attempt, { exitCode });
  }

  /** Safety net for adopted attempts, whose supervisor is not our child: it may die unrecorded. */
  private checkAdoptedAttempts(): void {
    let adopted = 0;
    for (const attempt of [...this.attempts.values()]) {
      if (!attempt.adopted) continue;
      const exitCode = readExitStatus(attempt.stateDir);
      if (exitCode !== undefined) {
        this.finish(attempt, { exitCode });
        continue;
      }
      if (attempt.supervisorPid !== undefined && isSupervisorOf(attempt.supervisorPid, attempt.stateDir)) {
        adopted++;
        continue;
      }
      const late = readExitStatus(attempt.stateDir); // recorded between the two looks
      if (late !== undefined) {
        this.finish(attempt, { exitCode: late });
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
        this.watch(attempt); // the supervisor is about to write it (or the spawn is in flight)
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
    if (attempt.killTimer) clearTimeout(attempt.killTimer);
    attempt.watcher?.close();
    attempt.watcher = undefined;
    this.emitExited(attempt.spec, fields);
  }

  /** A failure of this host (not the job) to set an attempt up: reported as a start failure. */
  private hostStartFailure(spec: AttemptSpec, e: unknown): void {
    this.emitExited(spec, { neverStarted: true, reason: `CannotStartContainerError: ${e instanceof Error ? e.message : String(e)}` });
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

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined; // ENOENT, ENOTDIR, EACCES on a parent, ...
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Why command[0] cannot be executed with this PATH (Docker's wording), or undefined if it can.
 * A name with a slash is resolved against the work dir; a bare name is searched in PATH.
 */
export function checkExecutable(cmd: string, searchPath: string, workDir: string): string | undefined {
  if (cmd.includes('/')) {
    const file = path.resolve(workDir, cmd);
    const st = statOrUndefined(file);
    if (!st) return `exec: "${cmd}": stat ${cmd}: no such file or directory`;
    if (st.isDirectory()) return `exec: "${cmd}": is a directory`;
    try {
      fs.accessSync(file, fs.constants.X_OK);
    } catch {
      return `exec: "${cmd}": permission denied`;
    }
    return undefined;
  }
  if (cmd !== '') {
    for (const dir of searchPath.split(':')) {
      const file = path.resolve(workDir, dir, cmd); // an empty PATH entry means the cwd
      const st = statOrUndefined(file);
      if (!st || st.isDirectory()) continue;
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return undefined;
      } catch {
        // not executable: keep looking, as execvp does
      }
    }
  }
  return `exec: "${cmd}": executable file not found in $PATH`;
}
