// The crash harness: a workload of single jobs, arrays, dependency chains and retried or failing
// jobs runs while the server is SIGKILLed at random moments and restarted on the same data dir
// (and database). Afterwards every job must be in the terminal state its command implies, no
// attempt ran twice or overlapped another attempt of its job, attempts were counted as the retry
// strategy says, every line an attempt printed is in its log stream (raw and through the
// CloudWatch Logs API), and every FAILED job's EventBridge event reaches a webhook (the seed's rule).
//
// Every attempt appends to a ledger: `start <jobId> <attempt> <ns>` first and
// `end <jobId> <attempt> <ns> <exit>` last (small O_APPEND writes: atomic). The ledger is the
// truth of what ran; the server's DescribeJobs and logs are checked against it.
//
// Used by test/e2e/crash-harness.test.ts (a short run in CI) and `npm run crash-harness` (the
// full run: 2,000 jobs, 20 kills, SQLite and PostgreSQL).

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  type BatchClient,
  type JobDetail,
} from '@aws-sdk/client-batch';
import http from 'node:http';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CloudWatchLogsClient, GetLogEventsCommand, type OutputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { batchClient, httpGet, reusablePort, TestServer } from '../helpers/server.js';

export interface HarnessOptions {
  /** Jobs in all, array children counted (parents are not). */
  jobs: number;
  kills: number;
  seed: number;
  databaseUrl?: string;
  /** Milliseconds between one start and the next kill: uniform in [min, max]. */
  killEveryMs?: [number, number];
  /** How long the whole run may take before it is declared stuck. */
  deadlineMs?: number;
  log?: (line: string) => void;
}

export interface HarnessReport {
  jobs: number;
  kills: number;
  attempts: number;
  seconds: number;
  /** What went wrong; empty when every check held. */
  failures: string[];
  counts: Record<string, number>;
}

/** What a job's command does: exits 1 on attempts ≤ failAttempts, then `exit`. */
interface Behaviour {
  sleep: number;
  exit: number;
  failAttempts: number;
  lines: number;
  /** Array children: the child with this index exits 3 on every attempt. */
  failIndex?: number;
}

interface PlannedJob {
  name: string;
  kind: 'single' | 'array' | 'chain';
  behaviour: Behaviour;
  attempts: number;
  arraySize?: number;
  /** Chains: the name of the job this one depends on. */
  after?: string;
  jobId?: string;
}

const QUEUE = 'crash-harness';
const DEFINITION = 'crash-harness-work';

// The command every job runs. Behaviour comes from the job's environment.
const SCRIPT = [
  'echo "start $AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT $(date +%s%N)" >> "$LEDGER"',
  'i=1',
  'while [ $i -le $LINES ]; do echo "line $i of $AWS_BATCH_JOB_ID attempt $AWS_BATCH_JOB_ATTEMPT"; i=$((i+1)); done',
  'sleep "$SLEEP"',
  'code=$EXIT',
  'if [ -n "$FAIL_INDEX" ] && [ "$AWS_BATCH_JOB_ARRAY_INDEX" = "$FAIL_INDEX" ]; then code=3; fi',
  'if [ "$AWS_BATCH_JOB_ATTEMPT" -le "$FAIL_ATTEMPTS" ]; then code=1; fi',
  'echo "end $AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT $(date +%s%N) $code" >> "$LEDGER"',
  'exit $code',
].join('\n');

