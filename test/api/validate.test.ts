// Request validation for the Batch API: model checks (validate.ts) and AWS's documented rules
// (rules.ts). Table-driven: each row is an operation, an input, and "ok" or the expected message
// (an exact string or a RegExp).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { isBatchError } from '../../src/core/errors.js';
import {
  MAX_JOB_DEFINITION_BYTES,
  MAX_SUBMIT_JOB_BYTES,
  validateInput,
  validateModel,
} from '../../src/api/batch/validate.js';

type Json = Record<string, unknown>;

interface Row {
  name: string;
  op: string;
  input: unknown;
  expect: 'ok' | string | RegExp;
}

function run(rows: Row[]): void {
  for (const row of rows) {
    test(row.name, () => {
      let error: unknown;
      try {
        validateInput(row.op, row.input);
      } catch (e) {
        error = e;
      }
      if (row.expect === 'ok') {
        assert.equal(error, undefined, `expected ok, got: ${(error as Error | undefined)?.message}`);
        return;
      }
      assert.ok(error !== undefined, 'expected a ClientException, got none');
      assert.ok(isBatchError(error), `expected a BatchError, got ${String(error)}`);
      assert.equal(error.code, 'ClientException');
      assert.equal(error.httpStatus, 400);
      if (typeof row.expect === 'string') assert.equal(error.message, row.expect);
      else assert.match(error.message, row.expect);
    });
  }
}

const clone = <T>(v: T): T => structuredClone(v);

// ---------------------------------------------------------------------------------------------
// The seed guide's bodies (/work/shared/seed/000_86390bc58e1564d3.txt)

const ACCOUNT = '123456789012';
const FARGATE_CE_ARN = `arn:aws:batch:us-east-1:${ACCOUNT}:compute-environment/fargate-batch-env`;

const spotMlEnv: Json = {
  computeEnvironmentName: 'spot-ml-env',
  type: 'MANAGED',
  state: 'ENABLED',
  computeResources: {
    type: 'SPOT',
    allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED',
    minvCpus: 0,
    maxvCpus: 2048,
    desiredvCpus: 0,
    instanceTypes: ['optimal'],
    subnets: ['subnet-abc123', 'subnet-def456'],
    securityGroupIds: ['sg-xyz789'],
    instanceRole: `arn:aws:iam::${ACCOUNT}:instance-profile/ecsInstanceRole`,
    bidPercentage: 60,
    spotIamFleetRole: `arn:aws:iam::${ACCOUNT}:role/AmazonEC2SpotFleetRole`,
    tags: { Project: 'ml-pipeline', Env: 'prod' },
  },
  serviceRole: `arn:aws:iam::${ACCOUNT}:role/AWSBatchServiceRole`,
};

const gpuSpotEnv: Json = {
  computeEnvironmentName: 'gpu-spot-env',
  type: 'MANAGED',
  state: 'ENABLED',
  computeResources: {
    type: 'SPOT',
    allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED',
    minvCpus: 0,
    maxvCpus: 512,
    instanceTypes: ['p3.2xlarge', 'p3.8xlarge', 'g4dn.xlarge', 'g4dn.2xlarge', 'g4dn.4xlarge'],
    subnets: ['subnet-abc123'],
    securityGroupIds: ['sg-gpu123'],
    instanceRole: `arn:aws:iam::${ACCOUNT}:instance-profile/ecsInstanceRole`,
    bidPercentage: 70,
    spotIamFleetRole: `arn:aws:iam::${ACCOUNT}:role/AmazonEC2SpotFleetRole`,
    ec2Configuration: [{ imageType: 'ECS_AL2_NVIDIA', imageIdOverride: '' }],
  },
  serviceRole: `arn:aws:iam::${ACCOUNT}:role/AWSBatchServiceRole`,
};

// Terraform aws_batch_compute_environment "fargate" as the provider sends it.
const fargateEnv: Json = {
  computeEnvironmentName: 'fargate-batch-env',
  type: 'MANAGED',
  computeResources: {
    type: 'FARGATE_SPOT',
    maxvCpus: 256,
    subnets: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
    securityGroupIds: ['sg-0123456789abcdef0'],
  },
  serviceRole: `arn:aws:iam::${ACCOUNT}:role/batch-service`,
};

const defaultQueue: Json = {
  jobQueueName: 'default-queue',
  state: 'ENABLED',
  priority: 10,
  computeEnvironmentOrder: [{ order: 1, computeEnvironment: FARGATE_CE_ARN }],
};

const highPriorityQueue: Json = {
  jobQueueName: 'high-priority-queue',
  state: 'ENABLED',
  priority: 100,
  computeEnvironmentOrder: [{ order: 1, computeEnvironment: FARGATE_CE_ARN }],
};

const smartCostQueue: Json = {
  jobQueueName: 'smart-cost-queue',
  state: 'ENABLED',
  priority: 10,
  computeEnvironmentOrder: [
    { order: 1, computeEnvironment: `arn:aws:batch:us-east-1:${ACCOUNT}:compute-environment/spot` },
    { order: 2, computeEnvironment: `arn:aws:batch:us-east-1:${ACCOUNT}:compute-environment/on-demand` },
  ],
};

