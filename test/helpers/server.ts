// Starts a real OpenBatch server (the built CLI, `node dist/cli/main.js serve`) on 127.0.0.1
// with a fresh data dir, and gives tests its endpoint, a Batch SDK client, and ways to kill and
// restart it. Run `npm run build` first (npm test does).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchClient, DescribeJobsCommand, type JobDetail, type JobStatus } from '@aws-sdk/client-batch';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface ServerOptions {
  dataDir?: string;
  databaseUrl?: string;
  env?: Record<string, string>;
  args?: string[];
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Serve HTTPS with these PEM files; `ca` is what clients trust (the self-signed cert itself). */
  tls?: { cert: string; key: string; ca: string };
  /** The key client() signs with (default test/test; auth is off unless the server has keys). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** GET over HTTP or HTTPS (trusting `ca`), without fetch: fetch cannot take a custom CA. */
export function httpGet(url: string, ca?: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { ...(ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

export class TestServer {
  child?: ChildProcess;
  endpoint = '';
  output = '';
  readonly dataDir: string;

  constructor(private readonly opts: ServerOptions = {}) {
    this.dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-test-'));
  }

  /** Starts the server and resolves once /health answers. */
  async start(port = 0): Promise<this> {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const args = [CLI, 'serve', '--port', String(port), '--data-dir', this.dataDir, ...(this.opts.args ?? [])];
    if (this.opts.databaseUrl) args.push('--database-url', this.opts.databaseUrl);
    if (this.opts.host) args.push('--host', this.opts.host);
    if (this.opts.tls) args.push('--tls-cert', this.opts.tls.cert, '--tls-key', this.opts.tls.key);
    const child = spawn(process.execPath, args, {
      // The server shuts down if this test process dies (a file that hit the runner's time limit).
      env: { ...process.env, OPENBATCH_LOG_LEVEL: process.env.TEST_SERVER_LOG_LEVEL ?? 'warn', OPENBATCH_EXIT_WITH_PARENT: '1', ...this.opts.env, OPENBATCH_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.output = '';
    // The CLI prints "OpenBatch listening on <url>" whatever the log level.
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start within 30 s:\n${this.output}`)), 30_000);
      const onData = (d: Buffer) => {
        this.output += d.toString();
        const m = /listening on (https?:\/\/[^\s]+:\d+)/.exec(this.output);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code ?? signal}) before listening:\n${this.output}`));
      });
    });
    this.endpoint = url;
    const res = await httpGet(`${url}/health`, this.opts.tls ? fs.readFileSync(this.opts.tls.ca) : undefined);
    if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
    return this;
  }

  /** SIGKILL: the server gets no chance to clean up. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  client(): BatchClient {
    return batchClient(this.endpoint, this.opts.credentials, this.opts.tls ? fs.readFileSync(this.opts.tls.ca) : undefined);
  }

  /** Kills whatever jobs of this server still run (a failed test must not leave them behind), removes the data dir. */
  cleanup(): void {
    killProcessesUnder(this.dataDir);
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** SIGKILLs every process whose working directory or command line is inside `dir`. */
export function killProcessesUnder(dir: string): void {
  const root = path.resolve(dir);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cwd.startsWith(root + '/') || cwd === root || cmdline.includes(root + '/')) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

/** A Batch SDK client for `endpoint`: key test/test unless given; `ca` to trust for HTTPS. */
export function batchClient(endpoint: string, credentials = { accessKeyId: 'test', secretAccessKey: 'test' }, ca?: string | Buffer): BatchClient {
  return new BatchClient({
    endpoint,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
    ...(ca ? { requestHandler: { httpsAgent: new https.Agent({ ca }) } } : {}),
  });
}

/** Polls a condition until it holds or the deadline passes; the wait is on a state, not a time. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function describeJob(client: BatchClient, jobId: string): Promise<JobDetail | undefined> {
  const out = await client.send(new DescribeJobsCommand({ jobs: [jobId] }));
  return out.jobs?.[0];
}

/** Waits until the job is in one of `statuses` and returns it. */
export async function waitForStatus(client: BatchClient, jobId: string, statuses: JobStatus[] | JobStatus, timeoutMs = 20_000): Promise<JobDetail> {
  const want = Array.isArray(statuses) ? statuses : [statuses];
  let seen: string | undefined;
  try {
    return await waitFor(
      `job ${jobId} to reach ${want.join('/')}`,
      async () => {
        const j = await describeJob(client, jobId);
        seen = j?.status;
        return j && want.includes(j.status as JobStatus) ? j : undefined;
      },
      timeoutMs,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message} (last seen: ${seen})`);
  }
}

/** Runs a command line tool and captures its result. */
export function run(cmd: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** A fresh PostgreSQL database for one test file; undefined (with a loud skip reason) if none. */
export async function freshPostgresDatabase(name: string): Promise<{ url: string; drop: () => Promise<void> } | { skip: string }> {
  const admin = process.env.OPENBATCH_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: admin });
  try {
    await client.connect();
  } catch (e) {
    return { skip: `PostgreSQL is not reachable at ${admin} (${(e as Error).message}); install and start it (apt-get install postgresql; pg_ctlcluster --skip-systemctl-redirect 15 main start)` };
  }
  const db = `openbatch_test_${name}_${process.pid}_${Date.now()}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  await client.query(`CREATE DATABASE ${db}`);
  await client.end();
  const url = admin.replace(/\/[^/]*$/, `/${db}`);
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * A free TCP port on 127.0.0.1 that a test can close and listen on again later (a webhook that goes
 * down and comes back, a server restarted on the same port): chosen below the kernel's ephemeral
 * range (ip_local_port_range), so no port-0 listener or outgoing connection takes it meanwhile.
 */
export async function reusablePort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual default
  }
  const from = 10_000;
  const span = Math.max(1, low - from);
  for (let i = 0; i < 50; i++) {
    const port = from + Math.floor(Math.random() * span);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port found in ${from}..${low - 1}`);
}
