// `openbatch submit | jobs | wait | cancel | terminate | queues | envs`: the everyday commands,
// over the public Batch API (so they work against any OpenBatch server, signed like the AWS CLI).
// `--output table|json|ndjson` everywhere; tables are for people, json/ndjson for scripts.

import { type Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { BatchApiError, batchCall, ConfigError, resolveTarget, UnreachableError, type CliTarget, type TargetOptions } from './aws-config.js';

type Json = Record<string, any>;
type Output = 'table' | 'json' | 'ndjson';

/** The definition `openbatch submit -- command...` registers once and reuses. */
export const COMMAND_DEFINITION = 'openbatch-cmd';
const ACTIVE_STATUSES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'];
const ALL_STATUSES = [...ACTIVE_STATUSES, 'SUCCEEDED', 'FAILED'];
const POLL_MS = 500;

function outputArg(value: string): Output {
  if (value !== 'table' && value !== 'json' && value !== 'ndjson') throw new InvalidArgumentError('must be table, json or ndjson');
  return value;
}

function positiveIntArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function arraySizeArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || n > 10_000) throw new InvalidArgumentError('must be an integer from 2 to 10000 (AWS Batch array sizes)');
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function envArg(value: string, previous: { name: string; value: string }[] = []): { name: string; value: string }[] {
  const i = value.indexOf('=');
  if (i < 1) throw new InvalidArgumentError(`"${value}" is not K=V`);
  return [...previous, { name: value.slice(0, i), value: value.slice(i + 1) }];
}

/** "10m", "2h", "1d", "30s" → milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a duration like 30s, 10m, 2h or 1d');
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

function statesArg(value: string): string[] {
  const states = value.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  for (const s of states) if (!ALL_STATUSES.includes(s)) throw new InvalidArgumentError(`unknown state ${s} (one of ${ALL_STATUSES.join(', ')})`);
  return states;
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : (cell ?? '').padEnd(widths[c]))).join('  ').trimEnd()).join('\n') + '\n';
}

function print(output: Output, items: Json[], asTable: () => string): void {
  if (output === 'json') process.stdout.write(JSON.stringify(items, null, 2) + '\n');
  else if (output === 'ndjson') process.stdout.write(items.map((i) => JSON.stringify(i) + '\n').join(''));
  else process.stdout.write(asTable());
}

function age(ms: number | undefined, now = Date.now()): string {
  if (typeof ms !== 'number') return '-';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

const jobIdOf = (ref: string) => ref.replace(/^arn:[^:]+:batch:[^:]*:\d*:job\//, '');

interface Ctx {
  fail(message: string): never;
  defaultEndpoint: string;
}

/** The connection options every command takes. */
function withTarget(cmd: Command, defaultEndpoint: string): Command {
  return cmd
    .option('--endpoint-url <url>', `server to talk to (default: AWS_ENDPOINT_URL_BATCH, AWS_ENDPOINT_URL, the profile's endpoint_url, or ${defaultEndpoint})`)
    .option('--profile <name>', 'a profile of ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE, then default)')
    .option('--region <region>', 'region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1)');
}

async function run<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof BatchApiError || e instanceof UnreachableError || e instanceof ConfigError) ctx.fail(e.message);
    throw e;
  }
}

/** Pages through ListJobs until `limit` jobs or the end. */
async function listAll(t: CliTarget, body: Json, limit: number): Promise<Json[]> {
  const out: Json[] = [];
  let nextToken: string | undefined;
  do {
    const page = await batchCall(t, 'ListJobs', { ...body, maxResults: Math.min(1000, Math.max(1, limit - out.length)), ...(nextToken ? { nextToken } : {}) });
    out.push(...((page.jobSummaryList as Json[]) ?? []));
    nextToken = page.nextToken;
  } while (nextToken && out.length < limit);
  return out.slice(0, limit);
}

async function describeJobs(t: CliTarget, ids: string[]): Promise<Json[]> {
  const out: Json[] = [];
  for (let i = 0; i < ids.length; i += 100) out.push(...(((await batchCall(t, 'DescribeJobs', { jobs: ids.slice(i, i + 100) })).jobs as Json[]) ?? []));
  return out;
}

