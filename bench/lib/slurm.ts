// The Slurm peer for the slurm scenario: finds (or, with --install-slurm, installs and starts via
// scripts/slurm-local.sh) a single-node Slurm, runs N `sbatch --wrap true` jobs through it, waits
// until squeue shows none of them, and checks in Slurm's completion log that all COMPLETED with
// exit 0:0. Uses the CLI only (sbatch, squeue, scontrol), which is stable across Slurm versions.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CheckFailure, type Checks } from './checks.js';
import { mapParallel } from './client.js';
import { ROOT } from './server.js';
import { nowMs, sleep } from './stats.js';

const exec = promisify(execFile);
export const SLURM_SCRIPT = path.join(ROOT, 'scripts', 'slurm-local.sh');

async function ok(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    return (await exec(cmd, args, { encoding: 'utf8', timeout: 20_000 })).stdout;
  } catch {
    return undefined;
  }
}

export async function slurmInstalled(): Promise<boolean> {
  return (await ok('sh', ['-c', 'command -v sbatch && command -v squeue && command -v slurmctld'])) !== undefined;
}

/** slurmctld answers and a node can take jobs. */
export async function slurmUp(): Promise<boolean> {
  const ping = await ok('scontrol', ['ping']);
  if (!ping || !/\bUP\b/.test(ping)) return false;
  const states = await ok('sinfo', ['-h', '-o', '%T']);
  return !!states && /^(idle|mixed|allocated)/m.test(states);
}

/** Runs scripts/slurm-local.sh with `args`, its output going to the bench's stderr. */
export function slurmScript(args: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SLURM_SCRIPT, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/slurm-local.sh ${args.join(' ')} exited ${code}`))));
  });
}

export async function slurmNodeInfo(): Promise<string> {
  const info = await ok('sinfo', ['-h', '-N', '-o', '%N: %c CPUs, %m MiB, %T']);
  const version = await ok('sinfo', ['-V']);
  const conf = await ok('scontrol', ['show', 'config']);
  const pick = (key: string) => new RegExp(`^${key}\\s*=\\s*(.*)$`, 'm').exec(conf ?? '')?.[1]?.trim();
  return `${version?.trim() ?? 'slurm'}; node ${info?.trim().split('\n').join(', ')}; Epilog=${pick('Epilog') || '(none)'}, SchedulerParameters=${pick('SchedulerParameters') ?? '(none)'}, DefMemPerCPU=${pick('DefMemPerCPU') ?? '?'}`;
}

export interface SlurmRun {
  /** First sbatch → the squeue poll that showed none of the jobs. */
  seconds: number;
  submitSeconds: number;
}

/** N trivial batch jobs through sbatch (`parallel` sbatch processes at a time), until squeue shows none of them. */
export async function runSlurmJobs(n: number, parallel: number, checks: Checks): Promise<SlurmRun> {
  const dir = fs.mkdtempSync('/tmp/openbatch-bench-slurm-');
  try {
    const t0 = nowMs();
    const ids = await mapParallel(Array.from({ length: n }, (_, i) => i), parallel, async () => {
      const { stdout } = await exec('sbatch', ['--parsable', '--job-name=bench', `--output=${dir}/%j.out`, '--wrap', 'true'], { cwd: dir, encoding: 'utf8' });
      return stdout.trim().split(';')[0];
    });
    const tSubmitted = nowMs();
    const mine = new Set(ids);
    const deadline = Date.now() + Math.max(300_000, n * 1000);
    for (;;) {
      const queued = (await exec('squeue', ['-h', '-o', '%i'], { encoding: 'utf8' })).stdout.split('\n').filter((id) => mine.has(id.trim()));
      if (queued.length === 0) break;
      if (Date.now() > deadline) throw new CheckFailure(`slurm: ${queued.length} of ${n} jobs still in squeue after ${(Date.now() - t0) / 1000} s`);
      await sleep(100);
    }
    const tDone = nowMs();

    // Correctness: every job COMPLETED with exit 0:0 (Slurm's completion log), and wrote its output file.
    const conf = (await exec('scontrol', ['show', 'config'], { encoding: 'utf8' })).stdout;
    const compType = /^JobCompType\s*=\s*(\S+)/m.exec(conf)?.[1];
    const compLoc = /^JobCompLoc\s*=\s*(\S+)/m.exec(conf)?.[1];
    if (compType === 'jobcomp/filetxt' && compLoc && fs.existsSync(compLoc)) {
      const states = new Map<string, string>();
      // The log is appended to; read the tail that can hold our jobs (each line is ~450 bytes).
      const text = readTail(compLoc, (n + 1000) * 700);
      for (const line of text.split('\n')) {
        const id = /^JobId=(\d+) /.exec(line)?.[1];
        if (id && mine.has(id)) states.set(id, `${/JobState=(\S+)/.exec(line)?.[1]} ${/ ExitCode=(\S+)/.exec(line)?.[1]}`);
      }
      const good = [...states.values()].filter((s) => s === 'COMPLETED 0:0').length;
      checks.that(good === n, 'slurm: every sbatch job COMPLETED with exit 0:0 (jobcomp log)', `${good} of ${n}${states.size !== good ? `; others: ${JSON.stringify([...states.values()].filter((s) => s !== 'COMPLETED 0:0').slice(0, 3))}` : ''}`);
    } else {
      checks.that(true, 'slurm: completion log not configured (JobCompType is not jobcomp/filetxt); exit states not checked', String(compType));
    }
    const files = ids.filter((id) => fs.existsSync(path.join(dir, `${id}.out`))).length;
    checks.that(files === n, 'slurm: every job wrote its output file', `${files} of ${n}`);
    return { seconds: (tDone - t0) / 1000, submitSeconds: (tSubmitted - t0) / 1000 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function readTail(file: string, bytes: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
