// What every scenario gets: the options, a progress log, and a way to start a fresh server.

import type { Checks } from './checks.js';
import type { Row } from './report.js';
import { BenchServer } from './server.js';

export interface BenchOptions {
  cli: string;
  /** PostgreSQL: a URL the bench uses to create (and afterwards drop) a fresh database per scenario. */
  databaseUrl?: string;
  keep: boolean;
  arraySize: number;
  arrayMaxvCpus: number;
  submitSeconds: number;
  submitWarmupSeconds: number;
  submitRunSeconds: number;
  submitWorkers: number;
  submitClients: number;
  submitConcurrency: number;
  submitRaw: boolean;
  e2eJobs: number;
  e2eParallel: number;
  latencyJobs: number;
  latencyPollMs: number;
  scaleArrays: number;
  scaleArraySize: number;
  scaleSamples: number;
  slurmJobs: number;
  slurmSlots?: number;
  slurmSubmitParallel: number;
  installSlurm: boolean;
}

export interface ScenarioOutput {
  rows: Row[];
  notes: string[];
  checks: Checks;
  details: Record<string, unknown>;
}

export interface ScenarioContext {
  opts: BenchOptions;
  log(message: string): void;
  /** A started server with a fresh data dir (and database); closed by the caller via `using`-style finally. */
  startServer(label: string): Promise<BenchServer>;
}

export interface Scenario {
  name: string;
  /** One line for --help. */
  summary: string;
  run(ctx: ScenarioContext, out: ScenarioOutput): Promise<void>;
}

/** Runs `fn` with a fresh server, always closing it (and removing its data) afterwards. */
export async function withServer<T>(ctx: ScenarioContext, label: string, fn: (server: BenchServer) => Promise<T>): Promise<T> {
  const server = await ctx.startServer(label);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}
