// 0001: compute environments, job queues, job definitions, jobs, attempts, tags.
// Metadata (few rows, read into memory at start) is stored as a JSON document next to its keys;
// jobs get real columns for everything the scheduler, ListJobs and recovery filter or sort on.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('compute_environments')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('arn', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('job_queues')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('arn', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('job_definitions')
    .addColumn('arn', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .addUniqueConstraint('job_definitions_name_revision', ['name', 'revision'])
    .execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('stopped_at', 'bigint')
    .addColumn('job_definition', 'text', (c) => c.notNull())
    .addColumn('vcpus', 'double precision', (c) => c.notNull())
    .addColumn('memory', 'integer', (c) => c.notNull())
    .addColumn('gpus', 'integer', (c) => c.notNull())
    .addColumn('attempt_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('compute_environment', 'text')
    .addColumn('is_cancelled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_terminated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('stop_reason', 'text')
    .addColumn('array_parent_id', 'text')
    .addColumn('array_index', 'integer')
    .addColumn('spec', 'text', (c) => c.notNull())
    .execute();
  // Indexes are partial where they can be, so that a million finished array children cost
  // little: each covers only the rows its queries look at. Queries that use a partial index
  // state its condition literally (SQLite only uses one when the query implies it).
  //
  // The RUNNABLE heads of a queue, FIFO.
  await db.schema
    .createIndex('jobs_runnable_heads')
    .on('jobs')
    .columns(['queue', 'seq'])
    .where(sql.ref('status'), '=', sql.lit('RUNNABLE'))
    .execute();
  // ListJobs of a queue (jobs and array parents; children are listed through their parent),
  // by status, and across statuses newest first when filtered.
  await db.schema
    .createIndex('jobs_queue_status_seq')
    .on('jobs')
    .columns(['queue', 'status', 'seq'])
    .where(sql.ref('array_parent_id'), 'is', null)
    .execute();
  await db.schema
    .createIndex('jobs_queue_seq')
    .on('jobs')
    .columns(['queue', 'seq'])
    .where(sql.ref('array_parent_id'), 'is', null)
    .execute();
  // Recovery at start and the Spot sweep: the few jobs in SUBMITTED, STARTING or RUNNING.
  await db.schema
    .createIndex('jobs_active_seq')
    .on('jobs')
    .columns(['seq'])
    .where(sql.ref('status'), 'in', [sql.lit('SUBMITTED'), sql.lit('STARTING'), sql.lit('RUNNING')])
    .execute();

  await db.schema
    .createTable('attempts')
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('compute_environment', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('log_stream_name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('stopped_at', 'bigint')
    .addColumn('exit_code', 'integer')
    .addColumn('reason', 'text')
    .addColumn('status_reason', 'text')
    .addPrimaryKeyConstraint('attempts_pk', ['job_id', 'attempt'])
    .execute();

  await db.schema
    .createTable('tags')
    .addColumn('resource_arn', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('tags_pk', ['resource_arn', 'key'])
    .execute();
}
