// The server under test: the built CLI (`node dist/cli/main.js serve`) as a child process, with a
// fresh data dir (and, for PostgreSQL, a fresh database) per scenario, and the server's defaults
// otherwise (SQLite WAL with synchronous NORMAL, the perl launcher): no OPENBATCH_* variable of the
// bench's own environment reaches it.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childPids, cpuSecondsOf, dirBytes, killProcessesUnder, processAndReapedCpuSeconds, processCpuSeconds, processMemoryMiB } from './proc.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface ServerOptions {
  cli: string;
  /** PostgreSQL: a connection URL to an existing database used to create (and drop) a fresh one. */
  postgresAdminUrl?: string;
  /** Keep the data dir (and database) after the scenario, for a post-mortem. */
  keep?: boolean;
  label: string;
}

export class BenchServer {
  child?: ChildProcess;
  endpoint = '';
  output = '';
  readonly dataDir: string;
  databaseUrl?: string;
  storeDialect = '';
  private dropDatabase?: () => Promise<void>;

  constructor(private readonly opts: ServerOptions) {
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `openbatch-bench-${opts.label}-`));
  }

  get pid(): number {
    if (!this.child?.pid) throw new Error('server not started');
    return this.child.pid;
  }

  async start(): Promise<this> {
    if (!fs.existsSync(this.opts.cli)) throw new Error(`${this.opts.cli} is missing: run npm run build first`);
    if (this.opts.postgresAdminUrl) {
      const db = await freshPostgresDatabase(this.opts.postgresAdminUrl, this.opts.label);
      this.databaseUrl = db.url;
      this.dropDatabase = db.drop;
    }
    const args = [this.opts.cli, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', this.dataDir];
    if (this.databaseUrl) args.push('--database-url', this.databaseUrl);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OPENBATCH_')) env[k] = v;
    env.OPENBATCH_LOG_LEVEL = process.env.BENCH_SERVER_LOG_LEVEL ?? 'warn';
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start within 60 s:\n${this.output}`)), 60_000);
      const onData = (d: Buffer) => {
        // Keep only the tail: a long run at warn level should print little, but never grow unbounded.
        this.output = (this.output + d.toString()).slice(-20_000);
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+) \(data: .*, store: (\w+)\)/.exec(this.output);
        if (m) {
          clearTimeout(timer);
          this.storeDialect = m[2];
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
    const res = await fetch(`${url}/health`);
    if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
    return this;
  }

  alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Throws (with the server's last output) if the server died. */
  assertAlive(): void {
    if (!this.alive()) throw new Error(`the server exited (${this.child?.exitCode ?? this.child?.signalCode}) during the scenario:\n${this.output}`);
  }

  /**
   * CPU seconds so far of the server process, of its direct children that still run (the
   * launcher), and with PostgreSQL of every `postgres` process (the database is part of the
   * system under test; the bench assumes nothing else uses that PostgreSQL meanwhile).
   */
  /**
   * CPU seconds so far: the server process; its children (the launcher) alone; its children with
   * what they reaped (the launcher and the jobs it ran); PostgreSQL's processes.
   */
  cpuSeconds(): { server: number; children: number; childrenWithJobs: number; database: number } {
    const server = processCpuSeconds(this.pid) ?? NaN;
    let children = 0;
    let childrenWithJobs = 0;
    for (const pid of childPids(this.pid)) {
      children += processCpuSeconds(pid) ?? 0;
      childrenWithJobs += processAndReapedCpuSeconds(pid) ?? 0;
    }
    return { server, children, childrenWithJobs, database: this.databaseUrl ? cpuSecondsOf(/^postgres/) : 0 };
  }

  memoryMiB(): { rss: number; peak: number } {
    return processMemoryMiB(this.pid) ?? { rss: NaN, peak: NaN };
  }

  dataDirBytes(): number {
    return dirBytes(this.dataDir);
  }

  /** Bytes of the PostgreSQL database, when the server uses one. */
  async databaseBytes(): Promise<number | undefined> {
    if (!this.databaseUrl) return undefined;
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: this.databaseUrl });
    await c.connect();
    try {
      const r = await c.query('SELECT pg_database_size(current_database()) AS n');
      return Number(r.rows[0].n);
    } finally {
      await c.end();
    }
  }

  /** SIGTERM (the server's clean shutdown), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive()) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server, kills whatever of its jobs still run, removes the data dir and database. */
  async close(): Promise<void> {
    await this.stop();
    if (this.opts.keep) {
      process.stderr.write(`bench: kept ${this.dataDir}${this.databaseUrl ? ` and ${this.databaseUrl}` : ''}\n`);
      return;
    }
    killProcessesUnder(this.dataDir);
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    await this.dropDatabase?.();
  }
}

/** A fresh database on the PostgreSQL server of `adminUrl` (which must allow CREATE DATABASE). */
export async function freshPostgresDatabase(adminUrl: string, label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
  } catch (e) {
    throw new Error(`PostgreSQL is not reachable at ${adminUrl} (${(e as Error).message})`);
  }
  const db = `openbatch_bench_${label}_${process.pid}_${Date.now()}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  try {
    await client.query(`CREATE DATABASE ${db}`);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
