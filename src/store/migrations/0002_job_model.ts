// 0002: the rest of the AWS Batch job model: array jobs (children inherit their parent's spec and
// count toward its summary), dependencies (an edge table plus a counter of unmet ones per job),
// attempt stops with a cause (terminate, timeout, Spot reclaim), RUNNABLE-since times for queue
// time-limit actions, fair-share scheduling (share identifier, scheduling priority, policies).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  const add = (column: string, type: 'integer' | 'bigint' | 'text', build?: (c: any) => any) =>
    db.schema
      .alterTable('jobs')
      .addColumn(column, type, build ?? ((c) => c))
      .execute();
  await add('unmet_dependencies', 'integer', (c) => c.notNull().defaultTo(0));
  // Whether any job depends on this one: completions look up dependents only when set.
  await add('has_dependents', 'integer', (c) => c.notNull().defaultTo(0));
  await add('runnable_since', 'bigint');
  await add('stop_cause', 'text');
  await add('share_identifier', 'text');
  await add('scheduling_priority', 'integer', (c) => c.notNull().defaultTo(0));
  // Array parents only: size, children finished so far, when the summary last changed, and the
  // optional cap on children running at once (tag openbatch:maxConcurrency).
  await add('array_size', 'integer');
  await add('array_succeeded', 'integer', (c) => c.notNull().defaultTo(0));
  await add('array_failed', 'integer', (c) => c.notNull().defaultTo(0));
  await add('array_summary_updated_at', 'bigint');
  await add('max_concurrency', 'integer');

  // Children of an array by status and index (listing, summaries, releases, cascades).
  await db.schema
    .createIndex('jobs_array_parent_status')
    .on('jobs')
    .columns(['array_parent_id', 'status', 'array_index'])
    .where(sql.ref('array_parent_id'), 'is not', null)
    .execute();
  // RUNNABLE heads of one share of a fair-share queue, by scheduling priority then FIFO.
  await db.schema
    .createIndex('jobs_share_heads')
    .on('jobs')
    .columns(['queue', 'share_identifier', 'scheduling_priority desc', 'seq'])
    .where((eb) => eb.and([eb(sql.ref('status'), '=', sql.lit('RUNNABLE')), eb(sql.ref('share_identifier'), 'is not', null)]))
    .execute();

  await db.schema
    .createTable('job_dependencies')
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('depends_on', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('job_dependencies_pk', ['job_id', 'depends_on'])
    .execute();
  await db.schema.createIndex('job_dependencies_depends_on').on('job_dependencies').columns(['depends_on']).execute();

  await db.schema
    .createTable('scheduling_policies')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('arn', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .execute();
}
