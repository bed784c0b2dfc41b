// array: one array job of N children running `true`, submit → parent SUCCEEDED, against the same
// N processes started by `xargs -P<cores>` (the process-start floor of this machine).

import { DescribeJobsCommand, SubmitJobCommand, type JobDetail } from '@aws-sdk/client-batch';
import { checkArraySummary, checkSucceededJobs, CheckFailure } from '../lib/checks.js';
import { batchClient, createQueue, describeAll, listAll, registerTrueDefinition, TRUE_JOB } from '../lib/client.js';
import { withServer, type Scenario } from '../lib/context.js';
import { xargsCommand, xargsFloor } from '../lib/baselines.js';
import { cpuCount, machineBusyShare, machineCpu } from '../lib/proc.js';
import { fmt, nowMs, round, sleep } from '../lib/stats.js';

export const array: Scenario = {
  name: 'array',
  summary: 'one array job of --array-size children running `true`, submit → parent SUCCEEDED, vs. xargs -P<cores>',
  async run(ctx, out) {
    const n = ctx.opts.arraySize;
    const maxvCpus = ctx.opts.arrayMaxvCpus;
    const slots = Math.floor(maxvCpus / Number(TRUE_JOB.vcpus));

    ctx.log(`baseline: ${xargsCommand(n)}`);
    const before = await xargsFloor(n);
    const floorBefore = before.seconds;

    const measured = await withServer(ctx, 'array', async (server) => {
      const client = batchClient(server.endpoint);
      await createQueue(client, { name: 'bench-array', state: 'ENABLED', maxvCpus });
      const def = await registerTrueDefinition(client);
      ctx.log(`OpenBatch: one array of ${n} children (compute environment maxvCpus ${maxvCpus}, ${slots} children at once)`);
      const cpu0 = server.cpuSeconds();
      const m0 = machineCpu();
      const t0 = nowMs();
      const { jobId } = await client.send(new SubmitJobCommand({ jobName: 'bench-array', jobQueue: 'bench-array', jobDefinition: def, arrayProperties: { size: n } }));
      const submitMs = nowMs() - t0;
      let parent: JobDetail | undefined;
      const deadline = Date.now() + Math.max(120_000, n * 50);
      for (;;) {
        parent = (await client.send(new DescribeJobsCommand({ jobs: [jobId!] }))).jobs?.[0];
        if (parent?.status === 'SUCCEEDED' || parent?.status === 'FAILED') break;
        server.assertAlive();
        if (Date.now() > deadline) throw new CheckFailure(`array parent still ${parent?.status} after ${(deadline - t0) / 1000} s: ${JSON.stringify(parent?.arrayProperties?.statusSummary)}`);
        await sleep(20);
      }
      const seconds = (nowMs() - t0) / 1000;
      const cpu1 = server.cpuSeconds();
      const busy = machineBusyShare(m0, machineCpu());
      ctx.log(`OpenBatch: parent ${parent.status} after ${fmt(seconds)} s; checking every child`);

      out.checks.that(parent.status === 'SUCCEEDED', 'array: parent SUCCEEDED', `parent ${parent.status}: ${parent.statusReason ?? ''}`);
      checkArraySummary(out.checks, 'array', parent, n, 'SUCCEEDED');
      const listed = await listAll(client, { arrayJobId: jobId!, jobStatus: 'SUCCEEDED' });
      const listedIds = new Set(listed.map((j) => j.jobId));
      out.checks.that(
        listed.length === n && listedIds.size === n,
        'array: ListJobs --array-job-id returns every child SUCCEEDED',
        `${listed.length} summaries, ${listedIds.size} distinct`,
      );
      const expectedIds = Array.from({ length: n }, (_, i) => `${jobId}:${i}`);
      out.checks.that(expectedIds.every((id) => listedIds.has(id)), 'array: children are <parent>:0..N-1', `${n} ids`);
      const children = await describeAll(client, expectedIds);
      await checkSucceededJobs(out.checks, 'array children', children, n, server);
      const lastStopped = Math.max(...children.map((c) => c.stoppedAt ?? NaN));
      return {
        seconds,
        submitMs,
        lastChildStoppedSeconds: (lastStopped - t0) / 1000,
        serverCores: (cpu1.server - cpu0.server) / seconds,
        launcherCores: (cpu1.children - cpu0.children) / seconds,
        // Server, launcher and jobs (and PostgreSQL): everything the run cost the machine.
        cpuSeconds: cpu1.server - cpu0.server + (cpu1.childrenWithJobs - cpu0.childrenWithJobs) + (cpu1.database - cpu0.database),
        databaseCores: (cpu1.database - cpu0.database) / seconds,
        machineBusy: busy,
      };
    });

    ctx.log(`baseline again (after the server stopped): ${xargsCommand(n)}`);
    const after = await xargsFloor(n);
    const floorAfter = after.seconds;
    const floor = (floorBefore + floorAfter) / 2;
    const floorCpu = (before.cpuSeconds + after.cpuSeconds) / 2;

    out.rows.push({
      metric: `${n.toLocaleString('en-US')} children: submit → parent SUCCEEDED`,
      value: measured.seconds,
      unit: 's',
      baseline: { name: `${xargsCommand(n).replace(/^seq \d+ \| /, '')} (mean of 2)`, value: floor },
      target: { on: 'ratio', op: '<=', limit: 1.3 },
    });
    out.rows.push({
      metric: 'CPU per child (server + launcher + jobs)',
      value: (measured.cpuSeconds / n) * 1000,
      unit: 'ms',
      baseline: { name: 'xargs: CPU per process (mean of 2)', value: (floorCpu / n) * 1000 },
    });
    out.rows.push({
      metric: 'children per second',
      value: n / measured.seconds,
      unit: 'jobs/s',
      baseline: { name: 'xargs processes per second', value: n / floor },
    });
    out.notes.push(
      `compute environment maxvCpus ${maxvCpus}, children ask ${TRUE_JOB.vcpus} vCPU / ${TRUE_JOB.memoryMiB} MiB: up to ${slots} children at once (xargs runs ${cpuCount()}), so capacity is not the bound`,
      `xargs floor ${fmt(floorBefore)} s before and ${fmt(floorAfter)} s after the OpenBatch run; parent polled with DescribeJobs every 20 ms; SubmitJob of the array answered in ${fmt(measured.submitMs)} ms`,
      `during the run the server process used ${fmt(measured.serverCores)} cores${ctx.opts.databaseUrl ? `, PostgreSQL ${fmt(measured.databaseCores)} cores` : ''}, its launcher process ${fmt(measured.launcherCores)} cores; the machine was ${fmt(measured.machineBusy * 100)}% busy (${cpuCount()} CPUs; the rest is mostly the supervisors and the jobs themselves: fork, exec, exit)`,
    );
    out.details.array = {
      size: n,
      maxvCpus,
      seconds: round(measured.seconds),
      lastChildStoppedSeconds: round(measured.lastChildStoppedSeconds),
      submitMs: round(measured.submitMs),
      xargsSeconds: { before: round(floorBefore), after: round(floorAfter), mean: round(floor) },
      xargsCpuSeconds: { before: round(before.cpuSeconds), after: round(after.cpuSeconds) },
      cpuSeconds: round(measured.cpuSeconds),
      serverCores: round(measured.serverCores),
      databaseCores: round(measured.databaseCores),
      launcherCores: round(measured.launcherCores),
      machineBusy: round(measured.machineBusy),
    };
  },
};
