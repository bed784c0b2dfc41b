// The server's side of the perl launcher (launcher-script.ts): one long-lived `perl` process per
// LocalExecutor that forks the attempts' commands on request and supervises them, journaling what
// happened, so that starting an attempt costs the server a write to a pipe instead of a fork of
// the whole server (child_process.spawn).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { AttemptUsage } from '../executor.js';
import type { CgroupConfig } from './cgroups.js';
import { LAUNCHER_SCRIPT, PERL_LAUNCHER_NAME } from './launcher-script.js';

/** A start request on its way to the launcher. */
export interface LaunchRequest {
  readonly key: string;
  /** The encoded request (its owner drops it once the attempt started). */
  frame?: Buffer;
  /** The launcher read the request (it may have forked a supervisor for it). */
  acked?: boolean;
}

/** What the launcher reports, in the order it does. */
export interface LauncherReports<R extends LaunchRequest> {
  /** The launcher runs; `start` is its start time (/proc/<pid>/stat field 22); its journal is 0. */
  ready(launcher: PerlLauncher<R>, pid: number, start: number): void;
  /** The launcher journals to journal `seq` from now on (the requests acknowledged next go there). */
  journal(launcher: PerlLauncher<R>, seq: number): void;
  /** The launcher read these requests and may act on them; their records go to journal `seq`. */
  acked(launcher: PerlLauncher<R>, requests: R[], seq: number): void;
  /** The command's process was forked (it execs the command next): `commandPid` is the command's pid. */
  started(launcher: PerlLauncher<R>, key: string, commandPid: number): void;
  /** The command ended with this status (its X record is written); `oom`: it failed, and a process in its cgroup was OOM-killed; `usage`: what it used, where measured. */
  exited(launcher: PerlLauncher<R>, key: string, status: number, oom: boolean, usage?: AttemptUsage): void;
  /** The command could not be started (its F record is written, when possible). */
  failed(launcher: PerlLauncher<R>, key: string, message: string): void;
  /** The launcher process is gone (crashed, killed, or never started); all its output was read. */
  died(launcher: PerlLauncher<R>, how: { code: number | null; signal: NodeJS.Signals | null; error?: Error }): void;
}

/** clock_gettime's system call number on this architecture (the launcher's precise clock; 0: whole seconds). */
const CLOCK_GETTIME: Partial<Record<string, number>> = { x64: 228, arm64: 113, riscv64: 113, loong64: 113, ppc64: 246, s390x: 260 };

/** wait4's system call number (the attempts' rusage: peak memory and CPU time); elsewhere the launcher measures CPU time only, with times(). */
const WAIT4: Partial<Record<string, number>> = { x64: 61, arm64: 260 };

/**
 * The fields after an X record's or `exited` report's status and time: `oom`, `mem=KIB` (peak
 * memory), `cpu=MS` (CPU time), each optional, in any order; unknown ones are ignored.
 */
export function parseExitTokens(tokens: readonly string[]): { oom: boolean; usage?: AttemptUsage } {
  let oom = false;
  let usage: AttemptUsage | undefined;
  for (const t of tokens) {
    if (t === 'oom') oom = true;
    else if (t.startsWith('mem=') || t.startsWith('cpu=')) {
      const n = Number(t.slice(4));
      if (!Number.isFinite(n) || n < 0 || t.length === 4) continue;
      usage ??= {};
      if (t.charCodeAt(0) === 109) usage.peakMemoryMiB = Math.round((n / 1024) * 10) / 10;
      else usage.cpuSeconds = n / 1000;
    }
  }
  return usage ? { oom, usage } : { oom };
}

/** Default size at which the launcher starts a new journal file. */
export const JOURNAL_ROTATE_BYTES = 4 * 1024 * 1024;

