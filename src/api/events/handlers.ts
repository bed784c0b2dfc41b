// The EventBridge API (awsJson 1.1, `X-Amz-Target: AWSEvents.<Op>`, SigV4 name `events`): the
// operations OpenBatch serves on the default event bus. Each input is checked against the model's
// types and EventBridge's documented limits first (ValidationException in AWS's wording, naming
// the member), then handed to the service; EventsError becomes the error EventBridge answers.

import { awsJsonError, type AwsJsonHandler, type AwsJsonService } from '../aws-json.js';
import { isEventsError, RULE_STATES, type EventTarget, type RuleState } from '../../core/events.js';
import { isBatchError } from '../../core/errors.js';
import type { EventsService, PutEventsEntry, PutRuleInput } from '../../service/events.js';

// ----- input checks: a tiny schema language for the members these operations take

type Check = (v: unknown, at: string) => void;

function invalid(at: string, v: unknown, constraint: string): never {
  const shown = typeof v === 'string' ? v.slice(0, 200) : JSON.stringify(v)?.slice(0, 200);
  throw awsJsonError('ValidationException', `1 validation error detected: Value '${shown}' at '${at}' failed to satisfy constraint: ${constraint}`);
}

const str =
  (o: { min?: number; max?: number; pattern?: RegExp; enum?: readonly string[] } = {}): Check =>
  (v, at) => {
    if (typeof v !== 'string') invalid(at, v, 'Member must be a string');
    const s = v as string;
    if (o.min !== undefined && s.length < o.min) invalid(at, s, `Member must have length greater than or equal to ${o.min}`);
    if (o.max !== undefined && s.length > o.max) invalid(at, s, `Member must have length less than or equal to ${o.max}`);
    if (o.pattern && !o.pattern.test(s)) invalid(at, s, `Member must satisfy regular expression pattern: ${o.pattern.source.replace(/^\^|\$$/g, '')}`);
    if (o.enum && !o.enum.includes(s)) invalid(at, s, `Member must satisfy enum value set: [${o.enum.join(', ')}]`);
  };

const int =
  (min: number, max: number): Check =>
  (v, at) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) invalid(at, v, 'Member must be an integer');
    if ((v as number) < min) invalid(at, v, `Member must have value greater than or equal to ${min}`);
    if ((v as number) > max) invalid(at, v, `Member must have value less than or equal to ${max}`);
  };

const bool: Check = (v, at) => {
  if (typeof v !== 'boolean') invalid(at, v, 'Member must be a boolean');
};

/** Timestamps come as epoch seconds (awsJson); the value is converted to milliseconds by the caller. */
const timestamp: Check = (v, at) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid(at, v, 'Member must be a timestamp (epoch seconds)');
};

const list =
  (of: Check, o: { min?: number; max?: number } = {}): Check =>
  (v, at) => {
    if (!Array.isArray(v)) invalid(at, v, 'Member must be a list');
    const a = v as unknown[];
    if (o.min !== undefined && a.length < o.min) invalid(at, a, `Member must have length greater than or equal to ${o.min}`);
    if (o.max !== undefined && a.length > o.max) invalid(at, a, `Member must have length less than or equal to ${o.max}`);
    a.forEach((x, i) => of(x, `${at}.${i + 1}.member`));
  };

const map =
  (key: Check, value: Check, max?: number): Check =>
  (v, at) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) invalid(at, v, 'Member must be a map');
    const entries = Object.entries(v as object);
    if (max !== undefined && entries.length > max) invalid(at, v, `Member must have length less than or equal to ${max}`);
    for (const [k, x] of entries) {
      key(k, `${at}.key`);
      value(x, `${at}.${k}`);
    }
  };

/** A structure: required members, checked members; members the model has but OpenBatch ignores are accepted as given. */
const struct =
  (members: Record<string, Check | 'any'>, required: readonly string[] = []): Check =>
  (v, at) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) invalid(at, v, 'Member must be a structure');
    const o = v as Record<string, unknown>;
    for (const r of required) {
      if (o[r] === undefined || o[r] === null) invalid(at ? `${at}.${lower(r)}` : lower(r), null, 'Member must not be null');
    }
    for (const [k, x] of Object.entries(o)) {
      const check = Object.hasOwn(members, k) ? members[k] : undefined;
      if (check === undefined) throw awsJsonError('ValidationException', `Unknown member ${at ? `${at}.` : ''}${k}: not a member of this operation's input`);
      if (x === null || check === 'any') continue;
      check(x, at ? `${at}.${lower(k)}` : lower(k));
    }
  };

