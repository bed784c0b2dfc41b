// `openbatch workflow ...`: Step Functions state machines from the command line. `create` makes
// one from a definition file, `start` starts an execution, `watch` prints the states as they are
// entered and exited until the execution ends, exiting 0 only if it SUCCEEDED. Calls are the
// Step Functions API on the server, signed for `states` when AWS credentials are set.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Command } from 'commander';
import { credentialsFromEnv, signHeaders } from '../api/auth/client.js';

type Fail = (message: string) => never;

/** One Step Functions call; resolves to the answer, or calls `fail` with the API's error. */
export async function statesCall(base: string, op: string, body: Record<string, unknown>, fail: Fail): Promise<any> {
  const url = new URL(`${base}/`);
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AWSStepFunctions.${op}` };
  const credentials = credentialsFromEnv();
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const signed = credentials ? await signHeaders('POST', url, credentials, { region, service: 'states', body: text, headers }) : headers;
  const caFile = process.env.AWS_CA_BUNDLE;
  const ca = url.protocol === 'https:' && caFile ? fs.readFileSync(caFile) : undefined;
  const lib = url.protocol === 'https:' ? https : http;
  const { status, data } = await new Promise<{ status: number; data: string }>((resolve, reject) => {
    const req = lib.request(url, { method: 'POST', headers: signed, ...(ca ? { ca } : {}) }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, data }));
    });
    req.on('error', (e) => reject(e));
    req.end(text);
  }).catch((e: Error) => fail(`cannot reach OpenBatch at ${base}: ${e.message} (is it running? start it with: npm start)`));
  let parsed: any;
  try {
    parsed = JSON.parse(data);
  } catch {
    fail(`${op}: HTTP ${status}: ${data.slice(0, 200)}`);
  }
  if (status !== 200) fail(`${op}: ${parsed.__type ?? status}: ${parsed.message ?? data}`);
  return parsed;
}

function readJsonFile(file: string, what: string, fail: Fail): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    JSON.parse(text);
  } catch (e) {
    fail(`${what} ${file} is not JSON: ${(e as Error).message}`);
  }
  return text;
}

/** A state machine named or given by ARN → its ARN. */
async function stateMachineArn(base: string, ref: string, fail: Fail): Promise<string> {
  if (ref.startsWith('arn:')) return ref;
  let nextToken: string | undefined;
  do {
    const page = await statesCall(base, 'ListStateMachines', nextToken ? { nextToken } : {}, fail);
    const found = page.stateMachines.find((s: { name: string }) => s.name === ref);
    if (found) return found.stateMachineArn;
    nextToken = page.nextToken;
  } while (nextToken);
  return fail(`no state machine named ${ref} (create it with: openbatch workflow create ${ref} <definition.json>)`);
}

/** One line per history event worth showing: states entered and exited, tasks, the end. */
export function describeEvent(e: any): string | undefined {
  const at = new Date(e.timestamp * 1000).toISOString();
  const d = (key: string) => e[key] ?? {};
  if (e.type.endsWith('StateEntered')) return `${at}  entered  ${d('stateEnteredEventDetails').name} (${e.type.slice(0, -'StateEntered'.length)})`;
  if (e.type.endsWith('StateExited')) return `${at}  exited   ${d('stateExitedEventDetails').name}`;
  switch (e.type) {
    case 'TaskSubmitted': {
      const out = JSON.parse(d('taskSubmittedEventDetails').output ?? '{}');
      return `${at}  task     submitted ${d('taskSubmittedEventDetails').resource}${out.JobId ? ` job ${out.JobId}` : ''}`;
    }
    case 'TaskSucceeded':
      return `${at}  task     succeeded`;
    case 'TaskFailed':
    case 'TaskSubmitFailed': {
      const x = d(e.type === 'TaskFailed' ? 'taskFailedEventDetails' : 'taskSubmitFailedEventDetails');
      return `${at}  task     failed: ${x.error}: ${x.cause}`;
    }
    case 'ExecutionSucceeded':
      return `${at}  SUCCEEDED`;
    case 'ExecutionFailed':
      return `${at}  FAILED ${d('executionFailedEventDetails').error}: ${d('executionFailedEventDetails').cause}`;
    case 'ExecutionAborted':
      return `${at}  ABORTED`;
    case 'ExecutionTimedOut':
      return `${at}  TIMED_OUT`;
  }
  return undefined;
}

export function registerWorkflowCommands(program: Command, endpoint: (opt?: string) => string, fail: Fail): void {
  const workflow = program.command('workflow').description('Step Functions state machines: create, start, watch');
  const endpointHelp = 'server to ask (default: AWS_ENDPOINT_URL_BATCH, AWS_ENDPOINT_URL, or the local one)';

  workflow
    .command('create')
    .description('create a state machine from an Amazon States Language definition file')
    .argument('<name>', 'state machine name')
    .argument('<definition>', 'definition file (JSON)')
    .option('--role-arn <arn>', 'IAM role ARN (kept for compatibility; OpenBatch does not use it)', 'arn:aws:iam::000000000000:role/openbatch')
    .option('--endpoint-url <url>', endpointHelp)
    .action(async (name: string, file: string, opts: { roleArn: string; endpointUrl?: string }) => {
      const definition = readJsonFile(file, 'definition', fail);
      const out = await statesCall(endpoint(opts.endpointUrl), 'CreateStateMachine', { name, definition, roleArn: opts.roleArn }, fail);
      process.stdout.write(`${out.stateMachineArn}\n`);
    });

  workflow
    .command('start')
    .description('start an execution of a state machine (name or ARN); prints its ARN')
    .argument('<stateMachine>', 'state machine name or ARN')
    .option('--input <file>', 'execution input (a JSON file)')
    .option('--name <name>', 'execution name (default: a UUID)')
    .option('--watch', 'then watch it until it ends (exit code as for watch)')
    .option('--endpoint-url <url>', endpointHelp)
    .action(async (ref: string, opts: { input?: string; name?: string; watch?: boolean; endpointUrl?: string }) => {
      const base = endpoint(opts.endpointUrl);
      const input = opts.input !== undefined ? readJsonFile(opts.input, 'input', fail) : '{}';
      const arn = await stateMachineArn(base, ref, fail);
      const out = await statesCall(base, 'StartExecution', { stateMachineArn: arn, input, ...(opts.name ? { name: opts.name } : {}) }, fail);
      process.stdout.write(`${out.executionArn}\n`);
      if (opts.watch) process.exitCode = await watch(base, out.executionArn, fail);
    });

  workflow
    .command('watch')
    .description('print the states of an execution as they are entered and exited until it ends; exit 0 if it SUCCEEDED, 1 otherwise')
    .argument('<executionArn>', 'execution ARN')
    .option('--endpoint-url <url>', endpointHelp)
    .action(async (arn: string, opts: { endpointUrl?: string }) => {
      process.exitCode = await watch(endpoint(opts.endpointUrl), arn, fail);
    });
}

async function watch(base: string, executionArn: string, fail: Fail): Promise<number> {
  let lastId = 0;
  for (;;) {
    // The events after the last one printed: read the history newest first down to it, so a
    // long history is not read again at every poll.
    const fresh: any[] = [];
    let nextToken: string | undefined;
    let reached = false;
    do {
      const page = await statesCall(base, 'GetExecutionHistory', { executionArn, reverseOrder: true, maxResults: 100, ...(nextToken ? { nextToken } : {}) }, fail);
      for (const e of page.events) {
        if (e.id <= lastId) {
          reached = true;
          break;
        }
        fresh.push(e);
      }
      nextToken = page.nextToken;
    } while (!reached && nextToken);
    for (const e of fresh.reverse()) {
      lastId = e.id;
      const line = describeEvent(e);
      if (line) process.stdout.write(`${line}\n`);
      if (e.type === 'ExecutionSucceeded') return 0;
      if (['ExecutionFailed', 'ExecutionAborted', 'ExecutionTimedOut'].includes(e.type)) return 1;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
