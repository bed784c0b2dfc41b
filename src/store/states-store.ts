// The Step Functions part of the store: state machines, executions and their history, the
// runner's step records and SNS publishes. The SQL implementation is sql/states.ts.

import type { ExecutionRecord, ExecutionStatus, HistoryEvent, PublishRecord, StateMachineRecord, StepRecord } from '../core/asl/records.js';

export interface ExecutionPatch {
  status: ExecutionStatus;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
}

export interface StatesStore {
  insertStateMachine(sm: StateMachineRecord): Promise<void>;
  updateStateMachine(sm: StateMachineRecord): Promise<void>;
  deleteStateMachine(arn: string): Promise<void>;
  getStateMachine(arn: string): Promise<StateMachineRecord | undefined>;
  listStateMachines(): Promise<StateMachineRecord[]>;

  /** Inserts the execution and its first history event (ExecutionStarted) in one transaction. */
  insertExecution(e: ExecutionRecord, first: Omit<HistoryEvent, 'id' | 'previousEventId'>): Promise<void>;
  getExecution(arn: string): Promise<ExecutionRecord | undefined>;
  /** Newest first. */
  listExecutions(q: { stateMachineArn: string; status?: ExecutionStatus; offset: number; limit: number }): Promise<ExecutionRecord[]>;
  executionsWithStatus(status: ExecutionStatus): Promise<ExecutionRecord[]>;
  /** Ends an execution that is still RUNNING (with the final event, if given); false if it was not. */
  finishExecution(arn: string, patch: ExecutionPatch, last?: Omit<HistoryEvent, 'id' | 'previousEventId'>): Promise<boolean>;

  /** Appends an event unless one with its key exists; returns the stored event either way. */
  appendEvent(executionArn: string, event: Omit<HistoryEvent, 'id' | 'previousEventId'>): Promise<HistoryEvent>;
  history(executionArn: string, q: { afterId?: number; beforeId?: number; limit: number; reverse: boolean }): Promise<HistoryEvent[]>;

  getStep(executionArn: string, key: string): Promise<StepRecord | undefined>;
  putStep(executionArn: string, key: string, step: StepRecord): Promise<void>;
  steps(executionArn: string): Promise<{ key: string; step: StepRecord }[]>;

  insertPublish(p: PublishRecord): Promise<void>;
  updatePublish(p: PublishRecord): Promise<void>;
  listPublishes(executionArn?: string): Promise<PublishRecord[]>;
}
