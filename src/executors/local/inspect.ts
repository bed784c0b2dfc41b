// Reading the state of dispatched attempts that nobody watches live: after a restart (adopt) and
// after a launcher crash (its orphans). Attempts started through a perl launcher are found in its
// journals (journal.ts), attempts of spawn mode in their state dirs; /proc tells whether their
// launcher or supervisor still lives, and, for an attempt that shows no trace at all, the claim
// (its work dir) settles for good whether anything can still run it. Off the hot path.

import fs from 'node:fs';
import { exitFields, type ExitFields } from './attempts.js';
import type { Journals, KeyRecord, RecordedProcess } from './journal.js';
import { findStarters, findSupervisors, isLiveSupervisor, processStartTime } from './proc.js';
import { claimAttempt, readPids, readRecordedExit, type RecordedExit } from './supervisor.js';

/** Processes that are ours (excluded when looking for what could still start an attempt). */
export interface Exclusions {
  /** Our live launcher: its children are our own attempts. */
  ownLauncher?: number;
  /** Launchers that read all their requests (E): they start nothing more. */
  doneLaunchers?: ReadonlySet<number>;
}

/** What the journals (and /proc) tell about an attempt that was (maybe) sent to a launcher. */
export type JournalFound =
  /** Its end is recorded: its exit status (`ran`), or why it could not start. */
  | { kind: 'recorded'; fields: ExitFields; ran: boolean }
  /** Started, and its launcher lives: it reports the end in its journal. */
  | { kind: 'alive'; rec: KeyRecord & { start: NonNullable<KeyRecord['start']> } }
  /** Started (or claimed) with no launcher left to record its end: to be killed, and lost. */
  | { kind: 'orphaned'; start?: RecordedProcess }
  /** No trace, and nothing can start it any more: undone (its claim removed), safe to start again. */
  | { kind: 'never' }
  /** No trace; we hold its claim (nothing will run it), but a launcher could have tried. */
  | { kind: 'unclaimed' };

/**
 * What became of these attempts, from the journals (call `journals.refresh()` first). An attempt
 * without any record is claimed (its work dir made): if a launcher's child had claimed it, the
 * child wrote its S record before, so the journals are read again; if we hold the claim, nothing
 * runs it, and when no launcher process could still have it (one that may read requests, or a
 * child that has not exec'd), the claim is removed again: `never`.
 */
export function inspectJournaled(keys: readonly string[], workDirOf: (key: string) => string, dataDir: string, journals: Journals, ex: Exclusions): JournalFound[] {
  const found: JournalFound[] = new Array(keys.length);
  const taken: number[] = [];
  const ours: number[] = [];
  keys.forEach((key, i) => {
    const rec = journals.records.get(key);
    if (rec) {
      found[i] = fromRecord(rec, journals);
      return;
    }
    const claim = claimAttempt(workDirOf(key));
    if (claim === 'us') ours.push(i);
    else if (claim === 'taken') taken.push(i);
    else found[i] = { kind: 'orphaned' };
  });
  if (taken.length > 0) {
    journals.refresh();
    for (const i of taken) {
      const rec = journals.records.get(keys[i]);
      found[i] = rec ? fromRecord(rec, journals) : { kind: 'orphaned' };
    }
  }
  if (ours.length === 0) return found;
  const starters = findStarters(dataDir, new Set(), ex.ownLauncher, journals.doneLaunchers());
  for (const i of ours) {
    found[i] = { kind: 'unclaimed' };
    if (starters.launchers.length > 0) continue;
    try {
      fs.rmdirSync(workDirOf(keys[i]));
    } catch {
      continue;
    }
    found[i] = { kind: 'never' };
  }
  return found;
}

function fromRecord(rec: KeyRecord, journals: Journals): JournalFound {
  const recorded = recordedEnd(rec);
  if (recorded) return recorded;
  const l = rec.file.launcher;
  if (rec.start && !l.quit && journals.checkAlive(l)) return { kind: 'alive', rec: rec as KeyRecord & { start: NonNullable<KeyRecord['start']> } };
  journals.read(rec.file); // what it wrote before it died
  return recordedEnd(rec) ?? { kind: 'orphaned', start: rec.start };
}

function recordedEnd(rec: KeyRecord): JournalFound | undefined {
  if (rec.failed) return { kind: 'recorded', fields: { neverStarted: true, reason: `CannotStartContainerError: ${rec.failed.message}`, at: rec.failed.at }, ran: false };
  if (rec.exit) return { kind: 'recorded', fields: exitFields(rec.exit.status, rec.exit.oom, rec.exit.at, rec.exit.usage), ran: true };
  return undefined;
}

/** What the state directory (and /proc) tell about a spawn-mode attempt nobody watches live. */
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
 * What became of these attempts of spawn mode (their state dirs exist): one pass over their state
 * files, one scan of /proc for those that show no supervisor, and, for attempts that show none at
 * all, the claim (the work dir), which settles for good whether a supervisor can still run them.
 * An attempt that nothing ever picked up (its state dir is empty and nothing could still pick it
 * up: no supervisor starting, no launcher that may still read requests) is undone: `never`.
 */
export function inspectAttempts(items: readonly { stateDir: string; workDir: string }[], dataDir: string, ex: Exclusions = {}): Found[] {
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
  const starters = findStarters(dataDir, new Set(claimed.map((i) => items[i].stateDir)), ex.ownLauncher, ex.doneLaunchers);
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
