// `openbatch workflow create | start | watch` against a real server: watch prints the states as
// they are entered and exited, and its exit code is the execution's result.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import { CLI, TestServer, run } from '../helpers/server.js';

describe('openbatch workflow', () => {
  const server = new TestServer();
  let work: string;
  const cli = (...args: string[]) => run(process.execPath, [CLI, 'workflow', ...args, '--endpoint-url', server.endpoint], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });

  before(async () => {
    await server.start();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-wf-'));
    await server.client().send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'echo',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['echo', 'hi'], resourceRequirements: [{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '32' }] },
      }),
    );
  });

  after(async () => {
    await server.kill();
    server.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('create, start --input, watch until SUCCEEDED (exit 0); a failing one exits 1', async () => {
    const def = {
      StartAt: 'Job',
      States: {
        Job: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob.sync', Parameters: { 'JobName.$': '$.name', JobDefinition: 'echo', JobQueue: 'default' }, ResultPath: null, Next: 'Check' },
        Check: { Type: 'Choice', Choices: [{ Variable: '$.ok', BooleanEquals: true, Next: 'Done' }], Default: 'Broken' },
        Done: { Type: 'Succeed' },
        Broken: { Type: 'Fail', Error: 'NotOk', Cause: 'ok was false' },
      },
    };
    fs.writeFileSync(path.join(work, 'def.json'), JSON.stringify(def));
    fs.writeFileSync(path.join(work, 'good.json'), '{"name":"wf-job","ok":true}');
    fs.writeFileSync(path.join(work, 'bad.json'), '{"name":"wf-job","ok":false}');
    const created = await cli('create', 'wf', path.join(work, 'def.json'));
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout.trim(), 'arn:aws:states:us-east-1:000000000000:stateMachine:wf');

    const started = await cli('start', 'wf', '--input', path.join(work, 'good.json'));
    assert.equal(started.code, 0, started.stderr);
    const arn = started.stdout.trim();
    assert.match(arn, /^arn:aws:states:us-east-1:000000000000:execution:wf:/);
    const watched = await cli('watch', arn);
    assert.equal(watched.code, 0, watched.stderr + watched.stdout);
    const lines = watched.stdout.trim().split('\n').map((l) => l.replace(/^\S+\s+/, ''));
    assert.deepEqual(
      lines.filter((l) => /^(entered|exited)/.test(l)),
      ['entered  Job (Task)', 'exited   Job', 'entered  Check (Choice)', 'exited   Check', 'entered  Done (Succeed)', 'exited   Done'],
    );
    assert.match(watched.stdout, /task     submitted submitJob\.sync job [0-9a-f-]+/);
    assert.equal(lines.at(-1), 'SUCCEEDED');

    const failing = await cli('start', 'wf', '--input', path.join(work, 'bad.json'), '--name', 'bad-run', '--watch');
    assert.equal(failing.code, 1, failing.stderr);
    assert.match(failing.stdout, /FAILED NotOk: ok was false\n$/);

    const missing = await cli('start', 'nope');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no state machine named nope/);
    const invalid = await cli('create', 'x', path.join(work, 'good.json'));
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /InvalidDefinition/);
  });
});
