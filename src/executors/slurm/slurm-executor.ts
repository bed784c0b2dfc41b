// The Slurm executor (name `slurm`): each attempt is a Slurm batch job. OpenBatch's scheduler has
// already decided that it runs (within the compute environment's limits); Slurm provides the node.
// Submitted with `sbatch --parsable`, followed with `squeue --json` (one call per poll for all
// attempts) and `scontrol show job`, stopped with `scancel`. See README.md ("The Slurm executor").
//
// State per attempt, in `<dataDir>/slurm/<key>/` (which the nodes must see: a shared file system,
// as for the logs): the directory itself is the claim (made exclusively before sbatch), `job` the
// Slurm job id, `started`, `exit` and `failed` written by the batch script, `stop` when OpenBatch
// asked for the stop.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { logFilePath } from '../../store/log-files.js';
import { dataDirId } from '../container/docker-spec.js';
import type { AdoptOutcome, AttemptEvent, AttemptEventListener, AttemptSpec, Executor } from '../executor.js';
import {
  BATCH_SCRIPT,
  mainNodeJobId,
  mnpNode,
  parsePartitionResources,
  parseSbatch,
  SINFO_NODE_FORMAT,
  type PartitionResources,
  relativeNode,
  sbatchArgs,
  slurmActive,
  slurmComment,
  slurmEnd,
  slurmEnvironment,
  srunArgs,
  type SlurmEnd,
  type SlurmSettings,
} from './slurm-spec.js';

export interface SlurmExecutorOptions {
  dataDir: string;
  /** The Slurm settings of a compute environment (its tags), by name. */
  settingsOf?: (computeEnvironment: string) => SlurmSettings;
  /** SIGTERM→SIGKILL grace of `stop` without one (default 30 s, as AWS). */
  stopGraceMs?: number;
  /** How often squeue is read while attempts are active (default OPENBATCH_SLURM_POLL_MS, else 1000 ms). */
  pollMs?: number;
  /** Where sbatch, squeue, scontrol and scancel are (default: PATH). */
  binDir?: string;
  /** At most this many sbatch/scancel processes at once (default 4). */
  concurrency?: number;
}

interface Attempt {
  spec: AttemptSpec;
  dir: string;
  slurmId?: string;
  running: boolean;
  exited: boolean;
  /** OpenBatch asked for the stop (grace in ms); applied once the job is known. */
  stopGrace?: number;
  termSent: boolean;
  killTimer?: NodeJS.Timeout;
  node?: string;
  /** Submission or the lookup of an adopted job still in flight. */
  busy: boolean;
  /** A non-main node of a multi-node parallel job: an srun step in the main node's allocation (`slurmId`). */
  step?: { child?: ChildProcess; exited?: boolean; pid?: number };
}

interface SqueueJob {
  job_id: number;
  job_state: string;
  comment?: string;
  exit_code?: number;
  start_time?: number;
  end_time?: number;
  batch_host?: string;
  nodes?: string;
}

