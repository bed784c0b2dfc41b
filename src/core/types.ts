// Domain types of OpenBatch, in AWS Batch's own vocabulary.
// Shapes that clients see mirror the AWS Batch API model (field names included) so that the
// API layer maps them with little more than a copy; runtime-only bookkeeping is kept apart.

export const JOB_STATUSES = [
  'SUBMITTED',
  'PENDING',
  'RUNNABLE',
  'STARTING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED']);
/** Jobs in these states hold capacity on a compute environment. */
export const ACTIVE_STATUSES: ReadonlySet<JobStatus> = new Set(['STARTING', 'RUNNING']);

export type ResourceState = 'ENABLED' | 'DISABLED';
export type ResourceStatus = 'CREATING' | 'UPDATING' | 'DELETING' | 'DELETED' | 'VALID' | 'INVALID';

export type Tags = Record<string, string>;

/** What a job asks for and what a compute environment has. Memory in MiB. */
export interface Resources {
  vcpus: number;
  memory: number;
  gpus: number;
}

export const ZERO_RESOURCES: Resources = Object.freeze({ vcpus: 0, memory: 0, gpus: 0 });

// ---------------------------------------------------------------------------------------------
// Compute environments

export interface ComputeResources {
  type: 'EC2' | 'SPOT' | 'FARGATE' | 'FARGATE_SPOT';
  maxvCpus: number;
  minvCpus?: number;
  desiredvCpus?: number;
  [field: string]: unknown; // instanceTypes, subnets, ... stored and reported as given
}

export interface ComputeEnvironment {
  computeEnvironmentName: string;
  computeEnvironmentArn: string;
  type: 'MANAGED' | 'UNMANAGED';
  state: ResourceState;
  status: ResourceStatus;
  statusReason: string;
  computeResources?: ComputeResources;
  unmanagedvCpus?: number;
  serviceRole?: string;
  tags: Tags;
  uuid: string;
  /** Everything else the client sent (eksConfiguration, updatePolicy, context, ...), reported back as given. */
  extra: Record<string, unknown>;
  /** What the scheduler may place on it. Derived from maxvCpus and the host, see core/capacity.ts. */
  capacity: Resources;
  /** Which executor runs its jobs (local process for now). */
  executor: string;
  createdAt: number;
}

// ---------------------------------------------------------------------------------------------
// Job queues

export interface ComputeEnvironmentOrder {
  order: number;
  computeEnvironment: string; // ARN
}

export interface JobQueue {
  jobQueueName: string;
  jobQueueArn: string;
  state: ResourceState;
  status: ResourceStatus;
  statusReason: string;
  priority: number;
  computeEnvironmentOrder: ComputeEnvironmentOrder[];
  schedulingPolicyArn?: string;
  jobStateTimeLimitActions?: unknown[];
  tags: Tags;
  createdAt: number;
}

// ---------------------------------------------------------------------------------------------
// Job definitions

export interface KeyValuePair {
  name: string;
  value: string;
}

export interface ResourceRequirement {
  type: 'VCPU' | 'MEMORY' | 'GPU';
  value: string;
}

/** containerProperties as the API model has them; unknown members are kept as given. */
export interface ContainerProperties {
  image?: string;
  command?: string[];
  environment?: KeyValuePair[];
  vcpus?: number;
  memory?: number;
  resourceRequirements?: ResourceRequirement[];
  [field: string]: unknown;
}

export interface EvaluateOnExit {
  onStatusReason?: string;
  onReason?: string;
  onExitCode?: string;
  action: string; // RETRY | EXIT, case-insensitive as AWS accepts it
}

export interface RetryStrategy {
  attempts?: number;
  evaluateOnExit?: EvaluateOnExit[];
}

export interface JobTimeout {
  attemptDurationSeconds?: number;
}

export interface JobDefinition {
  jobDefinitionName: string;
  jobDefinitionArn: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  type: 'container' | 'multinode';
  parameters?: Record<string, string>;
  schedulingPriority?: number;
  containerProperties?: ContainerProperties;
  nodeProperties?: Record<string, unknown>;
  retryStrategy?: RetryStrategy;
  propagateTags?: boolean;
  timeout?: JobTimeout;
  tags: Tags;
  platformCapabilities?: string[];
  /** ecsProperties, eksProperties, ...: stored and reported as given. */
  extra: Record<string, unknown>;
  containerOrchestrationType: 'ECS' | 'EKS';
  createdAt: number;
}

// ---------------------------------------------------------------------------------------------
// Jobs

