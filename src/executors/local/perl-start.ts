// The local executor's default start path: attempts go to one long-lived perl launcher
// (launcher.ts) that forks their commands and supervises them itself, so a start costs the server
// a few hundred bytes written to a pipe (all the starts of one turn of the event loop in one
// write) and nothing else. Also the launcher's life cycle: it is started at the first start,
// started again (at most once a second) when it dies, and the attempts it had acknowledged are
// settled from its journal (journal.ts), as adopt does after a restart: recorded ends are
// reported, commands it left running unsupervised are killed and lost, requests it never acted on
// are sent again. A launcher that cannot run at all makes `auto` fall back to spawn mode.

import type { JournalFile, Journals, LauncherInfo, RecordedProcess } from './journal.js';
import { REASON_LAUNCHER_DIED, REASON_LAUNCHER_KILLED, exitFields, type Attempt, type AttemptBook } from './attempts.js';
import { memoryLimitBytes } from './cgroups.js';
import { inspectJournaled } from './inspect.js';
import { PerlLauncher, encodeStartRequest, type LauncherReports } from './launcher.js';
import { findAttemptProcesses, killAttemptProcesses, killRecorded } from './proc.js';
import type { SpawnStarter } from './spawn-start.js';
import type { StateWatch } from './state-watch.js';
import { isSafePid } from './supervisor.js';

/** A crashed launcher is started again at most this often. */
const RELAUNCH_INTERVAL_MS = 1000;
/** Launchers killed (by a signal) before they said `ready`, in a row, before giving up on perl. */
const MAX_LAUNCH_KILLS = 3;

export class PerlStarter {
  /** Attempts are started through the launcher (false after a fall back to spawn mode). */
  active = true;
  /**
   * Attempts started here and not released yet (a second start() throws), with the journal their
   * records go to, once a launcher acknowledged their request.
   */
  readonly dispatched = new Map<string, JournalFile | undefined>();

  private launcher: PerlLauncher<Attempt> | undefined;
  /** Each launcher's name in the journals, and the journal it writes to now. */
  private readonly infos = new WeakMap<PerlLauncher<Attempt>, { info: LauncherInfo; current: JournalFile }>();
  private lastLaunchAt = -Infinity;
  private launchKills = 0;
  private relaunchTimer: NodeJS.Timeout | undefined;
  /** Attempts waiting for a launcher (a crashed one is started again at most once a second). */
  private waiting: Attempt[] = [];
  /** Attempts in flight through the launcher: while there are any, it keeps the event loop alive. */
  private inFlight = 0;
  private readonly reports: LauncherReports<Attempt>;

  constructor(
    private readonly book: AttemptBook,
    private readonly watch: StateWatch,
    private readonly spawner: SpawnStarter,
    private readonly journals: Journals,
    private readonly perlPath: string,
    /** `auto` mode: a launcher that cannot run makes attempts spawned instead of failing them. */
    private readonly canFallBack: boolean,
    private readonly rotateBytes: number,
  ) {
    this.reports = {
      ready: (l, pid, start) => {
        const info = this.journals.ownLauncher(pid, start);
        this.infos.set(l, { info, current: this.journals.ownJournal(info, 0) });
      },
      journal: (l, seq) => {
        const known = this.infos.get(l);
        if (known) known.current = this.journals.ownJournal(known.info, seq);
      },
      acked: (l, requests) => {
        const file = this.infos.get(l)?.current;
        if (!file) return;
        for (const r of requests) {
          if (!this.dispatched.has(r.key)) continue;
          this.dispatched.set(r.key, file);
          this.journals.attribute(r.key, file);
        }
      },
      started: (l, key, pid) => this.onStarted(l, key, pid),
      exited: (l, key, status, oom, usage) => {
        const attempt = this.fromLauncher(l, key);
        if (attempt) this.book.finish(attempt, exitFields(status, oom, undefined, usage));
      },
      failed: (l, key, message) => {
        const attempt = this.fromLauncher(l, key);
        if (attempt) this.book.finish(attempt, { neverStarted: true, reason: `CannotStartContainerError: ${message}` });
      },
      died: (l, how) => this.onLauncherDied(l, how),
    };
  }

  /** The pid of the launcher while one runs. */
  get launcherPid(): number | undefined {
    return this.launcher && !this.launcher.dead ? this.launcher.pid : undefined;
  }

  /** A new attempt (in `attempts`, its command resolved to `file`): hand it to the launcher. */
  start(attempt: Attempt, file: string, workDir: string, logFile: string, env: Record<string, string>): void {
    // The launcher's child makes the work dir and opens the log itself, and execs the file found
    // here (no second PATH search), with argv[0] as given.
    attempt.frame = encodeStartRequest(attempt.key, workDir, logFile, memoryLimitBytes(attempt.spec.memory), file, attempt.spec.command, env);
    attempt.env = env;
    this.count(attempt);
    this.dispatched.set(attempt.key, undefined);
    this.handOver(attempt);
  }