/** A small seeded PRNG (mulberry32): the same seed plans the same workload and kill times. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function plan(total: number, random: () => number): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  const sleep = () => Number((random() * 0.4).toFixed(2));
  const lines = () => 1 + Math.floor(random() * 20);
  // A quarter in arrays, a fifth in chains of four, the rest single jobs.
  let arrays = Math.floor(total / 4);
  let n = 0;
  while (arrays >= 10) {
    const size = Math.min(arrays, 10 + Math.floor(random() * 40));
    const failing = random() < 0.3;
    jobs.push({
      name: `array-${n++}`,
      kind: 'array',
      arraySize: size,
      attempts: 2,
      behaviour: { sleep: sleep(), exit: 0, failAttempts: random() < 0.3 ? 1 : 0, lines: lines(), failIndex: failing ? Math.floor(random() * size) : undefined },
    });
    arrays -= size;
  }
  const chains = Math.floor(total / 20);
  for (let c = 0; c < chains; c++) {
    const headFails = random() < 0.2;
    for (let i = 0; i < 4; i++) {
      jobs.push({
        name: `chain-${c}-${i}`,
        kind: 'chain',
        attempts: 1,
        after: i > 0 ? `chain-${c}-${i - 1}` : undefined,
        behaviour: { sleep: sleep(), exit: i === 0 && headFails ? 5 : 0, failAttempts: 0, lines: lines() },
      });
    }
  }
  const counted = () => jobs.reduce((t, j) => t + (j.arraySize ?? 1), 0);
  let s = 0;
  while (counted() < total) {
    const r = random();
    const behaviour: Behaviour =
      r < 0.65
        ? { sleep: sleep(), exit: 0, failAttempts: 0, lines: lines() } // succeeds
        : r < 0.85
          ? { sleep: sleep(), exit: 0, failAttempts: 1 + Math.floor(random() * 2), lines: lines() } // succeeds on a retry
          : r < 0.95
            ? { sleep: sleep(), exit: 3, failAttempts: 0, lines: lines() } // always fails
            : { sleep: 1 + random() * 2, exit: 0, failAttempts: 0, lines: lines() }; // runs across kills
    jobs.push({ name: `single-${s++}`, kind: 'single', attempts: 3, behaviour });
  }
  return jobs;
}

/** The server's port: it restarts on the same one after each kill (see reusablePort). */
function freePort(): Promise<number> {
  return reusablePort();
}

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls `fn` until it succeeds, riding out the server's restarts (connection refused/reset). */
async function patiently<T>(what: string, fn: () => Promise<T>, deadline: number): Promise<T> {
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    try {
      return await fn();
    } catch (e) {
      const err = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; message?: string };
      const status = err.$metadata?.httpStatusCode;
      // A 4xx from a live server is an answer, not an outage.
      if (status !== undefined && status >= 400 && status < 500) throw e;
      if (Date.now() > deadline) throw new Error(`${what}: still failing at the deadline: ${err.message}`);
      await sleepMs(delay);
    }
  }
}

