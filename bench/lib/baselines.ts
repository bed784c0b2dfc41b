// The baselines each OpenBatch figure is set against, measured in the same run on the same machine:
// - the process-start floor: `seq N | xargs -P<cores> -I{} true`, the same N processes with no
//   scheduler at all;
// - the client's ceiling: the same SDK load against a stub HTTP server that answers SubmitJob at
//   once (no validation, no store), i.e. what this client and this machine can do at best;
// - the fork/exec of `true` from Node, for the latency floor.

import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuCount } from './proc.js';
import { summarize, type Summary } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * `seq n | xargs -P<cores> -I{} true` (the same processes, started as fast as the shell can): its
 * wall time, and the CPU seconds it used, processes included (the shell's reaped-children time,
 * read by the shell itself once xargs is done). The CPU figure hardly moves when another workload
 * shares the machine, unlike the wall time.
 */
export function xargsFloor(n: number, parallel = cpuCount()): Promise<{ seconds: number; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const script = `seq ${n} | xargs -P${parallel} -I{} true || exit 1; cat /proc/$$/stat`;
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stat = '';
    child.stdout!.on('data', (d: Buffer) => (stat += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`xargs exited ${code}`));
      const f = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
      resolve({ seconds, cpuSeconds: (Number(f[13]) + Number(f[14])) / 100 });
    });
  });
}

/** Seconds `seq n | xargs -P<cores> -I{} true` takes. */
export async function xargsFloorSeconds(n: number, parallel = cpuCount()): Promise<number> {
  return (await xargsFloor(n, parallel)).seconds;
}

export function xargsCommand(n: number, parallel = cpuCount()): string {
  return `seq ${n} | xargs -P${parallel} -I{} true`;
}

/** Milliseconds from spawn('true') to its exit, `n` times in a row. */
export async function spawnTrueMs(n: number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const c = spawn('true', [], { stdio: 'ignore' });
      c.on('error', reject);
      c.on('exit', () => resolve());
    });
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

/** A stub AWS Batch endpoint in its own process: answers every POST /v1/submitjob at once. */
export class StubServer {
  private child?: ChildProcess;
  endpoint = '';

  get pid(): number {
    return this.child!.pid!;
  }

  async start(): Promise<this> {
    const child = fork(path.join(HERE, 'stub-server.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    this.endpoint = await new Promise<string>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { endpoint: string }).endpoint));
      child.once('exit', (code) => reject(new Error(`stub server exited ${code}`)));
    });
    return this;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}
