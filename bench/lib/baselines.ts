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

/** Seconds `seq n | xargs -P<cores> -I{} true` takes (the same processes, started as fast as the shell can). */
export function xargsFloorSeconds(n: number, parallel = cpuCount()): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('sh', ['-c', `seq ${n} | xargs -P${parallel} -I{} true`], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`xargs exited ${code}`))));
  });
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
