// The local executor's memory cgroups: where the host allows it (a cgroup v1 memory controller,
// or cgroup v2 with the memory controller, writable: root), every attempt runs in a cgroup of its
// own, `<cgroup mount>/openbatch/<data dir id>/<key>`, limited to the job's memory. Its command
// (and everything it forks, setsid'd daemons included) is killed as a whole when the command
// exits, and an out-of-memory kill in it is reported as AWS does (`OutOfMemoryError: ...`).
//
// The server only detects here (once, at construction) and cleans up after attempts nobody
// supervises any more (lost ones, leftovers of a crash). The per-attempt work is done by whoever
// supervises the attempt: the perl launcher's child makes the cgroup, sets the limit and moves
// itself in before it execs the command, and the launcher reads the OOM count, kills what is left
// and removes the cgroup after reaping the command (launcher-script.ts); in spawn mode the server
// makes the cgroup and the shell supervisor does the rest (supervisor.ts).
// Design: src/executors/README.md ("Memory limits and cgroups").

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** `off`: no cgroups; `auto`: cgroups where the host allows them, else none (said once on stderr). */
export type CgroupMode = 'off' | 'auto';

/** Environment variable that chooses the cgroup mode when the options do not. */
export const CGROUPS_ENV = 'OPENBATCH_LOCAL_CGROUPS';

/** AWS's container reason for an out-of-memory kill. */
export const REASON_OOM = 'OutOfMemoryError: Container killed due to memory usage';

/** The top directory below the cgroup mount; one directory per data dir below it. */
export const CGROUP_TOP = 'openbatch';

export function parseCgroupMode(value: string | undefined, from: string): CgroupMode | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'off' || value === 'auto') return value;
  throw new Error(`LocalExecutor: ${from} must be off or auto (got ${JSON.stringify(value)})`);
}

/** What a supervisor needs to put an attempt in its cgroup. */
export interface CgroupConfig {
  version: 1 | 2;
  /** `<mount>/openbatch/<id>`: the attempts' cgroups are its children, named by their keys. */
  dir: string;
  /** v1: memory.memsw.limit_in_bytes exists (set to the limit: no swap beyond it); v2: memory.swap.max exists (set to 0). */
  swap: boolean;
  /** v2: cgroup.kill exists (one write kills everything in a cgroup). */
  kill: boolean;
}

/** The file holding a cgroup's memory limit, and the one that holds its swap limit. */
export function limitFiles(version: 1 | 2): { memory: string; swap: string } {
  return version === 1
    ? { memory: 'memory.limit_in_bytes', swap: 'memory.memsw.limit_in_bytes' }
    : { memory: 'memory.max', swap: 'memory.swap.max' };
}

/** The memory limit of an attempt in bytes (the job's memory in MiB); 0: no limit. */
export function memoryLimitBytes(memoryMiB: number): number {
  return Number.isFinite(memoryMiB) && memoryMiB > 0 ? Math.floor(memoryMiB * 1024 * 1024) : 0;
}

/** Short and stable: the data dir's cgroup directory name. */
export function dataDirId(dataDir: string): string {
  return createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
}

interface Mount {
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** /proc/self/mountinfo: `id parent maj:min root mountpoint options [optional...] - fstype source superoptions`. */
function readMounts(): Mount[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    mounts.push({ mountPoint: unescape(fields[4]), fsType: fields[dash + 1], superOptions: fields[dash + 3].split(',') });
  }
  return mounts;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function codeOf(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? String(e);
}

/**
 * A system call's failure in words, as the C library says it (lower case, as Go and Docker
 * print them): Node's "ENOSPC: no space left on device, mkdir '/x'" becomes "no space left on device".
 */
export function describeError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const m = /^[A-Z][A-Z0-9_]*: ([^,]+)(?:,|$)/.exec(message);
  return m ? m[1] : message;
}

/** Enables the memory controller for the children of `dir` (cgroup v2). */
function enableMemory(dir: string): void {
  const file = path.join(dir, 'cgroup.subtree_control');
  if ((readText(file) ?? '').split(/\s+/).includes('memory')) return;
  fs.writeFileSync(file, '+memory');
}

/**
 * Where this host lets attempts have memory cgroups, for this data dir: the cgroup directory is
 * made (and, on cgroup v2, the memory controller enabled down to it) and checked with a probe
 * cgroup that gets a limit. Otherwise why not, in words.
 */
