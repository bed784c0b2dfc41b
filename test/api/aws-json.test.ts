// The awsJson dispatcher on POST /: operations found by X-Amz-Target, errors in the shape the SDKs
// parse, read-only keys and the SigV4 scope checked per API.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { registerAwsJsonServices, awsJsonError, type AwsJsonService } from '../../src/api/aws-json.js';

function app(): ReturnType<typeof Fastify> {
  const a = Fastify();
  a.removeAllContentTypeParsers();
  a.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const echo: AwsJsonService = {
    targetPrefix: 'Echo_1',
    signingName: 'logs',
    jsonVersion: '1.1',
    validationErrorCode: 'InvalidParameterException',
    handlers: {
      async GetEcho(input) {
        if (input.missing) throw awsJsonError('ResourceNotFoundException', 'no such thing');
        return { echo: input };
      },
      async PutThing() {
        return {};
      },
    },
  };
  registerAwsJsonServices(a, [echo]);
  return a;
}

const post = (target: string | undefined, body: string) =>
  app().inject({ method: 'POST', url: '/', headers: { 'content-type': 'application/x-amz-json-1.1', ...(target ? { 'x-amz-target': target } : {}) }, payload: body });

test('an operation is found by X-Amz-Target and answers JSON 1.1', async () => {
  const r = await post('Echo_1.GetEcho', '{"a":1}');
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers["content-type"]), /^application\/x-amz-json-1\.1/);
  assert.deepEqual(r.json(), { echo: { a: 1 } });
});

test('unknown or missing targets, bad JSON and handler errors answer 400 with __type and message', async () => {
  for (const [target, body, code] of [
    ['Echo_1.Nope', '{}', 'UnknownOperationException'],
    ['Other.GetEcho', '{}', 'UnknownOperationException'],
    [undefined, '{}', 'UnknownOperationException'],
    ['Echo_1.constructor', '{}', 'UnknownOperationException'],
    ['Echo_1.GetEcho', '{not json', 'InvalidParameterException'],
    ['Echo_1.GetEcho', '[1]', 'InvalidParameterException'],
    ['Echo_1.GetEcho', '{"missing":true}', 'ResourceNotFoundException'],
  ] as const) {
    const r = await post(target, body);
    assert.equal(r.statusCode, 400, `${target} ${body}`);
    assert.equal(r.json().__type, code, `${target} ${body}`);
    assert.equal(typeof r.json().message, 'string');
  }
});
