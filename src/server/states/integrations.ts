// The services a workflow's Task states call, behind small interfaces the runner depends on:
// Batch (this server's own BatchService) and SNS-style notifications (NotificationPublisher).

import { createHash } from 'node:crypto';
import { presentJobDetail } from '../../api/batch/present.js';
import { validateInput } from '../../api/batch/validate.js';
import type { Arns } from '../../core/arn.js';
import type { BatchService } from '../../service/index.js';
import type { SubmitJobInput } from '../../service/jobs.js';

/** The Batch calls a workflow makes. Errors are thrown as they come (ClientException, ...). */
export interface BatchGateway {
  /** SubmitJob with the input in the Batch API's own (camelCase) form. */
  submit(input: Record<string, unknown>): Promise<{ jobArn: string; jobName: string; jobId: string }>;
  /** The job as DescribeJobs returns it (camelCase), or undefined if there is none. */
  describe(jobId: string): Promise<Record<string, unknown> | undefined>;
  /** Several jobs at once, by job id (missing ones left out). */
  describeMany(jobIds: readonly string[]): Promise<Map<string, Record<string, unknown>>>;
  terminate(jobId: string, reason: string): Promise<void>;
  /** The job of this queue and name carrying tag `key` = `value` (the newest), if any. */
  findByTag(jobQueue: string, jobName: string, key: string, value: string): Promise<string | undefined>;
}

/** Delivers a workflow's `sns:publish` (a topic ARN or name → operator-configured targets). */
export interface NotificationPublisher {
  publish(topicArn: string, message: string, subject?: string): Promise<{ MessageId: string; delivery?: string }>;
}

export function batchGateway(service: BatchService, arns: Arns): BatchGateway {
  const ceUuid = (name: string) => service.ctx.registry.computeEnvironments.get(name)?.uuid ?? '00000000-0000-0000-0000-000000000000';
  return {
    async submit(input) {
      // The same checks as the SubmitJob API: a workflow gets the errors a client would.
      validateInput('SubmitJob', input);
      return service.jobs.submit(input as SubmitJobInput);
    },
    async describe(jobId) {
      const [view] = await service.jobs.describe({ jobs: [jobId] });
      return view ? (presentJobDetail(view, arns, ceUuid) as Record<string, unknown>) : undefined;
    },
    async describeMany(jobIds) {
      const out = new Map<string, Record<string, unknown>>();
      for (let i = 0; i < jobIds.length; i += 100) {
        for (const view of await service.jobs.describe({ jobs: jobIds.slice(i, i + 100) as string[] })) {
          out.set(view.job.jobId, presentJobDetail(view, arns, ceUuid) as Record<string, unknown>);
        }
      }
      return out;
    },
    async terminate(jobId, reason) {
      await service.jobs.terminate({ jobId, reason });
    },
    async findByTag(jobQueue, jobName, key, value) {
      let listed;
      try {
        listed = await service.jobs.list({ jobQueue, filters: [{ name: 'JOB_NAME', values: [jobName] }], maxResults: 100 });
      } catch {
        return undefined;
      }
      const ids = listed.jobs.map((j) => j.jobId);
      if (ids.length === 0) return undefined;
      const tags = await service.ctx.store.getTagsMany(ids.map((id) => arns.job(id)));
      return ids.find((id) => tags.get(arns.job(id))?.[key] === value);
    },
  };
}

/**
 * `sns:publish` to the operator's notification topics (--notifications-file; the events module's
 * durable delivery, retried across restarts): each endpoint of the topic gets the JSON SNS posts to
 * HTTP subscribers ({Type, MessageId, TopicArn, Subject, Message, Timestamp}). A topic with no
 * endpoint delivers to nobody; the runner records every publish either way.
 */
export function topicPublisher(
  publish: (topicArn: string, body: string) => Promise<number>,
  newId: () => string,
  now: () => number,
): NotificationPublisher {
  return {
    async publish(topicArn, message, subject) {
      const MessageId = newId();
      const body = JSON.stringify({ Type: 'Notification', MessageId, TopicArn: topicArn, ...(subject !== undefined ? { Subject: subject } : {}), Message: message, Timestamp: new Date(now()).toISOString() });
      const endpoints = await publish(topicArn, body);
      return { MessageId, delivery: endpoints === 0 ? 'no target configured for this topic (see --notifications-file)' : `queued for ${endpoints} endpoint${endpoints === 1 ? '' : 's'}` };
    },
  };
}

/**
 * Describes jobs for the `.sync` tasks waiting on them, coalescing the calls made within
 * `windowMs` into one DescribeJobs of them all: a Map of a thousand iterations polls the store
 * a few times per interval, not a thousand.
 */
export function coalescingDescribe(batch: BatchGateway, windowMs = 10): (jobId: string) => Promise<Record<string, unknown> | undefined> {
  let pending: Map<string, { resolve: (d: Record<string, unknown> | undefined) => void; reject: (e: unknown) => void }[]> | undefined;
  const flush = async () => {
    const batchOf = pending!;
    pending = undefined;
    try {
      const found = await batch.describeMany([...batchOf.keys()]);
      for (const [id, waiters] of batchOf) for (const w of waiters) w.resolve(found.get(id));
    } catch (e) {
      for (const waiters of batchOf.values()) for (const w of waiters) w.reject(e);
    }
  };
  return (jobId) =>
    new Promise((resolve, reject) => {
      if (!pending) {
        pending = new Map();
        setTimeout(() => void flush(), windowMs);
      }
      const list = pending.get(jobId) ?? [];
      list.push({ resolve, reject });
      pending.set(jobId, list);
    });
}

/** A short deterministic token for (execution, step): tags the Batch job a step submits. */
export function stepToken(executionArn: string, stepKey: string): string {
  return createHash('sha256').update(`${executionArn}\n${stepKey}`).digest('hex').slice(0, 32);
}

/** Step Functions' capitalised parameters (JobName, ContainerOverrides.Environment[].Name) → Batch's API form. */
export function toBatchInput(params: Record<string, unknown>): Record<string, unknown> {
  return camel(params, 0) as Record<string, unknown>;
}

// Keys inside these members are the user's own (job parameters, tags): never renamed.
const MAPS = new Set(['Parameters', 'Tags', 'parameters', 'tags']);

function camel(v: unknown, depth: number): unknown {
  if (Array.isArray(v)) return v.map((x) => camel(x, depth + 1));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const key = k.charAt(0).toLowerCase() + k.slice(1);
    Object.defineProperty(out, key, { value: MAPS.has(k) && depth === 0 ? x : camel(x, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A DescribeJobs record with capitalised keys (the `.sync` output), user maps left as they are. */
export function toPascal(v: unknown, depth = 0): unknown {
  if (Array.isArray(v)) return v.map((x) => toPascal(x, depth + 1));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const key = k.charAt(0).toUpperCase() + k.slice(1);
    Object.defineProperty(out, key, { value: MAPS.has(k) && depth === 0 ? x : toPascal(x, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
