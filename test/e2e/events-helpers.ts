// What the events e2e tests share: a local webhook that records what it receives, the AWS CLI's
// `aws events`, and a read-only look into the server's SQLite store (the outbox and the pending
// deliveries), so that tests wait on "everything was delivered" rather than on a time.

import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { AWS_CLI, runIn, type AwsCli, type Result } from '../helpers/aws.js';
import { reusablePort, waitFor } from '../helpers/server.js';

export interface Received {
  path: string;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** An HTTP server on 127.0.0.1 that answers `status` (200) to every POST and keeps what it got. */
export class Webhook {
  readonly received: Received[] = [];
  status = 200;
  private server?: http.Server;
  port = 0;

  async start(port = 0): Promise<this> {
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        this.received.push({ path: req.url ?? '', body, headers: req.headers });
        res.writeHead(this.status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  url(p: string): string {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  at(p: string): Received[] {
    return this.received.filter((r) => r.path === p);
  }

  /** Waits until `path` got at least `n` requests; returns them. */
  async waitFor(p: string, n = 1, timeoutMs = 30_000): Promise<Received[]> {
    return waitFor(`${n} request(s) at ${p}`, async () => (this.at(p).length >= n ? this.at(p) : undefined), timeoutMs);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}

/** A port nobody listens on right now (to bring a webhook up on it later). */
/** A port for a webhook that goes down and comes back on it (outside the ephemeral range: see reusablePort). */
export async function freePort(): Promise<number> {
  return reusablePort();
}

/** `aws events <args> --endpoint-url <endpoint>` with the CLI helper's clean environment. */
export function awsEvents(aws: AwsCli, ...args: string[]): Promise<Result> {
  return runIn(AWS_CLI, ['events', ...args, '--endpoint-url', aws.endpoint], aws.env(), aws.cwd);
}

export async function awsEventsOk<T = any>(aws: AwsCli, ...args: string[]): Promise<T> {
  const r = await awsEvents(aws, ...args);
  if (r.code !== 0) throw new Error(`aws events ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return (r.stdout.trim() === '' ? {} : JSON.parse(r.stdout)) as T;
}

/** Rows left in the outbox and pending deliveries of a server's SQLite store (read-only; WAL lets it read while the server writes). */
export function pendingEvents(dataDir: string): { outbox: number; deliveries: { attempts: number; last_error: string | null }[] } {
  const db = new Database(path.join(dataDir, 'openbatch.db'), { readonly: true, fileMustExist: true });
  try {
    const outbox = (db.prepare('SELECT count(*) AS n FROM event_outbox').get() as { n: number }).n;
    const deliveries = db.prepare('SELECT attempts, last_error FROM event_deliveries ORDER BY id').all() as { attempts: number; last_error: string | null }[];
    return { outbox, deliveries };
  } finally {
    db.close();
  }
}

/** Waits until every captured state change was dispatched and every delivery made. */
export async function waitForAllDelivered(dataDir: string, timeoutMs = 30_000): Promise<void> {
  await waitFor('the outbox and the deliveries to be empty', async () => {
    const p = pendingEvents(dataDir);
    return p.outbox === 0 && p.deliveries.length === 0;
  }, timeoutMs);
}

/** The pending deliveries' attempts and the outbox size, on SQLite (the data dir) or PostgreSQL (its URL). */
export async function pendingOn(dataDir: string, databaseUrl?: string): Promise<{ outbox: number; deliveries: { attempts: number; last_error: string | null }[] }> {
  if (!databaseUrl) return pendingEvents(dataDir);
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const outbox = Number((await c.query('SELECT count(*) AS n FROM event_outbox')).rows[0].n);
    const deliveries = (await c.query('SELECT attempts, last_error FROM event_deliveries ORDER BY id')).rows as { attempts: number; last_error: string | null }[];
    return { outbox, deliveries };
  } finally {
    await c.end();
  }
}
