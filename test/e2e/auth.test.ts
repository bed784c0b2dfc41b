// SigV4 authentication with the real clients, against the real server (the built CLI) with keys
// from OPENBATCH_CREDENTIALS and a credentials file: @aws-sdk/client-batch, the AWS CLI v2
// (/usr/bin/aws), boto3 and `openbatch logs`. The right key works; a wrong secret, an unknown key,
// a stale date and a tampered body each get 403 and leave the store unchanged. The CLI and boto3
// parts are skipped, loudly, where those tools are missing.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BatchClient,
  CreateJobQueueCommand,
  DescribeJobQueuesCommand,
  ListJobsCommand,
  SubmitJobCommand,
} from '@aws-sdk/client-batch';
import { signHeaders } from '../../src/api/auth/client.js';
import { AWS_CLI, SYSTEM_PYTHON, announceSkip, awsCliSkipReason, boto3SkipReason, cleanEnv, runIn } from '../helpers/aws.js';
import { CLI, TestServer, batchClient, waitForStatus } from '../helpers/server.js';
import { listAll, metadataSnapshot, registerDefinition, submit } from './sdk-helpers.js';

const cliSkip = announceSkip('test/e2e/auth.test.ts (AWS CLI part)', awsCliSkipReason());
const botoSkip = announceSkip('test/e2e/auth.test.ts (boto3 part)', boto3SkipReason());

const ADMIN = { accessKeyId: 'AKIAOPENBATCHADMIN01', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const OTHER = { accessKeyId: 'second', secretAccessKey: 's3cr3t:with:colons' };
const READER = { accessKeyId: 'reader', secretAccessKey: 'reader-secret' };
const TEAM = { accessKeyId: 'team-default', secretAccessKey: 'team-secret' };

type Creds = { accessKeyId: string; secretAccessKey: string };

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

async function rejection(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (e) {
    return e as SdkError;
  }
  assert.fail('the call succeeded');
}

let server: TestServer;
let admin: BatchClient;
let tmp: string;
let jobDefinition = '';
const clients: BatchClient[] = [];

function client(creds: Creds, extra: Partial<ConstructorParameters<typeof BatchClient>[0]> = {}): BatchClient {
  const c = new BatchClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1, ...extra });
  clients.push(c);
  return c;
}

/**
 * Everything a write could change: compute environments, queues, definitions, every job of every
 * queue. Not desiredvCpus: it follows running jobs on its own, a moment after they end.
 */
async function digest(): Promise<string> {
  const meta = (await metadataSnapshot(admin)) as { ces?: { computeResources?: { desiredvCpus?: number } }[]; queues?: { jobQueueName?: string }[] };
  for (const ce of meta.ces ?? []) delete ce.computeResources?.desiredvCpus;
  const jobs = [];
  for (const q of meta.queues ?? []) jobs.push(await listAll(admin, { jobQueue: q.jobQueueName, filters: [{ name: 'JOB_NAME', values: ['*'] }] }));
  return JSON.stringify({ meta, jobs });
}

/** Runs /usr/bin/aws with these credentials (and the clean environment of test/helpers/aws.ts). */
function awsCli(creds: Creds, ...args: string[]) {
  const env = { ...cleanEnv(tmp), AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey };
  return runIn(AWS_CLI, ['batch', ...args, '--endpoint-url', server.endpoint, '--output', 'json'], env, tmp);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-e2e-auth-'));
  const file = path.join(tmp, 'credentials.json');
  fs.writeFileSync(file, JSON.stringify({ keys: [{ ...READER, readOnly: true }, { ...TEAM, jobQueues: ['default'] }] }), { mode: 0o600 });
  server = await new TestServer({
    args: ['--credentials-file', file],
    env: { OPENBATCH_CREDENTIALS: `${ADMIN.accessKeyId}:${ADMIN.secretAccessKey},${OTHER.accessKeyId}:${OTHER.secretAccessKey}` },
    credentials: ADMIN,
  }).start();
  admin = server.client();
  jobDefinition = (await registerDefinition(admin, 'auth-hello', ['sh', '-c', 'echo hello $AWS_BATCH_JOB_ID'])).arn;
});

