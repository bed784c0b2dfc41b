// The local executor's record of the attempts it watches, and the one way their events go out.
// Every start path (perl launcher, spawn mode), the journal and state-dir watching and adopt share
// it: an attempt is "ours" exactly while it is in `attempts`, `finish` ends that exactly once, and
// events are queued and delivered in a later turn of the event loop (never inside start/stop/adopt).
// Also here: where an attempt lives on disk, and the AWS-style reasons every path reports (an exit
// that failed while its log's file system was full says so: `OutOfDiskError: ...`).

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { logFilePath } from '../../store/log-files.js';
import type { AttemptEvent, AttemptEventListener, AttemptSpec, AttemptUsage } from '../executor.js';
import { REASON_OOM, describeError, type Cgroups } from './cgroups.js';
import type { JournalFile, RecordedProcess } from './journal.js';
import type { LaunchRequest, PerlLauncher } from './launcher.js';

/** What attemptKey() produces: usable as a single path component. */
export const SAFE_KEY = /^(?!\.\.?$)[A-Za-z0-9_.%-]+$/;

export const REASON_SUPERVISOR_KILLED = "CannotInspectContainerError: the attempt's supervisor was killed before recording an exit status";
export const REASON_LOST_WHILE_DOWN =
  "CannotInspectContainerError: the attempt's supervisor is gone without a recorded exit status (lost while the server was down)";
export const REASON_SUPERVISOR_GONE = "CannotInspectContainerError: the attempt's supervisor is gone without a recorded exit status";
export const REASON_LAUNCHER_DIED = 'CannotStartContainerError: the local launcher exited before it started the attempt';
/** Perl mode: the launcher supervises the attempts itself; killed, it takes their statuses along. */
export const REASON_LAUNCHER_KILLED = 'CannotInspectContainerError: the local launcher supervising the attempt was killed before recording its exit status';
export const REASON_LAUNCHER_LOST_WHILE_DOWN = `${REASON_LAUNCHER_KILLED} (lost while the server was down)`;
/** Less than this free on the log's file system when a command failed: the log (and maybe the job) ran out of disk. */
const LOG_DEVICE_FULL_BYTES = 64 * 1024;
export const reasonLogDeviceFull = (dir: string) => `OutOfDiskError: no space left on the device of the job's log (${dir}) when it exited; the log may be incomplete`;

type ExitedEvent = Extract<AttemptEvent, { type: 'exited' }>;
export type ExitFields = Omit<ExitedEvent, 'type' | 'key' | 'jobId' | 'attempt' | 'at'> & { at?: number };

/** A command's recorded end: its status, and AWS's OOM reason when it failed after an OOM kill in its cgroup. */
export function exitFields(status: number, oom: boolean | undefined, at?: number, usage?: AttemptUsage): ExitFields {
  const fields: ExitFields = oom && status !== 0 ? { exitCode: status, reason: REASON_OOM } : { exitCode: status };
  if (at !== undefined) fields.at = at;
  if (usage) fields.usage = usage;
  return fields;
}

/**
 * Spawn mode: the command's recorded end with its cgroup's memory high-water mark added (read
 * while the cgroup exists: the server removes it, right after). Start failures get none.
 */
export function withCgroupPeak<F extends ExitFields>(fields: F, cgroups: Cgroups | undefined, key: string): F {
  if (!cgroups || fields.exitCode === undefined) return fields;
  const peakMemoryMiB = cgroups.peakMiB(key);
  return peakMemoryMiB === undefined ? fields : { ...fields, usage: { ...fields.usage, peakMemoryMiB } };
}

/** One attempt this executor watches: started here, or adopted after a restart or a launcher crash. */
export interface Attempt extends LaunchRequest {
  readonly key: string;
  spec: AttemptSpec;
  /** Its state dir: spawn mode only (perl mode has none; the path is where it would be). */
  stateDir: string;
  /** Perl mode (started through a launcher, or adopted from a journal): never a state dir. */
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
  /** Perl mode, adopted from a journal: the command's process as its S record names it (pid reuse guard). */
  recorded?: RecordedProcess;
  /** Perl mode, adopted: the journal its end will be recorded in (watched). */
  journal?: JournalFile;
  /** Followed through its journal (perl mode) or state files (spawn mode): adopted after a restart. */
  adopted: boolean;
  /** The `running` event went out (or, adopted by `adopt`, the server knows it runs). */
  running: boolean;
  /** stop() was called; `stopSent` once SIGTERM went out (possibly later, when the pid is known). */
  stopGraceMs?: number;
  stopSent: boolean;
  killTimer?: NodeJS.Timeout;
  watcher?: fs.FSWatcher;
}

