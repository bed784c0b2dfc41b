// submit: the sustained SubmitJob rate from concurrent SDK clients in separate processes, with
// p50/p99 latency and the CPU the load generator used; the same load against a stub endpoint is
// the baseline (this client's ceiling on this machine). Three phases, each on a fresh server:
//   held: the queue's compute environment is DISABLED, so jobs are stored, evaluated by the
//         scheduler and stay RUNNABLE: the API and store path alone, no process starts;
//   run:  an ENABLED compute environment, so the executor starts the jobs while the load goes on;
//   e2e:  N separate single `true` jobs end to end (first submit → last SUCCEEDED) vs. xargs.

import { checkSucceededJobs, CheckFailure, type Checks } from '../lib/checks.js';
import { batchClient, createQueue, describeAll, listAll, registerTrueDefinition } from '../lib/client.js';
import { withServer, type Scenario, type ScenarioContext } from '../lib/context.js';
import { runSingleJobs } from '../lib/e2e.js';
import { runLoad, type LoadOptions, type LoadResult } from '../lib/load.js';
import { StubServer, xargsCommand, xargsFloorSeconds } from '../lib/baselines.js';
import { cpuCount, processCpuSeconds } from '../lib/proc.js';
import type { BenchServer } from '../lib/server.js';
import { fmt, round, roundSummary, sleep } from '../lib/stats.js';
import type { BatchClient, JobStatus } from '@aws-sdk/client-batch';

const ALL_STATUSES: JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];

function loadOptions(ctx: ScenarioContext, endpoint: string, jobQueue: string, seconds: number, mode: 'sdk' | 'raw' = 'sdk'): LoadOptions {
  const o = ctx.opts;
  return {
    endpoint,
    jobQueue,
    jobDefinition: 'bench-true',
    mode,
    workers: o.submitWorkers,
    clientsPerWorker: o.submitClients,
    concurrencyPerWorker: o.submitConcurrency,
    maxSockets: 64,
    warmupMs: o.submitWarmupSeconds * 1000,
    durationMs: seconds * 1000,
  };
}

/** The server's CPU, plus PostgreSQL's when it uses PostgreSQL (both are the system under test). */
function serverAndDatabaseCpu(server: BenchServer): number {
  const c = server.cpuSeconds();
  return c.server + c.database;
}

function describeLoad(r: LoadResult): string {
  return `${fmt(r.rate)}/s, p50 ${fmt(r.latencyMs.p50)} ms, p99 ${fmt(r.latencyMs.p99)} ms; load generator ${fmt(r.clientCores)} cores${r.serverCores === undefined ? '' : `, server ${fmt(r.serverCores)} cores`}, machine ${fmt(r.machineBusy * 100)}% busy`;
}

function checkNoErrors(checks: Checks, what: string, r: LoadResult): void {
  checks.that(r.errors === 0, `${what}: every SubmitJob call succeeded`, r.errors ? `${r.errors} errors, e.g. ${r.errorSamples.join(' | ')}` : `${r.submitted} calls`);
}

/** Counts of the queue's jobs per status (ListJobs, all pages). */
async function statusCounts(client: BatchClient, jobQueue: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of ALL_STATUSES) {
    const n = (await listAll(client, { jobQueue, jobStatus: s })).length;
    if (n) out[s] = n;
  }
  return out;
}