/** The generated definition for shell commands: reused while ACTIVE, registered when absent. */
async function commandDefinition(t: CliTarget): Promise<string> {
  const existing = await batchCall(t, 'DescribeJobDefinitions', { jobDefinitionName: COMMAND_DEFINITION, status: 'ACTIVE' });
  const defs = ((existing.jobDefinitions as Json[]) ?? []).sort((a, b) => b.revision - a.revision);
  if (defs.length > 0) return defs[0].jobDefinitionArn as string;
  const registered = await batchCall(t, 'RegisterJobDefinition', {
    jobDefinitionName: COMMAND_DEFINITION,
    type: 'container',
    containerProperties: {
      image: 'busybox',
      command: ['true'],
      resourceRequirements: [
        { type: 'VCPU', value: '1' },
        { type: 'MEMORY', value: '512' },
      ],
    },
  });
  return registered.jobDefinitionArn as string;
}

/** `jobId`, `jobId:N_TO_N` or `jobId:SEQUENTIAL` → a dependsOn entry. */
function dependency(ref: string): Json {
  const m = /^(.*?)(?::(N_TO_N|SEQUENTIAL))?$/.exec(ref)!;
  return { jobId: jobIdOf(m[1]), ...(m[2] ? { type: m[2] } : {}) };
}

export interface Progress {
  status: string;
  total: number;
  done: number;
  failed: number;
  reason?: string;
}

/** Where a job stands, for `wait`: an array counts its children, a single job counts as one. */
export function progressOf(job: Json): Progress {
  const size = job.arrayProperties?.size as number | undefined;
  if (size !== undefined && job.arrayProperties?.index === undefined) {
    const s = (job.arrayProperties.statusSummary ?? {}) as Record<string, number>;
    return { status: job.status, total: size, done: (s.SUCCEEDED ?? 0) + (s.FAILED ?? 0), failed: s.FAILED ?? 0, reason: job.statusReason };
  }
  const ended = job.status === 'SUCCEEDED' || job.status === 'FAILED';
  return { status: job.status, total: 1, done: ended ? 1 : 0, failed: job.status === 'FAILED' ? 1 : 0, reason: job.statusReason };
}

export function plainLine(jobId: string, p: Progress): string {
  return p.total > 1 ? `${jobId} ${p.status} ${p.done}/${p.total} done, ${p.failed} failed` : `${jobId} ${p.status}${p.reason && p.status !== 'SUCCEEDED' ? `: ${p.reason}` : ''}`;
}

