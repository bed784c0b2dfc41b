// What every query module of the SQL store works with: the context (the database, where queries
// run: the store itself or one transaction, and the state they share), the two ways to execute a
// built query, chunking for IN lists and multi-row INSERTs, and `hydrate`, which turns job rows
// into jobs (array children get their parent's spec from a bounded cache). The query modules
// (metadata.ts, jobs.ts, graph.ts) are plain functions of a context; sql-store.ts composes them.

import type { Kysely } from 'kysely';
import type { Job, JobSpec } from '../../core/types.js';
import type { PreparedQuery, SqlDatabase, SqlRunner, Statement } from '../db.js';
import type { JobRow, Schema } from '../schema.js';
import { rowToJob } from './rows.js';

/** Rows per multi-row INSERT and ids per IN list: well under both backends' parameter limits. */
const CHUNK = 500;

/** State shared by the store and its transactions: compiled statements and parent specs. */
export interface Shared {
  updates: Map<string, PreparedQuery>;
  /** Array parents' specs, which their children share (bounded; parents are immutable). */
  parentSpecs: Map<string, JobSpec>;
}

const PARENT_SPEC_CACHE = 2000;

/** Where a query module's queries are built and run: SqlOps (the store, or one transaction). */
export interface SqlContext {
  readonly db: SqlDatabase;
  /** The store's database, or one transaction: decides where the queries execute. */
  readonly runner: SqlRunner;
  readonly shared: Shared;
  /** Compile-only query builder. */
  readonly qb: Kysely<Schema>;
}

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function all<R>(c: SqlContext, q: Statement | { compile(): Statement }): Promise<R[]> {
  return c.runner.all<R>('compile' in q ? q.compile() : q);
}

export function run(c: SqlContext, q: Statement | { compile(): Statement }): Promise<number> {
  return c.runner.run('compile' in q ? q.compile() : q);
}

/** Rows → jobs; children get their parent's spec (loaded once, then cached). */
export async function hydrate(c: SqlContext, rows: JobRow[]): Promise<Job[]> {
  const cache = c.shared.parentSpecs;
  const missing = new Set<string>();
  for (const r of rows) if (r.spec === '' && r.array_parent_id && !cache.has(r.array_parent_id)) missing.add(r.array_parent_id);
  if (missing.size > 0) {
    for (const part of chunks([...missing])) {
      const parents = await all<{ id: string; spec: string }>(c, c.qb.selectFrom('jobs').select(['id', 'spec']).where('id', 'in', part));
      for (const p of parents) {
        if (cache.size >= PARENT_SPEC_CACHE) cache.delete(cache.keys().next().value!);
        cache.set(p.id, JSON.parse(p.spec) as JobSpec);
      }
    }
  }
  return rows.map((r) => {
    if (r.spec !== '') return rowToJob(r, JSON.parse(r.spec) as JobSpec);
    const spec = cache.get(r.array_parent_id ?? '');
    if (!spec) throw new Error(`array child ${r.id} has no parent ${r.array_parent_id}`);
    return rowToJob(r, spec);
  });
}
