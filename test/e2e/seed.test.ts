// The seed guide ("AWS Batch: Run Large-Scale Batch Computing Jobs on AWS (2026)") run against
// OpenBatch with the real AWS CLI v2: its request bodies, copied verbatim, must get the answers
// AWS gives. The guide is wrong about AWS in a few places; each is pointed out where it is tested:
//
//  1. gpu-spot-env: `"imageIdOverride": ""` is not a valid value (the model says 1 to 256
//     characters). The AWS CLI refuses it itself, before anything is sent (exit 252).
//  2. ml-training-job: `"action": "FAILED"` in retryStrategy.evaluateOnExit. AWS has only RETRY
//     and EXIT (EXIT is what the guide means); AWS answers ClientException and exit 254.
//  3. The submit-job example sends an EC2 job definition (ml-training-job has no
//     platformCapabilities, so EC2) to high-priority-queue, which the guide's Terraform puts in
//     front of a FARGATE_SPOT compute environment only. AWS rejects that:
//     "Job Queue is attached to Compute Environment that can not run Jobs with capability EC2."
//  4. The same example pins `ml-training-job:5`; that exists only after five registrations.
//
// Skipped, loudly, where /usr/bin/aws is not an AWS CLI v2 (apt-get install -y awscli).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, TestServer } from '../helpers/server.js';
import { AwsCli, announceSkip, awsCliSkipReason, clientExceptionLine, runIn } from '../helpers/aws.js';

const skip = announceSkip('test/e2e/seed.test.ts', awsCliSkipReason());

const SERVICE_ROLE = 'arn:aws:iam::123456789012:role/AWSBatchServiceRole';

// ---------------------------------------------------------------------------------------------
// The guide's text, verbatim (line breaks included).

/** `aws batch create-compute-environment --compute-environment-name spot-ml-env ...` */
const SPOT_ML_ENV_COMPUTE_RESOURCES = `{
"type": "SPOT",
"allocationStrategy": "SPOT_CAPACITY_OPTIMIZED",
"minvCpus": 0,
"maxvCpus": 2048,
"desiredvCpus": 0,
"instanceTypes": ["optimal"],
"subnets": ["subnet-abc123", "subnet-def456"],
"securityGroupIds": ["sg-xyz789"],
"instanceRole": "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole",
"bidPercentage": 60,
"spotIamFleetRole": "arn:aws:iam::123456789012:role/AmazonEC2SpotFleetRole",
"tags": {"Project": "ml-pipeline", "Env": "prod"}
}`;

/** `aws batch create-compute-environment --compute-environment-name gpu-spot-env ...` */
const GPU_SPOT_ENV_COMPUTE_RESOURCES = `{
"type": "SPOT",
"allocationStrategy": "SPOT_CAPACITY_OPTIMIZED",
"minvCpus": 0,
"maxvCpus": 512,
"instanceTypes": ["p3.2xlarge", "p3.8xlarge", "g4dn.xlarge", "g4dn.2xlarge", "g4dn.4xlarge"],
"subnets": ["subnet-abc123"],
"securityGroupIds": ["sg-gpu123"],
"instanceRole": "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole",
"bidPercentage": 70,
"spotIamFleetRole": "arn:aws:iam::123456789012:role/AmazonEC2SpotFleetRole",
"ec2Configuration": [
{
"imageType": "ECS_AL2_NVIDIA",
"imageIdOverride": ""
}
]
}`;

