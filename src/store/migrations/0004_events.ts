// 0004: EventBridge on the default event bus. Rules and their targets (JSON documents next to
// their keys, like the other metadata), the outbox of job state changes, and the deliveries of
// events to targets (one row per event and endpoint, kept until delivered or given up).
//
// State changes reach the outbox through a trigger on `jobs` that the store installs only while
// an ENABLED rule with targets could match a Batch event (sql/events.ts: syncJobEventCapture), so
// a store without rules pays nothing per job. On PostgreSQL the trigger's function is created here.
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const id = (t: any) =>
    postgres ? t.addColumn('id', 'bigserial', (c: any) => c.primaryKey()) : t.addColumn('id', 'integer', (c: any) => c.primaryKey().autoIncrement());

  await db.schema
    .createTable('event_rules')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('arn', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('event_targets')
    .addColumn('rule_name', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_targets_pk', ['rule_name', 'target_id'])
    .execute();

  // Job state changes not yet turned into deliveries, in the order they were committed.
  await id(db.schema.createTable('event_outbox'))
    .addColumn('job_id', 'text', (c: any) => c.notNull())
    .addColumn('status', 'text', (c: any) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('time', 'bigint', (c: any) => c.notNull())
    .execute();

  // One event for one endpoint: the body as it is sent, and where its retries stand.
  await id(db.schema.createTable('event_deliveries'))
    .addColumn('rule_name', 'text', (c: any) => c.notNull())
    .addColumn('target_id', 'text', (c: any) => c.notNull())
    .addColumn('endpoint', 'text', (c: any) => c.notNull())
    .addColumn('body', 'text', (c: any) => c.notNull())
    .addColumn('event_time', 'bigint', (c: any) => c.notNull())
    .addColumn('attempts', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c: any) => c.notNull())
    .addColumn('max_retries', 'integer', (c: any) => c.notNull())
    .addColumn('max_age_ms', 'bigint', (c: any) => c.notNull())
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('event_deliveries_due').on('event_deliveries').columns(['next_attempt_at', 'id']).execute();

  if (postgres) {
    // The statuses to capture are the trigger's arguments (sql/events.ts). Two updates pass a
    // status on the way (core/transitions.ts): SUBMITTED → RUNNABLE passes PENDING
    // (evaluateSubmitted), and STARTING → SUCCEEDED/FAILED/RUNNABLE of an attempt that ran passes
    // RUNNING (finishAttempt; it sets the job's startedAt). Those are state changes too, and come first.
    await sql`
      CREATE OR REPLACE FUNCTION openbatch_job_state_change() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        at bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      BEGIN
        IF OLD.status = 'SUBMITTED' AND NEW.status = 'RUNNABLE' AND 'PENDING' = ANY(TG_ARGV) THEN
          INSERT INTO event_outbox (job_id, status, status_reason, time) VALUES (NEW.id, 'PENDING', NULL, at);
        END IF;
        IF OLD.status = 'STARTING' AND NEW.status IN ('SUCCEEDED', 'FAILED', 'RUNNABLE') AND NEW.started_at IS NOT NULL
           AND NEW.started_at IS DISTINCT FROM OLD.started_at AND 'RUNNING' = ANY(TG_ARGV) THEN
          INSERT INTO event_outbox (job_id, status, status_reason, time) VALUES (NEW.id, 'RUNNING', NULL, at);
        END IF;
        IF NEW.status = ANY(TG_ARGV) THEN
          INSERT INTO event_outbox (job_id, status, status_reason, time) VALUES (NEW.id, NEW.status, NEW.status_reason, at);
        END IF;
        RETURN NULL;
      END $$`.execute(db);
  }
}
