// The SQL connection layer under the store: SQLite (better-sqlite3, WAL) or PostgreSQL (pg), one
// interface. Kysely is used as the query *builder* and for migrations; queries are compiled once
// and executed here, so the hot paths avoid re-compiling and the async wrapping of a driver.
//
// Writes are serialised: one transaction at a time (OpenBatch is the single writer of its store),
// which makes read-decide-write inside a transaction safe on both backends without row locks.

import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import {
  Kysely,
  Migrator,
  DummyDriver,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteDialect,
  PostgresDialect,
  type CompiledQuery,
  type Migration,
} from 'kysely';
import type { Schema } from './schema.js';
import { migrations } from './migrations/index.js';

export type Dialect = 'sqlite' | 'postgres';

/** A compiled statement: SQL text plus positional parameters. */
export interface Statement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export interface SqlRunner {
  all<R = Record<string, unknown>>(q: Statement): Promise<R[]>;
  /** Runs a write; resolves to the number of rows it changed. */
  run(q: Statement): Promise<number>;
}

export interface SqlDatabase extends SqlRunner {
  readonly dialect: Dialect;
  /** Compile-only query builder for this dialect. Never executes anything itself. */
  readonly qb: Kysely<Schema>;
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export type DatabaseConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export async function openDatabase(config: DatabaseConfig): Promise<SqlDatabase> {
  return config.kind === 'sqlite' ? new SqliteDatabase(config.path) : PostgresDatabase.open(config.url);
}

// ---------------------------------------------------------------------------------------------
// Prepared-by-marker queries: build a query once with named markers as values, compile it, and
// bind real values by name at each execution. Kysely passes unknown objects through as
// parameters, so the markers come out in the compiled `parameters` in positional order.

const MARKER = Symbol('openbatch.param');
interface Marker {
  [MARKER]: string;
}

/** A named parameter placeholder for `prepare`. Typed `any` so it fits any column. */
export function param(name: string): any {
  return { [MARKER]: name } satisfies Marker;
}

export interface PreparedQuery {
  readonly sql: string;
  bind(values: Record<string, unknown>): Statement;
}

export function prepare(compiled: CompiledQuery): PreparedQuery {
  const names = compiled.parameters.map((p) => {
    if (p && typeof p === 'object' && MARKER in p) return (p as Marker)[MARKER];
    throw new Error(`prepare(): every value must be a param() marker in: ${compiled.sql}`);
  });
  return {
    sql: compiled.sql,
    bind(values) {
      return { sql: compiled.sql, parameters: names.map((n) => values[n]) };
    },
  };
}

/** A prepared query compiled lazily on first use, per database. */
export function preparedQuery(build: (qb: Kysely<Schema>) => { compile(): CompiledQuery }) {
  const cache = new WeakMap<SqlDatabase, PreparedQuery>();
  return (db: SqlDatabase): PreparedQuery => {
    let q = cache.get(db);
    if (!q) {
      q = prepare(build(db.qb).compile());
      cache.set(db, q);
    }
    return q;
  };
}

// ---------------------------------------------------------------------------------------------

/** A FIFO mutex: one writer transaction at a time. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = false;
  get locked(): boolean {
    return this.held;
  }
  async lock<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise((r) => (release = r));
    await prev;
    this.held = true;
    try {
      return await fn();
    } finally {
      this.held = false;
      release();
    }
  }
}

function compileOnly(dialect: Dialect): Kysely<Schema> {
  return new Kysely<Schema>({
    dialect: {
      createAdapter: () => (dialect === 'sqlite' ? new SqliteAdapter() : new PostgresAdapter()),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => (dialect === 'sqlite' ? new SqliteIntrospector(db) : new PostgresIntrospector(db)),
      createQueryCompiler: () => (dialect === 'sqlite' ? new SqliteQueryCompiler() : new PostgresQueryCompiler()),
    },
  });
}

async function runMigrations(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations as Record<string, Migration> },
    migrationTableName: 'openbatch_migrations',
    migrationLockTableName: 'openbatch_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// SQLite

/**
 * OPENBATCH_PROFILE_SQL=1: time spent in each statement (SQLite), printed to stderr when the store
 * closes. A diagnostic for profiling; off, it costs one check per statement.
 */
class SqlProfile {
  private readonly stats = new Map<string, { n: number; ms: number }>();
  time<T>(sql: string, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      const e = this.stats.get(sql) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t0;
      this.stats.set(sql, e);
    }
  }
  print(): void {
    const rows = [...this.stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30);
    const total = [...this.stats.values()].reduce((t, e) => t + e.ms, 0);
    process.stderr.write(`SQL profile: ${total.toFixed(0)} ms in all\n`);
    for (const [sql, e] of rows) {
      process.stderr.write(`${e.ms.toFixed(0).padStart(7)} ms ${String(e.n).padStart(7)}×  ${sql.replace(/\s+/g, ' ').slice(0, 220)}\n`);
    }
  }
}

function sqliteValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  readonly qb = compileOnly('sqlite');
  private readonly db: BetterSqlite3.Database;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private readonly mutex = new Mutex();
  private readonly direct: SqlRunner;
  private readonly profile = process.env.OPENBATCH_PROFILE_SQL ? new SqlProfile() : undefined;

  constructor(path: string) {
    this.db = new BetterSqlite3(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: a commit survives a crash of the process (the WAL is in the OS cache); only a
    // power loss can take the last commits. OPENBATCH_SQLITE_SYNCHRONOUS=FULL trades speed for that.
    const sync = (process.env.OPENBATCH_SQLITE_SYNCHRONOUS ?? 'NORMAL').toUpperCase();
    this.db.pragma(`synchronous = ${sync === 'FULL' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -65536'); // 64 MiB page cache
    this.direct = {
      all: async <R>(q: Statement) => this.allSync<R>(q),
      run: async (q: Statement) => this.runSync(q),
    };
  }

  private stmt(sql: string): BetterSqlite3.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private allSync<R>(q: Statement): R[] {
    if (this.profile) return this.profile.time(q.sql, () => this.allSyncUntimed<R>(q));
    return this.allSyncUntimed<R>(q);
  }

  private allSyncUntimed<R>(q: Statement): R[] {
    const s = this.stmt(q.sql);
    const params = q.parameters.map(sqliteValue);
    if (s.reader) return s.all(...params) as R[];
    s.run(...params);
    return [];
  }

  private runSync(q: Statement): number {
    if (this.profile) return this.profile.time(q.sql, () => this.runSyncUntimed(q));
    return this.runSyncUntimed(q);
  }

  private runSyncUntimed(q: Statement): number {
    const s = this.stmt(q.sql);
    const params = q.parameters.map(sqliteValue);
    if (s.reader) {
      s.all(...params);
      return 0;
    }
    return s.run(...params).changes;
  }

  // Reads outside a transaction wait for a running one: they share the one connection and must
  // not see a transaction's uncommitted writes.
  async all<R>(q: Statement): Promise<R[]> {
    if (this.mutex.locked) return this.mutex.lock(async () => this.allSync<R>(q));
    return this.allSync<R>(q);
  }

  async run(q: Statement): Promise<number> {
    return this.mutex.lock(async () => this.runSync(q));
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.mutex.lock(async () => {
      this.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        this.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  private exec(sql: string): void {
    if (this.profile) this.profile.time(sql, () => this.db.exec(sql));
    else this.db.exec(sql);
  }

  async migrate(): Promise<void> {
    await this.mutex.lock(() => runMigrations(new Kysely<any>({ dialect: new SqliteDialect({ database: this.db }) })));
  }

  async close(): Promise<void> {
    this.profile?.print();
    await this.mutex.lock(async () => {
      this.statements.clear();
      this.db.close();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

const INT8_OID = 20;
const NUMERIC_OID = 1700;

class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  readonly qb = compileOnly('postgres');
  private readonly mutex = new Mutex();

  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string): Promise<PostgresDatabase> {
    const pool = new pg.Pool({
      connectionString: url,
      max: 8,
      // BIGINT epoch-ms timestamps and counts fit in a double; parse them as numbers.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === INT8_OID || oid === NUMERIC_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as any)) as any,
      },
    });
    // Fail fast with a clear message if the server is not reachable.
    const client = await pool.connect().catch((e: Error) => {
      void pool.end();
      throw new Error(`cannot connect to PostgreSQL at ${redact(url)}: ${e.message}`);
    });
    client.release();
    return new PostgresDatabase(pool);
  }

  private runner(client: pg.Pool | pg.PoolClient): SqlRunner {
    return {
      all: async <R>(q: Statement) => (await client.query({ text: q.sql, values: q.parameters as unknown[] })).rows as R[],
      run: async (q: Statement) => (await client.query({ text: q.sql, values: q.parameters as unknown[] })).rowCount ?? 0,
    };
  }

  all<R>(q: Statement): Promise<R[]> {
    return this.runner(this.pool).all<R>(q);
  }

  run(q: Statement): Promise<number> {
    return this.mutex.lock(() => this.runner(this.pool).run(q));
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.mutex.lock(async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(this.runner(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    });
  }

  async migrate(): Promise<void> {
    const k = new Kysely<any>({ dialect: new PostgresDialect({ pool: this.pool }) });
    await this.mutex.lock(() => runMigrations(k));
  }

  async close(): Promise<void> {
    await this.mutex.lock(() => this.pool.end());
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
