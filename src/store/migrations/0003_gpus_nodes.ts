// 0003: GPU device indices given to an attempt at placement, so a restart keeps them.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('attempts').addColumn('gpu_indices', 'text').execute();
}
