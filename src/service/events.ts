// EventBridge's commands on the default event bus: rules (PutRule, DescribeRule, ListRules,
// DeleteRule, EnableRule, DisableRule), targets (PutTargets, ListTargetsByRule, RemoveTargets),
// PutEvents and TestEventPattern. Inputs arrive type-checked by src/api/events; each change is
// one transaction that also makes the job state change capture agree with the rules, and the
// running server is told after the commit (hooks). Errors are EventBridge's (EventsError).

import { compileRules, routeEvent } from '../core/event-routing.js';
import { InvalidEventPatternError, matchesEventPattern, parseEventPattern } from '../core/event-pattern.js';
import {
  capturedJobStatuses,
  DEFAULT_EVENT_BUS,
  eventsError,
  eventTime,
  targetDestination,
  unionCaptured,
  type Endpoint,
  type EventEnvelope,
  type EventRule,
  type EventTarget,
  type RuleState,
} from '../core/events.js';
import { InvalidInputTransformerError, parseJsonPath, validateInputTransformer } from '../core/input-transformer.js';
import type { Store, StoreTx } from '../store/store.js';
import { decodeToken, encodeToken } from './context.js';

export interface EventsHooks {
  /** Rules or targets changed (committed). */
  rulesChanged(): void;
  /** Deliveries were committed (PutEvents). */
  deliveriesAdded(): void;
}

export interface EventsServiceDeps {
  store: Store;
  region: string;
  accountId: string;
  now: () => number;
  newUuid: () => string;
  /** Where a message to an SNS topic goes (the operator's notifications file). */
  topicEndpoints: (topicArn: string) => Endpoint[];
  hooks: EventsHooks;
}

/** AWS's quotas that matter here: rules per event bus, targets per rule. */
export const MAX_RULES = 300;
export const MAX_TARGETS_PER_RULE = 5;

export interface PutRuleInput {
  Name: string;
  EventPattern?: string;
  ScheduleExpression?: string;
  State?: RuleState;
  Description?: string;
  RoleArn?: string;
  Tags?: { Key: string; Value: string }[];
  EventBusName?: string;
}

export interface PutEventsEntry {
  Time?: number;
  Source?: string;
  Resources?: string[];
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  TraceHeader?: string;
}

/**
 * Makes the capture trigger agree with the stored rules, in the caller's transaction: it captures
 * the job statuses that ENABLED rules with targets can match, and nothing when there are none.
 */
export async function syncJobEventCapture(tx: StoreTx): Promise<void> {
  const rules = await tx.loadEventRules();
  const withTargets = new Set((await tx.loadEventTargets()).map((t) => t.ruleName));
  const live = rules.filter((r) => r.state !== 'DISABLED' && withTargets.has(r.name));
  await tx.syncJobEventCapture(unionCaptured(live.map((r) => capturedJobStatuses(r.eventPattern))));
}

export class EventsService {
  constructor(private readonly deps: EventsServiceDeps) {}

  ruleArn(name: string): string {
    return `arn:aws:events:${this.deps.region}:${this.deps.accountId}:rule/${name}`;
  }

  /** Only the default event bus exists: by name or by ARN (any region/account, as clients copy them). */
  checkEventBus(name: string | undefined): void {
    if (!busIsDefault(name)) throw eventsError('ResourceNotFoundException', `Event bus ${busName(name)} does not exist. (OpenBatch has only the default event bus.)`);
  }