async function heldPhase(ctx: ScenarioContext, server: BenchServer, checks: Checks, mode: 'sdk' | 'raw'): Promise<LoadResult> {
  const client = batchClient(server.endpoint);
  await createQueue(client, { name: 'bench-held', state: 'DISABLED', maxvCpus: 64 });
  await registerTrueDefinition(client);
  const what = `held${mode === 'raw' ? ' (raw HTTP)' : ''}`;
  ctx.log(`${what}: ${ctx.opts.submitSeconds} s of SubmitJob to a queue whose compute environment is DISABLED`);
  const r = await runLoad({ ...loadOptions(ctx, server.endpoint, 'bench-held', ctx.opts.submitSeconds, mode), serverCpu: () => serverAndDatabaseCpu(server) });
  server.assertAlive();
  ctx.log(`${what}: ${describeLoad(r)}`);
  checkNoErrors(checks, `submit ${what}`, r);
  // The scheduler moves them SUBMITTED → RUNNABLE; wait for that to settle, then every job must be RUNNABLE.
  let counts: Record<string, number> = {};
  const deadline = Date.now() + 120_000;
  for (;;) {
    counts = await statusCounts(client, 'bench-held');
    // Statuses are listed one after another: a job still SUBMITTED when that list was read may be
    // RUNNABLE by the time the next is, and be counted twice. Settled means one status only.
    if (((counts.RUNNABLE ?? 0) >= r.submitted && Object.keys(counts).length === 1) || Date.now() > deadline) break;
    await sleep(500);
  }
  checks.that(
    counts.RUNNABLE === r.submitted && Object.keys(counts).length === 1,
    `submit ${what}: every submitted job is stored and RUNNABLE, none ran`,
    `${r.submitted} submitted; ListJobs per status: ${JSON.stringify(counts)}`,
  );
  client.destroy();
  return r;
}

async function runPhase(ctx: ScenarioContext, server: BenchServer, checks: Checks): Promise<{ load: LoadResult; drainSeconds: number; jobsPerSecond: number }> {
  const client = batchClient(server.endpoint);
  await createQueue(client, { name: 'bench-run', state: 'ENABLED', maxvCpus: 64 });
  await registerTrueDefinition(client);
  ctx.log(`run: ${ctx.opts.submitRunSeconds} s of SubmitJob to an ENABLED compute environment (maxvCpus 64), jobs run as they come`);
  const r = await runLoad({ ...loadOptions(ctx, server.endpoint, 'bench-run', ctx.opts.submitRunSeconds), serverCpu: () => serverAndDatabaseCpu(server) });
  const loadEnd = Date.now();
  ctx.log(`run: ${describeLoad(r)}; waiting for all ${r.submitted} jobs to succeed`);
  checkNoErrors(checks, 'submit run', r);
  const deadline = Date.now() + Math.max(120_000, r.submitted * 20);
  let succeeded = 0;
  for (;;) {
    succeeded = (await listAll(client, { jobQueue: 'bench-run', jobStatus: 'SUCCEEDED' })).length;
    if (succeeded >= r.submitted) break;
    const failed = await listAll(client, { jobQueue: 'bench-run', jobStatus: 'FAILED' });
    if (failed.length) throw new CheckFailure(`submit run: ${failed.length} jobs FAILED, e.g. ${failed[0].jobId}: ${failed[0].statusReason}`);
    server.assertAlive();
    if (Date.now() > deadline) throw new CheckFailure(`submit run: only ${succeeded} of ${r.submitted} SUCCEEDED after ${(Date.now() - loadEnd) / 1000} s`);
    await sleep(200);
  }
  const drainSeconds = (Date.now() - loadEnd) / 1000;
  const ids = (await listAll(client, { jobQueue: 'bench-run', jobStatus: 'SUCCEEDED' })).map((j) => j.jobId!);
  const jobs = await describeAll(client, ids);
  await checkSucceededJobs(checks, 'submit run', jobs, r.submitted, server);
  const counts = await statusCounts(client, 'bench-run');
  checks.that(Object.keys(counts).length === 1, 'submit run: no job in another status', JSON.stringify(counts));
  const firstCreated = Math.min(...jobs.map((j) => j.createdAt ?? NaN));
  const lastStopped = Math.max(...jobs.map((j) => j.stoppedAt ?? NaN));
  client.destroy();
  return { load: r, drainSeconds, jobsPerSecond: r.submitted / ((lastStopped - firstCreated) / 1000) };
}

