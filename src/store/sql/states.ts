// The SQL store's Step Functions queries (tables of migration 0007_states). Writes that must be
// atomic (an execution with its first event, an event's id) run in one transaction of the
// store's serialised writer.

import type { ExecutionRecord, ExecutionStatus, HistoryEvent, PublishRecord, StateMachineRecord, StepRecord } from '../../core/asl/records.js';
import type { SfnExecutionRow, SfnHistoryRow } from '../states-schema.js';
import type { ExecutionPatch, StatesStore } from '../states-store.js';
import { all, run, type SqlContext } from './context.js';

function execToRow(e: ExecutionRecord): SfnExecutionRow {
  const { executionArn, stateMachineArn, name, status, startDate, stopDate, ...rest } = e;
  return { arn: executionArn, state_machine_arn: stateMachineArn, name, status, start_date: startDate, stop_date: stopDate ?? null, doc: JSON.stringify(rest) };
}

function rowToExec(r: SfnExecutionRow): ExecutionRecord {
  const rest = JSON.parse(r.doc);
  return {
    ...rest,
    executionArn: r.arn,
    stateMachineArn: r.state_machine_arn,
    name: r.name,
    status: r.status as ExecutionStatus,
    startDate: Number(r.start_date),
    ...(r.stop_date !== null ? { stopDate: Number(r.stop_date) } : {}),
  };
}

function rowToEvent(r: SfnHistoryRow): HistoryEvent {
  const id = Number(r.id);
  return { id, key: r.event_key, timestamp: Number(r.timestamp), type: r.type, previousEventId: id - 1, details: JSON.parse(r.doc) };
}

export class SqlStatesStore implements StatesStore {
  constructor(private readonly c: SqlContext) {}

  /** `fn` inside one transaction of the store. */
  private tx<T>(fn: (c: SqlContext) => Promise<T>): Promise<T> {
    const c = this.c;
    return c.db.transaction((runner) => fn({ db: c.db, runner, shared: c.shared, qb: c.qb }));
  }

  async insertStateMachine(sm: StateMachineRecord): Promise<void> {
    await run(this.c, this.c.qb.insertInto('sfn_state_machines').values({ arn: sm.stateMachineArn, name: sm.name, created_at: sm.creationDate, doc: JSON.stringify(sm) }));
  }

  async updateStateMachine(sm: StateMachineRecord): Promise<void> {
    await run(this.c, this.c.qb.updateTable('sfn_state_machines').set({ doc: JSON.stringify(sm) }).where('arn', '=', sm.stateMachineArn));
  }

  async deleteStateMachine(arn: string): Promise<void> {
    await run(this.c, this.c.qb.deleteFrom('sfn_state_machines').where('arn', '=', arn));
  }

  async getStateMachine(arn: string): Promise<StateMachineRecord | undefined> {
    const rows = await all<{ doc: string }>(this.c, this.c.qb.selectFrom('sfn_state_machines').select('doc').where('arn', '=', arn));
    return rows[0] ? JSON.parse(rows[0].doc) : undefined;
  }

  async listStateMachines(): Promise<StateMachineRecord[]> {
    const rows = await all<{ doc: string }>(this.c, this.c.qb.selectFrom('sfn_state_machines').select('doc').orderBy('created_at').orderBy('name'));
    return rows.map((r) => JSON.parse(r.doc));
  }

  insertExecution(e: ExecutionRecord, first: Omit<HistoryEvent, 'id' | 'previousEventId'>): Promise<void> {
    return this.tx(async (c) => {
      await run(c, c.qb.insertInto('sfn_executions').values(execToRow(e)));
      await run(c, c.qb.insertInto('sfn_history').values({ execution_arn: e.executionArn, id: 1, event_key: first.key, timestamp: first.timestamp, type: first.type, doc: JSON.stringify(first.details) }));
    });
  }

  async getExecution(arn: string): Promise<ExecutionRecord | undefined> {
    const rows = await all<SfnExecutionRow>(this.c, this.c.qb.selectFrom('sfn_executions').selectAll().where('arn', '=', arn));
    return rows[0] ? rowToExec(rows[0]) : undefined;
  }

  async listExecutions(q: { stateMachineArn: string; status?: ExecutionStatus; offset: number; limit: number }): Promise<ExecutionRecord[]> {
    let query = this.c.qb.selectFrom('sfn_executions').selectAll().where('state_machine_arn', '=', q.stateMachineArn);
    if (q.status) query = query.where('status', '=', q.status);
    const rows = await all<SfnExecutionRow>(this.c, query.orderBy('start_date', 'desc').orderBy('arn', 'desc').limit(q.limit).offset(q.offset));
    return rows.map(rowToExec);
  }

