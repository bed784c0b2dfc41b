// What the Slurm executor asks of Slurm and how it reads Slurm's answers: the compute
// environment's settings (tags), sbatch's arguments, the batch script (a small wrapper), and the
// mapping of Slurm job states to AWS Batch exit codes and reasons. No process is started here.

import type { AttemptSpec } from '../executor.js';

export { SLURM_CLUSTER_TAG, SLURM_PARTITION_TAG, slurmSettings, slurmTagProblem, type SlurmSettings } from '../../core/slurm-tags.js';
import type { SlurmSettings } from '../../core/slurm-tags.js';

/**
 * The batch script: `$1` is the attempt's state dir (on the shared file system), the rest is the
 * command. It checks command[0] as execvp would (a missing one is a start failure, as AWS reports
 * it, written to `failed`), marks the start (`started`: its mtime is the start time), runs the
 * command in the background so that it can pass SIGTERM on while it waits (a shell waiting in the
 * foreground cannot), and writes the command's status to `exit` before it exits with it: the exit
 * code survives Slurm forgetting the job (MinJobAge) and needs no accounting (sacct). SIGUSR2
 * (OpenBatch's SIGKILL after the grace) kills its whole process group at once, itself included:
 * Slurm's own cancel would wait KillWait (30 s) after a SIGTERM before it kills. Only shell
 * builtins after the check: the job's PATH may name nothing useful.
 */
export const BATCH_SCRIPT = `#!/bin/sh
# OpenBatch attempt (see src/executors/slurm/slurm-spec.ts)
d=$1; shift
case $1 in
  */*) if [ ! -f "$1" ] || [ ! -x "$1" ]; then
         printf 'exec: "%s": no such file or directory\\n' "$1" > "$d/failed"; exit 127; fi ;;
  *) if ! command -v -- "$1" >/dev/null 2>&1; then
       printf 'exec: "%s": executable file not found in $PATH\\n' "$1" > "$d/failed"; exit 127; fi ;;
esac
: > "$d/started"
if [ -n "$SLURM_STEP_ID" ]; then echo "$SLURM_JOB_ID.$SLURM_STEP_ID" > "$d/step"; fi
trap 'kill -TERM "$pid" 2>/dev/null' TERM
trap 'trap "" TERM; kill -KILL 0' USR2
"$@" &
pid=$!
wait "$pid"; s=$?
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; s=$?; done
echo "$s" > "$d/exit"
exit "$s"
`;

/** The comment that marks an attempt's Slurm job: found again by it after a restart. */
export function slurmComment(dirId: string, key: string): string {
  return `openbatch:${dirId}:${key}`;
}

/** sbatch's arguments for an attempt (before the script and its arguments). */
export function sbatchArgs(
  spec: AttemptSpec,
  o: { settings: SlurmSettings; comment: string; logFile: string; workDir: string; allocation?: { nodes: number; spread: boolean } },
): string[] {
  const cpus = Math.max(1, Math.ceil(spec.vcpus));
  const memory = Math.max(1, Math.ceil(spec.memory));
  const n = o.allocation?.nodes ?? 1;
  // A multi-node parallel job's allocation: one task per node where the partition has the nodes,
  // else N tasks packed on fewer nodes (memory then per CPU, so each task gets its share).
  const shape =
    n === 1 ? ['--nodes=1', '--ntasks=1', `--cpus-per-task=${cpus}`, `--mem=${memory}M`]
    : o.allocation?.spread ? [`--nodes=${n}`, '--ntasks-per-node=1', `--cpus-per-task=${cpus}`, `--mem=${memory}M`]
    : [`--ntasks=${n}`, `--cpus-per-task=${cpus}`, `--mem-per-cpu=${Math.ceil(memory / cpus)}M`];
  const args = [
    '--parsable',
    `--job-name=${spec.jobName}`,
    `--comment=${o.comment}`,
    ...shape,
    // The log file the local executor writes, so the CloudWatch Logs API works unchanged.
    `--output=${filenamePattern(o.logFile)}`,
    `--error=${filenamePattern(o.logFile)}`,
    '--open-mode=append',
    `--chdir=${o.workDir}`,
    // Retries are OpenBatch's (retryStrategy): Slurm must not requeue a job whose node failed.
    '--no-requeue',
    // Exactly the environment sbatch is started with (the job's; see slurmEnvironment).
    '--export=ALL',
  ];
  if (spec.gpus > 0) args.push(`--gres=gpu:${Math.ceil(spec.gpus)}`);
  // A backstop a minute beyond the timeout: the server's own timer stops the attempt first (with
  // AWS's reason); Slurm's TIMEOUT, should the server be down then, maps to the same reason.
  if (spec.timeoutSeconds && spec.timeoutSeconds > 0) args.push(`--time=${Math.ceil(spec.timeoutSeconds / 60) + 1}`);
  if (o.settings.partition) args.push(`--partition=${o.settings.partition}`);
  if (o.settings.cluster) args.push(`--clusters=${o.settings.cluster}`);
  return args;
}

