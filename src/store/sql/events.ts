// The SQL store's EventBridge queries: rules and targets (JSON documents, read whole: a few rows,
// never on a per-job path), the outbox of job state changes, deliveries and their retries, and
// the trigger that captures job state changes into the outbox.
//
// The trigger exists only while some ENABLED rule with targets could match a Batch job state
// change, and fires only for the statuses those rules can match (core/events.ts:
// capturedJobStatuses): with no rules a status update costs nothing more, with the seed's
// FAILED-only rule only failures write an outbox row. It is part of the transaction that changes
// the job, so a state change and its event are committed together, bulk updates of array children
// included.

import type { Endpoint, EventDelivery, EventRule, EventTarget, JobStateChange, NewEventDelivery, RuleTarget } from '../../core/events.js';
import { JOB_STATUSES, type JobStatus } from '../../core/types.js';
import { all, chunks, run, type SqlContext } from './context.js';

// ----- rules and targets

export async function loadEventRules(c: SqlContext): Promise<EventRule[]> {
  const rows = await all<{ doc: string; state: string }>(c, c.qb.selectFrom('event_rules').select(['doc', 'state']).orderBy('name'));
  return rows.map((r) => ({ ...JSON.parse(r.doc), state: r.state }));
}

export async function putEventRule(c: SqlContext, rule: EventRule): Promise<void> {
  const doc = JSON.stringify(rule);
  await run(
    c,
    c.qb
      .insertInto('event_rules')
      .values({ name: rule.name, arn: rule.arn, state: rule.state, created_at: rule.createdAt, doc })
      .onConflict((oc) => oc.column('name').doUpdateSet({ state: rule.state, doc })),
  );
}

export async function deleteEventRule(c: SqlContext, name: string): Promise<void> {
  await run(c, c.qb.deleteFrom('event_rules').where('name', '=', name));
}

/** Targets of one rule (or of all), by rule and creation order. */
export async function loadEventTargets(c: SqlContext, ruleName?: string): Promise<RuleTarget[]> {
  let q = c.qb.selectFrom('event_targets').select(['rule_name', 'doc']);
  if (ruleName !== undefined) q = q.where('rule_name', '=', ruleName);
  const rows = await all<{ rule_name: string; doc: string }>(c, q.orderBy('rule_name').orderBy('created_at').orderBy('target_id'));
  return rows.map((r) => ({ ruleName: r.rule_name, target: JSON.parse(r.doc) as EventTarget }));
}

/** Adds or replaces targets by Id (PutTargets). */
export async function putEventTargets(c: SqlContext, ruleName: string, targets: readonly EventTarget[], now: number): Promise<void> {
  for (const t of targets) {
    const doc = JSON.stringify(t);
    await run(
      c,
      c.qb
        .insertInto('event_targets')
        .values({ rule_name: ruleName, target_id: t.Id, created_at: now, doc })
        .onConflict((oc) => oc.columns(['rule_name', 'target_id']).doUpdateSet({ doc })),
    );
  }
}

export async function deleteEventTargets(c: SqlContext, ruleName: string, ids: readonly string[]): Promise<void> {
  for (const part of chunks([...new Set(ids)])) {
    if (part.length > 0) await run(c, c.qb.deleteFrom('event_targets').where('rule_name', '=', ruleName).where('target_id', 'in', part));
  }
}

// ----- the capture trigger

const TRIGGER = 'openbatch_job_events';

/**
 * Installs, replaces or drops the trigger that writes job state changes into the outbox:
 * `statuses` are the statuses to capture ('all', or none when empty). The trigger's name says
 * what it captures (a bit per status), so the catalog tells whether it is already as wanted.
 */
