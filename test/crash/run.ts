// `npm run crash-harness -- [--jobs 2000] [--kills 20] [--seed N] [--backend sqlite|postgres|both]`:
// the full crash-safety run (see harness.ts). Exits 1 if any check fails.

import { Command, InvalidArgumentError } from 'commander';
import { freshPostgresDatabase } from '../helpers/server.js';
import { runCrashHarness } from './harness.js';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

const opts = new Command()
  .name('npm run crash-harness --')
  .description('runs a workload while SIGKILLing and restarting the server, then checks every job, attempt and log line')
  .option('--jobs <n>', 'jobs in all, array children counted', int, 2000)
  .option('--kills <n>', 'how many times the server is SIGKILLed', int, 20)
  .option('--seed <n>', 'seed of the workload and of the kill times', int, Date.now() % 1_000_000)
  .option('--backend <which>', 'sqlite, postgres or both', 'both')
  .parse()
  .opts<{ jobs: number; kills: number; seed: number; backend: string }>();

const log = (line: string) => process.stderr.write(`[crash-harness] ${line}\n`);
let failed = false;
for (const backend of ['sqlite', 'postgres']) {
  if (opts.backend !== 'both' && opts.backend !== backend) continue;
  let databaseUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  if (backend === 'postgres') {
    const pg = await freshPostgresDatabase('crash_harness');
    if ('skip' in pg) {
      log(`SKIPPING PostgreSQL: ${pg.skip}`);
      failed = true;
      continue;
    }
    databaseUrl = pg.url;
    drop = pg.drop;
  }
  try {
    const r = await runCrashHarness({ jobs: opts.jobs, kills: opts.kills, seed: opts.seed, databaseUrl, log, deadlineMs: 1_200_000 });
    log(`${backend}: ${r.jobs} jobs, ${r.attempts} attempts, ${r.kills} kills in ${r.seconds.toFixed(1)} s; ${JSON.stringify(r.counts)}`);
    if (r.failures.length) {
      failed = true;
      log(`${backend}: ${r.failures.length} FAILURES (seed ${opts.seed}):\n  ${r.failures.slice(0, 50).join('\n  ')}`);
    } else {
      log(`${backend}: every check held (seed ${opts.seed})`);
    }
  } finally {
    await drop?.();
  }
}
process.exit(failed ? 1 : 0);