/** The guide's ml-training-job definition, verbatim: its last rule's action is "FAILED". */
const mlTrainingJobAsPublished: Json = {
  jobDefinitionName: 'ml-training-job',
  type: 'container',
  containerProperties: {
    image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/ml-training:v1.2.0`,
    vcpus: 4,
    memory: 16384,
    jobRoleArn: `arn:aws:iam::${ACCOUNT}:role/BatchJobRole`,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecsTaskExecutionRole`,
    command: ['python', 'train.py', '--epochs', '50'],
    environment: [
      { name: 'S3_INPUT_BUCKET', value: 'my-data-bucket' },
      { name: 'S3_OUTPUT_BUCKET', value: 'my-results-bucket' },
      { name: 'MODEL_TYPE', value: 'xgboost' },
    ],
    secrets: [
      {
        name: 'DB_PASSWORD',
        valueFrom: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db-password`,
      },
    ],
    mountPoints: [{ containerPath: '/tmp/scratch', readOnly: false, sourceVolume: 'scratch' }],
    volumes: [{ name: 'scratch', host: { sourcePath: '/tmp' } }],
    logConfiguration: {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': '/aws/batch/ml-training',
        'awslogs-region': 'us-east-1',
        'awslogs-stream-prefix': 'batch',
      },
    },
  },
  retryStrategy: {
    attempts: 3,
    evaluateOnExit: [
      { onStatusReason: 'Host EC2 was terminated', action: 'RETRY' },
      { onReason: 'CannotPullContainerError*', action: 'RETRY' },
      { onExitCode: '1', action: 'FAILED' },
    ],
  },
  timeout: { attemptDurationSeconds: 7200 },
  tags: { Project: 'ml-pipeline', Team: 'data-science' },
};

/** The same with the last rule fixed to EXIT. */
function mlTrainingJob(): Json {
  const jd = clone(mlTrainingJobAsPublished);
  ((jd.retryStrategy as Json).evaluateOnExit as Json[])[2]!.action = 'EXIT';
  return jd;
}

const pytorchTrainingGpu: Json = {
  jobDefinitionName: 'pytorch-training-gpu',
  type: 'container',
  containerProperties: {
    image: '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-gpu-py310-cu121-ubuntu20.04-ec2',
    vcpus: 8,
    memory: 61440,
    jobRoleArn: `arn:aws:iam::${ACCOUNT}:role/BatchJobRole`,
    command: ['python', 'train_distributed.py', '--batch-size', '256'],
    resourceRequirements: [{ type: 'GPU', value: '1' }],
    environment: [
      { name: 'NCCL_DEBUG', value: 'INFO' },
      { name: 'CUDA_VISIBLE_DEVICES', value: '0' },
    ],
    mountPoints: [{ containerPath: '/dev/shm', readOnly: false, sourceVolume: 'shm' }],
    volumes: [{ name: 'shm', host: { sourcePath: '/dev/shm' } }],
  },
  retryStrategy: { attempts: 2 },
  timeout: { attemptDurationSeconds: 86400 },
};

const mpiSimulation: Json = {
  jobDefinitionName: 'mpi-simulation',
  type: 'multinode',
  nodeProperties: {
    numNodes: 8,
    mainNode: 0,
    nodeRangeProperties: [
      {
        targetNodes: '0:0',
        container: {
          image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/mpi-master:latest`,
          vcpus: 32,
          memory: 131072,
          jobRoleArn: `arn:aws:iam::${ACCOUNT}:role/BatchJobRole`,
          command: ['/workspace/run_master.sh'],
          environment: [
            { name: 'ROLE', value: 'master' },
            { name: 'NUM_WORKERS', value: '7' },
          ],
        },
      },
      {
        targetNodes: '1:',
        container: {
          image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/mpi-worker:latest`,
          vcpus: 32,
          memory: 131072,
          jobRoleArn: `arn:aws:iam::${ACCOUNT}:role/BatchJobRole`,
          command: ['/workspace/run_worker.sh'],
          environment: [{ name: 'ROLE', value: 'worker' }],
        },
      },
    ],
  },
  retryStrategy: { attempts: 1 },
  timeout: { attemptDurationSeconds: 43200 },
};

const INGEST_JOB_ID = '876da822-4198-45f2-a252-6cea32512ea8';
const TRANSFORM_JOB_ID = '4c7599ae-0a82-49aa-ba5a-4727fcce14a8';

const submitTraining: Json = {
  jobName: 'ml-training-run-001',
  jobQueue: 'high-priority-queue',
  jobDefinition: 'ml-training-job:5',
  containerOverrides: {
    environment: [
      { name: 'MODEL_TYPE', value: 'random-forest' },
      { name: 'S3_INPUT_BUCKET', value: 'my-data-bucket' },
    ],
    command: ['python', 'train.py', '--epochs', '100'],
  },
};

const submitArray: Json = {
  jobName: 'parallel-feature-extraction',
  jobQueue: 'default-queue',
  jobDefinition: 'feature-extractor:3',
  arrayProperties: { size: 1000 },
};

const submitIngest: Json = {
  jobName: 'ingest-raw-data',
  jobQueue: 'default-queue',
  jobDefinition: 'data-ingest:2',
  containerOverrides: { environment: [{ name: 'DATE', value: '2026-06-09' }] },
};

const submitTransform: Json = {
  jobName: 'transform-data',
  jobQueue: 'default-queue',
  jobDefinition: 'data-transform:4',
  dependsOn: [{ jobId: INGEST_JOB_ID, type: 'SEQUENTIAL' }],
  arrayProperties: { size: 50 },
};

const submitAggregate: Json = {
  jobName: 'aggregate-results',
  jobQueue: 'default-queue',
  jobDefinition: 'data-aggregate:1',
  dependsOn: [{ jobId: TRANSFORM_JOB_ID, type: 'SEQUENTIAL' }],
};

// ---------------------------------------------------------------------------------------------
// Helpers to derive error rows from valid bodies

/** A deep copy of `base` with `edit` applied to it. */
function edit(base: Json, change: (copy: any) => void): Json {
  const copy = clone(base);
  change(copy);
  return copy;
}

const minimalJd: Json = {
  jobDefinitionName: 'jd',
  type: 'container',
  containerProperties: { image: 'busybox', command: ['echo', 'hi'] },
};
const minimalSubmit: Json = { jobName: 'job-1', jobQueue: 'q', jobDefinition: 'jd' };
const jobQueueArn = `arn:aws:batch:us-east-1:${ACCOUNT}:job-queue/default-queue`;

function jdWith(change: (jd: any) => void): Json {
  return edit(minimalJd, change);
}
function submitWith(change: (s: any) => void): Json {
  return edit(minimalSubmit, change);
}
function evaluateOnExit(...rules: Json[]): Json {
  return jdWith((jd) => (jd.retryStrategy = { attempts: 3, evaluateOnExit: rules }));
}
function tagsOf(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]));
}

const FAILED_ACTION_MESSAGE =
  'Invalid value for parameter retryStrategy.evaluateOnExit[2].action: "FAILED" is not a valid action; ' +
  'valid actions are RETRY and EXIT (use EXIT to stop retrying and fail the job)';

// ---------------------------------------------------------------------------------------------

describe('seed guide bodies', () => {
  run([
    { name: 'create-compute-environment spot-ml-env', op: 'CreateComputeEnvironment', input: spotMlEnv, expect: 'ok' },
    {
      // The guide's "imageIdOverride": "" breaks the model's 1-256 length (the AWS CLI refuses it too).
      name: 'create-compute-environment gpu-spot-env as written',
      op: 'CreateComputeEnvironment',
      input: gpuSpotEnv,
      expect: 'Invalid value for parameter computeResources.ec2Configuration[0].imageIdOverride: must be 1 to 256 characters long, got 0; leave it out to use the default',
    },
    { name: 'Terraform Fargate Spot compute environment', op: 'CreateComputeEnvironment', input: fargateEnv, expect: 'ok' },
    { name: 'Terraform default-queue (priority 10)', op: 'CreateJobQueue', input: defaultQueue, expect: 'ok' },
    { name: 'Terraform high-priority-queue (priority 100)', op: 'CreateJobQueue', input: highPriorityQueue, expect: 'ok' },
    { name: 'Terraform smart-cost-queue (two compute environments)', op: 'CreateJobQueue', input: smartCostQueue, expect: 'ok' },
    {
      name: 'ml-training-job as published (action FAILED) is rejected, naming field and value and suggesting EXIT',
      op: 'RegisterJobDefinition',
      input: mlTrainingJobAsPublished,
      expect: FAILED_ACTION_MESSAGE,
    },
    { name: 'ml-training-job with EXIT', op: 'RegisterJobDefinition', input: mlTrainingJob(), expect: 'ok' },
    { name: 'pytorch-training-gpu', op: 'RegisterJobDefinition', input: pytorchTrainingGpu, expect: 'ok' },
    { name: 'mpi-simulation (multinode)', op: 'RegisterJobDefinition', input: mpiSimulation, expect: 'ok' },
    { name: 'submit-job with container overrides', op: 'SubmitJob', input: submitTraining, expect: 'ok' },
    { name: 'submit-job array of 1000', op: 'SubmitJob', input: submitArray, expect: 'ok' },
    { name: 'boto3 ingest-raw-data', op: 'SubmitJob', input: submitIngest, expect: 'ok' },
    { name: 'boto3 transform-data (SEQUENTIAL on a jobId, array of 50)', op: 'SubmitJob', input: submitTransform, expect: 'ok' },
    { name: 'boto3 aggregate-results (SEQUENTIAL on a jobId)', op: 'SubmitJob', input: submitAggregate, expect: 'ok' },
  ]);

  test('the published ml-training-job is not modified by validation', () => {
    const before = JSON.stringify(mlTrainingJobAsPublished);
    assert.throws(() => validateInput('RegisterJobDefinition', mlTrainingJobAsPublished));
    assert.equal(JSON.stringify(mlTrainingJobAsPublished), before);
  });

  test('the seed bodies fit the size limits', () => {
    assert.equal(MAX_JOB_DEFINITION_BYTES, 24 * 1024);
    assert.equal(MAX_SUBMIT_JOB_BYTES, 30 * 1024);
    for (const jd of [mlTrainingJob(), pytorchTrainingGpu, mpiSimulation]) {
      assert.ok(Buffer.byteLength(JSON.stringify(jd)) <= MAX_JOB_DEFINITION_BYTES);
    }
    assert.ok(Buffer.byteLength(JSON.stringify(submitTraining)) <= MAX_SUBMIT_JOB_BYTES);
  });
});

describe('model checks', () => {
  run([
    { name: 'input must be an object (array)', op: 'SubmitJob', input: [], expect: 'Invalid type for parameter input: expected a JSON object, got a list (JSON array)' },
    { name: 'input must be an object (null)', op: 'SubmitJob', input: null, expect: 'Invalid type for parameter input: expected a JSON object, got null' },
    { name: 'input must be an object (string)', op: 'DescribeJobs', input: 'x', expect: 'Invalid type for parameter input: expected a JSON object, got the string "x"' },
    { name: 'unknown operation', op: 'LaunchRocket', input: {}, expect: 'Unknown operation: LaunchRocket' },
    { name: 'operation names are exact', op: 'submitJob', input: minimalSubmit, expect: 'Unknown operation: submitJob' },
    { name: 'required member missing', op: 'SubmitJob', input: { jobName: 'a', jobDefinition: 'd' }, expect: 'Missing required parameter: jobQueue' },
    { name: 'required member null counts as missing', op: 'SubmitJob', input: { ...minimalSubmit, jobQueue: null }, expect: 'Missing required parameter: jobQueue' },
    { name: 'optional member null is ignored', op: 'SubmitJob', input: { ...minimalSubmit, timeout: null, tags: null }, expect: 'ok' },
    {
      name: 'unpaired surrogate in a string',
      op: 'CancelJob',
      input: { jobId: 'j', reason: 'bad \ud800 reason' },
      expect: 'Invalid value for parameter reason: "bad \\ud800 reason" is not valid Unicode (it contains an unpaired surrogate, such as the JSON escape \\ud800 alone)',
    },
    { name: 'unpaired low surrogate in a nested string', op: 'SubmitJob', input: submitWith((s) => (s.containerOverrides = { command: ['echo', '\udc00'] })), expect: /^Invalid value for parameter containerOverrides\.command\[1\]: .* is not valid Unicode/ },
    { name: 'unpaired surrogate in a map key', op: 'SubmitJob', input: { ...minimalSubmit, tags: { 'k\udbff': 'v' } }, expect: /^Invalid key for parameter tags: "k\\udbff" is not valid Unicode/ },
    { name: 'surrogate pairs (emoji) are fine', op: 'SubmitJob', input: { ...minimalSubmit, tags: { '😀': 'v😀' } }, expect: 'ok' },
    {
      name: 'nested required member missing',
      op: 'SubmitJob',
      input: submitWith((s) => (s.containerOverrides = { resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY' }] })),
      expect: 'Missing required parameter: containerOverrides.resourceRequirements[1].value',
    },
    {
      name: 'required evaluateOnExit action missing',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onExitCode: '1' }),
      expect: 'Missing required parameter: retryStrategy.evaluateOnExit[0].action',
    },
    { name: 'empty body for an operation without required members', op: 'DescribeJobQueues', input: {}, expect: 'ok' },
    {
      name: 'unknown top-level member',
      op: 'CancelJob',
      input: { jobId: 'j', reason: 'r', force: true },
      expect: 'Unknown parameter in input: "force", must be one of: jobId, reason',
    },
    {
      name: 'unknown nested member (path with index)',
      op: 'SubmitJob',
      input: submitWith((s) => (s.containerOverrides = { environment: [{ name: 'A', value: '1' }, { nam: 'B' }] })),
      expect: 'Unknown parameter in containerOverrides.environment[1]: "nam", must be one of: name, value',
    },
    {
      name: 'PascalCase (Step Functions) members are unknown',
      op: 'SubmitJob',
      input: { JobName: 'ingest-data', JobDefinition: 'data-ingest:2', JobQueue: 'default-queue' },
      expect: /^Unknown parameter in input: "JobName", must be one of: jobName, jobQueue, /,
    },
    {
      name: 'string member given a number',
      op: 'SubmitJob',
      input: { ...minimalSubmit, jobName: 42 },
      expect: 'Invalid type for parameter jobName: expected a string, got the number 42',
    },
    {
      name: 'integer member given a string',
      op: 'SubmitJob',
      input: submitWith((s) => (s.containerOverrides = { vcpus: '2' })),
      expect: 'Invalid type for parameter containerOverrides.vcpus: expected an integer, got the string "2"',
    },
    {
      name: 'integer member given a fraction',
      op: 'SubmitJob',
      input: submitWith((s) => (s.containerOverrides = { memory: 512.5 })),
      expect: 'Invalid type for parameter containerOverrides.memory: expected an integer, got the number 512.5',
    },
    {
      name: 'integer out of 32-bit range',
      op: 'CreateJobQueue',
      input: { ...defaultQueue, priority: 2 ** 31 },
      expect: 'Invalid value for parameter priority: 2147483648 is out of range; it must be between -2147483648 and 2147483647',
    },
    {
      name: 'long member given a string',
      op: 'UpdateComputeEnvironment',
      input: { computeEnvironment: 'ce', updatePolicy: { jobExecutionTimeoutMinutes: '30' } },
      expect: 'Invalid type for parameter updatePolicy.jobExecutionTimeoutMinutes: expected an integer, got the string "30"',
    },
    {
      name: 'float member given a string',
      op: 'CreateSchedulingPolicy',
      input: { name: 'sp', fairsharePolicy: { shareDistribution: [{ shareIdentifier: 'a', weightFactor: '0.5' }] } },
      expect: 'Invalid type for parameter fairsharePolicy.shareDistribution[0].weightFactor: expected a number, got the string "0.5"',
    },
    {
      name: 'float member accepts a fraction',
      op: 'CreateSchedulingPolicy',
      input: { name: 'sp', fairsharePolicy: { shareDistribution: [{ shareIdentifier: 'a', weightFactor: 0.5 }] } },
      expect: 'ok',
    },
    {
      name: 'boolean member given a string',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.propagateTags = 'true')),
      expect: 'Invalid type for parameter propagateTags: expected a boolean, got the string "true"',
    },
    {
      name: 'list member given a string',
      op: 'SubmitJob',
      input: submitWith((s) => (s.containerOverrides = { command: 'python train.py' })),
      expect: 'Invalid type for parameter containerOverrides.command: expected a list (JSON array), got the string "python train.py"',
    },
    {
      name: 'list element of the wrong type',
      op: 'SubmitJob',
      input: submitWith((s) => (s.containerOverrides = { command: ['sleep', 60] })),
      expect: 'Invalid type for parameter containerOverrides.command[1]: expected a string, got the number 60',
    },
    {
      name: 'map member given a list',
      op: 'SubmitJob',
      input: { ...minimalSubmit, parameters: [{ name: 'a', value: 'b' }] },
      expect: 'Invalid type for parameter parameters: expected a map (JSON object), got a list (JSON array)',
    },
    {
      name: 'map values must be strings',
      op: 'SubmitJob',
      input: { ...minimalSubmit, parameters: { epochs: 50 } },
      expect: 'Invalid type for parameter parameters.epochs: expected a string, got the number 50',
    },
    {
      name: 'map keys that are not identifiers are quoted in the path',
      op: 'CreateComputeEnvironment',
      input: edit(fargateEnv, (ce) => (ce.tags = { 'cost center': 7 })),
      expect: 'Invalid type for parameter tags["cost center"]: expected a string, got the number 7',
    },
    {
      name: 'structure member given a string',
      op: 'SubmitJob',
      input: { ...minimalSubmit, timeout: '3600' },
      expect: 'Invalid type for parameter timeout: expected a structure (JSON object), got the string "3600"',
    },
    {
      name: 'deep path into MNP node containers',
      op: 'RegisterJobDefinition',
      input: edit(mpiSimulation, (jd) => (jd.nodeProperties.nodeRangeProperties[1].container.vcpus = '32')),
      expect: 'Invalid type for parameter nodeProperties.nodeRangeProperties[1].container.vcpus: expected an integer, got the string "32"',
    },
    {
      name: 'computeResources.subnets is not required (current AWS)',
      op: 'CreateComputeEnvironment',
      input: edit(fargateEnv, (ce) => delete ce.computeResources.subnets),
      expect: 'ok',
    },
    {
      name: 'computeResources.maxvCpus is required',
      op: 'CreateComputeEnvironment',
      input: edit(fargateEnv, (ce) => delete ce.computeResources.maxvCpus),
      expect: 'Missing required parameter: computeResources.maxvCpus',
    },
    {
      name: 'CreateJobQueue needs computeEnvironmentOrder (v2 model)',
      op: 'CreateJobQueue',
      input: edit(defaultQueue, (q) => delete q.computeEnvironmentOrder),
      expect: 'Missing required parameter: computeEnvironmentOrder',
    },
    {
      name: 'uri member (resourceArn) merged into the input is validated',
      op: 'ListTagsForResource',
      input: { resourceArn: 7 },
      expect: 'Invalid type for parameter resourceArn: expected a string, got the number 7',
    },
    {
      name: 'querystring list member (tagKeys) must be a list',
      op: 'UntagResource',
      input: { resourceArn: jobQueueArn, tagKeys: 'Env' },
      expect: 'Invalid type for parameter tagKeys: expected a list (JSON array), got the string "Env"',
    },
  ]);

  test('validateModel applies the model only', () => {
    assert.doesNotThrow(() => validateModel('RegisterJobDefinition', mlTrainingJobAsPublished));
    assert.throws(() => validateModel('SubmitJob', {}), /Missing required parameter: jobName/);
  });
});

describe('rules: names', () => {
  run([
    {
      name: 'computeEnvironmentName with a space',
      op: 'CreateComputeEnvironment',
      input: { ...fargateEnv, computeEnvironmentName: 'my env' },
      expect:
        'Invalid value for parameter computeEnvironmentName: Provided name my env is not supported pattern[a-zA-Z_0-9-]{1,128} (1 to 128 letters, numbers, hyphens and underscores)',
    },
    {
      name: 'computeEnvironmentName given as an ARN',
      op: 'CreateComputeEnvironment',
      input: { ...fargateEnv, computeEnvironmentName: FARGATE_CE_ARN },
      expect: /^Invalid value for parameter computeEnvironmentName: Provided name arn:aws:batch:.* is not supported pattern/,
    },
    {
      name: 'computeEnvironmentName too long',
      op: 'CreateComputeEnvironment',
      input: { ...fargateEnv, computeEnvironmentName: 'a'.repeat(129) },
      expect: /^Invalid value for parameter computeEnvironmentName: Provided name a+ is not supported pattern/,
    },
    { name: 'computeEnvironmentName of 128 characters', op: 'CreateComputeEnvironment', input: { ...fargateEnv, computeEnvironmentName: 'a'.repeat(128) }, expect: 'ok' },
    {
      name: 'computeEnvironmentName empty',
      op: 'CreateComputeEnvironment',
      input: { ...fargateEnv, computeEnvironmentName: '' },
      expect: /^Invalid value for parameter computeEnvironmentName: Provided name {2}is not supported pattern/,
    },
    {
      name: 'jobQueueName with a dot',
      op: 'CreateJobQueue',
      input: { ...defaultQueue, jobQueueName: 'queue.v2' },
      expect: /^Invalid value for parameter jobQueueName: Provided name queue\.v2 is not supported pattern\[a-zA-Z_0-9-\]\{1,128\}/,
    },
    {
      name: 'jobDefinitionName with a colon',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.jobDefinitionName = 'ml-training-job:5')),
      expect: /^Invalid value for parameter jobDefinitionName: Provided name ml-training-job:5 is not supported pattern/,
    },
    {
      name: 'DescribeJobDefinitions jobDefinitionName filter',
      op: 'DescribeJobDefinitions',
      input: { jobDefinitionName: 'bad name' },
      expect: /^Invalid value for parameter jobDefinitionName: Provided name bad name/,
    },
    { name: 'jobName starting with a letter', op: 'SubmitJob', input: { ...minimalSubmit, jobName: 'Run_1-a' }, expect: 'ok' },
    { name: 'jobName starting with a digit', op: 'SubmitJob', input: { ...minimalSubmit, jobName: '1st-run' }, expect: 'ok' },
    {
      name: 'jobName starting with a hyphen',
      op: 'SubmitJob',
      input: { ...minimalSubmit, jobName: '-run' },
      expect:
        'Invalid value for parameter jobName: "-run" does not match the job name pattern: up to 128 characters, the first a letter or number, the rest letters, numbers, hyphens (-) and underscores (_)',
    },
    { name: 'jobName with a space', op: 'SubmitJob', input: { ...minimalSubmit, jobName: 'my job' }, expect: /^Invalid value for parameter jobName: "my job" does not match/ },
    { name: 'jobName of 129 characters', op: 'SubmitJob', input: { ...minimalSubmit, jobName: 'j'.repeat(129) }, expect: /^Invalid value for parameter jobName: / },
    { name: 'jobName of 128 characters', op: 'SubmitJob', input: { ...minimalSubmit, jobName: 'j'.repeat(128) }, expect: 'ok' },
    { name: 'jobName empty', op: 'SubmitJob', input: { ...minimalSubmit, jobName: '' }, expect: /^Invalid value for parameter jobName: "" does not match/ },
    { name: 'jobQueue by ARN', op: 'SubmitJob', input: { ...minimalSubmit, jobQueue: jobQueueArn }, expect: 'ok' },
    {
      name: 'jobQueue neither a name nor an ARN',
      op: 'SubmitJob',
      input: { ...minimalSubmit, jobQueue: 'default queue' },
      expect:
        'Invalid value for parameter jobQueue: "default queue" is neither a job queue name (1 to 128 letters, numbers, hyphens and underscores) nor an ARN',
    },
    {
      name: 'jobDefinition by ARN',
      op: 'SubmitJob',
      input: { ...minimalSubmit, jobDefinition: `arn:aws:batch:us-east-1:${ACCOUNT}:job-definition/ml-training-job:5` },
      expect: 'ok',
    },
    {
      name: 'jobDefinition with a bad revision',
      op: 'SubmitJob',
      input: { ...minimalSubmit, jobDefinition: 'ml-training-job:latest' },
      expect: 'Invalid value for parameter jobDefinition: "ml-training-job:latest" is not a job definition name, name:revision or ARN',
    },
    { name: 'DeregisterJobDefinition name:revision', op: 'DeregisterJobDefinition', input: { jobDefinition: 'sleep60:1' }, expect: 'ok' },
    {
      name: 'DeregisterJobDefinition empty',
      op: 'DeregisterJobDefinition',
      input: { jobDefinition: '' },
      expect: 'Invalid value for parameter jobDefinition: "" is not a job definition name, name:revision or ARN',
    },
    { name: 'DeleteComputeEnvironment by name', op: 'DeleteComputeEnvironment', input: { computeEnvironment: 'spot-ml-env' }, expect: 'ok' },
    { name: 'DeleteComputeEnvironment by ARN', op: 'DeleteComputeEnvironment', input: { computeEnvironment: FARGATE_CE_ARN }, expect: 'ok' },
    {
      name: 'DeleteComputeEnvironment with a bad reference',
      op: 'DeleteComputeEnvironment',
      input: { computeEnvironment: 'spot ml env' },
      expect: /^Invalid value for parameter computeEnvironment: "spot ml env" is neither a compute environment name/,
    },
    { name: 'DeleteJobQueue by name', op: 'DeleteJobQueue', input: { jobQueue: 'default-queue' }, expect: 'ok' },
    { name: 'DeleteJobQueue empty', op: 'DeleteJobQueue', input: { jobQueue: '' }, expect: /^Invalid value for parameter jobQueue: "" is neither a job queue name/ },
  ]);
});

describe('rules: compute environments', () => {
  run([
    {
      name: 'CE type lower case',
      op: 'CreateComputeEnvironment',
      input: { ...fargateEnv, type: 'managed' },
      expect: 'Invalid value for parameter type: "managed" is not valid; valid values are: MANAGED, UNMANAGED (values are case-sensitive)',
    },
    {
      name: 'CE state unknown',
      op: 'CreateComputeEnvironment',
      input: { ...fargateEnv, state: 'ON' },
      expect: 'Invalid value for parameter state: "ON" is not valid; valid values are: ENABLED, DISABLED',
    },
    {
      name: 'MANAGED without computeResources',
      op: 'CreateComputeEnvironment',
      input: { computeEnvironmentName: 'ce', type: 'MANAGED' },
      expect: 'Missing required parameter: computeResources (required when type is MANAGED)',
    },
    { name: 'UNMANAGED without computeResources', op: 'CreateComputeEnvironment', input: { computeEnvironmentName: 'ce', type: 'UNMANAGED', unmanagedvCpus: 16 }, expect: 'ok' },
    {
      name: 'unmanagedvCpus negative',
      op: 'CreateComputeEnvironment',
      input: { computeEnvironmentName: 'ce', type: 'UNMANAGED', unmanagedvCpus: -1 },
      expect: 'Invalid value for parameter unmanagedvCpus: -1 is out of range; it must be at least 0',
    },
    {
      name: 'computeResources.type unknown',
      op: 'CreateComputeEnvironment',
      input: edit(fargateEnv, (ce) => (ce.computeResources.type = 'GPU')),
      expect: 'Invalid value for parameter computeResources.type: "GPU" is not valid; valid values are: EC2, SPOT, FARGATE, FARGATE_SPOT',
    },
    {
      name: 'allocationStrategy LOWEST_PRICE (the guide mentions it) is not an AWS value',
      op: 'CreateComputeEnvironment',
      input: edit(spotMlEnv, (ce) => (ce.computeResources.allocationStrategy = 'LOWEST_PRICE')),
      expect:
        'Invalid value for parameter computeResources.allocationStrategy: "LOWEST_PRICE" is not valid; valid values are: BEST_FIT, BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED, SPOT_PRICE_CAPACITY_OPTIMIZED',
    },
    {
      name: 'allocationStrategy BEST_FIT on create',
      op: 'CreateComputeEnvironment',
      input: edit(spotMlEnv, (ce) => (ce.computeResources.allocationStrategy = 'BEST_FIT')),
      expect: 'ok',
    },
    {
      name: 'allocationStrategy BEST_FIT on update',
      op: 'UpdateComputeEnvironment',
      input: { computeEnvironment: 'spot-ml-env', computeResources: { allocationStrategy: 'BEST_FIT' } },
      expect:
        'Invalid value for parameter computeResources.allocationStrategy: "BEST_FIT" cannot be set when updating a compute environment; valid values are: BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED, SPOT_PRICE_CAPACITY_OPTIMIZED',
    },
    {
      name: 'maxvCpus negative',
      op: 'CreateComputeEnvironment',
      input: edit(fargateEnv, (ce) => (ce.computeResources.maxvCpus = -4)),
      expect: 'Invalid value for parameter computeResources.maxvCpus: -4 is out of range; it must be at least 0',
    },
    {
      name: 'minvCpus negative',
      op: 'CreateComputeEnvironment',
      input: edit(spotMlEnv, (ce) => (ce.computeResources.minvCpus = -1)),
      expect: 'Invalid value for parameter computeResources.minvCpus: -1 is out of range; it must be at least 0',
    },
    {
      name: 'minvCpus above maxvCpus',
      op: 'CreateComputeEnvironment',
      input: edit(spotMlEnv, (ce) => Object.assign(ce.computeResources, { minvCpus: 64, desiredvCpus: 64, maxvCpus: 32 })),
      expect: 'Invalid value for parameter computeResources.minvCpus: 64 is greater than computeResources.maxvCpus (32)',
    },
    {
      name: 'desiredvCpus below minvCpus',
      op: 'CreateComputeEnvironment',
      input: edit(spotMlEnv, (ce) => Object.assign(ce.computeResources, { minvCpus: 8, desiredvCpus: 4 })),
      expect: 'Invalid value for parameter computeResources.desiredvCpus: 4 is less than computeResources.minvCpus (8)',
    },
    {
      name: 'desiredvCpus above maxvCpus',
      op: 'CreateComputeEnvironment',
      input: edit(gpuSpotEnv, (ce) => (ce.computeResources.desiredvCpus = 1024)),
      expect: 'Invalid value for parameter computeResources.desiredvCpus: 1024 is greater than computeResources.maxvCpus (512)',
    },
    {
      name: 'desiredvCpus above maxvCpus on update',
      op: 'UpdateComputeEnvironment',
      input: { computeEnvironment: 'gpu-spot-env', computeResources: { maxvCpus: 16, desiredvCpus: 32 } },
      expect: 'Invalid value for parameter computeResources.desiredvCpus: 32 is greater than computeResources.maxvCpus (16)',
    },
    {
      name: 'bidPercentage over 100',
      op: 'CreateComputeEnvironment',
      input: edit(spotMlEnv, (ce) => (ce.computeResources.bidPercentage = 150)),
      expect: 'Invalid value for parameter computeResources.bidPercentage: 150 is out of range; it must be between 0 and 100',
    },
    {
      name: 'bidPercentage negative',
      op: 'CreateComputeEnvironment',
      input: edit(spotMlEnv, (ce) => (ce.computeResources.bidPercentage = -1)),
      expect: 'Invalid value for parameter computeResources.bidPercentage: -1 is out of range; it must be between 0 and 100',
    },
    {
      name: 'UpdateComputeEnvironment disable',
      op: 'UpdateComputeEnvironment',
      input: { computeEnvironment: 'spot-ml-env', state: 'DISABLED' },
      expect: 'ok',
    },
    {
      name: 'UpdateComputeEnvironment bad state',
      op: 'UpdateComputeEnvironment',
      input: { computeEnvironment: 'spot-ml-env', state: 'disabled' },
      expect: 'Invalid value for parameter state: "disabled" is not valid; valid values are: ENABLED, DISABLED (values are case-sensitive)',
    },
    {
      name: 'UpdateComputeEnvironment updatePolicy timeout 0',
      op: 'UpdateComputeEnvironment',
      input: { computeEnvironment: 'spot-ml-env', updatePolicy: { terminateJobsOnUpdate: false, jobExecutionTimeoutMinutes: 0 } },
      expect: 'Invalid value for parameter updatePolicy.jobExecutionTimeoutMinutes: 0 is out of range; it must be between 1 and 7200 minutes',
    },
    {
      name: 'compute environment tags: reserved aws: prefix',
      op: 'CreateComputeEnvironment',
      input: { ...fargateEnv, tags: { 'aws:createdBy': 'me' } },
      expect: 'Invalid value for parameter tags: tag key "aws:createdBy" starts with "aws:", which is reserved for AWS use',
    },
    { name: 'DescribeComputeEnvironments maxResults 100', op: 'DescribeComputeEnvironments', input: { maxResults: 100 }, expect: 'ok' },
    {
      name: 'DescribeComputeEnvironments maxResults 0',
      op: 'DescribeComputeEnvironments',
      input: { maxResults: 0 },
      expect: 'Invalid value for parameter maxResults: 0 is out of range; it must be between 1 and 100',
    },
    {
      name: 'DescribeComputeEnvironments maxResults 101',
      op: 'DescribeComputeEnvironments',
      input: { maxResults: 101 },
      expect: 'Invalid value for parameter maxResults: 101 is out of range; it must be between 1 and 100',
    },
    {
      name: 'DescribeComputeEnvironments 101 names',
      op: 'DescribeComputeEnvironments',
      input: { computeEnvironments: Array.from({ length: 101 }, (_, i) => `ce${i}`) },
      expect: 'Invalid value for parameter computeEnvironments: 101 entries given; at most 100 are allowed',
    },
  ]);
});

describe('rules: job queues', () => {
  run([
    { name: 'priority 0', op: 'CreateJobQueue', input: { ...defaultQueue, priority: 0 }, expect: 'ok' },
    { name: 'priority 1000', op: 'CreateJobQueue', input: { ...defaultQueue, priority: 1000 }, expect: 'ok' },
    {
      name: 'priority 1001',
      op: 'CreateJobQueue',
      input: { ...defaultQueue, priority: 1001 },
      expect: 'Invalid value for parameter priority: 1001 is out of range; it must be between 0 and 1000',
    },
    {
      name: 'priority negative on update',
      op: 'UpdateJobQueue',
      input: { jobQueue: 'default-queue', priority: -1 },
      expect: 'Invalid value for parameter priority: -1 is out of range; it must be between 0 and 1000',
    },
    {
      name: 'queue state lower case',
      op: 'CreateJobQueue',
      input: { ...defaultQueue, state: 'enabled' },
      expect: 'Invalid value for parameter state: "enabled" is not valid; valid values are: ENABLED, DISABLED (values are case-sensitive)',
    },
    {
      name: 'four compute environments',
      op: 'CreateJobQueue',
      input: {
        ...defaultQueue,
        computeEnvironmentOrder: [1, 2, 3, 4].map((order) => ({ order, computeEnvironment: `ce${order}` })),
      },
      expect: 'Invalid value for parameter computeEnvironmentOrder: 4 compute environments given; at most 3 are allowed',
    },
    {
      name: 'negative order',
      op: 'CreateJobQueue',
      input: { ...defaultQueue, computeEnvironmentOrder: [{ order: -1, computeEnvironment: 'ce1' }] },
      expect: 'Invalid value for parameter computeEnvironmentOrder[0].order: -1 is out of range; it must be at least 0',
    },
    {
      name: 'duplicate order',
      op: 'CreateJobQueue',
      input: {
        ...defaultQueue,
        computeEnvironmentOrder: [
          { order: 1, computeEnvironment: 'spot' },
          { order: 1, computeEnvironment: 'on-demand' },
        ],
      },
      expect:
        'Invalid value for parameter computeEnvironmentOrder[1].order: 1 is also the order of computeEnvironmentOrder[0]; each compute environment needs its own order',
    },
    {
      name: 'duplicate compute environment',
      op: 'UpdateJobQueue',
      input: {
        jobQueue: 'smart-cost-queue',
        computeEnvironmentOrder: [
          { order: 1, computeEnvironment: FARGATE_CE_ARN },
          { order: 2, computeEnvironment: FARGATE_CE_ARN },
        ],
      },
      expect: `Invalid value for parameter computeEnvironmentOrder[1].computeEnvironment: "${FARGATE_CE_ARN}" is already listed at computeEnvironmentOrder[0]`,
    },
    {
      name: 'detaching all compute environments (empty order) on update',
      op: 'UpdateJobQueue',
      input: { jobQueue: 'default-queue', state: 'DISABLED', computeEnvironmentOrder: [] },
      expect: 'ok',
    },
    {
      name: 'bad compute environment reference',
      op: 'CreateJobQueue',
      input: { ...defaultQueue, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'fargate env' }] },
      expect: /^Invalid value for parameter computeEnvironmentOrder\[0\]\.computeEnvironment: "fargate env" is neither a compute environment name/,
    },
    {
      name: 'jobStateTimeLimitActions valid',
      op: 'CreateJobQueue',
      input: {
        ...defaultQueue,
        jobStateTimeLimitActions: [
          { reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY', state: 'RUNNABLE', maxTimeSeconds: 600, action: 'CANCEL' },
        ],
      },
      expect: 'ok',
    },
    {
      name: 'jobStateTimeLimitActions state not RUNNABLE',
      op: 'CreateJobQueue',
      input: {
        ...defaultQueue,
        jobStateTimeLimitActions: [{ reason: 'r', state: 'PENDING', maxTimeSeconds: 600, action: 'CANCEL' }],
      },
      expect: 'Invalid value for parameter jobStateTimeLimitActions[0].state: "PENDING" is not valid; valid values are: RUNNABLE',
    },
    {
      name: 'jobStateTimeLimitActions action not CANCEL',
      op: 'UpdateJobQueue',
      input: {
        jobQueue: 'default-queue',
        jobStateTimeLimitActions: [{ reason: 'r', state: 'RUNNABLE', maxTimeSeconds: 600, action: 'TERMINATE' }],
      },
      expect: 'Invalid value for parameter jobStateTimeLimitActions[0].action: "TERMINATE" is not valid; valid values are: CANCEL',
    },
    {
      name: 'jobStateTimeLimitActions maxTimeSeconds below 600',
      op: 'CreateJobQueue',
      input: {
        ...defaultQueue,
        jobStateTimeLimitActions: [{ reason: 'r', state: 'RUNNABLE', maxTimeSeconds: 599, action: 'CANCEL' }],
      },
      expect:
        'Invalid value for parameter jobStateTimeLimitActions[0].maxTimeSeconds: 599 is out of range; it must be between 600 and 86400 seconds',
    },
    {
      name: 'jobStateTimeLimitActions empty reason',
      op: 'CreateJobQueue',
      input: {
        ...defaultQueue,
        jobStateTimeLimitActions: [{ reason: '', state: 'RUNNABLE', maxTimeSeconds: 600, action: 'CANCEL' }],
      },
      expect: 'Invalid value for parameter jobStateTimeLimitActions[0].reason: must not be empty',
    },
    {
      name: 'DescribeJobQueues maxResults 0',
      op: 'DescribeJobQueues',
      input: { maxResults: 0 },
      expect: 'Invalid value for parameter maxResults: 0 is out of range; it must be between 1 and 100',
    },
    {
      name: 'DescribeJobQueues 101 queues',
      op: 'DescribeJobQueues',
      input: { jobQueues: Array.from({ length: 101 }, (_, i) => `q${i}`) },
      expect: 'Invalid value for parameter jobQueues: 101 entries given; at most 100 are allowed',
    },
    { name: 'DescribeJobQueues by name and ARN', op: 'DescribeJobQueues', input: { jobQueues: ['default-queue', jobQueueArn] }, expect: 'ok' },
  ]);
});

describe('rules: job definitions', () => {
  run([
    {
      name: 'type Container (case-sensitive)',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.type = 'Container')),
      expect: 'Invalid value for parameter type: "Container" is not valid; valid values are: container, multinode (values are case-sensitive)',
    },
    {
      name: 'container without containerProperties',
      op: 'RegisterJobDefinition',
      input: { jobDefinitionName: 'jd', type: 'container' },
      expect:
        'Missing required parameter: containerProperties (a container job definition needs containerProperties, ecsProperties or eksProperties)',
    },
    {
      name: 'multinode without nodeProperties',
      op: 'RegisterJobDefinition',
      input: { jobDefinitionName: 'jd', type: 'multinode' },
      expect: 'Missing required parameter: nodeProperties (required when type is multinode)',
    },
    {
      name: 'container with nodeProperties',
      op: 'RegisterJobDefinition',
      input: { ...mpiSimulation, type: 'container', containerProperties: { image: 'busybox' } },
      expect: 'Invalid parameter combination: nodeProperties is only for type multinode; this job definition has type container',
    },
    {
      name: 'multinode with containerProperties',
      op: 'RegisterJobDefinition',
      input: { ...mpiSimulation, containerProperties: { image: 'busybox' } },
      expect: /^Invalid parameter combination: containerProperties is only for type container; /,
    },
    {
      name: 'resourceRequirements VCPU, MEMORY and GPU',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [
        { type: 'VCPU', value: '0.25' },
        { type: 'MEMORY', value: '512' },
        { type: 'GPU', value: '2' },
      ])),
      expect: 'ok',
    },
    {
      name: 'resourceRequirements type lower case',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [{ type: 'vcpu', value: '1' }])),
      expect:
        'Invalid value for parameter containerProperties.resourceRequirements[0].type: "vcpu" is not valid; valid values are: VCPU, MEMORY, GPU (values are case-sensitive)',
    },
    {
      name: 'resourceRequirements type CPU',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [{ type: 'CPU', value: '1' }])),
      expect: 'Invalid value for parameter containerProperties.resourceRequirements[0].type: "CPU" is not valid; valid values are: VCPU, MEMORY, GPU',
    },
    {
      name: 'VCPU value zero',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [{ type: 'VCPU', value: '0' }])),
      expect:
        'Invalid value for parameter containerProperties.resourceRequirements[0].value: "0" is not a valid VCPU value; give a positive number of vCPUs, e.g. "1" or "0.25"',
    },
    {
      name: 'VCPU value not a number',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [{ type: 'VCPU', value: 'two' }])),
      expect: /resourceRequirements\[0\]\.value: "two" is not a valid VCPU value/,
    },
    {
      name: 'MEMORY value fractional',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [{ type: 'MEMORY', value: '512.5' }])),
      expect:
        'Invalid value for parameter containerProperties.resourceRequirements[0].value: "512.5" is not a valid MEMORY value; give a whole number of MiB, at least 4',
    },
    {
      name: 'MEMORY value below 4 MiB',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [{ type: 'MEMORY', value: '2' }])),
      expect: /resourceRequirements\[0\]\.value: "2" is not a valid MEMORY value/,
    },
    {
      name: 'MEMORY with a unit',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [{ type: 'MEMORY', value: '2GiB' }])),
      expect: /resourceRequirements\[0\]\.value: "2GiB" is not a valid MEMORY value/,
    },
    {
      name: 'GPU value fractional',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [{ type: 'GPU', value: '0.5' }])),
      expect:
        'Invalid value for parameter containerProperties.resourceRequirements[0].value: "0.5" is not a valid GPU value; give a positive whole number of GPUs',
    },
    {
      name: 'resource type given twice',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.resourceRequirements = [
        { type: 'VCPU', value: '1' },
        { type: 'VCPU', value: '2' },
      ])),
      expect: 'Invalid value for parameter containerProperties.resourceRequirements[1].type: VCPU is given more than once',
    },
    {
      name: 'legacy vcpus 0',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.vcpus = 0)),
      expect: 'Invalid value for parameter containerProperties.vcpus: 0 is out of range; it must be at least 1',
    },
    {
      name: 'legacy memory below 4 MiB',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.memory = 2)),
      expect: 'Invalid value for parameter containerProperties.memory: 2 is out of range; it must be at least 4 MiB',
    },
    {
      name: 'legacy memory in an MNP node container',
      op: 'RegisterJobDefinition',
      input: edit(mpiSimulation, (jd) => (jd.nodeProperties.nodeRangeProperties[1].container.memory = 0)),
      expect: 'Invalid value for parameter nodeProperties.nodeRangeProperties[1].container.memory: 0 is out of range; it must be at least 4 MiB',
    },
    {
      name: 'environment name reserved (AWS_BATCH prefix)',
      op: 'RegisterJobDefinition',
      input: edit(mlTrainingJob(), (jd) => jd.containerProperties.environment.push({ name: 'AWS_BATCH_JOB_ID', value: 'x' })),
      expect:
        'Invalid value for parameter containerProperties.environment[3].name: "AWS_BATCH_JOB_ID" starts with AWS_BATCH, which is reserved for the variables that AWS Batch sets',
    },
    {
      name: 'environment name empty',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.environment = [{ name: '', value: 'x' }])),
      expect: 'Invalid value for parameter containerProperties.environment[0].name: must not be empty',
    },
    {
      name: 'environment name missing',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.environment = [{ value: 'x' }])),
      expect: 'Missing required parameter: containerProperties.environment[0].name',
    },
    {
      name: 'environment name reserved in an MNP node',
      op: 'RegisterJobDefinition',
      input: edit(mpiSimulation, (jd) => (jd.nodeProperties.nodeRangeProperties[0].container.environment[1].name = 'AWS_BATCH_X')),
      expect: /^Invalid value for parameter nodeProperties\.nodeRangeProperties\[0\]\.container\.environment\[1\]\.name: "AWS_BATCH_X" starts with AWS_BATCH/,
    },
    {
      name: 'platformCapabilities unknown',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.platformCapabilities = ['LAMBDA'])),
      expect: 'Invalid value for parameter platformCapabilities[0]: "LAMBDA" is not valid; valid values are: EC2, FARGATE',
    },
    { name: 'platformCapabilities FARGATE', op: 'RegisterJobDefinition', input: jdWith((jd) => (jd.platformCapabilities = ['FARGATE'])), expect: 'ok' },
    {
      name: 'logDriver unknown',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.logConfiguration = { logDriver: 'cloudwatch' })),
      expect:
        'Invalid value for parameter containerProperties.logConfiguration.logDriver: "cloudwatch" is not valid; valid values are: awslogs, fluentd, gelf, journald, json-file, splunk, syslog, awsfirelens',
    },
    ...['awslogs', 'fluentd', 'gelf', 'journald', 'json-file', 'splunk', 'syslog', 'awsfirelens'].map((logDriver) => ({
      name: `logDriver ${logDriver}`,
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.containerProperties.logConfiguration = { logDriver })),
      expect: 'ok' as const,
    })),
    {
      name: 'schedulingPriority above 9999',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.schedulingPriority = 10000)),
      expect: 'Invalid value for parameter schedulingPriority: 10000 is out of range; it must be between 0 and 9999',
    },
    {
      name: 'job definition tags: more than 50',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.tags = tagsOf(51))),
      expect: 'Invalid value for parameter tags: 51 tags given; at most 50 are allowed',
    },
    { name: 'job definition tags: exactly 50', op: 'RegisterJobDefinition', input: jdWith((jd) => (jd.tags = tagsOf(50))), expect: 'ok' },
    {
      name: 'MNP numNodes 0',
      op: 'RegisterJobDefinition',
      input: edit(mpiSimulation, (jd) => (jd.nodeProperties.numNodes = 0)),
      expect: 'Invalid value for parameter nodeProperties.numNodes: 0 is out of range; it must be at least 1',
    },
    {
      name: 'MNP mainNode outside numNodes',
      op: 'RegisterJobDefinition',
      input: edit(mpiSimulation, (jd) => (jd.nodeProperties.mainNode = 8)),
      expect: 'Invalid value for parameter nodeProperties.mainNode: 8 is out of range; it must be between 0 and 7',
    },
    {
      name: 'MNP targetNodes malformed',
      op: 'RegisterJobDefinition',
      input: edit(mpiSimulation, (jd) => (jd.nodeProperties.nodeRangeProperties[1].targetNodes = '1-7')),
      expect:
        'Invalid value for parameter nodeProperties.nodeRangeProperties[1].targetNodes: "1-7" is not a valid node range; use a node index range such as "0:3", "1:" or "0"',
    },
    {
      name: 'MNP targetNodes reversed',
      op: 'RegisterJobDefinition',
      input: edit(mpiSimulation, (jd) => (jd.nodeProperties.nodeRangeProperties[1].targetNodes = '7:1')),
      expect: /^Invalid value for parameter nodeProperties\.nodeRangeProperties\[1\]\.targetNodes: "7:1" starts after it ends/,
    },
    {
      name: 'MNP targetNodes beyond numNodes',
      op: 'RegisterJobDefinition',
      input: edit(mpiSimulation, (jd) => (jd.nodeProperties.nodeRangeProperties[1].targetNodes = '1:8')),
      expect:
        'Invalid value for parameter nodeProperties.nodeRangeProperties[1].targetNodes: "1:8" names node 8, but the job has 8 nodes (indices 0 to 7)',
    },
    {
      name: 'DescribeJobDefinitions status lower case',
      op: 'DescribeJobDefinitions',
      input: { status: 'active' },
      expect: 'Invalid value for parameter status: "active" is not valid; valid values are: ACTIVE, INACTIVE (values are case-sensitive)',
    },
    { name: 'DescribeJobDefinitions by name and status', op: 'DescribeJobDefinitions', input: { jobDefinitionName: 'sleep60', status: 'ACTIVE', maxResults: 10 }, expect: 'ok' },
    { name: 'DescribeJobDefinitions by list', op: 'DescribeJobDefinitions', input: { jobDefinitions: ['sleep60:1', `arn:aws:batch:us-east-1:${ACCOUNT}:job-definition/sleep60:2`] }, expect: 'ok' },
    {
      name: 'DescribeJobDefinitions maxResults 101',
      op: 'DescribeJobDefinitions',
      input: { maxResults: 101 },
      expect: 'Invalid value for parameter maxResults: 101 is out of range; it must be between 1 and 100',
    },
    {
      name: 'DescribeJobDefinitions 101 entries',
      op: 'DescribeJobDefinitions',
      input: { jobDefinitions: Array.from({ length: 101 }, (_, i) => `jd:${i + 1}`) },
      expect: 'Invalid value for parameter jobDefinitions: 101 entries given; at most 100 are allowed',
    },
    {
      name: 'DescribeJobDefinitions list combined with a filter',
      op: 'DescribeJobDefinitions',
      input: { jobDefinitions: ['sleep60:1'], status: 'ACTIVE', maxResults: 5 },
      expect: 'Invalid parameter combination: jobDefinitions cannot be combined with other parameters (got maxResults and status)',
    },
  ]);
});

describe('rules: retry strategy and timeout', () => {
  run([
    { name: 'attempts 1', op: 'RegisterJobDefinition', input: jdWith((jd) => (jd.retryStrategy = { attempts: 1 })), expect: 'ok' },
    { name: 'attempts 10', op: 'RegisterJobDefinition', input: jdWith((jd) => (jd.retryStrategy = { attempts: 10 })), expect: 'ok' },
    {
      name: 'attempts 0',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.retryStrategy = { attempts: 0 })),
      expect: 'Invalid value for parameter retryStrategy.attempts: 0 is out of range; it must be between 1 and 10',
    },
    {
      name: 'attempts 11 on SubmitJob',
      op: 'SubmitJob',
      input: submitWith((s) => (s.retryStrategy = { attempts: 11 })),
      expect: 'Invalid value for parameter retryStrategy.attempts: 11 is out of range; it must be between 1 and 10',
    },
    {
      name: 'evaluateOnExit without attempts',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.retryStrategy = { evaluateOnExit: [{ onExitCode: '1', action: 'EXIT' }] })),
      expect: 'Missing required parameter: retryStrategy.attempts (required when retryStrategy.evaluateOnExit is given)',
    },
    {
      name: 'evaluateOnExit with six entries',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit(...Array.from({ length: 6 }, (_, i) => ({ onExitCode: String(i), action: 'EXIT' }))),
      expect: 'Invalid value for parameter retryStrategy.evaluateOnExit: 6 entries given; at most 5 are allowed',
    },
    {
      name: 'evaluateOnExit with five entries',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit(...Array.from({ length: 5 }, (_, i) => ({ onExitCode: String(i), action: 'EXIT' }))),
      expect: 'ok',
    },
    { name: 'action lower case (AWS accepts any case)', op: 'RegisterJobDefinition', input: evaluateOnExit({ onExitCode: '1', action: 'exit' }, { onReason: '*', action: 'Retry' }), expect: 'ok' },
    {
      name: 'action FAILED on SubmitJob (first entry)',
      op: 'SubmitJob',
      input: submitWith((s) => (s.retryStrategy = { attempts: 2, evaluateOnExit: [{ onExitCode: '1', action: 'FAILED' }] })),
      expect:
        'Invalid value for parameter retryStrategy.evaluateOnExit[0].action: "FAILED" is not a valid action; valid actions are RETRY and EXIT (use EXIT to stop retrying and fail the job)',
    },
    {
      name: 'action FAIL',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onExitCode: '1', action: 'FAIL' }),
      expect: /^Invalid value for parameter retryStrategy\.evaluateOnExit\[0\]\.action: "FAIL" is not a valid action; .*use EXIT/,
    },
    { name: 'entry with no condition (allowed)', op: 'RegisterJobDefinition', input: evaluateOnExit({ action: 'RETRY' }), expect: 'ok' },
    { name: 'onExitCode with a trailing *', op: 'RegisterJobDefinition', input: evaluateOnExit({ onExitCode: '13*', action: 'EXIT' }), expect: 'ok' },
    { name: 'onExitCode * alone', op: 'RegisterJobDefinition', input: evaluateOnExit({ onExitCode: '*', action: 'EXIT' }), expect: 'ok' },
    {
      name: 'onExitCode range',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onExitCode: '1-3', action: 'EXIT' }),
      expect:
        'Invalid value for parameter retryStrategy.evaluateOnExit[0].onExitCode: "1-3" is not a valid pattern; it can contain only digits, and can end with an asterisk (*)',
    },
    {
      name: 'onExitCode with * in the middle',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onExitCode: '1*3', action: 'EXIT' }),
      expect: /evaluateOnExit\[0\]\.onExitCode: "1\*3" is not a valid pattern/,
    },
    {
      name: 'onExitCode empty',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onExitCode: '', action: 'EXIT' }),
      expect: 'Invalid value for parameter retryStrategy.evaluateOnExit[0].onExitCode: must not be empty',
    },
    {
      name: 'onExitCode longer than 512',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onExitCode: '1'.repeat(513), action: 'EXIT' }),
      expect: 'Invalid value for parameter retryStrategy.evaluateOnExit[0].onExitCode: 513 characters given; at most 512 are allowed',
    },
    {
      name: 'onStatusReason with letters, digits, periods, colons, spaces, tabs and *',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onStatusReason: 'Host EC2 (instance', action: 'RETRY' }),
      expect:
        'Invalid value for parameter retryStrategy.evaluateOnExit[0].onStatusReason: "Host EC2 (instance" is not a valid pattern; it can contain only letters, numbers, periods (.), colons (:) and white space, and can end with an asterisk (*)',
    },
    { name: 'onStatusReason allowed characters', op: 'RegisterJobDefinition', input: evaluateOnExit({ onStatusReason: 'Host EC2\tv1.2: terminated*', action: 'RETRY' }), expect: 'ok' },
    { name: 'onReason prefix', op: 'RegisterJobDefinition', input: evaluateOnExit({ onReason: 'CannotPullContainerError:*', action: 'RETRY' }), expect: 'ok' },
    {
      name: 'onReason with a hyphen',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onReason: 'OutOfMemoryError: Container killed-*', action: 'EXIT' }),
      expect: /^Invalid value for parameter retryStrategy\.evaluateOnExit\[0\]\.onReason: "OutOfMemoryError: Container killed-\*" is not a valid pattern/,
    },
    {
      name: 'onReason with two asterisks',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onReason: '**', action: 'EXIT' }),
      expect: /evaluateOnExit\[0\]\.onReason: "\*\*" is not a valid pattern/,
    },
    {
      name: 'onReason longer than 512',
      op: 'RegisterJobDefinition',
      input: evaluateOnExit({ onReason: 'a'.repeat(513), action: 'EXIT' }),
      expect: 'Invalid value for parameter retryStrategy.evaluateOnExit[0].onReason: 513 characters given; at most 512 are allowed',
    },
    { name: 'timeout 60 seconds', op: 'RegisterJobDefinition', input: jdWith((jd) => (jd.timeout = { attemptDurationSeconds: 60 })), expect: 'ok' },
    {
      name: 'timeout 59 seconds',
      op: 'RegisterJobDefinition',
      input: jdWith((jd) => (jd.timeout = { attemptDurationSeconds: 59 })),
      expect: 'Invalid value for parameter timeout.attemptDurationSeconds: 59 is out of range; it must be at least 60 seconds',
    },
    {
      name: 'timeout override 30 seconds',
      op: 'SubmitJob',
      input: submitWith((s) => (s.timeout = { attemptDurationSeconds: 30 })),
      expect: 'Invalid value for parameter timeout.attemptDurationSeconds: 30 is out of range; it must be at least 60 seconds',
    },
  ]);
});

describe('rules: SubmitJob', () => {
  run([
    {
      name: 'array size 1',
      op: 'SubmitJob',
      input: { ...submitArray, arrayProperties: { size: 1 } },
      expect: 'Invalid value for parameter arrayProperties.size: 1 is out of range; it must be between 2 and 10000',
    },
    { name: 'array size 2', op: 'SubmitJob', input: { ...submitArray, arrayProperties: { size: 2 } }, expect: 'ok' },
    { name: 'array size 10000', op: 'SubmitJob', input: { ...submitArray, arrayProperties: { size: 10000 } }, expect: 'ok' },
    {
      name: 'array size 10001',
      op: 'SubmitJob',
      input: { ...submitArray, arrayProperties: { size: 10001 } },
      expect: 'Invalid value for parameter arrayProperties.size: 10001 is out of range; it must be between 2 and 10000',
    },
    {
      name: 'arrayProperties without size',
      op: 'SubmitJob',
      input: { ...submitArray, arrayProperties: {} },
      expect: 'Missing required parameter: arrayProperties.size (an array job needs a size from 2 to 10000)',
    },
    {
      name: 'dependsOn 21 jobs',
      op: 'SubmitJob',
      input: { ...submitAggregate, dependsOn: Array.from({ length: 21 }, (_, i) => ({ jobId: `job-${i}` })) },
      expect: 'Invalid value for parameter dependsOn: 21 dependencies given; at most 20 are allowed',
    },
    { name: 'dependsOn 20 jobs', op: 'SubmitJob', input: { ...submitAggregate, dependsOn: Array.from({ length: 20 }, (_, i) => ({ jobId: `job-${i}` })) }, expect: 'ok' },
    { name: 'dependsOn SEQUENTIAL without jobId (array)', op: 'SubmitJob', input: { ...submitArray, dependsOn: [{ type: 'SEQUENTIAL' }] }, expect: 'ok' },
    { name: 'dependsOn N_TO_N', op: 'SubmitJob', input: { ...submitArray, dependsOn: [{ jobId: TRANSFORM_JOB_ID, type: 'N_TO_N' }] }, expect: 'ok' },
    {
      name: 'dependsOn type lower case',
      op: 'SubmitJob',
      input: { ...submitAggregate, dependsOn: [{ jobId: TRANSFORM_JOB_ID, type: 'sequential' }] },
      expect: 'Invalid value for parameter dependsOn[0].type: "sequential" is not valid; valid values are: N_TO_N, SEQUENTIAL (values are case-sensitive)',
    },
    {
      name: 'dependsOn empty entry',
      op: 'SubmitJob',
      input: { ...submitAggregate, dependsOn: [{}] },
      expect: 'Missing required parameter: dependsOn[0].jobId (a dependency needs a jobId, or the type SEQUENTIAL for an array job)',
    },
    {
      name: 'dependsOn empty jobId',
      op: 'SubmitJob',
      input: { ...submitAggregate, dependsOn: [{ jobId: '' }] },
      expect: 'Invalid value for parameter dependsOn[0].jobId: must not be empty',
    },
    {
      name: 'container override command with an empty string',
      op: 'SubmitJob',
      input: edit(submitTraining, (s) => (s.containerOverrides.command = ['python', '', 'train.py'])),
      expect: 'Invalid value for parameter containerOverrides.command[1]: the command cannot contain an empty string',
    },
    {
      name: 'container override environment AWS_BATCH prefix',
      op: 'SubmitJob',
      input: edit(submitTraining, (s) => s.containerOverrides.environment.push({ name: 'AWS_BATCH_JOB_ATTEMPT', value: '2' })),
      expect:
        'Invalid value for parameter containerOverrides.environment[2].name: "AWS_BATCH_JOB_ATTEMPT" starts with AWS_BATCH, which is reserved for the variables that AWS Batch sets',
    },
    {
      name: 'container override environment name empty',
      op: 'SubmitJob',
      input: edit(submitIngest, (s) => (s.containerOverrides.environment[0].name = '')),
      expect: 'Invalid value for parameter containerOverrides.environment[0].name: must not be empty',
    },
    {
      name: 'container override resourceRequirements',
      op: 'SubmitJob',
      input: edit(submitTraining, (s) => (s.containerOverrides.resourceRequirements = [{ type: 'MEMORY', value: '0' }])),
      expect: /^Invalid value for parameter containerOverrides\.resourceRequirements\[0\]\.value: "0" is not a valid MEMORY value/,
    },
    {
      name: 'container override vcpus 0',
      op: 'SubmitJob',
      input: edit(submitTraining, (s) => (s.containerOverrides.vcpus = 0)),
      expect: 'Invalid value for parameter containerOverrides.vcpus: 0 is out of range; it must be at least 1',
    },
    {
      name: 'container override memory 1',
      op: 'SubmitJob',
      input: edit(submitTraining, (s) => (s.containerOverrides.memory = 1)),
      expect: 'Invalid value for parameter containerOverrides.memory: 1 is out of range; it must be at least 4 MiB',
    },
    {
      name: 'node override command with an empty string',
      op: 'SubmitJob',
      input: submitWith((s) => (s.nodeOverrides = { numNodes: 4, nodePropertyOverrides: [{ targetNodes: '0:', containerOverrides: { command: [''] } }] })),
      expect: 'Invalid value for parameter nodeOverrides.nodePropertyOverrides[0].containerOverrides.command[0]: the command cannot contain an empty string',
    },
    {
      name: 'node override numNodes 0',
      op: 'SubmitJob',
      input: submitWith((s) => (s.nodeOverrides = { numNodes: 0 })),
      expect: 'Invalid value for parameter nodeOverrides.numNodes: 0 is out of range; it must be at least 1',
    },
    {
      name: 'node override targetNodes malformed',
      op: 'SubmitJob',
      input: submitWith((s) => (s.nodeOverrides = { nodePropertyOverrides: [{ targetNodes: 'all' }] })),
      expect: /^Invalid value for parameter nodeOverrides\.nodePropertyOverrides\[0\]\.targetNodes: "all" is not a valid node range/,
    },
    {
      name: 'ECS properties override environment AWS_BATCH prefix',
      op: 'SubmitJob',
      input: submitWith((s) => (s.ecsPropertiesOverride = { taskProperties: [{ containers: [{ environment: [{ name: 'AWS_BATCH_CE_NAME', value: 'x' }] }] }] })),
      expect: /^Invalid value for parameter ecsPropertiesOverride\.taskProperties\[0\]\.containers\[0\]\.environment\[0\]\.name: "AWS_BATCH_CE_NAME" starts with AWS_BATCH/,
    },
    {
      name: 'schedulingPriorityOverride negative',
      op: 'SubmitJob',
      input: { ...minimalSubmit, schedulingPriorityOverride: -1 },
      expect: 'Invalid value for parameter schedulingPriorityOverride: -1 is out of range; it must be between 0 and 9999',
    },
    {
      name: 'job tags: value longer than 256',
      op: 'SubmitJob',
      input: { ...minimalSubmit, tags: { Project: 'x'.repeat(257) } },
      expect: 'Invalid value for parameter tags.Project: 257 characters given; tag values are at most 256 characters',
    },
  ]);
});

describe('rules: DescribeJobs, ListJobs, CancelJob, TerminateJob', () => {
  run([
    { name: 'DescribeJobs one job', op: 'DescribeJobs', input: { jobs: [INGEST_JOB_ID] }, expect: 'ok' },
    { name: 'DescribeJobs array child', op: 'DescribeJobs', input: { jobs: [`${TRANSFORM_JOB_ID}:7`] }, expect: 'ok' },
    {
      name: 'DescribeJobs no jobs',
      op: 'DescribeJobs',
      input: { jobs: [] },
      expect: 'Invalid value for parameter jobs: 0 job IDs given; at least 1 is required',
    },
    {
      name: 'DescribeJobs 101 jobs',
      op: 'DescribeJobs',
      input: { jobs: Array.from({ length: 101 }, (_, i) => `job-${i}`) },
      expect: 'Invalid value for parameter jobs: 101 job IDs given; at most 100 are allowed',
    },
    { name: 'DescribeJobs empty job ID', op: 'DescribeJobs', input: { jobs: ['a', ''] }, expect: 'Invalid value for parameter jobs[1]: must not be empty' },
    { name: 'ListJobs by queue and status', op: 'ListJobs', input: { jobQueue: 'default-queue', jobStatus: 'RUNNABLE', maxResults: 1000 }, expect: 'ok' },
    { name: 'ListJobs by array parent', op: 'ListJobs', input: { arrayJobId: TRANSFORM_JOB_ID }, expect: 'ok' },
    { name: 'ListJobs by MNP parent', op: 'ListJobs', input: { multiNodeJobId: INGEST_JOB_ID, jobStatus: 'SUCCEEDED' }, expect: 'ok' },
    {
      name: 'ListJobs without a scope',
      op: 'ListJobs',
      input: { jobStatus: 'RUNNING' },
      expect: 'Invalid parameter combination: give exactly one of jobQueue, arrayJobId or multiNodeJobId (none was given)',
    },
    {
      name: 'ListJobs with two scopes',
      op: 'ListJobs',
      input: { jobQueue: 'default-queue', arrayJobId: TRANSFORM_JOB_ID },
      expect: 'Invalid parameter combination: give exactly one of jobQueue, arrayJobId or multiNodeJobId (got jobQueue and arrayJobId)',
    },
    {
      name: 'ListJobs jobStatus lower case',
      op: 'ListJobs',
      input: { jobQueue: 'q', jobStatus: 'running' },
      expect:
        'Invalid value for parameter jobStatus: "running" is not valid; valid values are: SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED (values are case-sensitive)',
    },
    {
      name: 'ListJobs jobStatus CANCELLED',
      op: 'ListJobs',
      input: { jobQueue: 'q', jobStatus: 'CANCELLED' },
      expect: /^Invalid value for parameter jobStatus: "CANCELLED" is not valid; valid values are: SUBMITTED, /,
    },
    {
      name: 'ListJobs maxResults 0',
      op: 'ListJobs',
      input: { jobQueue: 'q', maxResults: 0 },
      expect: 'Invalid value for parameter maxResults: 0 is out of range; it must be between 1 and 1000',
    },
    {
      name: 'ListJobs maxResults 1001',
      op: 'ListJobs',
      input: { jobQueue: 'q', maxResults: 1001 },
      expect: 'Invalid value for parameter maxResults: 1001 is out of range; it must be between 1 and 1000',
    },
    { name: 'ListJobs JOB_NAME filter', op: 'ListJobs', input: { jobQueue: 'q', filters: [{ name: 'JOB_NAME', values: ['ml-training*'] }] }, expect: 'ok' },
    { name: 'ListJobs AFTER_CREATED_AT filter', op: 'ListJobs', input: { jobQueue: 'q', filters: [{ name: 'AFTER_CREATED_AT', values: ['1700000000000'] }] }, expect: 'ok' },
    { name: 'ListJobs SHARE_IDENTIFIER with jobStatus', op: 'ListJobs', input: { jobQueue: 'q', jobStatus: 'RUNNABLE', filters: [{ name: 'SHARE_IDENTIFIER', values: ['teamA'] }] }, expect: 'ok' },
    {
      name: 'ListJobs two filters',
      op: 'ListJobs',
      input: {
        jobQueue: 'q',
        filters: [
          { name: 'JOB_NAME', values: ['a'] },
          { name: 'JOB_DEFINITION', values: ['jd'] },
        ],
      },
      expect: 'Invalid value for parameter filters: 2 filters given; at most 1 are allowed',
    },
    {
      name: 'ListJobs unknown filter name',
      op: 'ListJobs',
      input: { jobQueue: 'q', filters: [{ name: 'STATUS', values: ['FAILED'] }] },
      expect:
        'Invalid value for parameter filters[0].name: "STATUS" is not valid; valid values are: JOB_NAME, JOB_DEFINITION, BEFORE_CREATED_AT, AFTER_CREATED_AT, SHARE_IDENTIFIER',
    },
    {
      name: 'ListJobs filter without name',
      op: 'ListJobs',
      input: { jobQueue: 'q', filters: [{ values: ['a'] }] },
      expect: 'Missing required parameter: filters[0].name',
    },
    {
      name: 'ListJobs filter without values',
      op: 'ListJobs',
      input: { jobQueue: 'q', filters: [{ name: 'JOB_NAME' }] },
      expect: 'Missing required parameter: filters[0].values',
    },
    {
      name: 'ListJobs filter with no values',
      op: 'ListJobs',
      input: { jobQueue: 'q', filters: [{ name: 'JOB_NAME', values: [] }] },
      expect: 'Invalid value for parameter filters[0].values: 0 values given; at least 1 is required',
    },
    {
      name: 'ListJobs JOB_NAME filter empty value',
      op: 'ListJobs',
      input: { jobQueue: 'q', filters: [{ name: 'JOB_NAME', values: [''] }] },
      expect: 'Invalid value for parameter filters[0].values[0]: must not be empty',
    },
    {
      name: 'ListJobs BEFORE_CREATED_AT as a date',
      op: 'ListJobs',
      input: { jobQueue: 'q', filters: [{ name: 'BEFORE_CREATED_AT', values: ['2026-06-09T00:00:00Z'] }] },
      expect:
        'Invalid value for parameter filters[0].values[0]: "2026-06-09T00:00:00Z" is not a valid BEFORE_CREATED_AT value; give the time as milliseconds since the epoch, e.g. "1700000000000"',
    },
    {
      name: 'ListJobs AFTER_CREATED_AT fractional',
      op: 'ListJobs',
      input: { jobQueue: 'q', filters: [{ name: 'AFTER_CREATED_AT', values: ['1700000000.5'] }] },
      expect: /^Invalid value for parameter filters\[0\]\.values\[0\]: "1700000000\.5" is not a valid AFTER_CREATED_AT value/,
    },
    { name: 'CancelJob', op: 'CancelJob', input: { jobId: INGEST_JOB_ID, reason: 'Cancelling job.' }, expect: 'ok' },
    { name: 'CancelJob missing reason', op: 'CancelJob', input: { jobId: INGEST_JOB_ID }, expect: 'Missing required parameter: reason' },
    { name: 'CancelJob empty reason', op: 'CancelJob', input: { jobId: INGEST_JOB_ID, reason: '' }, expect: 'Invalid value for parameter reason: must not be empty' },
    { name: 'CancelJob empty jobId', op: 'CancelJob', input: { jobId: '', reason: 'r' }, expect: 'Invalid value for parameter jobId: must not be empty' },
    { name: 'TerminateJob reason of 1024', op: 'TerminateJob', input: { jobId: INGEST_JOB_ID, reason: 'r'.repeat(1024) }, expect: 'ok' },
    {
      name: 'TerminateJob reason of 1025',
      op: 'TerminateJob',
      input: { jobId: INGEST_JOB_ID, reason: 'r'.repeat(1025) },
      expect: 'Invalid value for parameter reason: 1025 characters given; at most 1024 are allowed',
    },
    { name: 'TerminateJob empty reason', op: 'TerminateJob', input: { jobId: INGEST_JOB_ID, reason: '' }, expect: 'Invalid value for parameter reason: must not be empty' },
  ]);
});

describe('rules: tags', () => {
  const jobArn = `arn:aws:batch:us-east-1:${ACCOUNT}:job/${INGEST_JOB_ID}`;
  const jdArn = `arn:aws:batch:us-east-1:${ACCOUNT}:job-definition/ml-training-job:5`;
  run([
    { name: 'TagResource on a job queue', op: 'TagResource', input: { resourceArn: jobQueueArn, tags: { Env: 'prod' } }, expect: 'ok' },
    { name: 'TagResource on a job', op: 'TagResource', input: { resourceArn: jobArn, tags: { Env: 'prod' } }, expect: 'ok' },
    { name: 'TagResource on a GovCloud job definition', op: 'TagResource', input: { resourceArn: jdArn.replace('arn:aws:', 'arn:aws-us-gov:'), tags: { a: '' } }, expect: 'ok' },
    { name: 'TagResource without tags', op: 'TagResource', input: { resourceArn: jobQueueArn }, expect: 'Missing required parameter: tags' },
    { name: 'TagResource with empty tags', op: 'TagResource', input: { resourceArn: jobQueueArn, tags: {} }, expect: 'Invalid value for parameter tags: 0 tags given; at least 1 is required' },
    {
      name: 'TagResource with 51 tags',
      op: 'TagResource',
      input: { resourceArn: jobQueueArn, tags: tagsOf(51) },
      expect: 'Invalid value for parameter tags: 51 tags given; at most 50 are allowed',
    },
    {
      name: 'TagResource key longer than 128',
      op: 'TagResource',
      input: { resourceArn: jobQueueArn, tags: { ['k'.repeat(129)]: 'v' } },
      expect: /^Invalid value for parameter tags: tag key "k{100}\.\.\." is 129 characters long; keys are 1 to 128 characters$/,
    },
    {
      name: 'TagResource empty key',
      op: 'TagResource',
      input: { resourceArn: jobQueueArn, tags: { '': 'v' } },
      expect: 'Invalid value for parameter tags: tag key "" is 0 characters long; keys are 1 to 128 characters',
    },
    {
      name: 'TagResource value longer than 256',
      op: 'TagResource',
      input: { resourceArn: jobQueueArn, tags: { Env: 'v'.repeat(257) } },
      expect: 'Invalid value for parameter tags.Env: 257 characters given; tag values are at most 256 characters',
    },
    {
      name: 'TagResource aws: prefix in any case',
      op: 'TagResource',
      input: { resourceArn: jobQueueArn, tags: { 'AWS:Name': 'x' } },
      expect: 'Invalid value for parameter tags: tag key "AWS:Name" starts with "aws:", which is reserved for AWS use',
    },
    {
      name: 'TagResource on a non-Batch ARN',
      op: 'TagResource',
      input: { resourceArn: 'arn:aws:s3:::my-bucket', tags: { a: 'b' } },
      expect: /^Invalid value for parameter resourceArn: "arn:aws:s3:::my-bucket" is not the ARN of a taggable AWS Batch resource/,
    },
    {
      name: 'ListTagsForResource with a name instead of an ARN',
      op: 'ListTagsForResource',
      input: { resourceArn: 'default-queue' },
      expect: /^Invalid value for parameter resourceArn: "default-queue" is not the ARN of a taggable AWS Batch resource/,
    },
    { name: 'ListTagsForResource', op: 'ListTagsForResource', input: { resourceArn: jdArn }, expect: 'ok' },
    { name: 'ListTagsForResource missing ARN', op: 'ListTagsForResource', input: {}, expect: 'Missing required parameter: resourceArn' },
    { name: 'UntagResource', op: 'UntagResource', input: { resourceArn: jobQueueArn, tagKeys: ['Env', 'Team'] }, expect: 'ok' },
    { name: 'UntagResource no keys', op: 'UntagResource', input: { resourceArn: jobQueueArn, tagKeys: [] }, expect: 'Invalid value for parameter tagKeys: 0 tag keys given; at least 1 is required' },
    {
      name: 'UntagResource 51 keys',
      op: 'UntagResource',
      input: { resourceArn: jobQueueArn, tagKeys: Object.keys(tagsOf(51)) },
      expect: 'Invalid value for parameter tagKeys: 51 tag keys given; at most 50 are allowed',
    },
    {
      name: 'UntagResource aws: key',
      op: 'UntagResource',
      input: { resourceArn: jobQueueArn, tagKeys: ['Env', 'aws:cloudformation:stack-name'] },
      expect: 'Invalid value for parameter tagKeys[1]: tag key "aws:cloudformation:stack-name" starts with "aws:", which is reserved for AWS use',
    },
    { name: 'UntagResource missing tagKeys', op: 'UntagResource', input: { resourceArn: jobQueueArn }, expect: 'Missing required parameter: tagKeys' },
  ]);
});

describe('rules: scheduling policies', () => {
  const policyArn = `arn:aws:batch:us-east-1:${ACCOUNT}:scheduling-policy/research`;
  const fairshare = (fp: Json): Json => ({ name: 'research', fairsharePolicy: fp });
  const shares = (...ids: string[]): Json[] => ids.map((shareIdentifier) => ({ shareIdentifier }));
  const DIST = 'fairsharePolicy.shareDistribution';
  run([
    {
      name: 'CreateSchedulingPolicy as the AWS docs show it',
      op: 'CreateSchedulingPolicy',
      input: {
        name: 'research',
        fairsharePolicy: {
          shareDecaySeconds: 3600,
          computeReservation: 1,
          shareDistribution: [
            { shareIdentifier: 'A1*', weightFactor: 0.1 },
            { shareIdentifier: 'A2', weightFactor: 0.2 },
          ],
        },
        tags: { Team: 'research' },
      },
      expect: 'ok',
    },
    { name: 'CreateSchedulingPolicy with only a name', op: 'CreateSchedulingPolicy', input: { name: 'p' }, expect: 'ok' },
    { name: 'CreateSchedulingPolicy without a name', op: 'CreateSchedulingPolicy', input: { fairsharePolicy: {} }, expect: 'Missing required parameter: name' },
    {
      name: 'scheduling policy name with a slash',
      op: 'CreateSchedulingPolicy',
      input: { name: 'team/a' },
      expect: /^Invalid value for parameter name: Provided name team\/a is not supported pattern\[a-zA-Z_0-9-\]\{1,128\}/,
    },
    { name: 'scheduling policy name of 129 characters', op: 'CreateSchedulingPolicy', input: { name: 'p'.repeat(129) }, expect: /^Invalid value for parameter name: Provided name p+ is not supported pattern/ },
    { name: 'shareDecaySeconds 0', op: 'CreateSchedulingPolicy', input: fairshare({ shareDecaySeconds: 0 }), expect: 'ok' },
    { name: 'shareDecaySeconds 604800 (a week)', op: 'CreateSchedulingPolicy', input: fairshare({ shareDecaySeconds: 604800 }), expect: 'ok' },
    {
      name: 'shareDecaySeconds above a week',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDecaySeconds: 604801 }),
      expect: 'Invalid value for parameter fairsharePolicy.shareDecaySeconds: 604801 is out of range; it must be between 0 and 604800 seconds',
    },
    {
      name: 'shareDecaySeconds negative on update',
      op: 'UpdateSchedulingPolicy',
      input: { arn: policyArn, fairsharePolicy: { shareDecaySeconds: -1 } },
      expect: 'Invalid value for parameter fairsharePolicy.shareDecaySeconds: -1 is out of range; it must be between 0 and 604800 seconds',
    },
    { name: 'computeReservation 99', op: 'CreateSchedulingPolicy', input: fairshare({ computeReservation: 99 }), expect: 'ok' },
    {
      name: 'computeReservation 100',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ computeReservation: 100 }),
      expect: 'Invalid value for parameter fairsharePolicy.computeReservation: 100 is out of range; it must be between 0 and 99',
    },
    {
      name: 'computeReservation fractional (model: integer)',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ computeReservation: 12.5 }),
      expect: 'Invalid type for parameter fairsharePolicy.computeReservation: expected an integer, got the number 12.5',
    },
    {
      name: '500 share identifiers',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares(...Array.from({ length: 500 }, (_, i) => `u${i}x`)) }),
      expect: 'ok',
    },
    {
      name: '501 share identifiers',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares(...Array.from({ length: 501 }, (_, i) => `u${i}x`)) }),
      expect: `Invalid value for parameter ${DIST}: 501 entries given; at most 500 are allowed`,
    },
    {
      name: 'shareIdentifier is required in each entry',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: [{ weightFactor: 1 }] }),
      expect: `Missing required parameter: ${DIST}[0].shareIdentifier`,
    },
    { name: 'shareIdentifier of 255 characters and a star', op: 'CreateSchedulingPolicy', input: fairshare({ shareDistribution: shares(`${'a'.repeat(255)}*`) }), expect: 'ok' },
    {
      name: 'shareIdentifier of 256 characters',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares('a'.repeat(256)) }),
      expect: new RegExp(`^Invalid value for parameter ${DIST.replace(/\./g, '\\.')}\\[0\\]\\.shareIdentifier: "a{100}\\.\\.\\." is not a valid share identifier`),
    },
    {
      name: 'shareIdentifier with a hyphen',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares('team-a') }),
      expect: `Invalid value for parameter ${DIST}[0].shareIdentifier: "team-a" is not a valid share identifier: 1 to 255 letters and numbers, optionally followed by an asterisk (*) to match every share identifier that starts with them`,
    },
    {
      name: 'shareIdentifier with a star in the middle',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares('a*b') }),
      expect: /^Invalid value for parameter fairsharePolicy\.shareDistribution\[0\]\.shareIdentifier: "a\*b" is not a valid share identifier/,
    },
    {
      name: 'shareIdentifier that is only a star',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares('*') }),
      expect: /^Invalid value for parameter fairsharePolicy\.shareDistribution\[0\]\.shareIdentifier: "\*" is not a valid share identifier/,
    },
    {
      name: 'empty shareIdentifier',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares('') }),
      expect: /^Invalid value for parameter fairsharePolicy\.shareDistribution\[0\]\.shareIdentifier: "" is not a valid share identifier/,
    },
    {
      name: 'the same share identifier twice',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares('A', 'B', 'A') }),
      expect: `Invalid value for parameter ${DIST}[2].shareIdentifier: "A" is already listed at ${DIST}[0]`,
    },
    {
      name: 'an exact share identifier inside a prefix entry (AWS: UserA* and UserA1)',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares('UserA*', 'UserA1') }),
      expect: `Invalid value for parameter ${DIST}[1].shareIdentifier: "UserA1" overlaps "UserA*" at ${DIST}[0]; share identifiers must not overlap`,
    },
    {
      name: 'a prefix entry listed after an exact one it covers',
      op: 'UpdateSchedulingPolicy',
      input: { arn: policyArn, fairsharePolicy: { shareDistribution: shares('UserA1', 'UserA*') } },
      expect: `Invalid value for parameter ${DIST}[1].shareIdentifier: "UserA*" overlaps "UserA1" at ${DIST}[0]; share identifiers must not overlap`,
    },
    {
      name: 'nested prefix entries',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares('User*', 'UserA*') }),
      expect: `Invalid value for parameter ${DIST}[1].shareIdentifier: "UserA*" overlaps "User*" at ${DIST}[0]; share identifiers must not overlap`,
    },
    {
      name: 'a prefix entry equal to an exact one without the star overlaps it',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: shares('UserA', 'UserA*') }),
      expect: `Invalid value for parameter ${DIST}[1].shareIdentifier: "UserA*" overlaps "UserA" at ${DIST}[0]; share identifiers must not overlap`,
    },
    { name: 'disjoint prefixes and exact identifiers', op: 'CreateSchedulingPolicy', input: fairshare({ shareDistribution: shares('UserA*', 'UserB*', 'User', 'UserC1') }), expect: 'ok' },
    { name: 'share identifiers are case-sensitive', op: 'CreateSchedulingPolicy', input: fairshare({ shareDistribution: shares('usera*', 'UserA1') }), expect: 'ok' },
    {
      name: 'weightFactor bounds are allowed',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: [{ shareIdentifier: 'a', weightFactor: 0.0001 }, { shareIdentifier: 'b', weightFactor: 999.9999 }] }),
      expect: 'ok',
    },
    {
      name: 'weightFactor 0',
      op: 'CreateSchedulingPolicy',
      input: fairshare({ shareDistribution: [{ shareIdentifier: 'a', weightFactor: 0 }] }),
      expect: `Invalid value for parameter ${DIST}[0].weightFactor: 0 is out of range; it must be between 0.0001 and 999.9999`,
    },
    {
      name: 'weightFactor 1000',
      op: 'UpdateSchedulingPolicy',
      input: { arn: policyArn, fairsharePolicy: { shareDistribution: [{ shareIdentifier: 'a', weightFactor: 1000 }] } },
      expect: `Invalid value for parameter ${DIST}[0].weightFactor: 1000 is out of range; it must be between 0.0001 and 999.9999`,
    },
    {
      name: 'tags on CreateSchedulingPolicy follow the tag rules',
      op: 'CreateSchedulingPolicy',
      input: { name: 'p', tags: { 'aws:owner': 'x' } },
      expect: 'Invalid value for parameter tags: tag key "aws:owner" starts with "aws:", which is reserved for AWS use',
    },
    { name: 'UpdateSchedulingPolicy', op: 'UpdateSchedulingPolicy', input: { arn: policyArn, fairsharePolicy: { computeReservation: 10 } }, expect: 'ok' },
    { name: 'UpdateSchedulingPolicy needs arn', op: 'UpdateSchedulingPolicy', input: { fairsharePolicy: {} }, expect: 'Missing required parameter: arn' },
    {
      name: 'UpdateSchedulingPolicy with a name instead of an ARN',
      op: 'UpdateSchedulingPolicy',
      input: { arn: 'research' },
      expect: 'Invalid value for parameter arn: "research" is not a scheduling policy ARN (arn:aws:batch:<region>:<account>:scheduling-policy/<name>)',
    },
    {
      name: 'DeleteSchedulingPolicy with a job queue ARN',
      op: 'DeleteSchedulingPolicy',
      input: { arn: jobQueueArn },
      expect: /^Invalid value for parameter arn: "arn:aws:batch:us-east-1:123456789012:job-queue\/default-queue" is not a scheduling policy ARN/,
    },
    { name: 'DeleteSchedulingPolicy', op: 'DeleteSchedulingPolicy', input: { arn: policyArn }, expect: 'ok' },
    { name: 'DeleteSchedulingPolicy in GovCloud', op: 'DeleteSchedulingPolicy', input: { arn: policyArn.replace('arn:aws:', 'arn:aws-us-gov:') }, expect: 'ok' },
    { name: 'DescribeSchedulingPolicies', op: 'DescribeSchedulingPolicies', input: { arns: [policyArn, `${policyArn}2`] }, expect: 'ok' },
    { name: 'DescribeSchedulingPolicies needs arns', op: 'DescribeSchedulingPolicies', input: {}, expect: 'Missing required parameter: arns' },
    {
      name: 'DescribeSchedulingPolicies with 101 ARNs',
      op: 'DescribeSchedulingPolicies',
      input: { arns: Array.from({ length: 101 }, (_, i) => `${policyArn}${i}`) },
      expect: 'Invalid value for parameter arns: 101 ARNs given; at most 100 are allowed',
    },
    { name: 'DescribeSchedulingPolicies with an empty ARN', op: 'DescribeSchedulingPolicies', input: { arns: [policyArn, ''] }, expect: 'Invalid value for parameter arns[1]: must not be empty' },
    { name: 'ListSchedulingPolicies', op: 'ListSchedulingPolicies', input: { maxResults: 100 }, expect: 'ok' },
    { name: 'ListSchedulingPolicies maxResults 0', op: 'ListSchedulingPolicies', input: { maxResults: 0 }, expect: 'Invalid value for parameter maxResults: 0 is out of range; it must be between 1 and 100' },
    { name: 'ListSchedulingPolicies maxResults 101', op: 'ListSchedulingPolicies', input: { maxResults: 101 }, expect: 'Invalid value for parameter maxResults: 101 is out of range; it must be between 1 and 100' },
    { name: 'TagResource on a scheduling policy', op: 'TagResource', input: { resourceArn: policyArn, tags: { Env: 'prod' } }, expect: 'ok' },
  ]);
});
