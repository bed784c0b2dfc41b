// Podman for the container executor's tests: scripts/podman-local.sh sets it up (containers.conf,
// the local busybox image, the Docker-compatible API service) once per machine; tests skip, naming
// what to install, where podman is absent.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUSYBOX = 'localhost/busybox:latest';
const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/podman-local.sh');

let cached: { socket?: string; skip?: string } | undefined;

/** The Docker API socket of a running podman service (set up on first use), or why tests must skip. */
export function podman(): { socket?: string; skip?: string } {
  if (cached) return cached;
  if (process.env.OPENBATCH_TEST_CONTAINER_SOCKET) return (cached = { socket: process.env.OPENBATCH_TEST_CONTAINER_SOCKET });
  const has = (c: string) => ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'].some((d) => fs.existsSync(path.join(d, c)));
  const missing = ['podman', 'runc', 'busybox'].filter((c) => !has(c));
  if (missing.length) {
    const skip = `SKIPPED: container executor tests need podman (missing: ${missing.join(', ')}): apt-get install -y podman runc busybox-static catatonit`;
    process.stderr.write(`\n*** ${skip} ***\n\n`);
    return (cached = { skip });
  }
  try {
    const out = execFileSync(script, ['setup'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    return (cached = { socket: out.trim().split('\n').pop() });
  } catch (e) {
    const skip = `SKIPPED: scripts/podman-local.sh setup failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`;
    process.stderr.write(`\n*** ${skip} ***\n\n`);
    return (cached = { skip });
  }
}
