// Row types of the tables, for the Kysely query builder. Columns are snake_case; booleans are
// stored as 0/1 integers and timestamps as epoch milliseconds (BIGINT) on both backends, so one
// set of queries runs on SQLite and PostgreSQL unchanged.

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
}

export interface TagRow {
  resource_arn: string;
  key: string;
  value: string;
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
}
