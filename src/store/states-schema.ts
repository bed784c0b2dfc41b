// Row types of the Step Functions tables (migration 0007_states).

export interface SfnStateMachineRow {
  arn: string;
  name: string;
  created_at: number;
  doc: string; // JSON of the StateMachineRecord
}

export interface SfnExecutionRow {
  arn: string;
  state_machine_arn: string;
  name: string;
  status: string;
  start_date: number;
  stop_date: number | null;
  doc: string; // JSON of the rest of the ExecutionRecord
}

export interface SfnHistoryRow {
  execution_arn: string;
  id: number;
  event_key: string;
  timestamp: number;
  type: string;
  doc: string; // JSON of the event's details
}

export interface SfnStepRow {
  execution_arn: string;
  step_key: string;
  doc: string;
}

export interface SfnPublishRow {
  message_id: string;
  topic_arn: string;
  created_at: number;
  execution_arn: string | null;
  doc: string;
}

export interface StatesSchema {
  sfn_state_machines: SfnStateMachineRow;
  sfn_executions: SfnExecutionRow;
  sfn_history: SfnHistoryRow;
  sfn_steps: SfnStepRow;
  sfn_publishes: SfnPublishRow;
}
