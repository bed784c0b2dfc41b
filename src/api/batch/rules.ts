// AWS Batch's documented request rules that the vendored v2 model does not carry: name patterns,
// enums, ranges, list lengths and cross-field constraints. Only what can be decided from the
// request alone; anything that needs stored state (does the queue exist? is it ENABLED?) belongs
// to the service layer.
//
// `checkRules` runs after the model checks in validate.ts, so every member present here already
// has its model type (strings are strings, integers integers, lists arrays, ...). A member that
// is absent or JSON null is skipped.
//
// Message style (shared with validate.ts), always naming the field by its dotted/indexed path:
//   Missing required parameter: <path>[ (<why>)]
//   Invalid type for parameter <path>: expected <type>, got <value>
//   Unknown parameter in <path|input>: "<name>", must be one of: a, b, c
//   Invalid value for parameter <path>: <what is wrong>[; <what is allowed>]
//   Invalid parameter combination: <what is wrong>

import { clientError } from '../../core/errors.js';

/** Job definition size limit (RegisterJobDefinition body), checked by the HTTP layer on the raw body. */
export const MAX_JOB_DEFINITION_BYTES = 24 * 1024;
/** SubmitJob payload limit, checked by the HTTP layer on the raw body. */
export const MAX_SUBMIT_JOB_BYTES = 30 * 1024;

// ---------------------------------------------------------------------------------------------
// Enumerations (exact, case-sensitive unless noted)

export const CE_TYPES = ['MANAGED', 'UNMANAGED'] as const;
export const RESOURCE_STATES = ['ENABLED', 'DISABLED'] as const;
export const COMPUTE_RESOURCE_TYPES = ['EC2', 'SPOT', 'FARGATE', 'FARGATE_SPOT'] as const;
export const ALLOCATION_STRATEGIES = [
  'BEST_FIT',
  'BEST_FIT_PROGRESSIVE',
  'SPOT_CAPACITY_OPTIMIZED',
  'SPOT_PRICE_CAPACITY_OPTIMIZED',
] as const;
/** UpdateComputeEnvironment cannot switch to BEST_FIT (AWS: CRUpdateAllocationStrategy). */
export const UPDATE_ALLOCATION_STRATEGIES = ALLOCATION_STRATEGIES.filter((s) => s !== 'BEST_FIT');
export const JOB_DEFINITION_TYPES = ['container', 'multinode'] as const;
export const RESOURCE_TYPES = ['VCPU', 'MEMORY', 'GPU'] as const;
export const PLATFORM_CAPABILITIES = ['EC2', 'FARGATE'] as const;
export const JOB_STATUS_VALUES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export const LIST_JOBS_FILTER_NAMES = [
  'JOB_NAME',
  'JOB_DEFINITION',
  'BEFORE_CREATED_AT',
  'AFTER_CREATED_AT',
  'SHARE_IDENTIFIER',
] as const;
export const JOB_DEFINITION_STATUSES = ['ACTIVE', 'INACTIVE'] as const;
export const DEPENDENCY_TYPES = ['N_TO_N', 'SEQUENTIAL'] as const;
export const JOB_STATE_TIME_LIMIT_STATES = ['RUNNABLE'] as const;
export const JOB_STATE_TIME_LIMIT_ACTIONS = ['CANCEL'] as const;
export const LOG_DRIVERS = ['awslogs', 'fluentd', 'gelf', 'journald', 'json-file', 'splunk', 'syslog', 'awsfirelens'] as const;
/** Retry actions; AWS accepts them in any case. */
export const RETRY_ACTIONS = ['RETRY', 'EXIT'] as const;

// ---------------------------------------------------------------------------------------------
// Patterns and limits

/** computeEnvironmentName, jobQueueName, jobDefinitionName (and scheduling policy names). */
export const RESOURCE_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,128}$/;
/** jobName: up to 128 characters, the first alphanumeric. */
export const JOB_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}$/;
const JOB_DEFINITION_REF_PATTERN = /^[a-zA-Z0-9_-]{1,128}(:[1-9][0-9]*)?$/;
const TAGGABLE_ARN_PATTERN =
  /^arn:[a-z0-9-]+:batch:[^:/\s]*:[^:/\s]*:(compute-environment|job-queue|job-definition|job|scheduling-policy)\/\S+$/;
const EXIT_CODE_PATTERN = /^[0-9]*\*?$/;
const REASON_PATTERN = /^[a-zA-Z0-9.: \t]*\*?$/;
const EPOCH_MILLIS_PATTERN = /^[0-9]{1,16}$/;
const VCPU_VALUE_PATTERN = /^(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)$/;
const WHOLE_NUMBER_PATTERN = /^[0-9]+$/;
const TARGET_NODES_PATTERN = /^(?:([0-9]+)?:([0-9]+)?|([0-9]+))$/;
/** Up to 255 letters and numbers; a trailing `*` makes a shareDistribution entry a prefix. */
const SHARE_IDENTIFIER_PATTERN = /^[a-zA-Z0-9]{1,255}\*?$/;
const SCHEDULING_POLICY_ARN_PATTERN = /^arn:[a-z0-9-]+:batch:[^:/\s]*:[^:/\s]*:scheduling-policy\/[a-zA-Z0-9_-]{1,128}$/;

