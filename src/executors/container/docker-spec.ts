// From an AttemptSpec to the Docker Engine API's container create options (POST /containers/create),
// the labels that find an attempt's container again, and the AWS reasons of container failures.

import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ContainerCreateOptions } from 'dockerode';
import type { AttemptSpec } from '../executor.js';

export const LABEL_KEY = 'openbatch.attempt-key';
export const LABEL_JOB_ID = 'openbatch.job-id';
export const LABEL_ATTEMPT = 'openbatch.attempt';
export const LABEL_DATA_DIR = 'openbatch.data-dir';

export const REASON_OOM = 'OutOfMemoryError: Container killed due to memory usage';
export const REASON_LOST = "CannotInspectContainerError: the attempt's container is gone without a recorded exit status";
export const REASON_LOST_WHILE_DOWN =
  "CannotInspectContainerError: the attempt's container is gone without a recorded exit status (removed while the server was down)";

/** 16 hex digits naming a data dir (as the local executor's cgroups): containers of other servers are never touched. */
export function dataDirId(dataDir: string): string {
  return createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
}

/** The container's name: unique per data dir and attempt, so a second create of the same attempt fails. */
export function containerName(dirId: string, key: string): string {
  const readable = key.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return `openbatch-${dirId}-${readable}-${hash}`;
}

const PERMISSIONS: Record<string, string> = { READ: 'r', WRITE: 'w', MKNOD: 'm' };

/** The create options of an attempt's container. */
export function createOptions(spec: AttemptSpec, name: string, dirId: string, network: string | undefined): ContainerCreateOptions {
  const c = spec.container ?? {};
  const lp = c.linuxParameters ?? {};
  const memoryBytes = spec.memory > 0 ? Math.round(spec.memory * 1024 * 1024) : 0;
  const binds: string[] = [];
  const anonymous: Record<string, object> = {};
  for (const mp of c.mountPoints ?? []) {
    if (!mp.containerPath) continue;
    const volume = (c.volumes ?? []).find((v) => v.name === mp.sourceVolume);
    const source = volume?.host?.sourcePath;
    if (source) binds.push(`${source}:${mp.containerPath}:${mp.readOnly ? 'ro' : 'rw'}`);
    else anonymous[mp.containerPath] = {};
  }
  const hostConfig: NonNullable<ContainerCreateOptions['HostConfig']> = {
    // An init as PID 1 (catatonit under Podman, tini under Docker): SIGTERM reaches the command,
    // which a bare PID 1 would ignore, and orphans are reaped.
    Init: true,
    ...(memoryBytes > 0 ? { Memory: memoryBytes, MemorySwap: lp.maxSwap !== undefined ? memoryBytes + lp.maxSwap * 1024 * 1024 : memoryBytes } : {}),
    ...(lp.swappiness !== undefined ? { MemorySwappiness: lp.swappiness } : {}),
    ...(spec.vcpus > 0 ? { NanoCpus: Math.round(spec.vcpus * 1e9) } : {}),
    ...(binds.length ? { Binds: binds } : {}),
    ...(c.privileged ? { Privileged: true } : {}),
    ...(c.readonlyRootFilesystem ? { ReadonlyRootfs: true } : {}),
    ...(c.ulimits?.length ? { Ulimits: c.ulimits.map((u) => ({ Name: u.name, Soft: u.softLimit, Hard: u.hardLimit })) } : {}),
    ...(lp.sharedMemorySize ? { ShmSize: Math.round(lp.sharedMemorySize * 1024 * 1024) } : {}),
    ...(lp.devices?.length
      ? {
          Devices: lp.devices.map((d) => ({
            PathOnHost: d.hostPath,
            PathInContainer: d.containerPath ?? d.hostPath,
            CgroupPermissions: (d.permissions ?? ['READ', 'WRITE', 'MKNOD']).map((p) => PERMISSIONS[p] ?? '').join('') || 'rwm',
          })),
        }
      : {}),
    ...(lp.tmpfs?.length
      ? { Tmpfs: Object.fromEntries(lp.tmpfs.map((t) => [t.containerPath, [`size=${t.size}m`, ...(t.mountOptions ?? [])].join(',')])) }
      : {}),
    ...(spec.gpuIndices?.length || spec.gpus > 0
      ? {
          DeviceRequests: [
            {
              Driver: 'nvidia',
              ...(spec.gpuIndices?.length ? { DeviceIDs: spec.gpuIndices.map(String) } : { Count: spec.gpus }),
              Capabilities: [['gpu']],
            },
          ],
        }
      : {}),
    ...(network ? { NetworkMode: network } : {}),
  };
  return {
    name,
    Image: spec.image,
    // AWS Batch's command replaces the image's CMD; its ENTRYPOINT stays. No command: the image's CMD.
    ...(spec.command.length ? { Cmd: spec.command } : {}),
    Env: Object.entries(spec.environment).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABEL_KEY]: spec.key,
      [LABEL_JOB_ID]: spec.jobId,
      [LABEL_ATTEMPT]: String(spec.attempt),
      [LABEL_DATA_DIR]: dirId,
    },
    ...(c.user ? { User: c.user } : {}),
    ...(Object.keys(anonymous).length ? { Volumes: anonymous } : {}),
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    HostConfig: hostConfig,
  };
}

/** The message of a Docker API error (dockerode puts the engine's JSON body in `json`). */
export function apiMessage(e: unknown): string {
  const err = e as { json?: { message?: string }; message?: string; reason?: string };
  const m = err?.json?.message ?? err?.message ?? String(e);
  return m.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

export function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number })?.statusCode;
}