  /** close(): no launcher is started again by the timer. */
  stopRelaunching(): void {
    if (this.relaunchTimer) clearTimeout(this.relaunchTimer);
    this.relaunchTimer = undefined;
  }

  /**
   * close(): the launcher reads what is left of its requests and starts them, then supervises its
   * attempts to their end (it exits when it has none left); nothing is killed.
   */
  async close(): Promise<void> {
    let launcher = this.launcher && !this.launcher.dead ? this.launcher : undefined;
    const waiting = this.waiting.splice(0);
    if (waiting.length > 0) {
      // Not handed to a launcher yet (one crashed): the server counts on them running.
      launcher ??= this.launch();
      if (launcher) for (const attempt of waiting) launcher.enqueue(attempt);
    }
    this.launcher = undefined;
    if (launcher) await launcher.end();
  }

  private handToLauncher(attempt: Attempt): void {
    const launcher = this.liveLauncher();
    if (launcher) {
      attempt.launcher = launcher;
      launcher.enqueue(attempt);
    } else {
      this.waiting.push(attempt);
    }
  }

  /** The running launcher, or a new one; none while a crashed one may not be restarted yet. */
  private liveLauncher(): PerlLauncher<Attempt> | undefined {
    if (this.launcher && !this.launcher.dead) return this.launcher;
    const wait = this.lastLaunchAt + RELAUNCH_INTERVAL_MS - performance.now();
    if (wait > 0) {
      this.relaunchTimer ??= setTimeout(() => {
        this.relaunchTimer = undefined;
        if (this.book.closed || this.waiting.length === 0) return;
        const waiting = this.waiting.splice(0);
        for (const attempt of waiting) this.handToLauncher(attempt);
      }, wait);
      return undefined;
    }
    return this.launch();
  }

  private launch(): PerlLauncher<Attempt> | undefined {
    this.lastLaunchAt = performance.now();
    let launcher: PerlLauncher<Attempt>;
    try {
      launcher = new PerlLauncher<Attempt>(this.perlPath, this.book.dataDir, this.reports, this.rotateBytes, this.book.cgroups?.config);
    } catch (e) {
      // spawn() itself threw (EAGAIN, ...): as if it had died before `ready`.
      setImmediate(() => {
        if (!this.book.closed) this.launcherNeverRan([], e instanceof Error ? e.message : String(e));
      });
      return undefined;
    }
    this.launcher = launcher;
    launcher.setRef(this.inFlight > 0);
    return launcher;
  }

  private count(attempt: Attempt): void {
    if (attempt.counted) return;
    attempt.counted = true;
    if (this.inFlight++ === 0) this.launcher?.setRef(true);
  }

  uncount(attempt: Attempt): void {
    if (!attempt.counted) return;
    attempt.counted = false;
    if (--this.inFlight === 0) this.launcher?.setRef(false);
  }

  /** An attempt of this launcher that it still reports on. */
  private fromLauncher(launcher: PerlLauncher<Attempt>, key: string): Attempt | undefined {
    const attempt = this.book.attempts.get(key);
    return attempt && attempt.launcher === launcher && !attempt.adopted ? attempt : undefined;
  }

  private onStarted(launcher: PerlLauncher<Attempt>, key: string, commandPid: number): void {
    const attempt = this.fromLauncher(launcher, key);
    if (!attempt) return;
    if (isSafePid(commandPid)) attempt.commandPid = commandPid;
    attempt.frame = undefined;
    attempt.env = undefined;
    this.book.reportRunning(attempt);
    if (attempt.stopGraceMs !== undefined) this.watch.applyStop(attempt);
  }

