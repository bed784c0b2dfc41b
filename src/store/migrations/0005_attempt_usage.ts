// 0005: right-sizing data. Each attempt's peak memory (MiB) and CPU time (seconds), as its
// executor measured them, written with its end; and the name of its job definition, written with
// them, so that the summaries per job definition (p50/p95 over its last attempts) read an index
// instead of joining every job. Attempts without a measurement keep nulls and stay out of it.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('attempts').addColumn('peak_memory_mib', 'double precision').execute();
  await db.schema.alterTable('attempts').addColumn('cpu_seconds', 'double precision').execute();
  await db.schema.alterTable('attempts').addColumn('job_definition_name', 'text').execute();
  await db.schema
    .createIndex('attempts_usage_by_definition')
    .on('attempts')
    .columns(['job_definition_name', 'stopped_at'])
    .where(sql.ref('job_definition_name'), 'is not', null)
    .execute();
}
