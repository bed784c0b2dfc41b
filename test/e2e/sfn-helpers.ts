// Helpers for the Step Functions end-to-end tests: the real AWS CLI (`aws stepfunctions ...`)
// for what users type, and direct awsJson calls for polling (faster than starting the CLI).

import { AWS_CLI, AwsCli, runIn, type Result } from '../helpers/aws.js';
import { waitFor } from '../helpers/server.js';

export class SfnCli extends AwsCli {
  stepfunctions(...args: string[]): Promise<Result> {
    return runIn(AWS_CLI, ['stepfunctions', ...args, '--endpoint-url', this.endpoint], this.env(), this.cwd);
  }

  async sfnOk<T = any>(...args: string[]): Promise<T> {
    const r = await this.stepfunctions(...args);
    if (r.code !== 0) throw new Error(`aws stepfunctions ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return (r.stdout.trim() === '' ? {} : JSON.parse(r.stdout)) as T;
  }
}

/** One Step Functions call over HTTP (the server has no keys: unsigned requests are accepted). */
export async function sfn<T = any>(endpoint: string, op: string, body: Record<string, unknown>): Promise<{ status: number; body: T }> {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AWSStepFunctions.${op}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export async function history(endpoint: string, executionArn: string): Promise<any[]> {
  const events: any[] = [];
  let nextToken: string | undefined;
  do {
    const r = await sfn(endpoint, 'GetExecutionHistory', { executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) });
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    events.push(...r.body.events);
    nextToken = r.body.nextToken;
  } while (nextToken);
  return events;
}

/** Waits (with a deadline) for the execution to end; returns DescribeExecution's answer. */
export function waitForExecution(endpoint: string, executionArn: string, timeoutMs = 90_000): Promise<any> {
  return waitFor(
    `execution ${executionArn} to end`,
    async () => {
      const r = await sfn(endpoint, 'DescribeExecution', { executionArn });
      return r.status === 200 && r.body.status !== 'RUNNING' ? r.body : undefined;
    },
    timeoutMs,
    100,
  );
}

/** The names of the states entered, in history order. */
export function enteredStates(events: any[]): string[] {
  return events.filter((e) => e.type.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails.name);
}
