// EventBridge event patterns: every operator with matches and non-matches, taken from the AWS docs
// where they give an example (the page is cited per group), plus the cases the docs leave to
// EventBridge's matcher (AWS's open-source Event Ruler, whose README documents them).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { InvalidEventPatternError, matchesEventPattern, parseEventPattern, PreparedEvent } from '../../src/core/event-pattern.js';

const matches = (pattern: unknown, event: unknown): boolean =>
  matchesEventPattern(parseEventPattern(typeof pattern === 'string' ? pattern : JSON.stringify(pattern)), event);

interface Case {
  name: string;
  pattern: unknown;
  event: unknown;
  want: boolean;
}

function table(cases: Case[]): void {
  for (const c of cases) {
    test(`${c.want ? 'matches' : 'does not match'}: ${c.name}`, () => assert.equal(matches(c.pattern, c.event), c.want));
  }
}

// The sample event of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};
const withDetail = (detail: Record<string, unknown>) => ({ ...ec2Event, detail });

// A "Batch Job State Change" event as AWS Batch sends it (shared/reference/aws-batch.md §13).
const batchEvent = (status: string, extra: Record<string, unknown> = {}) => ({
  version: '0',
  id: 'c8f9c4b5-76e5-d76a-f980-7011e206042b',
  'detail-type': 'Batch Job State Change',
  source: 'aws.batch',
  account: '123456789012',
  time: '2022-01-11T23:36:40Z',
  region: 'us-east-1',
  resources: ['arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8'],
  detail: {
    jobArn: 'arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8',
    jobName: 'event-test',
    jobId: '4c7599ae-0a82-49aa-ba5a-4727fcce14a8',
    jobQueue: 'arn:aws:batch:us-east-1:123456789012:job-queue/q',
    status,
    attempts: [],
    createdAt: 1641944200058,
    retryStrategy: { attempts: 2, evaluateOnExit: [] },
    dependsOn: [],
    parameters: {},
    container: { image: 'busybox', command: ['sleep', '600'], environment: [], resourceRequirements: [{ value: '2', type: 'VCPU' }] },
    ...extra,
  },
});

describe("the seed's rule: Batch job FAILED", () => {
  const rule = '{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":["FAILED"]}}';
  table([
    { name: 'a FAILED job', pattern: rule, event: batchEvent('FAILED', { statusReason: 'Essential container in task exited' }), want: true },
    { name: 'a SUCCEEDED job', pattern: rule, event: batchEvent('SUCCEEDED'), want: false },
    { name: 'a RUNNABLE job', pattern: rule, event: batchEvent('RUNNABLE'), want: false },
    { name: 'status in another case', pattern: rule, event: batchEvent('failed'), want: false },
    { name: 'another source', pattern: rule, event: { ...batchEvent('FAILED'), source: 'aws.ecs' }, want: false },
    { name: 'another detail-type', pattern: rule, event: { ...batchEvent('FAILED'), 'detail-type': 'Batch Job Queue Blocked' }, want: false },
    { name: 'no detail', pattern: rule, event: { ...batchEvent('FAILED'), detail: undefined }, want: false },
  ]);
});

describe('exact values (eb-event-patterns.html, eb-event-patterns-null-values.html, eb-event-patterns-arrays.html)', () => {
  const docPattern = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } };
  const nullEvent = { ...ec2Event, detail: { eventVersion: '', responseElements: null } };
  table([
    { name: "the docs' instance-termination pattern", pattern: docPattern, event: ec2Event, want: true },
    { name: 'the same pattern, instance running', pattern: docPattern, event: withDetail({ state: 'running' }), want: false },
    { name: 'any value of the array', pattern: { detail: { state: ['running', 'terminated'] } }, event: ec2Event, want: true },
    { name: 'strings are case-sensitive', pattern: { source: ['AWS.EC2'] }, event: ec2Event, want: false },
    { name: 'field names are case-sensitive', pattern: { Source: ['aws.ec2'] }, event: ec2Event, want: false },
    { name: 'fields the pattern does not name are ignored', pattern: { region: ['us-west-1'] }, event: ec2Event, want: true },
    { name: 'a field the event lacks', pattern: { detail: { missing: ['x'] } }, event: ec2Event, want: false },
    { name: 'empty string', pattern: { detail: { eventVersion: [''] } }, event: nullEvent, want: true },
    { name: 'null', pattern: { detail: { responseElements: [null] } }, event: nullEvent, want: true },
    { name: 'null does not match an empty string', pattern: { detail: { eventVersion: [null] } }, event: nullEvent, want: false },
    { name: 'an empty string does not match null', pattern: { detail: { responseElements: [''] } }, event: nullEvent, want: false },
    { name: 'null does not match "null"', pattern: { detail: { responseElements: [null] } }, event: withDetail({ responseElements: 'null' }), want: false },
    { name: 'a boolean', pattern: { detail: { ok: [false] } }, event: withDetail({ ok: false }), want: true },
    { name: 'a boolean is not its string', pattern: { detail: { ok: ['false'] } }, event: withDetail({ ok: false }), want: false },
    { name: 'a number', pattern: { detail: { n: [300] } }, event: withDetail({ n: 300 }), want: true },
    { name: 'numbers compare by value: 300 matches 3.0e2', pattern: '{"detail":{"n":[300]}}', event: JSON.parse('{"detail":{"n":3.0e2}}'), want: true },
    { name: 'numbers compare by value: 3.0e2 matches 300.0', pattern: '{"detail":{"n":[3.0e2]}}', event: JSON.parse('{"detail":{"n":300.0}}'), want: true },
    { name: 'a number is not its string', pattern: { detail: { n: [300] } }, event: withDetail({ n: '300' }), want: false },
    { name: 'a string is not its number', pattern: { detail: { n: ['300'] } }, event: withDetail({ n: 300 }), want: false },
    {
      name: "array in the event: the docs' resources example (non-empty intersection)",
      pattern: {
        resources: [
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
        ],
      },
      event: {
        resources: [
          'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        ],
      },
      want: true,
    },
    { name: 'array in the event, no common element', pattern: { resources: ['a', 'b'] }, event: { resources: ['c', 'd'] }, want: false },
    { name: 'an empty array in the event has no value', pattern: { resources: [null] }, event: { resources: [] }, want: false },
    { name: 'a string holding JSON is only a string', pattern: { detail: { k: ['v'] } }, event: { detail: '{"k": "v"}' }, want: false },
    { name: 'a unicode string', pattern: { s: ['an emoji \u{1F680} and trailing space '] }, event: { s: 'an emoji \u{1F680} and trailing space ' }, want: true },
  ]);
});