const MAX_TAGS = 50;
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;
const MAX_EVALUATE_ON_EXIT = 5;
const MAX_PATTERN = 512;
const MAX_DEPENDENCIES = 20;
const MAX_CE_PER_QUEUE = 3;
const MAX_REASON = 1024;
const MIN_MEMORY_MIB = 4;
const MAX_SHARE_DISTRIBUTION = 500;
const MAX_SHARE_DECAY_SECONDS = 604800;
const MAX_COMPUTE_RESERVATION = 99;
const MIN_WEIGHT_FACTOR = 0.0001;
const MAX_WEIGHT_FACTOR = 999.9999;
const MAX_SCHEDULING_POLICY_ARNS = 100;

// ---------------------------------------------------------------------------------------------
// Message helpers (also used by validate.ts)

type Obj = Record<string, unknown>;

/** `parent.member`, or `member` at the top level. */
export function memberPath(parent: string, member: string): string {
  return parent === '' ? member : `${parent}.${member}`;
}

/** `parent[i]` */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** `parent.key`, or `parent["odd key"]` when the key is not a plain identifier. */
export function keyPath(parent: string, key: string): string {
  return /^[a-zA-Z_][a-zA-Z0-9_-]*$/.test(key) ? memberPath(parent, key) : `${parent}[${JSON.stringify(key)}]`;
}

