// `openbatch logs <jobId> --follow`: prints a job's output as it is written, through the same APIs
// any AWS client uses (Batch DescribeJobs for the job's state and log stream, CloudWatch Logs
// GetLogEvents with forward tokens for the lines), until the job ends. A read of a running
// attempt's stream indexes its newest lines on the spot (src/server/logs.ts), so a line shows
// within one poll (POLL_MS) of being written.

import fs from 'node:fs';
import { credentialsFromEnv } from '../api/auth/client.js';
import { postSigned } from './aws-config.js';

const POLL_MS = 200;
/** How long the server may be unreachable (restarting) before following gives up. */
const UNREACHABLE_MS = 30_000;
const DEFAULT_LOG_GROUP = '/aws/batch/job';

type Json = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** POST to an AWS API of the server, signed (for `service`) when credentials are in the environment. */
async function call(base: string, service: 'batch' | 'logs', path: string, body: Json, target?: string): Promise<Json> {
  const url = new URL(path, base);
  const headers: Record<string, string> = {
    'content-type': target ? 'application/x-amz-json-1.1' : 'application/json',
    ...(target ? { 'x-amz-target': target } : {}),
  };
  const caFile = process.env.AWS_CA_BUNDLE;
  const { status, text } = await postSigned(url, body, {
    service,
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials: credentialsFromEnv(),
    ca: url.protocol === 'https:' && caFile ? fs.readFileSync(caFile) : undefined,
    headers,
  });
  let out: Json = {};
  try {
    out = text ? (JSON.parse(text) as Json) : {};
  } catch {
    // not JSON: the status says it
  }
  if (status < 200 || status >= 300) throw new ApiError(String(out.__type ?? status), String(out.message ?? `HTTP ${status}`));
  return out;
}

interface StreamRef {
  group: string;
  stream: string;
}

/** The log group of a job, from its container's logConfiguration (awslogs-group), as executors name it. */
function logGroupOf(job: Json): string {
  const lc = (job.container as Json | undefined)?.logConfiguration as { logDriver?: string; options?: Record<string, string> } | undefined;
  return (lc?.logDriver === 'awslogs' ? lc.options?.['awslogs-group'] : undefined) ?? DEFAULT_LOG_GROUP;
}

/** The stream of attempt `n` (1-based), or of the current/last attempt; undefined until it has one. */
function streamOf(job: Json, n: number | undefined): StreamRef | undefined {
  const group = logGroupOf(job);
  const attempts = (job.attempts as Json[] | undefined) ?? [];
  if (n !== undefined) {
    const done = (attempts[n - 1]?.container as Json | undefined)?.logStreamName;
    if (typeof done === 'string') return { group, stream: done };
    // Not finished yet: the current attempt, when it is the one asked for.
    if (attempts.length !== n - 1) return undefined;
  }
  const current = (job.container as Json | undefined)?.logStreamName;
  return typeof current === 'string' ? { group, stream: current } : undefined;
}

const finished = (status: unknown) => status === 'SUCCEEDED' || status === 'FAILED';

/**
 * Follows a job's output until it has ended and every line is printed; resolves to its final
 * status. Without `attempt`, moves on to the next attempt when the job retries.
 */
export async function followJobLogs(base: string, jobId: string, attempt: number | undefined, write: (text: string) => void): Promise<string> {
  const describe = async (): Promise<Json> => {
    const out = await call(base, 'batch', '/v1/describejobs', { jobs: [jobId] });
    const job = (out.jobs as Json[] | undefined)?.[0];
    if (!job) throw new ApiError('ClientException', `Job ${jobId} does not exist`);
    return job;
  };
  let current: StreamRef | undefined;
  let token: string | undefined;
  /** Prints what the stream has past the token; true if it printed anything. */
  const drain = async (): Promise<boolean> => {
    if (!current) return false;
    let any = false;
    for (;;) {
      let out: Json;
      try {
        out = await call(base, 'logs', '/', { logGroupName: current.group, logStreamName: current.stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }, 'Logs_20140328.GetLogEvents');
      } catch (e) {
        // The attempt has not written its first byte yet: its stream comes a moment later.
        if (e instanceof ApiError && e.code === 'ResourceNotFoundException') return any;
        throw e;
      }
      const events = (out.events as { message: string }[] | undefined) ?? [];
      if (events.length > 0) write(events.map((e) => `${e.message}\n`).join(''));
      const next = out.nextForwardToken as string | undefined;
      const same = next === token;
      token = next;
      if (events.length === 0 || same) return any;
      any = true;
    }
  };
  let unreachableSince: number | undefined;
  for (;;) {
    try {
      const job = await describe();
      const ref = streamOf(job, attempt);
      if (ref && (ref.group !== current?.group || ref.stream !== current?.stream)) {
        // A new attempt (a retry) or the first one: finish the old stream, start the new one from its head.
        await drain();
        current = ref;
        token = undefined;
      }
      const done = finished(job.status) || (attempt !== undefined && ((job.attempts as unknown[] | undefined)?.length ?? 0) >= attempt);
      await drain();
      if (done) {
        // The job's end is recorded after its attempt's last write: one more read takes the rest.
        await drain();
        return String(job.status);
      }
      unreachableSince = undefined;
    } catch (e) {
      // The server restarting (jobs keep running meanwhile), or busy: keep trying for a while.
      if (e instanceof ApiError && !/^(TooManyRequestsException|ThrottlingException|ServerException|5\d\d)$/.test(e.code)) throw e;
      unreachableSince ??= Date.now();
      if (Date.now() - unreachableSince > UNREACHABLE_MS) throw e;
    }
    await new Promise((r) => setTimeout(r, unreachableSince === undefined ? POLL_MS : 500));
  }
}
