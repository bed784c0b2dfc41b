// The local process executor: runs each attempt's command as a process on this host, under a
// supervisor that outlives the server, so that neither attempts nor their exit statuses are lost
// when the server dies. By default one long-lived perl launcher (launcher.ts) forks the commands
// and supervises them itself, journaling starts and exits (journal.ts); in spawn mode (no perl, or
// asked for) the server spawns a shell supervisor per attempt (supervisor.ts).
// Design and on-disk layout: src/executors/README.md.
//
// This file is the facade: the options, the choice of start path, and the Executor methods, which
// compose the parts that live next to it:
//   attempts.ts      the attempts being watched and their events (AttemptBook), on-disk paths
//   command.ts       the command's environment and executable, checked before anything is written
//   perl-start.ts    the perl launcher start path, the launcher's life cycle and crash take-over
//   journal.ts       the launchers' journals: reading them, deleting them when no longer needed
//   journal-watch.ts perl-mode attempts adopted after a restart, followed through their journal
//   spawn-start.ts   spawn mode: one shell supervisor spawned per attempt
//   state-watch.ts   watching spawn-mode state dirs (adopted attempts, pending stops), stop's signals
//   adopt.ts         adopt() after a restart; inspect.ts reads what became of unwatched attempts
//   cgroups.ts       the attempts' memory cgroups: detection, cleanup of lost attempts and leftovers

import fs from 'node:fs';
import path from 'node:path';
import type { AdoptOutcome, AttemptEventListener, AttemptSpec, Executor } from '../executor.js';
import { adoptAttempts } from './adopt.js';
import { AttemptBook, SAFE_KEY, alreadyDispatched, attemptStateDir, attemptWorkDir, type Attempt } from './attempts.js';
import { CGROUPS_ENV, Cgroups, detectCgroups, parseCgroupMode, sayNoCgroups, type CgroupConfig, type CgroupMode } from './cgroups.js';
import { attemptEnvironment, nulProblem, resolveExecutable } from './command.js';
import { JournalWatch } from './journal-watch.js';
import { Journals } from './journal.js';
import { JOURNAL_ROTATE_BYTES, findPerl } from './launcher.js';
import { PerlStarter } from './perl-start.js';
import { killAttemptProcesses } from './proc.js';
import { SpawnStarter } from './spawn-start.js';
import { StateWatch } from './state-watch.js';

export { attemptStateDir, attemptWorkDir } from './attempts.js';
export { checkExecutable, resolveExecutable } from './command.js';
export { journalDir } from './journal.js';
export { CGROUPS_ENV, REASON_OOM, type CgroupMode } from './cgroups.js';

/**
 * How the local executor starts attempts:
 * - `perl`: through one long-lived perl process that forks the commands and supervises them (the
 *   server only writes to a pipe); needs perl (perl-base);
 * - `spawn`: `child_process.spawn` of a shell supervisor per attempt (forks the server each time);
 *   needs util-linux `setsid`;
 * - `auto`: perl when it is installed, else spawn (also when the perl launcher cannot start).
 */
export type LauncherMode = 'auto' | 'perl' | 'spawn';

/** Environment variable that chooses the launcher when the options do not. */
export const LAUNCHER_ENV = 'OPENBATCH_LOCAL_LAUNCHER';
/** Environment variable for the SIGTERM→SIGKILL grace of `stop` when neither the caller nor the options give one. */
export const STOP_GRACE_ENV = 'OPENBATCH_LOCAL_STOP_GRACE_MS';

export interface LocalExecutorOptions {
  /** Root of the server's data: journals/ (perl mode), attempts/ (spawn mode), work/ and logs/ live under it. */
  dataDir: string;
  /** SIGTERM→SIGKILL grace of `stop` when the caller gives none (default: $OPENBATCH_LOCAL_STOP_GRACE_MS, else 30 s as AWS). */
  stopGraceMs?: number;
  /** Clock for event times (tests). */
  now?: () => number;
  /** How often adopted attempts are checked for a supervisor or launcher that died without recording an exit. */
  adoptedCheckIntervalMs?: number;
  /** How attempts are started (default: $OPENBATCH_LOCAL_LAUNCHER, else 'auto'). */
  launcher?: LauncherMode;
  /** The perl interpreter for the launcher (default: /usr/bin/perl, else the first perl in PATH). */
  perl?: string;
  /** The launcher starts a new journal file when its current one reaches this size (default 4 MiB). */
  journalRotateBytes?: number;
  /**
   * Memory cgroups (default: $OPENBATCH_LOCAL_CGROUPS, else 'auto'): with 'auto', every attempt
   * runs in a cgroup of its own, limited to the job's memory, where the host allows it (cgroup v1
   * memory controller or cgroup v2 with memory, writable: root); 'off': never.
   */
  cgroups?: CgroupMode;
}

