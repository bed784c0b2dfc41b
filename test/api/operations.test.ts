// The Batch API routing table derived from the vendored model.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  OPERATIONS,
  TAGS_PATH_PREFIX,
  operationForPath,
  routeForOperation,
  routeForPath,
} from '../../src/api/batch/operations.js';

const V2_OPERATIONS = [
  'CancelJob',
  'CreateComputeEnvironment',
  'CreateJobQueue',
  'CreateSchedulingPolicy',
  'DeleteComputeEnvironment',
  'DeleteJobQueue',
  'DeleteSchedulingPolicy',
  'DeregisterJobDefinition',
  'DescribeComputeEnvironments',
  'DescribeJobDefinitions',
  'DescribeJobQueues',
  'DescribeJobs',
  'DescribeSchedulingPolicies',
  'GetJobQueueSnapshot',
  'ListJobs',
  'ListSchedulingPolicies',
  'ListTagsForResource',
  'RegisterJobDefinition',
  'SubmitJob',
  'TagResource',
  'TerminateJob',
  'UntagResource',
  'UpdateComputeEnvironment',
  'UpdateJobQueue',
  'UpdateSchedulingPolicy',
];

const TAG_OPERATIONS = new Set(['ListTagsForResource', 'TagResource', 'UntagResource']);

test('the model has the 25 v2 operations', () => {
  assert.deepEqual(OPERATIONS.map((r) => r.operation).sort(), [...V2_OPERATIONS].sort());
});

test('every non-tag operation is POST /v1/<lowercased name> and is found by operationForPath', () => {
  for (const name of V2_OPERATIONS.filter((n) => !TAG_OPERATIONS.has(n))) {
    const route = routeForOperation(name);
    assert.ok(route, name);
    assert.equal(route.method, 'POST', name);
    assert.equal(route.requestUri, `/v1/${name.toLowerCase()}`, name);
    assert.equal(operationForPath('POST', route.requestUri), name);
    assert.equal(operationForPath('post', route.requestUri), name);
    assert.equal(operationForPath('POST', `${route.requestUri}/`), name);
    assert.equal(operationForPath('GET', route.requestUri), undefined);
    assert.equal(routeForPath(route.requestUri)?.operation, name);
  }
});

test('the tag operations', () => {
  assert.deepEqual(
    [...TAG_OPERATIONS].map((n) => {
      const r = routeForOperation(n)!;
      return [n, r.method, r.requestUri, r.uriParams, r.queryParams];
    }),
    [
      ['ListTagsForResource', 'GET', '/v1/tags/{resourceArn}', [{ member: 'resourceArn', name: 'resourceArn', list: false }], []],
      ['TagResource', 'POST', '/v1/tags/{resourceArn}', [{ member: 'resourceArn', name: 'resourceArn', list: false }], []],
      [
        'UntagResource',
        'DELETE',
        '/v1/tags/{resourceArn}',
        [{ member: 'resourceArn', name: 'resourceArn', list: false }],
        [{ member: 'tagKeys', name: 'tagKeys', list: true }],
      ],
    ],
  );
  assert.equal(TAGS_PATH_PREFIX, '/v1/tags/');
});

test('tag paths and unknown paths are not matched', () => {
  const arn = encodeURIComponent('arn:aws:batch:us-east-1:123456789012:job-queue/q1');
  assert.equal(operationForPath('GET', `/v1/tags/${arn}`), undefined);
  assert.equal(operationForPath('POST', '/v1/tags/{resourceArn}'), undefined);
  assert.equal(operationForPath('POST', '/v1/submitjobs'), undefined);
  assert.equal(operationForPath('POST', '/v1/SubmitJob'), undefined);
  assert.equal(operationForPath('POST', '/'), undefined);
  assert.equal(routeForPath('/v1/nothing'), undefined);
  assert.equal(routeForOperation('CancelJobs'), undefined);
});
