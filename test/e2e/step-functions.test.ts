// Step Functions over OpenBatch, end to end with the real AWS CLI v2: the seed guide's state
// machine JSON unchanged (ingest → a 100-child transform array → aggregate, Retry, Catch, an SNS
// notification on failure), Retry with backoff as the history shows it, and definitions using
// what OpenBatch does not run refused at create time.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestServer, waitFor } from '../helpers/server.js';
import { announceSkip, awsCliSkipReason } from '../helpers/aws.js';
import { enteredStates, history, SfnCli, waitForExecution } from './sfn-helpers.js';

const SEED = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'seed-state-machine.json'), 'utf8');
const ROLE = 'arn:aws:iam::123456789012:role/StepFunctionsBatchRole';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:pipeline-alerts';

describe('Step Functions: the seed state machine with the AWS CLI', () => {
  const skip = awsCliSkipReason();
  if (skip) {
    announceSkip('step-functions.test.ts', skip);
    test('step functions', { skip }, () => {});
    return;
  }
  const posts: any[] = [];
  const hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push({ url: req.url, body: JSON.parse(body) });
      res.end('ok');
    });
  });
  let server: TestServer;
  let cli: SfnCli;
  let work: string;

  before(async () => {
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const port = (hook.address() as { port: number }).port;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-sfn-'));
    // The seed's SNS topic as an operator-configured notification topic with a webhook.
    const notifications = path.join(work, 'notifications.json');
    fs.writeFileSync(notifications, JSON.stringify({ topics: { [TOPIC]: { webhooks: [`http://127.0.0.1:${port}/alerts`] } } }));
    server = new TestServer({ args: ['--notifications-file', notifications] });
    await server.start();
    cli = new SfnCli(server.endpoint);
    await cli.ok('create-compute-environment', '--compute-environment-name', 'pipeline-ce', '--type', 'MANAGED', '--compute-resources', 'type=EC2,minvCpus=0,maxvCpus=16,subnets=[],securityGroupIds=[],instanceTypes=optimal');
    await cli.ok('create-job-queue', '--job-queue-name', 'default-queue', '--priority', '10', '--compute-environment-order', 'order=1,computeEnvironment=pipeline-ce');
    // The seed names data-ingest:2, data-transform:4 and data-aggregate:1: register that many
    // revisions, the named one with a quick command that succeeds.
    const define = async (name: string, revisions: number, script: string) => {
      for (let r = 1; r <= revisions; r++) {
        const props = {
          image: 'busybox',
          command: ['sh', '-c', r === revisions ? script : 'exit 9'],
          environment: [{ name: 'WORK', value: work }],
          resourceRequirements: [
            { type: 'VCPU', value: '0.25' },
            { type: 'MEMORY', value: '32' },
          ],
        };
        await cli.ok('register-job-definition', '--job-definition-name', name, '--type', 'container', '--container-properties', JSON.stringify(props));
      }
    };
    await define('data-ingest', 2, 'echo "ingest $DATE" > "$WORK/ingest.$DATE"');
    await define('data-transform', 4, 'true');
    await define('data-aggregate', 1, 'echo aggregated');
    await define('failing-transform', 1, 'echo "transform broke" >&2; exit 3');
    await define('flaky', 1, 'exit 1');
    await define('sleeper', 1, 'sleep 300');
  });

  after(async () => {
    await server?.kill();
    server?.cleanup();
    hook.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('1. the seed JSON, byte for byte: ingest → 100-child transform → aggregate SUCCEED', async () => {
    cli.writeFile('pipeline.json', SEED);
    const created = await cli.sfnOk('create-state-machine', '--name', 'ml-pipeline', '--definition', 'file://pipeline.json', '--role-arn', ROLE);
    assert.equal(created.stateMachineArn, 'arn:aws:states:us-east-1:000000000000:stateMachine:ml-pipeline');
    const described = await cli.sfnOk('describe-state-machine', '--state-machine-arn', created.stateMachineArn);
    assert.equal(described.definition, SEED);
    const started = await cli.sfnOk('start-execution', '--state-machine-arn', created.stateMachineArn, '--input', '{"date":"2026-06-09"}');
    const done = await waitForExecution(server.endpoint, started.executionArn, 120_000);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    const output = JSON.parse(done.output);
    assert.equal(output.date, '2026-06-09');
    // .sync:2 results are the DescribeJobs records.
    assert.equal(output.ingestResult.status, 'SUCCEEDED');
    assert.equal(output.transformResult.arrayProperties.size, 100);
    assert.equal(output.transformResult.arrayProperties.statusSummary.SUCCEEDED, 100);
    assert.equal(output.aggregateResult.status, 'SUCCEEDED');
    // The ingest job got DATE from the input (Value.$).
    assert.equal(fs.readFileSync(path.join(work, 'ingest.2026-06-09'), 'utf8'), 'ingest 2026-06-09\n');

    const hist = await cli.sfnOk('get-execution-history', '--execution-arn', started.executionArn);
    assert.deepEqual(enteredStates(hist.events), ['IngestData', 'ParallelTransform', 'Aggregate', 'PipelineSucceeded']);
    const types = hist.events.map((e: any) => e.type);
    assert.equal(types[0], 'ExecutionStarted');
    assert.equal(types.at(-1), 'ExecutionSucceeded');
    assert.deepEqual(hist.events.map((e: any) => e.id), hist.events.map((_: unknown, i: number) => i + 1));
    assert.equal(types.filter((t: string) => t === 'TaskSubmitted').length, 3);
    const list = await cli.sfnOk('list-executions', '--state-machine-arn', created.stateMachineArn);
    assert.deepEqual(list.executions.map((e: any) => [e.executionArn, e.status]), [[started.executionArn, 'SUCCEEDED']]);
  });

  test('2. a failing transform: Catch → NotifyFailure publishes to the webhook, the execution FAILS with PipelineError', async () => {
    // The seed's ParallelTransform has no Catch (only IngestData does): this variant gives it the
    // same catcher and a transform that fails; everything else is the seed's JSON.
    const def = JSON.parse(SEED);
    def.States.ParallelTransform.Parameters.JobDefinition = 'failing-transform:1';
    def.States.ParallelTransform.Catch = def.States.IngestData.Catch;
    cli.writeFile('failing.json', JSON.stringify(def, null, 2));
    const created = await cli.sfnOk('create-state-machine', '--name', 'ml-pipeline-failing', '--definition', 'file://failing.json', '--role-arn', ROLE);
    const started = await cli.sfnOk('start-execution', '--state-machine-arn', created.stateMachineArn, '--input', '{"date":"2026-06-09"}', '--name', 'failing-run');
    const done = await waitForExecution(server.endpoint, started.executionArn, 120_000);
    assert.equal(done.status, 'FAILED');
    assert.equal(done.error, 'PipelineError');
    assert.equal(done.cause, 'One or more batch jobs failed');
    const events = await history(server.endpoint, started.executionArn);
    assert.deepEqual(enteredStates(events), ['IngestData', 'ParallelTransform', 'NotifyFailure', 'PipelineFailed']);
    const failed = events.find((e) => e.type === 'TaskFailed');
    assert.equal(failed.taskFailedEventDetails.error, 'States.TaskFailed');
    // The webhook got the formatted message (States.Format with the caught error object).
    assert.equal(posts.length, 1);
    assert.equal(posts[0].url, '/alerts');
    assert.equal(posts[0].body.TopicArn, TOPIC);
    assert.match(posts[0].body.Message, /^Pipeline failed: \{"Error":"States\.TaskFailed","Cause":".+"\}$/);
    const publish = events.find((e) => e.type === 'TaskSucceeded' && e.taskSucceededEventDetails.resourceType === 'sns');
    assert.equal(JSON.parse(publish.taskSucceededEventDetails.output).MessageId, posts[0].body.MessageId);
  });

  test('3. Retry with IntervalSeconds 1 and BackoffRate 2: three attempts, 1 s then 2 s apart', async () => {
    const def = {
      StartAt: 'Flaky',
      States: {
        Flaky: {
          Type: 'Task',
          Resource: 'arn:aws:states:::batch:submitJob.sync',
          Parameters: { JobName: 'flaky', JobDefinition: 'flaky', JobQueue: 'default-queue' },
          Retry: [{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }],
          End: true,
        },
      },
    };
    cli.writeFile('retry.json', JSON.stringify(def));
    const created = await cli.sfnOk('create-state-machine', '--name', 'retrying', '--definition', 'file://retry.json', '--role-arn', ROLE);
    const started = await cli.sfnOk('start-execution', '--state-machine-arn', created.stateMachineArn);
    const done = await waitForExecution(server.endpoint, started.executionArn, 60_000);
    assert.equal(done.status, 'FAILED');
    assert.equal(done.error, 'States.TaskFailed');
    const events = await history(server.endpoint, started.executionArn);
    const scheduled = events.filter((e) => e.type === 'TaskScheduled');
    const failed = events.filter((e) => e.type === 'TaskFailed');
    assert.equal(scheduled.length, 3, 'one attempt and two retries');
    assert.equal(failed.length, 3);
    // The pause between a failure and the next attempt: 1 s, then 2 s (timestamps in seconds).
    const gaps = [0, 1].map((i) => scheduled[i + 1].timestamp - failed[i].timestamp);
    assert.ok(gaps[0] >= 1 && gaps[0] < 2.5, `first interval ${gaps[0]} s`);
    assert.ok(gaps[1] >= 2 && gaps[1] < 3.5, `second interval ${gaps[1]} s`);
    // .sync results and errors: the job's statusReason is the Cause.
    assert.match(failed[0].taskFailedEventDetails.cause, /Essential container in task exited|exit/i);
  });

  test('5. unsupported features are refused at create time, naming them', async () => {
    const jsonata = { QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Pass', End: true } } };
    cli.writeFile('jsonata.json', JSON.stringify(jsonata));
    let r = await cli.stepfunctions('create-state-machine', '--name', 'jsonata', '--definition', 'file://jsonata.json', '--role-arn', ROLE);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InvalidDefinition/);
    assert.match(r.stderr, /QueryLanguage: JSONata is not supported/);

    const lambda = { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f', End: true } } };
    cli.writeFile('lambda.json', JSON.stringify(lambda));
    r = await cli.stepfunctions('create-state-machine', '--name', 'lambda', '--definition', 'file://lambda.json', '--role-arn', ROLE);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InvalidDefinition/);
    assert.match(r.stderr, /Resource arn:aws:lambda:us-east-1:123456789012:function:f is not supported by OpenBatch/);

    const list = await cli.sfnOk('list-state-machines');
    assert.ok(!list.stateMachines.some((s: any) => s.name === 'jsonata' || s.name === 'lambda'), 'nothing was created');
  });

  test('API errors come back as Step Functions names them', async () => {
    const missing = 'arn:aws:states:us-east-1:000000000000:stateMachine:nope';
    let r = await cli.stepfunctions('start-execution', '--state-machine-arn', missing);
    assert.match(r.stderr, /StateMachineDoesNotExist/);
    r = await cli.stepfunctions('describe-execution', '--execution-arn', 'arn:aws:states:us-east-1:000000000000:execution:nope:x');
    assert.match(r.stderr, /ExecutionDoesNotExist/);
    r = await cli.stepfunctions('describe-state-machine', '--state-machine-arn', 'not-an-arn');
    assert.match(r.stderr, /InvalidArn/);
    r = await cli.stepfunctions('create-state-machine', '--name', 'bad name', '--definition', '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}', '--role-arn', ROLE);
    assert.match(r.stderr, /InvalidName/);
    const waiting = JSON.stringify({ StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 600, End: true } } });
    const { stateMachineArn } = await cli.sfnOk('create-state-machine', '--name', 'waiting', '--definition', waiting, '--role-arn', ROLE);
    r = await cli.stepfunctions('start-execution', '--state-machine-arn', stateMachineArn, '--name', 'run-1', '--input', '{"date":"x"}');
    assert.equal(r.code, 0, r.stderr);
    const again = await cli.stepfunctions('start-execution', '--state-machine-arn', stateMachineArn, '--name', 'run-1', '--input', '{"date":"y"}');
    assert.match(again.stderr, /ExecutionAlreadyExists/);
    r = await cli.stepfunctions('start-execution', '--state-machine-arn', stateMachineArn, '--input', '{not json');
    assert.match(r.stderr, /InvalidExecutionInput/);
    await cli.sfnOk('stop-execution', '--execution-arn', `arn:aws:states:us-east-1:000000000000:execution:waiting:run-1`);
  });

  test('StopExecution: the execution ends ABORTED and its running Batch job is terminated', async () => {
    const def = {
      StartAt: 'Sleep',
      States: {
        Sleep: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob.sync', Parameters: { JobName: 'sleeper', JobDefinition: 'sleeper', JobQueue: 'default-queue' }, End: true },
      },
    };
    cli.writeFile('sleeper.json', JSON.stringify(def));
    const created = await cli.sfnOk('create-state-machine', '--name', 'sleeper', '--definition', 'file://sleeper.json', '--role-arn', ROLE);
    const started = await cli.sfnOk('start-execution', '--state-machine-arn', created.stateMachineArn);
    const submitted = await waitFor('the job to be submitted', async () => (await history(server.endpoint, started.executionArn)).find((e) => e.type === 'TaskSubmitted'));
    const jobId = JSON.parse(submitted.taskSubmittedEventDetails.output).JobId;
    await cli.waitForStatus(jobId, 'RUNNING');
    const stopped = await cli.sfnOk('stop-execution', '--execution-arn', started.executionArn, '--error', 'Manual', '--cause', 'test');
    assert.ok(stopped.stopDate);
    const d = await cli.sfnOk('describe-execution', '--execution-arn', started.executionArn);
    assert.equal(d.status, 'ABORTED');
    assert.equal(d.error, 'Manual');
    const job = await cli.waitForStatus(jobId, 'FAILED');
    assert.equal(job.statusReason, 'Execution stopped');
    const events = await history(server.endpoint, started.executionArn);
    assert.equal(events.at(-1).type, 'ExecutionAborted');
  });
});