export const submit: Scenario = {
  name: 'submit',
  summary: 'sustained SubmitJob rate and p50/p99 from concurrent SDK clients in separate processes (vs. a stub endpoint), and N single jobs end to end (vs. xargs)',
  async run(ctx, out) {
    const o = ctx.opts;
    const shape = `${o.submitWorkers} worker processes × ${o.submitClients} clients (keep-alive, ≤64 sockets each), ${o.submitConcurrency} calls in flight per worker (${o.submitWorkers * o.submitConcurrency} in all)`;

    // Baseline: the same load generator against a stub endpoint.
    const againstStub = async (mode: 'sdk' | 'raw') => {
      ctx.log(`baseline${mode === 'raw' ? ' (raw HTTP)' : ''}: ${o.submitSeconds} s against a stub endpoint (${shape})`);
      const stub = await new StubServer().start();
      try {
        const r = await runLoad({ ...loadOptions(ctx, stub.endpoint, 'bench-held', o.submitSeconds, mode), serverCpu: () => processCpuSeconds(stub.pid) ?? NaN });
        ctx.log(`baseline${mode === 'raw' ? ' (raw HTTP)' : ''}: ${describeLoad(r)}`);
        return r;
      } finally {
        await stub.stop();
      }
    };
    const base = await againstStub('sdk');
    const held = await withServer(ctx, 'submit-held', (server) => heldPhase(ctx, server, out.checks, 'sdk'));
    const rawBase = o.submitRaw ? await againstStub('raw') : undefined;
    const rawHeld = o.submitRaw ? await withServer(ctx, 'submit-raw', (server) => heldPhase(ctx, server, out.checks, 'raw')) : undefined;
    const run = await withServer(ctx, 'submit-run', (server) => runPhase(ctx, server, out.checks));

    ctx.log(`e2e: ${o.e2eJobs} separate single jobs end to end`);
    const e2e = await withServer(ctx, 'submit-e2e', async (server) => {
      const client = batchClient(server.endpoint);
      await createQueue(client, { name: 'bench-e2e', state: 'ENABLED', maxvCpus: 64 });
      await registerTrueDefinition(client);
      const r = await runSingleJobs(client, { jobQueue: 'bench-e2e', jobDefinition: 'bench-true', n: o.e2eJobs, parallel: o.e2eParallel, namePrefix: 'e2e', timeoutMs: Math.max(120_000, o.e2eJobs * 100), alive: () => server.assertAlive() });
      await checkSucceededJobs(out.checks, 'submit e2e', r.jobs, o.e2eJobs, server);
      client.destroy();
      return r;
    });
    ctx.log(`e2e: ${fmt(e2e.seconds)} s (submitting took ${fmt(e2e.submitSeconds)} s); baseline ${xargsCommand(o.e2eJobs)}`);
    const floor = await xargsFloorSeconds(o.e2eJobs);

    const stubName = 'same load vs. stub endpoint';
    out.rows.push(
      { metric: `SubmitJob/s sustained ${o.submitSeconds} s (CE DISABLED: jobs stay RUNNABLE)`, value: held.rate, unit: '/s', baseline: { name: stubName, value: base.rate }, target: { on: 'value', op: '>=', limit: 2000 } },
      { metric: 'SubmitJob p50 (CE DISABLED)', value: held.latencyMs.p50, unit: 'ms', baseline: { name: stubName, value: base.latencyMs.p50 } },
      { metric: 'SubmitJob p99 (CE DISABLED)', value: held.latencyMs.p99, unit: 'ms', baseline: { name: stubName, value: base.latencyMs.p99 }, target: { on: 'value', op: '<', limit: 20 } },
      { metric: 'load generator CPU (CE DISABLED)', value: held.clientCores, unit: 'cores', baseline: { name: stubName, value: base.clientCores } },
      { metric: `server CPU${ctx.opts.databaseUrl ? ' + PostgreSQL' : ''} (CE DISABLED)`, value: held.serverCores ?? NaN, unit: 'cores', baseline: { name: 'stub endpoint process', value: base.serverCores ?? NaN } },
      { metric: 'machine CPU busy (CE DISABLED)', value: held.machineBusy * 100, unit: '%', baseline: { name: stubName, value: base.machineBusy * 100 } },
      ...(rawHeld && rawBase
        ? [
            { metric: 'SubmitJob/s, raw HTTP client, no SDK (CE DISABLED)', value: rawHeld.rate, unit: '/s', baseline: { name: 'raw HTTP vs. stub endpoint', value: rawBase.rate } },
            { metric: 'SubmitJob p99, raw HTTP client (CE DISABLED)', value: rawHeld.latencyMs.p99, unit: 'ms', baseline: { name: 'raw HTTP vs. stub endpoint', value: rawBase.latencyMs.p99 } },
            { metric: `server CPU${ctx.opts.databaseUrl ? ' + PostgreSQL' : ''}, raw HTTP client (CE DISABLED)`, value: rawHeld.serverCores ?? NaN, unit: 'cores', baseline: { name: 'stub endpoint process', value: rawBase.serverCores ?? NaN } },
          ]
        : []),
      { metric: `SubmitJob/s sustained ${o.submitRunSeconds} s while the jobs run`, value: run.load.rate, unit: '/s', baseline: { name: stubName, value: base.rate } },
      { metric: 'SubmitJob p99 while the jobs run', value: run.load.latencyMs.p99, unit: 'ms', baseline: { name: stubName, value: base.latencyMs.p99 } },
      { metric: `those ${run.load.submitted.toLocaleString('en-US')} jobs: first created → last SUCCEEDED`, value: run.jobsPerSecond, unit: 'jobs/s', baseline: { name: 'xargs processes per second', value: o.e2eJobs / floor } },
      { metric: `${o.e2eJobs.toLocaleString('en-US')} single jobs: first submit → last SUCCEEDED`, value: e2e.seconds, unit: 's', baseline: { name: xargsCommand(o.e2eJobs).replace(/^seq \d+ \| /, ''), value: floor } },
    );
    out.notes.push(
      `load generator: ${shape}, SDK clients (NodeHttpHandler + http.Agent) unless said raw; ${o.submitWarmupSeconds} s warm-up not counted; the rate counts calls started in the window that succeeded`,
      `CE DISABLED phase: jobs are validated, stored and evaluated by the scheduler (SUBMITTED → RUNNABLE) but never start; ${held.submitted.toLocaleString('en-US')} jobs stored, all checked RUNNABLE. ${describeLoad(held)}`,
      `jobs-run phase (CE ENABLED, maxvCpus 64, 0.25 vCPU each): ${describeLoad(run.load)}; the backlog drained ${fmt(run.drainSeconds)} s after the load stopped`,
      `stub endpoint (answers SubmitJob at once, in its own process): ${describeLoad(base)}`,
      ...(rawHeld && rawBase
        ? [`raw HTTP client (the same SubmitJob body over http.request, keep-alive, no SDK and no signing; the server does not check signatures on 127.0.0.1): ${describeLoad(rawHeld)}; vs. the stub: ${describeLoad(rawBase)}`]
        : []),
      `what bounds the figure: this machine has ${cpuCount()} CPUs shared by the load generator, the server and (in the run phases) the jobs; machine busy near 100% means CPU-bound, and the load generator's own share is the 'load generator CPU' row`,
      `single jobs: ${o.e2eParallel} SubmitJob calls in flight from the bench process; submitting took ${fmt(e2e.submitSeconds)} s; time to the last job's stoppedAt (polled: ${fmt(e2e.polledSeconds)} s)`,
    );
    out.details.submit = {
      stub: { ...base, latencyMs: roundSummary(base.latencyMs) },
      held: { ...held, latencyMs: roundSummary(held.latencyMs) },
      raw: rawHeld && rawBase ? { stub: { ...rawBase, latencyMs: roundSummary(rawBase.latencyMs) }, held: { ...rawHeld, latencyMs: roundSummary(rawHeld.latencyMs) } } : undefined,
      run: { ...run.load, latencyMs: roundSummary(run.load.latencyMs), drainSeconds: round(run.drainSeconds), jobsPerSecond: round(run.jobsPerSecond) },
      e2e: { jobs: o.e2eJobs, seconds: round(e2e.seconds), polledSeconds: round(e2e.polledSeconds), submitSeconds: round(e2e.submitSeconds), xargsSeconds: round(floor) },
    };
  },
};
