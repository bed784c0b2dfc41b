// End to end with the real AWS SDK v3 against the real server: compute environments, job queues,
// job definitions and tags (CreateComputeEnvironment, DescribeComputeEnvironments,
// UpdateComputeEnvironment, DeleteComputeEnvironment, CreateJobQueue, DescribeJobQueues,
// UpdateJobQueue, DeleteJobQueue, RegisterJobDefinition, DescribeJobDefinitions,
// DeregisterJobDefinition, TagResource, UntagResource, ListTagsForResource).

import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, test } from 'node:test';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DeleteComputeEnvironmentCommand,
  DeleteJobQueueCommand,
  DeregisterJobDefinitionCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  ListTagsForResourceCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateComputeEnvironmentCommand,
  UpdateJobQueueCommand,
  type ComputeEnvironmentDetail,
  type JobDefinition,
  type JobQueueDetail,
} from '@aws-sdk/client-batch';
import { waitForStatus } from '../helpers/server.js';
import {
  ARN_PREFIX,
  SMALL,
  ceArn,
  collectPages,
  createComputeEnvironmentAndQueue,
  defArn,
  describeJobs,
  expectClientError,
  expectRejected,
  jobArn,
  metadataSnapshot,
  queueArn,
  registerDefinition,
  submit,
  useServer,
} from './sdk-helpers.js';

const env = useServer();

async function describeCe(name: string): Promise<ComputeEnvironmentDetail | undefined> {
  const out = await env.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [name] }));
  assert.ok((out.computeEnvironments ?? []).length <= 1);
  return out.computeEnvironments?.[0];
}

async function describeQueue(name: string): Promise<JobQueueDetail | undefined> {
  const out = await env.client.send(new DescribeJobQueuesCommand({ jobQueues: [name] }));
  assert.ok((out.jobQueues ?? []).length <= 1);
  return out.jobQueues?.[0];
}

async function describeDefs(refs: string[]): Promise<JobDefinition[]> {
  return (await env.client.send(new DescribeJobDefinitionsCommand({ jobDefinitions: refs }))).jobDefinitions ?? [];
}