  async executionsWithStatus(status: ExecutionStatus): Promise<ExecutionRecord[]> {
    const rows = await all<SfnExecutionRow>(this.c, this.c.qb.selectFrom('sfn_executions').selectAll().where('status', '=', status).orderBy('start_date'));
    return rows.map(rowToExec);
  }

  finishExecution(arn: string, patch: ExecutionPatch, last?: Omit<HistoryEvent, 'id' | 'previousEventId'>): Promise<boolean> {
    return this.tx(async (c) => {
      const rows = await all<SfnExecutionRow>(c, c.qb.selectFrom('sfn_executions').selectAll().where('arn', '=', arn).where('status', '=', 'RUNNING'));
      if (!rows[0]) return false;
      const e = { ...rowToExec(rows[0]), ...patch };
      const row = execToRow(e);
      await run(c, c.qb.updateTable('sfn_executions').set({ status: row.status, stop_date: row.stop_date, doc: row.doc }).where('arn', '=', arn));
      if (last) await appendIn(c, arn, last);
      return true;
    });
  }

  appendEvent(executionArn: string, event: Omit<HistoryEvent, 'id' | 'previousEventId'>): Promise<HistoryEvent> {
    return this.tx((c) => appendIn(c, executionArn, event));
  }

  async history(executionArn: string, q: { afterId?: number; beforeId?: number; limit: number; reverse: boolean }): Promise<HistoryEvent[]> {
    let query = this.c.qb.selectFrom('sfn_history').selectAll().where('execution_arn', '=', executionArn);
    if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
    if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
    const rows = await all<SfnHistoryRow>(this.c, query.orderBy('id', q.reverse ? 'desc' : 'asc').limit(q.limit));
    return rows.map(rowToEvent);
  }

  async getStep(executionArn: string, key: string): Promise<StepRecord | undefined> {
    const rows = await all<{ doc: string }>(this.c, this.c.qb.selectFrom('sfn_steps').select('doc').where('execution_arn', '=', executionArn).where('step_key', '=', key));
    return rows[0] ? JSON.parse(rows[0].doc) : undefined;
  }

  putStep(executionArn: string, key: string, step: StepRecord): Promise<void> {
    return this.tx(async (c) => {
      const doc = JSON.stringify(step);
      const changed = await run(c, c.qb.updateTable('sfn_steps').set({ doc }).where('execution_arn', '=', executionArn).where('step_key', '=', key));
      if (changed === 0) await run(c, c.qb.insertInto('sfn_steps').values({ execution_arn: executionArn, step_key: key, doc }));
    });
  }

  async steps(executionArn: string): Promise<{ key: string; step: StepRecord }[]> {
    const rows = await all<{ step_key: string; doc: string }>(this.c, this.c.qb.selectFrom('sfn_steps').select(['step_key', 'doc']).where('execution_arn', '=', executionArn));
    return rows.map((r) => ({ key: r.step_key, step: JSON.parse(r.doc) }));
  }

  async insertPublish(p: PublishRecord): Promise<void> {
    await run(this.c, this.c.qb.insertInto('sfn_publishes').values({ message_id: p.messageId, topic_arn: p.topicArn, created_at: p.createdAt, execution_arn: p.executionArn ?? null, doc: JSON.stringify(p) }));
  }

  async updatePublish(p: PublishRecord): Promise<void> {
    await run(this.c, this.c.qb.updateTable('sfn_publishes').set({ doc: JSON.stringify(p) }).where('message_id', '=', p.messageId));
  }

  async listPublishes(executionArn?: string): Promise<PublishRecord[]> {
    let query = this.c.qb.selectFrom('sfn_publishes').select('doc');
    if (executionArn !== undefined) query = query.where('execution_arn', '=', executionArn);
    const rows = await all<{ doc: string }>(this.c, query.orderBy('created_at'));
    return rows.map((r) => JSON.parse(r.doc));
  }
}

async function appendIn(c: SqlContext, executionArn: string, event: Omit<HistoryEvent, 'id' | 'previousEventId'>): Promise<HistoryEvent> {
  const existing = await all<SfnHistoryRow>(c, c.qb.selectFrom('sfn_history').selectAll().where('execution_arn', '=', executionArn).where('event_key', '=', event.key));
  if (existing[0]) return rowToEvent(existing[0]);
  const max = await all<{ m: number | null }>(c, c.qb.selectFrom('sfn_history').select((eb) => eb.fn.max('id').as('m')).where('execution_arn', '=', executionArn));
  const id = Number(max[0]?.m ?? 0) + 1;
  await run(c, c.qb.insertInto('sfn_history').values({ execution_arn: executionArn, id, event_key: event.key, timestamp: event.timestamp, type: event.type, doc: JSON.stringify(event.details) }));
  return { ...event, id, previousEventId: id - 1 };
}