  private notFound(name: string): Error {
    return eventsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${DEFAULT_EVENT_BUS}.`);
  }

  private async rule(reader: Store | StoreTx, name: string): Promise<EventRule> {
    const r = (await reader.loadEventRules()).find((x) => x.name === name);
    if (!r) throw this.notFound(name);
    return r;
  }

  private async change<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const out = await this.deps.store.transaction(async (tx) => {
      const result = await fn(tx);
      await syncJobEventCapture(tx);
      return result;
    });
    this.deps.hooks.rulesChanged();
    return out;
  }

  // ----- rules

  async putRule(i: PutRuleInput): Promise<{ RuleArn: string }> {
    this.checkEventBus(i.EventBusName);
    if (i.ScheduleExpression !== undefined) {
      throw eventsError(
        'ValidationException',
        `ScheduleExpression is not supported by OpenBatch: rules here match events (EventPattern). Run scheduled work with cron or a systemd timer calling aws batch submit-job.`,
      );
    }
    if (i.EventPattern === undefined) throw eventsError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.');
    try {
      parseEventPattern(i.EventPattern);
    } catch (e) {
      if (e instanceof InvalidEventPatternError) throw eventsError('InvalidEventPatternException', e.message);
      throw e;
    }
    const arn = this.ruleArn(i.Name);
    await this.change(async (tx) => {
      const rules = await tx.loadEventRules();
      const existing = rules.find((r) => r.name === i.Name);
      if (!existing && rules.length >= MAX_RULES) {
        throw eventsError('LimitExceededException', `The requested resource exceeds the maximum number allowed: ${MAX_RULES} rules on event bus ${DEFAULT_EVENT_BUS}.`);
      }
      // PutRule replaces the rule with what it is given (AWS keeps no omitted setting); tags are
      // set at creation only (TagResource changes them on AWS).
      const rule: EventRule = { name: i.Name, arn, state: i.State ?? 'ENABLED', eventPattern: i.EventPattern, createdAt: existing?.createdAt ?? this.deps.now() };
      if (i.Description !== undefined) rule.description = i.Description;
      if (i.RoleArn !== undefined) rule.roleArn = i.RoleArn;
      const tags = existing ? existing.tags : i.Tags;
      if (tags && tags.length > 0) rule.tags = tags;
      await tx.putEventRule(rule);
    });
    return { RuleArn: arn };
  }

  present(r: EventRule): Record<string, unknown> {
    const o: Record<string, unknown> = { Name: r.name, Arn: r.arn };
    if (r.eventPattern !== undefined) o.EventPattern = r.eventPattern;
    if (r.scheduleExpression !== undefined) o.ScheduleExpression = r.scheduleExpression;
    o.State = r.state;
    if (r.description !== undefined) o.Description = r.description;
    if (r.roleArn !== undefined) o.RoleArn = r.roleArn;
    o.EventBusName = DEFAULT_EVENT_BUS;
    return o;
  }

  async describeRule(i: { Name: string; EventBusName?: string }): Promise<Record<string, unknown>> {
    this.checkEventBus(i.EventBusName);
    return { ...this.present(await this.rule(this.deps.store, i.Name)), CreatedBy: this.deps.accountId };
  }

  async listRules(i: { NamePrefix?: string; EventBusName?: string; NextToken?: string; Limit?: number }) {
    this.checkEventBus(i.EventBusName);
    const after = i.NextToken === undefined ? undefined : decodeToken(i.NextToken, (v): v is { a: string } => typeof v.a === 'string').a;
    const limit = i.Limit ?? 100;
    // Sorted here, not by the database: PostgreSQL's collation may order names otherwise than `>` compares them.
    const rules = (await this.deps.store.loadEventRules())
      .filter((r) => (i.NamePrefix === undefined || r.name.startsWith(i.NamePrefix)) && (after === undefined || r.name > after))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const page = rules.slice(0, limit);
    return { Rules: page.map((r) => this.present(r)), ...(rules.length > limit ? { NextToken: encodeToken({ a: page[page.length - 1].name }) } : {}) };
  }

  async deleteRule(i: { Name: string; EventBusName?: string; Force?: boolean }): Promise<Record<string, never>> {
    this.checkEventBus(i.EventBusName);
    await this.change(async (tx) => {
      if ((await tx.loadEventTargets(i.Name)).length > 0) throw eventsError('ValidationException', "Rule can't be deleted since it has targets.");
      // AWS answers success for a rule that does not exist.
      await tx.deleteEventRule(i.Name);
    });
    return {};
  }

  async setRuleState(i: { Name: string; EventBusName?: string }, state: RuleState): Promise<Record<string, never>> {
    this.checkEventBus(i.EventBusName);
    await this.change(async (tx) => {
      const r = await this.rule(tx, i.Name);
      if (r.state !== state) await tx.putEventRule({ ...r, state });
    });
    return {};
  }

  /** Rules by target Arn (ListRuleNamesByTarget). */
  async listRuleNamesByTarget(i: { TargetArn: string; EventBusName?: string; NextToken?: string; Limit?: number }) {
    this.checkEventBus(i.EventBusName);
    const after = i.NextToken === undefined ? undefined : decodeToken(i.NextToken, (v): v is { a: string } => typeof v.a === 'string').a;
    const limit = i.Limit ?? 100;
    const names = [...new Set((await this.deps.store.loadEventTargets()).filter((t) => t.target.Arn === i.TargetArn).map((t) => t.ruleName))]
      .sort()
      .filter((n) => after === undefined || n > after);
    const page = names.slice(0, limit);
    return { RuleNames: page, ...(names.length > limit ? { NextToken: encodeToken({ a: page[page.length - 1] }) } : {}) };
  }

  /** The default event bus (DescribeEventBus). */
  describeEventBus(i: { Name?: string }) {
    this.checkEventBus(i.Name);
    return { Name: DEFAULT_EVENT_BUS, Arn: `arn:aws:events:${this.deps.region}:${this.deps.accountId}:event-bus/${DEFAULT_EVENT_BUS}` };
  }

  // ----- tags of rules (TagResource, UntagResource, ListTagsForResource; Terraform reads them)

  private ruleOfArn(arn: string): string {
    const m = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:rule\/(?:default\/)?([.\-_A-Za-z0-9]{1,64})$/.exec(arn);
    if (!m) throw eventsError('ResourceNotFoundException', `Resource ${arn} not found: OpenBatch tags rules of the default event bus (arn:aws:events:<region>:<account>:rule/<name>).`);
    return m[1];
  }

  async listTagsForResource(i: { ResourceARN: string }) {
    const r = await this.rule(this.deps.store, this.ruleOfArn(i.ResourceARN));
    return { Tags: r.tags ?? [] };
  }

  async tagResource(i: { ResourceARN: string; Tags: { Key: string; Value: string }[] }): Promise<Record<string, never>> {
    const name = this.ruleOfArn(i.ResourceARN);
    await this.deps.store.transaction(async (tx) => {
      const r = await this.rule(tx, name);
      const tags = new Map((r.tags ?? []).map((t) => [t.Key, t.Value]));
      for (const t of i.Tags) tags.set(t.Key, t.Value);
      if (tags.size > 50) throw eventsError('LimitExceededException', `A rule has at most 50 tags (${name} would have ${tags.size}).`);
      await tx.putEventRule({ ...r, tags: [...tags].map(([Key, Value]) => ({ Key, Value })) });
    });
    return {};
  }

  async untagResource(i: { ResourceARN: string; TagKeys: string[] }): Promise<Record<string, never>> {
    const name = this.ruleOfArn(i.ResourceARN);
    await this.deps.store.transaction(async (tx) => {
      const r = await this.rule(tx, name);
      const tags = (r.tags ?? []).filter((t) => !i.TagKeys.includes(t.Key));
      const next: EventRule = { ...r };
      if (tags.length > 0) next.tags = tags;
      else delete next.tags;
      await tx.putEventRule(next);
    });
    return {};
  }

  // ----- targets

  async putTargets(i: { Rule: string; EventBusName?: string; Targets: EventTarget[] }) {
    this.checkEventBus(i.EventBusName);
    const seen = new Set<string>();
    for (const t of i.Targets) {
      if (seen.has(t.Id)) throw eventsError('ValidationException', `Targets: the Id ${t.Id} is given more than once.`);
      seen.add(t.Id);
      checkTargetInput(t);
    }
    const failed: { TargetId: string; ErrorCode: string; ErrorMessage: string }[] = [];
    const accepted: EventTarget[] = [];
    for (const t of i.Targets) {
      if (targetDestination(t.Arn)) accepted.push(t);
      else {
        failed.push({
          TargetId: t.Id,
          ErrorCode: 'ValidationException',
          ErrorMessage:
            `Target ${t.Id}: Arn ${t.Arn} is not a target OpenBatch can deliver to. Use an http:// or https:// URL (a webhook) ` +
            `or an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>) configured in the server's notifications file.`,
        });
      }
    }
    await this.change(async (tx) => {
      await this.rule(tx, i.Rule);
      const existing = new Set((await tx.loadEventTargets(i.Rule)).map((t) => t.target.Id));
      const after = new Set([...existing, ...accepted.map((t) => t.Id)]);
      if (after.size > MAX_TARGETS_PER_RULE) {
        throw eventsError('LimitExceededException', `The requested resource exceeds the maximum number allowed: ${MAX_TARGETS_PER_RULE} targets per rule (rule ${i.Rule} would have ${after.size}).`);
      }
      if (accepted.length > 0) await tx.putEventTargets(i.Rule, accepted, this.deps.now());
    });
    return { FailedEntryCount: failed.length, FailedEntries: failed };
  }

  async listTargetsByRule(i: { Rule: string; EventBusName?: string; NextToken?: string; Limit?: number }) {
    this.checkEventBus(i.EventBusName);
    await this.rule(this.deps.store, i.Rule);
    const offset = i.NextToken === undefined ? 0 : decodeToken(i.NextToken, (v): v is { o: number } => Number.isInteger(v.o) && (v.o as number) >= 0).o;
    const limit = i.Limit ?? 100;
    const all = (await this.deps.store.loadEventTargets(i.Rule)).map((t) => t.target);
    const page = all.slice(offset, offset + limit);
    return { Targets: page, ...(offset + limit < all.length ? { NextToken: encodeToken({ o: offset + limit }) } : {}) };
  }

  async removeTargets(i: { Rule: string; EventBusName?: string; Ids: string[]; Force?: boolean }) {
    this.checkEventBus(i.EventBusName);
    await this.change(async (tx) => {
      await this.rule(tx, i.Rule);
      await tx.deleteEventTargets(i.Rule, i.Ids);
    });
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  // ----- events

  /** Custom events: checked per entry as AWS does (aws.* sources are AWS's own), routed through the same rules. */
  async putEvents(i: { Entries: PutEventsEntry[] }) {
    const { store, now, newUuid, region, accountId, topicEndpoints } = this.deps;
    // AWS's limit: 256 KB for all the entries of one request (their strings, as EventBridge counts them).
    const size = i.Entries.reduce(
      (n, e) => n + [e.Source, e.DetailType, e.Detail, ...(e.Resources ?? [])].reduce((m, x) => m + (x === undefined ? 0 : Buffer.byteLength(x)), 0) + (e.Time !== undefined ? 14 : 0),
      0,
    );
    if (size > 256 * 1024) throw eventsError('ValidationException', `Total size of the entries in the request is over the limit (${size} bytes; at most 262144).`);
    const results: ({ EventId: string } | { ErrorCode: string; ErrorMessage: string })[] = [];
    const events: { event: EventEnvelope; time: number }[] = [];
    for (const e of i.Entries) {
      const err = (ErrorCode: string, ErrorMessage: string) => results.push({ ErrorCode, ErrorMessage });
      if (e.Source === undefined) err('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
      else if (e.DetailType === undefined) err('InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.');
      else if (e.Detail === undefined) err('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
      else if (/^aws\./i.test(e.Source)) err('NotAuthorizedForSourceException', 'Not authorized for the source.');
      else if (!busIsDefault(e.EventBusName)) err('ResourceNotFoundException', `Event bus ${busName(e.EventBusName)} does not exist.`);
      else {
        let detail: unknown;
        try {
          detail = JSON.parse(e.Detail);
        } catch {
          detail = undefined;
        }
        if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
          err('MalformedDetail', 'Detail is malformed.');
          continue;
        }
        const id = newUuid();
        const time = e.Time ?? now();
        events.push({
          event: { version: '0', id, 'detail-type': e.DetailType, source: e.Source, account: accountId, time: eventTime(time), region, resources: e.Resources ?? [], detail: detail as Record<string, unknown> },
          time,
        });
        results.push({ EventId: id });
      }
    }
    if (events.length > 0) {
      const rules = compileRules(await store.loadEventRules(), await store.loadEventTargets());
      const at = now();
      const deliveries = events.flatMap(({ event, time }) => routeEvent(event, time, rules, topicEndpoints, at));
      if (deliveries.length > 0) {
        await store.transaction((tx) => tx.insertEventDeliveries(deliveries));
        this.deps.hooks.deliveriesAdded();
      }
    }
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  testEventPattern(i: { EventPattern: string; Event: string }): { Result: boolean } {
    let pattern;
    try {
      pattern = parseEventPattern(i.EventPattern);
    } catch (e) {
      if (e instanceof InvalidEventPatternError) throw eventsError('InvalidEventPatternException', e.message);
      throw e;
    }
    let event: unknown;
    try {
      event = JSON.parse(i.Event);
    } catch (e) {
      throw eventsError('ValidationException', `Parameter Event is not valid: not JSON (${(e as Error).message}).`);
    }
    if (event === null || typeof event !== 'object' || Array.isArray(event)) throw eventsError('ValidationException', 'Parameter Event is not valid: it must be a JSON object.');
    for (const f of ['id', 'account', 'source', 'time', 'region', 'detail-type']) {
      if (!Object.hasOwn(event, f)) throw eventsError('ValidationException', `Parameter Event is not valid. Reason: Provided Event is missing required field ${f}.`);
    }
    return { Result: matchesEventPattern(pattern, event) };
  }
}

/** Input, InputPath and InputTransformer: at most one, each valid (ValidationException naming the target). */
function checkTargetInput(t: EventTarget): void {
  const given = (['Input', 'InputPath', 'InputTransformer'] as const).filter((k) => t[k] !== undefined);
  if (given.length > 1) {
    throw eventsError('ValidationException', `Target ${t.Id}: only one of Input, InputPath and InputTransformer may be given (got ${given.join(', ')}).`);
  }
  if (t.Input !== undefined) {
    try {
      JSON.parse(t.Input);
    } catch {
      throw eventsError('ValidationException', `Target ${t.Id}: Input is not valid JSON text.`);
    }
  }
  if (t.InputPath !== undefined && parseJsonPath(t.InputPath) === undefined) {
    throw eventsError('ValidationException', `Target ${t.Id}: InputPath ${t.InputPath} is not a valid JSON path (e.g. $.detail).`);
  }
  if (t.InputTransformer !== undefined) {
    try {
      validateInputTransformer(t.InputTransformer, t.Id);
    } catch (e) {
      if (e instanceof InvalidInputTransformerError) throw eventsError('ValidationException', e.message);
      throw e;
    }
  }
}

function busName(name: string | undefined): string {
  if (name === undefined) return DEFAULT_EVENT_BUS;
  const m = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/(.+)$/.exec(name);
  return m ? m[1] : name;
}

function busIsDefault(name: string | undefined): boolean {
  return busName(name) === DEFAULT_EVENT_BUS;
}
