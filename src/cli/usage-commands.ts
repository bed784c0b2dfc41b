// `openbatch describe <jobId>` and `openbatch usage <jobDefinition>`: right-sizing data from a
// running server (GET /openbatch/v1/jobs/:jobId, GET /openbatch/v1/job-definitions/:name/usage).

import { type Command, InvalidArgumentError } from 'commander';
import { openbatchGet, type SimpleResponse } from '../api/auth/client.js';
import type { JobDefinitionUsage } from '../service/usage.js';

type Json = Record<string, any>;

interface Helpers {
  /** The server's base URL from --endpoint-url or the environment. */
  endpoint(opt: string | undefined): string;
  fail(message: string): never;
  defaultEndpoint: string;
}

async function getJson(h: Helpers, base: string, path: string): Promise<Json> {
  let res: SimpleResponse;
  try {
    // Signed with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set; HTTPS trusts AWS_CA_BUNDLE.
    res = await openbatchGet(`${base}${path}`);
  } catch (e) {
    h.fail(`cannot reach OpenBatch at ${base}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message} (is it running? start it with: npm start)`);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    h.fail(`${res.status} ${res.statusText}: the server's answer is not JSON (is ${base} an OpenBatch server?)`);
  }
  if (!res.ok) h.fail((body as { message?: string } | undefined)?.message ?? `${res.status} ${res.statusText}`);
  return body as Json;
}

const time = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : '-');
const num = (v: unknown, digits: number) => (typeof v === 'number' ? String(Number(v.toFixed(digits))) : '-');

/** The job's requested memory (MiB): resourceRequirements MEMORY, else the legacy `memory`. */
function requestedMemory(container: Json | undefined): number | undefined {
  const r = (container?.resourceRequirements as { type?: string; value?: string }[] | undefined)?.find((x) => x.type === 'MEMORY');
  const v = r?.value !== undefined ? Number(r.value) : container?.memory;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function formatJob(job: Json): string {
  const lines: string[] = [];
  const c = job.container as Json | undefined;
  lines.push(`Job         ${job.jobName} (${job.jobId})`);
  lines.push(`Status      ${job.status}${job.statusReason ? `: ${job.statusReason}` : ''}`);
  lines.push(`Queue       ${job.jobQueue}`);
  lines.push(`Definition  ${job.jobDefinition}`);
  const mem = requestedMemory(c);
  const vcpus = (c?.resourceRequirements as { type?: string; value?: string }[] | undefined)?.find((x) => x.type === 'VCPU')?.value ?? c?.vcpus;
  lines.push(`Requested   ${vcpus ?? '-'} vCPU, ${mem ?? '-'} MiB memory`);
  lines.push(`Created     ${time(job.createdAt)}   started ${time(job.startedAt)}   stopped ${time(job.stoppedAt)}`);
  const attempts = (job.attempts ?? []) as Json[];
  if (attempts.length === 0) {
    lines.push('Attempts    none ended yet');
  } else {
    lines.push('Attempts');
    const rows = [['#', 'EXIT', 'PEAK MEMORY (MiB)', 'CPU (s)', 'REASON']];
    attempts.forEach((a, i) => {
      const reason = [a.statusReason, a.container?.reason].filter(Boolean).join('; ');
      rows.push([String(a.attempt ?? i + 1), a.container?.exitCode !== undefined ? String(a.container.exitCode) : '-', num(a.usage?.peakMemoryMiB, 1), num(a.usage?.cpuSeconds, 2), reason || '-']);
    });
    const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
    for (const r of rows) lines.push('  ' + r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]))).join('  '));
  }
  return lines.join('\n') + '\n';
}

