// Helpers of the local executor's tests: its state files and its processes, seen from outside.

import fs from 'node:fs';
import { attemptStateDir } from '../../src/executors/local/local-executor.js';
import { readExitStatus, readPids, type AttemptPids } from '../../src/executors/local/supervisor.js';
import { waitForFile } from './conformance.js';

export const TIMEOUT = 15_000;

/** Wait for the supervisor's pid file (the command has started). */
export function waitForPids(dataDir: string, key: string, timeoutMs = TIMEOUT): Promise<AttemptPids> {
  const stateDir = attemptStateDir(dataDir, key);
  return waitForFile(stateDir, () => readPids(stateDir), timeoutMs, `pid file of ${key}`);
}

/** Wait until the supervisor recorded an exit status. */
export async function waitForRecordedExit(dataDir: string, key: string, timeoutMs: number): Promise<void> {
  const stateDir = attemptStateDir(dataDir, key);
  await waitForFile(stateDir, () => readExitStatus(stateDir), timeoutMs, `exit file of ${key}`);
}

/** Kill supervisor and command with SIGKILL, as a host crash would. */
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
