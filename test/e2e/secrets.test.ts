// containerProperties.secrets come from <dataDir>/secrets.json; a missing secret fails the
// attempt as AWS does (ResourceInitializationError), never runs the job without it.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RegisterJobDefinitionCommand, SubmitJobCommand, type BatchClient } from '@aws-sdk/client-batch';
import { TestServer, waitForStatus } from '../helpers/server.js';

describe('job secrets', () => {
  const server = new TestServer();
  let client: BatchClient;
  const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password';

  before(async () => {
    await server.start();
    client = server.client();
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'with-secret',
        type: 'container',
        containerProperties: {
          image: 'busybox',
          command: ['sh', '-c', 'echo "password=$DB_PASSWORD"'],
          secrets: [{ name: 'DB_PASSWORD', valueFrom: arn }],
          resourceRequirements: [
            { type: 'VCPU', value: '0.25' },
            { type: 'MEMORY', value: '64' },
          ],
        },
      }),
    );
  });
  after(async () => {
    await server.kill();
    server.cleanup();
  });

  test('without the secret the attempt fails to start, with a reason that says where to put it', async () => {
    const { jobId } = await client.send(new SubmitJobCommand({ jobName: 'no-secret', jobQueue: 'default', jobDefinition: 'with-secret' }));
    const job = await waitForStatus(client, jobId!, ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'Task failed to start');
    assert.match(job.attempts?.[0].container?.reason ?? '', /^ResourceInitializationError: unable to pull secrets or registry auth: secret DB_PASSWORD .*secrets\.json/);
    assert.equal(job.attempts?.[0].container?.exitCode, undefined);
  });

  test('with the secret in secrets.json the job sees it', async () => {
    fs.writeFileSync(path.join(server.dataDir, 'secrets.json'), JSON.stringify({ [arn]: 's3cr3t' }));
    const { jobId } = await client.send(new SubmitJobCommand({ jobName: 'secret', jobQueue: 'default', jobDefinition: 'with-secret' }));
    const job = await waitForStatus(client, jobId!, ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'SUCCEEDED');
    const logs = await (await fetch(`${server.endpoint}/openbatch/v1/jobs/${jobId}/logs`)).text();
    assert.equal(logs, 'password=s3cr3t\n');
  });
});