export function detectCgroups(dataDir: string): { config: CgroupConfig } | { why: string } {
  const mounts = readMounts();
  const v1 = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
  const v2 = v1 ? undefined : mounts.find((m) => m.fsType === 'cgroup2' && (readText(path.join(m.mountPoint, 'cgroup.controllers')) ?? '').split(/\s+/).includes('memory'));
  const mount = v1 ?? v2;
  if (!mount) return { why: 'no cgroup memory controller is mounted (cgroup v1 "memory", or cgroup v2 with "memory" in cgroup.controllers)' };
  const version = v1 ? 1 : 2;
  const top = path.join(mount.mountPoint, CGROUP_TOP);
  const dir = path.join(top, dataDirId(dataDir));
  let step = `create ${dir}`;
  const probe = path.join(dir, `probe-${process.pid}`);
  try {
    if (version === 2) {
      step = `enable the memory controller in ${mount.mountPoint}`;
      enableMemory(mount.mountPoint);
      step = `create ${top}`;
      fs.mkdirSync(top, { recursive: true });
      step = `enable the memory controller in ${top}`;
      enableMemory(top);
      step = `create ${dir}`;
      fs.mkdirSync(dir, { recursive: true });
      step = `enable the memory controller in ${dir}`;
      enableMemory(dir);
    } else {
      fs.mkdirSync(dir, { recursive: true });
    }
    step = `create the cgroup ${probe}`;
    try {
      fs.mkdirSync(probe);
    } catch (e) {
      if (codeOf(e) !== 'EEXIST') throw e;
    }
    step = `set a memory limit in ${probe}`;
    fs.writeFileSync(path.join(probe, limitFiles(version).memory), String(64 * 1024 * 1024));
  } catch (e) {
    return { why: `cannot ${step}: ${codeOf(e)}` };
  } finally {
    try {
      fs.rmdirSync(probe);
    } catch {
      // not made
    }
  }
  const files = limitFiles(version);
  return {
    config: {
      version,
      dir,
      swap: fs.existsSync(path.join(dir, files.swap)),
      kill: version === 2 && fs.existsSync(path.join(dir, 'cgroup.kill')),
    },
  };
}

const said = new Set<string>();

/** Says on stderr (once per process and reason) that attempts run without memory limits. */
export function sayNoCgroups(why: string): void {
  if (said.has(why)) return;
  said.add(why);
  process.stderr.write(`openbatch: the local executor runs jobs without memory limits (no cgroups): ${why}; set ${CGROUPS_ENV}=off to silence this\n`);
}

/**
 * The server's side of the attempts' cgroups: their paths, and the cleanup after attempts whose
 * supervisor cannot do it any more (lost) or did not get to it (a crash between the exit and the
 * removal). Off the hot path.
 */
export class Cgroups {
  /** close() was called: the data dir's directory goes as soon as the last cgroup in it does. */
  private closed = false;

  constructor(readonly config: CgroupConfig) {}

  /** The attempt's cgroup. */
  pathOf(key: string): string {
    return path.join(this.config.dir, key);
  }

  /**
   * Spawn mode: makes the attempt's cgroup with its memory limit (`bytes`, 0: none), before the
   * supervisor is spawned; it moves the command in. Throws with a message for the attempt's reason.
   */
  create(key: string, bytes: number): string {
    const dir = this.pathOf(key);
    const files = limitFiles(this.config.version);
    let step = `create the cgroup ${dir}`;
    try {
      try {
        fs.mkdirSync(dir);
      } catch (e) {
        if (codeOf(e) === 'ENOENT') {
          // the data dir's cgroup directory was removed (a close() found it empty): again
          fs.mkdirSync(this.config.dir, { recursive: true });
          if (this.config.version === 2) enableMemory(this.config.dir);
          fs.mkdirSync(dir);
        } else if (codeOf(e) !== 'EEXIST') {
          throw e;
        }
      }
      if (bytes > 0) {
        step = `set the memory limit in ${dir}`;
        fs.writeFileSync(path.join(dir, files.memory), String(bytes));
        if (this.config.swap) fs.writeFileSync(path.join(dir, files.swap), this.config.version === 1 ? String(bytes) : '0');
      }
    } catch (e) {
      throw new Error(`cannot ${step}: ${describeError(e)}`);
    }
    return dir;
  }

