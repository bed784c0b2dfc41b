// The real AWS CLI v2 (/usr/bin/aws) against a real OpenBatch server: the headline flow of the
// README (register, submit, wait, `openbatch logs`), and the other everyday commands. Skipped,
// loudly, where /usr/bin/aws is not an AWS CLI v2 (apt-get install -y awscli).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, TestServer } from '../helpers/server.js';
import { AwsCli, announceSkip, awsCliSkipReason, clientExceptionLine, runIn } from '../helpers/aws.js';

const skip = announceSkip('test/e2e/aws-cli.test.ts', awsCliSkipReason());

describe('AWS CLI v2 against OpenBatch', { skip }, () => {
  let server: TestServer;
  let aws: AwsCli;
  let helloJobId = '';
  let helloDefinitionArn = '';

  before(async () => {
    server = await new TestServer().start();
    aws = new AwsCli(server.endpoint);
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
    aws?.cleanup();
  });

  test('describe-compute-environments and describe-job-queues show the defaults', async () => {
    const ces = await aws.ok('describe-compute-environments');
    const ce = ces.computeEnvironments.find((c: any) => c.computeEnvironmentName === 'default');
    assert.ok(ce, JSON.stringify(ces));
    assert.equal(ce.state, 'ENABLED');
    assert.equal(ce.status, 'VALID');
    assert.match(ce.computeEnvironmentArn, /^arn:aws:batch:us-east-1:\d{12}:compute-environment\/default$/);

    const queues = await aws.ok('describe-job-queues');
    const q = queues.jobQueues.find((x: any) => x.jobQueueName === 'default');
    assert.ok(q, JSON.stringify(queues));
    assert.equal(q.state, 'ENABLED');
    assert.equal(q.status, 'VALID');
    assert.deepEqual(
      q.computeEnvironmentOrder.map((o: any) => o.computeEnvironment),
      [ce.computeEnvironmentArn],
    );
  });

  test('headline: register, submit-job, wait for SUCCEEDED, `openbatch logs` prints hello <jobId>', async () => {
    const reg = await aws.ok(
      'register-job-definition',
      '--job-definition-name', 'hello',
      '--type', 'container',
      '--container-properties', JSON.stringify({
        image: 'busybox',
        command: ['sh', '-c', 'echo hello $AWS_BATCH_JOB_ID'],
        resourceRequirements: [
          { type: 'VCPU', value: '1' },
          { type: 'MEMORY', value: '128' },
        ],
      }),
    );
    assert.equal(reg.jobDefinitionName, 'hello');
    assert.equal(reg.revision, 1);
    helloDefinitionArn = reg.jobDefinitionArn;
    assert.match(helloDefinitionArn, /:job-definition\/hello:1$/);

    const sub = await aws.ok('submit-job', '--job-name', 'hello', '--job-queue', 'default', '--job-definition', helloDefinitionArn);
    assert.equal(sub.jobName, 'hello');
    assert.match(sub.jobId, /^[0-9a-f-]{36}$/);
    assert.match(sub.jobArn, new RegExp(`:job/${sub.jobId}$`));
    helloJobId = sub.jobId;

    const job = await aws.waitForStatus(helloJobId, 'SUCCEEDED');
    assert.equal(job.jobName, 'hello');
    assert.equal(job.container.exitCode, 0);

    const logs = await runIn(process.execPath, [CLI, 'logs', helloJobId, '--endpoint-url', server.endpoint], aws.env(), aws.cwd);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, `hello ${helloJobId}\n`);
  });

  test('list-jobs --job-queue default --job-status SUCCEEDED includes the job', async () => {
    assert.ok(helloJobId, 'the headline test must have run first');
    const out = await aws.ok('list-jobs', '--job-queue', 'default', '--job-status', 'SUCCEEDED');
    const summary = out.jobSummaryList.find((j: any) => j.jobId === helloJobId);
    assert.ok(summary, JSON.stringify(out));
    assert.equal(summary.jobName, 'hello');
    assert.equal(summary.status, 'SUCCEEDED');
    assert.equal(summary.container?.exitCode, 0);
    // Not listed under another status.
    const running = await aws.ok('list-jobs', '--job-queue', 'default', '--job-status', 'RUNNING');
    assert.ok(!running.jobSummaryList.some((j: any) => j.jobId === helloJobId));
  });

  test('an unknown queue: the CLI prints the ClientException line and exits 254', async () => {
    const r = await aws.batch('submit-job', '--job-name', 'x', '--job-queue', 'no-such-queue', '--job-definition', 'hello');
    assert.equal(r.code, 254, r.stderr);
    assert.equal(r.stdout, '');
    const m = clientExceptionLine('SubmitJob').exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.match(m[1], /no-such-queue/);
  });

  test('create, update and delete a compute environment and a job queue', async () => {
    const ce = await aws.ok(
      'create-compute-environment',
      '--compute-environment-name', 'cli-ce',
      '--type', 'MANAGED',
      '--state', 'ENABLED',
      '--compute-resources', JSON.stringify({
        type: 'EC2',
        minvCpus: 0,
        maxvCpus: 4,
        instanceTypes: ['optimal'],
        subnets: ['subnet-123'],
        instanceRole: 'ecsInstanceRole',
      }),
    );
    assert.equal(ce.computeEnvironmentName, 'cli-ce');
    assert.match(ce.computeEnvironmentArn, /:compute-environment\/cli-ce$/);

    const q = await aws.ok(
      'create-job-queue',
      '--job-queue-name', 'cli-queue',
      '--priority', '5',
      '--compute-environment-order', JSON.stringify([{ order: 1, computeEnvironment: 'cli-ce' }]),
    );
    assert.equal(q.jobQueueName, 'cli-queue');
    assert.match(q.jobQueueArn, /:job-queue\/cli-queue$/);

    let qd = (await aws.ok('describe-job-queues', '--job-queues', 'cli-queue')).jobQueues[0];
    assert.equal(qd.priority, 5);
    assert.equal(qd.state, 'ENABLED');
    assert.deepEqual(qd.computeEnvironmentOrder, [{ order: 1, computeEnvironment: ce.computeEnvironmentArn }]);

    // Updates: the queue first (it must be DISABLED before it can be deleted), then the CE.
    await aws.ok('update-job-queue', '--job-queue', 'cli-queue', '--state', 'DISABLED', '--priority', '7');
    qd = (await aws.ok('describe-job-queues', '--job-queues', 'cli-queue')).jobQueues[0];
    assert.equal(qd.priority, 7);
    assert.equal(qd.state, 'DISABLED');

    await aws.ok('update-compute-environment', '--compute-environment', 'cli-ce', '--state', 'DISABLED', '--compute-resources', '{"maxvCpus": 8}');
    const ced = (await aws.ok('describe-compute-environments', '--compute-environments', 'cli-ce')).computeEnvironments[0];
    assert.equal(ced.state, 'DISABLED');
    assert.equal(ced.computeResources.maxvCpus, 8);

    await aws.ok('delete-job-queue', '--job-queue', 'cli-queue');
    // Deletion may be asynchronous (AWS shows DELETING, then the queue is gone): poll.
    await waitGone(() => aws.ok('describe-job-queues', '--job-queues', 'cli-queue').then((o) => o.jobQueues.filter((x: any) => x.status !== 'DELETED')));

    await aws.ok('delete-compute-environment', '--compute-environment', 'cli-ce');
    await waitGone(() =>
      aws.ok('describe-compute-environments', '--compute-environments', 'cli-ce').then((o) => o.computeEnvironments.filter((x: any) => x.status !== 'DELETED')),
    );
  });

  test('tag-resource, list-tags-for-resource and untag-resource with an ARN (percent-encoded in the path)', async () => {
    const arn = (await aws.ok('describe-job-queues', '--job-queues', 'default')).jobQueues[0].jobQueueArn as string;
    // The CLI puts the ARN in the path as /v1/tags/arn%3Aaws%3Abatch%3A...%2Fdefault.
    const debug = await aws.batch('list-tags-for-resource', '--resource-arn', arn, '--debug');
    assert.equal(debug.code, 0, debug.stderr.slice(-2000));
    assert.ok(debug.stderr.includes(`/v1/tags/${encodeURIComponent(arn)}`), 'the CLI sent the ARN percent-encoded');

    await aws.ok('tag-resource', '--resource-arn', arn, '--tags', 'team=ml,env=dev');
    assert.deepEqual((await aws.ok('list-tags-for-resource', '--resource-arn', arn)).tags, { team: 'ml', env: 'dev' });

    await aws.ok('untag-resource', '--resource-arn', arn, '--tag-keys', 'env');
    assert.deepEqual((await aws.ok('list-tags-for-resource', '--resource-arn', arn)).tags, { team: 'ml' });

    // Tags show up where AWS shows them too.
    assert.deepEqual((await aws.ok('describe-job-queues', '--job-queues', 'default')).jobQueues[0].tags, { team: 'ml' });

    // A job definition ARN has a colon in its last part (hello:1): encoded as %3A too.
    assert.ok(helloDefinitionArn, 'the headline test must have run first');
    await aws.ok('tag-resource', '--resource-arn', helloDefinitionArn, '--tags', 'k=v');
    assert.deepEqual((await aws.ok('list-tags-for-resource', '--resource-arn', helloDefinitionArn)).tags, { k: 'v' });

    const missing = await aws.batch('list-tags-for-resource', '--resource-arn', arn.replace(/default$/, 'no-such-queue'));
    assert.equal(missing.code, 254, missing.stderr);
    assert.match(missing.stderr, clientExceptionLine('ListTagsForResource'));
  });

  test('terminate-job on a RUNNING sleep job', async () => {
    assert.ok(helloDefinitionArn, 'the headline test must have run first');
    const sub = await aws.ok(
      'submit-job',
      '--job-name', 'sleeper',
      '--job-queue', 'default',
      '--job-definition', 'hello',
      '--container-overrides', JSON.stringify({ command: ['sleep', '300'] }),
    );
    await aws.waitForStatus(sub.jobId, 'RUNNING');
    const t0 = Date.now();
    await aws.ok('terminate-job', '--job-id', sub.jobId, '--reason', 'stopped by the aws-cli test');
    const job = await aws.waitForStatus(sub.jobId, 'FAILED');
    assert.ok(Date.now() - t0 < 20_000, 'the sleep was killed, not waited out');
    assert.equal(job.statusReason, 'stopped by the aws-cli test');
    assert.ok(job.stoppedAt >= job.startedAt, JSON.stringify(job));
  });
});

/** Polls until probe() returns an empty list (deadline, no fixed sleep). */
async function waitGone(probe: () => Promise<unknown[]>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await probe();
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still there after ${timeoutMs} ms: ${JSON.stringify(left)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
