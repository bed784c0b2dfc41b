// Row types of the tables, for the Kysely query builder. Columns are snake_case; booleans are
// stored as 0/1 integers and timestamps as epoch milliseconds (BIGINT) on both backends, so one
// set of queries runs on SQLite and PostgreSQL unchanged.

import type { Generated } from 'kysely';
import type { StatesSchema } from './states-schema.js';

export interface ComputeEnvironmentRow {
  name: string;
  arn: string;
  created_at: number;
  doc: string; // JSON of the ComputeEnvironment record
}

export interface JobQueueRow {
  name: string;
  arn: string;
  created_at: number;
  doc: string; // JSON of the JobQueue record
}

export interface JobDefinitionRow {
  arn: string;
  name: string;
  revision: number;
  status: string;
  created_at: number;
  doc: string; // JSON of the JobDefinition record
}

export interface JobRow {
  id: string;
  seq: number;
  name: string;
  queue: string;
  status: string;
  status_reason: string | null;
  created_at: number;
  started_at: number | null;
  stopped_at: number | null;
  job_definition: string;
  vcpus: number;
  memory: number;
  gpus: number;
  attempt_count: number;
  compute_environment: string | null;
  is_cancelled: number;
  is_terminated: number;
  stop_reason: string | null;
  array_parent_id: string | null;
  array_index: number | null;
  spec: string; // JSON of the JobSpec, written once at submit; '' for array children (they share the parent's)
  unmet_dependencies: number;
  has_dependents: number;
  runnable_since: number | null;
  stop_cause: string | null;
  share_identifier: string | null;
  scheduling_priority: number;
  array_size: number | null;
  array_succeeded: number;
  array_failed: number;
  array_summary_updated_at: number | null;
  max_concurrency: number | null;
  /** Nodes of a multi-node parallel job (0003). */
  node_parent_id: string | null;
  node_index: number | null;
}

export interface JobDependencyRow {
  job_id: string;
  depends_on: string;
}

export interface SchedulingPolicyRow {
  name: string;
  arn: string;
  created_at: number;
  doc: string;
}

export interface AttemptRow {
  job_id: string;
  attempt: number;
  compute_environment: string;
  task_id: string;
  log_stream_name: string;
  status: string;
  started_at: number | null;
  stopped_at: number | null;
  exit_code: number | null;
  reason: string | null;
  status_reason: string | null;
  /** Comma-separated GPU device indices (0003); null without GPUs. */
  gpu_indices: string | null;
  /** Right-sizing data (0005), written with the attempt's end where its executor measured it. */
  peak_memory_mib?: number | null;
  cpu_seconds?: number | null;
  /** The job definition's name, written with the measurements (the index of the summaries). */
  job_definition_name?: string | null;
}

export interface TagRow {
  resource_arn: string;
  key: string;
  value: string;
}

/** EventBridge rules on the default bus (0004); doc: JSON of the rule's settings. */
export interface EventRuleRow {
  name: string;
  arn: string;
  state: string;
  created_at: number;
  doc: string;
}

/** A rule's target (0004); doc: JSON of the Target as PutTargets gave it. */
export interface EventTargetRow {
  rule_name: string;
  target_id: string;
  created_at: number;
  doc: string;
}

/** A job state change waiting to be matched against the rules (0004). */
export interface EventOutboxRow {
  id: Generated<number>;
  job_id: string;
  status: string;
  status_reason: string | null;
  time: number;
}

/** One event on its way to one endpoint (0004). */
export interface EventDeliveryRow {
  id: Generated<number>;
  rule_name: string;
  target_id: string;
  endpoint: string; // JSON of the endpoint (sql/events.ts)
  body: string;
  event_time: number;
  attempts: number;
  next_attempt_at: number;
  max_retries: number;
  max_age_ms: number;
  last_error: string | null;
}

export interface Schema extends StatesSchema {
  compute_environments: ComputeEnvironmentRow;
  job_queues: JobQueueRow;
  job_definitions: JobDefinitionRow;
  jobs: JobRow;
  attempts: AttemptRow;
  tags: TagRow;
  job_dependencies: JobDependencyRow;
  scheduling_policies: SchedulingPolicyRow;
  event_rules: EventRuleRow;
  event_targets: EventTargetRow;
  event_outbox: EventOutboxRow;
  event_deliveries: EventDeliveryRow;
}
