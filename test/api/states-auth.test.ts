// Authentication of the Step Functions API: a key signing for `states` works; a signature
// scoped to `batch` is refused (AWS scopes signatures to one service); read-only keys may only
// read; a key limited to job queues may not start workflows (they submit to any queue).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signHeaders } from '../../src/api/auth/client.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

const ADMIN = { accessKeyId: 'admin', secretAccessKey: 'admin-secret' };
const READER = { accessKeyId: 'reader', secretAccessKey: 'reader-secret' };
const TEAM = { accessKeyId: 'team', secretAccessKey: 'team-secret' };
const HOST = 'openbatch.test';
const DEFINITION = JSON.stringify({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } });

let server: RunningServer;
let tmp: string;

async function call(creds: typeof ADMIN, service: string, op: string, body: Record<string, unknown>) {
  const payload = JSON.stringify(body);
  const headers = { host: HOST, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AWSStepFunctions.${op}` };
  const signed = await signHeaders('POST', new URL(`http://${HOST}/`), creds, { service, body: payload, headers });
  const res = await server.app.inject({ method: 'POST', url: '/', headers: { ...headers, ...signed }, payload });
  return { status: res.statusCode, body: JSON.parse(res.body) };
}

describe('Step Functions API authentication', () => {
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-states-auth-'));
    const file = path.join(tmp, 'credentials.json');
    fs.writeFileSync(file, JSON.stringify({ keys: [ADMIN, { ...READER, readOnly: true }, { ...TEAM, jobQueues: ['team'] }] }), { mode: 0o600 });
    server = await startServer({ port: 0, host: '127.0.0.1', dataDir: path.join(tmp, 'data'), logLevel: 'warn', createDefaults: false, hostResources: { cpus: 2, memory: 4096, gpus: 0 }, credentialsFile: file });
  });

  after(async () => {
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a key signed for states works; the same key signed for batch is refused', async () => {
    const ok = await call(ADMIN, 'states', 'CreateStateMachine', { name: 'm', definition: DEFINITION, roleArn: 'arn:aws:iam::1:role/r' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.stateMachineArn, 'arn:aws:states:us-east-1:000000000000:stateMachine:m');
    const wrong = await call(ADMIN, 'batch', 'ListStateMachines', {});
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.__type, 'InvalidSignatureException');
    assert.match(wrong.body.message, /Credential should be scoped to correct service: 'states'/);
    const bad = await call({ ...ADMIN, secretAccessKey: 'wrong' }, 'states', 'ListStateMachines', {});
    assert.equal(bad.status, 403);
  });

  test('a read-only key reads but does not start; a queue-limited key may not start workflows', async () => {
    const arn = 'arn:aws:states:us-east-1:000000000000:stateMachine:m';
    const list = await call(READER, 'states', 'ListStateMachines', {});
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.stateMachines.map((s: { name: string }) => s.name), ['m']);
    const start = await call(READER, 'states', 'StartExecution', { stateMachineArn: arn });
    assert.equal(start.status, 403);
    assert.equal(start.body.__type, 'AccessDeniedException');
    const team = await call(TEAM, 'states', 'StartExecution', { stateMachineArn: arn });
    assert.equal(team.status, 403);
    assert.match(team.body.message, /may use only job queues: team/);
    assert.equal((await call(TEAM, 'states', 'DescribeStateMachine', { stateMachineArn: arn })).status, 200);
    const none = await call(ADMIN, 'states', 'ListExecutions', { stateMachineArn: arn });
    assert.deepEqual(none.body.executions, [], 'nothing was started');
  });
});