describe('nested fields and arrays of objects (Event Ruler README, "JSON Array Matching")', () => {
  const employees = { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] };
  table([
    { name: 'a field of any object in an array', pattern: { employees: { firstName: ['Anna'] } }, event: employees, want: true },
    { name: 'two fields of the same element', pattern: { employees: { firstName: ['Anna'], lastName: ['Smith'] } }, event: employees, want: true },
    { name: 'two fields from different elements of one array', pattern: { employees: { firstName: ['Anna'], lastName: ['Jones'] } }, event: employees, want: false },
    {
      name: 'arrays of arrays are flattened',
      pattern: { employees: { firstName: ['Peter'] } },
      event: { employees: [[{ firstName: 'John' }, { firstName: 'Anna' }], [{ firstName: 'Peter' }]] },
      want: true,
    },
    {
      name: 'inner arrays are elements of the outer one too',
      pattern: { employees: { firstName: ['Anna'], lastName: ['Jones'] } },
      event: { employees: [[{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }], [{ firstName: 'Peter', lastName: 'Jones' }]] },
      want: false,
    },
    {
      name: 'a field beside the array combines with any element',
      pattern: { team: ['red'], employees: { lastName: ['Jones'] } },
      event: { team: 'red', ...employees },
      want: true,
    },
    {
      name: 'absence is judged in the array element the other fields matched in',
      pattern: { a: { c: ['x'], d: [{ exists: false }] } },
      event: { a: [{ c: 'x' }, { d: 1 }] },
      want: true,
    },
    { name: 'absence, the field present in that element', pattern: { a: { c: ['x'], d: [{ exists: false }] } }, event: { a: [{ c: 'x', d: 1 }] }, want: false },
    { name: 'a plain value in an array is not tied to its element', pattern: { a: ['p'], 'a.b': [1] }, event: { a: ['p', { b: 1 }] }, want: true },
    { name: 'values in an array inside one element stay with it', pattern: { a: { b: ['p'], c: [1] } }, event: { a: [{ b: [{ x: 1 }, 'p'], c: 1 }] }, want: true },
    { name: 'dotted keys in the pattern are nested fields', pattern: { detail: { 'state.status': ['running'] } }, event: { detail: { state: { status: 'running' } } }, want: true },
    { name: 'dotted keys in the event are nested fields', pattern: { detail: { state: { status: ['running'] } } }, event: { detail: { 'state.status': 'running' } }, want: true },
    { name: 'a leaf pattern against an object', pattern: { detail: { state: ['running'] } }, event: { detail: { state: { status: 'running' } } }, want: false },
    { name: 'an object pattern against a leaf', pattern: { detail: { state: { status: ['running'] } } }, event: { detail: { state: 'running' } }, want: false },
    {
      name: 'deeply nested (DynamoDB stream record)',
      pattern: { dynamodb: { NewImage: { homemade: { N: ['1234'] } } } },
      event: { dynamodb: { NewImage: { homemade: { S: 'ABCD', N: '1234' } } } },
      want: true,
    },
  ]);
});

describe('prefix and suffix (eb-create-pattern-operators.html, "Prefix matching" / "Suffix matching")', () => {
  table([
    { name: 'the docs\' time prefix', pattern: { time: [{ prefix: '2017-10-02' }] }, event: { time: '2017-10-02T18:43:48Z' }, want: true },
    { name: 'another day', pattern: { time: [{ prefix: '2017-10-02' }] }, event: { time: '2017-10-03T18:43:48Z' }, want: false },
    { name: 'prefix is case-sensitive', pattern: { source: [{ prefix: 'AWS.' }] }, event: { source: 'aws.ec2' }, want: false },
    { name: 'an empty prefix matches any string', pattern: { source: [{ prefix: '' }] }, event: { source: 'x' }, want: true },
    { name: 'prefix only matches strings', pattern: { n: [{ prefix: '12' }] }, event: { n: 123 }, want: false },
    { name: 'prefix equals-ignore-case', pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, event: { detail: { service: 'eventbridge' } }, want: true },
    { name: 'prefix equals-ignore-case, other prefix', pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, event: { detail: { service: 'EVENTS' } }, want: false },
    { name: "the docs' .png suffix", pattern: { FileName: [{ suffix: '.png' }] }, event: { FileName: 'image.png' }, want: true },
    { name: 'suffix is case-sensitive', pattern: { FileName: [{ suffix: '.png' }] }, event: { FileName: 'image.PNG' }, want: false },
    { name: 'suffix equals-ignore-case', pattern: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] }, event: { FileName: 'image.PNG' }, want: true },
    { name: 'suffix equals-ignore-case, other suffix', pattern: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] }, event: { FileName: 'image.jpg' }, want: false },
    { name: 'an empty suffix matches any string', pattern: { source: [{ suffix: '' }] }, event: { source: 'x' }, want: true },
    { name: 'prefix on an array element', pattern: { resources: [{ prefix: 'arn:aws:batch:' }] }, event: { resources: ['x', 'arn:aws:batch:us-east-1:1:job/j'] }, want: true },
  ]);
});

