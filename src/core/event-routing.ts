// Which targets an event goes to and what each receives: the rules' patterns matched against the
// event, each matching rule's targets resolved to endpoints, the body for each (the event, or the
// target's Input, InputPath or InputTransformer output). Pure: the caller passes the time and how
// SNS topics resolve (operator configuration).

import { matchesEventPattern, parseEventPattern, PreparedEvent, type EventPattern } from './event-pattern.js';
import { applyInputTransformer, selectJsonPath } from './input-transformer.js';
import {
  retryLimits,
  targetDestination,
  type Endpoint,
  type EventEnvelope,
  type EventRule,
  type EventTarget,
  type NewEventDelivery,
  type RuleTarget,
} from './events.js';

/** An ENABLED rule with its parsed pattern and its targets. */
export interface CompiledRule {
  rule: EventRule;
  pattern: EventPattern;
  targets: EventTarget[];
}

/**
 * The rules that can route events: ENABLED, with a pattern and at least one target. A stored
 * pattern that no longer parses is reported through `invalid` and skipped.
 */
export function compileRules(rules: readonly EventRule[], targets: readonly RuleTarget[], invalid?: (rule: EventRule, error: Error) => void): CompiledRule[] {
  const byRule = new Map<string, EventTarget[]>();
  for (const t of targets) {
    let list = byRule.get(t.ruleName);
    if (!list) byRule.set(t.ruleName, (list = []));
    list.push(t.target);
  }
  const out: CompiledRule[] = [];
  for (const rule of rules) {
    const ts = byRule.get(rule.name);
    if (rule.state === 'DISABLED' || rule.eventPattern === undefined || !ts || ts.length === 0) continue;
    try {
      out.push({ rule, pattern: parseEventPattern(rule.eventPattern), targets: ts });
    } catch (e) {
      invalid?.(rule, e as Error);
    }
  }
  return out;
}

/** What a target receives for an event: Input, the value at InputPath, the InputTransformer's output, or the event. */
export function targetInput(target: EventTarget, event: EventEnvelope, rule: EventRule): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath !== undefined) return JSON.stringify(selectJsonPath(target.InputPath, event) ?? null);
  if (target.InputTransformer !== undefined) {
    return applyInputTransformer(target.InputTransformer, event, { ruleArn: rule.arn, ruleName: rule.name, ingestionTime: event.time });
  }
  return JSON.stringify(event);
}

/** The endpoints a target's Arn names now: a URL, or the endpoints configured for an SNS topic. */
export function targetEndpoints(target: EventTarget, topicEndpoints: (topicArn: string) => Endpoint[]): Endpoint[] {
  const d = targetDestination(target.Arn);
  if (!d) return [];
  return d.kind === 'http' ? [{ kind: 'http', url: d.url }] : topicEndpoints(d.topicArn);
}

/**
 * The deliveries of one event: one per matching rule's target and endpoint, due `now`. A target
 * whose transformer fails for this event gets nothing (reported through `failed`); the others still do.
 */
export function routeEvent(
  event: EventEnvelope,
  eventTimeMs: number,
  rules: readonly CompiledRule[],
  topicEndpoints: (topicArn: string) => Endpoint[],
  now: number,
  failed?: (rule: EventRule, target: EventTarget, error: Error) => void,
): NewEventDelivery[] {
  const out: NewEventDelivery[] = [];
  if (rules.length === 0) return out;
  // Flattened once for all the rules.
  const prepared = new PreparedEvent(event);
  for (const r of rules) {
    if (!matchesEventPattern(r.pattern, prepared)) continue;
    for (const target of r.targets) {
      const endpoints = targetEndpoints(target, topicEndpoints);
      if (endpoints.length === 0) continue;
      let body: string;
      try {
        body = targetInput(target, event, r.rule);
      } catch (e) {
        failed?.(r.rule, target, e as Error);
        continue;
      }
      const { maxRetries, maxAgeMs } = retryLimits(target);
      for (const endpoint of endpoints) {
        out.push({ ruleName: r.rule.name, targetId: target.Id, endpoint, body, eventTime: eventTimeMs, nextAttemptAt: now, maxRetries, maxAgeMs });
      }
    }
  }
  return out;
}
