// Events out of the server: the outbox of job state changes turned into deliveries, and the
// deliveries sent, durably and at least once.
//
// 1. The store's trigger writes an outbox row in the transaction of each state change that an
//    ENABLED rule could match (sql/events.ts). After commits (throttled) the dispatcher reads the
//    outbox in batches, describes the jobs (one batched DescribeJobs per batch), builds each
//    "Batch Job State Change" event, matches it against the rules and, in one transaction, inserts
//    a delivery per matching target and endpoint and deletes the outbox rows. A crash before that
//    commit leaves the outbox rows (dispatched again); after it, the deliveries: no event is lost
//    and none is delivered twice because of dispatching.
// 2. The delivery worker sends due deliveries (bounded concurrency, time limits on each), deletes
//    a delivered one, and reschedules a failed one with exponential backoff until the target's
//    RetryPolicy (MaximumRetryAttempts, MaximumEventAgeInSeconds) gives up. A success is recorded
//    right after the target answered; only a crash in between sends it again.
// Neither ever blocks the scheduler: everything is asynchronous and in small transactions.

import {
  DEFAULT_MAX_EVENT_AGE_SECONDS,
  DEFAULT_MAX_RETRIES,
  jobStateChangeEvent,
  retryDelayMs,
  unionCaptured,
  capturedJobStatuses,
  type Endpoint,
  type EventDelivery,
  type NewEventDelivery,
} from '../core/events.js';
import { compileRules, routeEvent, type CompiledRule } from '../core/event-routing.js';
import { syncJobEventCapture } from '../service/events.js';
import type { Store, StoreTx } from '../store/store.js';
import { deliver, type DeliveryOptions } from './delivery.js';
import type { Logger } from './job-runtime.js';
import type { Notifications } from './notifications.js';

