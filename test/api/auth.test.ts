// SigV4 authentication, authorization (read-only keys, queue allow-lists), the URL limit and the
// rate limit, in process: a real server (startServer) with keys, driven through app.inject() with
// requests signed by @smithy/signature-v4 the way the SDKs sign them, then altered the ways an
// attacker or a broken client would.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { signHeaders } from '../../src/api/auth/client.js';
import {
  CredentialsError,
  isLoopbackHost,
  loadCredentials,
  parseCredentialsEnv,
  parseCredentialsFile,
  RateLimiter,
  resetSecurityCounters,
  securityCounters,
} from '../../src/api/auth/index.js';
import { joinRawHeaders, parseAmzDate, parseAuthorization } from '../../src/api/auth/sigv4.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

const HOST = 'openbatch.test';
const ADMIN = { accessKeyId: 'admin', secretAccessKey: 'admin-secret/with+chars=' };
const READER = { accessKeyId: 'reader', secretAccessKey: 'reader-secret' };
const TEAM_A = { accessKeyId: 'team-a', secretAccessKey: 'team-a-secret' };
const ENV_KEY = { accessKeyId: 'envkey', secretAccessKey: 'env:secret' };
const ARN = 'arn:aws:batch:us-east-1:000000000000';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

type Creds = { accessKeyId: string; secretAccessKey: string };

interface SendOptions {
  method?: string;
  /** Path and query as sent (still encoded). */
  url: string;
  body?: string;
  creds?: Creds;
  /** What the signature is computed over, when it differs from what is sent. */
  signUrl?: string;
  signBody?: string;
  signingDate?: Date;
  service?: string;
  /** Headers included in the signature. */
  headers?: Record<string, string>;
  /** Headers added after signing (replace signed ones of the same name). */
  after?: Record<string, string | string[] | undefined>;
  /** false: no x-amz-content-sha256, like boto3 and the AWS CLI. */
  applyChecksum?: boolean;
}

let server: RunningServer;
let tmp: string;

async function send(o: SendOptions): Promise<LightMyRequestResponse> {
  const method = o.method ?? 'POST';
  const body = o.body ?? (method === 'POST' ? '{}' : undefined);
  const headers: Record<string, string | string[] | undefined> = { host: HOST, 'content-type': 'application/json', ...(o.headers ?? {}) };
  if (o.creds) {
    const signed = await signHeaders(method, new URL(`http://${HOST}${o.signUrl ?? o.url}`), o.creds, {
      body: o.signBody ?? body,
      headers: headers as Record<string, string>,
      signingDate: o.signingDate,
      service: o.service,
      applyChecksum: o.applyChecksum,
    });
    Object.assign(headers, signed);
  }
  for (const [k, v] of Object.entries(o.after ?? {})) {
    delete headers[k];
    if (v !== undefined) headers[k] = v;
  }
  return server.app.inject({ method: method as 'POST', url: o.url, headers, ...(body !== undefined ? { payload: body } : {}) });
}

function assertAwsError(res: LightMyRequestResponse, status: number, type: string, message?: string | RegExp): string {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['x-amzn-errortype'], type, res.body);
  const body = res.json() as { __type: string; message: string };
  assert.equal(body.__type, type);
  if (typeof message === 'string') assert.equal(body.message, message);
  else if (message) assert.match(body.message, message);
  return body.message;
}

/** Everything a rejected request could have changed: queues, compute environments, definitions, jobs. */
async function storeDigest(): Promise<string> {
  const parts: unknown[] = [];
  for (const url of ['/v1/describecomputeenvironments', '/v1/describejobqueues', '/v1/describejobdefinitions']) {
    parts.push((await send({ url, creds: ADMIN })).json());
  }
  for (const q of ['team-a', 'team-b']) {
    parts.push((await send({ url: '/v1/listjobs', creds: ADMIN, body: JSON.stringify({ jobQueue: q, filters: [{ name: 'JOB_NAME', values: ['*'] }] }) })).json());
  }
  parts.push((await send({ method: 'GET', url: `/v1/tags/${encodeURIComponent(`${ARN}:job-queue/team-a`)}`, creds: ADMIN })).json());
  return JSON.stringify(parts);
}