export function registerBatchCommands(program: Command, ctx: Ctx): void {
  const target = (opts: TargetOptions) => {
    try {
      return resolveTarget(opts, ctx.defaultEndpoint);
    } catch (e) {
      ctx.fail((e as Error).message);
    }
  };

  withTarget(
    program
      .command('submit')
      .description('submit a job: a job definition, or a shell command after -- (no definition to write first)')
      .argument('[command...]', 'the command to run, after --, e.g. -- sh -c \'echo $AWS_BATCH_JOB_ARRAY_INDEX\''),
    ctx.defaultEndpoint,
  )
    .option('-q, --queue <queue>', 'job queue', 'default')
    .option('-d, --definition <definition>', `job definition (name, name:revision or ARN); default with a command: ${COMMAND_DEFINITION}, registered on first use`)
    .option('-n, --name <name>', 'job name (default: the definition name, or "cmd")')
    .option('-a, --array <size>', 'an array job of this many children (2-10000)', arraySizeArg)
    .option('--depends-on <jobId>', 'wait for this job to succeed (repeatable; jobId:N_TO_N or jobId:SEQUENTIAL for array dependencies)', collect)
    .option('-e, --env <K=V>', 'environment variable (repeatable)', envArg)
    .option('--vcpus <n>', 'vCPUs to reserve', positiveIntArg)
    .option('--memory <MiB>', 'memory to reserve (MiB)', positiveIntArg)
    .option('--retries <n>', 'attempts (1-10)', positiveIntArg)
    .option('--timeout <seconds>', 'stop an attempt after this many seconds', positiveIntArg)
    .addOption(new Option('-o, --output <format>', 'table (the job id alone), json or ndjson').argParser(outputArg).default('table'))
    .action(async (command: string[], opts) => {
      const t = target(opts);
      await run(ctx, async () => {
        if (!opts.definition && command.length === 0) ctx.fail('give a job definition (--definition) or a command after --');
        const definition = opts.definition ?? (await commandDefinition(t));
        const name = opts.name ?? (opts.definition ? String(opts.definition).replace(/^arn:.*:job-definition\//, '').split(':')[0] : 'cmd');
        const overrides: Json = {};
        if (command.length > 0) overrides.command = command;
        if (opts.env) overrides.environment = opts.env;
        const resources: Json[] = [];
        if (opts.vcpus) resources.push({ type: 'VCPU', value: String(opts.vcpus) });
        if (opts.memory) resources.push({ type: 'MEMORY', value: String(opts.memory) });
        if (resources.length) overrides.resourceRequirements = resources;
        const body: Json = { jobName: name, jobQueue: opts.queue, jobDefinition: definition };
        if (Object.keys(overrides).length) body.containerOverrides = overrides;
        if (opts.array) body.arrayProperties = { size: opts.array };
        if (opts.dependsOn) body.dependsOn = (opts.dependsOn as string[]).map(dependency);
        if (opts.retries) body.retryStrategy = { attempts: opts.retries };
        if (opts.timeout) body.timeout = { attemptDurationSeconds: opts.timeout };
        const out = await batchCall(t, 'SubmitJob', body);
        const item = { jobId: out.jobId, jobName: out.jobName, jobArn: out.jobArn };
        print(opts.output, [item], () => `${out.jobId}\n`);
      });
    });

  withTarget(program.command('jobs').description("list jobs like squeue: id, name, queue, state, age, and the scheduler's reason for RUNNABLE jobs"), ctx.defaultEndpoint)
    .option('-q, --queue <queue>', 'only this job queue (default: every queue)')
    .option('-s, --state <states>', `only these states, comma separated (default: the active ones, ${ACTIVE_STATUSES.join(',')})`, statesArg)
    .option('-A, --all', 'every state, ended jobs too')
    .option('--name <prefix>', 'only jobs whose name starts with this')
    .option('--since <duration>', 'only jobs created in the last 30s, 10m, 2h, 1d...', parseDuration)
    .option('--array-job <jobId>', "list this array job's children instead")
    .option('--limit <n>', 'at most this many jobs (default 1000)', positiveIntArg, 1000)
    .addOption(new Option('-o, --output <format>', 'table, json or ndjson').argParser(outputArg).default('table'))
    .action(async (opts) => {
      const t = target(opts);
      await run(ctx, async () => {
        const states: string[] = opts.state ?? (opts.all ? ALL_STATUSES : ACTIVE_STATUSES);
        const limit: number = opts.limit;
        const since = opts.since !== undefined ? Date.now() - opts.since : undefined;
        const scopes: Json[] = [];
        if (opts.arrayJob) scopes.push({ arrayJobId: jobIdOf(opts.arrayJob) });
        else if (opts.queue) scopes.push({ jobQueue: opts.queue });
        else for (const q of ((await batchCall(t, 'DescribeJobQueues', {})).jobQueues as Json[]) ?? []) scopes.push({ jobQueue: q.jobQueueName });
        let jobs: Json[] = [];
        for (const scope of scopes) {
          if (opts.name !== undefined || since !== undefined) {
            // A filter lists every state (newest first); the states are picked here.
            const filters: Json[] = [];
            if (opts.name !== undefined) filters.push({ name: 'JOB_NAME', values: [`${opts.name}*`] });
            if (since !== undefined) filters.push({ name: 'AFTER_CREATED_AT', values: [String(since)] });
            jobs.push(...(await listAll(t, { ...scope, filters }, limit)).filter((j) => states.includes(j.status)));
          } else {
            for (const s of states) jobs.push(...(await listAll(t, { ...scope, jobStatus: s }, limit)));
          }
        }
        jobs.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
        jobs = jobs.slice(0, limit);
        // A RUNNABLE job's reason (which capacity it waits for) comes with DescribeJobs.
        const runnable = jobs.filter((j) => j.status === 'RUNNABLE' || j.status === 'PENDING').map((j) => j.jobId as string);
        const reasons = new Map((await describeJobs(t, runnable)).map((d) => [d.jobId as string, d.statusReason as string | undefined]));
        const queueOf = new Map<string, string>();
        if (opts.arrayJob !== undefined && jobs.length > 0) {
          // Children are in their parent's queue.
          const [parent] = await describeJobs(t, [jobIdOf(opts.arrayJob)]);
          const q = String(parent?.jobQueue ?? '').replace(/^arn:.*:job-queue\//, '');
          if (q) for (const j of jobs) queueOf.set(j.jobId, q);
        }
        if (opts.arrayJob === undefined && scopes.length > 0) {
          // ListJobs summaries do not name the queue: it is the scope they were listed under.
          for (const scope of scopes) for (const j of jobs) if (!queueOf.has(j.jobId) && scope.jobQueue) queueOf.set(j.jobId, scope.jobQueue);
        }
        const items = jobs.map((j) => ({
          jobId: j.jobId,
          jobName: j.jobName,
          ...(queueOf.get(j.jobId) ? { jobQueue: queueOf.get(j.jobId) } : {}),
          status: j.status,
          createdAt: j.createdAt,
          ...(j.startedAt ? { startedAt: j.startedAt } : {}),
          ...(j.stoppedAt ? { stoppedAt: j.stoppedAt } : {}),
          ...(j.arrayProperties ? { arrayProperties: j.arrayProperties } : {}),
          ...((reasons.get(j.jobId) ?? j.statusReason) ? { statusReason: reasons.get(j.jobId) ?? j.statusReason } : {}),
          ...(j.container?.exitCode !== undefined ? { exitCode: j.container.exitCode } : {}),
        }));
        print(opts.output, items, () =>
          table(
            ['JOBID', 'NAME', 'QUEUE', 'STATE', 'AGE', 'ARRAY', 'REASON'],
            items.map((j) => [
              j.jobId,
              j.jobName,
              j.jobQueue ?? '-',
              j.status,
              age(j.createdAt),
              j.arrayProperties?.size !== undefined ? String(j.arrayProperties.size) : j.arrayProperties?.index !== undefined ? `[${j.arrayProperties.index}]` : '',
              // A succeeded job's reason ("Essential container in task exited") says nothing.
              j.status === 'SUCCEEDED' ? '' : (j.statusReason ?? ''),
            ]),
          ),
        );
      });
    });

  withTarget(program.command('wait').description("wait for a job to end: a progress bar for arrays in a terminal, plain lines otherwise; exit status 0 if it SUCCEEDED, 1 if it FAILED").argument('<jobId>', 'job id or ARN'), ctx.defaultEndpoint)
    .option('--timeout <duration>', 'give up (exit status 2) after 30s, 10m, 2h...', parseDuration)
    .addOption(new Option('-o, --output <format>', 'table (progress, then the result), json or ndjson (the final DescribeJobs record)').argParser(outputArg).default('table'))
    .action(async (ref: string, opts) => {
      const t = target(opts);
      const jobId = jobIdOf(ref);
      const deadline = opts.timeout !== undefined ? Date.now() + opts.timeout : Infinity;
      const tty = opts.output === 'table' && process.stdout.isTTY === true;
      let bar: cliProgress.SingleBar | undefined;
      let last = '';
      const job = await run(ctx, async () => {
        for (;;) {
          const [job] = await describeJobs(t, [jobId]);
          if (!job) ctx.fail(`job ${jobId} not found`);
          const p = progressOf(job);
          if (opts.output === 'table') {
            if (tty && p.total > 1) {
              if (!bar) {
                bar = new cliProgress.SingleBar(
                  { format: `${jobId} {bar} {value}/{total} done | {failed} failed | {state} | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 50, stream: process.stdout },
                  cliProgress.Presets.shades_classic,
                );
                bar.start(p.total, p.done, { failed: p.failed, state: p.status });
              } else bar.update(p.done, { failed: p.failed, state: p.status });
            } else {
              const line = plainLine(jobId, p);
              if (line !== last) process.stdout.write(line + '\n');
              last = line;
            }
          }
          if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return job;
          if (Date.now() > deadline) {
            bar?.stop();
            process.stderr.write(`openbatch: gave up waiting for ${jobId} (${job.status})\n`);
            process.exit(2);
          }
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
      });
      if (bar) {
        bar.stop();
        process.stdout.write(plainLine(jobId, progressOf(job)) + '\n');
      }
      if (opts.output !== 'table') print(opts.output, [job], () => '');
      process.exitCode = job.status === 'SUCCEEDED' ? 0 : 1;
    });

  for (const kind of ['cancel', 'terminate'] as const) {
    withTarget(
      program
        .command(kind)
        .description(kind === 'cancel' ? 'cancel jobs that have not started (CancelJob; a running job is terminated, as AWS does)' : 'terminate jobs, running ones too (TerminateJob)')
        .argument('<jobIds...>', 'job ids or ARNs'),
      ctx.defaultEndpoint,
    )
      .option('-r, --reason <reason>', 'the reason recorded on the job', `${kind === 'cancel' ? 'Cancelled' : 'Terminated'} with openbatch ${kind}`)
      .action(async (refs: string[], opts) => {
        const t = target(opts);
        await run(ctx, async () => {
          for (const ref of refs) {
            await batchCall(t, kind === 'cancel' ? 'CancelJob' : 'TerminateJob', { jobId: jobIdOf(ref), reason: opts.reason });
            process.stdout.write(`${jobIdOf(ref)} ${kind === 'cancel' ? 'cancel' : 'terminate'} requested\n`);
          }
        });
      });
  }

  withTarget(program.command('queues').description('list job queues: state, priority, compute environments, and how many jobs wait and run'), ctx.defaultEndpoint)
    .addOption(new Option('-o, --output <format>', 'table, json or ndjson').argParser(outputArg).default('table'))
    .action(async (opts) => {
      const t = target(opts);
      await run(ctx, async () => {
        const queues = ((await batchCall(t, 'DescribeJobQueues', {})).jobQueues as Json[]) ?? [];
        const items: Json[] = [];
        for (const q of queues) {
          const counts: Record<string, number> = {};
          // Counted up to 1000 per state ("1000+" beyond): enough to see at a glance.
          for (const s of ACTIVE_STATUSES) counts[s] = (await listAll(t, { jobQueue: q.jobQueueName, jobStatus: s }, 1001)).length;
          items.push({
            jobQueueName: q.jobQueueName,
            state: q.state,
            status: q.status,
            priority: q.priority,
            computeEnvironments: ((q.computeEnvironmentOrder as Json[]) ?? []).sort((a, b) => a.order - b.order).map((c) => String(c.computeEnvironment).replace(/^arn:.*:compute-environment\//, '')),
            jobCounts: counts,
          });
        }
        const n = (v: number) => (v > 1000 ? '1000+' : String(v));
        print(opts.output, items, () =>
          table(
            ['QUEUE', 'STATE', 'STATUS', 'PRIORITY', 'SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'COMPUTE ENVIRONMENTS'],
            items.map((q) => [q.jobQueueName, q.state, q.status, String(q.priority), ...ACTIVE_STATUSES.map((s) => n(q.jobCounts[s])), q.computeEnvironments.join(',')]),
          ),
        );
      });
    });

  withTarget(program.command('envs').description('list compute environments: state, type, capacity (vCPUs, memory, GPUs)'), ctx.defaultEndpoint)
    .addOption(new Option('-o, --output <format>', 'table, json or ndjson').argParser(outputArg).default('table'))
    .action(async (opts) => {
      const t = target(opts);
      await run(ctx, async () => {
        const envs = ((await batchCall(t, 'DescribeComputeEnvironments', {})).computeEnvironments as Json[]) ?? [];
        print(opts.output, envs, () =>
          table(
            ['ENVIRONMENT', 'STATE', 'STATUS', 'TYPE', 'MAX VCPUS', 'REASON'],
            envs.map((e) => [e.computeEnvironmentName, e.state, e.status, e.computeResources?.type ?? e.type, String(e.computeResources?.maxvCpus ?? '-'), e.statusReason ?? '']),
          ),
        );
      });
    });
}