/** A node of a multi-node parallel job (from the AWS_BATCH_JOB_* variables the server sets); undefined for other jobs. */
export function mnpNode(spec: AttemptSpec): { index: number; numNodes: number; mainNode: number; main: boolean } | undefined {
  const e = spec.environment;
  const index = Number(e.AWS_BATCH_JOB_NODE_INDEX);
  const numNodes = Number(e.AWS_BATCH_JOB_NUM_NODES);
  const mainNode = Number(e.AWS_BATCH_JOB_MAIN_NODE_INDEX);
  if (![index, numNodes, mainNode].every(Number.isInteger) || e.AWS_BATCH_JOB_NODE_INDEX === undefined || numNodes < 2) return undefined;
  return { index, numNodes, mainNode, main: index === mainNode };
}

/** The job id of the main node of the multi-node parallel job a node belongs to. */
export function mainNodeJobId(jobId: string, mainNode: number): string {
  return `${jobId.replace(/#\d+$/, '')}#${mainNode}`;
}

/**
 * The node of the allocation (relative index) a node of a multi-node parallel job runs on: the
 * main node runs in the batch script, on the allocation's first node; the others follow in index
 * order, wrapping round where the allocation has fewer nodes (tasks packed on a small partition).
 */
export function relativeNode(index: number, mainNode: number, allocationNodes: number): number {
  const rank = index === mainNode ? 0 : index < mainNode ? index + 1 : index;
  return rank % Math.max(1, allocationNodes);
}

/** srun's arguments that run one other node of a multi-node parallel job inside the main node's allocation. */
export function srunArgs(spec: AttemptSpec, o: { allocation: string; relative: number; logFile: string; workDir: string }): string[] {
  return [
    `--jobid=${o.allocation}`,
    // The batch script (the main node) holds the first node's resources: the steps share them.
    '--overlap',
    '--nodes=1',
    '--ntasks=1',
    `--relative=${o.relative}`,
    `--cpus-per-task=${Math.max(1, Math.ceil(spec.vcpus))}`,
    `--job-name=${spec.jobName}`,
    `--output=${filenamePattern(o.logFile)}`,
    `--error=${filenamePattern(o.logFile)}`,
    '--open-mode=append',
    `--chdir=${o.workDir}`,
    '--export=ALL',
  ];
}

/** What a partition offers, from `sinfo -h -N -o '%N|%P|%c|%m|%G'` (one line per node and partition). */
export interface PartitionResources {
  cpus: number;
  /** MiB */
  memory: number;
  gpus: number;
  nodes: number;
}

/** The arguments of that sinfo call. */
export const SINFO_NODE_FORMAT = ['-h', '-N', '-o', '%N|%P|%c|%m|%G'];

/**
 * Sums the nodes of a partition (without a name: the default one, marked `*`) from sinfo's lines
 * (SINFO_NODE_FORMAT); each node counted once. Undefined when the partition has no node.
 */
export function parsePartitionResources(out: string, partition?: string): PartitionResources | undefined {
  const seen = new Set<string>();
  const r: PartitionResources = { cpus: 0, memory: 0, gpus: 0, nodes: 0 };
  for (const line of out.split('\n')) {
    const [node, part, cpus, memory, gres] = line.trim().split('|');
    if (!node || part === undefined || seen.has(node)) continue;
    if (partition ? part.replace(/\*$/, '') !== partition : !part.endsWith('*')) continue;
    seen.add(node);
    r.nodes++;
    r.cpus += Number.parseInt(cpus, 10) || 0;
    r.memory += Number.parseInt(memory, 10) || 0;
    r.gpus += gpusOfGres(gres ?? '');
  }
  return r.nodes > 0 ? r : undefined;
}