async function submit(creds: Creds, queue: string, name = 'j'): Promise<LightMyRequestResponse> {
  return send({ url: '/v1/submitjob', creds, body: JSON.stringify({ jobName: name, jobQueue: queue, jobDefinition: 'big' }) });
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-auth-'));
  const file = path.join(tmp, 'credentials.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      keys: [
        { ...ADMIN, description: 'operators' },
        { ...READER, readOnly: true },
        { ...TEAM_A, jobQueues: ['team-a', `${ARN}:job-queue/team-a2`] },
      ],
    }),
    { mode: 0o600 },
  );
  server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir: path.join(tmp, 'data'),
    logLevel: 'warn',
    createDefaults: false,
    hostResources: { cpus: 2, memory: 4096, gpus: 0 },
    credentialsFile: file,
    credentials: `${ENV_KEY.accessKeyId}:${ENV_KEY.secretAccessKey}`,
  });
  // Jobs that need 2 vCPUs on a 1-vCPU compute environment stay RUNNABLE: nothing ever runs.
  const setup: [string, unknown][] = [
    ['/v1/createcomputeenvironment', { computeEnvironmentName: 'ce', type: 'MANAGED', computeResources: { type: 'EC2', maxvCpus: 1, minvCpus: 0, subnets: [], instanceTypes: ['optimal'] } }],
    ['/v1/createjobqueue', { jobQueueName: 'team-a', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }] }],
    ['/v1/createjobqueue', { jobQueueName: 'team-b', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }] }],
    ['/v1/registerjobdefinition', { jobDefinitionName: 'big', type: 'container', containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '2' }, { type: 'MEMORY', value: '16' }] } }],
  ];
  for (const [url, body] of setup) {
    const res = await send({ url, creds: ADMIN, body: JSON.stringify(body) });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  }
});

