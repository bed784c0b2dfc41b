// Request limits over real sockets: oversized headers (431) and URLs (414) in AWS's error shape,
// slow clients (slowloris: headers or body trickling in, or nothing at all) cut off with 408 while
// the server keeps serving others, and the per-key rate limit of `serve --rate-limit` as the SDK
// sees it (429 TooManyRequestsException). Waits are on socket events, never on fixed sleeps.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BatchClient, DescribeJobQueuesCommand } from '@aws-sdk/client-batch';
import { SERVER_DEFAULTS } from '../../src/api/http.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { TestServer } from '../helpers/server.js';

interface RawResult {
  /** Everything the server sent before it closed the connection. */
  response: string;
  /** How long the connection stayed open. */
  ms: number;
}

/** Opens a connection, writes `text` (maybe nothing), and resolves with what came back once the server closes it. */
function rawExchange(port: number, text: string): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let response = '';
    const socket = net.connect(port, '127.0.0.1', () => {
      if (text) socket.write(text);
    });
    socket.setEncoding('utf8');
    socket.on('data', (d) => (response += d));
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    socket.on('close', () => resolve({ response, ms: Date.now() - t0 }));
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

function awsErrorOf(response: string): { type: string | undefined; body: { __type?: string; message?: string } } {
  const [head, body] = response.split('\r\n\r\n');
  const type = /^x-amzn-errortype: *(.+)$/im.exec(head)?.[1]?.trim();
  return { type, body: JSON.parse(body) };
}

describe('header, URL and slow-client limits (in process, real sockets)', () => {
  let server: RunningServer;
  let port: number;
  let tmp: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-limits-'));
    server = await startServer({
      port: 0,
      dataDir: path.join(tmp, 'data'),
      logLevel: 'warn',
      createDefaults: false,
      hostResources: { cpus: 1, memory: 1024, gpus: 0 },
      // Short, so that the test runs quickly; the defaults are 10 s and 30 s.
      headersTimeoutMs: 1000,
      requestTimeoutMs: 2000,
    });
    port = Number(new URL(server.url).port);
  });

  after(async () => {
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the node server is configured with the limits (defaults where not overridden)', () => {
    const s = server.app.server as import('node:http').Server & { maxHeaderSize?: number };
    assert.equal(s.maxHeaderSize, SERVER_DEFAULTS.maxHeaderBytes);
    assert.equal(SERVER_DEFAULTS.maxHeaderBytes, 16 * 1024);
    assert.equal(s.headersTimeout, 1000);
    assert.equal(s.requestTimeout, 2000);
    assert.equal(s.keepAliveTimeout, SERVER_DEFAULTS.keepAliveTimeoutMs);
    assert.equal(s.timeout, SERVER_DEFAULTS.idleTimeoutMs);
  });

  test('headers over 16 KiB: 431 with x-amzn-ErrorType; the server keeps serving', async () => {
    const r = await rawExchange(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
    assert.equal(statusOf(r.response), 431, r.response);
    const e = awsErrorOf(r.response);
    assert.equal(e.type, 'ClientException');
    assert.deepEqual(e.body, { __type: 'ClientException', message: 'The request line and headers are larger than 16384 bytes' });
    const ok = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(ok.response), 200);
  });

  test('a URL over 8 KiB: 414 with x-amzn-ErrorType', async () => {
    const r = await rawExchange(port, `POST /v1/describejobs?${'x'.repeat(9000)} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    assert.equal(statusOf(r.response), 414, r.response);
    const e = awsErrorOf(r.response);
    assert.equal(e.type, 'ClientException');
    assert.match(e.body.message ?? '', /^The request URL is \d+ bytes long; at most 8192 bytes are accepted$/);
  });

  test('slowloris: clients that trickle headers, trickle a body or send nothing are cut off with 408, and others are served meanwhile', async () => {
    const slow = [
      // Headers never finished.
      ...Array.from({ length: 10 }, () => rawExchange(port, 'POST /v1/describejobqueues HTTP/1.1\r\nHost: x\r\nX-Slow: a')),
      // Headers done, body never finished.
      ...Array.from({ length: 5 }, () => rawExchange(port, 'POST /v1/describejobqueues HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{')),
      // Connected, silent.
      ...Array.from({ length: 5 }, () => rawExchange(port, '')),
    ];
    // While all of those hold connections, a normal client gets its answers.
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${server.url}/v1/describejobqueues`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 200);
    }
    const results = await Promise.all(slow);
    for (const r of results) {
      assert.equal(statusOf(r.response), 408, r.response);
      assert.equal(awsErrorOf(r.response).type, 'RequestTimeoutException');
      // Cut off after the timeout (checked every half-second here), not held open.
      assert.ok(r.ms >= 900 && r.ms < 10_000, `connection held ${r.ms} ms`);
    }
  });
});

describe('per-key rate limit (`serve --rate-limit`)', () => {
  const A = { accessKeyId: 'rate-a', secretAccessKey: 'secret-a' };
  const B = { accessKeyId: 'rate-b', secretAccessKey: 'secret-b' };
  let server: TestServer;
  const clients: BatchClient[] = [];

  before(async () => {
    server = await new TestServer({
      // One request per 1000 s after a burst of 3: the 4th is refused however slow the machine is.
      args: ['--rate-limit', '0.001', '--rate-limit-burst', '3'],
      env: { OPENBATCH_CREDENTIALS: `${A.accessKeyId}:${A.secretAccessKey},${B.accessKeyId}:${B.secretAccessKey}` },
    }).start();
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await server?.stop();
    server?.cleanup();
  });

  test('beyond the burst: 429 TooManyRequestsException with Retry-After; other keys are not affected', async () => {
    const client = (creds: typeof A) => {
      const c = new BatchClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
      clients.push(c);
      return c;
    };
    const a = client(A);
    for (let i = 0; i < 3; i++) await a.send(new DescribeJobQueuesCommand({}));
    await assert.rejects(a.send(new DescribeJobQueuesCommand({})), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(e.name, 'TooManyRequestsException');
      assert.equal(e.$metadata?.httpStatusCode, 429);
      assert.equal(e.message, 'Too Many Requests');
      return true;
    });
    await client(B).send(new DescribeJobQueuesCommand({}));
    const res = await fetch(`${server.endpoint}/health`);
    assert.equal(res.status, 200, '/health is never limited');
  });

  test('a bad --rate-limit stops the CLI with a message', async () => {
    const bad = new TestServer({ args: ['--rate-limit', '0'] });
    try {
      await assert.rejects(bad.start(), /--rate-limit <n>' argument '0' is invalid\. must be a positive number/);
    } finally {
      bad.cleanup();
    }
  });
});