describe('equals-ignore-case (eb-create-pattern-operators.html, "Equals-ignore-case matching")', () => {
  table([
    {
      name: "the docs' detail-type, any case",
      pattern: { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
      event: ec2Event,
      want: true,
    },
    { name: 'a different string', pattern: { 'detail-type': [{ 'equals-ignore-case': 'I do not match' }] }, event: ec2Event, want: false },
    { name: 'an empty string', pattern: { v: [{ 'equals-ignore-case': '' }] }, event: { v: '' }, want: true },
    { name: 'an empty string is not a prefix match', pattern: { v: [{ 'equals-ignore-case': '' }] }, event: { v: 'x' }, want: false },
    // Event Ruler: each pattern character stands for its lower or upper case (Locale.ROOT).
    { name: '"ß" also matches "SS"', pattern: { v: [{ 'equals-ignore-case': 'straße' }] }, event: { v: 'STRASSE' }, want: true },
    { name: 'a final sigma is not the lower case of Σ', pattern: { v: [{ 'equals-ignore-case': 'ΣΑΣ' }] }, event: { v: 'σας' }, want: false },
    { name: 'the Kelvin sign is not a K', pattern: { v: [{ 'equals-ignore-case': 'k' }] }, event: { v: '\u212a' }, want: false },
    { name: 'prefix ignoring case with a longer upper case', pattern: { v: [{ prefix: { 'equals-ignore-case': 'ß' } }] }, event: { v: 'SSx' }, want: true },
    { name: 'suffix ignoring case with a longer upper case', pattern: { v: [{ suffix: { 'equals-ignore-case': 'ß' } }] }, event: { v: 'xSS' }, want: true },
  ]);
});

describe('wildcard (eb-create-pattern-operators.html, "Wildcard matching")', () => {
  const w = (wildcard: string, value: unknown, want: boolean, name = `${JSON.stringify(wildcard)} ~ ${JSON.stringify(value)}`): Case => ({
    name,
    pattern: { v: [{ wildcard }] },
    event: { v: value },
    want,
  });
  table([
    w('*.png', 'dir/file.png', true),
    w('*.png', 'dir/file.png.bak', false),
    w('/Users/*/doc.txt', '/Users/ls_user/dir/dir/doc.txt', true),
    w('/Users/*/doc.txt', '/Users/ls_user/dir/notdoc.txt.x', false),
    w('arn:aws:events:us-east-1:*:event-bus/*', 'arn:aws:events:us-east-1:123456789012:event-bus/myEventBus', true),
    w('arn:aws:events:us-east-1:*:event-bus/*', 'arn:aws:events:eu-west-1:123456789012:event-bus/myEventBus', false),
    w('a*b*c', 'abc', true),
    w('a*b*c', 'aXbYbZc', true),
    w('a*b*c', 'acb', false),
    w('ab*ba', 'aba', false, 'prefix and suffix may not overlap'),
    w('*', '', true),
    w('', '', true),
    w('', 'x', false, 'an empty wildcard only matches the empty string'),
    w('\\*', '*', true, 'an escaped star is a literal star'),
    w('\\*', 'x', false, 'an escaped star is not a wildcard'),
    w('a\\\\b', 'a\\b', true, 'an escaped backslash is a backslash'),
    w('*.png', 5, false, 'wildcard only matches strings'),
  ]);
});

describe('anything-but (eb-create-pattern-operators.html, "Anything-but matching")', () => {
  const ab = (anything: unknown, value: unknown, want: boolean, name: string): Case => ({
    name,
    pattern: { detail: { state: [{ 'anything-but': anything }] } },
    event: value === undefined ? withDetail({}) : withDetail({ state: value }),
    want,
  });
  table([
    ab('initializing', 'pending', true, 'a string other than the one excluded'),
    ab('initializing', 'initializing', false, 'the excluded string'),
    ab('initializing', undefined, false, 'a missing field (anything-but needs a value)'),
    ab('initializing', null, true, 'null is not the excluded string'),
    ab('initializing', 5, true, 'a number is not the excluded string'),
    ab(123, 456, true, 'a number other than the one excluded'),
    ab(123, 123, false, 'the excluded number'),
    ab(123, 1.23e2, false, 'the excluded number, written otherwise'),
    ab(123, '123', true, 'a string is not the excluded number'),
    ab(0, 789, true, 'anything but zero'),
    ab(['stopped', 'overloaded'], 'running', true, 'a string outside the list'),
    ab(['stopped', 'overloaded'], 'stopped', false, 'a string in the list'),
    ab([100, 200, 300], 999, true, 'a number outside the list'),
    ab([100, 200, 300], 200, false, 'a number in the list'),
    ab({ prefix: 'init' }, 'post-init', true, 'prefix: another prefix'),
    ab({ prefix: 'init' }, 'initializing', false, 'prefix: the excluded prefix'),
    ab({ prefix: 'init' }, 12, true, 'prefix: a number'),
    ab({ prefix: ['init', 'post'] }, 'post-init', false, 'prefix list: one of the excluded prefixes'),
    ab({ prefix: ['init', 'test'] }, 'post-init', true, 'prefix list: none of them'),
    ab({ suffix: '.txt' }, 'file.txt.bak', true, 'suffix: another suffix'),
    ab({ suffix: '.txt' }, 'file.txt', false, 'suffix: the excluded suffix'),
    ab({ suffix: ['.txt', '.jpg'] }, 'file.jpg', false, 'suffix list: one of them'),
    ab({ 'equals-ignore-case': 'initializing' }, 'INITIALIZING', false, 'ignore case: the excluded string in capitals'),
    ab({ 'equals-ignore-case': 'initializing' }, 'pending', true, 'ignore case: another string'),
    ab({ 'equals-ignore-case': ['initializing', 'stopped'] }, 'Stopped', false, 'ignore case list: one of them'),
    ab({ wildcard: '*/lib/*' }, 'usr/lib/x.so', false, 'wildcard: a path through /lib/'),
    ab({ wildcard: '*/lib/*' }, 'usr/bin/x', true, 'wildcard: another path'),
    ab({ wildcard: ['*/init/*', '*/dir/*'] }, 'dir/init/dir', false, 'wildcard list: one of them'),
    ab({ wildcard: ['*/init/*', '*/dir/*'] }, 'dir/post/dir', true, 'wildcard list: none of them'),
    ab({ wildcard: '*/dir/*' }, 123, true, 'wildcard: a number'),
    ab('stopped', ['stopped', 'running'], true, 'an event array with a value not excluded'),
    ab('stopped', ['stopped'], false, 'an event array of only the excluded value'),
  ]);
});

describe('numeric (eb-create-pattern-operators.html, "Numeric matching")', () => {
  const docPattern = { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 3.018e2] }] } };
  const n = (numeric: unknown[], value: unknown, want: boolean): Case => ({
    name: `${JSON.stringify(numeric)} for ${JSON.stringify(value)}`,
    pattern: { v: [{ numeric }] },
    event: { v: value },
    want,
  });
  table([
    { name: "the docs' pattern, all fields in range", pattern: docPattern, event: withDetail({ 'c-count': 5, 'd-count': 9, 'x-limit': 301.8 }), want: true },
    { name: "the docs' pattern, c-count out of range", pattern: docPattern, event: withDetail({ 'c-count': 42, 'd-count': 9, 'x-limit': 301.8 }), want: false },
    { name: "the docs' pattern, one field missing", pattern: docPattern, event: withDetail({ 'c-count': 5, 'd-count': 9 }), want: false },
    n(['>', 0, '<=', 5], 0, false),
    n(['>', 0, '<=', 5], 0.000001, true),
    n(['>', 0, '<=', 5], 5, true),
    n(['>', 0, '<=', 5], 5.000001, false),
    n(['>=', 0, '<', 5], 0, true),
    n(['>=', 0, '<', 5], 5, false),
    n(['<', 10], -1e9, true),
    n(['<', 10], 10, false),
    n(['<=', 10], 10, true),
    n(['>', 100], 101.0, true),
    n(['>', 100], 100, false),
    n(['>=', -5e9], -5e9, true),
    n(['=', 301.8], 301.8, true),
    n(['=', 301.8], 301.80000001, false),
    n(['=', 0], -0, true),
    n(['>', 100], '300', false),
    n(['>', 100], null, false),
    n(['>', 100], true, false),
    n(['>', 100], [1, 200], true),
  ]);
});

