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
    .addColumn('seq', 'bigint', (c) => c.notNull().unique())
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
  // ListJobs by queue and status, newest or oldest first; the RUNNABLE heads of a queue.
  await db.schema.createIndex('jobs_queue_status_seq').on('jobs').columns(['queue', 'status', 'seq']).execute();
  // ListJobs with a filter: every status of a queue, newest first.
  await db.schema.createIndex('jobs_queue_seq').on('jobs').columns(['queue', 'seq']).execute();
  // Recovery at start (SUBMITTED, STARTING, RUNNING).
  await db.schema.createIndex('jobs_status_seq').on('jobs').columns(['status', 'seq']).execute();
  // Children of an array job (ListJobs --array-job-id), in index order.
  await db.schema
    .createIndex('jobs_array_parent')
    .on('jobs')
    .columns(['array_parent_id', 'array_index'])
    .where(sql.ref('array_parent_id'), 'is not', null)
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