export interface EventDispatcherOptions {
  /** Outbox rows per dispatch transaction (default 500). */
  batchSize: number;
  /** Deliveries in flight at once (default 8; OPENBATCH_EVENTS_CONCURRENCY). */
  concurrency: number;
  /** First retry after about this long, doubling each time (default 1 s; OPENBATCH_EVENTS_RETRY_BASE_MS). */
  retryBaseMs: number;
  /** Longest wait between two tries (default 5 min; OPENBATCH_EVENTS_RETRY_MAX_MS). */
  retryMaxMs: number;
  /** At most one outbox check per this long while commits keep coming (default 100 ms). */
  dispatchThrottleMs: number;
  httpTimeoutMs: number;
  commandTimeoutMs: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: EventDispatcherOptions = {
  batchSize: 500,
  concurrency: 8,
  retryBaseMs: 1000,
  retryMaxMs: 300_000,
  dispatchThrottleMs: 100,
  httpTimeoutMs: 10_000,
  commandTimeoutMs: 30_000,
};

/** The options, with the OPENBATCH_EVENTS_* environment variables applied. */
export function dispatcherOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EventDispatcherOptions {
  const o = { ...DEFAULT_DISPATCHER_OPTIONS };
  const num = (name: string, min: number): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${v}: an integer of at least ${min}`);
    return n;
  };
  o.concurrency = num('OPENBATCH_EVENTS_CONCURRENCY', 1) ?? o.concurrency;
  o.retryBaseMs = num('OPENBATCH_EVENTS_RETRY_BASE_MS', 1) ?? o.retryBaseMs;
  o.retryMaxMs = num('OPENBATCH_EVENTS_RETRY_MAX_MS', 1) ?? o.retryMaxMs;
  return o;
}

export interface EventDispatcherDeps {
  store: Store;
  log: Logger;
  notifications: Notifications;
  region: string;
  accountId: string;
  newUuid: () => string;
  jobArn: (jobId: string) => string;
  /** DescribeJobs records of these jobs, by job id (absent: no such job). */
  describeJobs: (jobIds: readonly string[]) => Promise<Map<string, Record<string, unknown>>>;
  /** Wall-clock time (retries, event ages); default Date.now. */
  clock?: () => number;
  options?: Partial<EventDispatcherOptions>;
}

/** Calls `listener` after each committed transaction of the store (the dispatcher's wake-up). */
export function onStoreCommit(store: Store, listener: () => void): void {
  const transaction = store.transaction.bind(store);
  store.transaction = <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> =>
    transaction(fn).then((result) => {
      listener();
      return result;
    });
}

export class EventDispatcher {
  private readonly o: EventDispatcherOptions;
  private readonly clock: () => number;
  private rules: CompiledRule[] = [];
  /** Whether the rules could match job state changes (the capture trigger is installed). */
  private capturing = false;
  /** Bumped by each rule or target change; the rules in memory are those of `loadedVersion`. */
  private version = 0;
  private loadedVersion = -1;
  private dispatching = false;
  private dispatchAgain = false;
  private dispatchTimer?: NodeJS.Timeout;
  private lastDispatch = 0;
  private pumping = false;
  private pumpAgain = false;
  private pumpTimer?: NodeJS.Timeout;
  private readonly inFlight = new Map<number, Promise<void>>();
  private delivered: number[] = [];
  private deleting?: Promise<void>;
  private closed = false;
  private readonly unconfiguredTopics = new Set<string>();

  constructor(private readonly deps: EventDispatcherDeps) {
    this.o = { ...DEFAULT_DISPATCHER_OPTIONS, ...deps.options };
    this.clock = deps.clock ?? Date.now;
  }

  /** At start: the capture trigger made to agree with the stored rules, then what a previous run left is dispatched and delivered. */
  async start(): Promise<void> {
    await this.deps.store.transaction((tx) => syncJobEventCapture(tx));
    await this.ensureRules();
    this.dispatchSoon(0);
    this.pump();
  }

  /** Rules or targets changed (committed): reload them before the next dispatch. */
  rulesChanged(): void {
    this.version++;
    void this.ensureRules().catch((e) => this.deps.log.error({ err: e }, 'events: reloading the rules failed'));
  }

  /** A transaction committed: it may have captured state changes. */
  committed(): void {
    if (this.capturing || this.loadedVersion !== this.version) this.dispatchSoon(this.o.dispatchThrottleMs);
  }

  /** New deliveries were committed (PutEvents, publish): send them. */
  deliveriesAdded(): void {
    this.pump();
  }

  /**
   * Publishes a message to a notification topic durably (SNS Publish; e.g. Step Functions'
   * `sns:publish`): one delivery per endpoint the topic has, retried like event deliveries.
   * Resolves to how many endpoints it was stored for (0: the topic has none, nothing to do).
   */
  async publish(topicArn: string, message: string, o: { source: string; maxRetries?: number; maxAgeMs?: number }): Promise<number> {
    const now = this.clock();
    const deliveries: NewEventDelivery[] = this.deps.notifications.endpoints(topicArn).map((endpoint) => ({
      ruleName: o.source,
      targetId: topicArn,
      endpoint,
      body: message,
      eventTime: now,
      nextAttemptAt: now,
      maxRetries: o.maxRetries ?? DEFAULT_MAX_RETRIES,
      maxAgeMs: o.maxAgeMs ?? DEFAULT_MAX_EVENT_AGE_SECONDS * 1000,
    }));
    if (deliveries.length === 0) return 0;
    await this.deps.store.transaction((tx) => tx.insertEventDeliveries(deliveries));
    this.pump();
    return deliveries.length;
  }

  /** Stops; waits a little for deliveries in flight to be recorded (the others are sent again after a restart). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.dispatchTimer);
    clearTimeout(this.pumpTimer);
    await Promise.race([Promise.allSettled([...this.inFlight.values()]), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  // ----- outbox → deliveries

  /** Loads the rules unless those in memory are as new as the last change (then dispatching sees every committed rule). */
  private async ensureRules(): Promise<void> {
    while (this.loadedVersion !== this.version) {
      const v = this.version;
      const rules = await this.deps.store.loadEventRules();
      const targets = await this.deps.store.loadEventTargets();
      if (v !== this.version) continue; // changed meanwhile: load again
      this.rules = compileRules(rules, targets, (rule, e) => this.deps.log.warn({ rule: rule.name, err: e.message }, 'events: a stored rule has a pattern that is not valid; skipped'));
      this.capturing = capturedBy(this.rules) !== 'none';
      this.loadedVersion = v;
    }
  }

  private dispatchSoon(throttleMs: number): void {
    if (this.closed || this.dispatchTimer) return;
    const delay = Math.max(0, this.lastDispatch + throttleMs - this.clock());
    this.dispatchTimer = setTimeout(() => {
      this.dispatchTimer = undefined;
      void this.dispatch();
    }, delay);
  }

  private async dispatch(): Promise<void> {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.dispatchAgain = false;
        this.lastDispatch = this.clock();
        while (!this.closed && (await this.dispatchBatch()) === this.o.batchSize);
      } while (this.dispatchAgain && !this.closed);
    } catch (e) {
      if (this.closed) return;
      this.deps.log.error({ err: e }, 'events: dispatching job state changes failed; trying again in 1 s');
      setTimeout(() => this.dispatchSoon(0), 1000).unref();
    } finally {
      this.dispatching = false;
    }
  }

  /** One batch of the outbox; resolves to how many rows it took. */
  private async dispatchBatch(): Promise<number> {
    const { store, log } = this.deps;
    const changes = await store.readEventOutbox(this.o.batchSize);
    if (changes.length === 0) return 0;
    await this.ensureRules();
    const deliveries: NewEventDelivery[] = [];
    if (this.rules.length > 0) {
      const details = await this.deps.describeJobs([...new Set(changes.map((c) => c.jobId))]);
      const now = this.clock();
      for (const ch of changes) {
        const current = details.get(ch.jobId);
        if (!current) continue;
        // The record as of this change: later changes may already be committed.
        const detail: Record<string, unknown> = { ...current, status: ch.status };
        if (ch.statusReason !== undefined) detail.statusReason = ch.statusReason;
        else if (current.status !== ch.status) delete detail.statusReason;
        const event = jobStateChangeEvent({ id: this.deps.newUuid(), account: this.deps.accountId, region: this.deps.region, time: ch.time, jobArn: this.deps.jobArn(ch.jobId), detail });
        deliveries.push(
          ...routeEvent(event, ch.time, this.rules, (topic) => this.topicEndpoints(topic), now, (rule, target, e) =>
            log.warn({ rule: rule.name, target: target.Id, err: e.message }, 'events: the target input could not be built for an event; not delivered'),
          ),
        );
      }
    }
    await store.transaction(async (tx) => {
      await tx.insertEventDeliveries(deliveries);
      await tx.deleteEventOutbox(changes.map((c) => c.id));
    });
    if (deliveries.length > 0) this.pump();
    return changes.length;
  }

  /** A topic's endpoints; says once per topic when the notifications file does not list it (its events go nowhere). */
  private topicEndpoints(topicArn: string): Endpoint[] {
    const endpoints = this.deps.notifications.endpoints(topicArn);
    if (endpoints.length === 0 && !this.unconfiguredTopics.has(topicArn)) {
      this.unconfiguredTopics.add(topicArn);
      this.deps.log.warn({ topic: topicArn }, 'events: a rule targets a topic with no webhooks or commands in the notifications file; its events are not sent anywhere');
    }
    return endpoints;
  }

  // ----- the delivery worker

  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pumpLoop()
      .catch((e) => {
        if (this.closed) return;
        this.deps.log.error({ err: e }, 'events: reading due deliveries failed; trying again in 1 s');
        this.armPump(1000);
      })
      .finally(() => {
        this.pumping = false;
      });
  }

  private async pumpLoop(): Promise<void> {
    do {
      this.pumpAgain = false;
      const free = this.o.concurrency - this.inFlight.size;
      if (free <= 0) return; // a finishing delivery pumps again
      const due = (await this.deps.store.dueEventDeliveries(this.clock(), free + this.inFlight.size)).filter((d) => !this.inFlight.has(d.id)).slice(0, free);
      for (const d of due) this.attempt(d);
      if (due.length === free) return;
    } while (this.pumpAgain && !this.closed);
    // Nothing due now: wake up when the next one is (one in flight pumps again when it finishes).
    const next = await this.deps.store.nextEventDeliveryAt();
    if (next !== undefined) this.armPump(Math.min(60_000, Math.max(next - this.clock(), this.inFlight.size > 0 ? 1000 : 10)));
  }

  /**
   * Records a delivery as done. The deliveries that finish in one turn of the event loop are
   * deleted in one transaction (a busy target does not cost a transaction per event); each stays
   * in flight, so it is not picked again, until its row is gone.
   */
  private recordDelivered(id: number): Promise<void> {
    this.delivered.push(id);
    this.deleting ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const ids = this.delivered.splice(0);
      this.deleting = undefined;
      return this.deps.store.transaction((tx) => tx.deleteEventDeliveries(ids));
    });
    return this.deleting;
  }

  private armPump(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.pumpTimer);
    this.pumpTimer = setTimeout(() => this.pump(), delayMs);
  }

  private attempt(d: EventDelivery): void {
    const { store, log, notifications } = this.deps;
    const run = (async () => {
      const options: DeliveryOptions = { httpTimeoutMs: this.o.httpTimeoutMs, commandTimeoutMs: this.o.commandTimeoutMs };
      // Commands run only while the operator's file still lists them for that topic.
      const outcome =
        d.endpoint.kind === 'command' && !notifications.allowsCommand(d.endpoint.topicArn, d.endpoint.command)
          ? { ok: false as const, retry: false, error: `the command is no longer configured for ${d.endpoint.topicArn} in the notifications file` }
          : await deliver(d.endpoint, d.body, {
              ...options,
              headers: { 'x-openbatch-rule': d.ruleName, 'x-openbatch-target': d.targetId },
              env: { OPENBATCH_RULE_NAME: d.ruleName, OPENBATCH_TARGET_ID: d.targetId, ...(d.endpoint.kind === 'command' ? { OPENBATCH_TOPIC_ARN: d.endpoint.topicArn } : {}) },
            });
      if (this.closed && !outcome.ok) return;
      const where = d.endpoint.kind === 'http' ? d.endpoint.url : d.endpoint.command[0];
      if (outcome.ok) {
        await this.recordDelivered(d.id);
        return;
      }
      const attempts = d.attempts + 1;
      const now = this.clock();
      const next = now + retryDelayMs(attempts, { baseMs: this.o.retryBaseMs, maxMs: this.o.retryMaxMs }, Math.random());
      const give =
        !outcome.retry ? 'the target refused it' : attempts > d.maxRetries ? `${d.maxRetries} retries done` : next - d.eventTime > d.maxAgeMs ? 'the event is too old' : undefined;
      if (give) {
        log.warn({ rule: d.ruleName, target: d.targetId, endpoint: where, attempts, err: outcome.error }, `events: delivery given up (${give})`);
        await store.transaction((tx) => tx.deleteEventDeliveries([d.id]));
      } else {
        log.info({ rule: d.ruleName, target: d.targetId, endpoint: where, attempts, retryInMs: next - now, err: outcome.error }, 'events: delivery failed; will retry');
        await store.transaction((tx) => tx.retryEventDelivery(d.id, attempts, next, outcome.error));
      }
    })()
      .catch((e) => {
        if (!this.closed) log.error({ err: e, delivery: d.id }, 'events: recording a delivery failed (it is sent again)');
      })
      .finally(() => {
        this.inFlight.delete(d.id);
        this.pump();
      });
    this.inFlight.set(d.id, run);
  }
}

/** What compiled rules capture, for the dispatcher's wake-ups. */
function capturedBy(rules: readonly CompiledRule[]): 'none' | 'some' {
  const c = unionCaptured(rules.map((r) => capturedJobStatuses(r.rule.eventPattern)));
  return c === 'all' || c.length > 0 ? 'some' : 'none';
}
