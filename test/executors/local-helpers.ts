// Helpers of the local executor's tests: what its supervisors record (the perl launchers' journals,
// spawn mode's state files) and its processes, seen from outside. Every helper works in both modes:
// an attempt with a state dir is a spawn-mode one, any other is looked up in the journals.

import fs from 'node:fs';
import path from 'node:path';
import { attemptStateDir, journalDir } from '../../src/executors/local/local-executor.js';
import { readExitStatus, readPids } from '../../src/executors/local/supervisor.js';
import { waitForFile } from './conformance.js';

export const TIMEOUT = 15_000;

/** What the journals say about an attempt (perl mode). */
export interface JournalEntry {
  /** The journal file's name, and the launcher that owns it. */
  file: string;
  launcher: number;
  launcherStart: number;
  /** The command's pid, bounds of its start time (/proc/<pid>/stat field 22), epoch ms. */
  start?: { pid: number; startLo: number; startHi: number; at: number };
  exit?: { status: number; at: number };
  failed?: { message: string; at: number };
  released?: boolean;
}

/** Every journal record of every launcher, per attempt key (complete lines only). */
export function readJournals(dataDir: string): Map<string, JournalEntry> {
  const dir = journalDir(dataDir);
  const out = new Map<string, JournalEntry>();
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const m = /^journal\.(\d+)\.(\d+)\.(\d+)$/.exec(name);
    if (!m) continue;
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, name), 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    lines.pop(); // the part after the last newline: incomplete
    for (const line of lines) {
      const [type, key, ...rest] = line.split(' ');
      if (!key) continue;
      let e = out.get(key);
      if (!e || e.file !== name) {
        e = { file: name, launcher: Number(m[1]), launcherStart: Number(m[2]) };
        out.set(key, e);
      }
      if (type === 'S') e.start = { pid: Number(rest[0]), startLo: Number(rest[1]), startHi: Number(rest[2]), at: Number(rest[3]) };
      else if (type === 'X') e.exit = { status: Number(rest[0]), at: Number(rest[1]) };
      else if (type === 'F') e.failed = { at: Number(rest[0]), message: rest.slice(1).join(' ') };
      else if (type === 'R') e.released = true;
    }
  }
  return out;
}

/** The names of the journal files that exist now. */
export function journalFiles(dataDir: string): string[] {
  try {
    return fs.readdirSync(journalDir(dataDir)).filter((n) => n.startsWith('journal.')).sort();
  } catch {
    return [];
  }
}

export interface StartedPids {
  /** The command: leader of its own session and process group. */
  command: number;
  /** Who records its end: the perl launcher, or the shell supervisor (spawn mode). */
  supervisor: number;
}

/** The attempt's command and supervisor, once the command has started; undefined before. */
export function startedPids(dataDir: string, key: string): StartedPids | undefined {
  const stateDir = attemptStateDir(dataDir, key);
  if (fs.existsSync(stateDir)) {
    const pids = readPids(stateDir);
    return pids && { command: pids.command, supervisor: pids.supervisor };
  }
  const e = readJournals(dataDir).get(key);
  return e?.start && { command: e.start.pid, supervisor: e.launcher };
}

/** Wait until the attempt's command has started (pid file, or the journal's S record). */
export function waitForPids(dataDir: string, key: string, timeoutMs = TIMEOUT): Promise<StartedPids> {
  const stateDir = attemptStateDir(dataDir, key);
  const dir = fs.existsSync(stateDir) ? stateDir : journalDir(dataDir);
  return waitForFile(dir, () => startedPids(dataDir, key), timeoutMs, `the start of ${key}`);
}

/** The recorded exit status (exit file, or the journal's X record; 127 for an F record). */
export function recordedExit(dataDir: string, key: string): number | undefined {
  const stateDir = attemptStateDir(dataDir, key);
  if (fs.existsSync(stateDir)) return readExitStatus(stateDir);
  const e = readJournals(dataDir).get(key);
  return e?.exit?.status ?? (e?.failed ? 127 : undefined);
}

/** Wait until the attempt's end is recorded. */
export async function waitForRecordedExit(dataDir: string, key: string, timeoutMs: number): Promise<void> {
  const stateDir = attemptStateDir(dataDir, key);
  const dir = fs.existsSync(stateDir) ? stateDir : journalDir(dataDir);
  await waitForFile(dir, () => recordedExit(dataDir, key), timeoutMs, `the recorded exit of ${key}`);
}

/** Kill supervisor (perl: the launcher) and command with SIGKILL, as a host crash would. */
export async function killAttemptHard(dataDir: string, key: string, timeoutMs: number): Promise<void> {
  const pids = await waitForPids(dataDir, key, timeoutMs);
  process.kill(pids.supervisor, 'SIGKILL');
  process.kill(-pids.command, 'SIGKILL');
  await Promise.all([waitUntilGone(pids.supervisor), waitUntilGone(pids.command)]);
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A process's end has no event to wait on: poll /proc, with a deadline. */
export async function waitUntilGone(pid: number, timeoutMs = TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function waitUntil(check: () => boolean, what: string, timeoutMs = TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function carriesKey(pid: number, key: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`OPENBATCH_ATTEMPT_KEY=${key}`);
  } catch {
    return false;
  }
}

/** Live processes that carry the attempt's key. */
export function processesWithKey(key: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => carriesKey(pid, key) && isAlive(pid));
}

/**
 * A process's title: /proc/<pid>/cmdline up to its first NUL (perl writes $0 over the original
 * argv area, then a NUL and spaces to the area's end).
 */
export function procTitle(pid: number): string {
  try {
    const text = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const nul = text.indexOf('\0');
    return nul < 0 ? text : text.slice(0, nul);
  } catch {
    return '';
  }
}
