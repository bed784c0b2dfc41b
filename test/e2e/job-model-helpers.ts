// Helpers shared by the job-model end-to-end suites (arrays, dependencies, retries-and-stops,
// timeouts, time-limits): the exact shapes AWS Batch documents for statusSummary and attempts[],
// gates that hold a job RUNNING until the test lets it go, and interval arithmetic over the
// startedAt/stoppedAt that DescribeJobs reports.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DescribeJobsCommand, ListJobsCommand, type AttemptDetail, type BatchClient, type JobDetail, type JobStatus } from '@aws-sdk/client-batch';
import { waitFor } from '../helpers/server.js';

export const STATUSES: JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];

/** An array parent's statusSummary as AWS reports it: all seven statuses, zero-filled. */
export function fullSummary(counts: Partial<Record<JobStatus, number>>): Record<JobStatus, number> {
  return Object.fromEntries(STATUSES.map((s) => [s, counts[s] ?? 0])) as Record<JobStatus, number>;
}

/** The log stream AWS names `<jobDefinitionName>/default/<ecs task id>`. */
export const LOG_STREAM = /^[A-Za-z0-9_-]+\/default\/[0-9a-f]{32}$/;
export const HOST_TERMINATED = /^Host EC2 \(instance i-[0-9a-f]{17}\) terminated\.$/;
export const CONTAINER_EXITED = 'Essential container in task exited';
export const DEPENDENT_FAILED = 'Dependent Job failed';

/** One ended attempt, in the AttemptDetail shape: container {exitCode, logStreamName, ...}, startedAt, stoppedAt, statusReason. */
export function assertAttempt(a: AttemptDetail, want: { exitCode?: number; statusReason: string | RegExp }, what = 'attempt'): void {
  assert.equal(a.container?.exitCode, want.exitCode, `${what}: container.exitCode`);
  assert.match(a.container?.logStreamName ?? '', LOG_STREAM, `${what}: container.logStreamName`);
  assert.equal(typeof a.startedAt, 'number', `${what}: startedAt`);
  assert.equal(typeof a.stoppedAt, 'number', `${what}: stoppedAt`);
  assert.ok(a.startedAt! <= a.stoppedAt!, `${what}: startedAt ${a.startedAt} <= stoppedAt ${a.stoppedAt}`);
  if (typeof want.statusReason === 'string') assert.equal(a.statusReason, want.statusReason, `${what}: statusReason`);
  else assert.match(a.statusReason ?? '', want.statusReason, `${what}: statusReason`);
}

/** A job that never ran: no attempts, no startedAt, a stoppedAt. */
export function assertNeverRan(j: JobDetail): void {
  assert.deepEqual(j.attempts, [], `${j.jobId}: attempts`);
  assert.equal(j.startedAt, undefined, `${j.jobId}: startedAt`);
  assert.equal(typeof j.stoppedAt, 'number', `${j.jobId}: stoppedAt`);
  assert.equal(j.container?.exitCode, undefined, `${j.jobId}: container.exitCode`);
}

/** The most intervals [start, stop) that hold at one instant (touching ends do not overlap). */
export function maxOverlap(intervals: { start: number; stop: number }[]): number {
  const events = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.stop, d: -1 },
  ]);
  // At equal times the stop comes first.
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let n = 0;
  let max = 0;
  for (const e of events) {
    n += e.d;
    max = Math.max(max, n);
  }
  return max;
}

/**
 * A file the test creates to let gated jobs finish. The job's command waits for it
 * (`GATE_WAIT`), so the job stays RUNNING exactly as long as the test needs it to.
 */
export class Gate {
  readonly path: string;
  constructor(dir: string, name: string) {
    this.path = path.join(dir, `gate-${name}`);
  }
  get env(): { name: string; value: string } {
    return { name: 'GATE', value: this.path };
  }
  open(): void {
    fs.writeFileSync(this.path, '');
  }
}

/** Shell that waits for $GATE to exist. */
export const GATE_WAIT = 'while [ ! -e "$GATE" ]; do sleep 0.05; done';

/** DescribeJobs of any number of ids (in chunks of 100), in the order asked for. */
export async function describeMany(client: BatchClient, ids: string[]): Promise<JobDetail[]> {
  const out: JobDetail[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    out.push(...((await client.send(new DescribeJobsCommand({ jobs: ids.slice(i, i + 100) }))).jobs ?? []));
  }
  return out;
}

/** Waits until every job is in one of `statuses`; returns them in order. */
export async function waitForAll(client: BatchClient, ids: string[], statuses: JobStatus | JobStatus[], timeoutMs = 20_000): Promise<JobDetail[]> {
  const want = Array.isArray(statuses) ? statuses : [statuses];
  let last: JobDetail[] = [];
  try {
    return await waitFor(
      `${ids.length} jobs to reach ${want.join('/')}`,
      async () => {
        last = await describeMany(client, ids);
        return last.length === ids.length && last.every((j) => want.includes(j.status as JobStatus)) ? last : undefined;
      },
      timeoutMs,
      50,
    );
  } catch (e) {
    const seen = last.map((j) => `${j.jobId}=${j.status}`).join(', ');
    throw new Error(`${(e as Error).message} (last seen: ${seen})`);
  }
}

/** Child ids of an array parent: `<parent>:<i>`. */
export const childIds = (parent: string, size: number): string[] => Array.from({ length: size }, (_, i) => `${parent}:${i}`);

/** Asserts that no job of that name exists in the queue, in any status (ListJobs JOB_NAME filter). */
export async function assertNoJobNamed(client: BatchClient, queue: string, jobName: string): Promise<void> {
  const out = await client.send(new ListJobsCommand({ jobQueue: queue, filters: [{ name: 'JOB_NAME', values: [jobName] }] }));
  assert.deepEqual(out.jobSummaryList, [], `a rejected SubmitJob created job ${jobName}`);
}