export async function syncJobEventCapture(c: SqlContext, statuses: readonly JobStatus[] | 'all'): Promise<void> {
  // Literals from the fixed list of statuses only: never text from a request.
  const list = statuses === 'all' ? undefined : JOB_STATUSES.filter((s) => statuses.includes(s));
  const wanted =
    list === undefined ? `${TRIGGER}_all` : list.length === 0 ? undefined : `${TRIGGER}_${list.reduce((m, s) => m | (1 << JOB_STATUSES.indexOf(s)), 0)}`;
  const sqlite = c.db.dialect === 'sqlite';
  const existing = await captureTriggers(c);
  if (existing.length === (wanted ? 1 : 0) && (!wanted || existing[0] === wanted)) return;
  const exec = (sql: string) => c.runner.run({ sql, parameters: [] });
  for (const name of existing) await exec(sqlite ? `DROP TRIGGER IF EXISTS ${name}` : `DROP TRIGGER IF EXISTS ${name} ON jobs`);
  if (!wanted) return;
  // Two updates pass a status on the way (core/transitions.ts): SUBMITTED → RUNNABLE passes
  // PENDING (evaluateSubmitted), STARTING → SUCCEEDED/FAILED/RUNNABLE of an attempt that ran
  // passes RUNNING (finishAttempt, which sets the job's startedAt). Each is an event of its own,
  // before the one of the status the update wrote.
  const statusList = list ?? JOB_STATUSES;
  const literals = statusList.map((s) => `'${s}'`).join(', ');
  const passed: { status: JobStatus; when: string }[] = [];
  if (statusList.includes('PENDING')) passed.push({ status: 'PENDING', when: `OLD.status = 'SUBMITTED' AND NEW.status = 'RUNNABLE'` });
  if (statusList.includes('RUNNING')) {
    passed.push({
      status: 'RUNNING',
      when:
        `OLD.status = 'STARTING' AND NEW.status IN ('SUCCEEDED', 'FAILED', 'RUNNABLE') AND NEW.started_at IS NOT NULL ` +
        `AND NEW.started_at ${sqlite ? 'IS NOT' : 'IS DISTINCT FROM'} OLD.started_at`,
    });
  }
  const when = [`NEW.status IN (${literals})`, ...passed.map((p) => `(${p.when})`)].join(' OR ');
  if (sqlite) {
    const now = `CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)`;
    const insert = (status: string, reason: string, cond: string) =>
      `INSERT INTO event_outbox (job_id, status, status_reason, time) SELECT NEW.id, ${status}, ${reason}, ${now} WHERE ${cond}; `;
    await exec(
      `CREATE TRIGGER ${wanted} AFTER UPDATE OF status ON jobs FOR EACH ROW WHEN NEW.status <> OLD.status AND (${when}) BEGIN ` +
        passed.map((p) => insert(`'${p.status}'`, 'NULL', p.when)).join('') +
        insert('NEW.status', 'NEW.status_reason', `NEW.status IN (${literals})`) +
        'END',
    );
  } else {
    // The function (migration 0004) writes the same rows; it gets the statuses as arguments.
    await exec(
      `CREATE TRIGGER ${wanted} AFTER UPDATE OF status ON jobs FOR EACH ROW ` +
        `WHEN (OLD.status IS DISTINCT FROM NEW.status AND (${when})) EXECUTE FUNCTION openbatch_job_state_change(${literals})`,
    );
  }
}

async function captureTriggers(c: SqlContext): Promise<string[]> {
  const rows = await c.runner.all<{ name: string }>({
    sql:
      c.db.dialect === 'sqlite'
        ? `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '${TRIGGER}%'`
        : `SELECT tgname AS name FROM pg_trigger WHERE tgname LIKE '${TRIGGER}%' AND tgrelid = 'jobs'::regclass`,
    parameters: [],
  });
  return rows.map((r) => r.name);
}

/** The statuses the installed trigger captures: 'all', a list, or [] when there is none (for tests and diagnostics). */
export async function jobEventCapture(c: SqlContext): Promise<readonly JobStatus[] | 'all'> {
  const name = (await captureTriggers(c))[0];
  if (!name) return [];
  const suffix = name.slice(TRIGGER.length + 1);
  if (suffix === 'all') return 'all';
  return JOB_STATUSES.filter((_, i) => (Number(suffix) & (1 << i)) !== 0);
}