export interface JobDependency {
  jobId?: string;
  type?: 'N_TO_N' | 'SEQUENTIAL';
}

/**
 * Everything fixed at submit time: the job definition resolved with the submit's overrides and
 * parameters. Written once, never rewritten on a transition.
 */
export interface JobSpec {
  jobDefinitionArn: string;
  jobDefinitionName: string;
  /** The container as DescribeJobs reports it (without runtime fields). */
  container: ContainerProperties;
  /** The command after Ref:: substitution; what the executor runs. */
  command: string[];
  /** Environment after merging definition and overrides; without the AWS_BATCH_ variables. */
  environment: KeyValuePair[];
  resources: Resources;
  parameters: Record<string, string>;
  retryStrategy?: RetryStrategy;
  timeout?: JobTimeout;
  dependsOn: JobDependency[];
  tags: Tags;
  propagateTags?: boolean;
  platformCapabilities?: string[];
  schedulingPriority?: number;
  shareIdentifier?: string;
  arrayProperties?: { size: number };
  /** Multi-node parallel jobs: the parent has the resolved nodeProperties (overrides applied);
   *  each node has numNodes and mainNode (its own container is the rest of its spec). */
  nodeProperties?: { numNodes: number; mainNode: number; nodeRangeProperties?: unknown[] };
}

/** One attempt: each time the job was placed on a compute environment. */
export interface Attempt {
  jobId: string;
  attempt: number; // 1-based; AWS_BATCH_JOB_ATTEMPT
  computeEnvironment: string; // name
  taskId: string;
  logStreamName: string;
  status: 'STARTING' | 'RUNNING' | 'STOPPED';
  startedAt?: number;
  stoppedAt?: number;
  exitCode?: number;
  /** Container-level reason, e.g. "OutOfMemoryError: Container killed due to memory usage". */
  reason?: string;
  /** Job-level reason for this attempt, e.g. "Essential container in task exited". */
  statusReason?: string;
  /** GPU device indices given to this attempt at placement (CUDA_VISIBLE_DEVICES); absent without GPUs. */
  gpuIndices?: number[];
  /** Peak memory (MiB) and CPU time (user + system, s) as the executor measured them; absent where it did not. */
  peakMemoryMiB?: number;
  cpuSeconds?: number;
}

export interface Job {
  jobId: string;
  jobName: string;
  jobQueue: string; // queue name
  status: JobStatus;
  statusReason?: string;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  /** Monotonic submission order: FIFO within a queue. */
  seq: number;
  spec: JobSpec;
  /** Number of attempts started so far (the current or last attempt's number). */
  attemptCount: number;
  /** Compute environment of the current or last attempt. */
  computeEnvironment?: string;
  isCancelled?: boolean;
  isTerminated?: boolean;
  /** Set when the current attempt is being stopped (TerminateJob, timeout, Spot reclaim); survives restarts. */
  stopRequestedReason?: string;
  /** Why the current attempt is being stopped; decides the job's reason and whether it may retry. */
  stopCause?: StopCause;
  /** Dependencies not yet SUCCEEDED; the job stays PENDING while above 0. */
  unmetDependencies: number;
  /** Some job depends on this one. */
  hasDependents?: boolean;
  /** When the job last became RUNNABLE (queue time-limit actions count from here). */
  runnableSince?: number;
  shareIdentifier?: string;
  schedulingPriority: number;
  /** Array children: the parent's id and this child's index. */
  arrayParentId?: string;
  arrayIndex?: number;
  /** Array parents: the size, finished children so far, and the optional cap on running children. */
  array?: ArrayState;
  /** Nodes of a multi-node parallel job: the parent's id and this node's index (id `<parent>#<index>`). */
  nodeParentId?: string;
  nodeIndex?: number;
}

export type StopCause = 'TERMINATED' | 'TIMEOUT' | 'RECLAIMED';

export interface ArrayState {
  size: number;
  succeeded: number;
  failed: number;
  summaryUpdatedAt?: number;
  /** openbatch:maxConcurrency: at most this many children RUNNABLE/STARTING/RUNNING at once. */
  maxConcurrency?: number;
}

// ---------------------------------------------------------------------------------------------
// Scheduling policies (fair share)

export interface ShareAttributes {
  shareIdentifier: string;
  weightFactor?: number;
}

export interface FairsharePolicy {
  shareDecaySeconds?: number;
  computeReservation?: number;
  shareDistribution?: ShareAttributes[];
}

export interface SchedulingPolicy {
  name: string;
  arn: string;
  fairsharePolicy?: FairsharePolicy;
  tags: Tags;
  createdAt: number;
}
