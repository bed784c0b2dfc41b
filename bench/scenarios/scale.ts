// scale: many jobs stored. Bulk-loads --scale-arrays arrays of --scale-array-size children through
// SubmitJob into a queue whose compute environment is DISABLED (every child is stored and stays
// RUNNABLE: nothing runs, and the scheduler sees the largest possible RUNNABLE backlog), then times
// DescribeJobs of 100 ids, ListJobs (children of an array by status, page by page; the queue's
// parents; the queue's RUNNABLE jobs, which must skip the array children) and SubmitJob, and reads
// the server's RSS and the data dir's size. Baseline: the same measurements on the same server
// before the bulk load (one array of 100 stored).

import { DescribeJobsCommand, ListJobsCommand, SubmitJobCommand, type BatchClient, type JobStatus } from '@aws-sdk/client-batch';
import { CheckFailure, checkArraySummary, type Checks } from '../lib/checks.js';
import { batchClient, createQueue, describeAll, listAll, mapParallel, registerTrueDefinition } from '../lib/client.js';
import { withServer, type Scenario, type ScenarioContext } from '../lib/context.js';
import type { BenchServer } from '../lib/server.js';
import { fmt, nowMs, round, roundSummary, sleep, summarize, type Summary } from '../lib/stats.js';

const QUEUE = 'bench-scale';

interface Measurement {
  jobsStored: number;
  describe100: Summary;
  listChildren: Summary;
  listParents: Summary;
  listQueueRunnable: Summary;
  submit: Summary;
  rssMiB: number;
  peakRssMiB: number;
  dataDirMiB: number;
  databaseMiB?: number;
}

async function timed<T>(samples: number[], fn: () => Promise<T>): Promise<T> {
  const t0 = nowMs();
  const r = await fn();
  samples.push(nowMs() - t0);
  return r;
}

