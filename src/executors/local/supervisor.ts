// The per-attempt supervisor of the local executor's spawn mode, the state files it leaves
// behind, and the claim that both modes share.
//
// In spawn mode an attempt runs under a supervisor in a session of its own, so that the server's
// death (SIGKILL included) does not touch it: `/bin/sh -c SCRIPT ob-supervisor <stateDir>
// <command...>` spawned by the server. It runs the command, waits for it and writes the exit
// status to <stateDir>/exit. Whoever looks next (the live server, or a restarted server through
// `adopt`) finds the status there. (In perl mode the launcher supervises the attempts itself and
// keeps a journal instead: launcher-script.ts, journal.ts.) See src/executors/README.md.

import fs from 'node:fs';
import path from 'node:path';
import type { AttemptUsage } from '../executor.js';
import { REASON_OOM, type CgroupConfig } from './cgroups.js';

/** "<message>\n" (then exit is "127\n"): written by the perl supervisors of earlier versions, still read. */
export const FAILED_FILE = 'failed';

/** argv[0] of the supervisor shell: how a restarted server recognises supervisors in /proc. */
export const SUPERVISOR_ARG0 = 'ob-supervisor';

/** The environment variable that marks every process of an attempt (found via /proc/<pid>/environ). */
export const ATTEMPT_KEY_VAR = 'OPENBATCH_ATTEMPT_KEY';

/** Written by the supervisor: "<command pid> <supervisor pid>[ <supervisor start time>]\n" (the start
 *  time, field 22 of /proc/<pid>/stat, was written by the perl supervisors of earlier versions). */
export const PID_FILE = 'pid';
/** Written by the supervisor: "<exit status>\n", 128+N when the command died of signal N. */
export const EXIT_FILE = 'exit';
/** Written (empty) by the supervisor, before the exit file, when the command failed after an OOM kill in its cgroup. */
export const OOM_FILE = 'oom';
/** Written by the supervisor before the exit file: the output of the shell's `times` builtin (its
 *  second line: the user and system CPU time of the command and the descendants it reaped). */
export const USAGE_FILE = 'usage';

/**
 * The supervisor script (POSIX sh; dash on Debian). $1 is the state directory, the rest the command
 * (with cgroups: $2 is the attempt's cgroup, made by the server, and the command follows).
 *
 * - Traps HUP/INT/TERM with a no-op so that a stray signal to the supervisor does not cost the
 *   exit status (traps are reset to the default in the command, unlike ignored signals).
 * - Runs the command in a foreground subshell rather than as `cmd &`: a background job of a shell
 *   without job control starts with SIGINT and SIGQUIT ignored, and the command would inherit that.
 *   The subshell learns its own pid from /proc/self/stat (a builtin `read`, no extra process),
 *   writes it, then execs `setsid`, which (the subshell not being a process group leader) does not
 *   fork: the command keeps that pid and leads its own session and process group (pid = pgid).
 * - The supervisor's own stderr is /dev/null (dash reports "Terminated"/"Killed" for a foreground
 *   job killed by a signal; that does not belong in the job's log); the command gets `2>&1`, the log.
 * - When the command has exited, whatever is left of its process group is killed, as a container's
 *   processes die with its main process; then the status is written, newline last: a reader treats
 *   a file without the newline as incomplete.
 */
export function supervisorScript(setsidPath: string, cgroups?: CgroupConfig): string {
  if (!cgroups) {
    return [
      'trap : HUP INT TERM',
      'd=$1',
      'shift',
      `(read -r p _ </proc/self/stat && echo "$p $$" >"$d/${PID_FILE}"; exec ${shQuote(setsidPath)} "$@" 2>&1)`,
      's=$?',
      `times >"$d/${USAGE_FILE}"`,
      `read -r p _ <"$d/${PID_FILE}" && kill -KILL -"$p"`,
      `echo "$s" >"$d/${EXIT_FILE}"`,
      'exit "$s"',
    ].join('\n');
  }
  // With cgroups: the subshell moves itself into the attempt's cgroup before it execs (the command
  // never runs outside it: a failure is recorded as a start failure, 127 and the failed file).
  // After the command, everything left in the cgroup is killed (setsid'd processes too), and an
  // OOM kill in it is recorded (the oom file) when the command failed. Builtins only (no fork).
  const killAll = cgroups.kill
    ? 'echo 1 >"$c/cgroup.kill" 2>/dev/null || { [ -e "$c/cgroup.procs" ] && while read -r q; do kill -KILL "$q"; done <"$c/cgroup.procs"; } 2>/dev/null'
    : '{ [ -e "$c/cgroup.procs" ] && while read -r q; do kill -KILL "$q"; done <"$c/cgroup.procs"; } 2>/dev/null';
  const events = cgroups.version === 1 ? 'memory.oom_control' : 'memory.events';
  return [
    'trap : HUP INT TERM',
    'd=$1',
    'c=$2',
    'shift 2',
    `(read -r p _ </proc/self/stat && { echo "$p" >"$c/cgroup.procs" || { echo "cannot move the command into the cgroup $c" >"$d/${FAILED_FILE}"; exit 127; }; } && echo "$p $$" >"$d/${PID_FILE}"; exec ${shQuote(setsidPath)} "$@" 2>&1)`,
    's=$?',
    `times >"$d/${USAGE_FILE}"`,
    `read -r p _ <"$d/${PID_FILE}" && kill -KILL -"$p"`,
    killAll,
    `[ "$s" = 0 ] || { [ -e "$c/${events}" ] && while read -r k v; do [ "$k" = oom_kill ] && [ "$v" != 0 ] && : >"$d/${OOM_FILE}"; done <"$c/${events}"; } 2>/dev/null`,
    `echo "$s" >"$d/${EXIT_FILE}"`,
    'exit "$s"',
  ].join('\n');
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Finds util-linux `setsid`; throws when there is none (the local executor cannot work without it). */
export function findSetsid(searchPath = process.env.PATH ?? ''): string {
  const candidates = ['/usr/bin/setsid', '/bin/setsid', ...searchPath.split(':').filter(Boolean).map((d) => path.join(d, 'setsid'))];
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error('the local executor (spawn mode) needs setsid (util-linux), which was not found');
}

/** The recorded exit status, or undefined while there is none or it is incomplete. */
export function readExitStatus(stateDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(stateDir, EXIT_FILE), 'latin1');
  } catch {
    return undefined;
  }
  if (!text.endsWith('\n')) return undefined;
  const n = Number(text.slice(0, -1));
  return Number.isInteger(n) && n >= 0 && n <= 255 && text.length > 1 ? n : undefined;
}