export function formatUsage(u: JobDefinitionUsage): string {
  const lines = [`Job definition  ${u.jobDefinition}: ${u.count} measured attempt${u.count === 1 ? '' : 's'} (the newest ${u.window} are looked at)`];
  if (u.count === 0) {
    lines.push('                no attempt of it has usage measurements yet');
    return lines.join('\n') + '\n';
  }
  const attempts = (n: number) => `${n} attempt${n === 1 ? '' : 's'}`;
  const m = u.peakMemoryMiB;
  lines.push(m ? `Peak memory     p50 ${num(m.p50, 1)} MiB   p95 ${num(m.p95, 1)} MiB   max ${num(m.max, 1)} MiB   (${attempts(m.count)})` : 'Peak memory     not measured');
  const c = u.cpuSeconds;
  lines.push(c ? `CPU time        p50 ${num(c.p50, 2)} s   p95 ${num(c.p95, 2)} s   max ${num(c.max, 2)} s   (${attempts(c.count)})` : 'CPU time        not measured');
  lines.push(`Requested       ${u.requestedMemoryMiB ?? '-'} MiB memory (the newest attempt's job)`);
  if (u.recommendedMemoryMiB !== undefined) {
    const verdict =
      u.requestedMemoryMiB === undefined ? '' : u.recommendedMemoryMiB < u.requestedMemoryMiB ? `: ${u.requestedMemoryMiB - u.recommendedMemoryMiB} MiB less than requested` : u.recommendedMemoryMiB > u.requestedMemoryMiB ? `: ${u.recommendedMemoryMiB - u.requestedMemoryMiB} MiB more than requested` : ': as requested';
    lines.push(`Recommended     ${u.recommendedMemoryMiB} MiB memory (p95 peak + 20 %, rounded up)${verdict}`);
  }
  return lines.join('\n') + '\n';
}

function outputFormat(value: string): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw new InvalidArgumentError('must be text or json');
  return value;
}

function limitArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be an integer from 1 to 10000');
  return n;
}

export function registerUsageCommands(program: Command, h: Helpers): void {
  program
    .command('describe')
    .description("print a job's main fields and each attempt's exit code, reason, peak memory and CPU time")
    .argument('<jobId>', 'job id (or job ARN)')
    .option('--endpoint-url <url>', `server to ask (default: AWS_ENDPOINT_URL_BATCH, AWS_ENDPOINT_URL, or ${h.defaultEndpoint})`)
    .option('--output <format>', 'text, or json (the full record: DescribeJobs plus each attempt\'s usage)', outputFormat, 'text')
    .action(async (jobRef: string, opts: { endpointUrl?: string; output: 'text' | 'json' }) => {
      const base = h.endpoint(opts.endpointUrl);
      const jobId = jobRef.replace(/^arn:[^:]+:batch:[^:]*:\d*:job\//, '');
      const job = await getJson(h, base, `/openbatch/v1/jobs/${encodeURIComponent(jobId)}`);
      process.stdout.write(opts.output === 'json' ? JSON.stringify(job, null, 2) + '\n' : formatJob(job));
    });

  program
    .command('usage')
    .description("summarise a job definition's measured usage (p50/p95 peak memory and CPU time) against its requested memory, with a recommendation")
    .argument('<jobDefinition>', 'job definition name (all revisions), name:revision or ARN')
    .option('--endpoint-url <url>', `server to ask (default: AWS_ENDPOINT_URL_BATCH, AWS_ENDPOINT_URL, or ${h.defaultEndpoint})`)
    .option('--limit <n>', 'look at the newest N measured attempts (default 1000)', limitArg)
    .option('--output <format>', 'text or json', outputFormat, 'text')
    .action(async (ref: string, opts: { endpointUrl?: string; limit?: number; output: 'text' | 'json' }) => {
      const base = h.endpoint(opts.endpointUrl);
      const query = opts.limit !== undefined ? `?limit=${opts.limit}` : '';
      const usage = (await getJson(h, base, `/openbatch/v1/job-definitions/${encodeURIComponent(ref)}/usage${query}`)) as JobDefinitionUsage;
      process.stdout.write(opts.output === 'json' ? JSON.stringify(usage, null, 2) + '\n' : formatUsage(usage));
    });
}
