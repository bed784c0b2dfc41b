// The container executor against real Podman (its Docker-compatible API): the shared conformance
// suite in the local busybox image, then what is particular to containers.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import Docker from 'dockerode';
import { ContainerExecutor, dockerClient } from '../../src/executors/container/container-executor.js';
import { REASON_OOM, containerName, dataDirId } from '../../src/executors/container/docker-spec.js';
import type { AttemptSpec } from '../../src/executors/executor.js';
import { Harness, runExecutorConformance } from './conformance.js';
import { BUSYBOX, podman } from './container-helpers.js';

const TIMEOUT = 30_000;
const { socket, skip } = podman();

if (skip || !socket) {
  test('container executor (podman)', { skip: skip ?? 'no socket' }, () => {});
} else {
  const docker = dockerClient(socket);
  const container = (dataDir: string, key: string) => docker.getContainer(containerName(dataDataId(dataDir), key));
  const dataDataId = (dataDir: string) => dataDirId(dataDir);
  // The tests' scratch dir (<dataDir>/test-scratch) is bind-mounted at the same path, so commands
  // see the files the tests write there.
  class TestContainerExecutor extends ContainerExecutor {
    override start(spec: AttemptSpec): void {
      super.start(withScratch(spec, this.scratch));
    }
    scratch = '';
  }
  const withScratch = (spec: AttemptSpec, scratch: string): AttemptSpec => {
    const c = spec.container ?? {};
    return {
      ...spec,
      container: {
        ...c,
        mountPoints: [...(c.mountPoints ?? []), { sourceVolume: 'openbatch-test-scratch', containerPath: scratch }],
        volumes: [...(c.volumes ?? []), { name: 'openbatch-test-scratch', host: { sourcePath: scratch } }],
      },
    };
  };
  const make = (dataDir: string) => {
    const ex = new TestContainerExecutor({ dataDir, socket, stopGraceMs: 5000, network: 'none' });
    ex.scratch = path.join(dataDir, 'test-scratch');
    return ex;
  };

  runExecutorConformance('container (podman)', make, {
    timeoutMs: TIMEOUT,
    image: BUSYBOX,
    separateStdoutStderr: true,
    waitForRecordedExit: async (dataDir, key) => {
      // The engine keeps the exit status of a container until it is removed.
      await container(dataDir, key).wait();
    },
    killAttemptHard: async (dataDir, key) => {
      await container(dataDir, key).remove({ force: true });
    },
    usageNotMeasured: () => {
      const why = 'the container executor does not measure usage yet (the container\'s cgroup is gone when the engine reports the exit; see src/executors/README.md)';
      return { peakMemory: why, cpu: why };
    },
  });

  describe('container executor (podman)', { timeout: 300_000 }, () => {
    const withHarness = (fn: (h: Harness) => Promise<void>) => async () => {
      const h = await Harness.create(make, TIMEOUT, BUSYBOX);
      try {
        await fn(h);
      } finally {
        await h.dispose();
      }
    };

    test('memory over the limit: exit 137 with the OOM reason; limits, labels, settings reach the container', withHarness(async (h) => {
      const hostDir = path.join(h.scratch, 'vol');
      fs.mkdirSync(hostDir, { mode: 0o777 });
      fs.chmodSync(hostDir, 0o777); // the job runs as user 65534
      fs.writeFileSync(path.join(hostDir, 'in.txt'), 'from-host\n');
      const oom = h.start(h.spec(['sh', '-c', 'echo before; dd if=/dev/zero of=/dev/null bs=64M count=1 && echo after'], { memory: 16 }));
      const settings = h.start(
        h.spec(
          ['sh', '-c', 'cat /data/in.txt; echo out > /data/out.txt; id -u; ulimit -n; df -m /dev/shm | tail -1; touch /x 2>/dev/null || echo ro-root; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'],
          {
            memory: 64,
            container: {
              mountPoints: [{ sourceVolume: 'v', containerPath: '/data' }],
              volumes: [{ name: 'v', host: { sourcePath: hostDir } }],
              user: '65534',
              readonlyRootFilesystem: true,
              // Podman replaces its default_ulimits with the container's: nproc must be given too on this host.
              ulimits: [
                { name: 'nofile', softLimit: 1024, hardLimit: 2048 },
                { name: 'nproc', softLimit: 32768, hardLimit: 32768 },
              ],
              linuxParameters: { sharedMemorySize: 32 },
            },
          },
        ),
      );
      const oomExit = await h.events.exited(oom.key, TIMEOUT);
      assert.equal(oomExit.exitCode, 137);
      assert.equal(oomExit.reason, REASON_OOM);
      assert.match(h.log(oom), /^before\n/);
      assert.doesNotMatch(h.log(oom), /after/);

      const exited = await h.events.exited(settings.key, TIMEOUT);
      assert.equal(exited.exitCode, 0, `${exited.reason} ${h.log(settings)}`);
      // The container stays (with its exit status) until release.
      const info = await container(h.dataDir, settings.key).inspect();
      assert.equal(info.Config.Labels['openbatch.attempt-key'], settings.key);
      assert.equal(info.Config.Labels['openbatch.job-id'], settings.jobId);
      assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
      assert.equal(info.HostConfig.NanoCpus, 1e9);
      const lines = h.log(settings).split('\n');
      assert.equal(lines[0], 'from-host');
      assert.equal(fs.readFileSync(path.join(hostDir, 'out.txt'), 'utf8'), 'out\n');
      assert.equal(lines[1], '65534');
      assert.equal(lines[2], '1024');
      assert.match(lines[3], /\s32\s/);
      assert.equal(lines[4], 'ro-root');
      assert.equal(lines[5], String(64 * 1024 * 1024));
    }));

    test('an image that is neither local nor pullable: CannotPullContainerError, neverStarted', withHarness(async (h) => {
      const spec = h.start(h.spec(['true'], { image: 'localhost/openbatch-no-such-image:latest' }));
      const exited = await h.events.exited(spec.key, TIMEOUT);
      assert.equal(exited.neverStarted, true);
      assert.match(exited.reason ?? '', /^CannotPullContainerError: /);
    }));

    test('release removes the container of a recorded exit', withHarness(async (h) => {
      const spec = h.start(h.spec(['true']));
      await h.events.exited(spec.key, TIMEOUT);
      const c = container(h.dataDir, spec.key);
      assert.equal((await c.inspect()).State.Status, 'exited');
      h.executor.release!(spec.key);
      await c.wait({ condition: 'removed' }).catch(() => {});
      await assert.rejects(c.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
    }));
  });
  void Docker;
}
