// slurm: the same N trivial jobs through plain `sbatch --wrap true` on a single-node Slurm tuned for
// throughput (scripts/slurm-local.sh), through OpenBatch on that Slurm (a compute environment
// tagged openbatch:executor=slurm: OpenBatch schedules, sbatch runs) and through OpenBatch's local
// executor (N single jobs), all timed from the first submit to the poll that saw them all done. Without Slurm the scenario is
// skipped with the way to enable it; --install-slurm installs and starts it, and stops afterwards
// only what it started.

import { checkSucceededJobs } from '../lib/checks.js';
import { batchClient, createQueue, registerTrueDefinition } from '../lib/client.js';
import { withServer, type Scenario } from '../lib/context.js';
import { runSingleJobs } from '../lib/e2e.js';
import { runSlurmJobs, slurmInstalled, slurmNodeInfo, slurmScript, slurmUp } from '../lib/slurm.js';
import { fmt, round } from '../lib/stats.js';

const HOW = 'run `npm run bench -- slurm --install-slurm` (or OPENBATCH_BENCH_INSTALL_SLURM=1) to install Slurm with apt and start it, or start it yourself with scripts/slurm-local.sh setup';

export const slurm: Scenario = {
  name: 'slurm',
  summary: 'N trivial jobs end to end through sbatch on a single-node Slurm (tuned) vs. through OpenBatch (needs Slurm: --install-slurm)',
  async run(ctx, out) {
    const n = ctx.opts.slurmJobs;
    const parallel = ctx.opts.slurmSubmitParallel;
    let startedHere = false;
    if (!(await slurmUp())) {
      const installed = await slurmInstalled();
      if (!ctx.opts.installSlurm) {
        out.details.skipped = installed ? `Slurm is installed but not running; ${HOW}` : `Slurm is not installed; ${HOW}`;
        ctx.log(String(out.details.skipped));
        return;
      }
      if (process.getuid?.() !== 0) {
        out.details.skipped = 'installing and starting Slurm needs root (scripts/slurm-local.sh)';
        return;
      }
      ctx.log(`${installed ? 'starting' : 'installing and starting'} Slurm: scripts/slurm-local.sh setup`);
      await slurmScript(['setup'], ctx.opts.slurmSlots ? { SLURM_SETUP_SLOTS: String(ctx.opts.slurmSlots) } : {});
      startedHere = true;
    }
    let slurmRun;
    let info = '';
    let onSlurm;
    try {
      info = await slurmNodeInfo();
      ctx.log(`Slurm: ${info}`);
      ctx.log(`Slurm: ${n} × sbatch --wrap true (${parallel} sbatch at a time), then wait until squeue shows none`);
      slurmRun = await runSlurmJobs(n, parallel, out.checks);
      ctx.log(`Slurm: ${fmt(slurmRun.seconds)} s (${fmt(n / slurmRun.seconds)} jobs/s; submitting took ${fmt(slurmRun.submitSeconds)} s)`);

      // OpenBatch's scheduler in front of the same Slurm: a compute environment tagged
      // openbatch:executor=slurm, so every job is an sbatch, followed with squeue.
      ctx.log(`OpenBatch on Slurm: ${n} single jobs end to end (openbatch:executor=slurm)`);
      onSlurm = await withServer(ctx, 'slurm-executor', async (server) => {
        const client = batchClient(server.endpoint);
        await createQueue(client, { name: 'bench-on-slurm', state: 'ENABLED', maxvCpus: 64, tags: { 'openbatch:executor': 'slurm' } });
        await registerTrueDefinition(client);
        const r = await runSingleJobs(client, { jobQueue: 'bench-on-slurm', jobDefinition: 'bench-true', n, parallel: ctx.opts.e2eParallel, namePrefix: 'on-slurm', timeoutMs: Math.max(180_000, n * 500), alive: () => server.assertAlive() });
        await checkSucceededJobs(out.checks, 'slurm (OpenBatch on Slurm)', r.jobs, n, server);
        client.destroy();
        return r;
      });
      ctx.log(`OpenBatch on Slurm: ${fmt(onSlurm.polledSeconds)} s (${fmt(n / onSlurm.polledSeconds)} jobs/s)`);
    } finally {
      if (startedHere) {
        ctx.log('stopping the Slurm daemons this run started: scripts/slurm-local.sh teardown');
        await slurmScript(['teardown']);
      }
    }

    ctx.log(`OpenBatch: ${n} single jobs end to end`);
    const ob = await withServer(ctx, 'slurm', async (server) => {
      const client = batchClient(server.endpoint);
      await createQueue(client, { name: 'bench-slurm', state: 'ENABLED', maxvCpus: 64 });
      await registerTrueDefinition(client);
      const r = await runSingleJobs(client, { jobQueue: 'bench-slurm', jobDefinition: 'bench-true', n, parallel: ctx.opts.e2eParallel, namePrefix: 'slurm', timeoutMs: Math.max(120_000, n * 100), alive: () => server.assertAlive() });
      await checkSucceededJobs(out.checks, 'slurm (OpenBatch side)', r.jobs, n, server);
      client.destroy();
      return r;
    });
    ctx.log(`OpenBatch: ${fmt(ob.polledSeconds)} s (${fmt(n / ob.polledSeconds)} jobs/s)`);

    out.rows.push(
      { metric: `${n.toLocaleString('en-US')} trivial jobs end to end`, value: n / ob.polledSeconds, unit: 'jobs/s', baseline: { name: 'Slurm: sbatch --wrap true', value: n / slurmRun.seconds }, target: { on: 'ratio', op: '>=', limit: 20 } },
      { metric: `${n.toLocaleString('en-US')} trivial jobs: first submit → all done`, value: ob.polledSeconds, unit: 's', baseline: { name: 'Slurm: sbatch --wrap true', value: slurmRun.seconds } },
      { metric: `${n.toLocaleString('en-US')} trivial jobs, OpenBatch on Slurm (openbatch:executor=slurm): first submit → all done`, value: onSlurm.polledSeconds, unit: 's', baseline: { name: 'Slurm: sbatch --wrap true', value: slurmRun.seconds } },
      { metric: `${n.toLocaleString('en-US')} trivial jobs, OpenBatch on Slurm`, value: n / onSlurm.polledSeconds, unit: 'jobs/s', baseline: { name: 'Slurm: sbatch --wrap true', value: n / slurmRun.seconds } },
      { metric: 'submission alone', value: n / ob.submitSeconds, unit: 'jobs/s', baseline: { name: `Slurm: ${parallel} sbatch at a time`, value: n / slurmRun.submitSeconds } },
    );
    out.notes.push(
      `Slurm: ${info}${startedHere ? ' (set up by this run with scripts/slurm-local.sh and torn down after)' : ' (already running; left as found)'}`,
      `Slurm jobs: sbatch --parsable --output=<tmp>/%j.out --wrap true, ${parallel} sbatch processes at a time; done = the squeue poll (every 100 ms) that shows none of them; checked COMPLETED 0:0 in the jobcomp log and one output file each`,
      `OpenBatch on Slurm: the same jobs and checks through a compute environment tagged openbatch:executor=slurm (maxvCpus 64; each attempt an sbatch of the executor's batch script, followed with squeue --json every second)`,
      `OpenBatch jobs: ${ctx.opts.e2eParallel} SubmitJob calls in flight (SDK, keep-alive), compute environment maxvCpus 64 at 0.25 vCPU per job; done = the ListJobs poll (every 50 ms) that shows all SUCCEEDED; every job, exit code and log file checked`,
    );
    out.details.slurm = {
      jobs: n,
      node: info,
      startedHere,
      slurm: { seconds: round(slurmRun.seconds), submitSeconds: round(slurmRun.submitSeconds), submitParallel: parallel },
      openbatch: { seconds: round(ob.polledSeconds), lastStoppedSeconds: round(ob.seconds), submitSeconds: round(ob.submitSeconds) },
      openbatchOnSlurm: { seconds: round(onSlurm.polledSeconds), lastStoppedSeconds: round(onSlurm.seconds), submitSeconds: round(onSlurm.submitSeconds) },
    };
  },
};
