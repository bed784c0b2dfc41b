// Perl-mode attempts adopted after a restart: their launcher (the previous server's) still
// supervises them and records their end in its journal. Followed through fs.watch on that journal
// file, plus one shared interval that notices a launcher killed without recording the end (then
// the command is killed and the attempt is lost: it must never run beside a retry).

import fs from 'node:fs';
import type { AttemptSpec } from '../executor.js';
import { REASON_LAUNCHER_KILLED, exitFields, type Attempt, type AttemptBook } from './attempts.js';
import type { JournalFile, Journals, KeyRecord } from './journal.js';
import { findAttemptProcesses, killAttemptProcesses, killRecorded } from './proc.js';

export class JournalWatch {
  /** Adopted attempts, by the journal their end will be recorded in. */
  private readonly byFile = new Map<JournalFile, Set<Attempt>>();
  /** Files with a watcher (kept until the file is closed: its Q lets it go). */
  private readonly watched = new Set<JournalFile>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly book: AttemptBook,
    private readonly journals: Journals,
    /** How often the launchers of adopted attempts are checked. */
    private readonly intervalMs: number,
  ) {}

  /** A started attempt whose launcher lives (adopt): followed from now on; the server knows it runs. */
  adopt(spec: AttemptSpec, rec: KeyRecord & { start: NonNullable<KeyRecord['start']> }): void {
    const attempt: Attempt = {
      key: spec.key,
      spec,
      stateDir: this.book.stateDir(spec.key),
      viaLauncher: true,
      commandPid: rec.start.pid,
      recorded: rec.start,
      journal: rec.file,
      adopted: true,
      running: true, // the server knows (adopt's outcome): no second running event
      stopSent: false,
    };
    this.book.attempts.set(spec.key, attempt);
    let set = this.byFile.get(rec.file);
    if (!set) {
      set = new Set();
      this.byFile.set(rec.file, set);
    }
    set.add(attempt);
    this.watchFile(rec.file);
    this.timer ??= setInterval(() => this.checkAll(), this.intervalMs);
    this.timer.unref();
  }

  /** The attempt ended (book.finish): not followed any more. */
  forget(attempt: Attempt): void {
    if (!attempt.journal) return;
    const set = this.byFile.get(attempt.journal);
    if (!set?.delete(attempt) || set.size > 0) return;
    this.byFile.delete(attempt.journal);
    if (this.byFile.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const f of this.watched) {
      f.watcher?.close();
      f.watcher = undefined;
    }
    this.watched.clear();
  }

  /**
   * Watch the file while it may still change: the ends of adopted attempts, and the launcher's Q,
   * after which the file can go once its attempts are released.
   */
  private watchFile(f: JournalFile): void {
    if (f.watcher || f.deleted) return;
    try {
      const watcher = fs.watch(f.path, () => this.check(f, false));
      watcher.on('error', () => {
        watcher.close();
        if (f.watcher === watcher) f.watcher = undefined;
      });
      f.watcher = watcher;
      this.watched.add(f);
    } catch {
      // out of inotify watches: the interval still checks
    }
  }

  private checkAll(): void {
    for (const f of [...this.byFile.keys()]) this.check(f, true);
  }

  /** Reads what is new; with `liveness`, also whether the launcher still lives. */
  private check(f: JournalFile, liveness: boolean): void {
    if (this.book.closed) return;
    this.journals.read(f);
    this.settle(f);
    const set = this.byFile.get(f);
    if (set && set.size > 0 && liveness && (f.launcher.quit || !this.journals.checkAlive(f.launcher))) {
      this.journals.read(f); // what it wrote last
      this.settle(f);
      const orphans = [...(this.byFile.get(f) ?? [])];
      if (orphans.length > 0) {
        const strays = findAttemptProcesses(new Set(orphans.map((a) => a.key)));
        for (const a of orphans) {
          if (a.recorded) killRecorded(a.recorded);
          killAttemptProcesses(a.key, undefined, strays.get(a.key) ?? []);
          this.book.cgroups?.killAndRemove(a.key);
          this.book.finish(a, { lost: true, reason: REASON_LAUNCHER_KILLED });
        }
      }
    }
    if (f.closed && !this.byFile.has(f)) {
      f.watcher?.close();
      f.watcher = undefined;
      this.watched.delete(f);
    }
    if (f.closed) this.journals.maybeDelete(f);
  }

  /** Ends the adopted attempts of this file whose end is recorded. */
  private settle(f: JournalFile): void {
    const set = this.byFile.get(f);
    if (!set) return;
    for (const a of [...set]) {
      const rec = this.journals.records.get(a.key);
      if (!rec || rec.file !== f) continue;
      if (rec.failed) this.book.finish(a, { neverStarted: true, reason: `CannotStartContainerError: ${rec.failed.message}`, at: rec.failed.at });
      else if (rec.exit) this.book.finish(a, exitFields(rec.exit.status, rec.exit.oom, rec.exit.at, rec.exit.usage));
    }
  }
}