async function listTags(arn: string): Promise<Record<string, string>> {
  return (await env.client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags ?? {};
}

function managed(name: string, maxvCpus = 4, extra: Record<string, unknown> = {}) {
  return new CreateComputeEnvironmentCommand({
    computeEnvironmentName: name,
    type: 'MANAGED',
    computeResources: { type: 'EC2', maxvCpus, minvCpus: 0, subnets: [] },
    ...extra,
  });
}

// ---------------------------------------------------------------------------------------------

describe('the embedded defaults', () => {
  test('compute environment default: MANAGED EC2, ENABLED, VALID, maxvCpus = host cores', async () => {
    const ce = await describeCe('default');
    assert.ok(ce, 'default compute environment');
    assert.equal(ce.computeEnvironmentName, 'default');
    assert.equal(ce.computeEnvironmentArn, 'arn:aws:batch:us-east-1:000000000000:compute-environment/default');
    assert.equal(ce.type, 'MANAGED');
    assert.equal(ce.state, 'ENABLED');
    assert.equal(ce.status, 'VALID');
    assert.equal(ce.statusReason, 'ComputeEnvironment Healthy');
    assert.equal(ce.computeResources?.type, 'EC2');
    assert.equal(ce.computeResources?.maxvCpus, os.availableParallelism());
    assert.equal(ce.computeResources?.minvCpus, 0);
    assert.match(ce.ecsClusterArn ?? '', /^arn:aws:ecs:us-east-1:000000000000:cluster\/default_Batch_[0-9a-f-]{36}$/);
    assert.equal(ce.containerOrchestrationType, 'ECS');
  });

  test('job queue default: priority 1, in front of the default compute environment', async () => {
    const q = await describeQueue('default');
    assert.ok(q, 'default job queue');
    assert.equal(q.jobQueueArn, 'arn:aws:batch:us-east-1:000000000000:job-queue/default');
    assert.equal(q.state, 'ENABLED');
    assert.equal(q.status, 'VALID');
    assert.equal(q.statusReason, 'JobQueue Healthy');
    assert.equal(q.priority, 1);
    assert.deepEqual(q.computeEnvironmentOrder, [{ order: 1, computeEnvironment: ceArn('default') }]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('compute environments', () => {
  test('CreateComputeEnvironment answers name and ARN; Describe echoes everything by name and by ARN', async () => {
    const computeResources = {
      type: 'EC2' as const,
      minvCpus: 0,
      maxvCpus: 8,
      desiredvCpus: 0,
      instanceTypes: ['m5.large', 'optimal'],
      subnets: [],
      securityGroupIds: ['sg-1'],
    };
    const out = await env.client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'ce-happy',
        type: 'MANAGED',
        computeResources,
        serviceRole: 'arn:aws:iam::000000000000:role/batch',
        tags: { team: 'a' },
      }),
    );
    assert.equal(out.computeEnvironmentName, 'ce-happy');
    assert.equal(out.computeEnvironmentArn, 'arn:aws:batch:us-east-1:000000000000:compute-environment/ce-happy');

    for (const ref of ['ce-happy', ceArn('ce-happy')]) {
      const ce = await describeCe(ref);
      assert.ok(ce, ref);
      assert.equal(ce.computeEnvironmentArn, ceArn('ce-happy'));
      assert.equal(ce.type, 'MANAGED');
      assert.equal(ce.state, 'ENABLED', 'state defaults to ENABLED');
      assert.equal(ce.status, 'VALID');
      assert.equal(ce.statusReason, 'ComputeEnvironment Healthy');
      assert.deepEqual(ce.computeResources, computeResources);
      assert.equal(ce.serviceRole, 'arn:aws:iam::000000000000:role/batch');
      assert.deepEqual(ce.tags, { team: 'a' });
      assert.match(ce.uuid ?? '', /^[0-9a-f-]{36}$/);
    }
  });

  test('an UNMANAGED compute environment keeps unmanagedvCpus and has no computeResources', async () => {
    await env.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce-unmanaged', type: 'UNMANAGED', unmanagedvCpus: 3, state: 'DISABLED' }));
    const ce = await describeCe('ce-unmanaged');
    assert.equal(ce?.type, 'UNMANAGED');
    assert.equal(ce?.unmanagedvCpus, 3);
    assert.equal(ce?.state, 'DISABLED');
    assert.equal(ce?.computeResources, undefined);
  });

  test('DescribeComputeEnvironments leaves unknown names out', async () => {
    const out = await env.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['nope', 'ce-happy', ceArn('nope2')] }));
    assert.deepEqual(
      out.computeEnvironments?.map((c) => c.computeEnvironmentName),
      ['ce-happy'],
    );
  });

  test('UpdateComputeEnvironment changes state and merges computeResources', async () => {
    const out = await env.client.send(
      new UpdateComputeEnvironmentCommand({ computeEnvironment: ceArn('ce-happy'), state: 'DISABLED', computeResources: { maxvCpus: 16, minvCpus: 2 } }),
    );
    assert.deepEqual({ name: out.computeEnvironmentName, arn: out.computeEnvironmentArn }, { name: 'ce-happy', arn: ceArn('ce-happy') });
    const ce = await describeCe('ce-happy');
    assert.equal(ce?.state, 'DISABLED');
    assert.equal(ce?.status, 'VALID');
    assert.equal(ce?.computeResources?.maxvCpus, 16);
    assert.equal(ce?.computeResources?.minvCpus, 2);
    assert.deepEqual(ce?.computeResources?.instanceTypes, ['m5.large', 'optimal'], 'fields not in the update are kept');
    assert.equal(ce?.computeResources?.type, 'EC2');

    await env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ce-happy', state: 'ENABLED' }));
    assert.equal((await describeCe('ce-happy'))?.state, 'ENABLED');
  });

  test('pagination: maxResults/nextToken pages add up to the full list; a bad nextToken is a ClientException', async () => {
    for (let i = 0; i < 5; i++) await env.client.send(managed(`ce-page-${i}`));
    const full = (await env.client.send(new DescribeComputeEnvironmentsCommand({}))).computeEnvironments ?? [];
    assert.ok(full.length >= 7, `full list has ${full.length}`);
    for (const maxResults of [1, 2, 3]) {
      const { items, pages } = await collectPages(async (nextToken) => {
        const out = await env.client.send(new DescribeComputeEnvironmentsCommand({ maxResults, nextToken }));
        return { items: out.computeEnvironments, nextToken: out.nextToken };
      }, maxResults);
      assert.deepEqual(items, full, `maxResults ${maxResults}`);
      assert.equal(pages, Math.ceil(full.length / maxResults));
    }
    await expectClientError(env.client.send(new DescribeComputeEnvironmentsCommand({ nextToken: 'not-a-token' })), /nextToken/);
    await expectClientError(env.client.send(new DescribeComputeEnvironmentsCommand({ maxResults: 0 })), /maxResults/);
  });

  test('two concurrent creates of the same name: exactly one wins', async () => {
    const results = await Promise.allSettled([1, 2, 3].map(() => env.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce-race', type: 'UNMANAGED' }))));
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected', 'rejected']);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as Error).name, 'ClientException');
    const all = (await env.client.send(new DescribeComputeEnvironmentsCommand({}))).computeEnvironments ?? [];
    assert.equal(all.filter((c) => c.computeEnvironmentName === 'ce-race').length, 1);
  });

  describe('rejected', () => {
    test('type BOGUS', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce-bogus', type: 'BOGUS' as never })),
        'Invalid value for parameter type: "BOGUS" is not valid; valid values are: MANAGED, UNMANAGED',
      );
    });

    test('state ON', async () => {
      await expectRejected(env.client, () => env.client.send(managed('ce-on', 4, { state: 'ON' })), /^Invalid value for parameter state: "ON" is not valid; valid values are: ENABLED, DISABLED/);
      await expectRejected(
        env.client,
        () => env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ce-happy', state: 'ON' as never })),
        /^Invalid value for parameter state: "ON"/,
      );
    });

    test('computeResources.type wrong, computeResources missing for MANAGED, maxvCpus missing', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce-x', type: 'MANAGED', computeResources: { type: 'EC3' as never, maxvCpus: 1, subnets: [] } })),
        /^Invalid value for parameter computeResources\.type: "EC3" is not valid/,
      );
      await expectRejected(
        env.client,
        () => env.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce-x', type: 'MANAGED' })),
        'Missing required parameter: computeResources (required when type is MANAGED)',
      );
      await expectRejected(
        env.client,
        () => env.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce-x', type: 'MANAGED', computeResources: { type: 'EC2', subnets: [] } as never })),
        'Missing required parameter: computeResources.maxvCpus',
      );
    });

    test('missing computeEnvironmentName; a name that does not match the pattern', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new CreateComputeEnvironmentCommand({ type: 'UNMANAGED' } as never)),
        'Missing required parameter: computeEnvironmentName',
      );
      await expectRejected(
        env.client,
        () => env.client.send(managed('bad name')),
        /^Invalid value for parameter computeEnvironmentName: Provided name bad name is not supported pattern\[a-zA-Z_0-9-\]\{1,128\}/,
      );
    });

    test('computeResources with UNMANAGED; unmanagedvCpus with MANAGED (create and update)', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce-x', type: 'UNMANAGED', computeResources: { type: 'EC2', maxvCpus: 1, subnets: [] } })),
        /^computeResources can only be given when type is MANAGED/,
      );
      await expectRejected(env.client, () => env.client.send(managed('ce-x', 1, { unmanagedvCpus: 2 })), 'unmanagedvCpus can only be given when type is UNMANAGED');
      await expectRejected(
        env.client,
        () => env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ce-happy', unmanagedvCpus: 2 })),
        'unmanagedvCpus can only be updated on an UNMANAGED compute environment',
      );
      await expectRejected(
        env.client,
        () => env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ce-unmanaged', computeResources: { maxvCpus: 2 } })),
        'computeResources can only be updated on a MANAGED compute environment',
      );
      await env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ce-unmanaged', unmanagedvCpus: 5 }));
      assert.equal((await describeCe('ce-unmanaged'))?.unmanagedvCpus, 5);
    });

    test('duplicate name', async () => {
      await expectRejected(env.client, () => env.client.send(managed('ce-happy', 1)), 'computeEnvironmentName: a compute environment named ce-happy already exists');
      assert.equal((await describeCe('ce-happy'))?.computeResources?.maxvCpus, 16, 'the existing one is untouched');
    });

    test('minvCpus above maxvCpus, at create and (merged with the stored values) at update', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce-x', type: 'MANAGED', computeResources: { type: 'EC2', minvCpus: 4, maxvCpus: 2, subnets: [] } })),
        'Invalid value for parameter computeResources.minvCpus: 4 is greater than computeResources.maxvCpus (2)',
      );
      await expectRejected(
        env.client,
        () => env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ce-happy', computeResources: { maxvCpus: 1 } })),
        'computeResources.maxvCpus (1) must not be less than minvCpus (2)',
      );
    });

    test('updating or deleting an unknown compute environment', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'nope', state: 'DISABLED' })),
        'computeEnvironment: compute environment nope does not exist',
      );
      await expectRejected(
        env.client,
        () => env.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'nope' })),
        'computeEnvironment: compute environment nope does not exist',
      );
    });

    test('deleting an ENABLED compute environment', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'ce-page-0' })),
        /^Cannot delete compute environment ce-page-0 while it is ENABLED; set its state to DISABLED/,
      );
    });
  });

  test('deletion lifecycle: disable, detach from its queue with UpdateJobQueue, then delete', async () => {
    const { ce, queue } = await createComputeEnvironmentAndQueue(env.client, 'ce-del', 2);
    await env.client.send(new TagResourceCommand({ resourceArn: ceArn(ce), tags: { doomed: 'yes' } }));
    await env.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: ce, state: 'DISABLED' }));
    await expectRejected(
      env.client,
      () => env.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: ce })),
      /^Cannot delete, found existing JobQueue relationship: compute environment ce-del is in the computeEnvironmentOrder of job queue ce-del-q/,
    );
    const upd = await env.client.send(new UpdateJobQueueCommand({ jobQueue: queue, computeEnvironmentOrder: [] }));
    assert.equal(upd.jobQueueArn, queueArn(queue));
    assert.deepEqual((await describeQueue(queue))?.computeEnvironmentOrder, []);

    await env.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: ceArn(ce) }));
    assert.equal(await describeCe(ce), undefined, 'gone from Describe');
    await expectClientError(env.client.send(new ListTagsForResourceCommand({ resourceArn: ceArn(ce) })), `resourceArn: resource ${ceArn(ce)} does not exist`);
    // The name can be used again, and the new one starts without the old tags.
    await env.client.send(managed(ce, 1));
    assert.deepEqual(await listTags(ceArn(ce)), {});
  });
});

