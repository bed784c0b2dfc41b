// 0007: Step Functions state machines and executions. An execution's history events are its
// durable state (the runner replays them after a restart); steps are the runner's idempotency
// records (a Batch job submitted for a state attempt, a Wait's deadline); publishes record every
// SNS publish a workflow made. Documents are JSON text, as for the other resources.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sfn_state_machines')
    .addColumn('arn', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sfn_executions')
    .addColumn('arn', 'text', (c) => c.primaryKey())
    .addColumn('state_machine_arn', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('start_date', 'bigint', (c) => c.notNull())
    .addColumn('stop_date', 'bigint')
    .addColumn('doc', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sfn_executions_machine').on('sfn_executions').columns(['state_machine_arn', 'start_date']).execute();
  await db.schema.createIndex('sfn_executions_status').on('sfn_executions').column('status').execute();

  await db.schema
    .createTable('sfn_history')
    .addColumn('execution_arn', 'text', (c) => c.notNull())
    .addColumn('id', 'integer', (c) => c.notNull())
    .addColumn('event_key', 'text', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('sfn_history_pk', ['execution_arn', 'id'])
    .addUniqueConstraint('sfn_history_key', ['execution_arn', 'event_key'])
    .execute();

  await db.schema
    .createTable('sfn_steps')
    .addColumn('execution_arn', 'text', (c) => c.notNull())
    .addColumn('step_key', 'text', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('sfn_steps_pk', ['execution_arn', 'step_key'])
    .execute();

  await db.schema
    .createTable('sfn_publishes')
    .addColumn('message_id', 'text', (c) => c.primaryKey())
    .addColumn('topic_arn', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('execution_arn', 'text')
    .addColumn('doc', 'text', (c) => c.notNull())
    .execute();
}
