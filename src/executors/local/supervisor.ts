// The per-attempt supervisor of the local executor, and the state files it leaves behind.
//
// Each attempt runs under `/bin/sh -c SCRIPT ob-supervisor <stateDir> <command...>`, started in a
// session of its own, so that the server's death (SIGKILL included) does not touch it. It runs the
// command, waits for it and writes the exit status to <stateDir>/exit. Whoever looks next (the live
// server through the supervisor's exit, or a restarted server through `adopt`) finds the status
// there. See src/executors/README.md.

import fs from 'node:fs';
import path from 'node:path';

/** argv[0] of the supervisor shell: how a restarted server recognises supervisors in /proc. */
export const SUPERVISOR_ARG0 = 'ob-supervisor';

/** The environment variable that marks every process of an attempt (found via /proc/<pid>/environ). */
export const ATTEMPT_KEY_VAR = 'OPENBATCH_ATTEMPT_KEY';

/** Written by the supervisor: "<command pid> <supervisor pid>\n". */
export const PID_FILE = 'pid';
/** Written by the supervisor: "<exit status>\n", 128+N when the command died of signal N. */
export const EXIT_FILE = 'exit';

/**
 * The supervisor script (POSIX sh; dash on Debian). $1 is the state directory, the rest the command.
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
export function supervisorScript(setsidPath: string): string {
  return [
    'trap : HUP INT TERM',
    'd=$1',
    'shift',
    `(read -r p _ </proc/self/stat && echo "$p $$" >"$d/${PID_FILE}"; exec ${shQuote(setsidPath)} "$@" 2>&1)`,
    's=$?',
    `read -r p _ <"$d/${PID_FILE}" && kill -KILL -"$p"`,
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
  throw new Error('the local executor needs setsid (util-linux), which was not found');
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
  const m = /^(\d+) (\d+)\n$/.exec(text);
  if (!m) return undefined;
  const command = Number(m[1]);
  const supervisor = Number(m[2]);
  if (!isSafePid(command) || !isSafePid(supervisor)) return undefined;
  let writtenAt = 0;
  if (withTime) {
    try {
      writtenAt = fs.statSync(file).mtimeMs;
    } catch {
      // removed meanwhile: keep 0
    }
  }
  return { command, supervisor, writtenAt };
}

/** A pid we may ever signal: never 0 or 1 (or negative), which `kill` would widen to whole groups. */
export function isSafePid(pid: unknown): pid is number {
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 1;
}
