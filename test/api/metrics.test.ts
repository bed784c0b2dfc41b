// Request metrics of the whole app (buildApp with inject): awsJson APIs on POST / labelled by
// their SigV4 name and operation (unknown ones as "unknown"), outcomes and error codes (a
// handler's own code, a 500 as server_error), OpenBatch's own routes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { awsJsonError, type AwsJsonService } from '../../src/api/aws-json.js';
import { buildApp } from '../../src/api/http.js';
import type { ApiMetrics, ApiRequestObservation } from '../../src/api/metrics.js';
import { Arns } from '../../src/core/arn.js';
import type { BatchService } from '../../src/service/index.js';

function setup() {
  const seen: ApiRequestObservation[] = [];
  const metrics: ApiMetrics = {
    observeRequest: (r) => seen.push(r),
    render: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'openbatch_x 1\n' }),
  };
  const logs: AwsJsonService = {
    targetPrefix: 'Logs_20140328',
    signingName: 'logs',
    jsonVersion: '1.1',
    validationErrorCode: 'InvalidParameterException',
    handlers: {
      async DescribeLogGroups() {
        return { logGroups: [] };
      },
      async GetLogEvents() {
        throw awsJsonError('ResourceNotFoundException', 'The specified log group does not exist.');
      },
      async PutLogEvents() {
        throw new Error('a bug');
      },
    },
  };
  const app = buildApp({
    service: {} as BatchService,
    arns: new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' }),
    dataDir: '/nonexistent',
    log: pino({ level: 'silent' }),
    awsJsonServices: [logs],
    metrics,
  });
  return { app, seen };
}

const target = (t: string) => ({ method: 'POST' as const, url: '/', headers: { 'x-amz-target': t, 'content-type': 'application/x-amz-json-1.1' }, payload: '{}' });

test('awsJson requests are counted by API, operation, outcome and error code', async () => {
  const { app, seen } = setup();
  assert.equal((await app.inject(target('Logs_20140328.DescribeLogGroups'))).statusCode, 200);
  assert.equal((await app.inject(target('Logs_20140328.GetLogEvents'))).statusCode, 400);
  assert.equal((await app.inject(target('Logs_20140328.PutLogEvents'))).statusCode, 500);
  assert.equal((await app.inject(target('Logs_20140328.NoSuchOperation'))).statusCode, 400);
  assert.equal((await app.inject(target('NoSuchApi_1.Anything'))).statusCode, 400);
  const labels = seen.map(({ api, operation, outcome, errorCode }) => ({ api, operation, outcome, errorCode }));
  assert.deepEqual(labels, [
    { api: 'logs', operation: 'DescribeLogGroups', outcome: 'success', errorCode: '' },
    { api: 'logs', operation: 'GetLogEvents', outcome: 'client_error', errorCode: 'ResourceNotFoundException' },
    { api: 'logs', operation: 'PutLogEvents', outcome: 'server_error', errorCode: 'ServerException' },
    { api: 'logs', operation: 'unknown', outcome: 'client_error', errorCode: 'UnknownOperationException' },
    { api: 'unknown', operation: 'unknown', outcome: 'client_error', errorCode: 'UnknownOperationException' },
  ]);
  for (const s of seen) assert.ok(s.seconds >= 0 && s.seconds < 10, `latency ${s.seconds}`);
});

test("Batch tag routes, OpenBatch's own routes and stray paths", async () => {
  const { app, seen } = setup();
  await app.inject({ method: 'GET', url: '/health' });
  await app.inject({ method: 'GET', url: '/metrics' });
  await app.inject({ method: 'PUT', url: '/v1/tags/arn%3Aaws%3Abatch%3Aus-east-1%3A000000000000%3Ajob-queue%2Fq' });
  await app.inject({ method: 'GET', url: '/favicon.ico' });
  await app.inject({ method: 'POST', url: '/v1/createjobqueue', payload: '{not json' });
  assert.deepEqual(
    seen.map(({ api, operation, outcome, errorCode }) => [api, operation, outcome, errorCode]),
    [
      ['openbatch', 'Health', 'success', ''],
      ['openbatch', 'GetMetrics', 'success', ''],
      ['batch', 'unknown', 'client_error', 'MethodNotAllowedException'],
      ['unknown', 'unknown', 'client_error', 'UnknownOperationException'],
      ['batch', 'CreateJobQueue', 'client_error', 'ClientException'],
    ],
  );
});

test('without metrics there is no /metrics route', async () => {
  const app = buildApp({ service: {} as BatchService, arns: new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' }), dataDir: '/nonexistent', log: pino({ level: 'silent' }) });
  assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
});

test('a configured metrics token is wanted even with authentication off', async () => {
  const app = buildApp({
    service: {} as BatchService,
    arns: new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' }),
    dataDir: '/nonexistent',
    log: pino({ level: 'silent' }),
    metrics: { observeRequest: () => undefined, render: async () => ({ contentType: 'text/plain', body: 'openbatch_x 1\n' }) },
    metricsToken: 'token-0123456789abcdef',
  });
  const none = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(none.statusCode, 403);
  assert.equal(none.json().__type, 'MissingAuthenticationTokenException');
  assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer token-0123456789abcdeX' } })).statusCode, 403);
  assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer token-0123456789abcdef' } })).statusCode, 200);
  // The rest of the API is as open as before (no keys): the token guards /metrics only.
  assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
});