describe('exists (eb-create-pattern-operators.html, "Exists matching")', () => {
  const docMatch = {
    version: '0',
    id: '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '123456789012',
    time: '2015-11-11T21:29:54Z',
    region: 'us-east-1',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
    detail: { 'instance-id': 'i-abcd1111', state: 'pending' },
  };
  const docNoMatch = { 'detail-type': ['EC2 Instance State-change Notification'], detail: { 'c-count': { c1: 100 } } };
  table([
    { name: "exists: true, the docs' event with detail.state", pattern: { detail: { state: [{ exists: true }] } }, event: docMatch, want: true },
    { name: "exists: true, the docs' event without it", pattern: { detail: { state: [{ exists: true }] } }, event: docNoMatch, want: false },
    { name: 'exists: false, field absent', pattern: { detail: { state: [{ exists: false }] } }, event: docNoMatch, want: true },
    { name: 'exists: false, field present', pattern: { detail: { state: [{ exists: false }] } }, event: docMatch, want: false },
    { name: 'exists: false, the whole parent absent', pattern: { detail: { state: [{ exists: false }] } }, event: { source: 'x' }, want: true },
    { name: 'exists only sees leaves: an object is not there', pattern: { detail: { 'c-count': [{ exists: true }] } }, event: docNoMatch, want: false },
    { name: 'exists: false on an intermediate node matches (README)', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: docNoMatch, want: true },
    { name: 'exists: true, null is a value', pattern: { v: [{ exists: true }] }, event: { v: null }, want: true },
    { name: 'exists: true, an empty array is no value', pattern: { resources: [{ exists: true }] }, event: { resources: [] }, want: false },
    { name: 'exists: false, an empty array is no value', pattern: { resources: [{ exists: false }] }, event: { resources: [] }, want: true },
    { name: 'exists: true in an array of objects', pattern: { detail: { automations: { id: [{ exists: true }] } } }, event: { detail: { automations: [{ k: 1 }, { id: 'x' }] } }, want: true },
    {
      name: 'anything-but or absent (a field may be missing)',
      pattern: { detail: { S: [{ 'anything-but': ['roses'] }, { exists: false }] } },
      event: { detail: { N: '789' } },
      want: true,
    },
    {
      name: 'anything-but or absent, the excluded value',
      pattern: { detail: { S: [{ 'anything-but': ['roses'] }, { exists: false }] } },
      event: { detail: { S: 'roses' } },
      want: false,
    },
  ]);
});