/** GPUs in a node's GRES (`gpu:4`, `gpu:a100:2(S:0-1)`, `gpu:2,shard:8`, `(null)`). */
export function gpusOfGres(gres: string): number {
  let n = 0;
  for (const g of gres.split(/,(?![^(]*\))/)) {
    const m = /^gpu(?::[^:(]+)?:(\d+)/.exec(g.trim());
    if (m) n += Number(m[1]);
  }
  return n;
}

/** sbatch's --output/--error are patterns (`%j`, ...): log file names are %-encoded, so `%` becomes `%%`. */
export function filenamePattern(file: string): string {
  return file.replace(/%/g, '%%');
}

/** sbatch's own environment, which --export=ALL hands to the job: the job's, plus PATH and HOME when it sets none. */
export function slurmEnvironment(spec: AttemptSpec, server: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { ...spec.environment };
  if (env.PATH === undefined) env.PATH = server.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  if (env.HOME === undefined && server.HOME) env.HOME = server.HOME;
  // sbatch itself must still find the cluster's configuration and munge socket.
  for (const k of ['SLURM_CONF', 'MUNGE_SOCKET']) if (server[k] !== undefined && env[k] === undefined) env[k] = server[k]!;
  return env;
}

/** `sbatch --parsable` prints `JOBID` or `JOBID;CLUSTER`. */
export function parseSbatch(out: string): string | undefined {
  const m = /^(\d+)(;\S+)?\s*$/.exec(out.trim());
  return m ? m[1] : undefined;
}

export const REASON_OOM = 'OutOfMemoryError: Container killed due to memory usage';
export const REASON_TIMEOUT = 'Job attempt duration exceeded timeout';

/** Slurm states of a job that has not ended. */
const ACTIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'RESIZING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'STAGE_OUT', 'SPECIAL_EXIT']);
/** The node went away under the job: AWS's host-loss reason, retried per the `Host EC2*` rules. */
const HOST_LOST = new Set(['NODE_FAIL', 'BOOT_FAIL', 'PREEMPTED']);

export function slurmActive(state: string): boolean {
  return ACTIVE.has(state);
}

/** A wait status as Slurm keeps it (raw, or `scontrol`'s `CODE:SIGNAL`) as an exit code: 128+N for a signal. */
export function exitCodeOf(raw: number | string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') {
    const m = /^(\d+):(\d+)$/.exec(raw);
    if (!m) return undefined;
    return Number(m[2]) > 0 ? 128 + Number(m[2]) : Number(m[1]);
  }
  return raw & 0x7f ? 128 + (raw & 0x7f) : (raw >> 8) & 0xff;
}

export interface SlurmEnd {
  exitCode?: number;
  reason?: string;
  lost?: boolean;
}

/**
 * How an ended Slurm job ends the attempt. `recorded`: the status the batch script wrote (the
 * command's own); `raw`: Slurm's; `stopped`: OpenBatch asked for the stop (a CANCELLED job is
 * otherwise someone else's scancel, which counts as a lost host).
 */
export function slurmEnd(state: string, o: { recorded?: number; raw?: number | string; stopped: boolean; jobId: string; node?: string }): SlurmEnd {
  const where = o.node ? ` on node ${o.node}` : '';
  if (HOST_LOST.has(state)) {
    return { lost: true, reason: `CannotInspectContainerError: Slurm job ${o.jobId} ended ${state}${where}` };
  }
  if (state === 'OUT_OF_MEMORY') return { exitCode: o.recorded ?? 137, reason: REASON_OOM };
  if (state === 'TIMEOUT' || state === 'DEADLINE') return { exitCode: o.recorded ?? exitCodeOf(o.raw) ?? 143, reason: REASON_TIMEOUT };
  // Someone else's scancel (or an administrator draining the node): the command's status, if the
  // script recorded one, is only the SIGTERM it was given.
  if (state === 'CANCELLED' && !o.stopped) {
    return { lost: true, reason: `CannotInspectContainerError: Slurm job ${o.jobId} was cancelled outside OpenBatch${where}` };
  }
  if (o.recorded !== undefined) return { exitCode: o.recorded };
  const code = exitCodeOf(o.raw);
  // Cancelled at our request before the script ran: as a stopped attempt (SIGTERM).
  if (state === 'CANCELLED' && (code === undefined || code === 0)) return { exitCode: 143 };
  return { exitCode: code ?? 1 };
}