function parseGrace(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`LocalExecutor: ${STOP_GRACE_ENV} must be a number of milliseconds (got ${JSON.stringify(value)})`);
  return n;
}

function parseLauncherMode(value: string | undefined, from: string): LauncherMode | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'auto' || value === 'perl' || value === 'spawn') return value;
  throw new Error(`LocalExecutor: ${from} must be auto, perl or spawn (got ${JSON.stringify(value)})`);
}

export class LocalExecutor implements Executor {
  readonly name = 'local';

  private readonly dataDir: string;
  private readonly stopGraceMs: number;
  private readonly book: AttemptBook;
  private readonly watch: StateWatch;
  private readonly journals: Journals;
  private readonly journalWatch: JournalWatch;
  private readonly spawner: SpawnStarter;
  /** The perl launcher's start path; undefined when perl is not used at all. */
  private readonly perl: PerlStarter | undefined;

  constructor(options: LocalExecutorOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.stopGraceMs = options.stopGraceMs ?? parseGrace(process.env[STOP_GRACE_ENV]) ?? 30_000;
    const requestedMode = parseLauncherMode(options.launcher, 'options.launcher') ?? parseLauncherMode(process.env[LAUNCHER_ENV], LAUNCHER_ENV) ?? 'auto';
    const perlPath = requestedMode === 'spawn' ? undefined : (options.perl ?? findPerl());
    if (perlPath === undefined && requestedMode === 'perl') {
      throw new Error('LocalExecutor: the perl launcher needs perl (perl-base), which was not found');
    }
    this.book = new AttemptBook(this.dataDir, options.now ?? Date.now);
    const cgroupMode = parseCgroupMode(options.cgroups, 'options.cgroups') ?? parseCgroupMode(process.env[CGROUPS_ENV], CGROUPS_ENV) ?? 'auto';
    if (cgroupMode === 'auto') {
      const found = detectCgroups(this.dataDir);
      if ('config' in found) this.book.cgroups = new Cgroups(found.config);
      else sayNoCgroups(found.why);
    }
    const checkMs = options.adoptedCheckIntervalMs ?? 2000;
    this.watch = new StateWatch(this.book, checkMs);
    this.journals = new Journals(this.dataDir);
    this.journalWatch = new JournalWatch(this.book, this.journals, checkMs);
    this.spawner = new SpawnStarter(this.book, perlPath === undefined);
    if (perlPath !== undefined) {
      this.perl = new PerlStarter(this.book, this.watch, this.spawner, this.journals, perlPath, requestedMode === 'auto', options.journalRotateBytes ?? JOURNAL_ROTATE_BYTES);
    }
    this.book.onFinish = (attempt) => {
      this.perl?.uncount(attempt);
      this.journalWatch.forget(attempt);
      // Without cgroups, a stopped attempt's processes that left its process group (setsid) are
      // found by its key (one scan of /proc, for stopped attempts only); with cgroups its
      // supervisor killed everything in its cgroup.
      if (attempt.stopGraceMs !== undefined && !this.book.cgroups) killAttemptProcesses(attempt.spec.key);
    };
    // Made again when missing (the launcher's child, spawn mode): a work dir that cannot be made
    // fails the attempts with a reason that says so, not the server.
    for (const dir of ['work', ...(this.perl ? [] : ['attempts'])]) {
      try {
        fs.mkdirSync(path.join(this.dataDir, dir), { recursive: true });
      } catch {
        // reported per attempt
      }
    }
    // Journals left by earlier launchers that are no longer needed go (adopt does it too), and so
    // do cgroups nothing runs in any more. Not those of spawn-mode attempts still dispatched (their
    // state dir exists): adopt has not run yet, and such a cgroup, empty now, may belong to a
    // supervisor that is about to move its command in (the shell cannot make it again: without it
    // the command never runs) or to a command that exited while the server was down (adopt reads
    // its peak memory, then removes it; release() drops the state dir, the next sweep the cgroup).
    setImmediate(() => {
      if (this.book.closed) return;
      this.journals.refresh();
      this.book.cgroups?.sweep((key) => this.book.attempts.has(key) || (SAFE_KEY.test(key) && fs.existsSync(this.stateDir(key))));
    }).unref();
  }

  /** How attempts are started now: through the perl launcher, or spawned one by one. */
  get launcherMode(): 'perl' | 'spawn' {
    return this.perl?.active ? 'perl' : 'spawn';
  }

  /** The attempts' cgroups (the data dir's cgroup directory and its version), or undefined when attempts run without. */
  get cgroups(): CgroupConfig | undefined {
    return this.book.cgroups?.config;
  }

  /** The pid of the perl launcher while one runs (diagnostics, tests). */
  get launcherPid(): number | undefined {
    return this.perl?.launcherPid;
  }

