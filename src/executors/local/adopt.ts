// adopt() of the local executor: after a restart, what became of each attempt the store has
// STARTING/RUNNING (the table in src/executors/README.md). Exits recorded while the server was
// down are reported, live supervisors are watched from now on (state-watch.ts), attempts that
// never reached a supervisor are undone, and anything uncertain is lost, its processes killed first.

import fs from 'node:fs';
import type { AdoptOutcome, AttemptSpec } from '../executor.js';
import { REASON_LOST_WHILE_DOWN, SAFE_KEY, type AttemptBook } from './attempts.js';
import { inspectAttempts } from './inspect.js';
import { findAttemptProcesses, killAttemptProcesses } from './proc.js';
import type { StateWatch } from './state-watch.js';
import { exitRecordedAt, readPids } from './supervisor.js';

/** The outcome per spec, in order; the events of exited and lost attempts follow asynchronously. */
export function adoptAttempts(book: AttemptBook, watch: StateWatch, specs: AttemptSpec[], ownLauncher: number | undefined): AdoptOutcome[] {
  const outcomes: AdoptOutcome[] = [];
  const look: { spec: AttemptSpec; stateDir: string; index: number }[] = [];

  for (const spec of specs) {
    const { key } = spec;
    if (!SAFE_KEY.test(key)) throw new Error(`LocalExecutor: attempt key ${JSON.stringify(key)} is not file-safe`);
    if (book.attempts.has(key)) {
      outcomes.push({ key, outcome: 'running' });
      continue;
    }
    const stateDir = book.stateDir(key);
    if (!fs.existsSync(stateDir)) {
      outcomes.push({ key, outcome: 'not-started' });
      continue;
    }
    outcomes.push({ key, outcome: 'lost' }); // provisional
    look.push({ spec, stateDir, index: outcomes.length - 1 });
  }
  if (look.length === 0) return outcomes;

  const found = inspectAttempts(
    look.map((l) => ({ stateDir: l.stateDir, workDir: book.workDir(l.spec.key) })),
    book.dataDir,
    ownLauncher,
  );
  const lost: { spec: AttemptSpec; stateDir: string; commandPid?: number }[] = [];
  look.forEach(({ spec, stateDir, index }, i) => {
    const f = found[i];
    const { key } = spec;
    if (f.kind === 'recorded') {
      // Finished while the server was down: reported with when the status was written.
      outcomes[index] = { key, outcome: 'exited' };
      book.emitExited(spec, { ...f.fields, at: exitRecordedAt(stateDir) });
    } else if (f.kind === 'alive') {
      outcomes[index] = f.startedAt !== undefined ? { key, outcome: 'running', startedAt: f.startedAt } : { key, outcome: 'running' };
      watch.watchAdopted(spec, stateDir, f);
    } else if (f.kind === 'never') {
      // Dispatched, but the request never reached a supervisor (the server died first): undone.
      outcomes[index] = { key, outcome: 'not-started' };
    } else {
      lost.push({ spec, stateDir, commandPid: f.kind === 'gone' ? f.commandPid : undefined });
    }
  });
  if (lost.length > 0) {
    const strays = findAttemptProcesses(new Set(lost.map((l) => l.spec.key)));
    for (const l of lost) {
      killAttemptProcesses(l.spec.key, l.commandPid ?? readPids(l.stateDir)?.command, strays.get(l.spec.key) ?? []);
      book.emitExited(l.spec, { lost: true, reason: REASON_LOST_WHILE_DOWN });
    }
  }
  return outcomes;
}