/** The guide's job-definition.json. */
const ML_TRAINING_JOB = `{
"jobDefinitionName": "ml-training-job",
"type": "container",
"containerProperties": {
"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-training:v1.2.0",
"vcpus": 4,
"memory": 16384,
"jobRoleArn": "arn:aws:iam::123456789012:role/BatchJobRole",
"executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
"command": ["python", "train.py", "--epochs", "50"],
"environment": [
{"name": "S3_INPUT_BUCKET", "value": "my-data-bucket"},
{"name": "S3_OUTPUT_BUCKET", "value": "my-results-bucket"},
{"name": "MODEL_TYPE", "value": "xgboost"}
],
"secrets": [
{
"name": "DB_PASSWORD",
"valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password"
}
],
"mountPoints": [
{"containerPath": "/tmp/scratch", "readOnly": false, "sourceVolume": "scratch"}
],
"volumes": [
{"name": "scratch", "host": {"sourcePath": "/tmp"}}
],
"logConfiguration": {
"logDriver": "awslogs",
"options": {
"awslogs-group": "/aws/batch/ml-training",
"awslogs-region": "us-east-1",
"awslogs-stream-prefix": "batch"
}
}
},
"retryStrategy": {
"attempts": 3,
"evaluateOnExit": [
{
"onStatusReason": "Host EC2 was terminated",
"action": "RETRY"
},
{
"onReason": "CannotPullContainerError*",
"action": "RETRY"
},
{
"onExitCode": "1",
"action": "FAILED"
}
]
},
"timeout": {
"attemptDurationSeconds": 7200
},
"tags": {
"Project": "ml-pipeline",
"Team": "data-science"
}
}
`;

/** The guide's GPU job definition. */
const PYTORCH_TRAINING_GPU = `{
"jobDefinitionName": "pytorch-training-gpu",
"type": "container",
"containerProperties": {
"image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-gpu-py310-cu121-ubuntu20.04-ec2",
"vcpus": 8,
"memory": 61440,
"jobRoleArn": "arn:aws:iam::123456789012:role/BatchJobRole",
"command": ["python", "train_distributed.py", "--batch-size", "256"],
"resourceRequirements": [
{
"type": "GPU",
"value": "1"
}
],
"environment": [
{"name": "NCCL_DEBUG", "value": "INFO"},
{"name": "CUDA_VISIBLE_DEVICES", "value": "0"}
],
"mountPoints": [
{"containerPath": "/dev/shm", "readOnly": false, "sourceVolume": "shm"}
],
"volumes": [
{"name": "shm", "host": {"sourcePath": "/dev/shm"}}
]
},
"retryStrategy": {"attempts": 2},
"timeout": {"attemptDurationSeconds": 86400}
}
`;

/** The guide's multi-node parallel job definition. */
const MPI_SIMULATION = `{
"jobDefinitionName": "mpi-simulation",
"type": "multinode",
"nodeProperties": {
"numNodes": 8,
"mainNode": 0,
"nodeRangeProperties": [
{
"targetNodes": "0:0",
"container": {
"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mpi-master:latest",
"vcpus": 32,
"memory": 131072,
"jobRoleArn": "arn:aws:iam::123456789012:role/BatchJobRole",
"command": ["/workspace/run_master.sh"],
"environment": [
{"name": "ROLE", "value": "master"},
{"name": "NUM_WORKERS", "value": "7"}
]
}
},
{
"targetNodes": "1:",
"container": {
"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mpi-worker:latest",
"vcpus": 32,
"memory": 131072,
"jobRoleArn": "arn:aws:iam::123456789012:role/BatchJobRole",
"command": ["/workspace/run_worker.sh"],
"environment": [
{"name": "ROLE", "value": "worker"}
]
}
}
]
},
"retryStrategy": {"attempts": 1},
"timeout": {"attemptDurationSeconds": 43200}
}
`;

/** The guide's `aws batch submit-job --job-name ml-training-run-001 ... --container-overrides '...'`. */
const ML_TRAINING_RUN_OVERRIDES = `{
"environment": [
{"name": "MODEL_TYPE", "value": "random-forest"},
{"name": "S3_INPUT_BUCKET", "value": "my-data-bucket"}
],
"command": ["python", "train.py", "--epochs", "100"]
}`;

// ---------------------------------------------------------------------------------------------

