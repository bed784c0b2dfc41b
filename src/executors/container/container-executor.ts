// The container executor (name `container`): each attempt is a container of a Docker Engine API
// service (Docker, or Podman's `podman system service`), driven with dockerode. See README.md
// ("The container executor") for the life of an attempt, the labels and adopt.

import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { logFilePath } from '../../store/log-files.js';
import type { AdoptOutcome, AttemptEvent, AttemptEventListener, AttemptSpec, Executor } from '../executor.js';
import {
  LABEL_DATA_DIR,
  REASON_LOST,
  REASON_LOST_WHILE_DOWN,
  REASON_OOM,
  apiMessage,
  containerName,
  createOptions,
  dataDirId,
  statusCode,
} from './docker-spec.js';
import { LogDemuxer } from './log-demux.js';

export interface ContainerExecutorOptions {
  dataDir: string;
  /** The Docker API socket: `unix:///path`, a path, `tcp://host:port`; default: `defaultContainerSocket()`. */
  socket?: string;
  /** SIGTERM→SIGKILL grace of `stop` without one (default 30 s, as AWS). */
  stopGraceMs?: number;
  /** HostConfig.NetworkMode of the containers (default: the engine's; OPENBATCH_CONTAINER_NETWORK). */
  network?: string;
}

/** OPENBATCH_CONTAINER_SOCKET, else DOCKER_HOST, else /run/podman/podman.sock or /var/run/docker.sock (the first that exists). */
export function defaultContainerSocket(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPENBATCH_CONTAINER_SOCKET) return env.OPENBATCH_CONTAINER_SOCKET;
  if (env.DOCKER_HOST) return env.DOCKER_HOST;
  for (const p of ['/run/podman/podman.sock', '/var/run/docker.sock']) if (fs.existsSync(p)) return `unix://${p}`;
  return 'unix:///var/run/docker.sock';
}

/** A dockerode client for a socket as `defaultContainerSocket` names it. */
export function dockerClient(socket: string): Docker {
  if (socket.startsWith('unix://')) return new Docker({ socketPath: socket.slice('unix://'.length) });
  if (socket.startsWith('/')) return new Docker({ socketPath: socket });
  const u = new URL(socket.replace(/^tcp:/, 'http:'));
  return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' });
}

interface Attempt {
  spec: Pick<AttemptSpec, 'key' | 'jobId' | 'attempt' | 'logGroupName' | 'logStreamName' | 'memory'>;
  name: string;
  container?: Docker.Container;
  running: boolean;
  /** When its running event said it started: its exit is never reported earlier. */
  startedAt?: number;
  exited: boolean;
  /** stop() was called: the grace to use once the container runs. */
  stopGrace?: number;
  /** We sent SIGKILL (an exit 137 is then not an OOM kill). */
  killed: boolean;
  killTimer?: NodeJS.Timeout;
  logStream?: NodeJS.ReadableStream & { destroy?: () => void };
}

const STOP_GRACE_DEFAULT_MS = 30_000;

export class ContainerExecutor implements Executor {
  readonly name = 'container';
  readonly docker: Docker;
  readonly dirId: string;
  private readonly listeners: AttemptEventListener[] = [];
  private readonly attempts = new Map<string, Attempt>();
  private readonly abort = new AbortController();
  private closed = false;
  private readonly stopGraceMs: number;
  private readonly network?: string;
  private readonly claimDir: string;

  constructor(private readonly options: ContainerExecutorOptions) {
    this.docker = dockerClient(options.socket ?? defaultContainerSocket());
    this.dirId = dataDirId(options.dataDir);
    this.stopGraceMs = options.stopGraceMs ?? (Number(process.env.OPENBATCH_CONTAINER_STOP_GRACE_MS) || STOP_GRACE_DEFAULT_MS);
    this.network = options.network ?? (process.env.OPENBATCH_CONTAINER_NETWORK || undefined);
    this.claimDir = path.join(options.dataDir, 'containers');
  }

  onEvent(listener: AttemptEventListener): void {
    this.listeners.push(listener);
  }

  private emit(event: AttemptEvent): void {
    if (this.closed) return;
    for (const l of this.listeners) l(event);
  }

