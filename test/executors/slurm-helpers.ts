// Slurm for the Slurm executor's tests: scripts/slurm-local.sh sets up a single-node cluster
// (idempotent; 4 CPU slots so that a 2-node MNP job and arrays run side by side on a small host);
// tests skip, loudly and naming what to install or run, where Slurm is missing or cannot start.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/slurm-local.sh');
let cached: { skip?: string } | undefined;

const HOW = 'apt-get install -y slurm-wlm munge, then (as root) scripts/slurm-local.sh setup';

/** Undefined when a Slurm cluster answers (set up on first use), else why the tests skip. */
export function slurm(): { skip?: string } {
  if (cached) return cached;
  const skip = (why: string) => {
    const skip = `SKIPPED: Slurm executor tests need a Slurm cluster: ${why} (${HOW})`;
    process.stderr.write(`\n*** ${skip} ***\n\n`);
    return (cached = { skip });
  };
  const has = (c: string) => ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'].some((d) => fs.existsSync(path.join(d, c)));
  const missing = ['sinfo', 'sbatch', 'squeue', 'scontrol', 'scancel', 'slurmctld', 'slurmd', 'munged'].filter((c) => !has(c));
  if (missing.length) return skip(`missing ${missing.join(', ')}`);
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
