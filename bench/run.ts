// `npm run bench -- [scenario...] [options]`: starts real OpenBatch servers (the built CLI, a fresh
// data dir each), drives them with @aws-sdk/client-batch, checks that every job ended as it should,
// and prints one table: each figure beside a baseline measured in the same run, the ratio, and the
// target. Also writes bench/results/<ISO date>.json. See docs/performance.md.

import './lib/quiet.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CheckFailure, Checks } from './lib/checks.js';
import type { BenchOptions, Scenario, ScenarioContext, ScenarioOutput } from './lib/context.js';
import { cpuCount, ForeignCpuMonitor, machineBusyShare, machineCpu } from './lib/proc.js';
import { renderMarkdown, renderTable, ratioOf, targetMet, targetText, type ScenarioResult } from './lib/report.js';
import { BenchServer, DEFAULT_CLI, ROOT } from './lib/server.js';
import { round } from './lib/stats.js';
import { array } from './scenarios/array.js';
import { submit } from './scenarios/submit.js';
import { latency } from './scenarios/latency.js';
import { scale } from './scenarios/scale.js';
import { slurm } from './scenarios/slurm.js';

const SCENARIOS: Scenario[] = [array, submit, latency, scale, slurm];

function int(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer ≥ ${min}`);
    return n;
  };
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number ≥ 0');
  return n;
}

function num(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

const started = Date.now();
function log(message: string): void {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

function gitInfo(): { commit?: string; dirty?: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
    return { commit, dirty };
  } catch {
    return {};
  }
}

const program = new Command();
program
  .name('npm run bench --')
  .description(
    'OpenBatch benchmarks against a real server, each figure beside a baseline measured in the same run.\n\nScenarios:\n' +
      SCENARIOS.map((s) => `  ${s.name.padEnd(8)} ${s.summary}`).join('\n') +
      '\n  all      every scenario (the default)',
  )
  .argument('[scenarios...]', 'scenarios to run, by name', ['all'])
  .option('--database-url <url>', 'run on PostgreSQL: a URL to an existing database (e.g. postgres://postgres@127.0.0.1:5432/postgres) used to create and drop a fresh database per scenario')
  .option('--cli <path>', 'the built OpenBatch CLI to serve', DEFAULT_CLI)
  .option('--label <text>', 'what is being measured (recorded in the output), e.g. a commit or a branch')
  .option('--keep', 'keep each scenario\'s data dir and database', false)
  .option('--json <path>', 'where to write the results (default bench/results/<ISO date>.json)')
  .option('--no-json', 'do not write a results file')
  .option('--markdown', 'also print the table as markdown', false)
  .addOption(new Option('--wait-idle <s>', 'before each scenario, wait up to this many seconds for the machine to be idle (≤15% busy)').argParser(nonNegative).default(0))
  .addOption(new Option('--retries-if-contended <n>', 'run a scenario again (up to n times) when other processes used over 10% of the CPUs during it').argParser(int(0)).default(0))
  .addOption(new Option('--array-size <n>', 'array: children of the array job').argParser(int(2)).default(10_000))
  .addOption(new Option('--array-maxvcpus <n>', 'array: maxvCpus of its compute environment').argParser(int(1)).default(64))
  .addOption(new Option('--submit-seconds <s>', 'submit: measured window of the sustained phase').argParser(num).default(30))
  .addOption(new Option('--submit-warmup-seconds <s>', 'submit: warm-up before each window (not counted)').argParser(num).default(2))
  .addOption(new Option('--submit-run-seconds <s>', 'submit: window of the variant whose jobs run').argParser(num).default(10))
  .addOption(new Option('--submit-workers <n>', 'submit: load-generator processes').argParser(int(1)).default(2))
  .addOption(new Option('--submit-clients <n>', 'submit: SDK clients per worker process').argParser(int(1)).default(4))
  .addOption(new Option('--submit-concurrency <n>', 'submit: SubmitJob calls in flight per worker process').argParser(int(1)).default(32))
  .option('--no-submit-raw', 'submit: skip the raw-HTTP (no SDK) variant')
  .addOption(new Option('--e2e-jobs <n>', 'submit and slurm: separate single jobs run end to end').argParser(int(1)).default(1000))
  .addOption(new Option('--e2e-parallel <n>', 'submit and slurm: SubmitJob calls in flight while submitting them').argParser(int(1)).default(16))
  .addOption(new Option('--latency-jobs <n>', 'latency: jobs submitted one after another, per pass').argParser(int(1)).default(200))
  .addOption(new Option('--latency-poll-ms <ms>', 'latency: DescribeJobs interval of the polling pass').argParser(num).default(1))
  .addOption(new Option('--scale-arrays <n>', 'scale: arrays bulk-loaded').argParser(int(1)).default(100))
  .addOption(new Option('--scale-array-size <n>', 'scale: children per array').argParser(int(2)).default(10_000))
  .addOption(new Option('--scale-samples <n>', 'scale: timed calls per query kind').argParser(int(1)).default(200))
  .addOption(new Option('--slurm-jobs <n>', 'slurm: jobs through sbatch and through OpenBatch (default: --e2e-jobs)').argParser(int(1)))
  .addOption(new Option('--slurm-submit-parallel <n>', 'slurm: sbatch processes at a time').argParser(int(1)).default(4))
  .addOption(new Option('--slurm-slots <n>', 'slurm: CPUs the Slurm node advertises when the bench sets it up (default: the real count)').argParser(int(1)))
  .addOption(new Option('--install-slurm', 'slurm: install (apt) and start Slurm with scripts/slurm-local.sh if needed; stop it afterwards').env('OPENBATCH_BENCH_INSTALL_SLURM').default(false))
  .action(async (names: string[], o) => {
    const wanted = names.includes('all') ? SCENARIOS.map((s) => s.name) : names;
    const unknown = wanted.filter((n) => !SCENARIOS.some((s) => s.name === n));
    if (unknown.length) program.error(`unknown scenario ${unknown.join(', ')}; choose from ${SCENARIOS.map((s) => s.name).join(', ')}, all`);
    const opts: BenchOptions = {
      cli: path.resolve(o.cli),
      databaseUrl: o.databaseUrl,
      keep: o.keep,
      arraySize: o.arraySize,
      arrayMaxvCpus: o.arrayMaxvcpus,
      submitSeconds: o.submitSeconds,
      submitWarmupSeconds: o.submitWarmupSeconds,
      submitRunSeconds: o.submitRunSeconds,
      submitWorkers: o.submitWorkers,
      submitClients: o.submitClients,
      submitConcurrency: o.submitConcurrency,
      submitRaw: o.submitRaw,
      e2eJobs: o.e2eJobs,
      e2eParallel: o.e2eParallel,
      latencyJobs: o.latencyJobs,
      latencyPollMs: o.latencyPollMs,
      scaleArrays: o.scaleArrays,
      scaleArraySize: o.scaleArraySize,
      scaleSamples: o.scaleSamples,
      slurmJobs: o.slurmJobs ?? o.e2eJobs,
      slurmSlots: o.slurmSlots,
      slurmSubmitParallel: o.slurmSubmitParallel,
      installSlurm: o.installSlurm === true || o.installSlurm === '1' || o.installSlurm === 'true',
    };
    const exitCode = await runBench(SCENARIOS.filter((s) => wanted.includes(s.name)), opts, o);
    process.exit(exitCode);
  });

/** Machine busy share below which it counts as idle before a scenario. */
const IDLE_SHARE = 0.15;
/** Share of the CPUs other processes may use during a scenario before its figures are flagged. */
const FOREIGN_LIMIT = 0.1;

/** Waits up to `seconds` for a one-second window with the machine at most IDLE_SHARE busy; returns the last share seen. */
async function waitForIdle(seconds: number): Promise<number> {
  const until = Date.now() + seconds * 1000;
  for (let announced = false; ; announced = true) {
    const a = machineCpu();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = machineBusyShare(a, machineCpu());
    if (busy <= IDLE_SHARE || Date.now() >= until) return busy;
    if (!announced) log(`the machine is ${Math.round(busy * 100)}% busy; waiting up to ${seconds} s for it to be idle (--wait-idle)`);
  }
}

/** One scenario, with its checks, timing and the CPU other processes used meanwhile. */
async function runScenario(s: Scenario, ctx: ScenarioContext, opts: BenchOptions): Promise<ScenarioResult> {
  const out: ScenarioOutput = { rows: [], notes: [], checks: new Checks(), details: {} };
  const t0 = Date.now();
  const foreign = new ForeignCpuMonitor(opts.databaseUrl ? /^postgres/ : undefined);
  log(`── ${s.name}: ${s.summary}`);
  const result: ScenarioResult = { name: s.name, rows: out.rows, notes: out.notes, checks: out.checks.passed, seconds: 0, details: out.details };
  try {
    await s.run({ ...ctx, log: (m) => log(`${s.name}: ${m}`) }, out);
    const skipped = out.details.skipped;
    if (typeof skipped === 'string') result.skipped = skipped;
  } catch (e) {
    const err = e as Error;
    result.failed = err instanceof CheckFailure ? `correctness check failed: ${err.message}` : `${err.message}`;
    log(`${s.name}: FAILED\n${err instanceof CheckFailure ? err.message : err.stack}`);
  }
  result.seconds = round((Date.now() - t0) / 1000, 1);
  // Something else competing for the CPUs makes the figures meaningless: measure it, say it.
  const foreignCores = foreign.stop();
  out.details.foreignCores = round(foreignCores);
  if (foreignCores > FOREIGN_LIMIT * cpuCount()) {
    const w = `other processes on this machine (not the bench, its servers or jobs) used ${foreignCores.toFixed(2)} of ${cpuCount()} CPUs during this scenario: its figures are not reliable`;
    out.notes.unshift(`WARNING: ${w}`);
    log(`${s.name}: WARNING: ${w}`);
  }
  log(`${s.name}: ${result.skipped ? 'skipped' : result.failed ? 'FAILED' : 'done'} in ${result.seconds} s (${out.checks.passed.length} checks passed)`);
  return result;
}

async function runBench(scenarios: Scenario[], opts: BenchOptions, o: { label?: string; json: string | boolean; markdown: boolean; waitIdle: number; retriesIfContended: number }): Promise<number> {
  const git = gitInfo();
  const store = opts.databaseUrl ? 'postgres' : 'sqlite';
  const meta = {
    date: new Date().toISOString(),
    label: o.label,
    cli: opts.cli,
    commit: git.commit,
    dirtySrc: git.dirty,
    store: opts.databaseUrl ? `postgres (a fresh database per scenario on ${new URL(opts.databaseUrl).host})` : 'sqlite (embedded, WAL, synchronous NORMAL: the server defaults)',
    host: { cpus: cpuCount(), cpuModel: os.cpus()[0]?.model, memoryGiB: round(os.totalmem() / 2 ** 30, 1), kernel: os.release(), node: process.version },
    options: opts,
  };
  const heading =
    `OpenBatch bench ${meta.date}  store: ${store}  server: ${path.relative(process.cwd(), opts.cli) || opts.cli}` +
    `${git.commit && opts.cli === DEFAULT_CLI ? ` (commit ${git.commit}${git.dirty?.length ? `, ${git.dirty.length} files changed in src/` : ''})` : ''}` +
    `${o.label ? `  [${o.label}]` : ''}\n` +
    `host: ${meta.host.cpus} CPUs (${meta.host.cpuModel}), ${meta.host.memoryGiB} GiB, Linux ${meta.host.kernel}, Node ${meta.host.node}`;
  log(heading.split('\n')[0]);
  // Figures from a machine that is busy with something else are not comparable: wait for a quiet
  // moment if asked (before each scenario), and say so loudly otherwise.
  const busyBefore = await waitForIdle(o.waitIdle);
  const loadWarning =
    busyBefore > IDLE_SHARE
      ? `WARNING: the machine was ${Math.round(busyBefore * 100)}% busy (load average ${os.loadavg()[0].toFixed(1)}) in the second before the bench started: another workload shares these ${cpuCount()} CPUs, so the figures are not reliable`
      : undefined;
  if (loadWarning) log(loadWarning);

  const ctx: ScenarioContext = {
    opts,
    log: (m) => log(m),
    startServer: async (label) => {
      const server = new BenchServer({ cli: opts.cli, postgresAdminUrl: opts.databaseUrl, keep: opts.keep, label });
      try {
        await server.start();
      } catch (e) {
        await server.close();
        throw e;
      }
      log(`server ${label}: ${server.endpoint} (pid ${server.pid}, ${server.storeDialect}, data ${server.dataDir})`);
      return server;
    },
  };

  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    for (let attempt = 0; ; attempt++) {
      if (results.length > 0 || attempt > 0) await waitForIdle(o.waitIdle);
      const result = await runScenario(s, ctx, opts);
      const contended = (result.details.foreignCores as number) > FOREIGN_LIMIT * cpuCount();
      if (contended && !result.skipped && attempt < o.retriesIfContended) {
        log(`${s.name}: another workload competed for the CPUs; running it again (--retries-if-contended, ${attempt + 1} of ${o.retriesIfContended})`);
        continue;
      }
      if (attempt > 0) result.notes.push(`run ${attempt + 1} times (the earlier runs competed with another workload)`);
      results.push(result);
      break;
    }
  }

  const table = renderTable(results);
  const lines = [heading, '', table, ''];
  for (const r of results) {
    if (r.notes.length || r.failed || r.skipped) lines.push(`${r.name} (${r.seconds} s${r.checks.length ? `, ${r.checks.length} correctness checks passed` : ''}):`);
    if (r.skipped) lines.push(`  skipped: ${r.skipped}`);
    if (r.failed) lines.push(`  FAILED: ${r.failed}`);
    for (const n of r.notes) lines.push(`  - ${n}`);
  }
  if (loadWarning) lines.push('', loadWarning);
  const contended = results.filter((r) => typeof r.details.foreignCores === 'number' && (r.details.foreignCores as number) > FOREIGN_LIMIT * cpuCount());
  if (contended.length) lines.push('', `WARNING: other workloads competed for the CPUs during ${contended.map((r) => `${r.name} (${r.details.foreignCores} cores)`).join(', ')}: rerun on a quiet machine`);
  const failed = results.filter((r) => r.failed);
  if (failed.length) lines.push('', `!!! ${failed.length} scenario(s) FAILED: ${failed.map((r) => r.name).join(', ')} — their figures are not valid`);
  process.stdout.write(lines.join('\n') + '\n');
  const markdown = renderMarkdown(results);
  if (o.markdown) process.stdout.write('\n' + markdown + '\n');

  if (o.json !== false) {
    const file = typeof o.json === 'string' ? path.resolve(o.json) : path.join(ROOT, 'bench', 'results', `${meta.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const json = {
      ...meta,
      machineBusyBefore: round(busyBefore),
      warning: loadWarning,
      results: results.map((r) => ({
        ...r,
        rows: r.rows.map((row) => ({ ...row, value: round(row.value), baseline: row.baseline && { ...row.baseline, value: round(row.baseline.value) }, ratio: ratioOf(row) === undefined ? undefined : round(ratioOf(row)!), target: row.target && { ...row.target, text: targetText(row) }, met: targetMet(row) })),
      })),
      table,
      markdown,
    };
    fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
    log(`results written to ${path.relative(process.cwd(), file)}`);
  }
  return failed.length ? 1 : 0;
}

await program.parseAsync(process.argv);
