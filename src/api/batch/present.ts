// Domain records → the AWS Batch response shapes (DescribeComputeEnvironments, DescribeJobQueues,
// DescribeJobDefinitions, DescribeJobs, ListJobs). Absent optional fields are left out, never null.

import type { Arns } from '../../core/arn.js';
import type { Attempt, ComputeEnvironment, Job, JobDefinition, JobQueue, JobStatus, SchedulingPolicy } from '../../core/types.js';
import { JOB_STATUSES } from '../../core/types.js';
import type { JobView } from '../../service/jobs.js';

type Json = Record<string, unknown>;

function put(o: Json, key: string, value: unknown): void {
  if (value !== undefined && value !== null) o[key] = value;
}

/**
 * desiredvCpus follows demand as AWS's managed scaling reports it: what the compute environment's
 * jobs hold now, between minvCpus and maxvCpus (back to minvCpus when idle).
 */
function desiredvCpus(ce: ComputeEnvironment, usedVcpus: number): number | undefined {
  const cr = ce.computeResources;
  if (ce.type !== 'MANAGED' || !cr || cr.type === 'FARGATE' || cr.type === 'FARGATE_SPOT') return cr?.desiredvCpus;
  const min = cr.minvCpus ?? 0;
  return Math.min(cr.maxvCpus, Math.max(min, Math.ceil(usedVcpus - 1e-9)));
}

export function presentComputeEnvironment(ce: ComputeEnvironment, arns: Arns, usedVcpus = 0): Json {
  const o: Json = {
    computeEnvironmentName: ce.computeEnvironmentName,
    computeEnvironmentArn: ce.computeEnvironmentArn,
  };
  put(o, 'unmanagedvCpus', ce.unmanagedvCpus);
  o.ecsClusterArn = arns.ecsCluster(ce.computeEnvironmentName, ce.uuid);
  o.tags = ce.tags;
  o.type = ce.type;
  o.state = ce.state;
  o.status = ce.status;
  o.statusReason = ce.statusReason;
  if (ce.computeResources) {
    const desired = desiredvCpus(ce, usedVcpus);
    o.computeResources = desired === undefined ? ce.computeResources : { ...ce.computeResources, desiredvCpus: desired };
  }
  put(o, 'serviceRole', ce.serviceRole);
  Object.assign(o, ce.extra);
  o.containerOrchestrationType = ce.extra.eksConfiguration ? 'EKS' : 'ECS';
  o.uuid = ce.uuid;
  return o;
}

export function presentJobQueue(q: JobQueue): Json {
  const o: Json = { jobQueueName: q.jobQueueName, jobQueueArn: q.jobQueueArn, state: q.state };
  put(o, 'schedulingPolicyArn', q.schedulingPolicyArn);
  o.status = q.status;
  o.statusReason = q.statusReason;
  o.priority = q.priority;
  o.computeEnvironmentOrder = q.computeEnvironmentOrder;
  o.tags = q.tags;
  put(o, 'jobStateTimeLimitActions', q.jobStateTimeLimitActions);
  return o;
}

export function presentJobDefinition(d: JobDefinition): Json {
  const o: Json = {
    jobDefinitionName: d.jobDefinitionName,
    jobDefinitionArn: d.jobDefinitionArn,
    revision: d.revision,
    status: d.status,
    type: d.type,
  };
  put(o, 'schedulingPriority', d.schedulingPriority);
  put(o, 'parameters', d.parameters);
  put(o, 'retryStrategy', d.retryStrategy);
  put(o, 'containerProperties', d.containerProperties);
  put(o, 'timeout', d.timeout);
  put(o, 'nodeProperties', d.nodeProperties);
  o.tags = d.tags;
  put(o, 'propagateTags', d.propagateTags);
  put(o, 'platformCapabilities', d.platformCapabilities);
  Object.assign(o, d.extra);
  o.containerOrchestrationType = d.containerOrchestrationType;
  return o;
}

/** The attempt whose container details the job reports now: the current or last one. */
function currentAttempt(attempts: Attempt[], job: Job): Attempt | undefined {
  return attempts.find((a) => a.attempt === job.attemptCount);
}

function attemptContainer(a: Attempt, job: Job, arns: Arns, ceUuid: (ce: string) => string): Json {
  const c: Json = {
    containerInstanceArn: arns.ecsContainerInstance(a.computeEnvironment, ceUuid(a.computeEnvironment), 'local'),
    taskArn: arns.ecsTask(a.computeEnvironment, ceUuid(a.computeEnvironment), a.taskId),
  };
  put(c, 'exitCode', a.exitCode);
  put(c, 'reason', a.reason);
  // AWS creates the log stream when the attempt reaches RUNNING.
  if (a.startedAt !== undefined) c.logStreamName = a.logStreamName;
  c.networkInterfaces = [];
  void job;
  return c;
}

