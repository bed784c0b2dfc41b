// Right-sizing data: the measured usage of a job definition's most recent attempts (migration
// 0005), newest first, through the partial index on (job_definition_name, stopped_at); each row
// joined to its job by primary key for the memory the job asked for.

import type { AttemptUsageSample } from '../store.js';
import { all, type SqlContext } from './context.js';

export async function attemptUsage(c: SqlContext, jobDefinitionName: string, limit: number): Promise<AttemptUsageSample[]> {
  const rows = await all<{ job_id: string; attempt: number; stopped_at: number | null; peak_memory_mib: number | null; cpu_seconds: number | null; memory: number }>(
    c,
    c.qb
      .selectFrom('attempts as a')
      .innerJoin('jobs as j', 'j.id', 'a.job_id')
      .select(['a.job_id', 'a.attempt', 'a.stopped_at', 'a.peak_memory_mib', 'a.cpu_seconds', 'j.memory'])
      .where('a.job_definition_name', '=', jobDefinitionName)
      .orderBy('a.stopped_at', 'desc')
      .limit(Math.max(0, Math.floor(limit))),
  );
  return rows.map((r) => {
    const s: AttemptUsageSample = { jobId: r.job_id, attempt: Number(r.attempt), stoppedAt: Number(r.stopped_at ?? 0), requestedMemoryMiB: Number(r.memory) };
    if (r.peak_memory_mib != null) s.peakMemoryMiB = Number(r.peak_memory_mib);
    if (r.cpu_seconds != null) s.cpuSeconds = Number(r.cpu_seconds);
    return s;
  });
}
