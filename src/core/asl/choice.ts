// Choice state rules: the comparison operators (String*, Numeric*, Boolean*, Timestamp*, their
// *Path forms, StringMatches), the type tests (IsNull, IsPresent, IsNumeric, IsString,
// IsBoolean, IsTimestamp) and And / Or / Not. A comparison of values of the wrong type is false;
// a Variable that does not exist raises States.Runtime (except under IsPresent).

import { evaluatePath, pathExists } from './json-path.js';

export type ChoiceRule = Record<string, unknown>;

export const COMPARISONS = [
  'StringEquals', 'StringLessThan', 'StringGreaterThan', 'StringLessThanEquals', 'StringGreaterThanEquals', 'StringMatches',
  'NumericEquals', 'NumericLessThan', 'NumericGreaterThan', 'NumericLessThanEquals', 'NumericGreaterThanEquals',
  'BooleanEquals',
  'TimestampEquals', 'TimestampLessThan', 'TimestampGreaterThan', 'TimestampLessThanEquals', 'TimestampGreaterThanEquals',
] as const;
export const PATH_COMPARISONS = COMPARISONS.filter((c) => c !== 'StringMatches').map((c) => `${c}Path`);
export const TYPE_TESTS = ['IsNull', 'IsPresent', 'IsNumeric', 'IsString', 'IsBoolean', 'IsTimestamp'] as const;

/** RFC 3339 timestamps as Step Functions accepts them (an uppercase T and a time zone). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function isTimestamp(v: unknown): v is string {
  return typeof v === 'string' && TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v));
}

/** The operator of a rule (the one comparison or type test it has), if any. */
export function ruleOperator(rule: ChoiceRule): string | undefined {
  return Object.keys(rule).find((k) => (COMPARISONS as readonly string[]).includes(k) || PATH_COMPARISONS.includes(k) || (TYPE_TESTS as readonly string[]).includes(k));
}

export function evaluateRule(rule: ChoiceRule, input: unknown, context?: unknown): boolean {
  if (Array.isArray(rule.And)) return (rule.And as ChoiceRule[]).every((r) => evaluateRule(r, input, context));
  if (Array.isArray(rule.Or)) return (rule.Or as ChoiceRule[]).some((r) => evaluateRule(r, input, context));
  if (rule.Not && typeof rule.Not === 'object') return !evaluateRule(rule.Not as ChoiceRule, input, context);
  const op = ruleOperator(rule);
  const variable = rule.Variable as string;
  if (!op) return false;
  if (op === 'IsPresent') return pathExists(variable, input, context) === rule.IsPresent;
  const value = evaluatePath(variable, input, context);
  switch (op) {
    case 'IsNull':
      return (value === null) === rule.IsNull;
    case 'IsNumeric':
      return (typeof value === 'number') === rule.IsNumeric;
    case 'IsString':
      return (typeof value === 'string') === rule.IsString;
    case 'IsBoolean':
      return (typeof value === 'boolean') === rule.IsBoolean;
    case 'IsTimestamp':
      return isTimestamp(value) === rule.IsTimestamp;
  }
  let operator = op;
  let expected = rule[op];
  if (op.endsWith('Path')) {
    operator = op.slice(0, -4);
    expected = evaluatePath(expected as string, input, context);
  }
  return compare(operator, value, expected);
}

function order(op: string, c: number): boolean {
  if (op.endsWith('LessThanEquals')) return c <= 0;
  if (op.endsWith('GreaterThanEquals')) return c >= 0;
  if (op.endsWith('LessThan')) return c < 0;
  if (op.endsWith('GreaterThan')) return c > 0;
  return c === 0;
}

function compare(op: string, value: unknown, expected: unknown): boolean {
  if (op === 'StringMatches') return typeof value === 'string' && typeof expected === 'string' && wildcardMatch(expected, value);
  if (op.startsWith('String')) {
    if (typeof value !== 'string' || typeof expected !== 'string') return false;
    return order(op, value < expected ? -1 : value > expected ? 1 : 0);
  }
  if (op.startsWith('Numeric')) {
    if (typeof value !== 'number' || typeof expected !== 'number') return false;
    return order(op, value - expected);
  }
  if (op === 'BooleanEquals') return typeof value === 'boolean' && value === expected;
  if (op.startsWith('Timestamp')) {
    if (!isTimestamp(value) || !isTimestamp(expected)) return false;
    return order(op, Date.parse(value) - Date.parse(expected));
  }
  return false;
}

/** StringMatches: `*` matches any run of characters; `\*` and `\\` are literal. */
export function wildcardMatch(pattern: string, value: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]);
    else if (c === '*') re += '[\\s\\S]*';
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`).test(value);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