describe('cidr (eb-create-pattern-operators.html, "IP address matching")', () => {
  const c = (cidr: string, ip: unknown, want: boolean): Case => ({
    name: `${cidr} for ${JSON.stringify(ip)}`,
    pattern: { detail: { sourceIPAddress: [{ cidr }] } },
    event: { detail: { sourceIPAddress: ip } },
    want,
  });
  table([
    c('10.0.0.0/24', '10.0.0.0', true),
    c('10.0.0.0/24', '10.0.0.255', true),
    c('10.0.0.0/24', '10.0.1.0', false),
    c('10.0.0.0/24', '10.0.0.256', false),
    c('10.0.0.0/24', 'not an ip', false),
    c('10.0.0.0/24', 123, false),
    c('10.1.2.3/8', '10.200.0.1', true),
    c('0.0.0.0/0', '255.255.255.255', true),
    c('10.0.0.0/24', '::ffff:a00:1', false),
    c('2001:db8:1234:1a00::/64', '2001:0db8:1234:1a00:0000:0000:0000:0000', true),
    c('2001:db8:1234:1a00::/64', '2001:db8:1234:1a00:ffff:ffff:ffff:ffff', true),
    c('2001:db8:1234:1a00::/64', '2001:0db8:123f:1a01:0000:0000:0000:0000', false),
    c('2001:db8:1234:1a00::/64', '10.0.0.1', false),
    { name: 'an exact IP value matches the same address written otherwise', pattern: { ip: ['2001:db8::1'] }, event: { ip: '2001:0db8:0:0:0:0:0:1' }, want: true },
  ]);
});

describe('$or (eb-create-pattern-operators.html, "Or matching"; Event Ruler README)', () => {
  const docOr = { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }, { 'x-limit': [{ numeric: ['=', 3.018e2] }] }] } };
  const sourceAndOr = { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] };
  const parallel = {
    $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }],
    detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
  };
  const nested = {
    source: ['aws.cloudwatch'],
    $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }, { scope: ['Service'] }],
  };
  table([
    { name: "the docs' example, only x-limit matches", pattern: docOr, event: withDetail({ 'c-count': 0, 'd-count': 10, 'x-limit': 301.8 }), want: true },
    { name: "the docs' example, only d-count matches", pattern: docOr, event: withDetail({ 'c-count': 0, 'd-count': 0, 'x-limit': 901.8 }), want: true },
    { name: "the docs' example, none matches", pattern: docOr, event: withDetail({ 'c-count': 0, 'd-count': 10, 'x-limit': 901.8 }), want: false },
    { name: 'source AND (metricName OR namespace): metricName', pattern: sourceAndOr, event: { source: 'aws.cloudwatch', metricName: 'ReadLatency' }, want: true },
    { name: 'source AND (metricName OR namespace): namespace', pattern: sourceAndOr, event: { source: 'aws.cloudwatch', namespace: 'AWS/ES' }, want: true },
    { name: 'source AND (metricName OR namespace): wrong source', pattern: sourceAndOr, event: { source: 'aws.ec2', namespace: 'AWS/ES' }, want: false },
    { name: 'source AND (metricName OR namespace): neither', pattern: sourceAndOr, event: { source: 'aws.cloudwatch', namespace: 'AWS/S3' }, want: false },
    { name: 'parallel $or: one of each', pattern: parallel, event: { namespace: 'AWS/EC2', detail: { 'detail-type': 'CloudWatch Alarm State Change' } }, want: true },
    { name: 'parallel $or: the second unmet', pattern: parallel, event: { namespace: 'AWS/EC2', detail: { source: 'x' } }, want: false },
    { name: 'nested $or: inner AND with inner OR', pattern: nested, event: { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000 }, want: true },
    { name: 'nested $or: inner OR unmet', pattern: nested, event: { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1 }, want: false },
    { name: 'nested $or: a plain branch', pattern: nested, event: { source: 'aws.cloudwatch', scope: 'Service' }, want: true },
    {
      name: 'several matchers of one field are an OR too',
      pattern: { my_key: [{ exists: true }, { prefix: 'IGNORED' }, { suffix: 'IGNORED' }] },
      event: { my_key: 'my-value' },
      want: true,
    },
    {
      name: 'numeric OR anything-but on one field',
      pattern: { N: [{ numeric: ['>', 100] }, { 'anything-but': '101' }] },
      event: { N: '101' },
      want: false,
    },
  ]);
  test('a key given twice: the last one counts (content filtering docs, "Complex example")', () => {
    const p = '{"detail":{"location":[{"prefix":"us-"}],"location":[{"anything-but":"us-east"}]}}';
    assert.equal(matches(p, { detail: { location: 'eu-west' } }), true);
    assert.equal(matches(p, { detail: { location: 'us-east' } }), false);
  });
});

describe('events that are not objects', () => {
  for (const event of [null, 'plain string', 42, ['a'], undefined]) {
    test(`${JSON.stringify(event)} only matches absence`, () => {
      assert.equal(matches({ source: ['a'] }, event), false);
      assert.equal(matches({ source: [{ exists: false }] }, event), true);
    });
  }
});

describe('deep nesting', () => {
  test('an event nested 100,000 arrays deep is matched without exhausting the stack', () => {
    const depth = 100_000;
    const event = JSON.parse(`{"a":${'['.repeat(depth)}{"b":"x"}${']'.repeat(depth)}}`);
    assert.equal(matches({ a: { b: ['x'] } }, event), true);
    assert.equal(matches({ a: { b: ['y'] } }, event), false);
  });

  test('a pattern nested too deeply to walk is invalid, not a crash', () => {
    const depth = 20_000;
    assert.throws(() => parseEventPattern(`${'{"a":'.repeat(depth)}["x"]${'}'.repeat(depth)}`), InvalidEventPatternError);
  });
});