  /** Spawn mode: where the supervisor of an attempt keeps its pid and exit files; exists once dispatched. */
  stateDir(key: string): string {
    return attemptStateDir(this.dataDir, key);
  }

  /** The attempt's working directory (its cwd), scratch space removed by `release`. */
  workDir(key: string): string {
    return attemptWorkDir(this.dataDir, key);
  }

  onEvent(listener: AttemptEventListener): void {
    this.book.onEvent(listener);
  }

  start(spec: AttemptSpec): void {
    if (this.book.closed) throw new Error('LocalExecutor: start() after close()');
    const { key } = spec;
    if (!SAFE_KEY.test(key)) throw new Error(`LocalExecutor: attempt key ${JSON.stringify(key)} is not file-safe (use attemptKey())`);
    if (this.book.attempts.has(key)) throw new Error(`LocalExecutor: attempt ${key} is already running`);
    const stateDir = this.stateDir(key);
    const workDir = this.workDir(key);
    const env = attemptEnvironment(spec);

    // The job's own fault: nothing to run. Reported like ECS's CannotStartContainerError, and
    // decided before anything is written, so such an attempt is never "dispatched".
    const problem = spec.command.length === 0 ? 'no command given' : nulProblem(spec.command, env);
    const resolved = problem === undefined ? resolveExecutable(spec.command[0], env.PATH, workDir) : { problem };
    if ('problem' in resolved) {
      this.book.emitExited(spec, { neverStarted: true, reason: `CannotStartContainerError: ${resolved.problem}` });
      return;
    }

    // A second start of the same attempt is a bug of the caller and must never run the command
    // twice. Spawn mode: the state directory marks the attempt dispatched. Perl mode: nothing is
    // written here; across a restart, the work dir (the launcher's child's claim) stops a second run.
    const perl = this.perl?.active ? this.perl : undefined;
    if (!perl) {
      if (!this.spawner.makeStateDir(spec, stateDir)) return;
    } else if (perl.dispatched.has(key)) {
      throw alreadyDispatched(key, workDir);
    }

    let logFile: string;
    try {
      logFile = this.book.logFile(spec);
    } catch (e) {
      return this.book.hostStartFailure(spec, e);
    }

    const attempt: Attempt = { key, spec, stateDir, viaLauncher: perl !== undefined, adopted: false, running: false, stopSent: false };
    this.book.attempts.set(key, attempt);
    if (!perl) {
      this.spawner.spawn(attempt, env);
      return;
    }
    perl.start(attempt, resolved.file, workDir, logFile, env);
  }

  stop(key: string, graceMs?: number): void {
    const attempt = this.book.attempts.get(key);
    if (!attempt || attempt.stopGraceMs !== undefined) return;
    attempt.stopGraceMs = Math.max(0, graceMs ?? this.stopGraceMs);
    this.watch.applyStop(attempt);
  }

  /**
   * Called by the server once it durably recorded the attempt's exit: drop the records kept for
   * it (perl mode: the journal's accounting, an R record; spawn mode: the state dir) and its work dir.
   */
  release(key: string): void {
    if (!SAFE_KEY.test(key) || this.book.attempts.has(key)) return; // still running: its exit is not recorded anywhere yet
    const ours = this.perl?.dispatched.has(key) ?? false;
    const file = (ours ? this.perl!.dispatched.get(key) : undefined) ?? this.journals.fileOf(key);
    if (ours) this.perl!.dispatched.delete(key);
    const ignore = (): void => {};
    if (file) this.journals.release(key, file);
    else if (!ours) fs.rm(this.stateDir(key), { recursive: true, force: true }, ignore); // spawn mode, or not known here
    fs.rm(this.workDir(key), { recursive: true, force: true }, ignore);
  }

  async adopt(specs: AttemptSpec[]): Promise<AdoptOutcome[]> {
    if (this.book.closed) throw new Error('LocalExecutor: adopt() after close()');
    return adoptAttempts(
      {
        book: this.book,
        watch: this.watch,
        journals: this.journals,
        journalWatch: this.journalWatch,
        ownLauncher: this.launcherPid,
        startedHere: (key) => this.perl?.dispatched.has(key) ?? false,
      },
      specs,
    );
  }

  async close(): Promise<void> {
    if (this.book.closed) return;
    const running = new Set(this.book.attempts.keys());
    this.book.close();
    this.watch.close();
    this.journalWatch.close();
    this.perl?.stopRelaunching();
    for (const attempt of this.book.attempts.values()) {
      if (attempt.killTimer) clearTimeout(attempt.killTimer);
      attempt.watcher?.close();
      attempt.child?.unref();
    }
    this.book.attempts.clear();
    // The launcher reads what is left and starts it, supervises its attempts to their end and
    // exits then; nothing is killed.
    if (this.perl) await this.perl.close();
    this.book.cgroups?.close(running);
  }
}
