// Reading the state of dispatched attempts that nobody watches live: after a restart (adopt) and
// after a launcher crash (its orphans). Only their state files and /proc tell what became of them,
// and, for an attempt that shows no supervisor at all, the claim (its work dir) settles for good
// whether one can still run it. Off the hot path; no executor state, only the file system.

import fs from 'node:fs';
import { findStarters, findSupervisors, isLiveSupervisor, processStartTime } from './proc.js';
import { claimAttempt, readPids, readRecordedExit, type RecordedExit } from './supervisor.js';

/** What the state directory (and /proc) tell about a dispatched attempt nobody watches live. */
export type Found =
  | { kind: 'recorded'; fields: RecordedExit }
  | { kind: 'alive'; supervisorPid: number; supervisorStart?: number; commandPid?: number; startedAt?: number }
  /** Never started, and nothing can start it any more: its state dir was removed again. */
  | { kind: 'never' }
  /** No supervisor ran it, and none ever will (we claimed it: its work dir is ours). */
  | { kind: 'unclaimed' }
  /** Its supervisor is gone without a record. */
  | { kind: 'gone'; commandPid?: number };

/**
 * What became of these dispatched attempts: one pass over their state files, one scan of /proc
 * for those that show no supervisor, and, for attempts that show none at all, the claim (the work
 * dir), which settles for good whether a supervisor can still run them. An attempt that nothing
 * ever picked up (its state dir is empty and nothing could still pick it up: no launcher left by
 * an earlier server, no supervisor starting) is undone: `never`, safe to start again.
 */
export function inspectAttempts(items: readonly { stateDir: string; workDir: string }[], dataDir: string, ownLauncher?: number): Found[] {
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