describe('invalid patterns: InvalidEventPatternException with the reason and the field', () => {
  const cases: { pattern: string; reason: string; path?: string }[] = [
    { pattern: '["not", "an", "object"]', reason: 'Filter is not an object' },
    { pattern: '"source"', reason: 'Filter is not an object' },
    { pattern: '{}', reason: 'Empty objects are not allowed' },
    { pattern: '{"source": "aws.batch"}', reason: '"source" must be an object or an array', path: 'source' },
    { pattern: '{"detail": {"n": 42}}', reason: '"n" must be an object or an array', path: 'detail.n' },
    { pattern: '{"detail": {}}', reason: 'Empty objects are not allowed', path: 'detail' },
    { pattern: '{"resources": []}', reason: 'Empty arrays are not allowed', path: 'resources' },
    { pattern: '{"a": [["x"]]}', reason: 'Match value must be String, number, true, false, or null', path: 'a' },
    { pattern: '{"a": [{}]}', reason: 'Match expression name not found', path: 'a' },
    { pattern: '{"a": [{"regex": "x"}]}', reason: 'Unrecognized match type regex', path: 'a.regex' },
    { pattern: '{"a": [{"EXISTS": true}]}', reason: 'Unrecognized match type EXISTS', path: 'a.EXISTS' },
    { pattern: '{"a": [{"prefix": "x", "suffix": "y"}]}', reason: 'Only one key allowed in match expression', path: 'a.prefix' },
    { pattern: '{"time": [{"prefix": 123}]}', reason: 'prefix match pattern must be a string', path: 'time.prefix' },
    { pattern: '{"time": [{"prefix": ["2022"]}]}', reason: 'prefix match pattern must be a string', path: 'time.prefix' },
    { pattern: '{"f": [{"suffix": 123}]}', reason: 'suffix match pattern must be a string', path: 'f.suffix' },
    { pattern: '{"f": [{"prefix": {"wildcard": "x"}}]}', reason: 'Unsupported prefix pattern: wildcard', path: 'f.prefix' },
    { pattern: '{"f": [{"suffix": {"equals-ignore-case": 5}}]}', reason: 'equals-ignore-case match pattern must be a string', path: 'f.suffix.equals-ignore-case' },
    { pattern: '{"f": [{"equals-ignore-case": ["x"]}]}', reason: 'equals-ignore-case match pattern must be a string', path: 'f.equals-ignore-case' },
    { pattern: '{"f": [{"equals-ignore-case": {"prefix": "ec2"}}]}', reason: 'equals-ignore-case match pattern must be a string', path: 'f.equals-ignore-case' },
    { pattern: '{"f": [{"wildcard": 123}]}', reason: 'wildcard match pattern must be a string', path: 'f.wildcard' },
    { pattern: '{"f": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}', reason: 'Consecutive wildcard characters at pos 26', path: 'f.wildcard' },
    { pattern: '{"f": [{"wildcard": "a\\\\b"}]}', reason: 'Invalid escape character at pos 2', path: 'f.wildcard' },
    { pattern: '{"f": [{"exists": "true"}]}', reason: 'exists match pattern must be either true or false.', path: 'f.exists' },
    { pattern: '{"f": [{"exists": true, "prefix": "a"}]}', reason: 'Only one key allowed in match expression', path: 'f.exists' },
    { pattern: '{"c": [{"numeric": 10}]}', reason: 'Value of numeric must be an array.', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": []}]}', reason: 'Invalid member in numeric match: ]', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": [5, ">"]}]}', reason: 'Invalid member in numeric match: 5', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": ["!=", 5]}]}', reason: 'Unrecognized numeric range operator: !=', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": [">", "5"]}]}', reason: 'Value of > must be numeric', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": ["=", "5"]}]}', reason: 'Value of equals must be numeric', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": [">", 0, ">", 0]}]}', reason: 'Bad numeric range operator: >', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": [">", 0, 5]}]}', reason: 'Bad value in numeric range: 5', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": [">", 0, "<"]}]}', reason: 'Value of < must be numeric', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": [">", 0, "<", 5, "<", 6]}]}', reason: 'Too many terms in numeric range expression', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": ["<", 5, ">", 0]}]}', reason: 'Too many elements in numeric expression', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": ["=", 5, "<", 6]}]}', reason: 'Too many elements in numeric expression', path: 'c.numeric' },
    { pattern: '{"c": [{"numeric": [">", 5, "<", 5]}]}', reason: 'Bottom must be less than top', path: 'c.numeric' },
    { pattern: '{"c": [{"NUMERIC": ["=", 5]}]}', reason: 'Unrecognized match type NUMERIC', path: 'c.NUMERIC' },
    { pattern: '{"s": [{"anything-but": null}]}', reason: 'Value of anything-but must be an array or single string/number value.', path: 's.anything-but' },
    { pattern: '{"s": [{"anything-but": true}]}', reason: 'Value of anything-but must be an array or single string/number value.', path: 's.anything-but' },
    { pattern: '{"s": [{"anything-but": ["stopped", null]}]}', reason: 'Inside anything but list, start|null|boolean is not supported.', path: 's.anything-but' },
    { pattern: '{"s": [{"anything-but": ["stopped", 5]}]}', reason: 'Inside anything but list, either all values are number or string, mixed type is not supported', path: 's.anything-but' },
    { pattern: '{"s": [{"anything-but": []}]}', reason: 'Inside anything but list, either all values are number or string, mixed type is not supported', path: 's.anything-but' },
    { pattern: '{"s": [{"anything-but": {}}]}', reason: 'Anything-But expression name not found', path: 's.anything-but' },
    { pattern: '{"s": [{"anything-but": {"numeric": [">", 1]}}]}', reason: 'Unsupported anything-but pattern: numeric', path: 's.anything-but' },
    { pattern: '{"s": [{"anything-but": {"prefix": ""}}]}', reason: 'Null prefix/suffix not allowed', path: 's.anything-but.prefix' },
    { pattern: '{"s": [{"anything-but": {"suffix": ["a", ""]}}]}', reason: 'Null prefix/suffix not allowed', path: 's.anything-but.suffix' },
    { pattern: '{"s": [{"anything-but": {"prefix": 123}}]}', reason: 'prefix/suffix match pattern must be a string', path: 's.anything-but.prefix' },
    { pattern: '{"s": [{"anything-but": {"suffix": [null, ".txt"]}}]}', reason: 'prefix/suffix match pattern must be a string', path: 's.anything-but.suffix' },
    { pattern: '{"s": [{"anything-but": {"prefix": {"equals-ignore-case": "x"}}}]}', reason: 'Value of anything-but must be an array or single string/number value.', path: 's.anything-but.prefix' },
    { pattern: '{"s": [{"anything-but": {"equals-ignore-case": 123}}]}', reason: 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.', path: 's.anything-but.equals-ignore-case' },
    { pattern: '{"s": [{"anything-but": {"wildcard": [123, "*/dir/*"]}}]}', reason: 'wildcard match pattern must be a string', path: 's.anything-but.wildcard' },
    { pattern: '{"s": [{"anything-but": {"wildcard": "a**"}}]}', reason: 'Consecutive wildcard characters at pos 2', path: 's.anything-but.wildcard' },
    { pattern: '{"s": [{"anything-but": "x", "prefix": "y"}]}', reason: 'Too many elements in numeric expression', path: 's.anything-but' },
    { pattern: '{"ip": [{"cidr": ["10.0.0.0/8"]}]}', reason: 'prefix match pattern must be a string', path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "bad-filter"}]}', reason: "Malformed CIDR, one '/' required", path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "10.0.0.0/"}]}', reason: "Malformed CIDR, one '/' required", path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "bad-/64filter"}]}', reason: 'Malformed CIDR, mask bits must be an integer', path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "10.0.0.0/-1"}]}', reason: 'Malformed CIDR, mask bits must not be negative', path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "xx.11.xx/8"}]}', reason: 'Nonstandard IP address: xx.11.xx', path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "10.0.0.256/8"}]}', reason: 'Invalid IP address: 10.0.0.256', path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}', reason: 'Nonstandard IP address: xxxx:db8:1234:1a00::', path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "1::2::3/64"}]}', reason: 'Invalid IP address: 1::2::3', path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "10.0.0.0/32"}]}', reason: 'IPv4 mask bits must be < 32', path: 'ip.cidr' },
    { pattern: '{"ip": [{"cidr": "::/128"}]}', reason: 'IPv6 mask bits must be < 128', path: 'ip.cidr' },
    { pattern: '{"$or": {"a": ["x"]}}', reason: 'It must be an Array followed with $or.', path: '$or' },
    { pattern: '{"$or": [{"a": ["x"]}]}', reason: 'There must have at least 2 Objects in $or relationship.', path: '$or' },
    { pattern: '{"$or": [{"a": ["x"]}, "b"]}', reason: 'Only JSON object is allowed in array of $or relationship.', path: '$or.[1]' },
    { pattern: '{"$or": [{"a": ["x"]}, {}]}', reason: 'Empty objects are not allowed' },
    { pattern: '{"$or": [{"numeric": [123]}, {"prefix": ["abc"]}]}', reason: 'numeric is Ruler reserved fieldName which cannot be used inside $or.', path: 'numeric' },
    { pattern: '{"d": {"$or": [{"a": ["x"]}, {"b": {"exists": [true]}}]}}', reason: 'exists is Ruler reserved fieldName which cannot be used inside $or.', path: 'd.b.exists' },
  ];
  for (const c of cases) {
    test(`${c.pattern} → ${c.reason}`, () => {
      assert.throws(
        () => parseEventPattern(c.pattern),
        (e: unknown) => {
          assert.ok(e instanceof InvalidEventPatternError);
          assert.equal(e.reason, c.reason);
          assert.equal(e.name, 'InvalidEventPatternException');
          assert.ok(e.message.startsWith(`Event pattern is not valid. Reason: ${c.reason}`), e.message);
          if (c.path !== undefined) {
            assert.equal(e.path, c.path);
            assert.ok(e.message.includes(c.path), `the message names the field: ${e.message}`);
          }
          return true;
        },
      );
    });
  }

  test('not JSON: the parser says where', () => {
    assert.throws(() => parseEventPattern("{'bad': 'quotation'}"), (e: unknown) => e instanceof InvalidEventPatternError && /JSON/.test(e.reason));
    assert.throws(() => parseEventPattern(''), InvalidEventPatternError);
  });

  test('$or producing more than 1000 combinations is refused; 1000 is fine', () => {
    const or = (n: number, name: string) => Array.from({ length: n }, (_, i) => ({ [name]: [String(i)] }));
    assert.doesNotThrow(() => parseEventPattern(JSON.stringify({ a: { $or: or(10, 'x') }, b: { $or: or(10, 'y') }, c: { $or: or(10, 'z') } })));
    assert.throws(
      () => parseEventPattern(JSON.stringify({ a: { $or: or(10, 'x') }, b: { $or: or(10, 'y') }, c: { $or: or(11, 'z') } })),
      (e: unknown) => e instanceof InvalidEventPatternError && /1000/.test(e.reason),
    );
  });
});

