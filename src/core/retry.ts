// retryStrategy evaluation, as AWS Batch documents it: `attempts` counts every attempt (default 1);
// `evaluateOnExit` rules are tried in order and the first whose conditions all match decides
// (RETRY or EXIT, any case); if none matches the job is retried while attempts remain.

import type { EvaluateOnExit, RetryStrategy } from './types.js';

export interface AttemptOutcome {
  exitCode?: number;
  /** Container-level reason (attempts[].container.reason). */
  reason?: string;
  /** Job-level reason of the attempt (attempts[].statusReason). */
  statusReason?: string;
}

/** AWS patterns match exactly, or as a prefix when they end with `*`. */
export function globMatches(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

export function ruleMatches(rule: EvaluateOnExit, outcome: AttemptOutcome): boolean {
  if (rule.onExitCode !== undefined && !globMatches(rule.onExitCode, outcome.exitCode === undefined ? undefined : String(outcome.exitCode))) return false;
  if (rule.onReason !== undefined && !globMatches(rule.onReason, outcome.reason ?? '')) return false;
  if (rule.onStatusReason !== undefined && !globMatches(rule.onStatusReason, outcome.statusReason ?? '')) return false;
  return true;
}

/** Whether a failed attempt number `attempt` (1-based) should be followed by another. */
export function shouldRetry(strategy: RetryStrategy | undefined, attempt: number, outcome: AttemptOutcome): boolean {
  const attempts = strategy?.attempts ?? 1;
  if (attempt >= attempts) return false;
  for (const rule of strategy?.evaluateOnExit ?? []) {
    if (ruleMatches(rule, outcome)) return rule.action.toUpperCase() === 'RETRY';
  }
  return true;
}
