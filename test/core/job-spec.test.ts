import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { containerResources, mergeEnvironment, resolveJobSpec, substituteParameters } from '../../src/core/job-spec.js';
import { globMatches, shouldRetry } from '../../src/core/retry.js';
import type { JobDefinition } from '../../src/core/types.js';

const def = (over: Partial<JobDefinition> = {}): JobDefinition => ({
  jobDefinitionName: 'ffmpeg',
  jobDefinitionArn: 'arn:aws:batch:us-east-1:000000000000:job-definition/ffmpeg:1',
  revision: 1,
  status: 'ACTIVE',
  type: 'container',
  parameters: { codec: 'mp4' },
  containerProperties: {
    image: 'my_repo/ffmpeg',
    resourceRequirements: [
      { type: 'MEMORY', value: '2000' },
      { type: 'VCPU', value: '2' },
    ],
    command: ['ffmpeg', '-i', 'Ref::inputfile', '-c', 'Ref::codec', '-o', 'Ref::outputfile'],
    environment: [
      { name: 'A', value: 'def' },
      { name: 'B', value: 'def' },
    ],
  },
  tags: {},
  extra: {},
  containerOrchestrationType: 'ECS',
  createdAt: 0,
  ...over,
});

describe('resolveJobSpec', () => {
  test("AWS's parameter substitution example: definition defaults, submit parameters win", () => {
    const spec = resolveJobSpec(def(), { parameters: { inputfile: 'in.mov', outputfile: 'out.mp4', codec: 'h264' } });
    assert.deepEqual(spec.command, ['ffmpeg', '-i', 'in.mov', '-c', 'h264', '-o', 'out.mp4']);
    assert.deepEqual(spec.container.command, spec.command, 'DescribeJobs shows the substituted command');
    assert.deepEqual(spec.parameters, { codec: 'h264', inputfile: 'in.mov', outputfile: 'out.mp4' });
    assert.deepEqual(spec.resources, { vcpus: 2, memory: 2000, gpus: 0 });
  });

  test('a reference without a value is a ClientException naming it', () => {
    assert.throws(() => resolveJobSpec(def(), { parameters: { inputfile: 'x' } }), {
      name: 'ClientException',
      message: 'Unable to substitute value. No parameter found for reference outputfile',
    });
  });

  test('overrides: command replaced, environment merged by name, resource types overridden one by one', () => {
    const spec = resolveJobSpec(def(), {
      containerOverrides: {
        command: ['echo', 'Ref::codec'],
        environment: [
          { name: 'B', value: 'override' },
          { name: 'C', value: 'new' },
        ],
        resourceRequirements: [{ type: 'VCPU', value: '0.5' }],
      },
    });
    assert.deepEqual(spec.command, ['echo', 'mp4']);
    assert.deepEqual(spec.environment, [
      { name: 'A', value: 'def' },
      { name: 'B', value: 'override' },
      { name: 'C', value: 'new' },
    ]);
    assert.deepEqual(spec.resources, { vcpus: 0.5, memory: 2000, gpus: 0 });
  });

  test('legacy vcpus/memory overrides do not beat resourceRequirements of the definition (as AWS documents)', () => {
    const spec = resolveJobSpec(def(), { parameters: { inputfile: 'a', outputfile: 'b' }, containerOverrides: { vcpus: 8, memory: 9000 } });
    assert.deepEqual(spec.resources, { vcpus: 2, memory: 2000, gpus: 0 });
  });

  test('retryStrategy and timeout: submit overrides the definition', () => {
    const d = def({ retryStrategy: { attempts: 2 }, timeout: { attemptDurationSeconds: 100 } });
    const spec = resolveJobSpec(d, { parameters: { inputfile: 'a', outputfile: 'b' }, retryStrategy: { attempts: 5 } });
    assert.deepEqual(spec.retryStrategy, { attempts: 5 });
    assert.deepEqual(spec.timeout, { attemptDurationSeconds: 100 });
  });

  test('unsized jobs get the documented defaults, reported in the container', () => {
    const spec = resolveJobSpec(def({ containerProperties: { command: ['true'] }, parameters: {} }), {});
    assert.deepEqual(spec.resources, { vcpus: 1, memory: 2048, gpus: 0 });
    assert.equal(spec.container.vcpus, 1);
    assert.equal(spec.container.memory, 2048);
  });

  test('GPUs come from resourceRequirements', () => {
    assert.deepEqual(containerResources({ vcpus: 8, memory: 61440, resourceRequirements: [{ type: 'GPU', value: '1' }] }), { vcpus: 8, memory: 61440, gpus: 1 });
  });

  test('multinode definitions are refused clearly', () => {
    assert.throws(() => resolveJobSpec(def({ type: 'multinode', containerProperties: undefined }), {}), /multinode/);
  });
});

describe('helpers', () => {
  test('substituteParameters replaces inside an argument too', () => {
    assert.deepEqual(substituteParameters(['--in=Ref::a', 'Ref::a/Ref::b'], { a: '1', b: '2' }), ['--in=1', '1/2']);
  });
  test('mergeEnvironment keeps first position, later value', () => {
    assert.deepEqual(mergeEnvironment([{ name: 'X', value: '1' }], [{ name: 'X', value: '2' }]), [{ name: 'X', value: '2' }]);
  });
});

describe('retry rules', () => {
  const rows: [string, string | undefined, boolean][] = [
    ['1', '1', true],
    ['1', '12', false],
    ['1*', '12', true],
    ['*', '', true],
    ['Host EC2*', 'Host EC2 (instance i-1) terminated.', true],
    ['Host EC2 was terminated', 'Host EC2 (instance i-1) terminated.', false],
    ['x', undefined, false],
  ];
  for (const [pattern, value, want] of rows) {
    test(`glob ${JSON.stringify(pattern)} ${want ? 'matches' : 'does not match'} ${JSON.stringify(value)}`, () => {
      assert.equal(globMatches(pattern, value), want);
    });
  }
  test('no rule matches → retry while attempts remain; first matching rule wins; all conditions must match', () => {
    const s = {
      attempts: 3,
      evaluateOnExit: [
        { onExitCode: '2', onReason: 'OutOfMemory*', action: 'EXIT' },
        { onExitCode: '2', action: 'RETRY' },
        { onExitCode: '*', action: 'EXIT' },
      ],
    };
    assert.equal(shouldRetry(s, 1, { exitCode: 2, reason: 'OutOfMemoryError: x' }), false);
    assert.equal(shouldRetry(s, 1, { exitCode: 2, reason: 'other' }), true);
    assert.equal(shouldRetry(s, 1, { exitCode: 3 }), false);
    assert.equal(shouldRetry(s, 3, { exitCode: 2, reason: 'other' }), false, 'no attempts left');
    assert.equal(shouldRetry({ attempts: 2 }, 1, { exitCode: 9 }), true);
    assert.equal(shouldRetry(undefined, 1, { exitCode: 9 }), false);
  });
});
