// What the bench reads from /proc and the shell: CPU time of a process (and of the whole machine),
// resident memory, disk use. Linux only, like OpenBatch's local executor.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64 and arm64

/** CPU seconds (user + system) a process has used so far; undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds a process and every child it has reaped used so far (utime + stime + cutime + cstime):
 * for the launcher, its own work plus the jobs it forked and waited for.
 */
export function processAndReapedCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Direct children of a process (from /proc/<pid>/task/<tid>/children). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function processMemoryMiB(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Machine-wide CPU counters from /proc/stat (in seconds, summed over all CPUs). */
export interface MachineCpu {
  busy: number;
  total: number;
}

export function machineCpu(): MachineCpu {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already in user)
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/** Share of the machine's CPUs that were busy between two readings (1 = all cores busy). */
export function machineBusyShare(a: MachineCpu, b: MachineCpu): number {
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : NaN;
}

export function cpuCount(): number {
  return os.availableParallelism();
}

/** Bytes used by a directory tree (du -sb), or NaN if du fails. */
export function dirBytes(dir: string): number {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split(/\s+/)[0]);
  } catch {
    return NaN;
  }
}

/** SIGKILLs every process whose working directory is inside `dir` or whose command line names it (jobs, launcher left behind). `dir` must be unique (a mkdtemp path). */
export function killProcessesUnder(dir: string): number {
  let killed = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cwd.startsWith(dir + '/') || cwd === dir || cmdline.includes(dir)) {
        process.kill(Number(entry), 'SIGKILL');
        killed++;
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return killed;
}

/**
 * CPU seconds used so far by every process that is not part of this bench (with its reaped
 * children): not a descendant of this process, not a job or launcher of a bench server (their
 * paths contain `openbatch-bench-`), not a Slurm or munge daemon, not init or a kernel thread. Read at a scenario's start and end, the difference tells whether
 * something else competed for the CPUs (processes that start and end in between are missed, so it
 * is a lower bound).
 */
export function foreignCpuSnapshot(alsoOurs?: RegExp): Map<number, number> {
  const parent = new Map<number, number>();
  const info = new Map<number, { cpu: number; comm: string; mark: boolean }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(pid, Number(fields[1]));
      let mark = /^(slurm|munged)/.test(comm) || (alsoOurs?.test(comm) ?? false);
      if (!mark) {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        mark = cmdline.includes('openbatch-bench-');
      }
      // utime + stime, and cutime + cstime: what its children used once reaped (a test runner
      // starting thousands of short processes shows there, and nowhere else).
      info.set(pid, { cpu: (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLK_TCK, comm, mark });
    } catch {
      // gone
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) {
      if (p === process.pid || info.get(p)?.mark) return true;
    }
    return false;
  };
  const out = new Map<number, number>();
  // Not init (it reaps orphans, ours included) nor kernel threads (they work for everyone).
  for (const [pid, i] of info) if (pid > 2 && parent.get(pid) !== 2 && !ours(pid) && i.cpu > 0) out.set(pid, i.cpu);
  return out;
}

/** CPU seconds foreign processes used between two snapshots. */
export function foreignCpuSeconds(a: Map<number, number>, b: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of b) total += Math.max(0, cpu - (a.get(pid) ?? 0));
  return total;
}

/**
 * Samples foreignCpuSnapshot() every second during a scenario, so that foreign processes that
 * start and end within it (another test suite's servers, say) are counted too; a process that
 * appears after the start counts from zero.
 */
export class ForeignCpuMonitor {
  private last: Map<number, number>;
  private total = 0;
  private readonly t0 = Date.now();
  private readonly timer = setInterval(() => this.sample(), 1000);

  /** `alsoOurs`: command names that belong to the system under test (e.g. PostgreSQL's backends). */
  constructor(private readonly alsoOurs?: RegExp) {
    this.last = foreignCpuSnapshot(alsoOurs);
  }

  private sample(): void {
    const now = foreignCpuSnapshot(this.alsoOurs);
    this.total += foreignCpuSeconds(this.last, now);
    // Keep the last value of processes that vanished out of the map: they are gone for good.
    this.last = now;
  }

  /** Stops sampling; average foreign CPU in cores over the monitored time. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.total / Math.max(0.001, (Date.now() - this.t0) / 1000);
  }
}

/** CPU seconds used so far by all processes whose command name matches `comm` (e.g. PostgreSQL's). */
export function cpuSecondsOf(comm: RegExp): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!comm.test(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')))) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      // gone
    }
  }
  return total;
}
