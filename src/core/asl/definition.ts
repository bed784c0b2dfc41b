// State machine definitions: their types and the create-time check. OpenBatch runs Amazon States
// Language with the JSONPath query language, the Task, Pass, Choice, Wait, Succeed, Fail,
// Parallel and (inline) Map states and the Batch and SNS integrations. Anything else a
// definition uses is refused here, naming it, rather than being ignored or run differently:
// a workflow either runs as on AWS or does not start.

import { COMPARISONS, PATH_COMPARISONS, TYPE_TESTS, type ChoiceRule } from './choice.js';
import { isIntrinsic, parseIntrinsic } from './intrinsics.js';
import { parsePath } from './json-path.js';
import type { Catcher, Retrier } from './retry.js';

export type StateType = 'Task' | 'Pass' | 'Choice' | 'Wait' | 'Succeed' | 'Fail' | 'Parallel' | 'Map';

export interface StateDef {
  Type: StateType;
  Comment?: string;
  Next?: string;
  End?: boolean;
  InputPath?: string | null;
  OutputPath?: string | null;
  ResultPath?: string | null;
  Parameters?: unknown;
  ResultSelector?: unknown;
  Result?: unknown;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: Retrier[];
  Catch?: Catcher[];
  Choices?: (ChoiceRule & { Next: string })[];
  Default?: string;
  Seconds?: number;
  Timestamp?: string;
  SecondsPath?: string;
  TimestampPath?: string;
  Error?: string;
  Cause?: string;
  ErrorPath?: string;
  CausePath?: string;
  Branches?: Branch[];
  ItemsPath?: string;
  ItemProcessor?: Branch & { ProcessorConfig?: { Mode?: string } };
  Iterator?: Branch;
  ItemSelector?: unknown;
  MaxConcurrency?: number;
}

export interface Branch {
  StartAt: string;
  States: Record<string, StateDef>;
  Comment?: string;
}

export interface Definition extends Branch {
  Version?: string;
  TimeoutSeconds?: number;
  QueryLanguage?: string;
}

/** The integrations OpenBatch runs (Task Resource values). */
export const RESOURCES = {
  'arn:aws:states:::batch:submitJob': { service: 'batch', pattern: 'request-response' },
  'arn:aws:states:::batch:submitJob.sync': { service: 'batch', pattern: 'sync' },
  'arn:aws:states:::batch:submitJob.sync:2': { service: 'batch', pattern: 'sync2' },
  'arn:aws:states:::sns:publish': { service: 'sns', pattern: 'request-response' },
} as const;
export type SupportedResource = keyof typeof RESOURCES;

export const BATCH_PARAMETERS = [
  'JobName', 'JobDefinition', 'JobQueue', 'ArrayProperties', 'ContainerOverrides', 'DependsOn', 'Parameters', 'RetryStrategy',
  'Timeout', 'Tags', 'PropagateTags', 'ShareIdentifier', 'SchedulingPriorityOverride', 'NodeOverrides',
];
export const SNS_PARAMETERS = ['TopicArn', 'Message', 'Subject', 'MessageAttributes', 'MessageStructure', 'MessageGroupId', 'MessageDeduplicationId'];

const COMMON = ['Type', 'Comment', 'QueryLanguage'];
const IO = ['InputPath', 'OutputPath'];
const FIELDS: Record<StateType, string[]> = {
  Pass: [...COMMON, ...IO, 'ResultPath', 'Parameters', 'Result', 'Next', 'End'],
  Task: [...COMMON, ...IO, 'Resource', 'ResultPath', 'Parameters', 'ResultSelector', 'Retry', 'Catch', 'Next', 'End', 'TimeoutSeconds'],
  Choice: [...COMMON, ...IO, 'Choices', 'Default'],
  Wait: [...COMMON, ...IO, 'Seconds', 'Timestamp', 'SecondsPath', 'TimestampPath', 'Next', 'End'],
  Succeed: [...COMMON, ...IO],
  Fail: [...COMMON, 'Error', 'Cause', 'ErrorPath', 'CausePath'],
  Parallel: [...COMMON, ...IO, 'Branches', 'ResultPath', 'Parameters', 'ResultSelector', 'Retry', 'Catch', 'Next', 'End'],
  Map: [...COMMON, ...IO, 'ItemsPath', 'ItemProcessor', 'Iterator', 'ItemSelector', 'Parameters', 'MaxConcurrency', 'ResultPath', 'ResultSelector', 'Retry', 'Catch', 'Next', 'End'],
};