// ---------------------------------------------------------------------------------------------

describe('job queues', () => {
  test('CreateJobQueue resolves compute environments to ARNs; Describe shows state, status, priority, order, tags', async () => {
    await env.client.send(managed('jq-ce-1', 2));
    await env.client.send(managed('jq-ce-2', 2));
    const out = await env.client.send(
      new CreateJobQueueCommand({
        jobQueueName: 'jq-happy',
        priority: 7,
        computeEnvironmentOrder: [
          { order: 2, computeEnvironment: 'jq-ce-2' },
          { order: 1, computeEnvironment: ceArn('jq-ce-1') },
        ],
        tags: { q: '1' },
      }),
    );
    assert.deepEqual({ n: out.jobQueueName, a: out.jobQueueArn }, { n: 'jq-happy', a: 'arn:aws:batch:us-east-1:000000000000:job-queue/jq-happy' });
    for (const ref of ['jq-happy', queueArn('jq-happy')]) {
      const q = await describeQueue(ref);
      assert.ok(q, ref);
      assert.equal(q.jobQueueName, 'jq-happy');
      assert.equal(q.state, 'ENABLED');
      assert.equal(q.status, 'VALID');
      assert.equal(q.statusReason, 'JobQueue Healthy');
      assert.equal(q.priority, 7);
      assert.deepEqual(q.computeEnvironmentOrder, [
        { order: 2, computeEnvironment: ceArn('jq-ce-2') },
        { order: 1, computeEnvironment: ceArn('jq-ce-1') },
      ]);
      assert.deepEqual(q.tags, { q: '1' });
    }
  });

  test('UpdateJobQueue changes priority, state and computeEnvironmentOrder', async () => {
    await env.client.send(
      new UpdateJobQueueCommand({ jobQueue: queueArn('jq-happy'), priority: 500, state: 'DISABLED', computeEnvironmentOrder: [{ order: 5, computeEnvironment: 'jq-ce-2' }] }),
    );
    const q = await describeQueue('jq-happy');
    assert.equal(q?.priority, 500);
    assert.equal(q?.state, 'DISABLED');
    assert.deepEqual(q?.computeEnvironmentOrder, [{ order: 5, computeEnvironment: ceArn('jq-ce-2') }]);
    await env.client.send(new UpdateJobQueueCommand({ jobQueue: 'jq-happy', state: 'ENABLED' }));
    const again = await describeQueue('jq-happy');
    assert.equal(again?.state, 'ENABLED');
    assert.equal(again?.priority, 500, 'priority kept when not given');
  });

  test('pagination: maxResults/nextToken pages add up to the full list; a bad nextToken is a ClientException', async () => {
    for (let i = 0; i < 4; i++) {
      await env.client.send(new CreateJobQueueCommand({ jobQueueName: `jq-page-${i}`, priority: i, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'jq-ce-1' }] }));
    }
    const full = (await env.client.send(new DescribeJobQueuesCommand({}))).jobQueues ?? [];
    assert.ok(full.length >= 6);
    for (const maxResults of [1, 4]) {
      const { items } = await collectPages(async (nextToken) => {
        const out = await env.client.send(new DescribeJobQueuesCommand({ maxResults, nextToken }));
        return { items: out.jobQueues, nextToken: out.nextToken };
      }, maxResults);
      assert.deepEqual(items, full);
    }
    await expectClientError(env.client.send(new DescribeJobQueuesCommand({ nextToken: '%%%' })), /nextToken/);
  });

  describe('rejected', () => {
    test('an unknown compute environment in computeEnvironmentOrder', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new CreateJobQueueCommand({ jobQueueName: 'jq-x', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'nope' }] })),
        'computeEnvironmentOrder[0].computeEnvironment: compute environment nope does not exist',
      );
      await expectRejected(
        env.client,
        () => env.client.send(new UpdateJobQueueCommand({ jobQueue: 'jq-happy', computeEnvironmentOrder: [{ order: 1, computeEnvironment: ceArn('nope') }] })),
        `computeEnvironmentOrder[0].computeEnvironment: compute environment ${ceArn('nope')} does not exist`,
      );
    });

    test('duplicate name', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new CreateJobQueueCommand({ jobQueueName: 'jq-happy', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'jq-ce-1' }] })),
        'jobQueueName: a job queue named jq-happy already exists',
      );
    });

    test('state ON, priority out of range, missing priority, duplicate order', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new CreateJobQueueCommand({ jobQueueName: 'jq-x', priority: 1, state: 'ON' as never, computeEnvironmentOrder: [] })),
        /^Invalid value for parameter state: "ON" is not valid; valid values are: ENABLED, DISABLED/,
      );
      await expectRejected(
        env.client,
        () => env.client.send(new UpdateJobQueueCommand({ jobQueue: 'jq-happy', priority: 1001 })),
        'Invalid value for parameter priority: 1001 is out of range; it must be between 0 and 1000',
      );
      await expectRejected(
        env.client,
        () => env.client.send(new CreateJobQueueCommand({ jobQueueName: 'jq-x', computeEnvironmentOrder: [] } as never)),
        'Missing required parameter: priority',
      );
      await expectRejected(
        env.client,
        () =>
          env.client.send(
            new CreateJobQueueCommand({
              jobQueueName: 'jq-x',
              priority: 1,
              computeEnvironmentOrder: [
                { order: 1, computeEnvironment: 'jq-ce-1' },
                { order: 1, computeEnvironment: 'jq-ce-2' },
              ],
            }),
          ),
        /^Invalid value for parameter computeEnvironmentOrder\[1\]\.order: 1 is also the order of computeEnvironmentOrder\[0\]/,
      );
    });

    test('updating or deleting an unknown queue; deleting an ENABLED queue', async () => {
      await expectRejected(env.client, () => env.client.send(new UpdateJobQueueCommand({ jobQueue: 'nope', priority: 3 })), 'jobQueue: job queue nope does not exist');
      await expectRejected(env.client, () => env.client.send(new DeleteJobQueueCommand({ jobQueue: 'nope' })), 'jobQueue: job queue nope does not exist');
      await expectRejected(
        env.client,
        () => env.client.send(new DeleteJobQueueCommand({ jobQueue: 'jq-happy' })),
        'Cannot delete job queue jq-happy while it is ENABLED; set its state to DISABLED with UpdateJobQueue first',
      );
    });
  });

  test('deletion lifecycle: disable, then delete; the name is free again', async () => {
    await env.client.send(new UpdateJobQueueCommand({ jobQueue: 'jq-page-3', state: 'DISABLED' }));
    await env.client.send(new DeleteJobQueueCommand({ jobQueue: queueArn('jq-page-3') }));
    assert.equal(await describeQueue('jq-page-3'), undefined);
    await expectClientError(env.client.send(new ListTagsForResourceCommand({ resourceArn: queueArn('jq-page-3') })), /does not exist/);
    // Its compute environment is no longer in use by it: jq-ce-1 is still used by others, jq-page-3 is not listed.
    await env.client.send(new CreateJobQueueCommand({ jobQueueName: 'jq-page-3', priority: 3, computeEnvironmentOrder: [] }));
    assert.equal((await describeQueue('jq-page-3'))?.priority, 3);
  });
});

