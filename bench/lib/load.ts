// The SubmitJob load generator: `workers` forked processes (load-worker.ts), each with several SDK
// clients on keep-alive connections and a fixed number of calls in flight, started together for a
// warm-up and then a measured window. Reports the rate, latency percentiles, and the CPU the
// generator itself used, so a reader can tell whether the client or the server was the bound.

import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineBusyShare, machineCpu } from './proc.js';
import { summarize, type Summary } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface LoadOptions {
  endpoint: string;
  jobQueue: string;
  jobDefinition: string;
  /** sdk: @aws-sdk/client-batch; raw: the same request as plain HTTP (no SDK, no signing). */
  mode: 'sdk' | 'raw';
  workers: number;
  clientsPerWorker: number;
  /** Calls in flight per worker. */
  concurrencyPerWorker: number;
  maxSockets: number;
  warmupMs: number;
  durationMs: number;
  /** CPU seconds of the server so far (sampled at the window's start and end). */
  serverCpu?: () => number;
}

export interface WorkerStart {
  type: 'start';
  mode: 'sdk' | 'raw';
  index: number;
  endpoint: string;
  jobQueue: string;
  jobDefinition: string;
  clients: number;
  concurrency: number;
  maxSockets: number;
  startAt: number;
  warmupMs: number;
  durationMs: number;
}

export interface WorkerReport {
  type: 'done';
  ok: number;
  warmupOk: number;
  errors: number;
  errorSamples: string[];
  latencies: number[];
  cpuSeconds: number;
  tailMs: number;
}

export interface LoadResult {
  /** Successful SubmitJob calls started inside the measured window, per second. */
  rate: number;
  latencyMs: Summary;
  /** Every successful call, warm-up included (what the store must hold). */
  submitted: number;
  errors: number;
  errorSamples: string[];
  /** CPU the load generator used in the window, in cores (1 = one core busy all the time). */
  clientCores: number;
  /** CPU the server process used in the window, in cores. */
  serverCores?: number;
  /** Share of all the machine's CPUs busy in the window (0..1). */
  machineBusy: number;
  inFlight: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const children = Array.from({ length: o.workers }, () => fork(path.join(HERE, 'load-worker.ts'), [], { execArgv: ['--import', 'tsx'] }));
  try {
    await Promise.all(children.map((c) => new Promise((resolve, reject) => {
      c.once('message', resolve);
      c.once('exit', (code) => reject(new Error(`load worker exited ${code} before it was ready`)));
    })));
    const startAt = Date.now() + 300;
    const windowStart = startAt + o.warmupMs;
    const reports = children.map(
      (c) =>
        new Promise<WorkerReport>((resolve, reject) => {
          c.once('message', (m) => resolve(m as WorkerReport));
          c.once('exit', (code) => reject(new Error(`load worker exited ${code} before reporting`)));
        }),
    );
    children.forEach((c, index) =>
      c.send({ type: 'start', mode: o.mode, index, endpoint: o.endpoint, jobQueue: o.jobQueue, jobDefinition: o.jobDefinition, clients: o.clientsPerWorker, concurrency: o.concurrencyPerWorker, maxSockets: o.maxSockets, startAt, warmupMs: o.warmupMs, durationMs: o.durationMs } satisfies WorkerStart),
    );
    // Server and machine CPU over the same window as the workers' own CPU readings.
    let server0 = NaN;
    let machine0 = machineCpu();
    await new Promise((r) => setTimeout(r, Math.max(0, windowStart - Date.now())));
    server0 = o.serverCpu?.() ?? NaN;
    machine0 = machineCpu();
    await new Promise((r) => setTimeout(r, Math.max(0, windowStart + o.durationMs - Date.now())));
    const server1 = o.serverCpu?.() ?? NaN;
    const machine1 = machineCpu();
    const done = await Promise.all(reports);
    const seconds = o.durationMs / 1000;
    const latencies = done.flatMap((d) => d.latencies);
    const ok = done.reduce((a, d) => a + d.ok, 0);
    return {
      rate: ok / seconds,
      latencyMs: summarize(latencies),
      submitted: done.reduce((a, d) => a + d.ok + d.warmupOk, 0),
      errors: done.reduce((a, d) => a + d.errors, 0),
      errorSamples: done.flatMap((d) => d.errorSamples).slice(0, 5),
      clientCores: done.reduce((a, d) => a + d.cpuSeconds, 0) / seconds,
      serverCores: o.serverCpu ? (server1 - server0) / seconds : undefined,
      machineBusy: machineBusyShare(machine0, machine1),
      inFlight: o.workers * o.concurrencyPerWorker,
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}