/** Fields of Amazon States Language that OpenBatch does not run, with what they are. */
const UNSUPPORTED_FIELDS: Record<string, string> = {
  Assign: 'variables (Assign)',
  Arguments: 'JSONata Arguments',
  Output: 'JSONata Output',
  Items: 'JSONata Items',
  HeartbeatSeconds: 'HeartbeatSeconds (task heartbeats)',
  HeartbeatSecondsPath: 'HeartbeatSecondsPath (task heartbeats)',
  TimeoutSecondsPath: 'TimeoutSecondsPath',
  Credentials: 'Credentials (cross-account tasks)',
  ItemReader: 'ItemReader (distributed Map)',
  ItemBatcher: 'ItemBatcher (distributed Map)',
  ResultWriter: 'ResultWriter (distributed Map)',
  ToleratedFailurePercentage: 'ToleratedFailurePercentage (distributed Map)',
  ToleratedFailureCount: 'ToleratedFailureCount (distributed Map)',
  ToleratedFailurePercentagePath: 'ToleratedFailurePercentagePath (distributed Map)',
  ToleratedFailureCountPath: 'ToleratedFailureCountPath (distributed Map)',
  MaxConcurrencyPath: 'MaxConcurrencyPath',
  Label: 'Label (distributed Map)',
};

const STATE_NAME_MAX = 80;