/** Deterministic pseudo-random picks, so two runs time the same calls. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function measure(
  ctx: ScenarioContext,
  client: BatchClient,
  server: BenchServer,
  checks: Checks,
  parents: { id: string; size: number }[],
  parentStatus: JobStatus,
  singlesBefore: number,
  jobsStored: number,
  label: string,
): Promise<Measurement> {
  const k = ctx.opts.scaleSamples;
  const rand = rng(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];

  // Warm-up (not timed): the first calls of each kind pay for JIT and cold caches.
  for (let i = 0; i < 10; i++) {
    await client.send(new DescribeJobsCommand({ jobs: Array.from({ length: 100 }, (_, j) => `${parents[0].id}:${j % parents[0].size}`) }));
    await client.send(new ListJobsCommand({ arrayJobId: parents[0].id, jobStatus: 'RUNNABLE', maxResults: 100 }));
    await client.send(new ListJobsCommand({ jobQueue: QUEUE, jobStatus: parentStatus, maxResults: 100 }));
    await client.send(new ListJobsCommand({ jobQueue: QUEUE, jobStatus: 'RUNNABLE', maxResults: 100 }));
  }

  // DescribeJobs of 100 children picked across the arrays.
  const describe: number[] = [];
  for (let i = 0; i < k; i++) {
    const ids = Array.from({ length: 100 }, () => {
      const p = pick(parents);
      return `${p.id}:${Math.floor(rand() * p.size)}`;
    });
    const jobs = (await timed(describe, () => client.send(new DescribeJobsCommand({ jobs: ids })))).jobs ?? [];
    const distinct = new Set(ids).size;
    if (jobs.length !== distinct || jobs.some((j) => j.status !== 'RUNNABLE')) {
      throw new CheckFailure(`${label}: DescribeJobs of ${distinct} stored children returned ${jobs.length}: ${JSON.stringify(jobs.slice(0, 2).map((j) => [j.jobId, j.status]))}`);
    }
  }
  checks.that(true, `scale ${label}: DescribeJobs(100) finds every sampled child RUNNABLE`, `${k} calls`);

  // Children of arrays by status, 100 per page, whole arrays paged through.
  const children: number[] = [];
  let arraysPaged = 0;
  while (children.length < k) {
    const p = parents[arraysPaged % parents.length];
    const seen = new Set<string>();
    let nextToken: string | undefined;
    do {
      const r = await timed(children, () => client.send(new ListJobsCommand({ arrayJobId: p.id, jobStatus: 'RUNNABLE', maxResults: 100, nextToken })));
      for (const j of r.jobSummaryList ?? []) seen.add(j.jobId!);
      nextToken = r.nextToken;
    } while (nextToken);
    if (seen.size !== p.size) throw new CheckFailure(`${label}: ListJobs --array-job-id ${p.id} RUNNABLE paged to ${seen.size} children, expected ${p.size}`);
    arraysPaged++;
  }
  checks.that(true, `scale ${label}: ListJobs --array-job-id pages through every child`, `${arraysPaged} arrays, ${children.length} pages of 100`);

  // The queue's parents (status of an array whose children wait), 100 per page.
  const parentsList: number[] = [];
  for (let i = 0; parentsList.length < k; i++) {
    const found: string[] = [];
    let nextToken: string | undefined;
    do {
      const r = await timed(parentsList, () => client.send(new ListJobsCommand({ jobQueue: QUEUE, jobStatus: parentStatus, maxResults: 100, nextToken })));
      found.push(...(r.jobSummaryList ?? []).map((j) => j.jobId!));
      nextToken = r.nextToken;
    } while (nextToken);
    if (i === 0 && found.length !== parents.length) throw new CheckFailure(`${label}: ListJobs --job-queue ${QUEUE} ${parentStatus} listed ${found.length} parents, expected ${parents.length}`);
  }
  checks.that(true, `scale ${label}: ListJobs --job-queue lists every array parent (${parentStatus})`, `${parents.length} parents`);

  // The queue's RUNNABLE jobs: the single jobs only (array children are listed by arrayJobId).
  const queueRunnable: number[] = [];
  let singles = -1;
  while (queueRunnable.length < k) {
    const found = await timed(queueRunnable, () => client.send(new ListJobsCommand({ jobQueue: QUEUE, jobStatus: 'RUNNABLE', maxResults: 100 })));
    singles = Math.max(singles, (found.jobSummaryList ?? []).length);
  }

  // SubmitJob of single jobs, one after another; they join the RUNNABLE backlog.
  const submit: number[] = [];
  const submitted: string[] = [];
  for (let i = 0; i < k; i++) {
    const r = await timed(submit, () => client.send(new SubmitJobCommand({ jobName: `scale-${label}-${i}`, jobQueue: QUEUE, jobDefinition: 'bench-true' })));
    submitted.push(r.jobId!);
  }
  checks.that(singles === Math.min(100, singlesBefore), `scale ${label}: ListJobs --job-queue RUNNABLE lists the single jobs, not the children`, `${singles} listed (first page)`);
  server.assertAlive();
  const mem = server.memoryMiB();
  return {
    jobsStored: jobsStored + k,
    describe100: summarize(describe),
    listChildren: summarize(children),
    listParents: summarize(parentsList),
    listQueueRunnable: summarize(queueRunnable),
    submit: summarize(submit),
    rssMiB: mem.rss,
    peakRssMiB: mem.peak,
    dataDirMiB: server.dataDirBytes() / 2 ** 20,
    databaseMiB: ((await server.databaseBytes()) ?? NaN) / 2 ** 20,
  };
}

/** Waits until every listed array's statusSummary says all its children are RUNNABLE. */
async function waitAllRunnable(client: BatchClient, server: BenchServer, parents: { id: string; size: number }[], timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const described = await describeAll(client, parents.map((p) => p.id));
    const pending = described.filter((d, i) => (d.arrayProperties?.statusSummary?.RUNNABLE ?? 0) !== parents[i].size);
    if (described.length === parents.length && pending.length === 0) return described[0].status!;
    server.assertAlive();
    if (Date.now() > deadline) throw new CheckFailure(`${pending.length} arrays not all RUNNABLE after ${timeoutMs / 1000} s, e.g. ${JSON.stringify(pending[0]?.arrayProperties?.statusSummary)}`);
    await sleep(1000);
  }
}

