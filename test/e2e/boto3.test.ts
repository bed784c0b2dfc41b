// boto3 (Debian's python3-boto3, run with /usr/bin/python3) against a real OpenBatch server: a
// script written to a temp file registers a definition, submits to `default`, polls describe_jobs
// until SUCCEEDED, pages through list_jobs, and catches ClientException for an unknown queue; it
// prints what it saw as JSON, which this test checks. Skipped, loudly, where boto3 is missing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestServer } from '../helpers/server.js';
import { SYSTEM_PYTHON, announceSkip, boto3SkipReason, cleanEnv, runIn } from '../helpers/aws.js';

const skip = announceSkip('test/e2e/boto3.test.ts', boto3SkipReason());

const SCRIPT = String.raw`
import json
import sys
import time

import boto3
import botocore

endpoint = sys.argv[1]
batch = boto3.client('batch', endpoint_url=endpoint, region_name='us-east-1')
out = {'boto3': boto3.__version__, 'botocore': botocore.__version__}

reg = batch.register_job_definition(
    jobDefinitionName='boto3-hello',
    type='container',
    containerProperties={
        'image': 'busybox',
        'command': ['sh', '-c', 'echo hello $AWS_BATCH_JOB_ID'],
        'resourceRequirements': [
            {'type': 'VCPU', 'value': '1'},
            {'type': 'MEMORY', 'value': '128'},
        ],
    },
)
out['register'] = {k: reg[k] for k in ('jobDefinitionName', 'jobDefinitionArn', 'revision')}

# Three jobs, so that list_jobs with a page size of 1 needs several pages.
job_ids = []
for i in range(3):
    sub = batch.submit_job(jobName='boto3-hello-%d' % i, jobQueue='default', jobDefinition='boto3-hello')
    job_ids.append(sub['jobId'])
out['jobIds'] = job_ids

deadline = time.monotonic() + 60
final = {}
while True:
    jobs = batch.describe_jobs(jobs=job_ids)['jobs']
    final = {j['jobId']: j['status'] for j in jobs}
    if all(s in ('SUCCEEDED', 'FAILED') for s in final.values()) and len(final) == len(job_ids):
        break
    if time.monotonic() > deadline:
        out['timedOut'] = True
        break
    time.sleep(0.05)
out['statuses'] = final
described = batch.describe_jobs(jobs=[job_ids[0]])['jobs'][0]
out['first'] = {
    'jobName': described['jobName'],
    'status': described['status'],
    'exitCode': described.get('container', {}).get('exitCode'),
    'jobDefinition': described['jobDefinition'],
}

pages = list(
    batch.get_paginator('list_jobs').paginate(
        jobQueue='default', jobStatus='SUCCEEDED', PaginationConfig={'PageSize': 1}
    )
)
out['listPages'] = len(pages)
out['listed'] = [s['jobId'] for p in pages for s in p['jobSummaryList']]

try:
    batch.submit_job(jobName='nope', jobQueue='no-such-queue', jobDefinition='boto3-hello')
    out['unknownQueue'] = 'no exception'
except batch.exceptions.ClientException as e:
    out['unknownQueue'] = {
        'code': e.response['Error']['Code'],
        'message': e.response['Error']['Message'],
        'httpStatus': e.response['ResponseMetadata']['HTTPStatusCode'],
    }

print(json.dumps(out))
`;

describe('boto3 against OpenBatch', { skip }, () => {
  let server: TestServer;
  let dir: string;

  before(async () => {
    server = await new TestServer().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-boto3-'));
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('register, submit, poll to SUCCEEDED, paginate list_jobs, catch ClientException', async () => {
    const script = path.join(dir, 'flow.py');
    fs.writeFileSync(script, SCRIPT);
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    const r = await runIn(SYSTEM_PYTHON, [script, server.endpoint], cleanEnv(home), dir, 110_000);
    assert.equal(r.code, 0, `python exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
    const out = JSON.parse(r.stdout);

    assert.equal(out.register.jobDefinitionName, 'boto3-hello');
    assert.equal(out.register.revision, 1);
    assert.match(out.register.jobDefinitionArn, /:job-definition\/boto3-hello:1$/);

    assert.equal(out.timedOut, undefined, `jobs did not finish within the script's deadline: ${JSON.stringify(out.statuses)}`);
    assert.equal(out.jobIds.length, 3);
    for (const id of out.jobIds) assert.equal(out.statuses[id], 'SUCCEEDED', JSON.stringify(out.statuses));
    assert.deepEqual(out.first, {
      jobName: 'boto3-hello-0',
      status: 'SUCCEEDED',
      exitCode: 0,
      jobDefinition: out.register.jobDefinitionArn,
    });

    // The paginator followed nextToken: one job a page, all three there, none twice.
    assert.ok(out.listPages >= 3, `pages: ${out.listPages}`);
    assert.deepEqual([...out.listed].sort(), [...out.jobIds].sort());

    assert.deepEqual(out.unknownQueue.code, 'ClientException');
    assert.equal(out.unknownQueue.httpStatus, 400);
    assert.match(out.unknownQueue.message, /no-such-queue/);

    // The jobs' output is there too (the same server, over HTTP).
    const res = await fetch(`${server.endpoint}/openbatch/v1/jobs/${out.jobIds[0]}/logs`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `hello ${out.jobIds[0]}\n`);
  });
});
