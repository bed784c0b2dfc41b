// What the local executor learns from /proc (Linux): whether a supervisor or launcher still runs,
// what could still start an attempt, and which processes belong to an attempt (they carry
// OPENBATCH_ATTEMPT_KEY in their environment). Only used off the hot path: at adopt, for lost
// attempts, after a launcher crash, and by the adopted-attempt safety net.

import fs from 'node:fs';
import { PERL_LAUNCHER_NAME } from './launcher-script.js';
import type { RecordedProcess } from './journal.js';
import { ATTEMPT_KEY_VAR, SUPERVISOR_ARG0, isSafePid } from './supervisor.js';

function readProc(pid: number, file: string): Buffer | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`);
  } catch {
    return undefined;
  }
}

function splitNul(buf: Buffer): string[] {
  const s = buf.toString('utf8');
  return (s.endsWith('\0') ? s.slice(0, -1) : s).split('\0');
}

/** Fields of /proc/<pid>/stat (state 'Z': a zombie), or undefined when there is no such process. */
function statFields(pid: number): { state: string; ppid: number; pgrp: number; session: number; startTime: number } | undefined {
  const buf = readProc(pid, 'stat');
  if (!buf) return undefined;
  const s = buf.toString('latin1');
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime, clock ticks after boot) is rest[19].
  return { state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]), session: Number(rest[3]), startTime: Number(rest[19]) };
}

/** The title a perl process gave itself ($0): its command line up to the padding perl leaves. */
function perlTitle(args: string[]): string | undefined {
  return args.slice(1).every((a) => /^ *$/.test(a)) ? args[0] : undefined;
}

/** When the process started (field 22 of /proc/<pid>/stat), if it lives and is not a zombie. */
export function processStartTime(pid: number): number | undefined {
  if (!isSafePid(pid)) return undefined;
  const st = statFields(pid);
  return st && st.state !== 'Z' && Number.isFinite(st.startTime) ? st.startTime : undefined;
}

/**
 * The state directory a supervisor process (spawn mode) names in its command line: it was started
 * as `/bin/sh -c SCRIPT ob-supervisor <stateDir> <command...>`.
 */
function supervisorStateDir(pid: number): string | undefined {
  const buf = readProc(pid, 'cmdline');
  if (!buf || buf.length === 0) return undefined; // gone, or a zombie
  const args = splitNul(buf);
  return args[1] === '-c' && args[3] === SUPERVISOR_ARG0 ? args[4] : undefined;
}

/** Is `pid` the (live) supervisor of the attempt with this state directory (by its command line)? */
export function isSupervisorOf(pid: number, stateDir: string): boolean {
  return isSafePid(pid) && supervisorStateDir(pid) === stateDir;
}

/**
 * Is this supervisor still alive? With a recorded start time, the pid and the start time must
 * match (a reused pid has another start time); without, its command line must name the state dir.
 */
export function isLiveSupervisor(pid: number, start: number | undefined, stateDir: string): boolean {
  if (!isSafePid(pid)) return false;
  if (start !== undefined) return processStartTime(pid) === start;
  return isSupervisorOf(pid, stateDir);
}

function numericPids(): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(n));
  }
  return pids;
}

/**
 * Supervisors running for any of these state directories. Only a session leader counts: the shell
 * supervisor's forked subshell has the same command line for the moment until it execs setsid.
 */
export function findSupervisors(stateDirs: ReadonlySet<string>): Map<string, number> {
  const found = new Map<string, number>();
  if (stateDirs.size === 0) return found;
  for (const pid of numericPids()) {
    if (pid === process.pid) continue;
    const dir = supervisorStateDir(pid);
    if (dir === undefined || !stateDirs.has(dir)) continue;
    const st = statFields(pid);
    if (st && st.state !== 'Z' && st.session === pid) found.set(dir, pid);
  }
  return found;
}

/**
 * What could still start one of these attempts, in one pass over /proc: a perl launcher of this
 * data dir other than `ownLauncher` that may still read requests (a server that died left it
 * behind, reading its last requests; not one of `doneLaunchers`, which said they read all), or a
 * child of one that has not exec'd yet (it keeps the launcher's title until it does), and the
 * shell supervisors that name one of these state dirs.
 */
export function findStarters(
  dataDir: string,
  stateDirs: ReadonlySet<string>,
  ownLauncher?: number,
  doneLaunchers: ReadonlySet<number> = new Set(),
): { launchers: number[]; supervisors: Set<string> } {
  const launcherTitle = `${PERL_LAUNCHER_NAME} ${dataDir}`;
  const launchers: number[] = [];
  const supervisors = new Set<string>();
  for (const pid of numericPids()) {
    if (pid === process.pid || pid === ownLauncher) continue;
    const buf = readProc(pid, 'cmdline');
    if (!buf || buf.length === 0) continue;
    const args = splitNul(buf);
    if (perlTitle(args) === launcherTitle) {
      if (doneLaunchers.has(pid)) continue;
      const st = statFields(pid);
      if (st && st.state !== 'Z' && (ownLauncher === undefined || st.ppid !== ownLauncher)) launchers.push(pid);
      continue;
    }
    const dir = supervisorStateDir(pid);
    if (dir !== undefined && stateDirs.has(dir)) supervisors.add(dir);
  }
  return { launchers, supervisors };
}

function attemptKeyOf(pid: number): string | undefined {
  const buf = readProc(pid, 'environ');
  if (!buf || buf.length === 0) return undefined;
  const marker = Buffer.from(`${ATTEMPT_KEY_VAR}=`);
  let at = buf.indexOf(marker);
  while (at > 0 && buf[at - 1] !== 0) at = buf.indexOf(marker, at + 1);
  if (at < 0) return undefined;
  const start = at + marker.length;
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end < 0 ? buf.length : end);
}

/** Does this process carry the attempt's key (guards a recorded pid against reuse)? */
export function hasAttemptKey(pid: number, key: string): boolean {
  return isSafePid(pid) && attemptKeyOf(pid) === key;
}

/** Live processes (supervisors included) that carry one of these attempt keys. */
export function findAttemptProcesses(keys: ReadonlySet<string>): Map<string, number[]> {
  const found = new Map<string, number[]>();
  if (keys.size === 0) return found;
  for (const pid of numericPids()) {
    if (pid === process.pid) continue;
    const key = attemptKeyOf(pid);
    if (key === undefined || !keys.has(key)) continue;
    const list = found.get(key);
    if (list) list.push(pid);
    else found.set(key, [pid]);
  }
  return found;
}

/** SIGKILL a process group, falling back to the process itself. Errors (already gone) are ignored. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (!isSafePid(pid)) return;
  try {
    process.kill(-pid, signal);
    return;
  } catch {
    // No such group (yet): the command has not called setsid, or is gone. Try the process.
  }
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

/**
 * Make sure nothing of an attempt runs any more: the recorded command's group (when the pid still
 * carries the key) and every process that carries the key. Used before reporting an attempt lost,
 * so that it can never run concurrently with its retry.
 */
export function killAttemptProcesses(key: string, commandPid?: number, found?: number[]): void {
  if (commandPid !== undefined && hasAttemptKey(commandPid, key)) killGroup(commandPid, 'SIGKILL');
  const pids = found ?? findAttemptProcesses(new Set([key])).get(key) ?? [];
  for (const pid of pids) {
    if (!isSafePid(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Is `pid` (still) the process a journal recorded (its start time within the recorded bounds)? */
export function isRecordedProcess(p: RecordedProcess): boolean {
  const start = processStartTime(p.pid);
  return start !== undefined && start >= p.startLo && start <= p.startHi;
}

/**
 * Kill a process the journal names (pid and start time: a reused pid is never hit), with its
 * process group: a launcher's child that has not exec'd yet, or the command it became.
 */
export function killRecorded(p: RecordedProcess): void {
  const { pid } = p;
  if (!isSafePid(pid) || !isRecordedProcess(p)) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // not a group leader yet (it calls setsid just before it execs), or gone
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}