export async function runCrashHarness(o: HarnessOptions): Promise<HarnessReport> {
  const log = o.log ?? (() => {});
  const random = rng(o.seed);
  const started = Date.now();
  const deadline = started + (o.deadlineMs ?? 600_000);
  const [killMin, killMax] = o.killEveryMs ?? [300, 2500];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-crash-'));
  const ledger = path.join(work, 'ledger');
  fs.writeFileSync(ledger, '');
  const server = new TestServer({ dataDir: path.join(work, 'data'), databaseUrl: o.databaseUrl });
  fs.mkdirSync(server.dataDir);
  const port = await freePort();
  const failures: string[] = [];
  let kills = 0;
  let webhook: http.Server | undefined;
  try {
    await server.start(port);
    // The SDK's own retries would re-send a SubmitJob whose answer was lost: the harness retries itself.
    const client: BatchClient = batchClient(server.endpoint);
    const logs = new CloudWatchLogsClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    client.config.maxAttempts = async () => 1;
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: QUEUE,
        type: 'MANAGED',
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 16, subnets: [], securityGroupIds: [], instanceTypes: ['optimal'] },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: QUEUE, priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: QUEUE }] }));
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: DEFINITION,
        type: 'container',
        containerProperties: {
          command: ['sh', '-c', SCRIPT],
          environment: [{ name: 'LEDGER', value: ledger }],
          resourceRequirements: [
            { type: 'VCPU', value: '0.25' },
            { type: 'MEMORY', value: '32' },
          ],
        },
      }),
    );

    // The seed's EventBridge rule (failed jobs) with a webhook in this process, which outlives the
    // server's kills: every job that ends FAILED must be delivered (at least once; a kill between a
    // delivery and its record may repeat one), and nothing else.
    const failedEvents = new Map<string, number>();
    const otherEvents: string[] = [];
    webhook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        try {
          const e = JSON.parse(body) as { 'detail-type'?: string; detail?: { jobId?: string; status?: string } };
          const id = e.detail?.jobId ?? '?';
          if (e['detail-type'] === 'Batch Job State Change' && e.detail?.status === 'FAILED') failedEvents.set(id, (failedEvents.get(id) ?? 0) + 1);
          else otherEvents.push(body.slice(0, 200));
        } catch {
          otherEvents.push(body.slice(0, 200));
        }
        res.end('ok');
      });
    });
    await new Promise<void>((r) => webhook!.listen(0, '127.0.0.1', r));
    const hookPort = (webhook.address() as net.AddressInfo).port;
    const events = new EventBridgeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await events.send(new PutRuleCommand({ Name: 'failed-jobs', EventPattern: JSON.stringify({ source: ['aws.batch'], 'detail-type': ['Batch Job State Change'], detail: { status: ['FAILED'] } }) }));
    await events.send(new PutTargetsCommand({ Rule: 'failed-jobs', Targets: [{ Id: 'webhook', Arn: `http://127.0.0.1:${hookPort}/` }] }));

    const jobs = plan(o.jobs, random);
    const byName = new Map(jobs.map((j) => [j.name, j]));
    const killTimes = Array.from({ length: o.kills }, () => killMin + random() * (killMax - killMin));
    log(`${jobs.length} submissions (${o.jobs} jobs with array children), ${o.kills} kills, seed ${o.seed}, port ${port}, ${o.databaseUrl ? 'PostgreSQL' : 'SQLite'}`);

    // Submissions run while the killer kills. A SubmitJob whose answer was lost may or may not have
    // been committed: the harness looks the job up by its unique name before submitting again.
    const submitOne = async (j: PlannedJob): Promise<void> => {
      const b = j.behaviour;
      const env = [
        { name: 'SLEEP', value: String(b.sleep) },
        { name: 'EXIT', value: String(b.exit) },
        { name: 'FAIL_ATTEMPTS', value: String(b.failAttempts) },
        { name: 'LINES', value: String(b.lines) },
        ...(b.failIndex !== undefined ? [{ name: 'FAIL_INDEX', value: String(b.failIndex) }] : []),
      ];
      const dependsOn = j.after ? [{ jobId: byName.get(j.after)!.jobId! }] : undefined;
      for (;;) {
        try {
          const out = await client.send(
            new SubmitJobCommand({
              jobName: j.name,
              jobQueue: QUEUE,
              jobDefinition: DEFINITION,
              containerOverrides: { environment: env },
              retryStrategy: { attempts: j.attempts },
              ...(j.arraySize ? { arrayProperties: { size: j.arraySize } } : {}),
              ...(dependsOn ? { dependsOn } : {}),
            }),
          );
          j.jobId = out.jobId;
          return;
        } catch (e) {
          const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status !== undefined && status < 500) throw e;
          if (Date.now() > deadline) throw e;
          const found = await patiently(
            `ListJobs ${j.name}`,
            () => client.send(new ListJobsCommand({ jobQueue: QUEUE, filters: [{ name: 'JOB_NAME', values: [j.name] }] })),
            deadline,
          );
          const summaries = found.jobSummaryList ?? [];
          if (summaries.length > 1) failures.push(`${j.name}: submitted ${summaries.length} times`);
          if (summaries.length > 0) {
            j.jobId = summaries[0].jobId;
            return;
          }
          await sleepMs(50);
        }
      }
    };
    const submitting = (async () => {
      const singles = jobs.filter((j) => j.kind !== 'chain');
      const chains = new Map<string, PlannedJob[]>();
      for (const j of jobs.filter((x) => x.kind === 'chain')) {
        const key = j.name.replace(/-\d+$/, '');
        chains.set(key, [...(chains.get(key) ?? []), j]);
      }
      const queue: Array<() => Promise<void>> = [
        ...singles.map((j) => () => submitOne(j)),
        ...[...chains.values()].map((chain) => async () => {
          for (const j of chain) await submitOne(j);
        }),
      ];
      // Interleave chains with the rest so dependencies are created across kills too.
      for (let i = queue.length - 1; i > 0; i--) {
        const k = Math.floor(random() * (i + 1));
        [queue[i], queue[k]] = [queue[k], queue[i]];
      }
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < queue.length) await queue[next++]();
        }),
      );
    })();

    const killing = (async () => {
      for (const wait of killTimes) {
        await sleepMs(wait);
        await server.kill();
        kills++;
        log(`kill ${kills}/${o.kills} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
        await server.start(port);
      }
    })();

    await Promise.all([submitting, killing]);
    log(`all submitted and ${kills} kills done at ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for every job to finish`);

    // Every job terminal: parents (arrays) and single jobs; children are checked through their parent.
    const top = jobs.map((j) => j.jobId!);
    const describeAll = async (ids: string[]): Promise<JobDetail[]> => {
      const out: JobDetail[] = [];
      for (let i = 0; i < ids.length; i += 100) {
        const r = await patiently('DescribeJobs', () => client.send(new DescribeJobsCommand({ jobs: ids.slice(i, i + 100) })), deadline);
        out.push(...(r.jobs ?? []));
      }
      return out;
    };
    for (;;) {
      const details = await describeAll(top);
      const open = details.filter((d) => d.status !== 'SUCCEEDED' && d.status !== 'FAILED');
      if (open.length === 0 && details.length === top.length) break;
      if (Date.now() > deadline) {
        failures.push(`${open.length} jobs not finished at the deadline, e.g. ${open.slice(0, 5).map((d) => `${d.jobName} ${d.status} ${d.statusReason ?? ''}`).join('; ')}`);
        break;
      }
      await sleepMs(250);
    }

    // ---- the checks
    const ran = readLedger(ledger, failures);
    const counts: Record<string, number> = {};
    const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
    const parents = await describeAll(top);
    const detailOf = new Map(parents.map((d) => [d.jobId!, d]));
    let attemptsSeen = 0;

    const checkJob = async (d: JobDetail, j: PlannedJob, expected: { succeeds: boolean; attempts: number; exitCodes: number[] }): Promise<void> => {
      const id = d.jobId!;
      const who = `${j.name} (${id})`;
      const attempts = d.attempts ?? [];
      if (d.status === 'FAILED') failedIds.add(id);
      attemptsSeen += attempts.length;
      const runs = ran.get(id) ?? new Map<number, LedgerRun>();
      bump(`${j.kind} ${d.status}`);
      if (d.status !== (expected.succeeds ? 'SUCCEEDED' : 'FAILED')) {
        failures.push(`${who}: ${d.status} (${d.statusReason ?? ''}), expected ${expected.succeeds ? 'SUCCEEDED' : 'FAILED'}`);
      }
      if (attempts.length !== expected.attempts) {
        failures.push(`${who}: ${attempts.length} attempts recorded, expected ${expected.attempts} (${attempts.map((a) => `${a.container?.exitCode ?? '-'} ${a.statusReason ?? ''}`).join('; ')})`);
      }
      if (runs.size !== attempts.length) failures.push(`${who}: the ledger shows ${runs.size} attempts run, DescribeJobs ${attempts.length}`);
      attempts.forEach((a, i) => {
        const n = i + 1;
        const run = runs.get(n);
        const want = expected.exitCodes[i];
        if (!run) return;
        if (run.end === undefined) failures.push(`${who}: attempt ${n} has no end in the ledger (killed?)`);
        if (a.container?.exitCode !== run.code) failures.push(`${who}: attempt ${n} exit ${a.container?.exitCode} recorded, ${run.code} in the ledger`);
        if (want !== undefined && run.code !== want) failures.push(`${who}: attempt ${n} exited ${run.code}, its command exits ${want}`);
      });
      // Attempts of one job never overlap.
      const sorted = [...runs.values()].sort((x, y) => Number(x.start - y.start));
      for (let i = 1; i < sorted.length; i++) {
        const prev = sorted[i - 1];
        if (prev.end === undefined || sorted[i].start < prev.end) failures.push(`${who}: attempt ${sorted[i].attempt} started before attempt ${prev.attempt} ended`);
      }
      // Every line of every attempt is in its log stream, once, in order: in the raw output, and
      // as CloudWatch Logs events (GetLogEvents through the SDK) with ordered timestamps.
      for (const run of runs.values()) {
        const res = await patiently('logs', () => httpGet(`${server.endpoint}/openbatch/v1/jobs/${encodeURIComponent(id)}/logs?attempt=${run.attempt}`), deadline);
        const lines = Array.from({ length: j.behaviour.lines }, (_, i) => `line ${i + 1} of ${id} attempt ${run.attempt}`);
        const want = lines.join('\n') + '\n';
        if (res.status !== 200 || res.body !== want) {
          failures.push(`${who}: attempt ${run.attempt} log is ${res.status} ${JSON.stringify(res.body.slice(0, 200))}, expected ${j.behaviour.lines} lines`);
        }
        const stream = attempts[run.attempt - 1]?.container?.logStreamName;
        if (!stream) continue; // reported above (attempt count)
        const events: OutputLogEvent[] = [];
        try {
          for (let token: string | undefined; ; ) {
            const page = await patiently('GetLogEvents', () => logs.send(new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: stream, startFromHead: true, nextToken: token })), deadline);
            events.push(...(page.events ?? []));
            if (page.nextForwardToken === token || (page.events ?? []).length === 0) break;
            token = page.nextForwardToken;
          }
        } catch (e) {
          if (lines.length > 0) failures.push(`${who}: attempt ${run.attempt}: GetLogEvents ${stream}: ${(e as Error).message}`);
          continue;
        }
        const messages = events.map((e) => e.message);
        if (JSON.stringify(messages) !== JSON.stringify(lines)) {
          failures.push(`${who}: attempt ${run.attempt}: GetLogEvents gives ${JSON.stringify(messages.slice(0, 5))}..., expected ${lines.length} lines`);
        }
        for (let i = 0; i < events.length; i++) {
          const e = events[i];
          if ((e.ingestionTime ?? 0) < (e.timestamp ?? 0)) failures.push(`${who}: attempt ${run.attempt}: event ${i} ingested before its timestamp`);
          if (i > 0 && (e.timestamp ?? 0) < (events[i - 1].timestamp ?? 0)) failures.push(`${who}: attempt ${run.attempt}: event ${i}'s timestamp goes back`);
        }
      }
    };

    const expectFor = (b: Behaviour, attempts: number, failsAlways: boolean) => {
      const exitCodes: number[] = [];
      for (let n = 1; n <= attempts; n++) {
        const code = n <= b.failAttempts ? 1 : failsAlways ? 3 : b.exit;
        exitCodes.push(code);
        if (code === 0) break;
      }
      return { succeeds: exitCodes[exitCodes.length - 1] === 0, attempts: exitCodes.length, exitCodes };
    };

    const failedChainHeads = new Set<string>();
    const failedIds = new Set<string>();
    for (const j of jobs) {
      const d = detailOf.get(j.jobId!);
      if (!d) {
        failures.push(`${j.name} (${j.jobId}): not found`);
        continue;
      }
      if (j.kind === 'array') {
        const size = j.arraySize!;
        const children = await describeAll(Array.from({ length: size }, (_, i) => `${j.jobId}:${i}`));
        let anyFailed = false;
        for (const c of children) {
          const failsAlways = j.behaviour.failIndex === c.arrayProperties?.index;
          const e = expectFor(j.behaviour, j.attempts, failsAlways);
          if (!e.succeeds) anyFailed = true;
          await checkJob(c, { ...j, kind: 'array' }, e);
        }
        if (children.length !== size) failures.push(`${j.name}: ${children.length} of ${size} children found`);
        const want = anyFailed ? 'FAILED' : 'SUCCEEDED';
        if (d.status !== want) failures.push(`${j.name}: parent ${d.status}, expected ${want}`);
        if (d.status === 'FAILED') failedIds.add(d.jobId!);
        const summary = d.arrayProperties?.statusSummary ?? {};
        const failedChildren = children.filter((c) => c.status === 'FAILED').length;
        if (summary.SUCCEEDED !== size - failedChildren || summary.FAILED !== failedChildren) {
          failures.push(`${j.name}: statusSummary ${JSON.stringify(summary)} does not match its children`);
        }
        continue;
      }
      if (j.kind === 'chain' && j.after && failedChainHeads.has(j.after)) {
        // A dependency failed: this job never runs and fails.
        failedChainHeads.add(j.name);
        bump(`chain FAILED (dependency)`);
        if (d.status !== 'FAILED') failures.push(`${j.name}: ${d.status}, but the job it depends on failed`);
        else failedIds.add(d.jobId!);
        if ((d.attempts ?? []).length !== 0 || ran.has(d.jobId!)) failures.push(`${j.name}: ran although the job it depends on failed`);
        continue;
      }
      const e = expectFor(j.behaviour, j.attempts, false);
      if (!e.succeeds && j.kind === 'chain') failedChainHeads.add(j.name);
      await checkJob(d, j, e);
      if (j.kind === 'chain' && j.after) {
        const before = ran.get(byName.get(j.after)!.jobId!);
        const mine = ran.get(d.jobId!);
        const parentEnd = before ? Math.max(...[...before.values()].map((r) => Number(r.end ?? 0n) / 1e6)) : NaN;
        const myStart = mine ? Math.min(...[...mine.values()].map((r) => Number(r.start) / 1e6)) : NaN;
        if (!(myStart >= parentEnd)) failures.push(`${j.name}: started (${myStart}) before ${j.after} ended (${parentEnd})`);
      }
    }
    // Nothing ran that the harness did not submit.
    const known = new Set<string>();
    for (const j of jobs) {
      if (j.arraySize) for (let i = 0; i < j.arraySize; i++) known.add(`${j.jobId}:${i}`);
      else known.add(j.jobId!);
    }
    for (const id of ran.keys()) if (!known.has(id)) failures.push(`the ledger shows ${id}, which the harness never submitted`);

    // Every FAILED job's event reached the webhook, across the kills; no other event did.
    while ([...failedIds].some((id) => !failedEvents.has(id)) && Date.now() < deadline) await sleepMs(100);
    const missing = [...failedIds].filter((id) => !failedEvents.has(id));
    if (missing.length > 0) failures.push(`${missing.length} of ${failedIds.size} FAILED jobs' events never reached the webhook, e.g. ${missing.slice(0, 5).join(', ')}`);
    for (const id of failedEvents.keys()) if (!failedIds.has(id)) failures.push(`a FAILED event for ${id}, which did not fail`);
    if (otherEvents.length > 0) failures.push(`${otherEvents.length} events the rule does not match reached the webhook, e.g. ${otherEvents[0]}`);
    const repeated = [...failedEvents.values()].filter((n) => n > 1).length;
    log(`events: ${failedEvents.size} FAILED jobs delivered to the webhook${repeated ? `, ${repeated} of them more than once (a kill between delivery and its record)` : ', each once'}`);

    return { jobs: o.jobs, kills, attempts: attemptsSeen, seconds: (Date.now() - started) / 1000, failures, counts };
  } finally {
    await server.kill();
    webhook?.close();
    server.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

interface LedgerRun {
  attempt: number;
  start: bigint;
  end?: bigint;
  code?: number;
}

function readLedger(file: string, failures: string[]): Map<string, Map<number, LedgerRun>> {
  const out = new Map<string, Map<number, LedgerRun>>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [what, id, attemptText, ns, code] = line.split(' ');
    const attempt = Number(attemptText);
    const runs = out.get(id) ?? new Map<number, LedgerRun>();
    out.set(id, runs);
    if (what === 'start') {
      if (runs.has(attempt)) failures.push(`${id}: attempt ${attempt} started twice`);
      else runs.set(attempt, { attempt, start: BigInt(ns) });
    } else if (what === 'end') {
      const run = runs.get(attempt);
      if (!run) failures.push(`${id}: attempt ${attempt} ended without a start`);
      else if (run.end !== undefined) failures.push(`${id}: attempt ${attempt} ended twice`);
      else {
        run.end = BigInt(ns);
        run.code = Number(code);
      }
    } else {
      failures.push(`ledger: unreadable line ${JSON.stringify(line)}`);
    }
  }
  return out;
}