describe('the seed guide through the real AWS CLI v2', { skip }, () => {
  let server: TestServer;
  let aws: AwsCli;
  let fargateArn = '';

  before(async () => {
    server = await new TestServer().start();
    aws = new AwsCli(server.endpoint);
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
    aws?.cleanup();
  });

  test('(a) create-compute-environment spot-ml-env, exactly as written', async () => {
    const out = await aws.ok(
      'create-compute-environment',
      '--compute-environment-name', 'spot-ml-env',
      '--type', 'MANAGED',
      '--state', 'ENABLED',
      '--compute-resources', SPOT_ML_ENV_COMPUTE_RESOURCES,
      '--service-role', SERVICE_ROLE,
    );
    assert.equal(out.computeEnvironmentName, 'spot-ml-env');
    assert.match(out.computeEnvironmentArn, /^arn:aws:batch:us-east-1:\d{12}:compute-environment\/spot-ml-env$/);

    const ce = (await aws.ok('describe-compute-environments', '--compute-environments', 'spot-ml-env')).computeEnvironments[0];
    assert.equal(ce.type, 'MANAGED');
    assert.equal(ce.state, 'ENABLED');
    assert.equal(ce.status, 'VALID');
    assert.equal(ce.serviceRole, SERVICE_ROLE);
    const given = JSON.parse(SPOT_ML_ENV_COMPUTE_RESOURCES);
    for (const key of Object.keys(given)) assert.deepEqual(ce.computeResources[key], given[key], `computeResources.${key}`);
  });

  test('(b) gpu-spot-env: the CLI itself rejects the guide\'s "imageIdOverride": ""; without it, it is created', async () => {
    // Guide error 1: imageIdOverride must be 1-256 characters. The CLI validates that before
    // sending anything (exit 252, "Parameter validation failed"), as it would against AWS.
    const asWritten = await aws.batch(
      'create-compute-environment',
      '--compute-environment-name', 'gpu-spot-env',
      '--type', 'MANAGED',
      '--state', 'ENABLED',
      '--compute-resources', GPU_SPOT_ENV_COMPUTE_RESOURCES,
      '--service-role', SERVICE_ROLE,
    );
    assert.equal(asWritten.code, 252, asWritten.stderr);
    assert.match(asWritten.stderr, /Invalid length for parameter computeResources\.ec2Configuration\[0\]\.imageIdOverride, value: 0, valid min length: 1/);

    // The guide's body with the empty imageIdOverride left out (the AMI then comes from imageType).
    const fixed = JSON.parse(GPU_SPOT_ENV_COMPUTE_RESOURCES);
    delete fixed.ec2Configuration[0].imageIdOverride;
    const out = await aws.ok(
      'create-compute-environment',
      '--compute-environment-name', 'gpu-spot-env',
      '--type', 'MANAGED',
      '--state', 'ENABLED',
      '--compute-resources', JSON.stringify(fixed),
      '--service-role', SERVICE_ROLE,
    );
    assert.equal(out.computeEnvironmentName, 'gpu-spot-env');
    const ce = (await aws.ok('describe-compute-environments', '--compute-environments', 'gpu-spot-env')).computeEnvironments[0];
    assert.equal(ce.status, 'VALID');
    assert.deepEqual(ce.computeResources.instanceTypes, fixed.instanceTypes);
    assert.deepEqual(ce.computeResources.ec2Configuration, [{ imageType: 'ECS_AL2_NVIDIA' }]);
    assert.equal(ce.computeResources.bidPercentage, 70);
  });

  test(
    '(b) gpu-spot-env sent as written by a client that does not validate: ClientException, as from AWS',
    async () => {
      // The JS SDK v3 (and curl) send what they are given; the server has to say no itself.
      const res = await fetch(`${server.endpoint}/v1/createcomputeenvironment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          computeEnvironmentName: 'gpu-spot-env-raw',
          type: 'MANAGED',
          state: 'ENABLED',
          computeResources: JSON.parse(GPU_SPOT_ENV_COMPUTE_RESOURCES),
          serviceRole: SERVICE_ROLE,
        }),
      });
      const body = (await res.json()) as { message?: string };
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.headers.get('x-amzn-errortype')?.split(':')[0], 'ClientException');
      assert.match(body.message ?? '', /imageIdOverride/);
    },
  );

  test('(c) the Terraform: Fargate Spot compute environment and two queues in front of it', async () => {
    // aws_batch_compute_environment.fargate, with the variables filled in.
    const ce = await aws.ok(
      'create-compute-environment',
      '--compute-environment-name', 'fargate-batch-env',
      '--type', 'MANAGED',
      '--compute-resources', JSON.stringify({
        type: 'FARGATE_SPOT',
        maxvCpus: 256,
        subnets: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
        securityGroupIds: ['sg-0123456789abcdef0'],
      }),
      '--service-role', SERVICE_ROLE,
    );
    fargateArn = ce.computeEnvironmentArn;
    assert.match(fargateArn, /:compute-environment\/fargate-batch-env$/);

    for (const [name, priority] of [['default-queue', 10], ['high-priority-queue', 100]] as const) {
      const q = await aws.ok(
        'create-job-queue',
        '--job-queue-name', name,
        '--state', 'ENABLED',
        '--priority', String(priority),
        '--compute-environment-order', JSON.stringify([{ order: 1, computeEnvironment: fargateArn }]),
      );
      assert.equal(q.jobQueueName, name);
    }

    const queues = (await aws.ok('describe-job-queues', '--job-queues', 'default-queue', 'high-priority-queue')).jobQueues;
    const byName = Object.fromEntries(queues.map((q: any) => [q.jobQueueName, q]));
    assert.equal(byName['default-queue'].priority, 10);
    assert.equal(byName['high-priority-queue'].priority, 100);
    for (const q of queues) {
      assert.equal(q.state, 'ENABLED');
      assert.equal(q.status, 'VALID');
      assert.deepEqual(q.computeEnvironmentOrder, [{ order: 1, computeEnvironment: fargateArn }]);
    }

    const fce = (await aws.ok('describe-compute-environments', '--compute-environments', 'fargate-batch-env')).computeEnvironments[0];
    assert.equal(fce.computeResources.type, 'FARGATE_SPOT');
    assert.equal(fce.computeResources.maxvCpus, 256);

    // The guide's FAQ is right: Fargate and EC2 compute environments cannot share a queue.
    const mixed = await aws.batch(
      'create-job-queue',
      '--job-queue-name', 'mixed-queue',
      '--priority', '1',
      '--compute-environment-order', JSON.stringify([
        { order: 1, computeEnvironment: fargateArn },
        { order: 2, computeEnvironment: 'spot-ml-env' },
      ]),
    );
    assert.equal(mixed.code, 254, mixed.stderr);
    assert.match(mixed.stderr, clientExceptionLine('CreateJobQueue'));
  });

  test('(d) ml-training-job: the guide\'s file is rejected (action FAILED); with EXIT it registers as given', async () => {
    aws.writeFile('job-definition.json', ML_TRAINING_JOB);
    // Guide error 2: "action": "FAILED". AWS's actions are RETRY and EXIT only.
    const asWritten = await aws.batch('register-job-definition', '--cli-input-json', 'file://job-definition.json');
    assert.equal(asWritten.code, 254, asWritten.stderr);
    const m = clientExceptionLine('RegisterJobDefinition').exec(asWritten.stderr);
    assert.ok(m, asWritten.stderr);
    assert.ok(m[1].includes('retryStrategy.evaluateOnExit[2].action'), m[1]);
    assert.match(m[1], /FAILED/);
    assert.match(m[1], /\bEXIT\b/);
    // Nothing was registered.
    assert.deepEqual((await aws.ok('describe-job-definitions', '--job-definition-name', 'ml-training-job')).jobDefinitions, []);

    const fixedText = ML_TRAINING_JOB.replace('"action": "FAILED"', '"action": "EXIT"');
    assert.notEqual(fixedText, ML_TRAINING_JOB);
    aws.writeFile('job-definition.json', fixedText);
    const reg = await aws.ok('register-job-definition', '--cli-input-json', 'file://job-definition.json');
    assert.equal(reg.jobDefinitionName, 'ml-training-job');
    assert.equal(reg.revision, 1);
    assert.match(reg.jobDefinitionArn, /:job-definition\/ml-training-job:1$/);

    const given = JSON.parse(fixedText);
    const def = (await aws.ok('describe-job-definitions', '--job-definitions', 'ml-training-job:1')).jobDefinitions[0];
    assert.equal(def.status, 'ACTIVE');
    assert.equal(def.type, 'container');
    assert.deepEqual(def.retryStrategy, given.retryStrategy);
    assert.deepEqual(def.timeout, { attemptDurationSeconds: 7200 });
    assert.deepEqual(def.tags, { Project: 'ml-pipeline', Team: 'data-science' });
    const c = def.containerProperties;
    for (const key of ['image', 'vcpus', 'memory', 'jobRoleArn', 'executionRoleArn', 'command', 'environment', 'secrets', 'mountPoints', 'volumes', 'logConfiguration']) {
      assert.deepEqual(c[key], given.containerProperties[key], `containerProperties.${key}`);
    }
  });

  test('(e) pytorch-training-gpu and mpi-simulation register', async () => {
    aws.writeFile('gpu-job-definition.json', PYTORCH_TRAINING_GPU);
    aws.writeFile('mpi-job-definition.json', MPI_SIMULATION);

    const gpu = await aws.ok('register-job-definition', '--cli-input-json', 'file://gpu-job-definition.json');
    assert.equal(gpu.jobDefinitionName, 'pytorch-training-gpu');
    assert.equal(gpu.revision, 1);
    const gpuDef = (await aws.ok('describe-job-definitions', '--job-definitions', 'pytorch-training-gpu:1')).jobDefinitions[0];
    const gpuGiven = JSON.parse(PYTORCH_TRAINING_GPU);
    assert.deepEqual(gpuDef.containerProperties.resourceRequirements, [{ type: 'GPU', value: '1' }]);
    assert.deepEqual(gpuDef.containerProperties.volumes, gpuGiven.containerProperties.volumes);
    assert.deepEqual(gpuDef.retryStrategy, { attempts: 2 });
    assert.deepEqual(gpuDef.timeout, { attemptDurationSeconds: 86400 });

    const mpi = await aws.ok('register-job-definition', '--cli-input-json', 'file://mpi-job-definition.json');
    assert.equal(mpi.jobDefinitionName, 'mpi-simulation');
    assert.equal(mpi.revision, 1);
    const mpiDef = (await aws.ok('describe-job-definitions', '--job-definitions', 'mpi-simulation:1')).jobDefinitions[0];
    const mpiGiven = JSON.parse(MPI_SIMULATION);
    assert.equal(mpiDef.type, 'multinode');
    assert.equal(mpiDef.nodeProperties.numNodes, 8);
    assert.equal(mpiDef.nodeProperties.mainNode, 0);
    assert.deepEqual(
      mpiDef.nodeProperties.nodeRangeProperties.map((r: any) => [r.targetNodes, r.container.command, r.container.environment]),
      mpiGiven.nodeProperties.nodeRangeProperties.map((r: any) => [r.targetNodes, r.container.command, r.container.environment]),
    );
  });

  test('(f) the guide\'s submit-job: refused on the Fargate queue, accepted on an EC2 queue; echo ok SUCCEEDS', async () => {
    assert.ok(fargateArn, '(c) must have run first');
    // Guide error 4: ml-training-job:5 exists only after five registrations (revisions 2-5 of
    // the corrected file; job-definition.json is the EXIT version written by (d)).
    for (let revision = 2; revision <= 5; revision++) {
      const reg = await aws.ok('register-job-definition', '--cli-input-json', 'file://job-definition.json');
      assert.equal(reg.revision, revision);
    }

    // Guide error 3: high-priority-queue is Fargate-only and ml-training-job is an EC2 job
    // definition (no platformCapabilities). AWS: ClientException, this message.
    const guideSubmit = (queue: string) => [
      'submit-job',
      '--job-name', 'ml-training-run-001',
      '--job-queue', queue,
      '--job-definition', 'ml-training-job:5',
      '--container-overrides', ML_TRAINING_RUN_OVERRIDES,
    ];
    const refused = await aws.batch(...guideSubmit('high-priority-queue'));
    assert.equal(refused.code, 254, refused.stderr);
    const m = clientExceptionLine('SubmitJob').exec(refused.stderr);
    assert.ok(m, refused.stderr);
    assert.ok(m[1].startsWith('Job Queue is attached to Compute Environment that can not run Jobs with capability EC2.'), m[1]);

    // The same submit to a queue in front of the guide's EC2 Spot compute environment works.
    await aws.ok(
      'create-job-queue',
      '--job-queue-name', 'spot-ml-queue',
      '--priority', '10',
      '--compute-environment-order', JSON.stringify([{ order: 1, computeEnvironment: 'spot-ml-env' }]),
    );
    const accepted = await aws.ok(...guideSubmit('spot-ml-queue'));
    assert.equal(accepted.jobName, 'ml-training-run-001');
    assert.match(accepted.jobId, /^[0-9a-f-]{36}$/);
    const job = await aws.describeJob(accepted.jobId);
    assert.match(job.jobDefinition, /:job-definition\/ml-training-job:5$/);
    assert.deepEqual(job.container.command, ['python', 'train.py', '--epochs', '100']);
    const env = Object.fromEntries(job.container.environment.map((e: any) => [e.name, e.value]));
    assert.equal(env.MODEL_TYPE, 'random-forest'); // overridden
    assert.equal(env.S3_INPUT_BUCKET, 'my-data-bucket');
    assert.equal(env.S3_OUTPUT_BUCKET, 'my-results-bucket'); // from the definition
    // There is no train.py here; stop the job rather than watch it fail and retry.
    await aws.ok('terminate-job', '--job-id', accepted.jobId, '--reason', 'seed test: no train.py here');
    await aws.waitForStatus(accepted.jobId, 'FAILED');

    // A job of the guide's definition with a command this machine can run. Its size is
    // overridden too: the definition's 16384 MiB may be more than a test machine has, and a job
    // that can never fit would stay RUNNABLE. The definition's Secrets Manager secret comes from
    // the data dir's secrets.json (without it the job would fail to start, as on AWS).
    fs.writeFileSync(
      path.join(server.dataDir, 'secrets.json'),
      JSON.stringify({ 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password': 'from-secrets-json' }),
    );
    const ok = await aws.ok(
      'submit-job',
      '--job-name', 'ml-training-echo-ok',
      '--job-queue', 'spot-ml-queue',
      '--job-definition', 'ml-training-job:5',
      '--container-overrides', JSON.stringify({
        command: ['sh', '-c', 'echo ok; [ "$DB_PASSWORD" = from-secrets-json ]'],
        resourceRequirements: [
          { type: 'VCPU', value: '1' },
          { type: 'MEMORY', value: '256' },
        ],
      }),
    );
    const done = await aws.waitForStatus(ok.jobId, 'SUCCEEDED');
    assert.equal(done.container.exitCode, 0);
    const logs = await runIn(process.execPath, [CLI, 'logs', ok.jobId, '--endpoint-url', server.endpoint], aws.env(), aws.cwd);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, 'ok\n');
  });
});
