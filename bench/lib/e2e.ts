// N separate single jobs end to end: submit them all (a few calls in flight), then wait until
// every one has SUCCEEDED. The time reported runs from the first submit to the last job's
// stoppedAt (the server's own record, same host clock); the polled time is kept too.

import { SubmitJobCommand, type BatchClient, type JobDetail } from '@aws-sdk/client-batch';
import { CheckFailure } from './checks.js';
import { describeAll, listAll, mapParallel } from './client.js';
import { nowMs, sleep } from './stats.js';

export interface E2EResult {
  /** First submit → last stoppedAt, seconds. */
  seconds: number;
  /** First submit → the poll that saw all SUCCEEDED, seconds. */
  polledSeconds: number;
  /** First submit → last SubmitJob answered, seconds. */
  submitSeconds: number;
  jobs: JobDetail[];
}

export async function runSingleJobs(
  client: BatchClient,
  o: { jobQueue: string; jobDefinition: string; n: number; parallel: number; namePrefix: string; timeoutMs: number; alive: () => void },
): Promise<E2EResult> {
  const t0 = nowMs();
  const ids = await mapParallel(
    Array.from({ length: o.n }, (_, i) => i),
    o.parallel,
    async (i) => (await client.send(new SubmitJobCommand({ jobName: `${o.namePrefix}-${i}`, jobQueue: o.jobQueue, jobDefinition: o.jobDefinition }))).jobId!,
  );
  const tSubmitted = nowMs();
  const deadline = Date.now() + o.timeoutMs;
  let done = 0;
  for (;;) {
    done = (await listAll(client, { jobQueue: o.jobQueue, jobStatus: 'SUCCEEDED' })).length;
    if (done >= o.n) break;
    const failed = await listAll(client, { jobQueue: o.jobQueue, jobStatus: 'FAILED' });
    if (failed.length > 0) throw new CheckFailure(`${failed.length} of ${o.n} jobs FAILED, e.g. ${failed[0].jobId}: ${failed[0].statusReason}`);
    o.alive();
    if (Date.now() > deadline) throw new CheckFailure(`only ${done} of ${o.n} jobs SUCCEEDED after ${o.timeoutMs / 1000} s`);
    await sleep(50);
  }
  const tDone = nowMs();
  const jobs = await describeAll(client, ids);
  const lastStopped = Math.max(...jobs.map((j) => j.stoppedAt ?? NaN));
  return { seconds: (lastStopped - t0) / 1000, polledSeconds: (tDone - t0) / 1000, submitSeconds: (tSubmitted - t0) / 1000, jobs };
}