  private exited(a: Attempt, fields: { at?: number; exitCode?: number; reason?: string; neverStarted?: boolean; lost?: boolean }): void {
    if (a.exited) return;
    a.exited = true;
    if (a.killTimer) clearTimeout(a.killTimer);
    // Podman records StartedAt when `runc start` returns and FinishedAt from conmon's exit file: a
    // command that exits at once can have FinishedAt before StartedAt. A job never stops before it started.
    const at = Math.max(fields.at ?? Date.now(), a.startedAt ?? 0);
    const e: AttemptEvent = { type: 'exited', key: a.spec.key, jobId: a.spec.jobId, attempt: a.spec.attempt, at };
    if (fields.exitCode !== undefined) e.exitCode = fields.exitCode;
    if (fields.reason !== undefined) e.reason = fields.reason;
    if (fields.neverStarted) e.neverStarted = true;
    if (fields.lost) e.lost = true;
    // Always in a later turn: never from inside start/stop/adopt.
    setImmediate(() => this.emit(e));
  }

  /** The file whose exclusive creation marks the attempt dispatched (before its container is created). */
  private claimFile(key: string): string {
    return path.join(this.claimDir, key);
  }

  start(spec: AttemptSpec): void {
    if (this.attempts.has(spec.key)) throw new Error(`attempt ${spec.key} was already started by this executor`);
    const a: Attempt = { spec, name: containerName(this.dirId, spec.key), running: false, exited: false, killed: false };
    this.attempts.set(spec.key, a);
    setImmediate(() => {
      this.run(a, spec).catch((e: unknown) => this.exited(a, { neverStarted: !a.running, reason: `CannotStartContainerError: ${apiMessage(e)}` }));
    });
  }

