// Correctness checks run after every scenario: a figure is only reported if the jobs really ended
// as they should. Every job's final state, each attempt's exit code and log file
// (<dataDir>/logs/<encoded group>/<encoded stream>), and the logs endpoint for a sample.
// A failed check throws CheckFailure: the scenario is reported as FAILED and `npm run bench` exits 1.

import fs from 'node:fs';
import path from 'node:path';
import type { JobDetail, JobStatus } from '@aws-sdk/client-batch';

/** The log group of jobs whose definition has no logConfiguration (as AWS names it). */
export const DEFAULT_LOG_GROUP = '/aws/batch/job';

export class CheckFailure extends Error {
  override name = 'CheckFailure';
}

export interface CheckRecord {
  name: string;
  detail: string;
}

/** The checks one scenario passed, in order, for the report. */
export class Checks {
  readonly passed: CheckRecord[] = [];

  that(ok: boolean, name: string, detail: string | (() => string)): void {
    const text = typeof detail === 'function' ? detail() : detail;
    if (!ok) throw new CheckFailure(`${name}: ${text}`);
    this.passed.push({ name, detail: text });
  }
}

export function logFilePath(dataDir: string, logGroupName: string, logStreamName: string): string {
  return path.join(dataDir, 'logs', encodeURIComponent(logGroupName), encodeURIComponent(logStreamName));
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) out[key(t)] = (out[key(t)] ?? 0) + 1;
  return out;
}

/**
 * Every job in `jobs` (as DescribeJobs returned them) ended SUCCEEDED, its last attempt exited 0,
 * and every attempt has its log file in the data dir. Samples `logSample` jobs on the logs endpoint.
 */
export async function checkSucceededJobs(
  checks: Checks,
  what: string,
  jobs: JobDetail[],
  expected: number,
  server: { endpoint: string; dataDir: string },
  logSample = 20,
): Promise<void> {
  checks.that(jobs.length === expected, `${what}: every job described`, `${jobs.length} of ${expected} jobs described`);
  const ids = new Set(jobs.map((j) => j.jobId));
  checks.that(ids.size === expected, `${what}: job ids unique`, `${ids.size} distinct ids`);
  const statuses = countBy(jobs, (j) => j.status ?? '?');
  checks.that((statuses.SUCCEEDED ?? 0) === expected, `${what}: all SUCCEEDED`, `statuses ${JSON.stringify(statuses)}`);
  let attempts = 0;
  const badExit: string[] = [];
  const missingLog: string[] = [];
  for (const j of jobs) {
    const as = j.attempts ?? [];
    attempts += as.length;
    const last = as[as.length - 1];
    if (!last || last.container?.exitCode !== 0) badExit.push(`${j.jobId} (${as.length} attempts, exit ${last?.container?.exitCode})`);
    for (const a of as) {
      const stream = a.container?.logStreamName;
      if (!stream || !fs.existsSync(logFilePath(server.dataDir, DEFAULT_LOG_GROUP, stream))) missingLog.push(`${j.jobId}: ${stream ?? 'no logStreamName'}`);
    }
  }
  checks.that(badExit.length === 0, `${what}: last attempt exited 0`, badExit.length ? `${badExit.length} jobs, e.g. ${badExit.slice(0, 3).join(', ')}` : `${expected} jobs`);
  checks.that(
    missingLog.length === 0,
    `${what}: a log file per attempt in the data dir`,
    missingLog.length ? `${missingLog.length} of ${attempts} missing, e.g. ${missingLog.slice(0, 3).join(', ')}` : `${attempts} attempts, ${attempts} files under logs/${encodeURIComponent(DEFAULT_LOG_GROUP)}/`,
  );
  await checkLogsEndpoint(checks, what, jobs, server.endpoint, logSample);
}

/** GET /openbatch/v1/jobs/<id>/logs answers 200 and names the last attempt's stream, for a spread sample. */
export async function checkLogsEndpoint(checks: Checks, what: string, jobs: JobDetail[], endpoint: string, sample: number): Promise<void> {
  const n = Math.min(sample, jobs.length);
  const bad: string[] = [];
  for (let k = 0; k < n; k++) {
    const j = jobs[Math.floor((k * jobs.length) / n)];
    const res = await fetch(`${endpoint}/openbatch/v1/jobs/${encodeURIComponent(j.jobId!)}/logs`);
    await res.arrayBuffer();
    const as = j.attempts ?? [];
    const stream = as[as.length - 1]?.container?.logStreamName;
    if (res.status !== 200 || res.headers.get('x-openbatch-log-stream') !== stream) bad.push(`${j.jobId}: ${res.status} ${res.headers.get('x-openbatch-log-stream')}`);
  }
  checks.that(bad.length === 0, `${what}: logs endpoint answers 200 for a sample`, bad.length ? bad.slice(0, 3).join(', ') : `${n} jobs sampled`);
}

/** An array parent's statusSummary is exactly `size` in `status` and nothing elsewhere. */
export function checkArraySummary(checks: Checks, what: string, parent: JobDetail | undefined, size: number, status: JobStatus): void {
  const summary = (parent?.arrayProperties?.statusSummary ?? {}) as Record<string, number>;
  const others = Object.entries(summary).filter(([k, v]) => k !== status && v !== 0);
  checks.that(
    summary[status] === size && others.length === 0,
    `${what}: statusSummary is exactly ${size} ${status}`,
    JSON.stringify(summary),
  );
}