export class DefinitionError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid State Machine Definition: '${problems.join(', ')}'`);
  }
}

/**
 * Parses and checks a definition (JSON text). Throws DefinitionError listing every problem as
 * `CODE: message at /path`; codes are Step Functions' (SCHEMA_VALIDATION_FAILED,
 * MISSING_TRANSITION_TARGET, UNREACHABLE_STATE, ...) plus UNSUPPORTED_FEATURE for what OpenBatch
 * does not run.
 */
export function parseDefinition(text: string): Definition {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new DefinitionError([`INVALID_JSON_DESCRIPTION: ${(e as Error).message}`]);
  }
  const problems: string[] = [];
  const add = (code: string, message: string, where: string) => problems.push(`${code}: ${message} at ${where || '/'}`);
  if (!isObject(doc)) {
    throw new DefinitionError(['SCHEMA_VALIDATION_FAILED: the definition must be a JSON object at /']);
  }
  for (const key of Object.keys(doc)) {
    if (!['Comment', 'StartAt', 'States', 'Version', 'TimeoutSeconds', 'QueryLanguage'].includes(key)) {
      add('SCHEMA_VALIDATION_FAILED', `The field '${key}' is not supported by Step Functions`, `/${key}`);
    }
  }
  checkQueryLanguage(doc.QueryLanguage, '', add);
  if (doc.TimeoutSeconds !== undefined && !(Number.isInteger(doc.TimeoutSeconds) && doc.TimeoutSeconds > 0 && doc.TimeoutSeconds <= 99999999)) {
    add('SCHEMA_VALIDATION_FAILED', 'TimeoutSeconds must be an integer from 1 to 99999999', '/TimeoutSeconds');
  }
  if (doc.Version !== undefined && doc.Version !== '1.0') add('SCHEMA_VALIDATION_FAILED', "Version must be '1.0'", '/Version');
  checkBranch(doc, '', add);
  if (problems.length > 0) throw new DefinitionError(problems);
  return doc as unknown as Definition;
}

type Add = (code: string, message: string, where: string) => void;

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkQueryLanguage(v: unknown, where: string, add: Add): void {
  if (v === undefined || v === 'JSONPath') return;
  if (v === 'JSONata') add('UNSUPPORTED_FEATURE', 'QueryLanguage: JSONata is not supported by OpenBatch (use JSONPath)', `${where}/QueryLanguage`);
  else add('SCHEMA_VALIDATION_FAILED', 'QueryLanguage must be JSONPath or JSONata', `${where}/QueryLanguage`);
}

function checkBranch(b: Record<string, any>, where: string, add: Add): void {
  if (typeof b.StartAt !== 'string') add('SCHEMA_VALIDATION_FAILED', 'The field StartAt is required (a state name)', `${where}/StartAt`);
  if (!isObject(b.States) || Object.keys(b.States).length === 0) {
    add('SCHEMA_VALIDATION_FAILED', 'The field States is required (an object of at least one state)', `${where}/States`);
    return;
  }
  const names = Object.keys(b.States);
  if (typeof b.StartAt === 'string' && !names.includes(b.StartAt)) {
    add('MISSING_TRANSITION_TARGET', `Missing 'Next' target: ${b.StartAt}`, `${where}/StartAt`);
  }
  const targets = new Map<string, string[]>();
  for (const name of names) {
    const at = `${where}/States/${name}`;
    if (name.length > STATE_NAME_MAX) add('SCHEMA_VALIDATION_FAILED', `State names are at most ${STATE_NAME_MAX} characters`, at);
    const s = b.States[name];
    if (!isObject(s)) {
      add('SCHEMA_VALIDATION_FAILED', 'A state must be a JSON object', at);
      continue;
    }
    targets.set(name, checkState(s, at, names, add));
  }
  // Every state must be reachable from StartAt (Step Functions refuses orphans).
  if (typeof b.StartAt === 'string' && names.includes(b.StartAt)) {
    const seen = new Set<string>([b.StartAt]);
    const todo = [b.StartAt];
    while (todo.length) for (const t of targets.get(todo.pop()!) ?? []) if (!seen.has(t) && names.includes(t)) seen.add(t), todo.push(t);
    for (const n of names) if (!seen.has(n)) add('UNREACHABLE_STATE', `State '${n}' is not reachable`, `${where}/States/${n}`);
  }
}

/** Checks one state; returns the names it can transition to. */
function checkState(s: Record<string, any>, at: string, names: string[], add: Add): string[] {
  const type = s.Type as StateType;
  if (!Object.hasOwn(FIELDS, type)) {
    add('SCHEMA_VALIDATION_FAILED', `The field 'Type' must be one of Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map (got ${JSON.stringify(s.Type)})`, `${at}/Type`);
    return [];
  }
  for (const key of Object.keys(s)) {
    if (Object.hasOwn(UNSUPPORTED_FIELDS, key)) add('UNSUPPORTED_FEATURE', `${UNSUPPORTED_FIELDS[key]} is not supported by OpenBatch`, `${at}/${key}`);
    else if (!FIELDS[type].includes(key)) add('SCHEMA_VALIDATION_FAILED', `The field '${key}' is not supported for state type '${type}'`, `${at}/${key}`);
  }
  checkQueryLanguage(s.QueryLanguage, at, add);
  const out: string[] = [];
  const transition = (field: string, v: unknown) => {
    if (typeof v !== 'string') add('SCHEMA_VALIDATION_FAILED', `The field '${field}' must be a state name`, `${at}/${field}`);
    else if (!names.includes(v)) add('MISSING_TRANSITION_TARGET', `Missing 'Next' target: ${v}`, `${at}/${field}`);
    else out.push(v);
  };
  const terminalOk = type === 'Choice' || type === 'Succeed' || type === 'Fail';
  if (!terminalOk) {
    if (s.Next !== undefined && s.End !== undefined) add('SCHEMA_VALIDATION_FAILED', "A state has either 'Next' or 'End', not both", at);
    else if (s.Next !== undefined) transition('Next', s.Next);
    else if (s.End !== true) add('SCHEMA_VALIDATION_FAILED', "The field 'Next' (or 'End': true) is required", at);
  }
  for (const f of ['InputPath', 'OutputPath']) if (s[f] !== undefined && s[f] !== null) checkPath(s[f], `${at}/${f}`, add, false);
  if (s.ResultPath !== undefined && s.ResultPath !== null) checkPath(s.ResultPath, `${at}/ResultPath`, add, true);
  for (const f of ['Parameters', 'ResultSelector', 'ItemSelector']) if (s[f] !== undefined) checkTemplate(s[f], `${at}/${f}`, add);
  if (s.Retry !== undefined) checkRetry(s.Retry, `${at}/Retry`, add);
  if (s.Catch !== undefined) {
    if (!Array.isArray(s.Catch)) add('SCHEMA_VALIDATION_FAILED', 'Catch must be an array', `${at}/Catch`);
    else
      s.Catch.forEach((c: any, i: number) => {
        const w = `${at}/Catch[${i}]`;
        if (!isObject(c)) return add('SCHEMA_VALIDATION_FAILED', 'A catcher must be an object', w);
        checkErrorEquals(c.ErrorEquals, w, add);
        for (const k of Object.keys(c)) if (!['ErrorEquals', 'Next', 'ResultPath', 'Comment'].includes(k)) add(Object.hasOwn(UNSUPPORTED_FIELDS, k) ? 'UNSUPPORTED_FEATURE' : 'SCHEMA_VALIDATION_FAILED', `The field '${k}' is not supported in Catch`, `${w}/${k}`);
        if (c.ResultPath !== undefined && c.ResultPath !== null) checkPath(c.ResultPath, `${w}/ResultPath`, add, true);
        if (typeof c.Next !== 'string') add('SCHEMA_VALIDATION_FAILED', "The field 'Next' is required", `${w}/Next`);
        else if (!names.includes(c.Next)) add('MISSING_TRANSITION_TARGET', `Missing 'Next' target: ${c.Next}`, `${w}/Next`);
        else out.push(c.Next);
      });
  }
  switch (type) {
    case 'Task':
      checkTask(s, at, add);
      break;
    case 'Choice':
      if (!Array.isArray(s.Choices) || s.Choices.length === 0) add('SCHEMA_VALIDATION_FAILED', "The field 'Choices' must be a non-empty array", `${at}/Choices`);
      else
        s.Choices.forEach((c: any, i: number) => {
          const w = `${at}/Choices[${i}]`;
          if (!isObject(c)) return add('SCHEMA_VALIDATION_FAILED', 'A choice rule must be an object', w);
          checkRule(c, w, add, true);
          if (typeof c.Next !== 'string') add('SCHEMA_VALIDATION_FAILED', "A choice rule needs 'Next'", `${w}/Next`);
          else if (!names.includes(c.Next)) add('MISSING_TRANSITION_TARGET', `Missing 'Next' target: ${c.Next}`, `${w}/Next`);
          else out.push(c.Next);
        });
      if (s.Default !== undefined) transition('Default', s.Default);
      break;
    case 'Wait': {
      const given = ['Seconds', 'Timestamp', 'SecondsPath', 'TimestampPath'].filter((f) => s[f] !== undefined);
      if (given.length !== 1) add('SCHEMA_VALIDATION_FAILED', 'A Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath', at);
      if (s.Seconds !== undefined && !(Number.isInteger(s.Seconds) && s.Seconds >= 0 && s.Seconds <= 99999999)) add('SCHEMA_VALIDATION_FAILED', 'Seconds must be an integer from 0 to 99999999', `${at}/Seconds`);
      if (s.Timestamp !== undefined && (typeof s.Timestamp !== 'string' || Number.isNaN(Date.parse(s.Timestamp)))) add('SCHEMA_VALIDATION_FAILED', 'Timestamp must be an ISO-8601 timestamp', `${at}/Timestamp`);
      for (const f of ['SecondsPath', 'TimestampPath']) if (s[f] !== undefined) checkPath(s[f], `${at}/${f}`, add, true);
      break;
    }
    case 'Fail':
      for (const f of ['Error', 'Cause']) if (s[f] !== undefined && typeof s[f] !== 'string') add('SCHEMA_VALIDATION_FAILED', `${f} must be a string`, `${at}/${f}`);
      for (const f of ['ErrorPath', 'CausePath']) {
        if (s[f] === undefined) continue;
        if (s[f.slice(0, -4)] !== undefined) add('SCHEMA_VALIDATION_FAILED', `${f} and ${f.slice(0, -4)} cannot both be given`, `${at}/${f}`);
        if (typeof s[f] === 'string' && isIntrinsic(s[f])) checkIntrinsic(s[f], `${at}/${f}`, add);
        else checkPath(s[f], `${at}/${f}`, add, true);
      }
      break;
    case 'Parallel':
      if (!Array.isArray(s.Branches) || s.Branches.length === 0) add('SCHEMA_VALIDATION_FAILED', "The field 'Branches' must be a non-empty array", `${at}/Branches`);
      else
        s.Branches.forEach((b: any, i: number) => {
          if (!isObject(b)) return add('SCHEMA_VALIDATION_FAILED', 'A branch must be an object', `${at}/Branches[${i}]`);
          for (const k of Object.keys(b)) if (!['StartAt', 'States', 'Comment'].includes(k)) add('SCHEMA_VALIDATION_FAILED', `The field '${k}' is not supported in a branch`, `${at}/Branches[${i}]/${k}`);
          checkBranch(b, `${at}/Branches[${i}]`, add);
        });
      break;
    case 'Map': {
      if (s.ItemProcessor !== undefined && s.Iterator !== undefined) add('SCHEMA_VALIDATION_FAILED', 'Give ItemProcessor or Iterator, not both', at);
      if (s.ItemSelector !== undefined && s.Parameters !== undefined) add('SCHEMA_VALIDATION_FAILED', 'Give ItemSelector or Parameters, not both', at);
      const field = s.ItemProcessor !== undefined ? 'ItemProcessor' : 'Iterator';
      const p = s[field];
      if (!isObject(p)) add('SCHEMA_VALIDATION_FAILED', "The field 'ItemProcessor' is required", `${at}/ItemProcessor`);
      else {
        for (const k of Object.keys(p)) if (!['StartAt', 'States', 'Comment', 'ProcessorConfig'].includes(k)) add('SCHEMA_VALIDATION_FAILED', `The field '${k}' is not supported in ${field}`, `${at}/${field}/${k}`);
        const mode = p.ProcessorConfig?.Mode;
        if (mode === 'DISTRIBUTED') add('UNSUPPORTED_FEATURE', 'ProcessorConfig Mode DISTRIBUTED (distributed Map) is not supported by OpenBatch; use INLINE', `${at}/${field}/ProcessorConfig/Mode`);
        else if (mode !== undefined && mode !== 'INLINE') add('SCHEMA_VALIDATION_FAILED', 'ProcessorConfig Mode must be INLINE or DISTRIBUTED', `${at}/${field}/ProcessorConfig/Mode`);
        checkBranch(p, `${at}/${field}`, add);
      }
      if (s.ItemsPath !== undefined) checkPath(s.ItemsPath, `${at}/ItemsPath`, add, true);
      if (s.MaxConcurrency !== undefined && !(Number.isInteger(s.MaxConcurrency) && s.MaxConcurrency >= 0)) add('SCHEMA_VALIDATION_FAILED', 'MaxConcurrency must be a non-negative integer (0: no limit)', `${at}/MaxConcurrency`);
      break;
    }
  }
  return out;
}

function checkTask(s: Record<string, any>, at: string, add: Add): void {
  const r = s.Resource;
  if (typeof r !== 'string') return add('SCHEMA_VALIDATION_FAILED', "The field 'Resource' is required", `${at}/Resource`);
  if (!Object.hasOwn(RESOURCES, r)) {
    return add('UNSUPPORTED_FEATURE', `Resource ${r} is not supported by OpenBatch (supported: ${Object.keys(RESOURCES).join(', ')})`, `${at}/Resource`);
  }
  if (s.TimeoutSeconds !== undefined && !(Number.isInteger(s.TimeoutSeconds) && s.TimeoutSeconds > 0)) add('SCHEMA_VALIDATION_FAILED', 'TimeoutSeconds must be a positive integer', `${at}/TimeoutSeconds`);
  const spec = RESOURCES[r as SupportedResource];
  const allowed = spec.service === 'batch' ? BATCH_PARAMETERS : SNS_PARAMETERS;
  const required = spec.service === 'batch' ? ['JobName', 'JobDefinition', 'JobQueue'] : ['TopicArn', 'Message'];
  const params = s.Parameters;
  if (!isObject(params)) return add('SCHEMA_VALIDATION_FAILED', `The field 'Parameters' is required for ${r} (${required.join(', ')})`, `${at}/Parameters`);
  const given = new Set(Object.keys(params).map((k) => (k.endsWith('.$') ? k.slice(0, -2) : k)));
  for (const k of given) {
    if (!allowed.includes(k)) add('SCHEMA_VALIDATION_FAILED', `The parameter '${k}' is not supported by ${r} (supported: ${allowed.join(', ')})`, `${at}/Parameters/${k}`);
  }
  for (const k of required) if (!given.has(k)) add('SCHEMA_VALIDATION_FAILED', `The parameter '${k}' is required by ${r}`, `${at}/Parameters`);
}

function checkPath(v: unknown, at: string, add: Add, reference: boolean): void {
  if (typeof v !== 'string') return add('SCHEMA_VALIDATION_FAILED', 'The value must be a JSONPath string', at);
  try {
    const p = parsePath(v);
    if (reference && (!p.definite || p.context)) add('SCHEMA_VALIDATION_FAILED', `'${v}' must be a reference path (no wildcards, not $$)`, at);
  } catch (e) {
    add('INVALID_JSON_PATH', (e as Error).message, at);
  }
}

function checkIntrinsic(v: string, at: string, add: Add): void {
  try {
    parseIntrinsic(v);
  } catch (e) {
    add('INVALID_INTRINSIC_FUNCTION', (e as Error).message, at);
  }
}

function checkTemplate(t: unknown, at: string, add: Add): void {
  if (Array.isArray(t)) return t.forEach((x, i) => checkTemplate(x, `${at}[${i}]`, add));
  if (!isObject(t)) return;
  for (const [k, v] of Object.entries(t)) {
    if (k.endsWith('.$')) {
      if (typeof v !== 'string') add('SCHEMA_VALIDATION_FAILED', `The value of '${k}' must be a JSONPath or an intrinsic function`, `${at}/${k}`);
      else if (isIntrinsic(v)) checkIntrinsic(v, `${at}/${k}`, add);
      else checkPath(v, `${at}/${k}`, add, false);
    } else checkTemplate(v, `${at}/${k}`, add);
  }
}

function checkErrorEquals(v: unknown, at: string, add: Add): void {
  if (!Array.isArray(v) || v.length === 0 || !v.every((e) => typeof e === 'string')) {
    return add('SCHEMA_VALIDATION_FAILED', "The field 'ErrorEquals' must be a non-empty array of error names", `${at}/ErrorEquals`);
  }
  if (v.includes('States.ALL') && v.length > 1) add('SCHEMA_VALIDATION_FAILED', 'States.ALL must appear alone in ErrorEquals', `${at}/ErrorEquals`);
}

function checkRetry(v: unknown, at: string, add: Add): void {
  if (!Array.isArray(v)) return add('SCHEMA_VALIDATION_FAILED', 'Retry must be an array', at);
  v.forEach((r: any, i: number) => {
    const w = `${at}[${i}]`;
    if (!isObject(r)) return add('SCHEMA_VALIDATION_FAILED', 'A retrier must be an object', w);
    checkErrorEquals(r.ErrorEquals, w, add);
    if (Array.isArray(r.ErrorEquals) && r.ErrorEquals.includes('States.ALL') && i !== v.length - 1) add('SCHEMA_VALIDATION_FAILED', 'A retrier with States.ALL must be the last one', `${w}/ErrorEquals`);
    for (const k of Object.keys(r)) {
      if (!['ErrorEquals', 'IntervalSeconds', 'MaxAttempts', 'BackoffRate', 'MaxDelaySeconds', 'JitterStrategy', 'Comment'].includes(k)) add('SCHEMA_VALIDATION_FAILED', `The field '${k}' is not supported in Retry`, `${w}/${k}`);
    }
    const int = (f: string, min: number, max: number) => {
      if (r[f] !== undefined && !(Number.isInteger(r[f]) && r[f] >= min && r[f] <= max)) add('SCHEMA_VALIDATION_FAILED', `${f} must be an integer from ${min} to ${max}`, `${w}/${f}`);
    };
    int('IntervalSeconds', 1, 99999999);
    int('MaxAttempts', 0, 99999999);
    int('MaxDelaySeconds', 1, 31622400);
    if (r.BackoffRate !== undefined && !(typeof r.BackoffRate === 'number' && r.BackoffRate >= 1)) add('SCHEMA_VALIDATION_FAILED', 'BackoffRate must be a number of at least 1.0', `${w}/BackoffRate`);
    if (r.JitterStrategy !== undefined && r.JitterStrategy !== 'FULL' && r.JitterStrategy !== 'NONE') add('SCHEMA_VALIDATION_FAILED', 'JitterStrategy must be FULL or NONE', `${w}/JitterStrategy`);
  });
}

function checkRule(r: Record<string, any>, at: string, add: Add, top: boolean): void {
  const combos = ['And', 'Or', 'Not'].filter((k) => r[k] !== undefined);
  const ops = Object.keys(r).filter((k) => (COMPARISONS as readonly string[]).includes(k) || PATH_COMPARISONS.includes(k) || (TYPE_TESTS as readonly string[]).includes(k));
  for (const k of Object.keys(r)) {
    if (k === 'Variable' || k === 'Comment' || (top && k === 'Next') || combos.includes(k) || ops.includes(k)) continue;
    add(k === 'Condition' || k === 'Assign' ? 'UNSUPPORTED_FEATURE' : 'SCHEMA_VALIDATION_FAILED', k === 'Condition' ? 'JSONata Condition is not supported by OpenBatch' : `The field '${k}' is not supported in a choice rule`, `${at}/${k}`);
  }
  if (combos.length + ops.length !== 1) return add('SCHEMA_VALIDATION_FAILED', 'A choice rule needs exactly one comparison operator (or And, Or, Not)', at);
  if (combos.length === 1) {
    const c = combos[0];
    if (c === 'Not') {
      if (!isObject(r.Not)) return add('SCHEMA_VALIDATION_FAILED', 'Not takes one choice rule', `${at}/Not`);
      return checkRule(r.Not, `${at}/Not`, add, false);
    }
    if (!Array.isArray(r[c]) || r[c].length === 0) return add('SCHEMA_VALIDATION_FAILED', `${c} takes a non-empty array of choice rules`, `${at}/${c}`);
    r[c].forEach((x: any, i: number) => (isObject(x) ? checkRule(x, `${at}/${c}[${i}]`, add, false) : add('SCHEMA_VALIDATION_FAILED', 'A choice rule must be an object', `${at}/${c}[${i}]`)));
    if (r.Variable !== undefined) add('SCHEMA_VALIDATION_FAILED', `Variable is not allowed next to ${c}`, `${at}/Variable`);
    return;
  }
  checkPath(r.Variable, `${at}/Variable`, add, false);
  const op = ops[0];
  const v = r[op];
  const bad = (what: string) => add('SCHEMA_VALIDATION_FAILED', `${op} takes ${what}`, `${at}/${op}`);
  if (op.endsWith('Path')) checkPath(v, `${at}/${op}`, add, false);
  else if ((TYPE_TESTS as readonly string[]).includes(op) || op === 'BooleanEquals') typeof v !== 'boolean' && bad('a boolean');
  else if (op.startsWith('Numeric')) typeof v !== 'number' && bad('a number');
  else if (op.startsWith('Timestamp')) (typeof v !== 'string' || Number.isNaN(Date.parse(v))) && bad('a timestamp');
  else typeof v !== 'string' && bad('a string');
}
