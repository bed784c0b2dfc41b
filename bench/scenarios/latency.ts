// latency: submit → RUNNING and submit → SUCCEEDED on an idle compute environment, jobs submitted
// one after another. Two passes of N jobs each:
//   timestamps: the job's own startedAt / stoppedAt minus the client's clock just before SubmitJob
//               (same host, same clock); the job is polled every 20 ms only to know when to go on;
//   polling:    DescribeJobs of that one job every --latency-poll-ms, the time a response first
//               shows RUNNING (or later) and SUCCEEDED. Includes the poll's own round trip, and a
//               `true` job often ends between two polls, so RUNNING is rarely seen as such.
// The targets apply to the timestamps pass. Baseline: the floor of the same sequence with no
// scheduler: one SDK call to a stub endpoint plus spawning `true` (to 'spawn' for RUNNING, to its
// exit for SUCCEEDED), per sample.

import { spawn } from 'node:child_process';
import { DescribeJobsCommand, SubmitJobCommand, type BatchClient, type JobDetail } from '@aws-sdk/client-batch';
import { checkSucceededJobs, CheckFailure } from '../lib/checks.js';
import { batchClient, createQueue, describeAll, registerTrueDefinition } from '../lib/client.js';
import { withServer, type Scenario } from '../lib/context.js';
import { StubServer } from '../lib/baselines.js';
import { fmt, nowMs, roundSummary, sleep, summarize, type Summary } from '../lib/stats.js';

interface Pass {
  submitMs: number[];
  runningMs: number[];
  succeededMs: number[];
  /** Polling pass: how many jobs were seen in RUNNING itself (not straight SUCCEEDED). */
  seenRunning: number;
  ids: string[];
}

async function describeOne(client: BatchClient, id: string): Promise<JobDetail> {
  const j = (await client.send(new DescribeJobsCommand({ jobs: [id] }))).jobs?.[0];
  if (!j) throw new CheckFailure(`job ${id} not found right after SubmitJob`);
  if (j.status === 'FAILED') throw new CheckFailure(`job ${id} FAILED: ${j.statusReason}`);
  return j;
}

async function pass(client: BatchClient, n: number, mode: 'timestamps' | 'polling', pollMs: number, alive: () => void): Promise<Pass> {
  const out: Pass = { submitMs: [], runningMs: [], succeededMs: [], seenRunning: 0, ids: [] };
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    const { jobId } = await client.send(new SubmitJobCommand({ jobName: `lat-${mode}-${i}`, jobQueue: 'bench-latency', jobDefinition: 'bench-true' }));
    out.submitMs.push(nowMs() - t0);
    out.ids.push(jobId!);
    const deadline = Date.now() + 30_000;
    let running: number | undefined;
    for (;;) {
      const j = await describeOne(client, jobId!);
      const seen = nowMs();
      if (mode === 'polling') {
        if (j.status === 'RUNNING') out.seenRunning++;
        if (running === undefined && (j.status === 'RUNNING' || j.status === 'SUCCEEDED')) running = seen - t0;
      }
      if (j.status === 'SUCCEEDED') {
        if (mode === 'timestamps') {
          out.runningMs.push(j.startedAt! - t0);
          out.succeededMs.push(j.stoppedAt! - t0);
        } else {
          out.runningMs.push(running!);
          out.succeededMs.push(seen - t0);
        }
        break;
      }
      if (Date.now() > deadline) throw new CheckFailure(`job ${jobId} still ${j.status} 30 s after SubmitJob on an idle compute environment`);
      await sleep(mode === 'polling' ? pollMs : 20);
    }
    if (i % 50 === 49) alive();
  }
  return out;
}

/** The no-scheduler floor, per sample: a SubmitJob to a stub endpoint, then spawn `true`. */
async function floor(n: number): Promise<{ submit: Summary; running: Summary; succeeded: Summary }> {
  const stub = await new StubServer().start();
  const client = batchClient(stub.endpoint);
  const submit: number[] = [];
  const running: number[] = [];
  const succeeded: number[] = [];
  try {
    for (let i = 0; i < n + 5; i++) {
      const t0 = nowMs();
      await client.send(new SubmitJobCommand({ jobName: 'floor', jobQueue: 'q', jobDefinition: 'd' }));
      const t1 = nowMs();
      let tSpawn = 0;
      await new Promise<void>((resolve, reject) => {
        const c = spawn('true', [], { stdio: 'ignore' });
        c.on('spawn', () => (tSpawn = nowMs()));
        c.on('error', reject);
        c.on('exit', () => resolve());
      });
      const t2 = nowMs();
      if (i < 5) continue; // warm-up
      submit.push(t1 - t0);
      running.push(tSpawn - t0);
      succeeded.push(t2 - t0);
    }
  } finally {
    client.destroy();
    await stub.stop();
  }
  return { submit: summarize(submit), running: summarize(running), succeeded: summarize(succeeded) };
}