/** <dataDir>/attempts/<key>, spawn mode: the supervisor's pid and exit files; its existence marks "dispatched". */
export function attemptStateDir(dataDir: string, key: string): string {
  return path.join(path.resolve(dataDir), 'attempts', key);
}

/** <dataDir>/work/<key>: the attempt's working directory. */
export function attemptWorkDir(dataDir: string, key: string): string {
  return path.join(path.resolve(dataDir), 'work', key);
}

/**
 * The attempts being watched, and the event queue. Shared by every part of the executor; `closed`
 * is set by close() and silences events from then on.
 */
export class AttemptBook {
  readonly attempts = new Map<string, Attempt>();
  closed = false;
  /** Called by `finish` before the event is queued (the launcher's in-flight count, the stray-process check). */
  onFinish: (attempt: Attempt) => void = () => {};
  /** The attempts' memory cgroups, where this host has them. */
  cgroups: Cgroups | undefined;

  private readonly listeners: AttemptEventListener[] = [];
  private readonly knownDirs = new Set<string>();
  private queue: AttemptEvent[] = [];
  private flushScheduled = false;

  constructor(
    readonly dataDir: string,
    readonly now: () => number,
  ) {}

  stateDir(key: string): string {
    return attemptStateDir(this.dataDir, key);
  }

  workDir(key: string): string {
    return attemptWorkDir(this.dataDir, key);
  }

  /** The attempt's log file; its directory is made once per executor. Throws with the attempt's reason. */
  logFile(spec: AttemptSpec): string {
    const logFile = logFilePath(this.dataDir, spec.logGroupName, spec.logStreamName);
    const logDir = path.dirname(logFile);
    if (!this.knownDirs.has(logDir)) {
      try {
        fs.mkdirSync(logDir, { recursive: true });
      } catch (e) {
        throw new Error(`cannot create the log directory ${logDir}: ${describeError(e)}`);
      }
      this.knownDirs.add(logDir);
    }
    return logFile;
  }

  onEvent(listener: AttemptEventListener): void {
    this.listeners.push(listener);
  }

  /** close(): no event goes out any more, queued ones included. */
  close(): void {
    this.closed = true;
    this.queue = [];
  }

  reportRunning(attempt: Attempt): void {
    if (attempt.running) return;
    attempt.running = true;
    const { spec } = attempt;
    this.emit({ type: 'running', key: spec.key, jobId: spec.jobId, attempt: spec.attempt, at: this.now() });
  }

  /** The attempt ended (once: later calls for it do nothing); drops everything kept for it. */
  finish(attempt: Attempt, fields: ExitFields): void {
    if (this.attempts.get(attempt.spec.key) !== attempt) return;
    this.attempts.delete(attempt.spec.key);
    this.onFinish(attempt);
    attempt.frame = undefined;
    attempt.env = undefined;
    if (attempt.killTimer) clearTimeout(attempt.killTimer);
    attempt.watcher?.close();
    attempt.watcher = undefined;
    this.emitExited(attempt.spec, fields);
  }

  /** A failure of this host (not the job) to set an attempt up: reported as a start failure. */
  hostStartFailure(spec: AttemptSpec, e: unknown, what?: string): void {
    this.emitExited(spec, hostFailure(e, what));
  }

  emitExited(spec: AttemptSpec, fields: ExitFields): void {
    const { at, ...rest } = fields;
    if (rest.exitCode !== undefined && rest.exitCode !== 0 && rest.reason === undefined) {
      const full = this.logDeviceFull(spec);
      if (full) rest.reason = reasonLogDeviceFull(full);
    }
    this.emit({ type: 'exited', key: spec.key, jobId: spec.jobId, attempt: spec.attempt, at: at ?? this.now(), ...rest });
  }

  /**
   * The log's directory when its file system is (nearly) full, else undefined: a command that
   * failed then most likely failed to write its output (ENOSPC), and its log is cut short. One
   * statfs, for failed commands only.
   */
  private logDeviceFull(spec: AttemptSpec): string | undefined {
    const dir = path.dirname(logFilePath(this.dataDir, spec.logGroupName, spec.logStreamName));
    try {
      const st = fs.statfsSync(dir);
      const free = (process.getuid?.() === 0 ? st.bfree : st.bavail) * st.bsize;
      return free < LOG_DEVICE_FULL_BYTES ? dir : undefined;
    } catch {
      return undefined;
    }
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

export function alreadyDispatched(key: string, stateDir: string): Error {
  return new Error(`LocalExecutor: attempt ${key} was already dispatched (${stateDir} exists)`);
}

/** `what`: what could not be done ("create the log directory /x"), followed by the system's words for why. */
export function hostFailure(e: unknown, what?: string): ExitFields {
  return { neverStarted: true, reason: `CannotStartContainerError: ${what ? `cannot ${what}: ${describeError(e)}` : e instanceof Error ? e.message : String(e)}` };
}

export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}
