// HTTPS: the server (the built CLI with --tls-cert/--tls-key, and authentication on) with a
// self-signed certificate made by openssl here; the SDK trusting it through an https agent, the
// AWS CLI v2 through --ca-bundle and AWS_CA_BUNDLE, boto3 through verify=, and `openbatch logs`
// through AWS_CA_BUNDLE. Skipped, loudly, without openssl (and the CLI/boto3 parts without those).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DescribeJobQueuesCommand, type BatchClient } from '@aws-sdk/client-batch';
import { AWS_CLI, SYSTEM_PYTHON, announceSkip, awsCliSkipReason, boto3SkipReason, cleanEnv, runIn } from '../helpers/aws.js';
import { CLI, TestServer, batchClient, httpGet, waitForStatus } from '../helpers/server.js';
import { registerDefinition, submit } from './sdk-helpers.js';

function opensslSkipReason(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `openssl is not available (${r.error?.message ?? r.stderr}): apt-get install -y openssl`;
}

const skip = announceSkip('test/e2e/auth-tls.test.ts', opensslSkipReason());
const cliSkip = skip ?? announceSkip('test/e2e/auth-tls.test.ts (AWS CLI part)', awsCliSkipReason());
const botoSkip = skip ?? announceSkip('test/e2e/auth-tls.test.ts (boto3 part)', boto3SkipReason());

const KEY = { accessKeyId: 'tls-key', secretAccessKey: 'tls-secret' };

describe('HTTPS with a self-signed certificate', { skip }, () => {
  let tmp: string;
  let cert: string;
  let server: TestServer;
  let client: BatchClient;
  let jobId = '';

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-tls-'));
    cert = path.join(tmp, 'cert.pem');
    const key = path.join(tmp, 'key.pem');
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    server = await new TestServer({ tls: { cert, key, ca: cert }, env: { OPENBATCH_CREDENTIALS: `${KEY.accessKeyId}:${KEY.secretAccessKey}` }, credentials: KEY }).start();
    client = server.client();
  });

  after(async () => {
    client?.destroy();
    await server?.stop();
    server?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the server says https, and /health answers over TLS', async () => {
    assert.match(server.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(JSON.parse((await httpGet(`${server.endpoint}/health`, fs.readFileSync(cert))).body), { status: 'ok' });
  });

  test('the SDK with the CA in its https agent: register, submit, SUCCEEDED', async () => {
    const def = await registerDefinition(client, 'tls-hello', ['sh', '-c', 'echo hello over tls']);
    jobId = await submit(client, { jobName: 'tls', jobQueue: 'default', jobDefinition: def.arn });
    assert.equal((await waitForStatus(client, jobId, 'SUCCEEDED')).status, 'SUCCEEDED');
  });

  test('without the CA the SDK refuses the certificate; plain HTTP on the TLS port gets nowhere', async () => {
    const untrusting = batchClient(server.endpoint, KEY);
    try {
      await assert.rejects(untrusting.send(new DescribeJobQueuesCommand({})), (e: Error & { code?: string }) => /self[- ]signed/i.test(`${e.code} ${e.message}`));
    } finally {
      untrusting.destroy();
    }
    await assert.rejects(fetch(server.endpoint.replace('https:', 'http:') + '/health'));
  });

  test('`openbatch logs` over HTTPS with AWS_CA_BUNDLE, signed', async () => {
    assert.ok(jobId, 'the SDK test must have run first');
    const env = { ...cleanEnv(tmp), AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey, AWS_CA_BUNDLE: cert };
    const r = await runIn(process.execPath, [CLI, 'logs', jobId, '--endpoint-url', server.endpoint], env, tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello over tls\n');
  });

  test('the AWS CLI v2 with --ca-bundle and with AWS_CA_BUNDLE; without, it fails verification', { skip: cliSkip }, async () => {
    const env = { ...cleanEnv(tmp), AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey };
    const args = ['batch', 'describe-job-queues', '--endpoint-url', server.endpoint, '--output', 'json'];
    const withFlag = await runIn(AWS_CLI, [...args, '--ca-bundle', cert], env, tmp);
    assert.equal(withFlag.code, 0, withFlag.stderr);
    assert.ok(JSON.parse(withFlag.stdout).jobQueues.some((q: { jobQueueName: string }) => q.jobQueueName === 'default'));
    const withEnv = await runIn(AWS_CLI, args, { ...env, AWS_CA_BUNDLE: cert }, tmp);
    assert.equal(withEnv.code, 0, withEnv.stderr);
    const without = await runIn(AWS_CLI, args, env, tmp);
    assert.notEqual(without.code, 0);
    assert.match(without.stderr, /SSL validation failed|CERTIFICATE_VERIFY_FAILED/);
  });

  test('boto3 with verify=<the certificate>', { skip: botoSkip }, async () => {
    const script = String.raw`
import json, sys, boto3
endpoint, ca = sys.argv[1:3]
c = boto3.client('batch', endpoint_url=endpoint, region_name='us-east-1', verify=ca)
print(json.dumps([q['jobQueueName'] for q in c.describe_job_queues()['jobQueues']]))
`;
    const file = path.join(tmp, 'tls.py');
    fs.writeFileSync(file, script);
    const env = { ...cleanEnv(tmp), AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey };
    const r = await runIn(SYSTEM_PYTHON, [file, server.endpoint, cert], env, tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).includes('default'));
  });
});