// ---------------------------------------------------------------------------------------------

describe('job definitions', () => {
  const name = 'jd-rev';

  test('revisions increment 1, 2, 3 with ARNs name:revision', async () => {
    for (const revision of [1, 2, 3]) {
      const out = await env.client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: name,
          type: 'container',
          parameters: { p: String(revision) },
          containerProperties: { image: 'busybox', command: ['echo', `rev${revision}`], resourceRequirements: SMALL },
          retryStrategy: { attempts: 2 },
          timeout: { attemptDurationSeconds: 120 },
          tags: { rev: String(revision) },
        }),
      );
      assert.equal(out.jobDefinitionName, name);
      assert.equal(out.revision, revision);
      assert.equal(out.jobDefinitionArn, `arn:aws:batch:us-east-1:000000000000:job-definition/${name}:${revision}`);
    }
  });

  test('concurrent registrations of one name get distinct, consecutive revisions', async () => {
    const out = await Promise.all(Array.from({ length: 6 }, () => registerDefinition(env.client, 'jd-race', ['true'])));
    assert.deepEqual(out.map((o) => o.revision).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual((await describeDefs(['jd-race'])).map((d) => d.revision), [1, 2, 3, 4, 5, 6]);
  });

  test('DescribeJobDefinitions by name, name:revision, ARN (with and without revision), jobDefinitionName and status', async () => {
    const all = await describeDefs([name]);
    assert.deepEqual(all.map((d) => d.revision), [1, 2, 3]);
    const d2 = all[1];
    assert.equal(d2.jobDefinitionArn, defArn(name, 2));
    assert.equal(d2.status, 'ACTIVE');
    assert.equal(d2.type, 'container');
    assert.deepEqual(d2.containerProperties?.command, ['echo', 'rev2']);
    assert.deepEqual(d2.containerProperties?.resourceRequirements, SMALL);
    assert.deepEqual(d2.parameters, { p: '2' });
    assert.deepEqual(d2.retryStrategy, { attempts: 2 });
    assert.deepEqual(d2.timeout, { attemptDurationSeconds: 120 });
    assert.deepEqual(d2.tags, { rev: '2' });
    assert.equal(d2.containerOrchestrationType, 'ECS');

    assert.deepEqual((await describeDefs([`${name}:2`])).map((d) => d.jobDefinitionArn), [defArn(name, 2)]);
    assert.deepEqual((await describeDefs([defArn(name, 3)])).map((d) => d.revision), [3]);
    assert.deepEqual((await describeDefs([`${ARN_PREFIX}:job-definition/${name}`])).map((d) => d.revision), [1, 2, 3]);
    assert.deepEqual((await describeDefs([`${name}:1`, `${name}:9`, 'nope'])).map((d) => d.revision), [1], 'unknown ones are left out');

    const byName = await env.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name }));
    assert.deepEqual(byName.jobDefinitions?.map((d) => d.revision), [1, 2, 3]);
    const active = await env.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name, status: 'ACTIVE' }));
    assert.deepEqual(active.jobDefinitions?.map((d) => d.revision), [1, 2, 3]);
    const inactive = await env.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name, status: 'INACTIVE' }));
    assert.deepEqual(inactive.jobDefinitions, []);
  });

  test('SubmitJob with only the name runs the latest ACTIVE revision; deregister makes a revision INACTIVE', async () => {
    const run = async () => {
      const id = await submit(env.client, { jobName: 'jd-latest', jobQueue: 'default', jobDefinition: name });
      const [j] = await describeJobs(env.client, [id]);
      return j.jobDefinition;
    };
    assert.equal(await run(), defArn(name, 3));

    await env.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: `${name}:3` }));
    const [d3] = await describeDefs([`${name}:3`]);
    assert.equal(d3.status, 'INACTIVE');
    const inactive = await env.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name, status: 'INACTIVE' }));
    assert.deepEqual(inactive.jobDefinitions?.map((d) => d.revision), [3]);
    const active = await env.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name, status: 'ACTIVE' }));
    assert.deepEqual(active.jobDefinitions?.map((d) => d.revision), [1, 2]);
    assert.equal(await run(), defArn(name, 2));

    await expectClientError(
      env.client.send(new SubmitJobCommand({ jobName: 'jd-inactive', jobQueue: 'default', jobDefinition: `${name}:3` })),
      `JobDefinition name ${name}:3 does not exist or is not in ACTIVE status`,
    );
    await expectClientError(
      env.client.send(new SubmitJobCommand({ jobName: 'jd-inactive', jobQueue: 'default', jobDefinition: defArn(name, 3) })),
      `JobDefinition name ${defArn(name, 3)} does not exist or is not in ACTIVE status`,
    );

    // Deregistering again is a no-op; by ARN works too.
    await env.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: `${name}:3` }));
    await env.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: defArn(name, 2) }));
    assert.equal(await run(), defArn(name, 1));

    // A new revision never reuses a number, INACTIVE ones included.
    const { revision } = await registerDefinition(env.client, name, ['true']);
    assert.equal(revision, 4);
    assert.equal(await run(), defArn(name, 4));
  });

  test('a name with every revision INACTIVE cannot be submitted', async () => {
    await registerDefinition(env.client, 'jd-gone', ['true']);
    await env.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: 'jd-gone:1' }));
    await expectClientError(
      env.client.send(new SubmitJobCommand({ jobName: 'x', jobQueue: 'default', jobDefinition: 'jd-gone' })),
      'JobDefinition name jd-gone does not exist or is not in ACTIVE status',
    );
  });

  test('pagination: maxResults/nextToken pages add up to the full list; a bad nextToken is a ClientException', async () => {
    for (let i = 0; i < 5; i++) await registerDefinition(env.client, 'jd-page', ['true']);
    const { items } = await collectPages(async (nextToken) => {
      const out = await env.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: 'jd-page', maxResults: 2, nextToken }));
      return { items: out.jobDefinitions, nextToken: out.nextToken };
    }, 2);
    assert.deepEqual(items.map((d) => d.revision), [1, 2, 3, 4, 5]);

    const full = (await env.client.send(new DescribeJobDefinitionsCommand({}))).jobDefinitions ?? [];
    assert.ok(full.length >= 10, `full list has ${full.length}`);
    const { items: all } = await collectPages(async (nextToken) => {
      const out = await env.client.send(new DescribeJobDefinitionsCommand({ maxResults: 3, nextToken }));
      return { items: out.jobDefinitions, nextToken: out.nextToken };
    }, 3);
    assert.deepEqual(all, full);

    const { items: active } = await collectPages(async (nextToken) => {
      const out = await env.client.send(new DescribeJobDefinitionsCommand({ status: 'ACTIVE', maxResults: 4, nextToken }));
      return { items: out.jobDefinitions, nextToken: out.nextToken };
    }, 4);
    assert.deepEqual(active, full.filter((d) => d.status === 'ACTIVE'));

    await expectClientError(env.client.send(new DescribeJobDefinitionsCommand({ nextToken: 'bm9wZQ' })), /nextToken/);
  });

  describe('rejected (and no revision number is used up)', () => {
    const bad = 'jd-bad';

    test('missing type (SDK types require it: sent with a cast)', async () => {
      await expectRejected(
        env.client,
        () =>
          env.client.send(
            new RegisterJobDefinitionCommand({ jobDefinitionName: bad, containerProperties: { image: 'x', command: ['true'], resourceRequirements: SMALL } } as any),
          ),
        'Missing required parameter: type',
      );
    });

    test('type BOGUS; container without containerProperties', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: bad, type: 'BOGUS' as never, containerProperties: { image: 'x' } })),
        'Invalid value for parameter type: "BOGUS" is not valid; valid values are: container, multinode',
      );
      await expectRejected(
        env.client,
        () => env.client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: bad, type: 'container' })),
        /^Missing required parameter: containerProperties/,
      );
    });

    test('retryStrategy evaluateOnExit action FAILED names the field, the value and suggests EXIT', async () => {
      const msg = await expectRejected(
        env.client,
        () =>
          env.client.send(
            new RegisterJobDefinitionCommand({
              jobDefinitionName: bad,
              type: 'container',
              containerProperties: { image: 'x', command: ['true'], resourceRequirements: SMALL },
              retryStrategy: { attempts: 2, evaluateOnExit: [{ onExitCode: '1', action: 'FAILED' as never }] },
            }),
          ),
        /^Invalid value for parameter retryStrategy\.evaluateOnExit\[0\]\.action: "FAILED" is not a valid action/,
      );
      assert.match(msg, /\bEXIT\b/);
    });

    test('timeout attemptDurationSeconds 10 (< 60)', async () => {
      await expectRejected(
        env.client,
        () =>
          env.client.send(
            new RegisterJobDefinitionCommand({
              jobDefinitionName: bad,
              type: 'container',
              containerProperties: { image: 'x', command: ['true'], resourceRequirements: SMALL },
              timeout: { attemptDurationSeconds: 10 },
            }),
          ),
        'Invalid value for parameter timeout.attemptDurationSeconds: 10 is out of range; it must be at least 60 seconds',
      );
    });

    test('a name that does not match the pattern; an AWS_BATCH_ environment variable', async () => {
      await expectRejected(
        env.client,
        () => registerDefinition(env.client, 'jd bad', ['true']),
        /^Invalid value for parameter jobDefinitionName: Provided name jd bad is not supported pattern/,
      );
      await expectRejected(
        env.client,
        () => registerDefinition(env.client, bad, ['true'], { environment: [{ name: 'AWS_BATCH_JOB_ID', value: 'x' }] }),
        /^Invalid value for parameter containerProperties\.environment\[0\]\.name: "AWS_BATCH_JOB_ID" starts with AWS_BATCH/,
      );
    });

    test('deregistering an unknown revision or a bare name', async () => {
      await expectRejected(
        env.client,
        () => env.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: `${name}:99` })),
        `jobDefinition: job definition ${name}:99 does not exist`,
      );
      await expectRejected(
        env.client,
        () => env.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: name })),
        /^jobDefinition: jd-rev must name a revision/,
      );
    });

    test('after all the rejections the first revision of the name is still 1', async () => {
      assert.deepEqual(await describeDefs([bad]), []);
      const { revision } = await registerDefinition(env.client, bad, ['true']);
      assert.equal(revision, 1);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('tags', () => {
  async function roundTrip(arn: string, initial: Record<string, string>) {
    assert.deepEqual(await listTags(arn), initial, 'tags given at creation');
    await env.client.send(new TagResourceCommand({ resourceArn: arn, tags: { env: 'dev', team: 'b' } }));
    assert.deepEqual(await listTags(arn), { ...initial, env: 'dev', team: 'b' });
    await env.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['team', 'not-there'] }));
    const left = { ...initial, env: 'dev' } as Record<string, string>;
    delete left.team;
    assert.deepEqual(await listTags(arn), left);
    return left;
  }

  test('compute environment: tags at create, TagResource, UntagResource, and Describe agrees', async () => {
    await env.client.send(managed('tag-ce', 1, { tags: { team: 'a', cost: '1' } }));
    const left = await roundTrip(ceArn('tag-ce'), { team: 'a', cost: '1' });
    assert.deepEqual((await describeCe('tag-ce'))?.tags, left);
  });

  test('job queue', async () => {
    await env.client.send(new CreateJobQueueCommand({ jobQueueName: 'tag-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'tag-ce' }], tags: { q: 'yes' } }));
    const left = await roundTrip(queueArn('tag-q'), { q: 'yes' });
    assert.deepEqual((await describeQueue('tag-q'))?.tags, left);
  });

  test('job definition (per revision)', async () => {
    await registerDefinition(env.client, 'tag-def', ['true'], { tags: { d: '1' } });
    await registerDefinition(env.client, 'tag-def', ['true']);
    const left = await roundTrip(defArn('tag-def', 1), { d: '1' });
    const [d1, d2] = await describeDefs(['tag-def']);
    assert.deepEqual(d1.tags, left);
    assert.deepEqual(d2.tags, {}, 'the other revision is untouched');
    assert.deepEqual(await listTags(defArn('tag-def', 2)), {});
  });

  test('job: tags given at SubmitJob show up in DescribeJobs and ListTagsForResource', async () => {
    const id = await submit(env.client, { jobName: 'tagged', jobQueue: 'default', jobDefinition: 'tag-def', tags: { owner: 'me' } });
    const [j] = await describeJobs(env.client, [id]);
    assert.deepEqual(j.tags, { owner: 'me' });
    const left = await roundTrip(jobArn(id), { owner: 'me' });
    assert.deepEqual((await describeJobs(env.client, [id]))[0].tags, left);
    await waitForStatus(env.client, id, 'SUCCEEDED');
    assert.deepEqual(await listTags(jobArn(id)), left, 'kept after the job ended');
  });

  test('rejected: unknown resources, malformed ARNs, reserved keys', async () => {
    for (const arn of [ceArn('nope'), queueArn('nope'), defArn('nope', 1), defArn('tag-def', 9), jobArn('00000000-0000-0000-0000-000000000000')]) {
      await expectClientError(env.client.send(new TagResourceCommand({ resourceArn: arn, tags: { a: 'b' } })), `resourceArn: resource ${arn} does not exist`);
      await expectClientError(env.client.send(new ListTagsForResourceCommand({ resourceArn: arn })), `resourceArn: resource ${arn} does not exist`);
      await expectClientError(env.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['a'] })), `resourceArn: resource ${arn} does not exist`);
    }
    await expectClientError(
      env.client.send(new ListTagsForResourceCommand({ resourceArn: 'not-an-arn' })),
      /^Invalid value for parameter resourceArn: "not-an-arn" is not the ARN of a taggable AWS Batch resource/,
    );
    await expectClientError(
      env.client.send(new TagResourceCommand({ resourceArn: ceArn('tag-ce'), tags: { 'aws:owner': 'x' } })),
      /^Invalid value for parameter tags: tag key "aws:owner" starts with "aws:"/,
    );
    const many = (prefix: string) => Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${prefix}${i}`, 'v']));
    await env.client.send(new TagResourceCommand({ resourceArn: queueArn('tag-q'), tags: many('a') }));
    const before = await listTags(queueArn('tag-q'));
    await expectClientError(
      env.client.send(new TagResourceCommand({ resourceArn: queueArn('tag-q'), tags: many('b') })),
      `tags: a resource can have at most 50 tags; ${queueArn('tag-q')} would have ${Object.keys(before).length + 30}`,
    );
    assert.deepEqual(await listTags(queueArn('tag-q')), before);
    assert.deepEqual(await listTags(ceArn('tag-ce')), { cost: '1', env: 'dev' }, 'unchanged by the rejected TagResource');
    // An ARN of another region or account names another resource.
    await expectClientError(
      env.client.send(new ListTagsForResourceCommand({ resourceArn: ceArn('tag-ce').replace('us-east-1', 'eu-west-1') })),
      /^resourceArn: resource arn:aws:batch:eu-west-1:000000000000:compute-environment\/tag-ce does not exist/,
    );
  });

  test('tag keys and values with spaces, slashes, +, = and & survive the path and query encoding', async () => {
    const odd = { 'team name': 'a b', 'k/ey': 'v/w', 'x+y': '1+2', 'p=q&r': 's', 'ü': 'ö' };
    await env.client.send(new TagResourceCommand({ resourceArn: ceArn('tag-ce'), tags: odd }));
    assert.deepEqual(await listTags(ceArn('tag-ce')), { cost: '1', env: 'dev', ...odd });
    await env.client.send(new UntagResourceCommand({ resourceArn: ceArn('tag-ce'), tagKeys: ['x+y', 'team name', 'p=q&r', 'ü', 'k/ey'] }));
    assert.deepEqual(await listTags(ceArn('tag-ce')), { cost: '1', env: 'dev' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('restart', () => {
  test('everything Describe and ListTagsForResource report survives a server restart', async () => {
    const before = await metadataSnapshot(env.client);
    const tagged = [ceArn('tag-ce'), queueArn('tag-q'), defArn('tag-def', 1)];
    const tagsBefore = await Promise.all(tagged.map(listTags));
    await env.server.stop();
    await env.server.start();
    env.client.destroy();
    env.client = env.server.client();
    env.endpoint = env.server.endpoint;
    assert.deepEqual(await metadataSnapshot(env.client), before);
    assert.deepEqual(await Promise.all(tagged.map(listTags)), tagsBefore);
    // Revision numbers continue where they were.
    assert.equal((await registerDefinition(env.client, 'jd-rev', ['true'])).revision, 5);
  });
});