/** Finds a perl interpreter: /usr/bin/perl (perl-base), else the first `perl` in PATH. */
export function findPerl(searchPath = process.env.PATH ?? ''): string | undefined {
  const candidates = ['/usr/bin/perl', '/bin/perl', ...searchPath.split(':').filter((d) => d.startsWith('/')).map((d) => path.join(d, 'perl'))];
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      if (fs.statSync(c).isFile()) return c;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * Encodes a start request: a 4-byte big-endian length, then NUL-separated fields. No field may
 * contain NUL. `memoryBytes`: the attempt's memory limit (0: none), applied where the launcher has cgroups.
 */
export function encodeStartRequest(
  key: string,
  workDir: string,
  logFile: string,
  memoryBytes: number,
  program: string,
  command: readonly string[],
  env: Readonly<Record<string, string>>,
): Buffer {
  const fields = ['start', key, workDir, logFile, String(memoryBytes), program, String(command.length), ...command];
  for (const name in env) fields.push(`${name}=${env[name]}`);
  const body = fields.join('\0');
  const len = Buffer.byteLength(body);
  const frame = Buffer.allocUnsafe(4 + len);
  frame.writeUInt32BE(len, 0);
  frame.write(body, 4, 'utf8');
  return frame;
}

/** Keep the last bytes of the launcher's stderr for error reports. */
const STDERR_TAIL = 2000;

/**
 * One launcher process. Requests are queued and written once per turn of the event loop (one
 * write for all the starts of that turn), and only after the launcher said `ready`; the ones it
 * did not acknowledge when it died are handed back by `unsent()`, and can be sent to the next one.
 */
export class PerlLauncher<R extends LaunchRequest> {
  readonly child: ChildProcess;
  /** performance.now() when it was spawned. */
  readonly launchedAt = performance.now();
  /** It said `ready` (stays true after its death: it did start). */
  ready = false;
  dead = false;
  stderrTail = '';
  /** Its start time (/proc/<pid>/stat field 22), from `ready`: with the pid, it names its journals. */
  startTime: number | undefined;
  /** The journal it writes to now. */
  journalSeq = 0;

  private pending: R[] = [];
  private unacked: R[] = [];
  private unackedHead = 0;
  private flushScheduled = false;
  private ended = false;
  private out = '';
  private refd = true;
  private readyWaiters: (() => void)[] = [];

  constructor(
    perlPath: string,
    dataDir: string,
    private readonly reports: LauncherReports<R>,
    rotateBytes = JOURNAL_ROTATE_BYTES,
    /** The attempts' cgroups (made by the launcher's children), or none. */
    cgroups?: CgroupConfig,
  ) {
    // The launcher sets $0 to "openbatch-launcher <dataDir>", which perl can only write over its
    // original argv (and environ) area: make sure that area is large enough for any data dir.
    const longest = PERL_LAUNCHER_NAME.length + 1 + Buffer.byteLength(dataDir) + 1;
    const padding = '-'.repeat(Math.max(0, longest - Buffer.byteLength(LAUNCHER_SCRIPT)));
    const clock = String(CLOCK_GETTIME[process.arch] ?? 0);
    const cg = cgroups ? [String(cgroups.version), cgroups.swap ? '1' : '0', cgroups.dir] : ['0', '0', '-'];
    const wait4 = String(WAIT4[process.arch] ?? 0);
    this.child = spawn(perlPath, ['-e', LAUNCHER_SCRIPT, '--', dataDir, clock, String(Math.max(1, Math.floor(rotateBytes))), ...cg, wait4, padding], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own session: signals to the server's process group (a terminal's ^C) do not reach it.
      detached: true,
      // Nothing from the server's environment (PERL5OPT, PERL5LIB, locale warnings); the commands
      // get exactly their own environment from the request.
      env: {},
    });
    const child = this.child;
    child.stdin!.on('error', () => {
      // EPIPE: the launcher died; its 'close' follows.
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onOutput(chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL);
      process.stderr.write(chunk.replace(/^(?=.)/gm, 'openbatch local launcher: '));
    });
    let errored: Error | undefined;
    child.on('error', (err) => {
      errored = err;
      // A failed spawn gets no 'close' when nothing was started.
      if (child.pid === undefined) this.onDeath(null, null, err);
    });
    child.on('close', (code, signal) => this.onDeath(code, signal, errored));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Queue a start request; it is written in the next turn of the event loop (once ready). */
  enqueue(request: R): void {
    this.pending.push(request);
    this.scheduleFlush();
  }

  /** After death: the requests the launcher never read (in order), which may be sent again. */
  unsent(): R[] {
    const list = [...this.unacked.slice(this.unackedHead), ...this.pending];
    this.unacked = [];
    this.unackedHead = 0;
    this.pending = [];
    return list;
  }

  /** Whether the launcher keeps the event loop alive (while attempts are in flight through it). */
  setRef(on: boolean): void {
    if (on === this.refd) return;
    this.refd = on;
    const handles = [this.child, this.child.stdout as Socket | null, this.child.stderr as Socket | null];
    for (const h of handles) {
      if (!h) continue;
      if (on) h.ref();
      else h.unref();
    }
  }

  /**
   * Write what is queued and close the launcher's stdin: it reads the remaining requests, starts
   * them, and exits once it has no command left to supervise. Nothing is killed. Waits (at most
   * `waitMs`) for `ready` first when requests are queued.
   */
  async end(waitMs = 5000): Promise<void> {
    if (this.dead || this.ended) return;
    if (!this.ready && this.pending.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        timer.unref();
        this.readyWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.dead || this.ended) return;
    this.flush();
    this.ended = true;
    this.child.stdin!.end();
    this.setRef(false);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.ready || this.dead) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (!this.ready || this.dead || this.ended || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const frames: Buffer[] = [];
    for (const r of batch) frames.push(r.frame!);
    this.child.stdin!.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
    for (const r of batch) this.unacked.push(r);
  }

  private onOutput(chunk: string): void {
    this.out += chunk;
    let start = 0;
    for (;;) {
      const nl = this.out.indexOf('\n', start);
      if (nl < 0) break;
      this.onLine(this.out.slice(start, nl));
      start = nl + 1;
    }
    this.out = start === this.out.length ? '' : this.out.slice(start);
  }

  private onLine(line: string): void {
    const sp1 = line.indexOf(' ');
    const type = sp1 < 0 ? line : line.slice(0, sp1);
    const rest = sp1 < 0 ? '' : line.slice(sp1 + 1);
    const sp2 = rest.indexOf(' ');
    const key = sp2 < 0 ? rest : rest.slice(0, sp2);
    const arg = sp2 < 0 ? '' : rest.slice(sp2 + 1);
    switch (type) {
      case 'ready':
        this.ready = true;
        this.startTime = Number(arg);
        this.reports.ready(this, Number(key), this.startTime);
        for (const w of this.readyWaiters.splice(0)) w();
        this.scheduleFlush();
        return;
      case 'journal':
        this.journalSeq = Number(rest);
        this.reports.journal(this, this.journalSeq);
        return;
      case 'ack': {
        const n = Number(rest);
        const end = Math.min(this.unacked.length, this.unackedHead + n);
        const batch = this.unacked.slice(this.unackedHead, end);
        for (const r of batch) r.acked = true;
        this.unackedHead = end;
        if (this.unackedHead === this.unacked.length) {
          this.unacked = [];
          this.unackedHead = 0;
        }
        this.reports.acked(this, batch, this.journalSeq);
        return;
      }
      case 'started':
        this.reports.started(this, key, Number(arg));
        return;
      case 'exited': {
        const sp = arg.indexOf(' ');
        const status = Number(sp < 0 ? arg : arg.slice(0, sp));
        if (sp < 0) this.reports.exited(this, key, status, false);
        else {
          const { oom, usage } = parseExitTokens(arg.slice(sp + 1).split(' '));
          this.reports.exited(this, key, status, oom, usage);
        }
        return;
      }
      case 'failed':
        this.reports.failed(this, key, arg);
        return;
      default:
        // Not ours (cannot happen): ignore.
        return;
    }
  }

  private onDeath(code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (this.dead) return;
    if (this.out.length > 0) this.onLine(this.out); // a last line without newline (cannot happen)
    this.out = '';
    this.dead = true;
    for (const w of this.readyWaiters.splice(0)) w();
    this.setRef(false);
    this.reports.died(this, { code, signal, ...(error ? { error } : {}) });
  }
}