  private async run(a: Attempt, spec: AttemptSpec): Promise<void> {
    const fail = (reason: string) => this.exited(a, { neverStarted: true, reason });
    // 1. The claim: from here on the attempt counts as dispatched (adopt: lost, never not-started).
    try {
      await fs.promises.mkdir(this.claimDir, { recursive: true });
      await fs.promises.writeFile(this.claimFile(spec.key), a.name + '\n', { flag: 'wx' });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail(`CannotStartContainerError: ${code === 'EEXIST' ? 'the attempt was given up (already dispatched)' : `cannot write ${this.claimFile(spec.key)}: ${(e as Error).message}`}`);
    }
    // 2. The image: the local one, else a pull.
    if (!spec.image) return fail('CannotStartContainerError: the job definition has no image');
    let image: Docker.ImageInspectInfo;
    try {
      image = await this.ensureImage(spec.image);
    } catch (e) {
      return fail(`CannotPullContainerError: ${apiMessage(e)}`);
    }
    // 3. The container (its name is unique per attempt: a second create of it fails).
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(createOptions(spec, a.name, this.dirId, this.network));
    } catch (e) {
      if (statusCode(e) === 409) {
        const existing = this.docker.getContainer(a.name);
        const info = await existing.inspect().catch(() => undefined);
        if (info?.State.Status !== 'created') return fail('CannotStartContainerError: the attempt was given up (its container already exists)');
        container = existing;
      } else {
        return fail(`CannotStartContainerError: ${apiMessage(e)}`);
      }
    }
    a.container = container;
    // 4. command[0] must exist in the image (the engine would otherwise report an init's exit).
    if (spec.command.length > 0 && !(image.Config?.Entrypoint && image.Config.Entrypoint.length > 0)) {
      const missing = await this.missingExecutable(container, spec.command[0], spec.environment.PATH ?? imagePath(image));
      if (missing) {
        await container.remove({ force: true }).catch(() => {});
        return fail(`CannotStartContainerError: ${missing}`);
      }
    }
    if (this.closed) return;
    // 5. Start, then follow its output and its end.
    try {
      await container.start();
    } catch (e) {
      await container.remove({ force: true }).catch(() => {});
      return fail(`CannotStartContainerError: ${apiMessage(e)}`);
    }
    a.running = true;
    let startedAt = Date.now();
    const info = await container.inspect().catch(() => undefined);
    if (info?.State.StartedAt) startedAt = Math.min(Date.now(), Date.parse(info.State.StartedAt) || startedAt);
    a.startedAt = startedAt;
    setImmediate(() => this.emit({ type: 'running', key: spec.key, jobId: spec.jobId, attempt: spec.attempt, at: startedAt }));
    if (a.stopGrace !== undefined) this.signal(a, a.stopGrace);
    await this.follow(a, 0, true);
  }

  private async ensureImage(image: string): Promise<Docker.ImageInspectInfo> {
    try {
      return await this.docker.getImage(image).inspect();
    } catch (e) {
      if (statusCode(e) !== 404) throw e;
    }
    const stream = await this.docker.pull(image, { abortSignal: this.abort.signal });
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (err: Error | null, out: { error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = err ?? out?.find((o) => o.error || o.errorDetail);
        if (failed) reject(failed instanceof Error ? failed : new Error(failed.errorDetail?.message ?? failed.error));
        else resolve();
      }),
    );
    return this.docker.getImage(image).inspect();
  }

  /** Why command[0] cannot be executed, as Docker words it; undefined when it exists in the container's file system. */
  private async missingExecutable(container: Docker.Container, file: string, searchPath: string): Promise<string | undefined> {
    const exists = async (p: string) => {
      try {
        const res = (await container.infoArchive({ path: p })) as unknown as NodeJS.ReadableStream;
        res.resume?.();
        return true;
      } catch (e) {
        if (statusCode(e) === 404) return false;
        return true; // cannot tell: let the engine try
      }
    };
    if (file === '') return 'exec: "": executable file not found in $PATH';
    if (file.includes('/')) return (await exists(file)) ? undefined : `exec: "${file}": stat ${file}: no such file or directory`;
    for (const dir of searchPath.split(':')) {
      if (dir && (await exists(path.posix.join(dir, file)))) return undefined;
    }
    return `exec: "${file}": executable file not found in $PATH`;
  }

  /**
   * Streams the container's output into the attempt's log file (skipping `skip` bytes the file
   * already holds), waits for its end, and reports the exit once the output is written.
   */
  private async follow(a: Attempt, skip: number, live: boolean): Promise<void> {
    const container = a.container!;
    const file = logFilePath(this.options.dataDir, a.spec.logGroupName, a.spec.logStreamName);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const out = fs.createWriteStream(file, { flags: 'a' });
    const outClosed = new Promise<void>((resolve) => out.on('close', resolve));
    out.on('error', () => {});
    const demux = new LogDemuxer((chunk) => out.write(chunk), skip);
    let logsEnded = false;
    const logsDone = (async () => {
      try {
        const stream = (await container.logs({ follow: true, stdout: true, stderr: true, abortSignal: this.abort.signal })) as unknown as NodeJS.ReadableStream & {
          destroy: () => void;
        };
        a.logStream = stream;
        await new Promise<void>((resolve) => {
          stream.on('data', (c: Buffer) => demux.push(c));
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', () => resolve());
        });
      } catch {
        // no logs: the exit is still reported
      }
      logsEnded = true;
    })();
    let exitCode: number | undefined;
    let finishedAt: number | undefined;
    let oomKilled = false;
    let gone = false;
    try {
      await container.wait({ abortSignal: this.abort.signal });
      const info = await container.inspect();
      exitCode = info.State.ExitCode;
      oomKilled = info.State.OOMKilled === true;
      finishedAt = Date.parse(info.State.FinishedAt) || undefined;
    } catch (e) {
      if (this.closed) {
        a.logStream?.destroy?.();
        out.end();
        return;
      }
      gone = statusCode(e) === 404;
      if (!gone) {
        // The wait itself failed: find out from an inspect.
        const info = await container.inspect().catch((err: unknown) => {
          gone = statusCode(err) === 404;
          return undefined;
        });
        if (info && !info.State.Running) {
          exitCode = info.State.ExitCode;
          oomKilled = info.State.OOMKilled === true;
          finishedAt = Date.parse(info.State.FinishedAt) || undefined;
        } else if (!gone) {
          gone = true;
        }
      }
    }
    // The output up to the exit, then the event.
    const timer = setTimeout(() => a.logStream?.destroy?.(), 5000);
    await logsDone;
    clearTimeout(timer);
    if (!gone && !this.closed) {
      // Catch up on what the follow may have missed (a stream the engine ended early).
      try {
        const rest = (await container.logs({ follow: false, stdout: true, stderr: true })) as unknown as Buffer;
        const catchUp = new LogDemuxer((chunk) => out.write(chunk), demux.seen);
        catchUp.push(Buffer.isBuffer(rest) ? rest : Buffer.from(rest as unknown as string));
      } catch {
        // the container went: keep what we have
      }
    }
    void logsEnded;
    out.end();
    await outClosed;
    if (gone || exitCode === undefined) {
      this.exited(a, { lost: true, reason: REASON_LOST });
      return;
    }
    const oom = oomKilled || (exitCode === 137 && a.spec.memory > 0 && !a.killed);
    const fields: Parameters<ContainerExecutor['exited']>[1] = { exitCode, at: finishedAt && finishedAt > 0 ? finishedAt : Date.now() };
    if (oom) fields.reason = REASON_OOM;
    void live;
    this.exited(a, fields);
  }

  /** SIGTERM now, SIGKILL after the grace (0: SIGKILL at once). */
  private signal(a: Attempt, graceMs: number): void {
    const c = a.container;
    if (!c || a.exited) return;
    // A signal sent while the container is still being set up can be refused by the engine:
    // send it again until it lands or the attempt has exited.
    const send = (signal: 'SIGTERM' | 'SIGKILL', tries: number): void => {
      c.kill({ signal }).catch(() => {
        if (a.exited || tries <= 0) return;
        setTimeout(() => send(signal, tries - 1), 200).unref();
      });
    };
    const kill = () => {
      a.killed = true;
      send('SIGKILL', 50);
    };
    if (graceMs <= 0) return kill();
    send('SIGTERM', 10);
    if (a.killTimer) clearTimeout(a.killTimer);
    a.killTimer = setTimeout(kill, graceMs);
    a.killTimer.unref();
  }

  stop(key: string, graceMs?: number): void {
    const a = this.attempts.get(key);
    if (!a || a.exited) return;
    const grace = graceMs ?? this.stopGraceMs;
    if (a.stopGrace === undefined || grace < a.stopGrace) a.stopGrace = grace;
    if (a.running) this.signal(a, grace);
  }

  async adopt(specs: AttemptSpec[]): Promise<AdoptOutcome[]> {
    const outcomes: AdoptOutcome[] = [];
    const follow: { a: Attempt; skip: number }[] = [];
    for (const spec of specs) {
      const name = containerName(this.dirId, spec.key);
      const claimed = fs.existsSync(this.claimFile(spec.key));
      const container = this.docker.getContainer(name);
      let info: Docker.ContainerInspectInfo | undefined;
      try {
        info = await container.inspect();
      } catch (e) {
        if (statusCode(e) !== 404) throw e;
      }
      const a: Attempt = { spec, name, container, running: false, exited: false, killed: false };
      if (info && info.Config.Labels?.[LABEL_DATA_DIR] !== this.dirId) info = undefined;
      if (!info) {
        if (!claimed) {
          outcomes.push({ key: spec.key, outcome: 'not-started' });
          continue;
        }
        // Dispatched, but its container is gone (removed) or was never created: nothing of it runs.
        this.attempts.set(spec.key, a);
        outcomes.push({ key: spec.key, outcome: 'lost' });
        this.exited(a, { lost: true, reason: REASON_LOST_WHILE_DOWN });
        continue;
      }
      if (info.State.Status === 'created') {
        // Created, never started: undo it, and the server starts the attempt again.
        await container.remove({ force: true }).catch(() => {});
        await fs.promises.rm(this.claimFile(spec.key), { force: true });
        outcomes.push({ key: spec.key, outcome: 'not-started' });
        continue;
      }
      this.attempts.set(spec.key, a);
      const file = logFilePath(this.options.dataDir, spec.logGroupName, spec.logStreamName);
      let skip = 0;
      try {
        skip = fs.statSync(file).size;
      } catch {
        skip = 0;
      }
      if (info.State.Running || info.State.Paused || info.State.Restarting) {
        a.running = true;
        const startedAt = Date.parse(info.State.StartedAt);
        if (startedAt > 0) a.startedAt = startedAt;
        outcomes.push(startedAt > 0 ? { key: spec.key, outcome: 'running', startedAt } : { key: spec.key, outcome: 'running' });
      } else {
        a.running = true;
        outcomes.push({ key: spec.key, outcome: 'exited' });
      }
      follow.push({ a, skip });
    }
    // Followed after adopt has answered: their events come later.
    setImmediate(() => {
      for (const { a, skip } of follow) {
        if (a.stopGrace !== undefined) this.signal(a, a.stopGrace);
        this.follow(a, skip, false).catch((e: unknown) => this.exited(a, { lost: true, reason: `CannotInspectContainerError: ${apiMessage(e)}` }));
      }
    });
    return outcomes;
  }

  release(key: string): void {
    const a = this.attempts.get(key);
    if (a && !a.exited) return;
    this.attempts.delete(key);
    const name = a?.name ?? containerName(this.dirId, key);
    void this.docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => {})
      .then(() => fs.promises.rm(this.claimFile(key), { force: true }))
      .catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const a of this.attempts.values()) {
      if (a.killTimer) clearTimeout(a.killTimer);
      a.logStream?.destroy?.();
    }
    this.abort.abort();
  }
}

function imagePath(image: Docker.ImageInspectInfo): string {
  const env = image.Config?.Env ?? [];
  const p = env.find((e) => e.startsWith('PATH='));
  return p ? p.slice(5) : '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
}
