// boto3's stepfunctions client (/usr/bin/python3) against a real server: create a state machine
// whose Task submits a Batch job (.sync), start it, wait for the end, page the history with
// boto3's paginator, and catch the API's errors as boto3 raises them. Skipped, loudly, without boto3.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestServer } from '../helpers/server.js';
import { SYSTEM_PYTHON, announceSkip, boto3SkipReason, cleanEnv, runIn } from '../helpers/aws.js';

const skip = announceSkip('test/e2e/step-functions-boto3.test.ts', boto3SkipReason());

export const SCRIPT = String.raw`
import json, sys, time
import boto3

endpoint = sys.argv[1]
batch = boto3.client('batch', endpoint_url=endpoint, region_name='us-east-1')
sfn = boto3.client('stepfunctions', endpoint_url=endpoint, region_name='us-east-1')
batch.register_job_definition(jobDefinitionName='py-echo', type='container', containerProperties={
    'image': 'busybox', 'command': ['echo', 'hi'],
    'resourceRequirements': [{'type': 'VCPU', 'value': '0.25'}, {'type': 'MEMORY', 'value': '32'}]})
definition = {'StartAt': 'Run', 'States': {
    'Run': {'Type': 'Task', 'Resource': 'arn:aws:states:::batch:submitJob.sync',
            'Parameters': {'JobName.$': '$.name', 'JobDefinition': 'py-echo', 'JobQueue': 'default'},
            'ResultSelector': {'status.$': '$.Status', 'exit.$': '$.Container.ExitCode'}, 'ResultPath': '$.job', 'End': True}}}
sm = sfn.create_state_machine(name='py', definition=json.dumps(definition), roleArn='arn:aws:iam::123456789012:role/r')
ex = sfn.start_execution(stateMachineArn=sm['stateMachineArn'], name='py-run', input=json.dumps({'name': 'from-boto3'}))
deadline = time.time() + 60
while True:
    d = sfn.describe_execution(executionArn=ex['executionArn'])
    if d['status'] != 'RUNNING' or time.time() > deadline:
        break
    time.sleep(0.2)
events = []
for page in sfn.get_paginator('get_execution_history').paginate(executionArn=ex['executionArn'], PaginationConfig={'PageSize': 3}):
    events.extend(e['type'] for e in page['events'])
errors = []
try:
    sfn.describe_execution(executionArn=sm['stateMachineArn'].replace(':stateMachine:', ':execution:') + ':nope')
except sfn.exceptions.ExecutionDoesNotExist as e:
    errors.append(e.response['Error']['Code'])
try:
    sfn.create_state_machine(name='bad', definition='{"StartAt":"A","States":{"A":{"Type":"Pass"}}}', roleArn='r')
except sfn.exceptions.InvalidDefinition as e:
    errors.append(e.response['Error']['Code'])
print(json.dumps({'status': d['status'], 'output': json.loads(d.get('output', 'null')), 'startDate': d['startDate'].isoformat(),
                  'events': events, 'errors': errors, 'machines': [m['name'] for m in sfn.list_state_machines()['stateMachines']]}))
`;

describe('boto3 stepfunctions', { skip }, () => {
  const server = new TestServer();
  let home: string;

  before(async () => {
    await server.start();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-sfn-boto3-'));
    fs.writeFileSync(path.join(home, 'script.py'), SCRIPT);
  });

  after(async () => {
    await server.kill();
    server.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('create, start, describe until SUCCEEDED, paginate the history, typed errors', async () => {
    const r = await runIn(SYSTEM_PYTHON, [path.join(home, 'script.py'), server.endpoint], cleanEnv(home), home, 120_000);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.status, 'SUCCEEDED');
    assert.deepEqual(out.output, { name: 'from-boto3', job: { status: 'SUCCEEDED', exit: 0 } });
    assert.match(out.startDate, /^\d{4}-\d{2}-\d{2}T/);
    assert.equal(out.events[0], 'ExecutionStarted');
    assert.equal(out.events.at(-1), 'ExecutionSucceeded');
    assert.ok(out.events.includes('TaskSubmitted'));
    assert.deepEqual(out.errors, ['ExecutionDoesNotExist', 'InvalidDefinition']);
    assert.deepEqual(out.machines, ['py']);
  });
});
