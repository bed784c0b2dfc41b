// Watching spawn-mode attempts through their state directories, and stopping attempts of both
// modes. Spawn-mode attempts whose supervisor reports to nobody (adopted after a restart) are
// followed through fs.watch on their state dir, plus one shared interval that finds supervisors
// which died without recording an exit. A stop needs the command's pid (= its process group): in
// spawn mode, when it is not known yet, the same watcher waits for the pid file (in perl mode, the
// launcher's `started` report brings it). Both live here because they drive each other: a state
// change applies a pending stop, and a stop may start the watching. (Perl-mode attempts adopted
// from a journal: journal-watch.ts.)

import fs from 'node:fs';
import type { AttemptSpec } from '../executor.js';
import { REASON_SUPERVISOR_GONE, withCgroupPeak, type Attempt, type AttemptBook } from './attempts.js';
import type { Found } from './inspect.js';
import { isLiveSupervisor, isRecordedProcess, killAttemptProcesses, killGroup } from './proc.js';
import { isSafePid, readPids, readRecordedExit, type RecordedExit } from './supervisor.js';

export class StateWatch {
  private adoptedTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly book: AttemptBook,
    /** How often adopted attempts are checked for a supervisor that died without recording an exit. */
    private readonly adoptedCheckIntervalMs: number,
  ) {}

  /** close(): the interval stops (the watchers are closed with the attempts). */
  close(): void {
    if (this.adoptedTimer) clearInterval(this.adoptedTimer);
    this.adoptedTimer = undefined;
  }

  /** A live spawn-mode attempt found by adopt(): watched from now on; the server already knows it runs. */
  watchAdopted(spec: AttemptSpec, stateDir: string, found: Extract<Found, { kind: 'alive' }>): void {
    const attempt: Attempt = {
      key: spec.key,
      spec,
      stateDir,
      viaLauncher: false,
      supervisorPid: found.supervisorPid,
      supervisorStart: found.supervisorStart,
      commandPid: found.commandPid,
      adopted: true,
      running: true, // the server knows (adopt's outcome): no second running event
      stopSent: false,
    };
    this.book.attempts.set(spec.key, attempt);
    this.watch(attempt);
    this.ensureAdoptedTimer();
  }

  ensureAdoptedTimer(): void {
    if (this.adoptedTimer) return;
    this.adoptedTimer = setInterval(() => this.checkAdoptedAttempts(), this.adoptedCheckIntervalMs);
    this.adoptedTimer.unref();
  }

  /** Watch the state directory: the exit file of an adopted attempt, a pid file a stop waits for. */
  watch(attempt: Attempt): void {
    if (attempt.watcher) return;
    try {
      attempt.watcher = fs.watch(attempt.stateDir, () => this.onStateChange(attempt));
      attempt.watcher.on('error', () => {
        attempt.watcher?.close();
        attempt.watcher = undefined;
      });
    } catch {
      // Directory gone, or out of inotify watches: the adopted-attempt interval still checks.
    }
    this.onStateChange(attempt); // whatever happened before the watcher existed
  }

  private onStateChange(attempt: Attempt): void {
    if (this.book.attempts.get(attempt.spec.key) !== attempt) return;
    if (attempt.stopGraceMs !== undefined && !attempt.stopSent) this.applyStop(attempt);
    if (!attempt.adopted) return;
    const recorded = readRecordedExit(attempt.stateDir);
    if (recorded !== undefined) this.finishRecorded(attempt, recorded);
  }

  private finishRecorded(attempt: Attempt, recorded: RecordedExit): void {
    if ('exitCode' in recorded) this.book.reportRunning(attempt);
    this.book.finish(attempt, withCgroupPeak(recorded, this.book.cgroups, attempt.spec.key));
    this.book.cgroups?.killAndRemove(attempt.spec.key); // its supervisor is not ours: the server removes the cgroup
  }

  /** Safety net for adopted attempts, whose supervisor is not our child: it may die unrecorded. */
  private checkAdoptedAttempts(): void {
    let adopted = 0;
    for (const attempt of [...this.book.attempts.values()]) {
      if (!attempt.adopted || attempt.viaLauncher) continue;
      const recorded = readRecordedExit(attempt.stateDir);
      if (recorded !== undefined) {
        this.finishRecorded(attempt, recorded);
        continue;
      }
      if (attempt.supervisorPid !== undefined && isLiveSupervisor(attempt.supervisorPid, attempt.supervisorStart, attempt.stateDir)) {
        adopted++;
        continue;
      }
      const late = readRecordedExit(attempt.stateDir); // recorded between the two looks
      if (late !== undefined) {
        this.finishRecorded(attempt, late);
        continue;
      }
      killAttemptProcesses(attempt.spec.key, attempt.commandPid ?? readPids(attempt.stateDir)?.command);
      this.book.cgroups?.killAndRemove(attempt.spec.key);
      this.book.finish(attempt, { lost: true, reason: REASON_SUPERVISOR_GONE });
    }
    if (adopted === 0 && this.adoptedTimer) {
      clearInterval(this.adoptedTimer);
      this.adoptedTimer = undefined;
    }
  }

  /** SIGTERM the command's process group now if its pid is known, else as soon as it is. */
  applyStop(attempt: Attempt): void {
    if (attempt.stopSent || attempt.stopGraceMs === undefined) return;
    if (attempt.commandPid === undefined) {
      // Through a launcher, `started` applies it (the launcher reports the pid at the fork).
      if (attempt.viaLauncher) return;
      const pids = readPids(attempt.stateDir);
      if (!pids) {
        // The supervisor is about to write the pid file (or the spawn is in flight).
        this.watch(attempt);
        return;
      }
      attempt.commandPid = pids.command;
      if (attempt.supervisorPid === undefined) attempt.supervisorPid = pids.supervisor;
    }
    const pid = attempt.commandPid;
    if (!isSafePid(pid)) return;
    attempt.stopSent = true;
    if (!attempt.adopted && attempt.watcher) {
      attempt.watcher.close();
      attempt.watcher = undefined;
    }
    // An attempt adopted from a journal: its launcher is not ours and reaps the command; the pid
    // is only signalled while it is still that process (its start time as recorded).
    const signal = (sig: NodeJS.Signals) => {
      if (!attempt.recorded || isRecordedProcess(attempt.recorded)) killGroup(pid, sig);
    };
    signal('SIGTERM');
    attempt.killTimer = setTimeout(() => {
      attempt.killTimer = undefined;
      if (this.book.attempts.get(attempt.spec.key) === attempt) signal('SIGKILL');
    }, attempt.stopGraceMs);
    attempt.killTimer.unref();
  }
}