/** A value quoted for a message: strings in JSON quotes (cut at 100 characters). */
export function quote(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}...` : value);
  }
  return String(value);
}

/** What a JSON value is, for "got ..." in messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list (JSON array)';
  switch (typeof value) {
    case 'string':
      return `the string ${quote(value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

function invalid(path: string, detail: string): Error {
  return clientError(`Invalid value for parameter ${path}: ${detail}`);
}

function missing(path: string, why: string): Error {
  return clientError(`Missing required parameter: ${path} (${why})`);
}

function combination(detail: string): Error {
  return clientError(`Invalid parameter combination: ${detail}`);
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function obj(value: unknown): Obj {
  return value as Obj;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** "a, b and c" */
function andList(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

// ---------------------------------------------------------------------------------------------
// Generic checks

function checkEnum(path: string, value: unknown, valid: readonly string[]): void {
  if (!present(value)) return;
  const v = value as string;
  if (valid.includes(v)) return;
  const caseHint = valid.some((x) => x.toLowerCase() === v.toLowerCase()) ? ' (values are case-sensitive)' : '';
  throw invalid(path, `${quote(v)} is not valid; valid values are: ${valid.join(', ')}${caseHint}`);
}

function checkRange(path: string, value: unknown, min: number | undefined, max: number | undefined, unit = ''): void {
  if (!present(value)) return;
  const v = value as number;
  const u = unit ? ` ${unit}` : '';
  if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
    const bound =
      min !== undefined && max !== undefined
        ? `it must be between ${min} and ${max}${u}`
        : min !== undefined
          ? `it must be at least ${min}${u}`
          : `it must be at most ${max}${u}`;
    throw invalid(path, `${v} is out of range; ${bound}`);
  }
}

function checkCount(path: string, value: unknown, min: number, max: number | undefined, noun = 'entries'): void {
  if (!present(value)) return;
  const n = (value as unknown[]).length;
  if (n < min) throw invalid(path, `${n} ${noun} given; at least ${min} ${min === 1 ? 'is' : 'are'} required`);
  if (max !== undefined && n > max) throw invalid(path, `${n} ${noun} given; at most ${max} are allowed`);
}

function checkLength(path: string, value: unknown, min: number, max: number): void {
  if (!present(value)) return;
  const v = value as string;
  if (v.length < min) throw invalid(path, min === 1 ? 'must not be empty' : `must be at least ${min} characters long`);
  if (v.length > max) throw invalid(path, `${v.length} characters given; at most ${max} are allowed`);
}

function checkNonEmpty(path: string, value: unknown): void {
  if (present(value) && (value as string).length === 0) throw invalid(path, 'must not be empty');
}

/** computeEnvironmentName, jobQueueName, jobDefinitionName. AWS's own message, led by the field. */
function checkResourceName(path: string, value: unknown): void {
  if (!present(value)) return;
  const v = value as string;
  if (!RESOURCE_NAME_PATTERN.test(v)) {
    throw invalid(
      path,
      `Provided name ${v} is not supported pattern[a-zA-Z_0-9-]{1,128} ` +
        '(1 to 128 letters, numbers, hyphens and underscores)',
    );
  }
}

/** A compute environment or job queue given by name or ARN. */
function checkNameOrArn(path: string, value: unknown, what: string): void {
  if (!present(value)) return;
  const v = value as string;
  if (v.startsWith('arn:')) return;
  if (!RESOURCE_NAME_PATTERN.test(v)) {
    throw invalid(
      path,
      `${quote(v)} is neither a ${what} name (1 to 128 letters, numbers, hyphens and underscores) nor an ARN`,
    );
  }
}

/** `name`, `name:revision` or a job definition ARN. */
function checkJobDefinitionRef(path: string, value: unknown): void {
  if (!present(value)) return;
  const v = value as string;
  if (v.startsWith('arn:')) return;
  if (!JOB_DEFINITION_REF_PATTERN.test(v)) {
    throw invalid(path, `${quote(v)} is not a job definition name, name:revision or ARN`);
  }
}

function checkTaggableArn(path: string, value: unknown): void {
  if (!present(value)) return;
  const v = value as string;
  if (!TAGGABLE_ARN_PATTERN.test(v)) {
    throw invalid(
      path,
      `${quote(v)} is not the ARN of a taggable AWS Batch resource ` +
        '(arn:aws:batch:<region>:<account>:compute-environment|job-queue|job-definition|job|scheduling-policy/<name>)',
    );
  }
}

function checkTagKey(path: string, key: string): void {
  if (key.length < 1 || key.length > MAX_TAG_KEY) {
    throw invalid(path, `tag key ${quote(key)} is ${key.length} characters long; keys are 1 to ${MAX_TAG_KEY} characters`);
  }
  if (key.toLowerCase().startsWith('aws:')) {
    throw invalid(path, `tag key ${quote(key)} starts with "aws:", which is reserved for AWS use`);
  }
}

function checkTags(path: string, value: unknown, minCount = 0): void {
  if (!present(value)) return;
  const tags = obj(value);
  const keys = Object.keys(tags);
  if (keys.length < minCount) throw invalid(path, `${keys.length} tags given; at least ${minCount} is required`);
  if (keys.length > MAX_TAGS) throw invalid(path, `${keys.length} tags given; at most ${MAX_TAGS} are allowed`);
  for (const key of keys) {
    checkTagKey(path, key);
    const v = tags[key] as string;
    if (v.length > MAX_TAG_VALUE) {
      throw invalid(keyPath(path, key), `${v.length} characters given; tag values are at most ${MAX_TAG_VALUE} characters`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Containers

function checkEnvironment(path: string, value: unknown): void {
  list(value).forEach((entry, i) => {
    if (!present(entry)) return;
    const namePath = memberPath(indexPath(path, i), 'name');
    const name = obj(entry).name;
    if (!present(name)) throw clientError(`Missing required parameter: ${namePath}`);
    checkNonEmpty(namePath, name);
    if ((name as string).startsWith('AWS_BATCH')) {
      throw invalid(
        namePath,
        `${quote(name)} starts with AWS_BATCH, which is reserved for the variables that AWS Batch sets`,
      );
    }
  });
}

function checkResourceRequirements(path: string, value: unknown): void {
  const seen = new Set<string>();
  list(value).forEach((entry, i) => {
    if (!present(entry)) return;
    const p = indexPath(path, i);
    const { type, value: amount } = obj(entry) as { type: string; value: string };
    checkEnum(memberPath(p, 'type'), type, RESOURCE_TYPES);
    if (seen.has(type)) throw invalid(memberPath(p, 'type'), `${type} is given more than once`);
    seen.add(type);
    const valuePath = memberPath(p, 'value');
    if (type === 'VCPU') {
      if (!VCPU_VALUE_PATTERN.test(amount) || !(Number(amount) > 0)) {
        throw invalid(valuePath, `${quote(amount)} is not a valid VCPU value; give a positive number of vCPUs, e.g. "1" or "0.25"`);
      }
    } else if (type === 'MEMORY') {
      if (!WHOLE_NUMBER_PATTERN.test(amount) || Number(amount) < MIN_MEMORY_MIB) {
        throw invalid(valuePath, `${quote(amount)} is not a valid MEMORY value; give a whole number of MiB, at least ${MIN_MEMORY_MIB}`);
      }
    } else if (!WHOLE_NUMBER_PATTERN.test(amount) || !(Number(amount) > 0)) {
      throw invalid(valuePath, `${quote(amount)} is not a valid GPU value; give a positive whole number of GPUs`);
    }
  });
}

/** containerProperties (and MNP node containers) or containerOverrides. */
function checkContainer(path: string, value: unknown, override: boolean): void {
  if (!present(value)) return;
  const c = obj(value);
  checkRange(memberPath(path, 'vcpus'), c.vcpus, 1, undefined);
  checkRange(memberPath(path, 'memory'), c.memory, MIN_MEMORY_MIB, undefined, 'MiB');
  checkEnvironment(memberPath(path, 'environment'), c.environment);
  checkResourceRequirements(memberPath(path, 'resourceRequirements'), c.resourceRequirements);
  if (override) {
    list(c.command).forEach((arg, i) => {
      if (arg === '') throw invalid(indexPath(memberPath(path, 'command'), i), 'the command cannot contain an empty string');
    });
  }
  if (present(c.logConfiguration)) {
    checkEnum(memberPath(memberPath(path, 'logConfiguration'), 'logDriver'), obj(c.logConfiguration).logDriver, LOG_DRIVERS);
  }
}

/** ecsProperties / ecsPropertiesOverride: environment names of each task container. */
function checkEcsProperties(path: string, value: unknown, override: boolean): void {
  if (!present(value)) return;
  list(obj(value).taskProperties).forEach((task, t) => {
    if (!present(task)) return;
    const tasksPath = indexPath(memberPath(path, 'taskProperties'), t);
    list(obj(task).containers).forEach((container, i) => {
      if (!present(container)) return;
      const p = indexPath(memberPath(tasksPath, 'containers'), i);
      const c = obj(container);
      checkEnvironment(memberPath(p, 'environment'), c.environment);
      checkResourceRequirements(memberPath(p, 'resourceRequirements'), c.resourceRequirements);
      if (override) {
        list(c.command).forEach((arg, j) => {
          if (arg === '') throw invalid(indexPath(memberPath(p, 'command'), j), 'the command cannot contain an empty string');
        });
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Retry strategy, timeout

function checkRetryPattern(path: string, value: unknown, pattern: RegExp, allowed: string): void {
  if (!present(value)) return;
  const v = value as string;
  if (v.length === 0) throw invalid(path, 'must not be empty');
  if (v.length > MAX_PATTERN) throw invalid(path, `${v.length} characters given; at most ${MAX_PATTERN} are allowed`);
  if (!pattern.test(v)) throw invalid(path, `${quote(v)} is not a valid pattern; it can contain only ${allowed}`);
}

function checkRetryStrategy(path: string, value: unknown): void {
  if (!present(value)) return;
  const rs = obj(value);
  const attemptsPath = memberPath(path, 'attempts');
  const evalPath = memberPath(path, 'evaluateOnExit');
  checkRange(attemptsPath, rs.attempts, 1, 10);
  checkCount(evalPath, rs.evaluateOnExit, 0, MAX_EVALUATE_ON_EXIT);
  const rules = list(rs.evaluateOnExit);
  if (rules.length > 0 && !present(rs.attempts)) {
    throw missing(attemptsPath, `required when ${evalPath} is given`);
  }
  rules.forEach((rule, i) => {
    if (!present(rule)) return;
    const p = indexPath(evalPath, i);
    const r = obj(rule);
    const action = r.action as string;
    if (!RETRY_ACTIONS.includes(action.toUpperCase() as (typeof RETRY_ACTIONS)[number])) {
      throw invalid(
        memberPath(p, 'action'),
        `${quote(action)} is not a valid action; valid actions are RETRY and EXIT ` +
          '(use EXIT to stop retrying and fail the job)',
      );
    }
    checkRetryPattern(memberPath(p, 'onExitCode'), r.onExitCode, EXIT_CODE_PATTERN, 'digits, and can end with an asterisk (*)');
    const reasonChars = 'letters, numbers, periods (.), colons (:) and white space, and can end with an asterisk (*)';
    checkRetryPattern(memberPath(p, 'onStatusReason'), r.onStatusReason, REASON_PATTERN, reasonChars);
    checkRetryPattern(memberPath(p, 'onReason'), r.onReason, REASON_PATTERN, reasonChars);
  });
}

function checkTimeout(path: string, value: unknown): void {
  if (!present(value)) return;
  checkRange(memberPath(path, 'attemptDurationSeconds'), obj(value).attemptDurationSeconds, 60, undefined, 'seconds');
}

// ---------------------------------------------------------------------------------------------
// Compute environments, job queues

function checkComputeResources(path: string, value: unknown, update: boolean): void {
  if (!present(value)) return;
  const cr = obj(value);
  const p = (m: string) => memberPath(path, m);
  checkEnum(p('type'), cr.type, COMPUTE_RESOURCE_TYPES);
  if (update && cr.allocationStrategy === 'BEST_FIT') {
    throw invalid(
      p('allocationStrategy'),
      `"BEST_FIT" cannot be set when updating a compute environment; valid values are: ${UPDATE_ALLOCATION_STRATEGIES.join(', ')}`,
    );
  }
  checkEnum(p('allocationStrategy'), cr.allocationStrategy, update ? UPDATE_ALLOCATION_STRATEGIES : ALLOCATION_STRATEGIES);
  for (const m of ['minvCpus', 'maxvCpus', 'desiredvCpus']) checkRange(p(m), cr[m], 0, undefined);
  checkRange(p('bidPercentage'), cr.bidPercentage, 0, 100);
  const min = cr.minvCpus as number | undefined | null;
  const max = cr.maxvCpus as number | undefined | null;
  const desired = cr.desiredvCpus as number | undefined | null;
  if (present(min) && present(max) && min! > max!) {
    throw invalid(p('minvCpus'), `${min} is greater than ${p('maxvCpus')} (${max})`);
  }
  if (present(desired)) {
    if (present(min) && desired! < min!) throw invalid(p('desiredvCpus'), `${desired} is less than ${p('minvCpus')} (${min})`);
    if (present(max) && desired! > max!) throw invalid(p('desiredvCpus'), `${desired} is greater than ${p('maxvCpus')} (${max})`);
  }
  // Ec2Configuration: the AWS model constrains these strings to 1-256 characters.
  list(cr.ec2Configuration).forEach((entry, i) => {
    if (!present(entry)) return;
    const e = obj(entry);
    for (const m of ['imageType', 'imageIdOverride', 'imageKubernetesVersion']) {
      const v = e[m];
      if (typeof v === 'string' && (v.length < 1 || v.length > 256)) {
        throw invalid(memberPath(indexPath(p('ec2Configuration'), i), m), `must be 1 to 256 characters long, got ${v.length}; leave it out to use the default`);
      }
    }
  });
}

function checkComputeEnvironmentOrder(path: string, value: unknown): void {
  if (!present(value)) return;
  checkCount(path, value, 0, MAX_CE_PER_QUEUE, 'compute environments');
  const orders = new Map<number, number>();
  const environments = new Map<string, number>();
  list(value).forEach((entry, i) => {
    if (!present(entry)) return;
    const p = indexPath(path, i);
    const { order, computeEnvironment } = obj(entry) as { order: number; computeEnvironment: string };
    checkRange(memberPath(p, 'order'), order, 0, undefined);
    checkNameOrArn(memberPath(p, 'computeEnvironment'), computeEnvironment, 'compute environment');
    const sameOrder = orders.get(order);
    if (sameOrder !== undefined) {
      throw invalid(memberPath(p, 'order'), `${order} is also the order of ${indexPath(path, sameOrder)}; each compute environment needs its own order`);
    }
    orders.set(order, i);
    const sameCe = environments.get(computeEnvironment);
    if (sameCe !== undefined) {
      throw invalid(memberPath(p, 'computeEnvironment'), `${quote(computeEnvironment)} is already listed at ${indexPath(path, sameCe)}`);
    }
    environments.set(computeEnvironment, i);
  });
}

function checkJobStateTimeLimitActions(path: string, value: unknown): void {
  list(value).forEach((entry, i) => {
    if (!present(entry)) return;
    const p = indexPath(path, i);
    const a = obj(entry);
    checkLength(memberPath(p, 'reason'), a.reason, 1, MAX_REASON);
    checkEnum(memberPath(p, 'state'), a.state, JOB_STATE_TIME_LIMIT_STATES);
    checkEnum(memberPath(p, 'action'), a.action, JOB_STATE_TIME_LIMIT_ACTIONS);
    checkRange(memberPath(p, 'maxTimeSeconds'), a.maxTimeSeconds, 600, 86400, 'seconds');
  });
}

function checkJobQueueCommon(input: Obj): void {
  checkEnum('state', input.state, RESOURCE_STATES);
  checkRange('priority', input.priority, 0, 1000);
  checkComputeEnvironmentOrder('computeEnvironmentOrder', input.computeEnvironmentOrder);
  checkJobStateTimeLimitActions('jobStateTimeLimitActions', input.jobStateTimeLimitActions);
}

// ---------------------------------------------------------------------------------------------
// Scheduling policies (fair share)

function checkSchedulingPolicyArn(path: string, value: unknown): void {
  if (!present(value)) return;
  const v = value as string;
  if (!SCHEDULING_POLICY_ARN_PATTERN.test(v)) {
    throw invalid(path, `${quote(v)} is not a scheduling policy ARN (arn:aws:batch:<region>:<account>:scheduling-policy/<name>)`);
  }
}

/** Whether two shareDistribution identifiers can match the same share identifier. */
function overlaps(a: string, b: string): boolean {
  const prefixA = a.endsWith('*') ? a.slice(0, -1) : undefined;
  const prefixB = b.endsWith('*') ? b.slice(0, -1) : undefined;
  if (prefixA !== undefined && prefixB !== undefined) return prefixA.startsWith(prefixB) || prefixB.startsWith(prefixA);
  if (prefixA !== undefined) return b.startsWith(prefixA);
  if (prefixB !== undefined) return a.startsWith(prefixB);
  return a === b;
}

function checkFairsharePolicy(path: string, value: unknown): void {
  if (!present(value)) return;
  const fp = obj(value);
  checkRange(memberPath(path, 'shareDecaySeconds'), fp.shareDecaySeconds, 0, MAX_SHARE_DECAY_SECONDS, 'seconds');
  checkRange(memberPath(path, 'computeReservation'), fp.computeReservation, 0, MAX_COMPUTE_RESERVATION);
  const distPath = memberPath(path, 'shareDistribution');
  checkCount(distPath, fp.shareDistribution, 0, MAX_SHARE_DISTRIBUTION);
  const seen: { id: string; at: string }[] = [];
  list(fp.shareDistribution).forEach((entry, i) => {
    if (!present(entry)) return;
    const p = indexPath(distPath, i);
    const e = obj(entry);
    const idPath = memberPath(p, 'shareIdentifier');
    const id = e.shareIdentifier as string;
    if (!SHARE_IDENTIFIER_PATTERN.test(id)) {
      throw invalid(
        idPath,
        `${quote(id)} is not a valid share identifier: 1 to 255 letters and numbers, ` +
          'optionally followed by an asterisk (*) to match every share identifier that starts with them',
      );
    }
    for (const other of seen) {
      if (other.id === id) throw invalid(idPath, `${quote(id)} is already listed at ${other.at}`);
      if (overlaps(other.id, id)) {
        throw invalid(idPath, `${quote(id)} overlaps ${quote(other.id)} at ${other.at}; share identifiers must not overlap`);
      }
    }
    seen.push({ id, at: indexPath(distPath, i) });
    checkRange(memberPath(p, 'weightFactor'), e.weightFactor, MIN_WEIGHT_FACTOR, MAX_WEIGHT_FACTOR);
  });
}

// ---------------------------------------------------------------------------------------------
// Multi-node parallel

/** `n`, `n:m`, `n:`, `:m` or `:`; indices below numNodes when it is known. */
function checkTargetNodes(path: string, value: unknown, numNodes: number | undefined): void {
  if (!present(value)) return;
  const v = value as string;
  const m = TARGET_NODES_PATTERN.exec(v);
  const hint = 'use a node index range such as "0:3", "1:" or "0"';
  if (!m) throw invalid(path, `${quote(v)} is not a valid node range; ${hint}`);
  const start = m[3] ?? m[1];
  const end = m[3] ?? m[2];
  if (start !== undefined && end !== undefined && Number(start) > Number(end)) {
    throw invalid(path, `${quote(v)} starts after it ends; ${hint}`);
  }
  if (numNodes !== undefined) {
    for (const index of [start, end]) {
      if (index !== undefined && Number(index) >= numNodes) {
        throw invalid(path, `${quote(v)} names node ${index}, but the job has ${numNodes} nodes (indices 0 to ${numNodes - 1})`);
      }
    }
  }
}

function checkNodeProperties(path: string, value: unknown): void {
  if (!present(value)) return;
  const np = obj(value);
  const numNodes = np.numNodes as number;
  checkRange(memberPath(path, 'numNodes'), numNodes, 1, undefined);
  checkRange(memberPath(path, 'mainNode'), np.mainNode, 0, numNodes - 1);
  list(np.nodeRangeProperties).forEach((range, i) => {
    if (!present(range)) return;
    const p = indexPath(memberPath(path, 'nodeRangeProperties'), i);
    const r = obj(range);
    checkTargetNodes(memberPath(p, 'targetNodes'), r.targetNodes, numNodes);
    checkContainer(memberPath(p, 'container'), r.container, false);
    checkEcsProperties(memberPath(p, 'ecsProperties'), r.ecsProperties, false);
  });
}

function checkNodeOverrides(path: string, value: unknown): void {
  if (!present(value)) return;
  const no = obj(value);
  checkRange(memberPath(path, 'numNodes'), no.numNodes, 1, undefined);
  list(no.nodePropertyOverrides).forEach((o, i) => {
    if (!present(o)) return;
    const p = indexPath(memberPath(path, 'nodePropertyOverrides'), i);
    const r = obj(o);
    checkTargetNodes(memberPath(p, 'targetNodes'), r.targetNodes, undefined);
    checkContainer(memberPath(p, 'containerOverrides'), r.containerOverrides, true);
    checkEcsProperties(memberPath(p, 'ecsPropertiesOverride'), r.ecsPropertiesOverride, true);
  });
}

// ---------------------------------------------------------------------------------------------
// Per operation

const OPERATION_RULES: Record<string, (input: Obj) => void> = {
  CreateComputeEnvironment(input) {
    checkResourceName('computeEnvironmentName', input.computeEnvironmentName);
    checkEnum('type', input.type, CE_TYPES);
    checkEnum('state', input.state, RESOURCE_STATES);
    checkRange('unmanagedvCpus', input.unmanagedvCpus, 0, undefined);
    if (input.type === 'MANAGED' && !present(input.computeResources)) {
      throw missing('computeResources', 'required when type is MANAGED');
    }
    checkComputeResources('computeResources', input.computeResources, false);
    checkTags('tags', input.tags);
  },

  UpdateComputeEnvironment(input) {
    checkNameOrArn('computeEnvironment', input.computeEnvironment, 'compute environment');
    checkEnum('state', input.state, RESOURCE_STATES);
    checkRange('unmanagedvCpus', input.unmanagedvCpus, 0, undefined);
    checkComputeResources('computeResources', input.computeResources, true);
    if (present(input.updatePolicy)) {
      checkRange('updatePolicy.jobExecutionTimeoutMinutes', obj(input.updatePolicy).jobExecutionTimeoutMinutes, 1, 7200, 'minutes');
    }
  },

  DeleteComputeEnvironment(input) {
    checkNameOrArn('computeEnvironment', input.computeEnvironment, 'compute environment');
  },

  DescribeComputeEnvironments(input) {
    checkCount('computeEnvironments', input.computeEnvironments, 0, 100);
    checkRange('maxResults', input.maxResults, 1, 100);
  },

  CreateJobQueue(input) {
    checkResourceName('jobQueueName', input.jobQueueName);
    checkJobQueueCommon(input);
    checkTags('tags', input.tags);
  },

  UpdateJobQueue(input) {
    checkNameOrArn('jobQueue', input.jobQueue, 'job queue');
    checkJobQueueCommon(input);
  },

  DeleteJobQueue(input) {
    checkNameOrArn('jobQueue', input.jobQueue, 'job queue');
  },

  DescribeJobQueues(input) {
    checkCount('jobQueues', input.jobQueues, 0, 100);
    checkRange('maxResults', input.maxResults, 1, 100);
  },

  RegisterJobDefinition(input) {
    checkResourceName('jobDefinitionName', input.jobDefinitionName);
    checkEnum('type', input.type, JOB_DEFINITION_TYPES);
    if (input.type === 'container') {
      if (!present(input.containerProperties) && !present(input.ecsProperties) && !present(input.eksProperties)) {
        throw missing('containerProperties', 'a container job definition needs containerProperties, ecsProperties or eksProperties');
      }
      if (present(input.nodeProperties)) {
        throw combination('nodeProperties is only for type multinode; this job definition has type container');
      }
    } else if (input.type === 'multinode') {
      if (!present(input.nodeProperties)) throw missing('nodeProperties', 'required when type is multinode');
      if (present(input.containerProperties)) {
        throw combination(
          'containerProperties is only for type container; for type multinode give each node range its container in nodeProperties.nodeRangeProperties[].container',
        );
      }
    }
    checkRange('schedulingPriority', input.schedulingPriority, 0, 9999);
    checkContainer('containerProperties', input.containerProperties, false);
    checkEcsProperties('ecsProperties', input.ecsProperties, false);
    checkNodeProperties('nodeProperties', input.nodeProperties);
    checkRetryStrategy('retryStrategy', input.retryStrategy);
    checkTimeout('timeout', input.timeout);
    checkTags('tags', input.tags);
    list(input.platformCapabilities).forEach((c, i) => checkEnum(indexPath('platformCapabilities', i), c, PLATFORM_CAPABILITIES));
  },

  DescribeJobDefinitions(input) {
    checkCount('jobDefinitions', input.jobDefinitions, 0, 100);
    checkRange('maxResults', input.maxResults, 1, 100);
    checkResourceName('jobDefinitionName', input.jobDefinitionName);
    checkEnum('status', input.status, JOB_DEFINITION_STATUSES);
    list(input.jobDefinitions).forEach((ref, i) => checkJobDefinitionRef(indexPath('jobDefinitions', i), ref));
    if (list(input.jobDefinitions).length > 0) {
      const others = ['maxResults', 'jobDefinitionName', 'status', 'nextToken'].filter((m) => present(input[m]));
      if (others.length > 0) {
        throw combination(`jobDefinitions cannot be combined with other parameters (got ${andList(others)})`);
      }
    }
  },

  DeregisterJobDefinition(input) {
    checkJobDefinitionRef('jobDefinition', input.jobDefinition);
  },

  SubmitJob(input) {
    if (present(input.jobName) && !JOB_NAME_PATTERN.test(input.jobName as string)) {
      throw invalid(
        'jobName',
        `${quote(input.jobName)} does not match the job name pattern: up to 128 characters, ` +
          'the first a letter or number, the rest letters, numbers, hyphens (-) and underscores (_)',
      );
    }
    checkNameOrArn('jobQueue', input.jobQueue, 'job queue');
    checkJobDefinitionRef('jobDefinition', input.jobDefinition);
    checkRange('schedulingPriorityOverride', input.schedulingPriorityOverride, 0, 9999);
    if (present(input.arrayProperties)) {
      const size = obj(input.arrayProperties).size;
      if (!present(size)) throw missing('arrayProperties.size', 'an array job needs a size from 2 to 10000');
      checkRange('arrayProperties.size', size, 2, 10000);
    }
    checkCount('dependsOn', input.dependsOn, 0, MAX_DEPENDENCIES, 'dependencies');
    list(input.dependsOn).forEach((dep, i) => {
      if (!present(dep)) return;
      const p = indexPath('dependsOn', i);
      const d = obj(dep);
      checkEnum(memberPath(p, 'type'), d.type, DEPENDENCY_TYPES);
      checkNonEmpty(memberPath(p, 'jobId'), d.jobId);
      if (!present(d.jobId) && !present(d.type)) {
        throw missing(memberPath(p, 'jobId'), 'a dependency needs a jobId, or the type SEQUENTIAL for an array job');
      }
    });
    checkContainer('containerOverrides', input.containerOverrides, true);
    checkEcsProperties('ecsPropertiesOverride', input.ecsPropertiesOverride, true);
    checkNodeOverrides('nodeOverrides', input.nodeOverrides);
    checkRetryStrategy('retryStrategy', input.retryStrategy);
    checkTimeout('timeout', input.timeout);
    checkTags('tags', input.tags);
  },

  DescribeJobs(input) {
    checkCount('jobs', input.jobs, 1, 100, 'job IDs');
    list(input.jobs).forEach((id, i) => checkNonEmpty(indexPath('jobs', i), id));
  },

  ListJobs(input) {
    const scopes = ['jobQueue', 'arrayJobId', 'multiNodeJobId'];
    const given = scopes.filter((m) => present(input[m]));
    if (given.length !== 1) {
      throw combination(
        `give exactly one of jobQueue, arrayJobId or multiNodeJobId (${
          given.length === 0 ? 'none was given' : `got ${andList(given)}`
        })`,
      );
    }
    for (const m of scopes) checkNonEmpty(m, input[m]);
    checkEnum('jobStatus', input.jobStatus, JOB_STATUS_VALUES);
    checkRange('maxResults', input.maxResults, 1, 1000);
    checkCount('filters', input.filters, 0, 1, 'filters');
    list(input.filters).forEach((filter, i) => {
      if (!present(filter)) return;
      const p = indexPath('filters', i);
      const f = obj(filter);
      if (!present(f.name)) throw clientError(`Missing required parameter: ${memberPath(p, 'name')}`);
      checkEnum(memberPath(p, 'name'), f.name, LIST_JOBS_FILTER_NAMES);
      if (!present(f.values)) throw clientError(`Missing required parameter: ${memberPath(p, 'values')}`);
      checkCount(memberPath(p, 'values'), f.values, 1, undefined, 'values');
      list(f.values).forEach((v, j) => {
        const vp = indexPath(memberPath(p, 'values'), j);
        checkNonEmpty(vp, v);
        if ((f.name === 'BEFORE_CREATED_AT' || f.name === 'AFTER_CREATED_AT') && !EPOCH_MILLIS_PATTERN.test(v as string)) {
          throw invalid(
            vp,
            `${quote(v)} is not a valid ${f.name as string} value; give the time as milliseconds since the epoch, e.g. "1700000000000"`,
          );
        }
      });
    });
  },

  CancelJob(input) {
    checkNonEmpty('jobId', input.jobId);
    checkLength('reason', input.reason, 1, MAX_REASON);
  },

  TerminateJob(input) {
    checkNonEmpty('jobId', input.jobId);
    checkLength('reason', input.reason, 1, MAX_REASON);
  },

  CreateSchedulingPolicy(input) {
    checkResourceName('name', input.name);
    checkFairsharePolicy('fairsharePolicy', input.fairsharePolicy);
    checkTags('tags', input.tags);
  },

  UpdateSchedulingPolicy(input) {
    checkSchedulingPolicyArn('arn', input.arn);
    checkFairsharePolicy('fairsharePolicy', input.fairsharePolicy);
  },

  DeleteSchedulingPolicy(input) {
    checkSchedulingPolicyArn('arn', input.arn);
  },

  DescribeSchedulingPolicies(input) {
    checkCount('arns', input.arns, 0, MAX_SCHEDULING_POLICY_ARNS, 'ARNs');
    list(input.arns).forEach((arn, i) => checkNonEmpty(indexPath('arns', i), arn));
  },

  ListSchedulingPolicies(input) {
    checkRange('maxResults', input.maxResults, 1, 100);
  },

  TagResource(input) {
    checkTaggableArn('resourceArn', input.resourceArn);
    checkTags('tags', input.tags, 1);
  },

  UntagResource(input) {
    checkTaggableArn('resourceArn', input.resourceArn);
    checkCount('tagKeys', input.tagKeys, 1, MAX_TAGS, 'tag keys');
    list(input.tagKeys).forEach((key, i) => checkTagKey(indexPath('tagKeys', i), key as string));
  },

  ListTagsForResource(input) {
    checkTaggableArn('resourceArn', input.resourceArn);
  },
};

/** The operations that have rules beyond the model. */
export const OPERATIONS_WITH_RULES: readonly string[] = Object.freeze(Object.keys(OPERATION_RULES));

/**
 * Applies AWS's documented rules for `operation` to an input that already passed the model
 * checks; throws `clientError` on the first violation. Operations without rules pass.
 */
export function checkRules(operation: string, input: Record<string, unknown>): void {
  OPERATION_RULES[operation]?.(input);
}