describe('properties', () => {
  // JSON values without "." or "$or" in keys (a dot would make two keys one path).
  const key = fc.stringMatching(/^[a-z][a-z0-9_-]{0,6}$/);
  const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
  const { value: eventValue } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(leaf, { maxLength: 3 }), fc.dictionary(key, tie('value'), { maxKeys: 4 })),
  }));
  const event = fc.dictionary(key, eventValue, { minKeys: 1, maxKeys: 5 });

  /** A pattern naming some leaves of `v` with one of their own values (undefined: none to name). */
  function patternFrom(v: Record<string, unknown>, pick: (n: number) => number): Record<string, unknown> | undefined {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (Array.isArray(x)) {
        if (x.length > 0) out[k] = [x[pick(x.length)]];
      } else if (x !== null && typeof x === 'object') {
        const sub = patternFrom(x as Record<string, unknown>, pick);
        if (sub) out[k] = sub;
      } else {
        out[k] = [x];
      }
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  test("a pattern built from an event's own leaf values matches that event", () => {
    fc.assert(
      fc.property(event, fc.infiniteStream(fc.nat()), (e, picks) => {
        const it = picks[Symbol.iterator]();
        const pattern = patternFrom(e, (n) => (it.next().value as number) % n);
        fc.pre(pattern !== undefined);
        const roundTripped = JSON.parse(JSON.stringify(e)); // the event as EventBridge would see it
        assert.equal(matches(pattern, roundTripped), true, JSON.stringify({ pattern, e }));
      }),
      { numRuns: 300 },
    );
  });

  test('anything-but a value never matches that value, and matches any other value', () => {
    const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer({ min: -1000, max: 1000 }), fc.double({ noNaN: true, noDefaultInfinity: true }));
    fc.assert(
      fc.property(scalar, scalar, (excluded, other) => {
        const pattern = { f: [{ 'anything-but': excluded }] };
        assert.equal(matches(pattern, { f: excluded }), false);
        assert.equal(matches(pattern, { f: other }), other !== excluded, JSON.stringify({ excluded, other }));
      }),
      { numRuns: 300 },
    );
  });

  test('a PreparedEvent matches exactly as the event it was made from', () => {
    fc.assert(
      fc.property(event, event, fc.infiniteStream(fc.nat()), (e, other, picks) => {
        const it = picks[Symbol.iterator]();
        const pattern = patternFrom(e, (n) => (it.next().value as number) % n);
        fc.pre(pattern !== undefined);
        const compiled = parseEventPattern(JSON.stringify(pattern));
        for (const x of [e, other]) assert.equal(matchesEventPattern(compiled, new PreparedEvent(x)), matchesEventPattern(compiled, x));
      }),
      { numRuns: 200 },
    );
  });

  test('a wildcard of an escaped literal matches exactly that string', () => {
    const s = fc.string({ maxLength: 10, unit: fc.constantFrom('a', 'b', '*', '\\', '/', 'é') });
    fc.assert(
      fc.property(s, s, (literal, other) => {
        const wildcard = literal.replace(/[\\*]/g, (c) => `\\${c}`);
        const pattern = { f: [{ wildcard }] };
        assert.equal(matches(pattern, { f: literal }), true);
        assert.equal(matches(pattern, { f: other }), other === literal);
      }),
      { numRuns: 300 },
    );
  });

  test('a wildcard matches what its literal parts and stars spell', () => {
    const part = fc.string({ maxLength: 4, unit: fc.constantFrom('a', 'b', '.') });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), fc.array(part, { minLength: 4, maxLength: 4 }), (parts, fillers) => {
        fc.pre(parts.slice(1, -1).every((p) => p !== '') || parts.length <= 2); // no "**"
        const value = parts.map((p, i) => (i === 0 ? p : fillers[i - 1] + p)).join('');
        assert.equal(matches({ f: [{ wildcard: parts.join('*') }] }, { f: value }), true, JSON.stringify({ parts, value }));
      }),
      { numRuns: 300 },
    );
  });

  test('numeric [">", a, "<=", b] matches exactly the numbers in (a, b]', () => {
    const num = fc.double({ noNaN: true, noDefaultInfinity: true, min: -5e9, max: 5e9 });
    fc.assert(
      fc.property(num, num, num, (x, y, v) => {
        fc.pre(x !== y);
        const [a, b] = x < y ? [x, y] : [y, x];
        assert.equal(matches({ f: [{ numeric: ['>', a, '<=', b] }] }, { f: v }), a < v && v <= b);
      }),
      { numRuns: 300 },
    );
  });

  test('an IPv4 cidr matches exactly the addresses that share its first bits', () => {
    const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    const toInt = (o: number[]) => ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
    fc.assert(
      fc.property(octets, fc.integer({ min: 0, max: 31 }), octets, (base, bits, ip) => {
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        const inside = ((toInt(base) & mask) >>> 0) === ((toInt(ip) & mask) >>> 0);
        assert.equal(matches({ f: [{ cidr: `${base.join('.')}/${bits}` }] }, { f: ip.join('.') }), inside);
      }),
      { numRuns: 300 },
    );
  });

  test('parsing never throws anything but InvalidEventPatternError', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (json) => {
        try {
          matchesEventPattern(parseEventPattern(json), { a: 1 });
        } catch (e) {
          assert.ok(e instanceof InvalidEventPatternError, String(e));
        }
      }),
      { numRuns: 500 },
    );
  });
});