after(async () => {
  admin?.destroy();
  for (const c of clients) c.destroy();
  await server?.stop();
  server?.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('@aws-sdk/client-batch', () => {
  test('the right key works (keys from OPENBATCH_CREDENTIALS and from the file)', async () => {
    const id = await submit(admin, { jobName: 'sdk-ok', jobQueue: 'default', jobDefinition });
    assert.equal((await waitForStatus(admin, id, 'SUCCEEDED')).status, 'SUCCEEDED');
    for (const creds of [OTHER, READER, TEAM]) {
      const out = await client(creds).send(new DescribeJobQueuesCommand({}));
      assert.ok(out.jobQueues?.some((q) => q.jobQueueName === 'default'), creds.accessKeyId);
    }
  });

  test('no key at all is refused (while the open /health still answers)', async () => {
    const res = await fetch(`${server.endpoint}/v1/describejobqueues`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
    assert.deepEqual(await res.json(), { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
    assert.deepEqual(await (await fetch(`${server.endpoint}/health`)).json(), { status: 'ok' });
  });

  test('a wrong secret, an unknown key and a stale date: 403, and the store is unchanged', async () => {
    const before = await digest();
    const input = { jobName: 'must-not-exist', jobQueue: 'default', jobDefinition };
    const queue = { jobQueueName: 'must-not-exist', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'default' }] };

    for (const [creds, extra, name, message] of [
      [{ ...ADMIN, secretAccessKey: 'not-the-secret' }, {}, 'InvalidSignatureException', /^The request signature we calculated does not match the signature you provided/],
      [{ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: ADMIN.secretAccessKey }, {}, 'UnrecognizedClientException', /^The security token included in the request is invalid\.$/],
      // The SDK signs with its clock shifted 20 minutes back: a stale x-amz-date.
      [ADMIN, { systemClockOffset: -20 * 60_000 }, 'InvalidSignatureException', /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/],
    ] as const) {
      const c = client(creds, extra);
      for (const call of [c.send(new SubmitJobCommand(input)), c.send(new CreateJobQueueCommand(queue)), c.send(new DescribeJobQueuesCommand({}))]) {
        const e = await rejection(call);
        assert.equal(e.$metadata?.httpStatusCode, 403, e.message);
        assert.equal(e.name, name, e.message);
        assert.match(e.message ?? '', message);
      }
    }
    assert.equal(await digest(), before);
  });

  test('a body changed after the SDK signed it: 403, and the store is unchanged', async () => {
    const before = await digest();
    const c = client(ADMIN);
    let tamper = true;
    let tampered = 0;
    // Runs after signing, just before the request goes out: renames the job (same length, so
    // content-length still holds).
    c.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body?: unknown };
        const text = req.body instanceof Uint8Array ? Buffer.from(req.body).toString('utf8') : typeof req.body === 'string' ? req.body : '';
        if (tamper && text.includes('"jobName":"tampered"')) {
          req.body = text.replace('"jobName":"tampered"', '"jobName":"tamperex"');
          tampered++;
        }
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'tamperAfterSigning' },
    );
    const e = await rejection(c.send(new SubmitJobCommand({ jobName: 'tampered', jobQueue: 'default', jobDefinition })));
    assert.equal(tampered, 1, 'the middleware changed the signed body');
    assert.equal(e.$metadata?.httpStatusCode, 403);
    assert.equal(e.name, 'InvalidSignatureException');
    assert.equal(await digest(), before);
    // The same client, untouched, is accepted: the middleware itself breaks nothing.
    tamper = false;
    const out = await c.send(new SubmitJobCommand({ jobName: 'tampered', jobQueue: 'default', jobDefinition }));
    await waitForStatus(admin, out.jobId!, 'SUCCEEDED');
  });

  test('a hand-signed request (no x-amz-content-sha256, as boto3 sends) with its body modified: 403, store unchanged', async () => {
    const before = await digest();
    const url = new URL(`${server.endpoint}/v1/submitjob`);
    const body = JSON.stringify({ jobName: 'hand-signed', jobQueue: 'default', jobDefinition });
    const headers = await signHeaders('POST', url, ADMIN, { body, headers: { 'content-type': 'application/json' }, applyChecksum: false });
    assert.equal(headers['x-amz-content-sha256'], undefined);
    const tampered = await fetch(url, { method: 'POST', headers, body: body.replace('hand-signed', 'hand-signex') });
    assert.equal(tampered.status, 403);
    assert.equal(((await tampered.json()) as { __type: string }).__type, 'InvalidSignatureException');
    assert.equal(await digest(), before);
    const ok = await fetch(url, { method: 'POST', headers, body });
    const text = await ok.text();
    assert.equal(ok.status, 200, text);
    await waitForStatus(admin, (JSON.parse(text) as { jobId: string }).jobId, 'SUCCEEDED');
  });

  test('a read-only key gets AccessDeniedException for writes; a queue-restricted key only uses its queue', async () => {
    const before = await digest();
    const ro = client(READER);
    const e = await rejection(ro.send(new SubmitJobCommand({ jobName: 'ro', jobQueue: 'default', jobDefinition })));
    assert.equal(e.$metadata?.httpStatusCode, 403);
    assert.equal(e.name, 'AccessDeniedException');
    assert.match(e.message ?? '', /not authorized to perform: batch:SubmitJob/);
    assert.ok((await ro.send(new ListJobsCommand({ jobQueue: 'default' }))).jobSummaryList);

    const team = client(TEAM);
    const e2 = await rejection(
      team.send(new CreateJobQueueCommand({ jobQueueName: 'elsewhere', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'default' }] })),
    );
    assert.equal(e2.name, 'AccessDeniedException');
    assert.match(e2.message ?? '', /job-queue\/elsewhere .*may use only job queues: default/);
    assert.equal(await digest(), before);
    const id = await submit(team, { jobName: 'team-job', jobQueue: 'default', jobDefinition });
    await waitForStatus(admin, id, 'SUCCEEDED');
  });
});

