// 0003: GPU device indices given to an attempt at placement, so a restart keeps them; the nodes of
// multi-node parallel jobs.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('attempts').addColumn('gpu_indices', 'text').execute();
  // Nodes of a multi-node parallel job: the parent's id and the node's index.
  await db.schema.alterTable('jobs').addColumn('node_parent_id', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('node_index', 'integer').execute();
  await db.schema
    .createIndex('jobs_node_parent')
    .on('jobs')
    .columns(['node_parent_id', 'node_index'])
    .where(sql.ref('node_parent_id'), 'is not', null)
    .execute();
}