after(async () => {
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('credentials', () => {
  test('OPENBATCH_CREDENTIALS: KEY:SECRET pairs, a secret may hold colons', () => {
    const keys = parseCredentialsEnv('a:1, b:x:y:z ,');
    assert.deepEqual(
      keys.map((k) => [k.accessKeyId, k.secretAccessKey, k.readOnly]),
      [
        ['a', '1', false],
        ['b', 'x:y:z', false],
      ],
    );
    assert.throws(() => parseCredentialsEnv('nocolon'), /entry 1 is not KEY:SECRET/);
    assert.throws(() => parseCredentialsEnv('a:'), /empty secret/);
    assert.throws(() => parseCredentialsEnv(' , '), /holds no KEY:SECRET/);
    assert.throws(() => parseCredentialsEnv('bad/key:s'), /access key id/);
  });

  test('the JSON file: keys with readOnly and jobQueues (names or ARNs); typos refused', () => {
    const keys = parseCredentialsFile(JSON.stringify({ keys: [{ accessKeyId: 'k', secretAccessKey: 's', readOnly: true, jobQueues: ['q', `${ARN}:job-queue/r`] }] }), 'f.json');
    assert.equal(keys[0].readOnly, true);
    assert.deepEqual(keys[0].jobQueues, ['q', 'r']);
    assert.equal(parseCredentialsFile(JSON.stringify([{ accessKeyId: 'k', secretAccessKey: 's' }]), 'f.json')[0].readOnly, false);
    assert.throws(() => parseCredentialsFile(JSON.stringify({ keys: [{ accessKeyId: 'k', secretAccessKey: 's', readonly: true }] }), 'f.json'), /unknown field\(s\) readonly/);
    assert.throws(() => parseCredentialsFile('{"keys": [', 'f.json'), /f\.json: not valid JSON/);
    assert.throws(() => parseCredentialsFile('{"keys": []}', 'f.json'), /holds no keys/);
    assert.throws(() => parseCredentialsFile('{"keys": [{"accessKeyId": "k", "secretAccessKey": "s", "readOnly": "yes"}]}', 'f.json'), /readOnly must be true or false/);
    assert.throws(() => parseCredentialsFile('{"keys": [{"accessKeyId": "k", "secretAccessKey": "s", "jobQueues": "q"}]}', 'f.json'), /jobQueues must be an array/);
    assert.throws(() => parseCredentialsFile('{"key": []}', 'f.json'), /expected \{"keys": \[...\]\}/);
  });

  test('loadCredentials: none configured means off; a key configured twice is an error; a world-readable file warns', () => {
    assert.equal(loadCredentials({}), undefined);
    assert.equal(loadCredentials({ env: '' }), undefined);
    assert.throws(() => loadCredentials({ env: 'a:1,a:2' }), (e: Error) => e instanceof CredentialsError && /configured twice/.test(e.message));
    const f = path.join(tmp, 'loose.json');
    fs.writeFileSync(f, JSON.stringify({ keys: [{ accessKeyId: 'a', secretAccessKey: 'x' }] }), { mode: 0o644 });
    fs.chmodSync(f, 0o644);
    const warnings: string[] = [];
    const keys = loadCredentials({ file: f, env: 'b:y' }, (m) => warnings.push(m));
    assert.deepEqual([...keys!.keys()], ['a', 'b']);
    assert.match(warnings.join('\n'), /readable by other users .*chmod 600/);
    assert.throws(() => loadCredentials({ file: path.join(tmp, 'missing.json') }), /cannot read the credentials file/);
  });

  test('loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '192.168.1.5', '10.0.0.1', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  });

  test('the server refuses to listen beyond loopback without credentials, and needs both TLS files', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
      await assert.rejects(startServer({ host, port: 0, dataDir: path.join(tmp, 'never') }), /refusing to listen on .* without credentials.*OPENBATCH_CREDENTIALS/);
    }
    assert.ok(!fs.existsSync(path.join(tmp, 'never')), 'nothing is created before the refusal');
    await assert.rejects(startServer({ port: 0, dataDir: path.join(tmp, 'never'), tlsCert: '/x.pem' }), /TLS needs both/);
  });
});

describe('SigV4 parsing', () => {
  test('Authorization header', () => {
    const a = parseAuthorization(`AWS4-HMAC-SHA256 Credential=AK/20240102/eu-west-1/batch/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`);
    assert.deepEqual(a, { accessKeyId: 'AK', scopeDate: '20240102', region: 'eu-west-1', service: 'batch', signedHeaders: ['host', 'x-amz-date'], signature: 'a'.repeat(64) });
    // botocore writes no space after the commas
    assert.equal(parseAuthorization(`AWS4-HMAC-SHA256 Credential=AK/20240102/r/batch/aws4_request,SignedHeaders=host,Signature=${'b'.repeat(64)}`).signature, 'b'.repeat(64));
    assert.throws(() => parseAuthorization('Basic dXNlcjpwYXNz'), /Unsupported signing algorithm/);
    assert.throws(() => parseAuthorization('AWS4-HMAC-SHA256 Credential=AK/20240102/r/batch/aws4_request'), /requires 'SignedHeaders' parameter.*requires 'Signature' parameter/);
    assert.throws(() => parseAuthorization(`AWS4-HMAC-SHA256 Credential=AK/r/batch/aws4_request, SignedHeaders=host, Signature=${'a'.repeat(64)}`), /5 slash-delimited/);
  });

  test('repeated headers are joined with "," after trimming each value', () => {
    assert.deepEqual([...joinRawHeaders(['X-A', ' 1 ', 'x-a', '2', 'Host', 'h'])], [
      ['x-a', '1,2'],
      ['host', 'h'],
    ]);
  });

  test('x-amz-date is the exact basic ISO form', () => {
    assert.equal(parseAmzDate('20240229T235959Z'), Date.UTC(2024, 1, 29, 23, 59, 59));
    for (const bad of ['20230229T000000Z', '2024-01-01T00:00:00Z', '20240101T000000', '20241301T000000Z']) assert.equal(parseAmzDate(bad), undefined, bad);
  });
});

describe('authentication', () => {
  test('GET /health is open and says nothing else', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  test('the right key works: from the file and from OPENBATCH_CREDENTIALS', async () => {
    for (const creds of [ADMIN, ENV_KEY, READER, TEAM_A]) {
      const res = await send({ url: '/v1/describejobqueues', creds });
      assert.equal(res.statusCode, 200, `${creds.accessKeyId}: ${res.body}`);
      assert.deepEqual((res.json() as { jobQueues: { jobQueueName: string }[] }).jobQueues.map((q) => q.jobQueueName).sort(), ['team-a', 'team-b']);
    }
  });

  test('no Authorization header: MissingAuthenticationTokenException, on every route but /health', async () => {
    resetSecurityCounters();
    for (const [method, url] of [
      ['POST', '/v1/describejobqueues'],
      ['GET', `/v1/tags/${encodeURIComponent(`${ARN}:job-queue/team-a`)}`],
      ['GET', '/openbatch/v1/jobs/x/logs'],
      ['POST', '/openbatch/v1/jobs/x/reclaim'],
      ['POST', '/no/such/route'],
    ]) {
      assertAwsError(await send({ method, url }), 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    assert.equal(securityCounters().authFailures.missing_token, 5);
  });

  test('unknown access key: UnrecognizedClientException', async () => {
    const res = await send({ url: '/v1/describejobqueues', creds: { accessKeyId: 'nobody', secretAccessKey: ADMIN.secretAccessKey } });
    assertAwsError(res, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  });

  test('wrong secret: InvalidSignatureException with AWS wording', async () => {
    resetSecurityCounters();
    const res = await send({ url: '/v1/describejobqueues', creds: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'wrong' } });
    assertAwsError(res, 403, 'InvalidSignatureException', SIGNATURE_MISMATCH);
    assert.equal(securityCounters().authFailures.bad_signature, 1);
  });

  test('a date more than 15 minutes off: Signature expired / not yet current', async () => {
    resetSecurityCounters();
    const stale = await send({ url: '/v1/describejobqueues', creds: ADMIN, signingDate: new Date(Date.now() - 16 * 60_000) });
    assertAwsError(stale, 403, 'InvalidSignatureException', /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
    const future = await send({ url: '/v1/describejobqueues', creds: ADMIN, signingDate: new Date(Date.now() + 16 * 60_000) });
    assertAwsError(future, 403, 'InvalidSignatureException', /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 15 min\.\)$/);
    assert.equal(securityCounters().authFailures.expired, 2);
    // Within the window is fine.
    assert.equal((await send({ url: '/v1/describejobqueues', creds: ADMIN, signingDate: new Date(Date.now() - 10 * 60_000) })).statusCode, 200);
  });

  test('a tampered body is refused whether or not x-amz-content-sha256 is sent, and changes nothing', async () => {
    const before = await storeDigest();
    const signed = JSON.stringify({ jobQueueName: 'team-c', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }] });
    const sent = JSON.stringify({ jobQueueName: 'team-d', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }] });
    // The SDKs send x-amz-content-sha256 (of the signed body): it no longer matches.
    assertAwsError(await send({ url: '/v1/createjobqueue', creds: ADMIN, signBody: signed, body: sent }), 403, 'InvalidSignatureException', SIGNATURE_MISMATCH);
    // A client that claims the hash of what it sends: the signature still covers the signed body.
    const { createHash } = await import('node:crypto');
    const claimed = createHash('sha256').update(sent).digest('hex');
    assertAwsError(await send({ url: '/v1/createjobqueue', creds: ADMIN, signBody: signed, body: sent, after: { 'x-amz-content-sha256': claimed } }), 403, 'InvalidSignatureException');
    // Python clients send no x-amz-content-sha256: the body is hashed here.
    assertAwsError(await send({ url: '/v1/createjobqueue', creds: ADMIN, signBody: signed, body: sent, applyChecksum: false }), 403, 'InvalidSignatureException');
    // A signed x-amz-content-sha256 removed on the way: refused.
    assertAwsError(await send({ url: '/v1/describejobqueues', creds: ADMIN, after: { 'x-amz-content-sha256': undefined } }), 403, 'InvalidSignatureException');
    assert.equal(await storeDigest(), before);
    // ...while an untampered request without the header is accepted.
    const ok = await send({ url: '/v1/describejobqueues', creds: ADMIN, applyChecksum: false });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test('tampering with the path, query, a signed header or the host is refused; unsigned headers may change', async () => {
    const tagsA = `/v1/tags/${encodeURIComponent(`${ARN}:job-queue/team-a`)}`;
    const tagsB = `/v1/tags/${encodeURIComponent(`${ARN}:job-queue/team-b`)}`;
    assertAwsError(await send({ method: 'GET', url: tagsB, signUrl: tagsA, creds: ADMIN }), 403, 'InvalidSignatureException');
    assertAwsError(await send({ method: 'DELETE', url: `${tagsA}?tagKeys=b`, signUrl: `${tagsA}?tagKeys=a`, creds: ADMIN }), 403, 'InvalidSignatureException');
    assertAwsError(await send({ url: '/v1/describejobqueues', creds: ADMIN, headers: { 'x-amz-target': 'a' }, after: { 'x-amz-target': 'b' } }), 403, 'InvalidSignatureException');
    assertAwsError(await send({ url: '/v1/describejobqueues', creds: ADMIN, after: { host: 'elsewhere.test' } }), 403, 'InvalidSignatureException');
    // A signed header that does not arrive cannot verify.
    assertAwsError(await send({ url: '/v1/describejobqueues', creds: ADMIN, headers: { 'x-amz-target': 'a' }, after: { 'x-amz-target': undefined } }), 403, 'InvalidSignatureException');
    // user-agent is never signed: proxies may change it.
    assert.equal((await send({ url: '/v1/describejobqueues', creds: ADMIN, headers: { 'user-agent': 'a' }, after: { 'user-agent': 'b' } })).statusCode, 200);
  });

  test('encoded paths and repeated query keys verify (tags of an ARN, untag several keys)', async () => {
    const arn = `${ARN}:job-queue/team-a`;
    const tags = `/v1/tags/${encodeURIComponent(arn)}`;
    const tag = await send({ url: tags, creds: ADMIN, body: JSON.stringify({ tags: { 'a b': '1', 'c/d': '2', 'e=f&g': '3' } }) });
    assert.equal(tag.statusCode, 200, tag.body);
    const listed = await send({ method: 'GET', url: tags, creds: ADMIN });
    assert.deepEqual(listed.json(), { tags: { 'a b': '1', 'c/d': '2', 'e=f&g': '3' } });
    const keys = ['a b', 'c/d', 'e=f&g'].map((k) => `tagKeys=${encodeURIComponent(k)}`).join('&');
    const untag = await send({ method: 'DELETE', url: `${tags}?${keys}`, creds: ADMIN });
    assert.equal(untag.statusCode, 200, untag.body);
    assert.deepEqual((await send({ method: 'GET', url: tags, creds: ADMIN })).json(), { tags: {} });
  });

  test('a header sent twice is signed as its values joined with ","', async () => {
    const res = await send({ url: '/v1/describejobqueues', creds: ADMIN, headers: { 'x-amz-meta-twice': 'one,two' }, after: { 'x-amz-meta-twice': ['one', 'two'] } });
    assert.equal(res.statusCode, 200, res.body);
  });

  test('the credential scope must name a service this endpoint speaks', async () => {
    resetSecurityCounters();
    assertAwsError(await send({ url: '/v1/describejobqueues', creds: ADMIN, service: 's3' }), 403, 'InvalidSignatureException', "Credential should be scoped to correct service: 'batch'.");
    assertAwsError(await send({ url: '/v1/describejobqueues', creds: ADMIN, service: 'logs' }), 403, 'InvalidSignatureException', "Credential should be scoped to correct service: 'batch'.");
    // OpenBatch's own endpoints take any of the services it speaks.
    assert.equal((await send({ method: 'GET', url: '/openbatch/v1/jobs/nope/logs', creds: ADMIN, service: 'logs' })).statusCode, 404);
    assertAwsError(await send({ method: 'GET', url: '/openbatch/v1/jobs/nope/logs', creds: ADMIN, service: 'sqs' }), 403, 'InvalidSignatureException', /correct service: 'batch', 'logs', 'events', 'states'/);
    assert.equal(securityCounters().authFailures.wrong_service, 3);
  });

  test('an independent SigV4 implementation (node:crypto only) verifies, also with a Date header instead of X-Amz-Date', async () => {
    const { createHash, createHmac } = await import('node:crypto');
    const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
    const sha = (data: string) => createHash('sha256').update(data).digest('hex');
    const sign = (creds: Creds, dateHeader: { name: 'x-amz-date' | 'date'; value: string }, longDate: string, body: string) => {
      const day = longDate.slice(0, 8);
      const scope = `${day}/us-east-1/batch/aws4_request`;
      // Headers sorted by name, SignedHeaders likewise.
      const headers = [[dateHeader.name, dateHeader.value], ['host', HOST]].sort(([x], [y]) => (x < y ? -1 : 1));
      const signedHeaders = headers.map(([n]) => n).join(';');
      const canonical = ['POST', '/v1/describejobqueues', '', ...headers.map(([n, v]) => `${n}:${v}`), '', signedHeaders, sha(body)].join('\n');
      const toSign = ['AWS4-HMAC-SHA256', longDate, scope, sha(canonical)].join('\n');
      let key = hmac(`AWS4${creds.secretAccessKey}`, day);
      for (const part of ['us-east-1', 'batch', 'aws4_request']) key = hmac(key, part);
      const signature = createHmac('sha256', key).update(toSign).digest('hex');
      return {
        host: HOST,
        [dateHeader.name]: dateHeader.value,
        authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
      };
    };
    const now = new Date();
    now.setUTCMilliseconds(0);
    const longDate = now.toISOString().replace(/\.000Z$/, 'Z').replace(/[-:]/g, '');
    const inject = (headers: Record<string, string>, payload = '{}') => server.app.inject({ method: 'POST', url: '/v1/describejobqueues', headers, payload });
    assert.equal((await inject(sign(ADMIN, { name: 'x-amz-date', value: longDate }, longDate, '{}'))).statusCode, 200);
    assert.equal((await inject(sign(ADMIN, { name: 'date', value: now.toUTCString() }, longDate, '{}'))).statusCode, 200);
    assertAwsError(await inject(sign(ADMIN, { name: 'date', value: now.toUTCString() }, longDate, '{}'), '{ }'), 403, 'InvalidSignatureException');
  });

  test('malformed Authorization headers: IncompleteSignatureException', async () => {
    const res = await send({ url: '/v1/describejobqueues', after: { authorization: 'AWS4-HMAC-SHA256 Credential=admin/20240101/us-east-1/batch/aws4_request' } });
    assertAwsError(res, 403, 'IncompleteSignatureException', /requires 'SignedHeaders' parameter/);
    const noDate = await send({ url: '/v1/describejobqueues', creds: ADMIN, after: { 'x-amz-date': undefined } });
    assertAwsError(noDate, 403, 'IncompleteSignatureException', /'X-Amz-Date' or a 'Date' header/);
  });
});

describe('authorization', () => {
  test('a read-only key reads, and gets AccessDeniedException naming the operation for anything else', async () => {
    const before = await storeDigest();
    for (const url of ['/v1/describejobqueues', '/v1/describecomputeenvironments', '/v1/describejobdefinitions', '/v1/listschedulingpolicies']) {
      assert.equal((await send({ url, creds: READER })).statusCode, 200, url);
    }
    assert.equal((await send({ url: '/v1/getjobqueuesnapshot', creds: READER, body: JSON.stringify({ jobQueue: 'team-a' }) })).statusCode, 200);
    assertAwsError(await submit(READER, 'team-a'), 403, 'AccessDeniedException', /^User: reader is not authorized to perform: batch:SubmitJob on resource: \* \(access key reader is read-only/);
    assertAwsError(await send({ url: '/v1/createjobqueue', creds: READER, body: '{"not":"even valid"}' }), 403, 'AccessDeniedException', /batch:CreateJobQueue/);
    const tags = `/v1/tags/${encodeURIComponent(`${ARN}:job-queue/team-a`)}`;
    assert.equal((await send({ method: 'GET', url: tags, creds: READER })).statusCode, 200);
    assertAwsError(await send({ url: tags, creds: READER, body: '{"tags":{"x":"y"}}' }), 403, 'AccessDeniedException', /batch:TagResource/);
    assertAwsError(await send({ method: 'DELETE', url: `${tags}?tagKeys=x`, creds: READER }), 403, 'AccessDeniedException', /batch:UntagResource/);
    assertAwsError(await send({ url: '/openbatch/v1/jobs/x/reclaim', creds: READER }), 403, 'AccessDeniedException', /openbatch:ReclaimJob/);
    // Job logs are a read.
    assert.equal((await send({ method: 'GET', url: '/openbatch/v1/jobs/nope/logs', creds: READER })).statusCode, 404);
    assert.equal(await storeDigest(), before);
  });

  test('a key with a queue allow-list submits only to its queues, and stops only their jobs', async () => {
    resetSecurityCounters();
    const mine = await submit(TEAM_A, 'team-a', 'mine');
    assert.equal(mine.statusCode, 200, mine.body);
    const byArn = await submit(TEAM_A, `${ARN}:job-queue/team-a`, 'mine-by-arn');
    assert.equal(byArn.statusCode, 200, byArn.body);
    const theirs = await submit(ADMIN, 'team-b', 'theirs');
    assert.equal(theirs.statusCode, 200, theirs.body);
    const theirsId = (theirs.json() as { jobId: string }).jobId;
    const mineId = (mine.json() as { jobId: string }).jobId;

    const before = await storeDigest();
    assertAwsError(await submit(TEAM_A, 'team-b'), 403, 'AccessDeniedException', `User: team-a is not authorized to perform: batch:SubmitJob on resource: ${ARN}:job-queue/team-b (access key team-a may use only job queues: team-a, team-a2)`);
    assertAwsError(await submit(TEAM_A, `${ARN}:job-queue/team-b`), 403, 'AccessDeniedException', /job-queue\/team-b/);
    for (const op of ['canceljob', 'terminatejob']) {
      assertAwsError(await send({ url: `/v1/${op}`, creds: TEAM_A, body: JSON.stringify({ jobId: theirsId, reason: 'no' }) }), 403, 'AccessDeniedException', /job-queue\/team-b/);
      assertAwsError(await send({ url: `/v1/${op}`, creds: TEAM_A, body: JSON.stringify({ jobId: `${ARN}:job/${theirsId}`, reason: 'no' }) }), 403, 'AccessDeniedException');
    }
    assertAwsError(await send({ url: `/openbatch/v1/jobs/${theirsId}/reclaim`, creds: TEAM_A }), 403, 'AccessDeniedException', /openbatch:ReclaimJob/);
    assertAwsError(await send({ url: `/v1/tags/${encodeURIComponent(`${ARN}:job/${theirsId}`)}`, creds: TEAM_A, body: '{"tags":{"x":"y"}}' }), 403, 'AccessDeniedException');
    assertAwsError(await send({ url: `/v1/tags/${encodeURIComponent(`${ARN}:job-queue/team-b`)}`, creds: TEAM_A, body: '{"tags":{"x":"y"}}' }), 403, 'AccessDeniedException');
    assertAwsError(await send({ url: '/v1/updatejobqueue', creds: TEAM_A, body: JSON.stringify({ jobQueue: 'team-b', priority: 5 }) }), 403, 'AccessDeniedException');
    assertAwsError(await send({ url: '/v1/deletejobqueue', creds: TEAM_A, body: JSON.stringify({ jobQueue: 'team-b' }) }), 403, 'AccessDeniedException');
    assertAwsError(
      await send({ url: '/v1/updatecomputeenvironment', creds: TEAM_A, body: JSON.stringify({ computeEnvironment: 'ce', state: 'DISABLED' }) }),
      403,
      'AccessDeniedException',
      /UpdateComputeEnvironment affects other queues/,
    );
    assert.equal(await storeDigest(), before, 'refused requests changed nothing');
    assert.equal(securityCounters().authFailures.access_denied, 12);

    // Its own jobs and queue: allowed. Reads: everything.
    assert.equal((await send({ url: `/v1/tags/${encodeURIComponent(`${ARN}:job/${mineId}`)}`, creds: TEAM_A, body: '{"tags":{"x":"y"}}' })).statusCode, 200);
    assert.equal((await send({ url: '/v1/updatejobqueue', creds: TEAM_A, body: JSON.stringify({ jobQueue: 'team-a', priority: 2 }) })).statusCode, 200);
    assert.equal((await send({ url: '/v1/describejobs', creds: TEAM_A, body: JSON.stringify({ jobs: [theirsId] }) })).statusCode, 200);
    const cancel = await send({ url: '/v1/canceljob', creds: TEAM_A, body: JSON.stringify({ jobId: mineId, reason: 'done' }) });
    assert.equal(cancel.statusCode, 200, cancel.body);
    // Job definitions belong to no queue.
    const reg = await send({ url: '/v1/registerjobdefinition', creds: TEAM_A, body: JSON.stringify({ jobDefinitionName: 'team-a-def', type: 'container', containerProperties: { image: 'x', command: ['true'] } }) });
    assert.equal(reg.statusCode, 200, reg.body);
  });
});

describe('request limits', () => {
  test('a URL over 8 KiB: 414 in AWS error shape, before authentication', async () => {
    const res = await server.app.inject({ method: 'GET', url: `/v1/tags/${'a'.repeat(9000)}` });
    assertAwsError(res, 414, 'ClientException', /^The request URL is \d+ bytes long; at most 8192 bytes are accepted$/);
  });

  test('oversized SubmitJob and RegisterJobDefinition bodies are still refused (after authentication)', async () => {
    const big = JSON.stringify({ jobName: 'j', jobQueue: 'team-a', jobDefinition: 'big', parameters: { p: 'x'.repeat(31 * 1024) } });
    assertAwsError(await send({ url: '/v1/submitjob', creds: ADMIN, body: big }), 400, 'ClientException', /at most 30720 bytes/);
    assertAwsError(await send({ url: '/v1/submitjob', body: big }), 403, 'MissingAuthenticationTokenException');
  });

  test('token bucket: burst, then the sustained rate, per key', () => {
    let t = 0;
    const rl = new RateLimiter({ ratePerSecond: 2, burst: 3 }, () => t);
    assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a')], [undefined, undefined, undefined]);
    assert.equal(rl.take('a'), 0.5); // one token in half a second
    assert.equal(rl.take('b'), undefined, 'other keys have their own bucket');
    t += 500;
    assert.equal(rl.take('a'), undefined);
    assert.ok(rl.take('a')! > 0);
    t += 10_000;
    assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a')], [undefined, undefined, undefined], 'refills to the burst, no more');
    assert.ok(rl.take('a')! > 0);
    assert.throws(() => new RateLimiter({ ratePerSecond: 0, burst: 1 }));
  });

  test('over the rate: 429 TooManyRequestsException with Retry-After, per access key', async () => {
    const limited = await startServer({
      port: 0,
      dataDir: path.join(tmp, 'limited'),
      logLevel: 'warn',
      createDefaults: false,
      hostResources: { cpus: 1, memory: 1024, gpus: 0 },
      credentials: `${ADMIN.accessKeyId}:${ADMIN.secretAccessKey},${READER.accessKeyId}:${READER.secretAccessKey}`,
      // One request per 1000 s: after the burst of 2, the third is refused however slow the machine.
      rateLimit: 0.001,
      rateLimitBurst: 2,
    });
    try {
      resetSecurityCounters();
      const call = async (creds: Creds) => {
        const url = '/v1/describejobqueues';
        const headers = await signHeaders('POST', new URL(`http://${HOST}${url}`), creds, { body: '{}', headers: { host: HOST } });
        return limited.app.inject({ method: 'POST', url, headers, payload: '{}' });
      };
      assert.equal((await call(ADMIN)).statusCode, 200);
      assert.equal((await call(ADMIN)).statusCode, 200);
      const third = await call(ADMIN);
      assertAwsError(third, 429, 'TooManyRequestsException', 'Too Many Requests');
      assert.ok(Number(third.headers['retry-after']) >= 1, String(third.headers['retry-after']));
      assert.equal((await call(READER)).statusCode, 200, 'another key has its own bucket');
      // Unauthenticated requests are refused before they cost a token; /health is never limited.
      assertAwsError(await limited.app.inject({ method: 'POST', url: '/v1/describejobqueues', payload: '{}' }), 403, 'MissingAuthenticationTokenException');
      for (let i = 0; i < 5; i++) assert.equal((await limited.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
      assert.equal(securityCounters().throttled, 1);
    } finally {
      await limited.close();
    }
  });
});
