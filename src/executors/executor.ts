// The one small interface every executor (local process, container, Slurm, ...) implements.
// The server never imports an executor's machinery (child_process, dockerode, sbatch); it hands
// committed attempts to `start`, asks for `stop`, and learns what happened from events.

/** Everything an executor needs to run one attempt of a job. */
export interface AttemptSpec {
  /** Unique key of this attempt, stable across restarts: `${jobId}#${attempt}` is not file-safe, so use `attemptKey()`. */
  key: string;
  jobId: string;
  /** 1-based; becomes AWS_BATCH_JOB_ATTEMPT. */
  attempt: number;
  jobName: string;
  jobQueue: string;
  computeEnvironment: string;
  /** The command after Ref:: substitution and overrides. */
  command: string[];
  /** The job's environment, AWS_BATCH_* variables included. */
  environment: Record<string, string>;
  vcpus: number;
  /** MiB */
  memory: number;
  gpus: number;
  /** GPU device indices given at placement (also in CUDA_VISIBLE_DEVICES/NVIDIA_VISIBLE_DEVICES); a container executor turns them into device requests. */
  gpuIndices?: number[];
  image?: string;
  /** The job definition's container settings, as AWS shapes them (container executors use them;
   *  the local executor ignores them). */
  container?: AttemptContainerSettings;
  /** The job's attemptDurationSeconds, where it has one: the server stops the attempt then; a
   *  cluster executor may also give it to its scheduler (Slurm's --time) as a backstop. */
  timeoutSeconds?: number;
  /** Where stdout and stderr of the attempt go (CloudWatch Logs naming). */
  logGroupName: string;
  logStreamName: string;
}

/** Container settings of a job definition that an executor may honour (AWS `containerProperties` shapes). */
export interface AttemptContainerSettings {
  /** `sourceVolume` names one of `volumes`. */
  mountPoints?: { sourceVolume?: string; containerPath?: string; readOnly?: boolean }[];
  /** `host.sourcePath`: a host directory (bind mount); without one, a scratch volume of the container. */
  volumes?: { name?: string; host?: { sourcePath?: string } }[];
  user?: string;
  privileged?: boolean;
  readonlyRootFilesystem?: boolean;
  ulimits?: { name: string; softLimit: number; hardLimit: number }[];
  linuxParameters?: {
    /** MiB of /dev/shm. */
    sharedMemorySize?: number;
    devices?: { hostPath: string; containerPath?: string; permissions?: string[] }[];
    initProcessEnabled?: boolean;
    tmpfs?: { containerPath: string; size: number; mountOptions?: string[] }[];
    maxSwap?: number;
    swappiness?: number;
  };
  jobRoleArn?: string;
  executionRoleArn?: string;
}

export type AttemptEvent =
  | {
      type: 'running';
      key: string;
      jobId: string;
      attempt: number;
      /** Epoch ms when the command started. */
      at: number;
    }
  | {
      type: 'exited';
      key: string;
      jobId: string;
      attempt: number;
      /** Epoch ms when the attempt stopped. */
      at: number;
      /** Exit code of the command; 128+N when killed by signal N; undefined if it never started. */
      exitCode?: number;
      /** Container-level reason (AWS `attempts[].container.reason`), e.g.
       *  `CannotStartContainerError: exec: "nope": executable file not found in $PATH`. */
      reason?: string;
      /** True when the attempt never ran its command (start failure). */
      neverStarted?: boolean;
      /** True when the executor lost track of it (host lost, supervisor gone). */
      lost?: boolean;
      /** What the attempt used, where the executor could measure it (right-sizing data). */
      usage?: AttemptUsage;
    };

/**
 * Resources an attempt used, as far as its executor measures them; each field is absent where it
 * could not be measured (never a guess).
 */
export interface AttemptUsage {
  /** Peak memory of the attempt's processes, MiB: its memory cgroup's high-water mark (every
   *  process, page cache charged to it included), else the largest peak RSS of a process of it. */
  peakMemoryMiB?: number;
  /** CPU time (user + system) of the command and the descendants it waited for, seconds. */
  cpuSeconds?: number;
}

export type AttemptEventListener = (event: AttemptEvent) => void;

/** What `adopt` found for an attempt that was STARTING or RUNNING when the server stopped. */
export type AdoptOutcome =
  /** Still running; its events will arrive as usual (no second `running` event: `startedAt`, when
   *  the executor knows it, is when the command started, for an attempt the store still has STARTING). */
  | { key: string; outcome: 'running'; startedAt?: number }
  /** Finished while the server was down; the exit event will be emitted as for any attempt. */
  | { key: string; outcome: 'exited' }
  /** The executor never started it: safe to start it again (same attempt). */
  | { key: string; outcome: 'not-started' }
  /** Started but gone without a recorded exit; the server fails the attempt with a host-lost reason. */
  | { key: string; outcome: 'lost' };

export interface Executor {
  readonly name: string;
  /** Subscribe to attempt events. Events are delivered asynchronously, never from inside start/stop. */
  onEvent(listener: AttemptEventListener): void;
  /** Start an attempt. Never throws for a job's own fault: failures come back as an `exited` event. */
  start(spec: AttemptSpec): void;
  /** Stop an attempt: SIGTERM (or the executor's equivalent), then SIGKILL after the grace period. */
  stop(key: string, graceMs?: number): void;
  /** After a restart: reattach to attempts the store says are STARTING/RUNNING. */
  adopt(specs: AttemptSpec[]): Promise<AdoptOutcome[]>;
  /** Stop watching (the attempts themselves keep running: they survive the server). */
  close(): Promise<void>;
  /** Optional: the server has durably recorded this attempt's exit, so the executor may now drop
   *  what it kept to report that exit across a crash (state and scratch files). Until then `adopt`
   *  can still find the exit. A no-op for an attempt that has not exited yet. */
  release?(key: string): void;
}

/** A file-name-safe key for an attempt. Job ids contain ':' (array children) and '#' (nodes). */
export function attemptKey(jobId: string, attempt: number): string {
  return `${jobId.replace(/[^A-Za-z0-9_-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'))}.${attempt}`;
}
