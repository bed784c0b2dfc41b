// adopt() of the local executor: after a restart, what became of each attempt the store has
// STARTING/RUNNING (the table in src/executors/README.md). Perl-mode attempts are found in the
// launchers' journals, spawn-mode ones in their state dirs. Exits recorded while the server was
// down are reported, live ones are followed from now on (journal-watch.ts, state-watch.ts),
// attempts that never started are undone, and anything uncertain is lost, its processes killed first.

import fs from 'node:fs';
import type { AdoptOutcome, AttemptSpec } from '../executor.js';
import { REASON_LAUNCHER_LOST_WHILE_DOWN, REASON_LOST_WHILE_DOWN, SAFE_KEY, withCgroupPeak, type AttemptBook } from './attempts.js';
import { inspectAttempts, inspectJournaled } from './inspect.js';
import type { JournalWatch } from './journal-watch.js';
import type { Journals, RecordedProcess } from './journal.js';
import { findAttemptProcesses, findStarters, killAttemptProcesses, killRecorded } from './proc.js';
import type { StateWatch } from './state-watch.js';
import { exitRecordedAt, readPids } from './supervisor.js';

export interface AdoptContext {
  book: AttemptBook;
  watch: StateWatch;
  journals: Journals;
  journalWatch: JournalWatch;
  /** Our own launcher, if one runs: its children are our attempts. */
  ownLauncher: number | undefined;
  /** Started by this executor (and not released): its exit event went out already. */
  startedHere: (key: string) => boolean;
}

interface Lost {
  spec: AttemptSpec;
  reason: string;
  /** A recorded process of the attempt (perl mode: pid and start time). */
  start?: RecordedProcess;
  /** Spawn mode: the command's pid from its pid file. */
  commandPid?: number;
}

/** How long adopt waits for launchers of an earlier server to finish reading their requests. */
const STARTERS_WAIT_MS = 3000;

/**
 * An attempt that left no trace may still be in the stdin pipe of a launcher whose server died
 * (or in a child it just forked): such a launcher reads what is left, forks it, and writes E; its
 * children exec (or fail) at once. Wait for that (a little while: if it does not happen, the
 * attempts without a trace are given up as lost rather than started again).
 */