export const latency: Scenario = {
  name: 'latency',
  summary: 'submit → RUNNING and submit → SUCCEEDED p50/p99 of sequential jobs on an idle compute environment (job timestamps, and tight polling)',
  async run(ctx, out) {
    const n = ctx.opts.latencyJobs;
    const pollMs = ctx.opts.latencyPollMs;
    ctx.log(`baseline: ${n} × (SubmitJob to a stub endpoint + spawn true)`);
    const base = await floor(n);

    const r = await withServer(ctx, 'latency', async (server) => {
      const client = batchClient(server.endpoint);
      await createQueue(client, { name: 'bench-latency', state: 'ENABLED', maxvCpus: 64 });
      await registerTrueDefinition(client);
      const alive = () => server.assertAlive();
      await pass(client, 5, 'timestamps', pollMs, alive); // warm-up: first starts, JIT
      ctx.log(`timestamps pass: ${n} jobs one after another`);
      const ts = await pass(client, n, 'timestamps', pollMs, alive);
      ctx.log(`polling pass: ${n} jobs, DescribeJobs every ${pollMs} ms`);
      const poll = await pass(client, n, 'polling', pollMs, alive);
      const jobs = await describeAll(client, [...ts.ids, ...poll.ids]);
      await checkSucceededJobs(out.checks, 'latency', jobs, 2 * n, server);
      client.destroy();
      return { ts, poll };
    });

    const s = {
      submit: summarize(r.ts.submitMs),
      running: summarize(r.ts.runningMs),
      succeeded: summarize(r.ts.succeededMs),
      pollRunning: summarize(r.poll.runningMs),
      pollSucceeded: summarize(r.poll.succeededMs),
    };
    const floorRun = 'stub SubmitJob + spawn true';
    const floorDone = 'stub SubmitJob + true exits';
    out.rows.push(
      { metric: 'submit → RUNNING p50 (startedAt − submit)', value: s.running.p50, unit: 'ms', baseline: { name: floorRun, value: base.running.p50 }, target: { on: 'value', op: '<=', limit: 20 } },
      { metric: 'submit → RUNNING p99 (startedAt − submit)', value: s.running.p99, unit: 'ms', baseline: { name: floorRun, value: base.running.p99 } },
      { metric: 'submit → SUCCEEDED p50 (stoppedAt − submit)', value: s.succeeded.p50, unit: 'ms', baseline: { name: floorDone, value: base.succeeded.p50 } },
      { metric: 'submit → SUCCEEDED p99 (stoppedAt − submit)', value: s.succeeded.p99, unit: 'ms', baseline: { name: floorDone, value: base.succeeded.p99 } },
      { metric: `submit → seen RUNNING or later p50 (polled every ${pollMs} ms)`, value: s.pollRunning.p50, unit: 'ms', baseline: { name: floorRun, value: base.running.p50 } },
      { metric: `submit → seen SUCCEEDED p50 (polled every ${pollMs} ms)`, value: s.pollSucceeded.p50, unit: 'ms', baseline: { name: floorDone, value: base.succeeded.p50 } },
      { metric: `submit → seen SUCCEEDED p99 (polled every ${pollMs} ms)`, value: s.pollSucceeded.p99, unit: 'ms', baseline: { name: floorDone, value: base.succeeded.p99 } },
      { metric: 'SubmitJob p50, idle server', value: s.submit.p50, unit: 'ms', baseline: { name: 'stub SubmitJob', value: base.submit.p50 } },
      { metric: 'SubmitJob p99, idle server', value: s.submit.p99, unit: 'ms', baseline: { name: 'stub SubmitJob', value: base.submit.p99 } },
    );
    out.notes.push(
      `${n} jobs per pass, each submitted after the previous one SUCCEEDED, compute environment ENABLED (maxvCpus 64) and otherwise idle; 5 warm-up jobs first`,
      `the target rows use the job's own startedAt/stoppedAt (server clock, ms) minus the client's clock just before SubmitJob (same host); that pass polls every 20 ms only to know when to go on`,
      `the polled rows time the DescribeJobs response that first showed the state (poll every ${pollMs} ms, round trip included); RUNNING itself was seen for ${r.poll.seenRunning} of ${n} jobs, the others went from STARTING/RUNNABLE straight to SUCCEEDED between two polls`,
      `floor per sample: a SubmitJob to a stub endpoint (p50 ${fmt(base.submit.p50)} ms), then spawn('true') from Node: 'spawn' event for RUNNING (p50 ${fmt(base.running.p50)} ms), exit for SUCCEEDED (p50 ${fmt(base.succeeded.p50)} ms)`,
    );
    out.details.latency = {
      jobs: n,
      pollMs,
      timestamps: { submitMs: roundSummary(s.submit), runningMs: roundSummary(s.running), succeededMs: roundSummary(s.succeeded) },
      polling: { runningMs: roundSummary(s.pollRunning), succeededMs: roundSummary(s.pollSucceeded), seenRunning: r.poll.seenRunning },
      floor: { submitMs: roundSummary(base.submit), runningMs: roundSummary(base.running), succeededMs: roundSummary(base.succeeded) },
    };
  },
};
