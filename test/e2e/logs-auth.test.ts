// SigV4 on the CloudWatch Logs API: a key signed for `logs` reads a job's output (a read-only key
// or one limited to some job queues too, but neither may change a retention policy); an unsigned request and a signature scoped to
// another service are refused and change nothing; `openbatch logs --follow` signs its Batch and
// Logs calls with the key in the environment.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CloudWatchLogsClient, DescribeLogGroupsCommand, GetLogEventsCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { signHeaders } from '../../src/api/auth/client.js';
import { CLI, TestServer, run, waitForStatus } from '../helpers/server.js';
import { registerDefinition, submit } from './sdk-helpers.js';

const ADMIN = { accessKeyId: 'AKIAOPENBATCHADMIN01', secretAccessKey: 'admin-secret' };
const READER = { accessKeyId: 'reader', secretAccessKey: 'reader-secret' };
const TEAM = { accessKeyId: 'team', secretAccessKey: 'team-secret' };

let server: TestServer;
let tmp: string;
let stream = '';
let jobId = '';
const clients: CloudWatchLogsClient[] = [];
const logs = (credentials: { accessKeyId: string; secretAccessKey: string }) => {
  const c = new CloudWatchLogsClient({ endpoint: server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  clients.push(c);
  return c;
};

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-logs-auth-'));
  const file = path.join(tmp, 'credentials.json');
  fs.writeFileSync(file, JSON.stringify({ keys: [{ ...READER, readOnly: true }, { ...TEAM, jobQueues: ['default'] }] }), { mode: 0o600 });
  server = await new TestServer({ args: ['--credentials-file', file], env: { OPENBATCH_CREDENTIALS: `${ADMIN.accessKeyId}:${ADMIN.secretAccessKey}` }, credentials: ADMIN }).start();
  const batch = server.client();
  const def = (await registerDefinition(batch, 'auth-logs', ['sh', '-c', 'echo secret output'])).arn;
  jobId = await submit(batch, { jobName: 'auth-logs', jobQueue: 'default', jobDefinition: def });
  stream = (await waitForStatus(batch, jobId, 'SUCCEEDED')).container!.logStreamName!;
  batch.destroy();
});

after(async () => {
  for (const c of clients) c.destroy();
  await server?.stop();
  server?.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('a key signed for logs reads; unsigned and batch-scoped requests are refused and change nothing', async () => {
  const read = new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: stream, startFromHead: true });
  assert.deepEqual((await logs(ADMIN).send(read)).events?.map((e) => e.message), ['secret output']);
  assert.deepEqual((await logs(READER).send(read)).events?.map((e) => e.message), ['secret output'], 'a read-only key reads');
  await assert.rejects(logs(READER).send(new PutRetentionPolicyCommand({ logGroupName: '/aws/batch/job', retentionInDays: 1 })), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(e.$metadata?.httpStatusCode, 403, e.message);
    return true;
  });
  // A key limited to some queues reads, but may not change a group that holds every queue's output.
  assert.equal((await logs(TEAM).send(read)).events?.length, 1);
  await assert.rejects(logs(TEAM).send(new PutRetentionPolicyCommand({ logGroupName: '/aws/batch/job', retentionInDays: 1 })), { name: 'AccessDeniedException', message: /may use only job queues/ });
  await assert.rejects(logs({ ...ADMIN, secretAccessKey: 'wrong' }).send(read), (e: Error & { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === 403);

  const body = JSON.stringify({ logGroupName: '/aws/batch/job', retentionInDays: 1 });
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Logs_20140328.PutRetentionPolicy' };
  const unsigned = await fetch(new URL('/', server.endpoint), { method: 'POST', headers, body });
  assert.equal(unsigned.status, 403, await unsigned.text());
  const url = new URL('/', server.endpoint);
  const batchScoped = await fetch(url, { method: 'POST', headers: await signHeaders('POST', url, ADMIN, { service: 'batch', body, headers }), body });
  assert.equal(batchScoped.status, 403);
  assert.match(((await batchScoped.json()) as { message: string }).message, /'logs'/);
  const groups = await logs(ADMIN).send(new DescribeLogGroupsCommand({}));
  assert.equal(groups.logGroups?.[0].retentionInDays, undefined, 'no refused request set a retention');
  // Signed for logs by a key that may write: it works.
  const signed = await fetch(url, { method: 'POST', headers: await signHeaders('POST', url, ADMIN, { service: 'logs', body, headers }), body });
  assert.equal(signed.status, 200, await signed.text());
});

test('openbatch logs --follow signs its calls with the key in the environment', async () => {
  const env = { AWS_ACCESS_KEY_ID: READER.accessKeyId, AWS_SECRET_ACCESS_KEY: READER.secretAccessKey, AWS_REGION: 'us-east-1' };
  const ok = await run(process.execPath, [CLI, 'logs', jobId, '--follow', '--endpoint-url', server.endpoint], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'secret output\n');
  const refused = await run(process.execPath, [CLI, 'logs', jobId, '--follow', '--endpoint-url', server.endpoint], { ...env, AWS_SECRET_ACCESS_KEY: 'wrong' });
  assert.notEqual(refused.code, 0);
  assert.equal(refused.stdout, '');
});
