// 0006: array parents by state, with their finished-children counters, for the metrics endpoint's
// per-queue job counts (src/store/sql/metrics.ts): a scan of the parents only, from the index.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('jobs_array_parents')
    .on('jobs')
    .columns(['status', 'queue', 'array_succeeded', 'array_failed'])
    .where(sql.ref('array_size'), 'is not', null)
    .execute();
}