  /** SIGKILL everything in the attempt's cgroup (setsid'd processes included). */
  kill(key: string): void {
    const dir = this.pathOf(key);
    if (this.config.kill) {
      try {
        fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
        return;
      } catch {
        // gone, or no cgroup.kill after all: one by one
      }
    }
    for (let round = 0; round < 3; round++) {
      const pids = (readText(path.join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
      if (pids.length === 0) return;
      for (const pid of pids) {
        if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }

  /**
   * The attempt's cgroup's memory high-water mark in MiB (v1 `memory.max_usage_in_bytes`, v2
   * `memory.peak`, kernel 5.19+), while the cgroup exists; undefined where there is none.
   */
  peakMiB(key: string): number | undefined {
    const text = readText(path.join(this.pathOf(key), this.config.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak'));
    const bytes = text !== undefined ? Number.parseInt(text, 10) : NaN;
    return Number.isFinite(bytes) && bytes > 0 ? Math.round((bytes / 1048576) * 10) / 10 : undefined;
  }

  /** Whether an out-of-memory kill happened in the attempt's cgroup (while it exists). */
  oomKilled(key: string): boolean {
    const text = readText(path.join(this.pathOf(key), this.config.version === 1 ? 'memory.oom_control' : 'memory.events'));
    const m = text !== undefined ? /^oom_kill (\d+)$/m.exec(text) : null;
    return m !== null && Number(m[1]) > 0;
  }

  /**
   * Kill what is left in the attempt's cgroup and remove it; the killed processes take a moment
   * to go, so the removal is tried again a few times (asynchronously), then left to the next sweep.
   */
  killAndRemove(key: string): void {
    const dir = this.pathOf(key);
    if (!fs.existsSync(dir)) return;
    this.kill(key);
    this.removeLater(dir, 0);
  }

  /** Remove the attempt's cgroup (after its supervisor killed what was in it). */
  remove(key: string): void {
    this.removeLater(this.pathOf(key), 0);
  }

  private removeLater(dir: string, tries: number): void {
    fs.rmdir(dir, (err) => {
      if (!err && this.closed) fs.rmdir(this.config.dir, () => {});
      if (!err || err.code === 'ENOENT' || tries >= 50) return;
      if (err.code === 'EBUSY') {
        try {
          const pids = (readText(path.join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
          for (const pid of pids) if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      setTimeout(() => this.removeLater(dir, tries + 1), 20).unref();
    });
  }

  /**
   * Removes the cgroups left behind (a supervisor killed between an attempt's exit and the
   * removal, a host crash's leftovers are gone with the reboot) that nothing runs in: rmdir fails
   * on a cgroup that still holds a process, so one of a running attempt stays. `running` keys are
   * not even tried (an attempt about to move its command in, or one whose peak memory is still to
   * be read). A perl launcher's child whose cgroup is removed just before it moves in makes it
   * again; spawn mode's shell supervisor cannot (the caller keeps its cgroup: `running`).
   */
  sweep(running: (key: string) => boolean): number {
    this.sweepTop();
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(this.config.dir, { withFileTypes: true });
    } catch {
      return 0;
    }
    let removed = 0;
    for (const d of names) {
      if (!d.isDirectory() || running(d.name)) continue;
      try {
        fs.rmdirSync(path.join(this.config.dir, d.name));
        removed++;
      } catch {
        // in use, or gone
      }
    }
    return removed;
  }

  /**
   * The directories of other data dirs that hold no cgroup (left by a launcher that was SIGKILLed,
   * and a server that never came back on that data dir): removed. One that is in use holds
   * cgroups and stays; a server whose directory goes makes it again when it next needs it.
   */
  private sweepTop(): void {
    const top = path.dirname(this.config.dir);
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(top, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) {
      if (!d.isDirectory() || path.join(top, d.name) === this.config.dir) continue;
      try {
        fs.rmdirSync(path.join(top, d.name));
      } catch {
        // in use, or gone
      }
    }
  }

  /**
   * close(): the cgroups nothing runs in go (but those of `running` attempts, whose command may be
   * about to move in), and the data dir's cgroup directory when no attempt's cgroup is left in it
   * (a launcher that still supervises attempts removes it when it quits).
   */
  close(running: ReadonlySet<string>): void {
    this.closed = true;
    this.sweep((key) => running.has(key));
    try {
      fs.rmdirSync(this.config.dir);
    } catch {
      // attempts still run (or it is gone)
    }
  }
}