export function presentJobDetail(view: JobView, arns: Arns, ceUuid: (ce: string) => string): Json {
  const { job, attempts, tags } = view;
  const o: Json = {
    jobArn: arns.job(job.jobId),
    jobName: job.jobName,
    jobId: job.jobId,
    jobQueue: arns.jobQueue(job.jobQueue),
    status: job.status,
  };
  put(o, 'shareIdentifier', job.spec.shareIdentifier);
  put(o, 'schedulingPriority', job.spec.schedulingPriority);
  // attempts[]: the attempts that have ended, as AWS lists them.
  o.attempts = attempts
    .filter((a) => a.status === 'STOPPED')
    .map((a) => {
      const d: Json = { container: attemptContainer(a, job, arns, ceUuid) };
      put(d, 'startedAt', a.startedAt);
      put(d, 'stoppedAt', a.stoppedAt);
      put(d, 'statusReason', a.statusReason);
      return d;
    });
  put(o, 'statusReason', job.statusReason);
  o.createdAt = job.createdAt;
  put(o, 'retryStrategy', job.spec.retryStrategy);
  put(o, 'startedAt', job.startedAt);
  put(o, 'stoppedAt', job.stoppedAt);
  o.dependsOn = job.spec.dependsOn;
  o.jobDefinition = job.spec.jobDefinitionArn;
  o.parameters = job.spec.parameters;
  const container: Json = { ...job.spec.container };
  const current = currentAttempt(attempts, job);
  if (current) Object.assign(container, attemptContainer(current, job, arns, ceUuid));
  else container.networkInterfaces = [];
  o.container = container;
  put(o, 'timeout', job.spec.timeout);
  if (job.array) o.arrayProperties = arrayParentProperties(job, view.childStatusCounts ?? {});
  else if (job.arrayIndex !== undefined) o.arrayProperties = { index: job.arrayIndex };
  // Multi-node parallel jobs: the parent reports its nodeProperties, each node its nodeDetails (NodeDetails).
  const np = job.spec.nodeProperties;
  if (np && job.nodeParentId === undefined) o.nodeProperties = np;
  if (np && job.nodeIndex !== undefined) o.nodeDetails = { nodeIndex: job.nodeIndex, isMainNode: job.nodeIndex === np.mainNode };
  o.tags = tags;
  o.propagateTags = job.spec.propagateTags ?? false;
  o.platformCapabilities = job.spec.platformCapabilities ?? [];
  if (job.isCancelled) o.isCancelled = true;
  if (job.isTerminated) o.isTerminated = true;
  return o;
}

export function presentJobSummary(
  job: Job,
  arns: Arns,
  exit?: { exitCode?: number; reason?: string },
  childStatusCounts?: Partial<Record<JobStatus, number>>,
): Json {
  const o: Json = { jobArn: arns.job(job.jobId), jobId: job.jobId, jobName: job.jobName, createdAt: job.createdAt, status: job.status };
  put(o, 'statusReason', job.statusReason);
  put(o, 'startedAt', job.startedAt);
  put(o, 'stoppedAt', job.stoppedAt);
  if (exit && (exit.exitCode !== undefined || exit.reason !== undefined)) {
    const c: Json = {};
    put(c, 'exitCode', exit.exitCode);
    put(c, 'reason', exit.reason);
    o.container = c;
  }
  // JobSummary.arrayProperties (ArrayPropertiesSummary): size and statusSummary on a parent,
  // index on a child, as DescribeJobs reports them.
  if (job.array) o.arrayProperties = arrayParentProperties(job, childStatusCounts ?? {});
  else if (job.arrayIndex !== undefined) o.arrayProperties = { index: job.arrayIndex };
  // NodePropertiesSummary: numNodes on the parent; on a node also its index and whether it is the main one.
  const np = job.spec.nodeProperties;
  if (np && job.nodeParentId === undefined) o.nodeProperties = { numNodes: np.numNodes };
  if (np && job.nodeIndex !== undefined) o.nodeProperties = { isMainNode: job.nodeIndex === np.mainNode, numNodes: np.numNodes, nodeIndex: job.nodeIndex };
  o.jobDefinition = job.spec.jobDefinitionArn;
  if (job.isCancelled) o.isCancelled = true;
  if (job.isTerminated) o.isTerminated = true;
  return o;
}

export function presentSchedulingPolicy(p: SchedulingPolicy): Json {
  const o: Json = { name: p.name, arn: p.arn };
  put(o, 'fairsharePolicy', p.fairsharePolicy);
  o.tags = p.tags;
  return o;
}

/** All seven statuses, zero-filled (arrays' statusSummary). */
export function emptyStatusSummary(): Record<JobStatus, number> {
  return Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
}

/** An array parent's arrayProperties: size and a statusSummary with all seven statuses. */
export function arrayParentProperties(job: Job, counts: Partial<Record<JobStatus, number>>): Json {
  // Unfinished children are counted by status; finished ones are the parent's own counters.
  const statusSummary = { ...emptyStatusSummary(), ...counts, SUCCEEDED: job.array!.succeeded, FAILED: job.array!.failed };
  const o: Json = { statusSummary, size: job.array!.size };
  o.statusSummaryLastUpdatedAt = job.array!.summaryUpdatedAt ?? job.createdAt;
  return o;
}
