// Step Functions resources as OpenBatch stores them: state machines, executions, history
// events, the runner's step records and the SNS publishes of workflows. Times are epoch ms.

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface StateMachineRecord {
  stateMachineArn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: 'STANDARD' | 'EXPRESS';
  status: 'ACTIVE' | 'DELETING';
  creationDate: number;
  description?: string;
  loggingConfiguration?: unknown;
  tracingConfiguration?: unknown;
  /** Changes with every UpdateStateMachine (AWS's revisionId). */
  revisionId?: string;
  tags?: Record<string, string>;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  /** The definition the execution runs: the state machine's at StartExecution. */
  definition: string;
  stateMachineName: string;
}

export interface HistoryEvent {
  id: number;
  /** Deterministic per event (state path, visit, attempt): a replay writes each event once. */
  key: string;
  timestamp: number;
  type: string;
  previousEventId: number;
  /** The event's details member, e.g. `stateEnteredEventDetails`. */
  details: Record<string, unknown>;
}

/** What the runner remembers about one Task attempt or Wait, keyed like the history. */
export interface StepRecord {
  status: 'SUBMITTING' | 'SUBMITTED' | 'SUCCEEDED' | 'FAILED' | 'WAITING';
  jobId?: string;
  /** Tag put on the Batch job: finds it if the server died between submit and this record. */
  token?: string;
  result?: unknown;
  error?: string;
  cause?: string;
  /** Wait and retry deadlines (epoch ms). */
  until?: number;
}

export interface PublishRecord {
  messageId: string;
  topicArn: string;
  message: string;
  subject?: string;
  createdAt: number;
  executionArn?: string;
  /** How delivery went: `no target`, `delivered to N`, or the error. */
  delivery?: string;
}