describe('AWS CLI v2', { skip: cliSkip }, () => {
  test('the right key works: register, submit, describe; `openbatch logs` signs with the same environment', async () => {
    const sub = await awsCli(ADMIN, 'submit-job', '--job-name', 'cli-ok', '--job-queue', 'default', '--job-definition', 'auth-hello');
    assert.equal(sub.code, 0, sub.stderr);
    const { jobId } = JSON.parse(sub.stdout);
    await waitForStatus(admin, jobId, 'SUCCEEDED');
    const desc = await awsCli(OTHER, 'describe-jobs', '--jobs', jobId);
    assert.equal(desc.code, 0, desc.stderr);
    assert.equal(JSON.parse(desc.stdout).jobs[0].status, 'SUCCEEDED');

    const env = { ...cleanEnv(tmp), AWS_ACCESS_KEY_ID: ADMIN.accessKeyId, AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey };
    const logs = await runIn(process.execPath, [CLI, 'logs', jobId, '--endpoint-url', server.endpoint], env, tmp);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, `hello ${jobId}\n`);
    const wrong = await runIn(process.execPath, [CLI, 'logs', jobId, '--endpoint-url', server.endpoint], { ...env, AWS_SECRET_ACCESS_KEY: 'nope' }, tmp);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /The request signature we calculated does not match/);
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...anonymous } = env;
    const none = await runIn(process.execPath, [CLI, 'logs', jobId, '--endpoint-url', server.endpoint], anonymous, tmp);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /Missing Authentication Token/);
  });

  test('a wrong secret and an unknown key: 403 errors, and the store is unchanged', async () => {
    const before = await digest();
    for (const [creds, type] of [
      [{ ...ADMIN, secretAccessKey: 'wrong-secret' }, 'InvalidSignatureException'],
      [{ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' }, 'UnrecognizedClientException'],
    ] as const) {
      for (const args of [
        ['submit-job', '--job-name', 'must-not-exist', '--job-queue', 'default', '--job-definition', 'auth-hello'],
        ['create-job-queue', '--job-queue-name', 'must-not-exist', '--priority', '1', '--compute-environment-order', 'order=1,computeEnvironment=default'],
        ['describe-job-queues'],
      ]) {
        const r = await awsCli(creds, ...args);
        assert.notEqual(r.code, 0, r.stdout);
        assert.match(r.stderr, new RegExp(`An error occurred \\(${type}\\) when calling the \\w+ operation`), r.stderr);
      }
    }
    const ro = await awsCli(READER, 'submit-job', '--job-name', 'ro', '--job-queue', 'default', '--job-definition', 'auth-hello');
    assert.match(ro.stderr, /An error occurred \(AccessDeniedException\) when calling the SubmitJob operation: User: reader is not authorized/);
    assert.equal(await digest(), before);
  });

  test('tags on an ARN (percent-encoded path) and untag with several keys (query) verify', async () => {
    const arn = 'arn:aws:batch:us-east-1:000000000000:job-queue/default';
    assert.equal((await awsCli(ADMIN, 'tag-resource', '--resource-arn', arn, '--tags', JSON.stringify({ 'a b': '1', 'c/d': '2' }))).code, 0);
    assert.equal((await awsCli(ADMIN, 'untag-resource', '--resource-arn', arn, '--tag-keys', 'a b', 'c/d')).code, 0);
    const tags = await awsCli(ADMIN, 'list-tags-for-resource', '--resource-arn', arn);
    assert.equal(tags.code, 0, tags.stderr);
    assert.deepEqual(JSON.parse(tags.stdout).tags, {});
  });
});

