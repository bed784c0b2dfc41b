// What an authenticated key may do: read-only keys only read, and a key with a job-queue
// allow-list works only with jobs and job queues in its queues. Resources are looked up through
// the callbacks, so this module needs no store.
//
// For a key with a queue allow-list:
//   - reads (Describe*, List*, Get*, job logs) are unrestricted;
//   - SubmitJob needs its jobQueue allowed; CancelJob, TerminateJob and Spot reclaim need the
//     job's queue allowed;
//   - Create/Update/DeleteJobQueue need that queue allowed;
//   - Tag/UntagResource need the job's or queue's queue allowed (job definitions are free);
//   - Register/DeregisterJobDefinition are allowed (definitions belong to no queue);
//   - compute environment and scheduling policy writes are denied (they affect every queue).

import { queueName } from './credentials.js';
import { accessDenied } from './errors.js';
import type { Principal } from './sigv4.js';

/** Describe*, List*, Get*: what a read-only key may call. */
export function isReadOperation(operation: string): boolean {
  return /^(Describe|List|Get)[A-Z]/.test(operation);
}

export interface AccessLookups {
  /** The ARN of a job queue by name (for messages). */
  queueArn(name: string): string;
  /** The queue of a job (id or ARN); undefined when there is no such job. */
  jobQueueOf(jobRef: string): Promise<string | undefined>;
}

function denied(principal: Principal, action: string, resource: string, why: string) {
  return accessDenied(`User: ${principal.accessKeyId} is not authorized to perform: ${action} on resource: ${resource} (${why})`);
}

/** Read-only keys: throws AccessDeniedException for anything but a read. */
export function checkReadOnly(principal: Principal | undefined, action: string, isRead: boolean, resource = '*'): void {
  if (!principal || isRead || !principal.key.readOnly) return;
  throw denied(principal, action, resource, `access key ${principal.accessKeyId} is read-only: it may call only Describe*, List* and Get* operations`);
}

function checkQueue(principal: Principal, action: string, queue: string, lookups: AccessLookups): void {
  const allowed = principal.key.jobQueues;
  if (!allowed || allowed.includes(queue)) return;
  throw denied(principal, action, lookups.queueArn(queue), `access key ${principal.accessKeyId} may use only job queues: ${allowed.join(', ')}`);
}

async function checkJob(principal: Principal, action: string, jobRef: unknown, lookups: AccessLookups): Promise<void> {
  if (typeof jobRef !== 'string') return; // validation has already refused it
  const queue = await lookups.jobQueueOf(jobRef);
  if (queue === undefined) return; // no such job: the operation says so
  checkQueue(principal, action, queue, lookups);
}

const QUEUE_FREE_WRITES = new Set(['RegisterJobDefinition', 'DeregisterJobDefinition']);

/**
 * Whether `principal` may perform the AWS Batch `operation` with this (validated) input. Throws
 * AccessDeniedException. No principal (authentication off) may do anything.
 */
export async function authorizeBatch(principal: Principal | undefined, operation: string, input: Record<string, unknown>, lookups: AccessLookups): Promise<void> {
  if (!principal) return;
  const action = `batch:${operation}`;
  const read = isReadOperation(operation);
  checkReadOnly(principal, action, read);
  if (read || !principal.key.jobQueues || QUEUE_FREE_WRITES.has(operation)) return;
  switch (operation) {
    case 'SubmitJob':
      if (typeof input.jobQueue === 'string') checkQueue(principal, action, queueName(input.jobQueue), lookups);
      return;
    case 'CancelJob':
    case 'TerminateJob':
      return checkJob(principal, action, input.jobId, lookups);
    case 'CreateJobQueue':
      if (typeof input.jobQueueName === 'string') checkQueue(principal, action, input.jobQueueName, lookups);
      return;
    case 'UpdateJobQueue':
    case 'DeleteJobQueue':
      if (typeof input.jobQueue === 'string') checkQueue(principal, action, queueName(input.jobQueue), lookups);
      return;
    case 'TagResource':
    case 'UntagResource': {
      const arn = typeof input.resourceArn === 'string' ? input.resourceArn : '';
      const m = /^arn:[^:]+:batch:[^:]*:\d*:([a-z-]+)\/(.+)$/.exec(arn);
      if (m?.[1] === 'job') return checkJob(principal, action, arn, lookups);
      if (m?.[1] === 'job-queue') return checkQueue(principal, action, m[2], lookups);
      if (m?.[1] === 'job-definition') return;
      throw denied(principal, action, arn || '*', `access key ${principal.accessKeyId} is limited to job queues ${principal.key.jobQueues.join(', ')}; it may tag only their jobs, the queues themselves and job definitions`);
    }
    default:
      // Compute environments and scheduling policies serve every queue.
      throw denied(principal, action, '*', `access key ${principal.accessKeyId} is limited to job queues ${principal.key.jobQueues.join(', ')}; ${operation} affects other queues`);
  }
}

/** OpenBatch's own endpoints that act on a job (e.g. Spot reclaim): write access to the job's queue. */
export async function authorizeJobWrite(principal: Principal | undefined, action: string, jobRef: string, lookups: AccessLookups): Promise<void> {
  if (!principal) return;
  checkReadOnly(principal, action, false);
  if (principal.key.jobQueues) await checkJob(principal, action, jobRef, lookups);
}
