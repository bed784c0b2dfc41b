// Slurm for the Slurm executor's tests: scripts/slurm-local.sh sets up a single-node cluster
// (idempotent; 4 CPU slots so that a 2-node MNP job and arrays run side by side on a small host);
// tests skip, loudly and naming what to install or run, where Slurm is missing or cannot start.
// The Slurm test files take turns (a lock held for the life of the test process): one sets a node
// DOWN, which would fail another file's jobs, and two setups must not race.

import { execFileSync, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/slurm-local.sh');
let cached: { skip?: string } | undefined;

const HOW = 'apt-get install -y slurm-wlm munge, then (as root) scripts/slurm-local.sh setup';

const LOCK = '/tmp/openbatch-slurm-tests.lock';

/** Holds LOCK (flock) until this process exits: `cat` holds it and ends when our end of its stdin closes. */
async function holdLock(): Promise<void> {
  const child = spawn('flock', ['-x', '-w', '900', LOCK, '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`flock ${LOCK} exited (${code}) without the lock`)));
  });
  child.removeAllListeners('exit');
  child.unref();
  (child.stdin as unknown as Socket).unref();
  (child.stdout as unknown as Socket).unref();
}

/** Undefined when a Slurm cluster answers (set up on first use), else why the tests skip. */
export async function slurm(): Promise<{ skip?: string }> {
  if (cached) return cached;
  const skip = (why: string) => {
    const skip = `SKIPPED: Slurm executor tests need a Slurm cluster: ${why} (${HOW})`;
    process.stderr.write(`\n*** ${skip} ***\n\n`);
    return (cached = { skip });
  };
  const has = (c: string) => ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'].some((d) => fs.existsSync(path.join(d, c)));
  const missing = ['sinfo', 'sbatch', 'squeue', 'scontrol', 'scancel', 'slurmctld', 'slurmd', 'munged'].filter((c) => !has(c));
  if (missing.length) return skip(`missing ${missing.join(', ')}`);
  try {
    await holdLock();
  } catch (e) {
    return skip(`cannot take ${LOCK} (util-linux flock): ${(e as Error).message}`);
  }
  if (process.getuid?.() === 0 && process.env.OPENBATCH_TEST_SLURM_SETUP !== '0') {
    try {
      execFileSync(script, ['setup'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
        env: { ...process.env, SLURM_SETUP_SLOTS: process.env.SLURM_SETUP_SLOTS ?? '4', SLURM_SETUP_FAST: '1' },
      });
    } catch (e) {
      return skip(`scripts/slurm-local.sh setup failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
    }
  }
  try {
    const state = execFileSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 30_000 }).trim();
    if (!/\b(idle|mixed|allocated)\b/.test(state)) return skip(`no usable node (sinfo: ${state || 'nothing'})`);
  } catch (e) {
    return skip(`sinfo failed: ${(e as Error).message}`);
  }
  return (cached = {});
}

/** The single test node's name (for scontrol update nodename=...). */
export function slurmNode(): string {
  return execFileSync('sinfo', ['-h', '-N', '-o', '%N'], { encoding: 'utf8' }).trim().split('\n')[0];
}
