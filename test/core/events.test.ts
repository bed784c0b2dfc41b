// The pure side of events: which job statuses a rule can match (what the store's trigger
// captures), the Batch event's shape, retry delays, target Arns, and routing an event to targets.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRules, routeEvent, targetInput } from '../../src/core/event-routing.js';
import {
  capturedJobStatuses,
  eventTime,
  jobStateChangeEvent,
  retryDelayMs,
  targetDestination,
  unionCaptured,
  type EventRule,
  type RuleTarget,
} from '../../src/core/events.js';

test('capturedJobStatuses: only what a pattern can match, conservatively', () => {
  const cases: [string | undefined, readonly string[] | 'all'][] = [
    [JSON.stringify({ source: ['aws.batch'], 'detail-type': ['Batch Job State Change'], detail: { status: ['FAILED'] } }), ['FAILED']],
    [JSON.stringify({ detail: { status: ['SUCCEEDED', 'FAILED', 'NOT_A_STATUS'] } }), ['SUCCEEDED', 'FAILED']],
    [JSON.stringify({ source: ['aws.batch'] }), 'all'],
    [JSON.stringify({ source: ['com.example'] }), []],
    [JSON.stringify({ 'detail-type': ['Batch Job Queue Blocked'] }), []],
    [JSON.stringify({ source: [{ prefix: 'aws.' }], detail: { status: ['FAILED'] } }), ['FAILED']],
    [JSON.stringify({ detail: { status: [{ 'anything-but': 'SUCCEEDED' }] } }), 'all'],
    [JSON.stringify({ detail: { status: ['FAILED', { prefix: 'S' }] } }), 'all'],
    [JSON.stringify({ $or: [{ detail: { status: ['FAILED'] } }, { detail: { jobName: ['x'] } }] }), 'all'],
    [JSON.stringify({ detail: { status: ['FAILED'], $or: [{ jobName: ['a'] }, { jobQueue: ['b'] }] } }), ['FAILED']],
    [JSON.stringify({ detail: { status: [] } }), []],
    ['not json', 'all'],
    [undefined, []],
  ];
  for (const [pattern, want] of cases) assert.deepEqual(capturedJobStatuses(pattern), want, String(pattern));
  assert.deepEqual(unionCaptured([['FAILED'], ['SUCCEEDED', 'FAILED'], []]), ['SUCCEEDED', 'FAILED']);
  assert.equal(unionCaptured([['FAILED'], 'all']), 'all');
  assert.deepEqual(unionCaptured([]), []);
});

test('the Batch Job State Change event: AWS shape, time in whole seconds', () => {
  const e = jobStateChangeEvent({ id: 'e1', account: '123456789012', region: 'eu-west-1', time: Date.UTC(2024, 0, 2, 3, 4, 5, 678), jobArn: 'arn:aws:batch:eu-west-1:123456789012:job/j', detail: { jobId: 'j' } });
  assert.deepEqual(e, {
    version: '0',
    id: 'e1',
    'detail-type': 'Batch Job State Change',
    source: 'aws.batch',
    account: '123456789012',
    time: '2024-01-02T03:04:05Z',
    region: 'eu-west-1',
    resources: ['arn:aws:batch:eu-west-1:123456789012:job/j'],
    detail: { jobId: 'j' },
  });
  assert.equal(eventTime(0), '1970-01-01T00:00:00Z');
});

test('retryDelayMs: exponential from the base, capped, jittered within ±20 %', () => {
  const o = { baseMs: 1000, maxMs: 60_000 };
  assert.equal(retryDelayMs(1, o, 0.5), 1000);
  assert.equal(retryDelayMs(2, o, 0.5), 2000);
  assert.equal(retryDelayMs(5, o, 0.5), 16_000);
  assert.equal(retryDelayMs(50, o, 0.5), 60_000);
  assert.equal(retryDelayMs(1000, o, 0.5), 60_000);
  assert.equal(retryDelayMs(1, o, 0), 800);
  assert.equal(retryDelayMs(1, o, 0.9999), 1200);
});