/** Epoch ms when the exit status was recorded (the file's mtime), or undefined. */
export function exitRecordedAt(stateDir: string): number | undefined {
  try {
    return fs.statSync(path.join(stateDir, EXIT_FILE)).mtimeMs;
  } catch {
    return undefined;
  }
}

export interface AttemptPids {
  /** The command: leader of its own session and process group. */
  command: number;
  supervisor: number;
  /** The supervisor's start time (/proc/<pid>/stat field 22), when recorded: guards against pid reuse. */
  supervisorStart?: number;
  /** When the pid file was written: about when the command started. */
  writtenAt: number;
}

/** The pids the supervisor recorded, or undefined while there are none (or incomplete). */
export function readPids(stateDir: string, withTime = false): AttemptPids | undefined {
  const file = path.join(stateDir, PID_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  const m = /^(\d+) (\d+)(?: (\d+))?\n$/.exec(text);
  if (!m) return undefined;
  const command = Number(m[1]);
  const supervisor = Number(m[2]);
  if (!isSafePid(command) || !isSafePid(supervisor)) return undefined;
  const supervisorStart = m[3] !== undefined ? Number(m[3]) : undefined;
  let writtenAt = 0;
  if (withTime) {
    try {
      writtenAt = fs.statSync(file).mtimeMs;
    } catch {
      // removed meanwhile: keep 0
    }
  }
  return supervisorStart !== undefined ? { command, supervisor, supervisorStart, writtenAt } : { command, supervisor, writtenAt };
}

/** What a supervisor recorded as the end of an attempt: the command's status (and the OOM reason), or why it never ran. */
export type RecordedExit = { exitCode: number; reason?: string; usage?: AttemptUsage } | { neverStarted: true; reason: string };

/**
 * The command's CPU time (user + system, seconds) from the usage file, or undefined: `times` prints
 * the shell's own times, then its children's, as `0m1.010000s 0m0.004000s` (dash; `0m1.01s` in
 * older versions, `1m2.5s` past a minute).
 */
export function readCpuSeconds(stateDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(stateDir, USAGE_FILE), 'latin1');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/m.exec(text.split('\n')[1] ?? '');
  if (!m) return undefined;
  const s = Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
  return Number.isFinite(s) ? Math.round(s * 1000) / 1000 : undefined;
}

/**
 * The recorded end of the attempt, or undefined while there is none (or it is incomplete). A
 * supervisor that could not start the command wrote the reason to <stateDir>/failed (perl
 * supervisors of earlier versions), then 127 to <stateDir>/exit.
 */
export function readRecordedExit(stateDir: string): RecordedExit | undefined {
  const exitCode = readExitStatus(stateDir);
  if (exitCode === undefined) return undefined;
  if (exitCode === 127) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(path.join(stateDir, FAILED_FILE), 'utf8');
    } catch {
      // none: the command itself exited 127
    }
    if (text !== undefined && text.endsWith('\n')) return { neverStarted: true, reason: `CannotStartContainerError: ${text.slice(0, -1)}` };
  }
  const cpuSeconds = readCpuSeconds(stateDir);
  const usage = cpuSeconds !== undefined ? { usage: { cpuSeconds } } : {};
  if (exitCode !== 0 && fs.existsSync(path.join(stateDir, OOM_FILE))) return { exitCode, reason: REASON_OOM, ...usage };
  return { exitCode, ...usage };
}

/**
 * Give up an attempt that shows no trace, by creating its work directory, as a perl launcher's
 * child does before it execs the command (mkdir is exclusive: whoever creates it first wins). A
 * child that comes later (its start request was still in the launcher's pipe when the server
 * died, say) finds it and does not run the command. 'taken' when it exists already: a launcher's
 * child (or a shell supervisor's server, or an earlier give-up) made it.
 */
export function claimAttempt(workDir: string): 'us' | 'taken' | 'error' {
  for (let i = 0; i < 2; i++) {
    try {
      fs.mkdirSync(workDir);
      return 'us';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return 'taken';
      if (code !== 'ENOENT' || i > 0) return 'error';
      try {
        fs.mkdirSync(path.dirname(workDir), { recursive: true }); // work/ was removed under us
      } catch {
        return 'error';
      }
    }
  }
  return 'error';
}

/** A pid we may ever signal: never 0 or 1 (or negative), which `kill` would widen to whole groups. */
export function isSafePid(pid: unknown): pid is number {
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 1;
}
