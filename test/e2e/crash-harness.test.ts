// A short run of the crash harness (test/crash/harness.ts) on SQLite and PostgreSQL: a workload of
// single jobs, arrays, dependency chains and retries while the server is SIGKILLed and restarted;
// every job's final state, attempts and log lines are checked against what its command did.
// `npm run crash-harness` runs the full one (2,000 jobs, 20 kills).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshPostgresDatabase } from '../helpers/server.js';
import { runCrashHarness } from '../crash/harness.js';

const JOBS = Number(process.env.CRASH_HARNESS_JOBS ?? 300);
const KILLS = Number(process.env.CRASH_HARNESS_KILLS ?? 5);
const SEED = Number(process.env.CRASH_HARNESS_SEED ?? 7);
const log = (line: string) => process.stderr.write(`# crash harness: ${line}\n`);

test(`crash harness (SQLite): ${JOBS} jobs, ${KILLS} SIGKILLs`, { timeout: 300_000 }, async () => {
  const r = await runCrashHarness({ jobs: JOBS, kills: KILLS, seed: SEED, log, deadlineMs: 240_000 });
  log(`${r.attempts} attempts, ${r.kills} kills, ${r.seconds.toFixed(1)} s: ${JSON.stringify(r.counts)}`);
  assert.equal(r.kills, KILLS);
  assert.deepEqual(r.failures, []);
});

const pg = await freshPostgresDatabase('crash_harness');
if ('skip' in pg) {
  process.stderr.write(`SKIPPING the crash harness on PostgreSQL: ${pg.skip}\n`);
  test('crash harness (PostgreSQL)', { skip: pg.skip }, () => {});
} else {
  test(`crash harness (PostgreSQL): ${JOBS} jobs, ${KILLS} SIGKILLs`, { timeout: 300_000 }, async () => {
    try {
      const r = await runCrashHarness({ jobs: JOBS, kills: KILLS, seed: SEED, databaseUrl: pg.url, log, deadlineMs: 240_000 });
      log(`${r.attempts} attempts, ${r.kills} kills, ${r.seconds.toFixed(1)} s: ${JSON.stringify(r.counts)}`);
      assert.equal(r.kills, KILLS);
      assert.deepEqual(r.failures, []);
    } finally {
      await pg.drop();
    }
  });
}
