// The local executor's spawn mode: the server spawns one shell supervisor per attempt
// (`/bin/sh -c SCRIPT ob-supervisor <stateDir> <command...>`, detached; supervisor.ts), and learns
// the attempt's end from that child's exit. The fallback when perl is missing or its launcher
// cannot start, and the earlier design: each spawn forks the server and blocks the event loop until
// the child exec'd (README: "Two ways to start attempts"). Everything here is synchronous but the
// child's events.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { AttemptSpec } from '../executor.js';
import { REASON_SUPERVISOR_KILLED, alreadyDispatched, errno, hostFailure, withCgroupPeak, type Attempt, type AttemptBook, type ExitFields } from './attempts.js';
import { memoryLimitBytes } from './cgroups.js';
import { killAttemptProcesses } from './proc.js';
import { SUPERVISOR_ARG0, findSetsid, readCpuSeconds, readPids, readRecordedExit, supervisorScript } from './supervisor.js';

export class SpawnStarter {
  /** The shell supervisor (needs setsid): made when first needed. */
  private script: string | undefined;

  /** `eager`: spawn mode from the start, so a missing setsid is an error of the constructor. */
  constructor(
    private readonly book: AttemptBook,
    eager: boolean,
  ) {
    if (eager) this.script = supervisorScript(findSetsid(), book.cgroups?.config);
  }

  /**
   * Makes the attempt's state dir: from then on it is dispatched. Throws if it already was (a bug
   * of the caller: the command must never run twice); false when this host failed (reported).
   */
  makeStateDir(spec: AttemptSpec, stateDir: string, attempt?: Attempt): boolean {
    const fail = (e: unknown): false => {
      const what = `create the state directory ${stateDir}`;
      if (attempt) this.book.finish(attempt, hostFailure(e, what));
      else this.book.hostStartFailure(spec, e, what);
      return false;
    };
    try {
      fs.mkdirSync(stateDir);
    } catch (e) {
      if (errno(e) === 'EEXIST') throw alreadyDispatched(spec.key, stateDir);
      if (errno(e) !== 'ENOENT') return fail(e);
      try {
        fs.mkdirSync(stateDir, { recursive: true }); // attempts/ does not exist (yet), or was removed under us
      } catch (e2) {
        return fail(e2);
      }
    }
    return true;
  }

  /** Makes the state dir of an attempt already in `attempts` (a fall back from perl mode); false (and finished) if it could not. */
  prepare(attempt: Attempt): boolean {
    try {
      return this.makeStateDir(attempt.spec, attempt.stateDir, attempt);
    } catch (e) {
      this.book.finish(attempt, hostFailure(e));
      return false;
    }
  }

  /** Spawns the attempt's supervisor; its `running` and `exited` follow from the child's events. */
  spawn(attempt: Attempt, env: Record<string, string>): void {
    const { spec, stateDir, key } = attempt;
    const workDir = this.book.workDir(key);
    const cgroups = this.book.cgroups;
    let fd: number | undefined;
    let cgroup: string[] = [];
    let what: string | undefined;
    try {
      this.script ??= supervisorScript(findSetsid(), cgroups?.config);
      what = `create the working directory ${workDir}`;
      try {
        fs.mkdirSync(workDir);
      } catch (e) {
        if (errno(e) === 'ENOENT') fs.mkdirSync(workDir, { recursive: true }); // work/ was removed
        else if (errno(e) !== 'EEXIST') throw e;
      }
      what = undefined; // logFile() and create() say what failed
      const logFile = this.book.logFile(spec);
      what = `open the log file ${logFile}`;
      try {
        fd = fs.openSync(logFile, 'a');
      } catch (e) {
        if (errno(e) !== 'ENOENT') throw e;
        fs.mkdirSync(path.dirname(logFile), { recursive: true }); // removed (or a file system mounted over logs/)
        fd = fs.openSync(logFile, 'a');
      }
      what = undefined;
      // The attempt's cgroup, with its memory limit: the supervisor's subshell moves in before it execs.
      if (cgroups) cgroup = [cgroups.create(key, memoryLimitBytes(spec.memory))];
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      return this.book.finish(attempt, hostFailure(e, what));
    }

    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', this.script, SUPERVISOR_ARG0, stateDir, ...cgroup, ...spec.command], {
        cwd: workDir,
        env,
        // stdout is the log; the command gets 2>&1 from the script. The supervisor's own stderr
        // is /dev/null so that the shell's job-status messages stay out of the job's log.
        stdio: ['ignore', fd, 'ignore'],
        detached: true,
      });
    } catch (e) {
      fs.closeSync(fd);
      if (cgroups) cgroups.remove(key);
      return this.book.finish(attempt, hostFailure(e));
    }
    fs.closeSync(fd);
    attempt.child = child;

    child.once('spawn', () => {
      attempt.supervisorPid = child.pid;
      if (this.book.attempts.get(key) === attempt) this.book.reportRunning(attempt);
    });
    child.on('error', (err) => {
      // Only a failed spawn ends an attempt here; otherwise 'exit' follows.
      if (attempt.running || this.book.closed) return;
      this.book.finish(attempt, { neverStarted: true, reason: `CannotStartContainerError: ${err.message}` });
    });
    child.once('exit', (code, signal) => {
      if (this.book.closed || this.book.attempts.get(key) !== attempt) return;
      if (code !== null) {
        // The supervisor exits with the status it recorded (0..255, 128+N for signal N); a failure
        // may come with more in the state dir (an OOM kill, a command never started).
        const recorded = code !== 0 && cgroups ? readRecordedExit(stateDir) : undefined;
        const fields: ExitFields = recorded ?? { exitCode: code };
        if (!recorded) {
          const cpuSeconds = readCpuSeconds(stateDir);
          if (cpuSeconds !== undefined) fields.usage = { cpuSeconds };
        }
        // The cgroup's high-water mark (one read, before it is removed).
        this.book.finish(attempt, withCgroupPeak(fields, cgroups, key));
        cgroups?.remove(key); // the supervisor killed what was left in it
        return;
      }
      // The supervisor itself was killed by `signal`: maybe after recording the status...
      const recorded = readRecordedExit(stateDir);
      if (recorded !== undefined) {
        this.book.finish(attempt, recorded);
        cgroups?.killAndRemove(key);
        return;
      }
      // ...or not: the command may still run, unsupervised. Kill it: it must never run
      // concurrently with a retry of the job.
      killAttemptProcesses(key, attempt.commandPid ?? readPids(stateDir)?.command);
      cgroups?.killAndRemove(key);
      this.book.finish(attempt, { lost: true, reason: `${REASON_SUPERVISOR_KILLED} (${signal})` });
    });
  }
}