test('targetDestination: webhooks by URL, SNS topics by ARN, nothing else', () => {
  assert.deepEqual(targetDestination('https://hooks.example.com/x?y=1'), { kind: 'http', url: 'https://hooks.example.com/x?y=1' });
  assert.deepEqual(targetDestination('http://127.0.0.1:8080/hook'), { kind: 'http', url: 'http://127.0.0.1:8080/hook' });
  assert.deepEqual(targetDestination('arn:aws:sns:us-east-1:123456789012:batch-alerts'), {
    kind: 'sns',
    topicArn: 'arn:aws:sns:us-east-1:123456789012:batch-alerts',
    topicName: 'batch-alerts',
  });
  for (const bad of ['arn:aws:lambda:us-east-1:123456789012:function:f', 'arn:aws:sns:us-east-1:12:t', 'ftp://x/', 'http://', 'file:///etc/passwd', '/bin/sh']) {
    assert.equal(targetDestination(bad), undefined, bad);
  }
});

const rule = (name: string, pattern: object, state: EventRule['state'] = 'ENABLED'): EventRule => ({
  name,
  arn: `arn:aws:events:us-east-1:000000000000:rule/${name}`,
  state,
  eventPattern: JSON.stringify(pattern),
  createdAt: 0,
});

test('routing: matching ENABLED rules with targets, one delivery per endpoint, each with its body and retry limits', () => {
  const rules = [
    rule('failed', { source: ['aws.batch'], detail: { status: ['FAILED'] } }),
    rule('all', { source: ['aws.batch'] }),
    rule('off', { source: ['aws.batch'] }, 'DISABLED'),
    rule('no-targets', { source: ['aws.batch'] }),
    { ...rule('broken', {}), eventPattern: '{"source":"not a list"}' },
  ];
  const targets: RuleTarget[] = [
    { ruleName: 'failed', target: { Id: 'hook', Arn: 'http://127.0.0.1:1/a', RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 } } },
    {
      ruleName: 'failed',
      target: {
        Id: 'sns',
        Arn: 'arn:aws:sns:us-east-1:123456789012:alerts',
        InputTransformer: { InputPathsMap: { id: '$.detail.jobId', reason: '$.detail.statusReason' }, InputTemplate: '"job <id>: <reason>"' },
      },
    },
    { ruleName: 'all', target: { Id: 'fixed', Arn: 'http://127.0.0.1:1/b', Input: '{"x":1}' } },
    { ruleName: 'all', target: { Id: 'path', Arn: 'http://127.0.0.1:1/c', InputPath: '$.detail' } },
    { ruleName: 'off', target: { Id: 'x', Arn: 'http://127.0.0.1:1/off' } },
    { ruleName: 'broken', target: { Id: 'x', Arn: 'http://127.0.0.1:1/broken' } },
  ];
  const invalid: string[] = [];
  const compiled = compileRules(rules, targets, (r) => invalid.push(r.name));
  assert.deepEqual(compiled.map((c) => c.rule.name), ['failed', 'all']);
  assert.deepEqual(invalid, ['broken']);

  const topics = (arn: string) =>
    arn.endsWith(':alerts')
      ? [
          { kind: 'http' as const, url: 'http://127.0.0.1:1/topic' },
          { kind: 'command' as const, topicArn: arn, command: ['cat'] },
        ]
      : [];
  const event = jobStateChangeEvent({ id: 'e', account: 'a', region: 'r', time: 1000, jobArn: 'arn:j', detail: { jobId: 'j1', status: 'FAILED', statusReason: 'Essential container in task exited' } });
  const d = routeEvent(event, 1000, compiled, topics, 5000);
  assert.deepEqual(
    d.map((x) => [x.ruleName, x.targetId, x.endpoint.kind, x.body, x.maxRetries, x.maxAgeMs, x.nextAttemptAt, x.eventTime]),
    [
      ['failed', 'hook', 'http', JSON.stringify(event), 2, 60_000, 5000, 1000],
      ['failed', 'sns', 'http', '"job j1: Essential container in task exited"', 185, 86_400_000, 5000, 1000],
      ['failed', 'sns', 'command', '"job j1: Essential container in task exited"', 185, 86_400_000, 5000, 1000],
      ['all', 'fixed', 'http', '{"x":1}', 185, 86_400_000, 5000, 1000],
      ['all', 'path', 'http', JSON.stringify(event.detail), 185, 86_400_000, 5000, 1000],
    ],
  );
  const running = { ...event, detail: { ...event.detail, status: 'RUNNING' } };
  assert.deepEqual(routeEvent(running, 1000, compiled, topics, 5000).map((x) => x.targetId), ['fixed', 'path']);
  // A topic nobody configured delivers nothing.
  assert.deepEqual(routeEvent(event, 1000, compiled, () => [], 5000).map((x) => x.targetId), ['hook', 'fixed', 'path']);
  assert.equal(targetInput({ Id: 'p', Arn: 'x', InputPath: '$.nope' }, event, rules[0]), 'null');
});