async function waitForStarters(ctx: AdoptContext): Promise<void> {
  const deadline = performance.now() + STARTERS_WAIT_MS;
  for (;;) {
    ctx.journals.refresh();
    const { launchers } = findStarters(ctx.book.dataDir, new Set(), ctx.ownLauncher, ctx.journals.doneLaunchers());
    if (launchers.length === 0 || performance.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The outcome per spec, in order; the events of exited and lost attempts follow asynchronously. */
export async function adoptAttempts(ctx: AdoptContext, specs: AttemptSpec[]): Promise<AdoptOutcome[]> {
  const { book, watch, journals } = ctx;
  // Which launchers live first, then their journals: a launcher found dead wrote all it ever will.
  journals.refresh();
  const traceless = specs.some((s) => SAFE_KEY.test(s.key) && !book.attempts.has(s.key) && !ctx.startedHere(s.key) && !journals.records.has(s.key) && !fs.existsSync(book.stateDir(s.key)));
  if (traceless) await waitForStarters(ctx);
  if (book.closed) throw new Error('LocalExecutor: adopt() after close()');
  const outcomes: AdoptOutcome[] = [];
  const inJournals: { spec: AttemptSpec; index: number }[] = [];
  const inStateDirs: { spec: AttemptSpec; stateDir: string; index: number }[] = [];

  for (const spec of specs) {
    const { key } = spec;
    if (!SAFE_KEY.test(key)) throw new Error(`LocalExecutor: attempt key ${JSON.stringify(key)} is not file-safe`);
    if (book.attempts.has(key)) {
      outcomes.push({ key, outcome: 'running' });
      continue;
    }
    if (ctx.startedHere(key)) {
      outcomes.push({ key, outcome: 'exited' }); // its exit event went out already
      continue;
    }
    outcomes.push({ key, outcome: 'lost' }); // provisional
    const index = outcomes.length - 1;
    const stateDir = book.stateDir(key);
    // A spawn-mode attempt has a state dir; one that has neither a record nor a state dir may be
    // on its way through a launcher, or never dispatched at all: the claim decides.
    if (!journals.records.has(key) && fs.existsSync(stateDir)) inStateDirs.push({ spec, stateDir, index });
    else inJournals.push({ spec, index });
  }

  const lost: Lost[] = [];
  if (inJournals.length > 0) {
    const found = inspectJournaled(
      inJournals.map((l) => l.spec.key),
      (key) => book.workDir(key),
      book.dataDir,
      journals,
      { ownLauncher: ctx.ownLauncher },
    );
    inJournals.forEach(({ spec, index }, i) => {
      const f = found[i];
      const { key } = spec;
      switch (f.kind) {
        case 'recorded':
          // Finished while the server was down: reported with when it was recorded.
          outcomes[index] = { key, outcome: 'exited' };
          book.emitExited(spec, f.fields);
          book.cgroups?.killAndRemove(key); // normally gone already (its launcher removed it)
          break;
        case 'alive':
          // Its launcher (the previous server's) still supervises it and will journal its end.
          outcomes[index] = { key, outcome: 'running', startedAt: f.rec.start.at };
          ctx.journalWatch.adopt(spec, f.rec);
          break;
        case 'never':
          // Never reached a launcher's child, and nothing can start it any more: undone.
          outcomes[index] = { key, outcome: 'not-started' };
          break;
        case 'orphaned':
          lost.push({ spec, reason: REASON_LAUNCHER_LOST_WHILE_DOWN, start: f.start });
          break;
        case 'unclaimed':
          lost.push({ spec, reason: REASON_LOST_WHILE_DOWN });
          break;
      }
    });
  }

  if (inStateDirs.length > 0) {
    const found = inspectAttempts(
      inStateDirs.map((l) => ({ stateDir: l.stateDir, workDir: book.workDir(l.spec.key) })),
      book.dataDir,
      { ownLauncher: ctx.ownLauncher, doneLaunchers: journals.doneLaunchers() },
    );
    inStateDirs.forEach(({ spec, stateDir, index }, i) => {
      const f = found[i];
      const { key } = spec;
      if (f.kind === 'recorded') {
        outcomes[index] = { key, outcome: 'exited' };
        book.emitExited(spec, withCgroupPeak({ ...f.fields, at: exitRecordedAt(stateDir) }, book.cgroups, key));
        book.cgroups?.killAndRemove(key); // spawn mode: the server removes it
      } else if (f.kind === 'alive') {
        outcomes[index] = f.startedAt !== undefined ? { key, outcome: 'running', startedAt: f.startedAt } : { key, outcome: 'running' };
        watch.watchAdopted(spec, stateDir, f);
      } else if (f.kind === 'never') {
        outcomes[index] = { key, outcome: 'not-started' };
      } else {
        lost.push({ spec, reason: REASON_LOST_WHILE_DOWN, commandPid: f.kind === 'gone' ? (f.commandPid ?? readPids(stateDir)?.command) : readPids(stateDir)?.command });
      }
    });
  }

  if (lost.length > 0) {
    // Nothing of a lost attempt may run beside its retry: kill what is left of it.
    const strays = findAttemptProcesses(new Set(lost.map((l) => l.spec.key)));
    for (const l of lost) {
      if (l.start) killRecorded(l.start);
      killAttemptProcesses(l.spec.key, l.commandPid, strays.get(l.spec.key) ?? []);
      book.cgroups?.killAndRemove(l.spec.key);
      book.emitExited(l.spec, { lost: true, reason: l.reason });
    }
  }
  return outcomes;
}
