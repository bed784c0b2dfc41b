// Right-sizing data: what the attempts of a job definition used (peak memory, CPU time, as the
// executors measured them and the store kept them, migration 0005) summarised against what they
// asked for, and the memory to ask for instead: the seed's advice, p95 of the observed peak plus
// 20 %. Pure functions over the store; the API, the CLI and the /metrics gauges use them.

import type { AttemptUsageSample, StoreReader } from '../store/store.js';

/** How many of a definition's most recent measured attempts a summary looks at (by default). */
export const USAGE_WINDOW = 1000;
/** The most a caller may ask for. */
export const MAX_USAGE_WINDOW = 10_000;
/** Headroom over the p95 peak in the memory recommendation (the seed's "p95 plus 20 %"). */
export const RECOMMENDATION_HEADROOM = 1.2;

export interface Percentiles {
  /** How many attempts had this measurement. */
  count: number;
  p50: number;
  p95: number;
  max: number;
}

export interface JobDefinitionUsage {
  jobDefinition: string;
  /** Measured attempts looked at (the newest `window`). */
  count: number;
  window: number;
  /** Absent when none of them had the measurement. */
  peakMemoryMiB?: Percentiles;
  cpuSeconds?: Percentiles;
  /** The memory (MiB) the newest of these attempts' job asked for (after overrides). */
  requestedMemoryMiB?: number;
  /** ceil(p95 peak memory × 1.2), MiB; absent without memory measurements. */
  recommendedMemoryMiB?: number;
  /** Stopped time of the oldest and newest attempt looked at (epoch ms). */
  from?: number;
  to?: number;
}

/** Nearest-rank percentile (q in (0, 1]) of numbers sorted ascending: a value that was observed. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function percentiles(values: number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = values.sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted[sorted.length - 1] };
}

/** The memory to ask for: p95 of the observed peaks plus 20 %, rounded up to a whole MiB. */
export function recommendMemoryMiB(p95PeakMiB: number): number {
  return Math.ceil(p95PeakMiB * RECOMMENDATION_HEADROOM);
}

/** The summary of samples (newest first, as the store returns them). */
export function summariseUsage(jobDefinition: string, samples: readonly AttemptUsageSample[], window: number): JobDefinitionUsage {
  const out: JobDefinitionUsage = { jobDefinition, count: samples.length, window };
  const memory = percentiles(samples.flatMap((s) => (s.peakMemoryMiB !== undefined ? [s.peakMemoryMiB] : [])));
  const cpu = percentiles(samples.flatMap((s) => (s.cpuSeconds !== undefined ? [s.cpuSeconds] : [])));
  if (memory) {
    out.peakMemoryMiB = memory;
    out.recommendedMemoryMiB = recommendMemoryMiB(memory.p95);
  }
  if (cpu) out.cpuSeconds = cpu;
  if (samples.length > 0) {
    out.requestedMemoryMiB = samples[0].requestedMemoryMiB;
    out.to = samples[0].stoppedAt;
    out.from = samples[samples.length - 1].stoppedAt;
  }
  return out;
}

/** One job definition (by name: all its revisions) over its newest `window` measured attempts. */
export async function jobDefinitionUsage(store: Pick<StoreReader, 'attemptUsage'>, jobDefinitionName: string, window = USAGE_WINDOW): Promise<JobDefinitionUsage> {
  const n = Math.min(MAX_USAGE_WINDOW, Math.max(1, Math.floor(window)));
  return summariseUsage(jobDefinitionName, await store.attemptUsage(jobDefinitionName, n), n);
}

/**
 * Every job definition with measured attempts, each over its newest `window` of them: what the
 * /metrics gauges per job definition are made of. One indexed query per definition name (bounded
 * by `window` rows each); definitions without measurements are left out. `names`: these
 * definitions only (default: every name the store has).
 */
export async function usageByJobDefinition(
  store: Pick<StoreReader, 'attemptUsage' | 'loadJobDefinitions'>,
  opts: { window?: number; names?: readonly string[] } = {},
): Promise<JobDefinitionUsage[]> {
  const names = opts.names ?? [...new Set((await store.loadJobDefinitions()).map((d) => d.jobDefinitionName))].sort();
  const out: JobDefinitionUsage[] = [];
  for (const name of names) {
    const u = await jobDefinitionUsage(store, name, opts.window);
    if (u.count > 0) out.push(u);
  }
  return out;
}

/**
 * `usageByJobDefinition`, computed at most once per `ttlMs` (concurrent callers share one run): for
 * /metrics, where several gauges' `collect()` ask for the same summaries in one scrape.
 */
export function cachedUsageByJobDefinition(
  store: Pick<StoreReader, 'attemptUsage' | 'loadJobDefinitions'>,
  opts: { window?: number; ttlMs?: number; now?: () => number } = {},
): () => Promise<JobDefinitionUsage[]> {
  const ttlMs = opts.ttlMs ?? 10_000;
  const now = opts.now ?? Date.now;
  let last: { at: number; value: Promise<JobDefinitionUsage[]> } | undefined;
  return () => {
    const t = now();
    if (!last || t - last.at >= ttlMs) {
      const value = usageByJobDefinition(store, { window: opts.window });
      last = { at: t, value };
      value.catch(() => {
        if (last?.value === value) last = undefined; // a failed run is not cached
      });
    }
    return last.value;
  };
}