  /**
   * The launcher is gone (all its output was read). Requests it never read go to the next one.
   * The attempts it had acknowledged are settled from its journal: it supervised them, so their
   * commands (if any still run) have nobody to record their end any more.
   */
  private onLauncherDied(launcher: PerlLauncher<Attempt>, how: { code: number | null; signal: NodeJS.Signals | null; error?: Error }): void {
    if (this.launcher === launcher) this.launcher = undefined;
    if (this.book.closed) return;
    const known = this.infos.get(launcher);
    if (known) this.journals.launcherDied(known.info);
    const unsent = launcher.unsent();
    for (const attempt of unsent) attempt.launcher = undefined;

    if (!launcher.ready) {
      // Nothing was written to it. Killed by a signal (from outside) while it started: try again,
      // a few times. Failed by itself (perl cannot run the script here?): no use trying again.
      if (how.signal !== null && !how.error && ++this.launchKills < MAX_LAUNCH_KILLS) {
        for (const attempt of unsent) this.handToLauncher(attempt);
        return;
      }
      const why = how.error?.message ?? (how.signal ? `killed by ${how.signal}` : `exit status ${how.code}`) + (launcher.stderrTail ? `: ${launcher.stderrTail.trim()}` : '');
      this.launcherNeverRan(unsent, why);
      return;
    }
    this.launchKills = 0;

    const orphans: Attempt[] = [];
    for (const attempt of this.book.attempts.values()) {
      if (attempt.launcher === launcher && attempt.acked && !attempt.adopted) orphans.push(attempt);
    }
    if (orphans.length > 0) this.takeOverOrphans(orphans);
    for (const attempt of unsent) this.handToLauncher(attempt);
  }

  /**
   * A launcher died before it said `ready` (perl cannot run the script here?): nothing was written
   * to it. In auto mode, fall back to spawning; with perl asked for, these attempts fail to start.
   */
  private launcherNeverRan(unsent: Attempt[], why: string): void {
    const stranded = [...unsent, ...this.waiting.splice(0)];
    if (!this.canFallBack) {
      for (const attempt of stranded) this.book.finish(attempt, { neverStarted: true, reason: `CannotStartContainerError: the perl launcher did not start (${why})` });
      return;
    }
    if (this.active) {
      this.active = false;
      process.stderr.write(`openbatch: the local executor's perl launcher did not start (${why}); attempts are spawned one by one instead\n`);
    }
    for (const attempt of stranded) if (this.book.attempts.get(attempt.key) === attempt) this.handOver(attempt);
  }

  /** An attempt goes to the launcher, or, after a fall back to spawn mode, is spawned. */
  private handOver(attempt: Attempt): void {
    if (this.active) {
      this.handToLauncher(attempt);
      return;
    }
    attempt.viaLauncher = false;
    attempt.frame = undefined;
    this.uncount(attempt);
    this.dispatched.delete(attempt.key); // a spawn-mode attempt from now on: its state dir marks it
    const env = attempt.env!;
    attempt.env = undefined;
    if (!this.spawner.prepare(attempt)) return;
    this.spawner.spawn(attempt, env);
    if (attempt.stopGraceMs !== undefined && this.book.attempts.get(attempt.key) === attempt) this.watch.applyStop(attempt);
  }

  private takeOverOrphans(orphans: Attempt[]): void {
    this.journals.refresh(); // other launchers that read all their requests start nothing: not in the way
    const found = inspectJournaled(
      orphans.map((a) => a.key),
      (key) => this.book.workDir(key),
      this.book.dataDir,
      this.journals,
      { ownLauncher: this.launcherPid },
    );
    const lost: { attempt: Attempt; start?: RecordedProcess }[] = [];
    orphans.forEach((attempt, i) => {
      const f = found[i];
      attempt.launcher = undefined;
      switch (f.kind) {
        case 'recorded':
          if (f.ran) this.book.reportRunning(attempt);
          this.book.finish(attempt, f.fields);
          this.book.cgroups?.killAndRemove(attempt.key); // its launcher died, maybe before it removed it
          break;
        case 'alive': // (another launcher's: cannot happen, a request goes to one launcher)
          lost.push({ attempt, start: f.rec.start });
          break;
        case 'orphaned':
          lost.push({ attempt, start: f.start });
          break;
        case 'never': {
          // The launcher died before its child recorded anything, and nothing can start it any
          // more (the claim was ours and is undone): send it again.
          const file = this.dispatched.get(attempt.key);
          if (file) this.journals.unattribute(attempt.key, file);
          this.dispatched.set(attempt.key, undefined);
          if (!attempt.frame) {
            this.book.finish(attempt, { neverStarted: true, reason: REASON_LAUNCHER_DIED });
            break;
          }
          attempt.acked = false;
          this.handToLauncher(attempt);
          break;
        }
        case 'unclaimed':
          this.book.finish(attempt, { neverStarted: true, reason: REASON_LAUNCHER_DIED });
          break;
      }
    });
    if (lost.length === 0) return;
    // Their commands may still run, unsupervised: kill them (they must never run beside a retry).
    const strays = findAttemptProcesses(new Set(lost.map((l) => l.attempt.key)));
    for (const { attempt, start } of lost) {
      if (start) killRecorded(start);
      killAttemptProcesses(attempt.key, undefined, strays.get(attempt.key) ?? []);
      this.book.cgroups?.killAndRemove(attempt.key);
      this.book.finish(attempt, { lost: true, reason: REASON_LAUNCHER_KILLED });
    }
  }
}
