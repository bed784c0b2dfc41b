// The seed guide's boto3 pipeline, unchanged: ingest → a 50-way transform array (SEQUENTIAL
// dependency on ingest, i.e. on the whole ingest job) → aggregate (waits for the whole array).
// The job definitions it names exist here with local shell commands. Its code runs verbatim
// under /usr/bin/python3; the only addition is a preamble that points boto3 at this server
// (boto3 1.26 has no endpoint setting in the environment).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  RegisterJobDefinitionCommand,
  type BatchClient,
  type JobDetail,
} from '@aws-sdk/client-batch';
import { TestServer, describeJob, run, waitForStatus } from '../helpers/server.js';
import { announceSkip, boto3SkipReason } from '../helpers/aws.js';

/** The guide's "Dependent jobs with Python boto3" listing, as printed there. */
const SEED_PIPELINE = `import boto3
batch = boto3.client('batch', region_name='us-east-1')
# Step 1: ingest raw data
ingest = batch.submit_job(
jobName='ingest-raw-data',
jobQueue='default-queue',
jobDefinition='data-ingest:2',
containerOverrides={
'environment': [{'name': 'DATE', 'value': '2026-06-09'}]
}
)
ingest_id = ingest['jobId']
# Step 2: transform depends on step 1 completing successfully
transform = batch.submit_job(
jobName='transform-data',
jobQueue='default-queue',
jobDefinition='data-transform:4',
dependsOn=[{'jobId': ingest_id, 'type': 'SEQUENTIAL'}],
arrayProperties={'size': 50} # fan out to 50 parallel transformers
)
transform_id = transform['jobId']
# Step 3: aggregate depends on ALL transform children finishing (N_TO_N would
# be used if step 2 and step 3 were the same size; here SEQUENTIAL is correct)
aggregate = batch.submit_job(
jobName='aggregate-results',
jobQueue='default-queue',
jobDefinition='data-aggregate:1',
dependsOn=[{'jobId': transform_id, 'type': 'SEQUENTIAL'}]
)
print(f"Pipeline submitted: ingest={ingest_id}, transform={transform_id}, "
f"aggregate={aggregate['jobId']}")
`;

describe("the seed guide's boto3 pipeline, unchanged", () => {
  const skip = boto3SkipReason();
  if (skip) {
    announceSkip('seed-pipeline.test.ts', skip);
    test('seed pipeline', { skip }, () => {});
    return;
  }
  const server = new TestServer();
  let client: BatchClient;
  let work: string;

  before(async () => {
    await server.start();
    client = server.client();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-pipeline-'));
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'pipeline-ce',
        type: 'MANAGED',
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 16, subnets: [], securityGroupIds: [], instanceTypes: ['optimal'] },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'default-queue', priority: 10, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'pipeline-ce' }] }));
    const small = [
      { type: 'VCPU' as const, value: '0.25' },
      { type: 'MEMORY' as const, value: '32' },
    ];
    // The guide submits data-ingest:2, data-transform:4 and data-aggregate:1: register enough
    // revisions that those exist, the named revision being the one with the real command.
    const define = async (name: string, revisions: number, script: string) => {
      for (let r = 1; r <= revisions; r++) {
        await client.send(
          new RegisterJobDefinitionCommand({
            jobDefinitionName: name,
            type: 'container',
            containerProperties: {
              image: 'busybox',
              command: ['sh', '-c', r === revisions ? script : 'echo "wrong revision"; exit 9'],
              environment: [{ name: 'WORK', value: work }],
              resourceRequirements: small,
            },
          }),
        );
      }
    };
    await define('data-ingest', 2, 'echo "ingest $DATE"; echo "$DATE" > "$WORK/ingested"');
    await define(
      'data-transform',
      4,
      'test -e "$WORK/ingested" || exit 3; sleep 0.1; echo "part $AWS_BATCH_JOB_ARRAY_INDEX of $AWS_BATCH_JOB_ARRAY_SIZE" > "$WORK/part.$AWS_BATCH_JOB_ARRAY_INDEX"',
    );
    await define('data-aggregate', 1, 'n=$(ls "$WORK" | grep -c "^part\\."); echo "aggregated $n parts"; [ "$n" = 50 ]');
  });

  after(async () => {
    await server.kill();
    server.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('ingest, then 50 transformers, then aggregate: in that order, all SUCCEEDED', async () => {
    const script = path.join(work, 'pipeline.py');
    const preamble = [
      'import os, boto3',
      '_client = boto3.client',
      "boto3.client = lambda *a, **k: _client(*a, **{'endpoint_url': os.environ['OPENBATCH_ENDPOINT'], **k})",
      '',
    ].join('\n');
    fs.writeFileSync(script, preamble + SEED_PIPELINE);
    const out = await run('/usr/bin/python3', [script], {
      OPENBATCH_ENDPOINT: server.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
      HOME: work,
    });
    assert.equal(out.code, 0, out.stderr);
    const m = /Pipeline submitted: ingest=(\S+), transform=(\S+), aggregate=(\S+)\n/.exec(out.stdout);
    assert.ok(m, out.stdout);
    const [, ingestId, transformId, aggregateId] = m;

    const aggregate = await waitForStatus(client, aggregateId, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(aggregate.status, 'SUCCEEDED', JSON.stringify(aggregate.attempts));
    const ingest = (await describeJob(client, ingestId))!;
    const transform = (await describeJob(client, transformId))!;
    assert.equal(ingest.status, 'SUCCEEDED');
    assert.equal(transform.status, 'SUCCEEDED');
    assert.deepEqual(transform.arrayProperties?.statusSummary, {
      SUBMITTED: 0,
      PENDING: 0,
      RUNNABLE: 0,
      STARTING: 0,
      RUNNING: 0,
      SUCCEEDED: 50,
      FAILED: 0,
    });
    assert.equal(transform.arrayProperties?.size, 50);

    // Order, from the timestamps: no child before ingest ended; aggregate after the last child.
    const children: JobDetail[] = [];
    for (let i = 0; i < 50; i += 25) {
      const ids = Array.from({ length: 25 }, (_, k) => `${transformId}:${i + k}`);
      const { DescribeJobsCommand } = await import('@aws-sdk/client-batch');
      children.push(...((await client.send(new DescribeJobsCommand({ jobs: ids }))).jobs ?? []));
    }
    assert.equal(children.length, 50);
    for (const c of children) {
      assert.equal(c.status, 'SUCCEEDED', c.jobId);
      assert.ok(c.startedAt! >= ingest.stoppedAt!, `${c.jobId} started before ingest stopped`);
    }
    const lastChild = Math.max(...children.map((c) => c.stoppedAt!));
    assert.ok(aggregate.startedAt! >= lastChild, 'aggregate started before the last transformer stopped');

    // And from the jobs' own output.
    const logs = async (id: string) => (await fetch(`${server.endpoint}/openbatch/v1/jobs/${encodeURIComponent(id)}/logs`)).text();
    assert.equal(await logs(ingestId), 'ingest 2026-06-09\n');
    assert.equal(await logs(aggregateId), 'aggregated 50 parts\n');
    assert.equal(fs.readFileSync(path.join(work, 'part.49'), 'utf8'), 'part 49 of 50\n');
  });
});