// ----- the outbox

export async function readEventOutbox(c: SqlContext, limit: number): Promise<JobStateChange[]> {
  const rows = await all<{ id: number; job_id: string; status: string; status_reason: string | null; time: number }>(
    c,
    c.qb.selectFrom('event_outbox').selectAll().orderBy('id').limit(limit),
  );
  return rows.map((r) => {
    const ch: JobStateChange = { id: Number(r.id), jobId: r.job_id, status: r.status as JobStatus, time: Number(r.time) };
    if (r.status_reason != null) ch.statusReason = r.status_reason;
    return ch;
  });
}

export async function deleteEventOutbox(c: SqlContext, ids: readonly number[]): Promise<void> {
  for (const part of chunks([...ids])) {
    if (part.length > 0) await run(c, c.qb.deleteFrom('event_outbox').where('id', 'in', part));
  }
}

// ----- deliveries

export async function insertEventDeliveries(c: SqlContext, deliveries: readonly NewEventDelivery[]): Promise<void> {
  for (const part of chunks(deliveries, 200)) {
    if (part.length === 0) continue;
    await run(
      c,
      c.qb.insertInto('event_deliveries').values(
        part.map((d) => ({
          rule_name: d.ruleName,
          target_id: d.targetId,
          endpoint: JSON.stringify(d.endpoint),
          body: d.body,
          event_time: d.eventTime,
          attempts: 0,
          next_attempt_at: d.nextAttemptAt,
          max_retries: d.maxRetries,
          max_age_ms: d.maxAgeMs,
          last_error: null,
        })),
      ),
    );
  }
}

/** Deliveries due at `now`, the earliest first. */
export async function dueEventDeliveries(c: SqlContext, now: number, limit: number): Promise<EventDelivery[]> {
  const rows = await all<DeliveryRow>(
    c,
    c.qb.selectFrom('event_deliveries').selectAll().where('next_attempt_at', '<=', now).orderBy('next_attempt_at').orderBy('id').limit(limit),
  );
  return rows.map(rowToDelivery);
}

/** When the next delivery is due (in-flight ones included), or undefined when none is left. */
export async function nextEventDeliveryAt(c: SqlContext): Promise<number | undefined> {
  const rows = await all<{ t: number | null }>(c, c.qb.selectFrom('event_deliveries').select((eb) => eb.fn.min<number>('next_attempt_at').as('t')));
  const t = rows[0]?.t;
  return t == null ? undefined : Number(t);
}

export async function deleteEventDeliveries(c: SqlContext, ids: readonly number[]): Promise<void> {
  for (const part of chunks([...ids])) {
    if (part.length > 0) await run(c, c.qb.deleteFrom('event_deliveries').where('id', 'in', part));
  }
}

export async function retryEventDelivery(c: SqlContext, id: number, attempts: number, nextAttemptAt: number, lastError: string): Promise<void> {
  await run(
    c,
    c.qb.updateTable('event_deliveries').set({ attempts, next_attempt_at: nextAttemptAt, last_error: lastError.slice(0, 1000) }).where('id', '=', id),
  );
}

interface DeliveryRow {
  id: number;
  rule_name: string;
  target_id: string;
  endpoint: string;
  body: string;
  event_time: number;
  attempts: number;
  next_attempt_at: number;
  max_retries: number;
  max_age_ms: number;
  last_error: string | null;
}

function rowToDelivery(r: DeliveryRow): EventDelivery {
  const d: EventDelivery = {
    id: Number(r.id),
    ruleName: r.rule_name,
    targetId: r.target_id,
    endpoint: JSON.parse(r.endpoint) as Endpoint,
    body: r.body,
    eventTime: Number(r.event_time),
    attempts: r.attempts,
    nextAttemptAt: Number(r.next_attempt_at),
    maxRetries: r.max_retries,
    maxAgeMs: Number(r.max_age_ms),
  };
  if (r.last_error != null) d.lastError = r.last_error;
  return d;
}
