// EventBridge in its own vocabulary: rules and targets on the default event bus, events (the
// "Batch Job State Change" event AWS Batch sends, and custom ones from PutEvents), deliveries of
// an event to an endpoint and their retry schedule. Pure: no clock, no I/O.

import { JOB_STATUSES, type JobStatus } from './types.js';

export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
export const RULE_STATES: readonly RuleState[] = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'];

export const DEFAULT_EVENT_BUS = 'default';
export const BATCH_SOURCE = 'aws.batch';
export const JOB_STATE_CHANGE = 'Batch Job State Change';

/** A rule of the default event bus, as PutRule set it. */
export interface EventRule {
  name: string;
  arn: string;
  state: RuleState;
  eventPattern?: string;
  scheduleExpression?: string;
  description?: string;
  roleArn?: string;
  tags?: { Key: string; Value: string }[];
  createdAt: number;
}

/** A target as PutTargets gave it (AWS's member names); members OpenBatch does not use are kept and listed back. */
export interface EventTarget {
  Id: string;
  Arn: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  [member: string]: unknown;
}

export interface RuleTarget {
  ruleName: string;
  target: EventTarget;
}

/** An event as EventBridge hands it to targets. */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** A job state change captured in the store's outbox, in commit order. */
export interface JobStateChange {
  id: number;
  jobId: string;
  status: JobStatus;
  statusReason?: string;
  time: number;
}

/**
 * Where one delivery goes. Commands only ever come from the operator's notifications file (an SNS
 * topic mapped to them); the API can name a URL or a topic, never a command.
 */
export type Endpoint = { kind: 'http'; url: string } | { kind: 'command'; topicArn: string; command: string[] };

export interface NewEventDelivery {
  ruleName: string;
  targetId: string;
  endpoint: Endpoint;
  body: string;
  eventTime: number;
  nextAttemptAt: number;
  maxRetries: number;
  maxAgeMs: number;
}

export interface EventDelivery extends NewEventDelivery {
  id: number;
  attempts: number;
  lastError?: string;
}

/** AWS's defaults for a target's RetryPolicy: 185 retries, events up to 24 hours old. */
export const DEFAULT_MAX_RETRIES = 185;
export const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;

/** An EventBridge API error with its code (ResourceNotFoundException, ValidationException, ...). */
export class EventsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

export function eventsError(code: string, message: string): EventsError {
  return new EventsError(code, message);
}

export function isEventsError(e: unknown): e is EventsError {
  return e instanceof EventsError;
}

/** Event times as EventBridge writes them: ISO 8601, UTC, whole seconds. */
export function eventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A "Batch Job State Change" event: `detail` is the DescribeJobs record of the job at that change. */
export function jobStateChangeEvent(a: { id: string; account: string; region: string; time: number; jobArn: string; detail: Record<string, unknown> }): EventEnvelope {
  return {
    version: '0',
    id: a.id,
    'detail-type': JOB_STATE_CHANGE,
    source: BATCH_SOURCE,
    account: a.account,
    time: eventTime(a.time),
    region: a.region,
    resources: [a.jobArn],
    detail: a.detail,
  };
}

/**
 * The job statuses whose changes a rule's pattern could match, read from the pattern's JSON
 * conservatively: `[]` when it cannot match a Batch job state change (its `source` or
 * `detail-type` lists only other values), the statuses when `detail.status` lists only exact
 * values, else 'all'. Sibling fields are ANDed (`$or` included), so a listed constraint always holds.
 */
export function capturedJobStatuses(eventPattern: string | undefined): readonly JobStatus[] | 'all' {
  if (eventPattern === undefined) return [];
  let p: unknown;
  try {
    p = JSON.parse(eventPattern);
  } catch {
    return 'all';
  }
  if (!isObject(p)) return 'all';
  const excludes = (field: string, value: string) => {
    const v = p[field];
    return Array.isArray(v) && v.every((x) => typeof x === 'string') && !v.includes(value);
  };
  if (excludes('source', BATCH_SOURCE) || excludes('detail-type', JOB_STATE_CHANGE)) return [];
  const detail = p.detail;
  if (isObject(detail) && Array.isArray(detail.status) && detail.status.every((x) => typeof x === 'string')) {
    return JOB_STATUSES.filter((s) => (detail.status as string[]).includes(s));
  }
  return 'all';
}

/** The union of what several rules capture. */
export function unionCaptured(sets: Iterable<readonly JobStatus[] | 'all'>): readonly JobStatus[] | 'all' {
  const out = new Set<JobStatus>();
  for (const s of sets) {
    if (s === 'all') return 'all';
    for (const x of s) out.add(x);
  }
  return JOB_STATUSES.filter((s) => out.has(s));
}

/**
 * The wait before retry number `attempts` (1-based): exponential from `baseMs`, at most `maxMs`,
 * with ±20 % jitter (`random` in [0, 1)) so that a target coming back is not hit by everything at once.
 */
export function retryDelayMs(attempts: number, o: { baseMs: number; maxMs: number }, random: number): number {
  const exp = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.max(1, Math.round(exp * (0.8 + 0.4 * random)));
}

/** The target's retry limits (RetryPolicy, else AWS's defaults). */
export function retryLimits(target: EventTarget): { maxRetries: number; maxAgeMs: number } {
  return {
    maxRetries: target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_MAX_RETRIES,
    maxAgeMs: (target.RetryPolicy?.MaximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000,
  };
}

/** What a target's Arn names: a webhook (an http:// or https:// URL) or an SNS topic. */
export type TargetDestination = { kind: 'http'; url: string } | { kind: 'sns'; topicArn: string; topicName: string };

const SNS_TOPIC_RE = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256}(\.fifo)?)$/;

export function targetDestination(arn: string): TargetDestination | undefined {
  if (/^https?:\/\//i.test(arn)) {
    try {
      const u = new URL(arn);
      if ((u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '') return { kind: 'http', url: u.toString() };
    } catch {
      return undefined;
    }
    return undefined;
  }
  const m = SNS_TOPIC_RE.exec(arn);
  return m ? { kind: 'sns', topicArn: arn, topicName: m[1] } : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