describe('boto3', { skip: botoSkip }, () => {
  test('the right key works; a wrong secret gets InvalidSignatureException (boto3 sends no x-amz-content-sha256)', async () => {
    const script = String.raw`
import json, sys, boto3, botocore.exceptions
endpoint, key, secret = sys.argv[1:4]
def client(s):
    return boto3.client('batch', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id=key, aws_secret_access_key=s,
                        config=botocore.config.Config(retries={'max_attempts': 0}))
out = {}
c = client(secret)
out['queues'] = [q['jobQueueName'] for q in c.describe_job_queues()['jobQueues']]
out['jobId'] = c.submit_job(jobName='boto3-auth', jobQueue='default', jobDefinition='auth-hello')['jobId']
try:
    client('wrong').describe_job_queues()
    out['wrong'] = 'accepted'
except botocore.exceptions.ClientError as e:
    out['wrong'] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
print(json.dumps(out))
`;
    const file = path.join(tmp, 'auth.py');
    fs.writeFileSync(file, script);
    const r = await runIn(SYSTEM_PYTHON, [file, server.endpoint, ADMIN.accessKeyId, ADMIN.secretAccessKey], cleanEnv(tmp), tmp);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(out.queues.includes('default'));
    assert.deepEqual(out.wrong, ['InvalidSignatureException', 403]);
    await waitForStatus(admin, out.jobId, 'SUCCEEDED');
  });
});

describe('starting the server', () => {
  test('refuses a non-loopback address without credentials, with a clear message', async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OPENBATCH_')) env[k] = v;
    const r = await runIn(process.execPath, [CLI, 'serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', path.join(tmp, 'refused')], env, tmp);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^openbatch: refusing to listen on 0\.0\.0\.0 without credentials: anyone who can reach the API can run commands on this host\./);
    assert.doesNotMatch(r.stdout, /listening/);
    assert.ok(!fs.existsSync(path.join(tmp, 'refused')));
  });

  test('a malformed credentials file stops the server with the file and the field named', async () => {
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ keys: [{ accessKeyId: 'k', secretAccessKey: 's', readonly: true }] }));
    const r = await runIn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', path.join(tmp, 'bad'), '--credentials-file', bad], { ...process.env } as Record<string, string>, tmp);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.json \(keys\[0\]\): unknown field\(s\) readonly/);
  });
});

// batchClient() from the helpers keeps its old signature for existing callers.
void batchClient;