const STOP_GRACE_DEFAULT_MS = 30_000;

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  readonly dirId: string;
  private readonly listeners: AttemptEventListener[] = [];
  private readonly attempts = new Map<string, Attempt>();
  private readonly root: string;
  private readonly stopGraceMs: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private polling = false;
  private pollAgain = false;
  private running = 0;
  private readonly queue: (() => Promise<void>)[] = [];
  private scriptWritten?: Promise<string>;

  constructor(private readonly options: SlurmExecutorOptions) {
    this.dirId = dataDirId(options.dataDir);
    this.root = path.join(options.dataDir, 'slurm');
    this.stopGraceMs = options.stopGraceMs ?? (Number(process.env.OPENBATCH_SLURM_STOP_GRACE_MS) || STOP_GRACE_DEFAULT_MS);
    this.pollMs = options.pollMs ?? (Number(process.env.OPENBATCH_SLURM_POLL_MS) || 1000);
    this.concurrency = options.concurrency ?? 4;
  }

  onEvent(listener: AttemptEventListener): void {
    this.listeners.push(listener);
  }

  private emit(event: AttemptEvent): void {
    if (this.closed) return;
    for (const l of this.listeners) l(event);
  }

  private bin(name: string): string {
    return this.options.binDir ? path.join(this.options.binDir, name) : name;
  }

  /** Runs a Slurm command; rejects with its stderr. */
  private exec(cmd: string, args: string[], env?: NodeJS.ProcessEnv, timeout = 120_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.bin(cmd), args, { env: env ?? process.env, maxBuffer: 512 * 1024 * 1024, timeout }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd}: ${(stderr || err.message).trim()}`));
        else resolve(stdout);
      });
    });
  }

  /** sbatch and scancel calls, at most `concurrency` at once. */
  private limited(fn: () => Promise<void>): void {
    this.queue.push(fn);
    this.drain();
  }

  private drain(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const fn = this.queue.shift()!;
      this.running++;
      fn().finally(() => {
        this.running--;
        this.drain();
      });
    }
  }

  private emitRunning(a: Attempt, at: number): void {
    if (a.running || a.exited) return;
    a.running = true;
    const { key, jobId, attempt } = a.spec;
    setImmediate(() => this.emit({ type: 'running', key, jobId, attempt, at }));
  }

  private finish(a: Attempt, fields: SlurmEnd & { at?: number; neverStarted?: boolean }): void {
    if (a.exited) return;
    if (!fields.neverStarted && !fields.lost && !a.running) this.emitRunning(a, this.startedAt(a) ?? fields.at ?? Date.now());
    a.exited = true;
    if (a.killTimer) clearTimeout(a.killTimer);
    const e: AttemptEvent = { type: 'exited', key: a.spec.key, jobId: a.spec.jobId, attempt: a.spec.attempt, at: fields.at ?? Date.now() };
    if (fields.exitCode !== undefined && !fields.neverStarted && !fields.lost) e.exitCode = fields.exitCode;
    if (fields.reason !== undefined) e.reason = fields.reason;
    if (fields.neverStarted) e.neverStarted = true;
    if (fields.lost) e.lost = true;
    setImmediate(() => this.emit(e));
  }

  private file(a: Attempt, name: string): string {
    return path.join(a.dir, name);
  }

  private mtime(file: string): number | undefined {
    try {
      return fs.statSync(file).mtimeMs;
    } catch {
      return undefined;
    }
  }

  private read(file: string): string | undefined {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  }

  private startedAt(a: Attempt): number | undefined {
    return this.mtime(this.file(a, 'started'));
  }

  /** The status the batch script recorded, if it got that far. */
  private recorded(a: Attempt): number | undefined {
    const s = this.read(this.file(a, 'exit'))?.trim();
    return s && /^\d+$/.test(s) ? Number(s) : undefined;
  }

  private batchScript(): Promise<string> {
    this.scriptWritten ??= (async () => {
      const file = path.join(this.root, 'openbatch-attempt.sh');
      await fs.promises.mkdir(this.root, { recursive: true });
      const tmp = `${file}.${process.pid}`;
      await fs.promises.writeFile(tmp, BATCH_SCRIPT, { mode: 0o755 });
      await fs.promises.rename(tmp, file);
      return file;
    })();
    return this.scriptWritten;
  }

  start(spec: AttemptSpec): void {
    if (this.attempts.has(spec.key)) throw new Error(`attempt ${spec.key} was already started by this executor`);
    const a: Attempt = { spec, dir: path.join(this.root, spec.key), running: false, exited: false, termSent: false, busy: true };
    this.attempts.set(spec.key, a);
    const node = mnpNode(spec);
    if (node && !node.main) a.step = {};
    this.limited(() =>
      (a.step ? this.submitStep(a, node!.mainNode) : this.submit(a)).catch((e: unknown) => this.finish(a, { neverStarted: true, reason: `CannotStartContainerError: ${(e as Error).message}` })),
    );
  }

  private async submit(a: Attempt): Promise<void> {
    const { spec } = a;
    const fail = (reason: string) => this.finish(a, { neverStarted: true, reason: `CannotStartContainerError: ${reason}` });
    if (spec.command.length === 0) return fail('exec: "": the job has no command');
    const script = await this.batchScript();
    // The claim: from here on the attempt counts as dispatched (adopt: never not-started).
    try {
      await fs.promises.mkdir(a.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail(code === 'EEXIST' ? 'the attempt was given up (already dispatched)' : `cannot make ${a.dir}: ${(e as Error).message}`);
    }
    if (a.stopGrace !== undefined) {
      // Stopped before it was submitted: nothing ran.
      await fs.promises.writeFile(this.file(a, 'stop'), '');
      return this.finish(a, { exitCode: 143 });
    }
    const logFile = logFilePath(this.options.dataDir, spec.logGroupName, spec.logStreamName);
    await fs.promises.mkdir(path.dirname(logFile), { recursive: true });
    const environment = { ...spec.environment };
    const settings = this.options.settingsOf?.(spec.computeEnvironment) ?? {};
    // The main node of a multi-node parallel job: the allocation of all its nodes.
    const node = mnpNode(spec);
    let allocation: { nodes: number; spread: boolean } | undefined;
    if (node?.main) allocation = { nodes: node.numNodes, spread: (await this.partitionNodes(settings)) >= node.numNodes };
    const args = [
      ...sbatchArgs(spec, {
        settings,
        comment: slurmComment(this.dirId, spec.key),
        logFile,
        workDir: a.dir,
        allocation,
      }),
      script,
      a.dir,
      ...spec.command,
    ];
    let out: string;
    try {
      out = await this.exec('sbatch', args, slurmEnvironment({ ...spec, environment }));
    } catch (e) {
      return fail((e as Error).message);
    }
    const id = parseSbatch(out);
    if (!id) return fail(`sbatch: unexpected answer ${JSON.stringify(out.trim())}`);
    a.slurmId = id;
    a.busy = false;
    await fs.promises.writeFile(this.file(a, 'job'), id + '\n');
    this.ensurePolling();
  }

  /**
   * What a partition (without a name: the cluster's default one) offers: its nodes' CPUs, memory
   * and GPUs from sinfo; undefined when sinfo cannot say (not installed, slurmctld down, no such
   * partition). At most 15 s: the server's start waits for it.
   */
  async partitionResources(settings: SlurmSettings): Promise<PartitionResources | undefined> {
    try {
      const out = await this.exec('sinfo', [...SINFO_NODE_FORMAT, ...(settings.partition ? ['-p', settings.partition] : []), ...(settings.cluster ? [`--clusters=${settings.cluster}`] : [])], undefined, 15_000);
      return parsePartitionResources(out, settings.partition);
    } catch {
      return undefined;
    }
  }

  private async partitionNodes(settings: SlurmSettings): Promise<number> {
    return (await this.partitionResources(settings))?.nodes ?? 0;
  }

  /** The main node's allocation: its first node (where the batch script, the main node, runs), that node's address and the number of nodes. */
  private async allocationOf(id: string): Promise<{ batchHost?: string; address?: string; nodes: number }> {
    const out = await this.exec('scontrol', ['show', 'job', id, '-o']);
    const batchHost = /\bBatchHost=(\S+)/.exec(out)?.[1];
    const nodes = Number(/\bNumNodes=(\d+)/.exec(out)?.[1]) || 1;
    let address: string | undefined;
    if (batchHost && batchHost !== '(null)') {
      address = await this.exec('scontrol', ['show', 'node', batchHost, '-o']).then((o) => /\bNodeAddr=(\S+)/.exec(o)?.[1], () => undefined);
    }
    return { ...(batchHost && batchHost !== '(null)' ? { batchHost } : {}), ...(address ? { address } : {}), nodes };
  }

  /**
   * A non-main node of a multi-node parallel job: `srun --jobid=<allocation>` of the same wrapper
   * on its node of the main node's allocation. srun runs detached (its own session, output to the
   * state dir) so that it outlives a server restart; its pid is kept in `srun.pid` for adopt.
   */
  private async submitStep(a: Attempt, mainNode: number): Promise<void> {
    const { spec } = a;
    const fail = (reason: string) => this.finish(a, { neverStarted: true, reason: `CannotStartContainerError: ${reason}` });
    if (spec.command.length === 0) return fail('exec: "": the job has no command');
    const main = [...this.attempts.values()].reverse().find((x) => x.spec.jobId === mainNodeJobId(spec.jobId, mainNode) && x.slurmId);
    if (!main?.slurmId) return fail(`the Slurm allocation of main node ${mainNode} is not known`);
    const script = await this.batchScript();
    try {
      await fs.promises.mkdir(a.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail(code === 'EEXIST' ? 'the attempt was given up (already dispatched)' : `cannot make ${a.dir}: ${(e as Error).message}`);
    }
    if (a.stopGrace !== undefined) {
      await fs.promises.writeFile(this.file(a, 'stop'), '');
      return this.finish(a, { exitCode: 143 });
    }
    const logFile = logFilePath(this.options.dataDir, spec.logGroupName, spec.logStreamName);
    await fs.promises.mkdir(path.dirname(logFile), { recursive: true });
    let alloc: Awaited<ReturnType<SlurmExecutor['allocationOf']>>;
    try {
      alloc = await this.allocationOf(main.slurmId);
    } catch (e) {
      return fail((e as Error).message);
    }
    const environment = { ...spec.environment };
    const address = alloc.address ?? alloc.batchHost;
    if (address) environment.AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS = address;
    const index = Number(spec.environment.AWS_BATCH_JOB_NODE_INDEX);
    const args = [...srunArgs(spec, { allocation: main.slurmId, relative: relativeNode(index, mainNode, alloc.nodes), logFile, workDir: a.dir }), script, a.dir, ...spec.command];
    a.slurmId = main.slurmId;
    await fs.promises.writeFile(this.file(a, 'job'), main.slurmId + '\n');
    const out = fs.openSync(this.file(a, 'srun.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.bin('srun'), args, { env: slurmEnvironment({ ...spec, environment }), detached: true, stdio: ['ignore', out, out] });
    } finally {
      fs.closeSync(out);
    }
    const step = a.step!;
    step.child = child;
    child.once('error', () => {
      step.exited = true;
      this.ensurePolling(true);
    });
    child.once('exit', () => {
      step.exited = true;
      this.ensurePolling(true);
    });
    child.unref();
    if (child.pid) {
      step.pid = child.pid;
      await fs.promises.writeFile(this.file(a, 'srun.pid'), `${child.pid}\n`);
    }
    a.busy = false;
    this.ensurePolling();
  }

  /** Whether a step's srun still runs (after a restart: by the pid it left, checked to be an srun). */
  private srunAlive(a: Attempt): boolean {
    const step = a.step!;
    if (step.child) return !step.exited;
    const pid = step.pid ?? Number(this.read(this.file(a, 'srun.pid'))?.trim());
    if (!pid) return false;
    return (this.read(`/proc/${pid}/cmdline`) ?? '').split('\0').some((arg) => path.basename(arg) === 'srun');
  }

  /** A step's stop: SIGTERM to the step, SIGUSR2 (the wrapper's SIGKILL) after the grace; srun itself cancels a step not yet started. */
  private applyStepStop(a: Attempt): void {
    if (a.stopGrace === undefined || a.termSent) return;
    const step = this.read(this.file(a, 'step'))?.trim();
    if (!step) {
      if (a.stopGrace > 0 && this.startedAt(a) === undefined) {
        const pid = a.step?.pid ?? Number(this.read(this.file(a, 'srun.pid'))?.trim());
        if (pid && this.srunAlive(a)) {
          a.termSent = true;
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // already gone
          }
        }
      }
      return; // started but its step id not written yet: the next poll
    }
    a.termSent = true;
    const kill = () => this.limited(() => this.exec('scancel', ['--signal=USR2', step]).then(() => {}, () => {}));
    if (a.stopGrace <= 0) return kill();
    this.limited(() => this.exec('scancel', ['--signal=TERM', step]).then(() => {}, () => {}));
    a.killTimer = setTimeout(kill, a.stopGrace);
  }

  /**
   * How a step has ended, or undefined while it runs. `alloc`: squeue's view of the allocation
   * (undefined: not listed; then scontrol's).
   */
  private async stepEnd(a: Attempt, alloc: SqueueJob | undefined): Promise<(SlurmEnd & { neverStarted?: boolean; at?: number }) | undefined> {
    if (this.recorded(a) !== undefined || fs.existsSync(this.file(a, 'failed'))) return this.outcome(a, 'COMPLETED');
    const alive = this.srunAlive(a);
    const started = this.startedAt(a);
    const stopped = a.stopGrace !== undefined || fs.existsSync(this.file(a, 'stop'));
    const state = alloc ? alloc.job_state : (await this.scontrol(a.slurmId!))?.state;
    if (alive && state !== undefined) return undefined;
    if (state !== undefined && slurmActive(state)) {
      if (started === undefined) {
        const said = (this.read(this.file(a, 'srun.log')) ?? '').trim().split('\n').slice(-3).join(' ');
        return { neverStarted: true, reason: `CannotStartContainerError: srun in Slurm job ${a.slurmId} ended before the command started${said ? `: ${said}` : ''}` };
      }
      if (stopped) return { exitCode: 137 };
      return { lost: true, reason: `CannotInspectContainerError: the srun step of node in Slurm job ${a.slurmId} is gone without a recorded exit status` };
    }
    if (state === undefined) return { lost: true, reason: `CannotInspectContainerError: Slurm job ${a.slurmId} is gone without a recorded exit status` };
    if (started === undefined && !stopped) return { neverStarted: true, reason: `CannotStartContainerError: Slurm job ${a.slurmId} ended ${state} before the node's command started` };
    const end = slurmEnd(state, { stopped, jobId: a.slurmId!, node: a.node });
    if (end.lost || end.reason) return end;
    // The allocation ended with the main node: the node was stopped with it.
    return { exitCode: stopped ? 143 : 137, reason: `Slurm job ${a.slurmId} (the allocation) ended with the main node` };
  }

  private async followStep(a: Attempt, alloc: SqueueJob | undefined): Promise<void> {
    const started = this.startedAt(a);
    if (alloc?.batch_host) a.node = alloc.batch_host;
    if (started !== undefined && !a.exited) this.emitRunning(a, started);
    if (alloc && slurmActive(alloc.job_state)) this.applyStepStop(a);
    const end = await this.stepEnd(a, alloc);
    if (end) this.finish(a, end);
  }

  stop(key: string, graceMs?: number): void {
    const a = this.attempts.get(key);
    if (!a || a.exited || a.stopGrace !== undefined) return;
    a.stopGrace = graceMs ?? this.stopGraceMs;
    fs.promises.writeFile(this.file(a, 'stop'), '').catch(() => {});
    this.ensurePolling(true);
  }

  /** A stop OpenBatch asked for, once the job's state is known: scancel while pending, else SIGTERM, then SIGKILL after the grace. */
  private applyStop(a: Attempt, state: string): void {
    if (a.stopGrace === undefined || a.termSent || !a.slurmId) return;
    const id = a.slurmId;
    a.termSent = true;
    if (state === 'PENDING' || state === 'CONFIGURING') {
      this.limited(() => this.exec('scancel', [id]).then(() => {}, () => {}));
      return;
    }
    // The batch script kills its process group on SIGUSR2 (Slurm's own KILL waits KillWait after a SIGTERM).
    const kill = () => this.limited(() => this.exec('scancel', ['--signal=USR2', '--batch', id]).then(() => {}, () => {}));
    if (a.stopGrace <= 0) return kill();
    // A multi-node allocation: the main node only (--full would signal the other nodes' steps too).
    const whom = mnpNode(a.spec) ? '--batch' : '--full';
    this.limited(() => this.exec('scancel', ['--signal=TERM', whom, id]).then(() => {}, () => {}));
    a.killTimer = setTimeout(kill, a.stopGrace);
  }

  // ----- following the jobs

  private active(): Attempt[] {
    return [...this.attempts.values()].filter((a) => !a.exited && !a.busy && a.slurmId);
  }

  private ensurePolling(now = false): void {
    if (this.closed) return;
    if (now) {
      void this.poll();
      return;
    }
    if (!this.timer) this.timer = setTimeout(() => void this.poll(), this.pollMs);
  }

  private async poll(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.polling = true;
    try {
      const active = this.active();
      if (active.length > 0) {
        const jobs = await this.squeue();
        for (const a of active) await this.follow(a, jobs.get(a.slurmId!));
      }
    } catch {
      // squeue failed (slurmctld restarting): the next poll tries again.
    } finally {
      this.polling = false;
    }
    if (this.closed) return;
    const more = [...this.attempts.values()].some((a) => !a.exited);
    if (this.pollAgain) {
      this.pollAgain = false;
      void this.poll();
    } else if (more && !this.timer) {
      this.timer = setTimeout(() => void this.poll(), this.pollMs);
    }
  }

  /** This data dir's jobs Slurm knows (active ones, and ended ones until MinJobAge), by job id. */
  private async squeue(): Promise<Map<string, SqueueJob>> {
    const out = await this.exec('squeue', ['--json']);
    const prefix = slurmComment(this.dirId, '');
    const jobs = new Map<string, SqueueJob>();
    for (const j of (JSON.parse(out) as { jobs?: SqueueJob[] }).jobs ?? []) {
      if (j.comment?.startsWith(prefix)) jobs.set(String(j.job_id), j);
    }
    return jobs;
  }

  /** One attempt against what squeue said of its job (undefined: not listed). */
  private async follow(a: Attempt, j: SqueueJob | undefined): Promise<void> {
    if (a.exited) return;
    if (a.step) return this.followStep(a, j);
    if (j?.batch_host) a.node = j.batch_host;
    if (j && slurmActive(j.job_state)) {
      this.applyStop(a, j.job_state);
      const started = this.startedAt(a);
      if (started !== undefined) this.emitRunning(a, started);
      // The script has recorded the command's status (it exits right after): that is final.
      // (Not while COMPLETING: an outside scancel shows as COMPLETING until it is CANCELLED.)
      if (j.job_state === 'RUNNING' && this.recorded(a) !== undefined) this.settle(a, 'COMPLETED', j.exit_code);
      return;
    }
    if (j) return this.settle(a, j.job_state, j.exit_code, (j.end_time ?? 0) * 1000 || undefined);
    // Not in squeue (ended long ago, or squeue missed it): scontrol, else lost.
    const shown = await this.scontrol(a.slurmId!);
    if (shown && slurmActive(shown.state)) return;
    if (shown) return this.settle(a, shown.state, shown.exitCode);
    this.settle(a, undefined);
  }

  private async scontrol(id: string): Promise<{ state: string; exitCode?: string; node?: string } | undefined> {
    let out: string;
    try {
      out = await this.exec('scontrol', ['show', 'job', id, '-o']);
    } catch (e) {
      // Slurm forgot the job; anything else (slurmctld unreachable) is no answer: try again later.
      if (/Invalid job id/i.test((e as Error).message)) return undefined;
      throw e;
    }
    const state = /\bJobState=(\S+)/.exec(out)?.[1];
    if (!state) return undefined;
    const node = /\bBatchHost=(\S+)/.exec(out)?.[1];
    return { state, exitCode: /\bExitCode=(\S+)/.exec(out)?.[1], ...(node && node !== '(null)' ? { node } : {}) };
  }

  /** The attempt's end: its Slurm state (undefined: Slurm does not know the job) and the state dir. */
  private settle(a: Attempt, state: string | undefined, raw?: number | string, endedAt?: number): void {
    this.finish(a, this.outcome(a, state, raw, endedAt));
  }

  private outcome(a: Attempt, state: string | undefined, raw?: number | string, endedAt?: number): SlurmEnd & { at?: number; neverStarted?: boolean } {
    const failed = this.read(this.file(a, 'failed'));
    if (failed !== undefined) return { neverStarted: true, reason: `CannotStartContainerError: ${failed.trim()}` };
    const recorded = this.recorded(a);
    const at = this.mtime(this.file(a, 'exit')) ?? endedAt;
    const stopped = a.stopGrace !== undefined || fs.existsSync(this.file(a, 'stop'));
    if (state === undefined) {
      if (recorded !== undefined) return { exitCode: recorded, at };
      return { lost: true, reason: `CannotInspectContainerError: Slurm job ${a.slurmId} is gone without a recorded exit status` };
    }
    if (recorded === undefined && !stopped && state === 'FAILED' && this.startedAt(a) === undefined) {
      // Slurm could not run the script (the log file's directory, the working directory, ...).
      return { neverStarted: true, reason: `CannotStartContainerError: Slurm job ${a.slurmId} FAILED before the command started (exit status ${String(raw)}; see slurmd's log${a.node ? ` on ${a.node}` : ''})` };
    }
    return { ...slurmEnd(state, { recorded, raw, stopped, jobId: a.slurmId ?? '?', node: a.node }), at };
  }

  // ----- after a restart

  async adopt(specs: AttemptSpec[]): Promise<AdoptOutcome[]> {
    const out: AdoptOutcome[] = [];
    let jobs: Map<string, SqueueJob> | undefined;
    // Slurm unreachable (slurmctld restarting): attempts with a job id are followed as running and
    // settled by the polls once it answers, never reported lost for want of an answer.
    let unreachable = false;
    const squeue = async () =>
      (jobs ??= await this.squeue().catch(() => {
        unreachable = true;
        return new Map<string, SqueueJob>();
      }));
    for (const spec of specs) {
      const dir = path.join(this.root, spec.key);
      if (!fs.existsSync(dir)) {
        out.push({ key: spec.key, outcome: 'not-started' });
        continue;
      }
      const a: Attempt = { spec, dir, running: false, exited: false, termSent: false, busy: false };
      this.attempts.set(spec.key, a);
      if (fs.existsSync(this.file(a, 'stop'))) a.stopGrace = 0;
      let id = this.read(this.file(a, 'job'))?.trim();
      if (!id) {
        // sbatch was in flight when the server stopped: the job, if any, carries the attempt's comment.
        const comment = slurmComment(this.dirId, spec.key);
        id = [...(await squeue()).values()].find((j) => j.comment === comment)?.job_id.toString();
      }
      if (!id) {
        const o = this.outcome(a, undefined);
        this.finish(a, o);
        out.push({ key: spec.key, outcome: 'lost' });
        continue;
      }
      a.slurmId = id;
      const node = mnpNode(spec);
      if (node && !node.main) {
        a.step = { pid: Number(this.read(this.file(a, 'srun.pid'))?.trim()) || undefined };
        const j = (await squeue()).get(id);
        let end: Awaited<ReturnType<SlurmExecutor['stepEnd']>>;
        try {
          if (unreachable) throw new Error('squeue failed');
          end = await this.stepEnd(a, j);
        } catch {
          end = this.recorded(a) !== undefined ? this.outcome(a, 'COMPLETED') : undefined;
        }
        if (!end) {
          const started = this.startedAt(a);
          if (started !== undefined) a.running = true;
          if (a.stopGrace !== undefined) a.stopGrace = undefined;
          out.push({ key: spec.key, outcome: 'running', ...(started !== undefined ? { startedAt: started } : {}) });
          continue;
        }
        this.finish(a, end);
        out.push({ key: spec.key, outcome: end.lost ? 'lost' : 'exited' });
        continue;
      }
      const j = (await squeue()).get(id);
      if (j?.batch_host) a.node = j.batch_host;
      let shown: { state: string; exitCode?: number | string } | undefined;
      try {
        if (unreachable) throw new Error('squeue failed');
        shown = j ? { state: j.job_state, exitCode: j.exit_code } : await this.scontrol(id);
        // A job whose script has ended is COMPLETING for a moment: wait for its final state.
        for (let i = 0; i < 50 && shown?.state === 'COMPLETING'; i++) {
          await new Promise((r) => setTimeout(r, 100));
          shown = await this.scontrol(id);
        }
      } catch {
        if (this.recorded(a) === undefined) {
          out.push({ key: spec.key, outcome: 'running', ...(this.startedAt(a) !== undefined ? { startedAt: this.startedAt(a)! } : {}) });
          if (this.startedAt(a) !== undefined) a.running = true;
          continue;
        }
        shown = { state: 'COMPLETED' };
      }
      if (shown && slurmActive(shown.state) && !(shown.state === 'RUNNING' && this.recorded(a) !== undefined)) {
        const started = this.startedAt(a);
        // Already RUNNING in the store when it started: no second running event.
        if (started !== undefined) a.running = true;
        if (a.stopGrace !== undefined) a.stopGrace = undefined; // asked before the restart: ask again only if the server does
        out.push({ key: spec.key, outcome: 'running', ...(started !== undefined ? { startedAt: started } : {}) });
        continue;
      }
      const o = this.outcome(a, shown && slurmActive(shown.state) ? 'COMPLETED' : shown?.state, shown?.exitCode, j?.end_time ? j.end_time * 1000 : undefined);
      if (o.lost) {
        // Make sure nothing of it still runs before it is reported lost.
        await this.exec('scancel', [id]).catch(() => {});
      }
      this.finish(a, o);
      out.push({ key: spec.key, outcome: o.lost ? 'lost' : 'exited' });
    }
    this.ensurePolling();
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const a of this.attempts.values()) if (a.killTimer) clearTimeout(a.killTimer);
  }

  release(key: string): void {
    const a = this.attempts.get(key);
    if (a && !a.exited) return;
    this.attempts.delete(key);
    fs.promises.rm(path.join(this.root, key), { recursive: true, force: true }).catch(() => {});
  }
}
