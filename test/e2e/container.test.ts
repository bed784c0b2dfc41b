// The container executor end to end: a real server whose compute environment is tagged
// openbatch:executor=container runs jobs in Podman containers (Docker API), driven with the SDK.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  type BatchClient,
} from '@aws-sdk/client-batch';
import { TestServer, httpGet, waitForStatus } from '../helpers/server.js';
import { BUSYBOX, podman } from '../executors/container-helpers.js';

const { socket, skip } = podman();
const T = 60_000;

describe('container executor end to end (podman)', { skip, timeout: 300_000 }, () => {
  let server: TestServer;
  let client: BatchClient;
  before(async () => {
    server = new TestServer({ env: { OPENBATCH_CONTAINER_SOCKET: socket ?? '', OPENBATCH_CONTAINER_NETWORK: 'none' }, args: ['--no-defaults'] });
    await server.start();
    client = server.client();
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'containers',
        type: 'MANAGED',
        computeResources: { type: 'EC2', maxvCpus: 8, minvCpus: 0, subnets: [], instanceRole: 'x', instanceTypes: ['optimal'] } as never,
        tags: { 'openbatch:executor': 'container' },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'containers' }] }));
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
    server?.cleanup();
  });

  const define = async (name: string, image: string, command: string[], memory = 64, extra: Record<string, unknown> = {}) => {
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: name,
        type: 'container',
        containerProperties: {
          image,
          command,
          resourceRequirements: [
            { type: 'VCPU', value: '1' },
            { type: 'MEMORY', value: String(memory) },
          ],
        },
        ...extra,
      }),
    );
  };
  const submit = async (name: string, def: string) => (await client.send(new SubmitJobCommand({ jobName: name, jobQueue: 'q', jobDefinition: def }))).jobId!;

  test('a busybox job runs in a container; its output is in its log stream; OOM and terminate', async () => {
    await define('hello', BUSYBOX, ['sh', '-c', 'echo "hello from $AWS_BATCH_JOB_ID"; cat /proc/1/cgroup >/dev/null && echo in-container']);
    await define('hog', BUSYBOX, ['sh', '-c', 'echo start; dd if=/dev/zero of=/dev/null bs=64M count=1 && echo survived'], 16);
    await define('sleeper', BUSYBOX, ['sh', '-c', 'echo sleeping; exec sleep 300']);
    const [hello, hog, sleeper] = [await submit('hello', 'hello'), await submit('hog', 'hog'), await submit('sleeper', 'sleeper')];

    const done = await waitForStatus(client, hello, 'SUCCEEDED', T);
    assert.equal(done.attempts?.[0]?.container?.exitCode, 0);
    const stream = done.attempts?.[0]?.container?.logStreamName;
    assert.ok(stream?.startsWith('hello/default/'), stream);
    const logs = await httpGet(`${server.endpoint}/openbatch/v1/jobs/${hello}/logs`);
    assert.equal(logs.status, 200);
    assert.match(logs.body, new RegExp(`hello from ${hello}\\nin-container\\n`));

    const oom = await waitForStatus(client, hog, 'FAILED', T);
    assert.equal(oom.attempts?.[0]?.container?.exitCode, 137);
    assert.equal(oom.attempts?.[0]?.container?.reason, 'OutOfMemoryError: Container killed due to memory usage');

    await waitForStatus(client, sleeper, 'RUNNING', T);
    await client.send(new TerminateJobCommand({ jobId: sleeper, reason: 'enough' }));
    const stopped = await waitForStatus(client, sleeper, 'FAILED', T);
    assert.equal(stopped.statusReason, 'enough');
    assert.equal(stopped.attempts?.[0]?.container?.exitCode, 143);
  });

  test('an image that cannot be pulled: CannotPullContainerError, retried by onReason CannotPullContainerError*', async () => {
    await define('nopull', 'localhost/openbatch-no-such-image:latest', ['true'], 64, {
      retryStrategy: { attempts: 2, evaluateOnExit: [{ onReason: 'CannotPullContainerError*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
    });
    const id = await submit('nopull', 'nopull');
    const failed = await waitForStatus(client, id, 'FAILED', T);
    assert.equal(failed.attempts?.length, 2);
    for (const a of failed.attempts ?? []) assert.match(a.container?.reason ?? '', /^CannotPullContainerError: /);
  });
});