function lower(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

const NAME = str({ min: 1, max: 64, pattern: /^[\.\-_A-Za-z0-9]+$/ });
const BUS = str({ min: 1, max: 1600, pattern: /^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+$/ });
const TOKEN = str({ min: 1, max: 2048 });
const TAGS = list(struct({ Key: str({ min: 1, max: 128 }), Value: str({ max: 256 }) }, ['Key', 'Value']));
const TARGET = struct(
  {
    Id: NAME,
    Arn: str({ min: 1, max: 1600 }),
    RoleArn: str({ min: 1, max: 1600 }),
    Input: str({ max: 8192 }),
    InputPath: str({ max: 256 }),
    InputTransformer: struct(
      { InputPathsMap: map(str({ max: 256, pattern: /^[A-Za-z0-9_-]+$/ }), str({ max: 256 }), 100), InputTemplate: str({ min: 1, max: 8192 }) },
      ['InputTemplate'],
    ),
    RetryPolicy: struct({ MaximumRetryAttempts: int(0, 185), MaximumEventAgeInSeconds: int(60, 86400) }),
    DeadLetterConfig: struct({ Arn: str({ min: 1, max: 1600 }) }),
    // Settings of AWS target kinds OpenBatch does not deliver to: stored and listed back as given.
    KinesisParameters: 'any',
    RunCommandParameters: 'any',
    EcsParameters: 'any',
    BatchParameters: 'any',
    SqsParameters: 'any',
    HttpParameters: 'any',
    RedshiftDataParameters: 'any',
    SageMakerPipelineParameters: 'any',
    AppSyncParameters: 'any',
  },
  ['Id', 'Arn'],
);

const INPUTS: Record<string, Check> = {
  PutRule: struct(
    {
      Name: NAME,
      ScheduleExpression: str({ max: 256 }),
      EventPattern: str({ max: 4096 }),
      State: str({ enum: RULE_STATES }),
      Description: str({ max: 512 }),
      RoleArn: str({ min: 1, max: 1600 }),
      Tags: TAGS,
      EventBusName: BUS,
    },
    ['Name'],
  ),
  DescribeRule: struct({ Name: NAME, EventBusName: BUS }, ['Name']),
  ListRules: struct({ NamePrefix: str({ min: 1, max: 64, pattern: /^[\.\-_A-Za-z0-9]+$/ }), EventBusName: BUS, NextToken: TOKEN, Limit: int(1, 100) }),
  DeleteRule: struct({ Name: NAME, EventBusName: BUS, Force: bool }, ['Name']),
  EnableRule: struct({ Name: NAME, EventBusName: BUS }, ['Name']),
  DisableRule: struct({ Name: NAME, EventBusName: BUS }, ['Name']),
  PutTargets: struct({ Rule: NAME, EventBusName: BUS, Targets: list(TARGET, { min: 1, max: 10 }) }, ['Rule', 'Targets']),
  ListTargetsByRule: struct({ Rule: NAME, EventBusName: BUS, NextToken: TOKEN, Limit: int(1, 100) }, ['Rule']),
  RemoveTargets: struct({ Rule: NAME, EventBusName: BUS, Ids: list(NAME, { min: 1, max: 100 }), Force: bool }, ['Rule', 'Ids']),
  PutEvents: struct(
    {
      Entries: list(
        struct({
          Time: timestamp,
          Source: str({ min: 1, max: 256 }),
          Resources: list(str({ max: 2048 })),
          DetailType: str({ max: 128 }),
          Detail: str({ max: 262_144 }),
          EventBusName: str({ min: 1, max: 1600 }),
          TraceHeader: str({ min: 1, max: 500 }),
        }),
        { min: 1, max: 10 },
      ),
      EndpointId: str({ min: 1, max: 50 }),
    },
    ['Entries'],
  ),
  TestEventPattern: struct({ EventPattern: str({ max: 4096 }), Event: str() }, ['EventPattern', 'Event']),
  ListRuleNamesByTarget: struct({ TargetArn: str({ min: 1, max: 1600 }), EventBusName: BUS, NextToken: TOKEN, Limit: int(1, 100) }, ['TargetArn']),
  DescribeEventBus: struct({ Name: BUS }),
  ListTagsForResource: struct({ ResourceARN: str({ min: 1, max: 1600 }) }, ['ResourceARN']),
  TagResource: struct({ ResourceARN: str({ min: 1, max: 1600 }), Tags: TAGS }, ['ResourceARN', 'Tags']),
  UntagResource: struct({ ResourceARN: str({ min: 1, max: 1600 }), TagKeys: list(str({ min: 1, max: 128 })) }, ['ResourceARN', 'TagKeys']),
};

/** The EventBridge API for the awsJson dispatcher on POST /. */
export function eventsApi(service: EventsService): AwsJsonService {
  const op =
    <I>(name: string, fn: (input: I) => Promise<unknown> | unknown): AwsJsonHandler =>
    async (input) => {
      INPUTS[name](input, '');
      try {
        return await fn(input as I);
      } catch (e) {
        if (isEventsError(e)) throw awsJsonError(e.code, e.message);
        // Pagination tokens are checked by the service's shared helpers (ClientException).
        if (isBatchError(e) && e.code === 'ClientException') throw awsJsonError('ValidationException', e.message);
        throw e;
      }
    };
  return {
    targetPrefix: 'AWSEvents',
    signingName: 'events',
    jsonVersion: '1.1',
    validationErrorCode: 'ValidationException',
    handlers: {
      PutRule: op<PutRuleInput>('PutRule', (i) => service.putRule(i)),
      DescribeRule: op<{ Name: string; EventBusName?: string }>('DescribeRule', (i) => service.describeRule(i)),
      ListRules: op<{ NamePrefix?: string; EventBusName?: string; NextToken?: string; Limit?: number }>('ListRules', (i) => service.listRules(i)),
      DeleteRule: op<{ Name: string; EventBusName?: string }>('DeleteRule', (i) => service.deleteRule(i)),
      EnableRule: op<{ Name: string; EventBusName?: string }>('EnableRule', (i) => service.setRuleState(i, 'ENABLED' as RuleState)),
      DisableRule: op<{ Name: string; EventBusName?: string }>('DisableRule', (i) => service.setRuleState(i, 'DISABLED')),
      PutTargets: op<{ Rule: string; EventBusName?: string; Targets: EventTarget[] }>('PutTargets', (i) => service.putTargets(i)),
      ListTargetsByRule: op<{ Rule: string; EventBusName?: string; NextToken?: string; Limit?: number }>('ListTargetsByRule', (i) => service.listTargetsByRule(i)),
      RemoveTargets: op<{ Rule: string; EventBusName?: string; Ids: string[] }>('RemoveTargets', (i) => service.removeTargets(i)),
      PutEvents: op<{ Entries: (PutEventsEntry & { Time?: number })[] }>('PutEvents', (i) =>
        // awsJson timestamps are epoch seconds (fractions allowed).
        service.putEvents({ Entries: i.Entries.map((e) => ({ ...e, ...(e.Time !== undefined ? { Time: Math.round(e.Time * 1000) } : {}) })) }),
      ),
      TestEventPattern: op<{ EventPattern: string; Event: string }>('TestEventPattern', (i) => service.testEventPattern(i)),
      ListRuleNamesByTarget: op<{ TargetArn: string; EventBusName?: string; NextToken?: string; Limit?: number }>('ListRuleNamesByTarget', (i) => service.listRuleNamesByTarget(i)),
      DescribeEventBus: op<{ Name?: string }>('DescribeEventBus', (i) => service.describeEventBus(i)),
      ListTagsForResource: op<{ ResourceARN: string }>('ListTagsForResource', (i) => service.listTagsForResource(i)),
      TagResource: op<{ ResourceARN: string; Tags: { Key: string; Value: string }[] }>('TagResource', (i) => service.tagResource(i)),
      UntagResource: op<{ ResourceARN: string; TagKeys: string[] }>('UntagResource', (i) => service.untagResource(i)),
    },
  };
}