export const scale: Scenario = {
  name: 'scale',
  summary: 'with --scale-arrays × --scale-array-size jobs stored (RUNNABLE, CE DISABLED): DescribeJobs(100), ListJobs, SubmitJob p50/p99, server RSS, data size',
  async run(ctx, out) {
    const { scaleArrays, scaleArraySize: size, scaleSamples: k } = ctx.opts;
    const total = scaleArrays * size;
    await withServer(ctx, 'scale', async (server) => {
      const client = batchClient(server.endpoint);
      await createQueue(client, { name: QUEUE, state: 'DISABLED', maxvCpus: 64 });
      await registerTrueDefinition(client);

      // Baseline: one small array stored.
      const small = await client.send(new SubmitJobCommand({ jobName: 'scale-small', jobQueue: QUEUE, jobDefinition: 'bench-true', arrayProperties: { size: 100 } }));
      const smallParents = [{ id: small.jobId!, size: 100 }];
      const parentStatus = (await waitAllRunnable(client, server, smallParents, 60_000)) as JobStatus;
      ctx.log(`baseline: ${k} samples per query with 100 jobs stored (array parents are ${parentStatus})`);
      const before = await measure(ctx, client, server, out.checks, smallParents, parentStatus, 0, 101, 'before');

      // Bulk load.
      ctx.log(`bulk load: ${scaleArrays} arrays × ${size} children = ${total.toLocaleString('en-US')} jobs`);
      const tLoad = nowMs();
      let loaded = 0;
      const submitMs: number[] = [];
      const big = await mapParallel(Array.from({ length: scaleArrays }, (_, i) => i), 2, async (i) => {
        const r = await timed(submitMs, () => client.send(new SubmitJobCommand({ jobName: `scale-${i}`, jobQueue: QUEUE, jobDefinition: 'bench-true', arrayProperties: { size } })));
        loaded++;
        if (loaded % 10 === 0 || loaded === scaleArrays) ctx.log(`bulk load: ${loaded}/${scaleArrays} arrays submitted (${fmt((nowMs() - tLoad) / 1000)} s, RSS ${fmt(server.memoryMiB().rss)} MiB)`);
        return { id: r.jobId!, size };
      });
      const submittedSeconds = (nowMs() - tLoad) / 1000;
      const parents = [...smallParents, ...big];
      await waitAllRunnable(client, server, parents, Math.max(120_000, total / 10));
      const loadSeconds = (nowMs() - tLoad) / 1000;
      ctx.log(`bulk load: all ${total.toLocaleString('en-US')} children RUNNABLE after ${fmt(loadSeconds)} s (SubmitJob calls done after ${fmt(submittedSeconds)} s)`);

      const described = await describeAll(client, parents.map((p) => p.id));
      for (let i = 0; i < parents.length; i++) checkArraySummary(out.checks, `scale parent ${i}`, described[i], parents[i].size, 'RUNNABLE');
      // Keep the report short: one check record for all parents.
      out.checks.passed.splice(out.checks.passed.length - parents.length, parents.length, {
        name: 'scale: every array parent statusSummary is exactly its size RUNNABLE',
        detail: `${parents.length} arrays, ${(total + 100).toLocaleString('en-US')} children`,
      });

      ctx.log(`measuring with ${(total + 101 + k).toLocaleString('en-US')} jobs stored`);
      const after = await measure(ctx, client, server, out.checks, parents, parentStatus, k, total + 101 + k, 'after');
      const runnable = await listAll(client, { jobQueue: QUEUE, jobStatus: 'RUNNABLE' });
      out.checks.that(runnable.length === 2 * k, 'scale: every single job submitted is stored and RUNNABLE', `${runnable.length} of ${2 * k}`);
      client.destroy();

      const stored = `${after.jobsStored.toLocaleString('en-US')} jobs stored`;
      const base = (s: Summary) => ({ name: `same, ${before.jobsStored} jobs stored`, value: s.p99 });
      const base50 = (s: Summary) => ({ name: `same, ${before.jobsStored} jobs stored`, value: s.p50 });
      const ms50 = (metric: string, a: Summary, b: Summary) => ({ metric: `${metric} p50`, value: a.p50, unit: 'ms', baseline: base50(b) });
      const ms99 = (metric: string, a: Summary, b: Summary, limit: number) => ({ metric: `${metric} p99`, value: a.p99, unit: 'ms', baseline: base(b), target: { on: 'value' as const, op: '<' as const, limit } });
      out.rows.push(
        { metric: `bulk load: ${scaleArrays} arrays × ${size.toLocaleString('en-US')} → all RUNNABLE`, value: total / loadSeconds, unit: 'jobs/s' },
        ms50('DescribeJobs(100 ids)', after.describe100, before.describe100),
        ms99('DescribeJobs(100 ids)', after.describe100, before.describe100, 50),
        ms50('ListJobs --array-job-id RUNNABLE, 100/page', after.listChildren, before.listChildren),
        ms99('ListJobs --array-job-id RUNNABLE, 100/page', after.listChildren, before.listChildren, 50),
        ms99(`ListJobs --job-queue ${parentStatus} (the parents)`, after.listParents, before.listParents, 50),
        ms99('ListJobs --job-queue RUNNABLE (singles, not children)', after.listQueueRunnable, before.listQueueRunnable, 50),
        ms50('SubmitJob', after.submit, before.submit),
        ms99('SubmitJob', after.submit, before.submit, 20),
        { metric: `server RSS, ${stored}`, value: after.rssMiB, unit: 'MiB', baseline: { name: `same, ${before.jobsStored} jobs stored`, value: before.rssMiB }, target: { on: 'value', op: '<=', limit: 300 } },
        { metric: 'server peak RSS (VmHWM)', value: after.peakRssMiB, unit: 'MiB', baseline: { name: `same, ${before.jobsStored} jobs stored`, value: before.peakRssMiB } },
        { metric: `data dir size (du), ${stored}`, value: after.dataDirMiB, unit: 'MiB', baseline: { name: `same, ${before.jobsStored} jobs stored`, value: before.dataDirMiB } },
      );
      if (server.databaseUrl) {
        out.rows.push({ metric: `PostgreSQL database size, ${stored}`, value: after.databaseMiB ?? NaN, unit: 'MiB', baseline: { name: `same, ${before.jobsStored} jobs stored`, value: before.databaseMiB ?? NaN } });
      }
      out.notes.push(
        `${scaleArrays} arrays of ${size.toLocaleString('en-US')} submitted through SubmitJob (2 in flight) to a queue whose compute environment is DISABLED: every child is stored and RUNNABLE and nothing runs (the worst case for the scheduler); array parents are ${parentStatus}`,
        `bulk load took ${fmt(loadSeconds)} s to all RUNNABLE (SubmitJob of one ${size.toLocaleString('en-US')}-child array: p50 ${fmt(summarize(submitMs).p50)} ms, max ${fmt(summarize(submitMs).max)} ms)`,
        `${k} timed calls per query, one at a time: DescribeJobs of 100 children picked at random across the arrays; ListJobs --array-job-id RUNNABLE paged through whole arrays 100 at a time; ListJobs --job-queue for the parents and for RUNNABLE (which lists single jobs, not children); SubmitJob of single jobs into the same backlog`,
        `baseline: the same calls on the same server before the bulk load (one array of 100 stored), so each ratio is the cost of ${total.toLocaleString('en-US')} more jobs`,
      );
      out.details.scale = {
        arrays: scaleArrays,
        arraySize: size,
        loadSeconds: round(loadSeconds),
        submittedSeconds: round(submittedSeconds),
        arraySubmitMs: roundSummary(summarize(submitMs)),
        parentStatus,
        before: serialize(before),
        after: serialize(after),
      };
    });
  },
};

function serialize(m: Measurement): Record<string, unknown> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'number' ? round(v) : roundSummary(v as Summary)]));
}
