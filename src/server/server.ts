// The composition root: wires the store, the registry, the executors, the job runtime, the
// service and the HTTP API, and starts them in the order that keeps the invariants: recover
// attempts before scheduling anything new, and listen only once all of that is done.

import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../api/http.js';
import { isLoopbackHost, loadCredentials } from '../api/auth/index.js';
import { Arns } from '../core/arn.js';
import { computeEnvironmentCapacity, configuredGpus, type HostResources } from '../core/capacity.js';
import type { Resources } from '../core/types.js';
import type { Executor } from '../executors/executor.js';
import { ContainerExecutor } from '../executors/container/container-executor.js';
import { LocalExecutor } from '../executors/local/local-executor.js';
import { SlurmExecutor } from '../executors/slurm/slurm-executor.js';
import { slurmSettings } from '../core/slurm-tags.js';
import { BatchService } from '../service/index.js';
import { makeLock, type ServiceContext } from '../service/context.js';
import { JobGraph } from '../service/job-graph.js';
import { Registry } from '../service/registry.js';
import { WriteBatcher } from '../service/write-batcher.js';
import { openStore } from '../store/sql-store.js';
import type { Store } from '../store/store.js';
import { JobRuntime } from './job-runtime.js';
import { Metrics, loadMetricsToken } from './metrics.js';
import { logsService } from '../api/logs/handlers.js';
import { LogArchive } from './logs.js';
import { eventsApi } from '../api/events/handlers.js';
import { jobDetails } from '../api/events/job-detail.js';
import { EventsService } from '../service/events.js';
import { EventDispatcher, dispatcherOptionsFromEnv, onStoreCommit } from './event-dispatcher.js';
import { Notifications } from './notifications.js';
import { SecretStore } from './secrets.js';
import { createStepFunctions } from './states/index.js';
import { topicPublisher } from './states/integrations.js';

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** postgres://... to use PostgreSQL; the embedded SQLite database in dataDir otherwise. */
  databaseUrl?: string;
  region: string;
  accountId: string;
  logLevel: string;
  /** Create the `default` compute environment and job queue on a store that has none. */
  createDefaults: boolean;
  /** SIGTERM→SIGKILL grace for terminated attempts (AWS: 30 s). */
  stopGraceMs?: number;
  /** The Docker API socket of the container executor (--container-socket, OPENBATCH_CONTAINER_SOCKET; else DOCKER_HOST, /run/podman/podman.sock, /var/run/docker.sock). */
  containerSocket?: string;
  /** JSON file of notification topics (SNS topic → webhooks, commands) for event targets (--notifications-file). */
  notificationsFile?: string;
  /** What this host offers; detected when absent. */
  hostResources?: HostResources;
  /** The scheduler's clock (timeouts, time limits, timestamps). Tests shift it; never set in production. */
  clock?: () => number;
  /** Days log events are kept in log groups without a retention policy (--log-retention-days); absent: forever, as CloudWatch. */
  logRetentionDays?: number;

  // ----- security (see SECURITY.md). Configuring any key turns SigV4 authentication on; it must
  // be on to listen on anything but loopback.
  /** JSON credentials file (--credentials-file, OPENBATCH_CREDENTIALS_FILE). */
  credentialsFile?: string;
  /** `KEY:SECRET[,KEY:SECRET...]` (OPENBATCH_CREDENTIALS). */
  credentials?: string;
  /** PEM certificate and key files: serve HTTPS (--tls-cert, --tls-key). */
  tlsCert?: string;
  tlsKey?: string;
  /** Requests per second per access key (token bucket); absent: no limit (--rate-limit). */
  rateLimit?: number;
  /** Token bucket size; default twice the rate, at least 1 (--rate-limit-burst). */
  rateLimitBurst?: number;
  /** Request line plus headers, at most (default 16 KiB; 431 beyond). */
  maxHeaderBytes?: number;
  /** Request URL, at most (default 8 KiB; 414 beyond). */
  maxUrlBytes?: number;
  /** Slow-client timeouts of the HTTP server (defaults: headers 10 s, whole request 30 s, keep-alive 5 s, idle 60 s). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Bearer token GET /metrics wants instead of SigV4 (OPENBATCH_METRICS_TOKEN), or a file holding it (--metrics-token-file). */
  metricsToken?: string;
  metricsTokenFile?: string;
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 8733,
  dataDir: './.openbatch',
  region: 'us-east-1',
  accountId: '000000000000',
  logLevel: 'info',
  createDefaults: true,
};

/**
 * The host's GPUs: OPENBATCH_GPUS (a count, e.g. `4`, or a list of device indices, e.g. `0,2`)
 * when set, else what `nvidia-smi --query-gpu=index --format=csv,noheader` lists, else none.
 */
export function detectGpus(env: NodeJS.ProcessEnv = process.env): number[] {
  const configured = env.OPENBATCH_GPUS?.trim();
  if (configured !== undefined && configured !== '') {
    if (/^\d+$/.test(configured)) return Array.from({ length: Number(configured) }, (_, i) => i);
    const list = configured.split(',').map((s) => s.trim());
    if (list.every((s) => /^\d+$/.test(s))) return [...new Set(list.map(Number))];
    throw new Error(`OPENBATCH_GPUS=${configured}: give a number of GPUs (4) or their device indices (0,1,3)`);
  }
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  } catch {
    return []; // no nvidia-smi, or no driver: no GPUs
  }
}

export function detectHostResources(): HostResources {
  const gpuIndices = detectGpus();
  return {
    cpus: os.availableParallelism(),
    memory: Math.floor(os.totalmem() / (1024 * 1024)),
    gpus: gpuIndices.length,
    gpuIndices,
  };
}

export interface RunningServer {
  url: string;
  dataDir: string;
  app: FastifyInstance;
  store: Store;
  service: BatchService;
  runtime: JobRuntime;
  close(): Promise<void>;
}

/** The embedded default: a compute environment sized to this host and a queue in front of it. */
async function createDefaults(service: BatchService, host: HostResources): Promise<void> {
  const { registry } = service.ctx;
  if (registry.computeEnvironments.size > 0 || registry.jobQueues.size > 0) return;
  await service.computeEnvironments.create({
    computeEnvironmentName: 'default',
    type: 'MANAGED',
    state: 'ENABLED',
    computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: host.cpus, desiredvCpus: 0, instanceTypes: ['optimal'] },
  });
  await service.jobQueues.create({
    jobQueueName: 'default',
    state: 'ENABLED',
    priority: 1,
    computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'default' }],
  });
}

export async function startServer(partial: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...partial };
  // Security configuration first: a server that would be exposed without credentials never starts.
  const keys = loadCredentials({ file: config.credentialsFile, env: config.credentials }, (m) => process.emitWarning(m));
  if (!keys && !isLoopbackHost(config.host)) {
    throw new Error(
      `refusing to listen on ${config.host} without credentials: anyone who can reach the API can run commands on this host. ` +
        'Configure access keys (--credentials-file or OPENBATCH_CREDENTIALS=KEY:SECRET) or listen on 127.0.0.1; see SECURITY.md',
    );
  }
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) throw new Error('TLS needs both a certificate (--tls-cert) and a key (--tls-key)');
  const tls = config.tlsCert && config.tlsKey ? { cert: fs.readFileSync(config.tlsCert), key: fs.readFileSync(config.tlsKey) } : undefined;
  const rateLimit =
    config.rateLimit !== undefined ? { ratePerSecond: config.rateLimit, burst: config.rateLimitBurst ?? Math.max(1, 2 * config.rateLimit) } : undefined;
  const metricsToken = loadMetricsToken(config.metricsToken, config.metricsTokenFile);
  const dataDir = path.resolve(config.dataDir);
  // Operator configuration of notification topics: a bad file stops the start, before anything runs.
  const notifications = config.notificationsFile ? Notifications.fromFile(config.notificationsFile) : Notifications.none();
  fs.mkdirSync(dataDir, { recursive: true });
  const host = config.hostResources ?? detectHostResources();

  const store = await openStore(
    config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'sqlite', path: path.join(dataDir, 'openbatch.db') },
  );
  const arns = new Arns({ partition: 'aws', region: config.region, accountId: config.accountId });
  const registry = new Registry(arns);
  await registry.load(store);
  // GPUs follow this start's host (OPENBATCH_GPUS, nvidia-smi) and each compute environment's tag.
  for (const ce of registry.computeEnvironments.values()) ce.capacity = { ...ce.capacity, gpus: configuredGpus(ce.tags) ?? host.gpus };

  const executors = new Map<string, Executor>([
    ['local', new LocalExecutor({ dataDir, stopGraceMs: config.stopGraceMs })],
    // Compute environments tagged openbatch:executor=container; it connects at its first attempt.
    ['container', new ContainerExecutor({ dataDir, stopGraceMs: config.stopGraceMs, socket: config.containerSocket })],
    // Compute environments tagged openbatch:executor=slurm: sbatch to the partition of their tags.
    ['slurm', new SlurmExecutor({ dataDir, stopGraceMs: config.stopGraceMs, settingsOf: (ce) => slurmSettings(registry.computeEnvironments.get(ce)?.tags) })],
  ]);
  // A Slurm compute environment's capacity is its partition's (sinfo), at create and at each start.
  const clusterResources = async (ce: { executor: string; tags?: Record<string, string> }) =>
    ce.executor === 'slurm' ? (executors.get('slurm') as SlurmExecutor).partitionResources(slurmSettings(ce.tags)) : undefined;
  for (const ce of registry.computeEnvironments.values()) {
    const cluster = await clusterResources(ce);
    if (cluster) ce.capacity = computeEnvironmentCapacity(ce, cluster);
  }
  const log = pino({ level: config.logLevel, base: undefined });
  const now = config.clock ?? Date.now;
  // Prometheus metrics (GET /metrics); the runtime's usage is read at scrape time.
  const metrics: Metrics = new Metrics({ store, registry, usageOf: (ce): Resources => runtime.usageOf(ce), now });
  metrics.bindTransactions(store); // jobs finished in a transaction count once it commits
  const graph = new JobGraph(now, metrics);
  // Job output as CloudWatch Logs: indexes running attempts' output (see logs.ts).
  const logArchive = new LogArchive({ dataDir, now, log, defaultRetentionDays: config.logRetentionDays });
  const runtime = new JobRuntime({
    store,
    registry,
    arns,
    executors,
    now,
    newUuid: randomUUID,
    log,
    graph,
    secrets: SecretStore.inDataDir(dataDir),
    host,
    observer: metrics,
    attemptObserver: logArchive,
  });

  let seq = await store.maxSeq();
  const nextSeq = (count = 1) => {
    const first = seq + 1;
    seq += count;
    return first;
  };
  const ctx: ServiceContext = {
    store,
    registry,
    arns,
    host,
    clusterResources,
    now,
    newJobId: randomUUID,
    newUuid: randomUUID,
    nextSeq,
    graph,
    writes: new WriteBatcher(store),
    metadataLock: makeLock(),
    hooks: runtime,
    observer: metrics,
  };
  const service = new BatchService(ctx);
  // EventBridge: job state changes through the store's outbox to rule targets (event-dispatcher.ts).
  const events = new EventDispatcher({
    store,
    log,
    notifications,
    region: config.region,
    accountId: config.accountId,
    newUuid: randomUUID,
    jobArn: (jobId) => arns.job(jobId),
    describeJobs: jobDetails(service, arns),
    options: dispatcherOptionsFromEnv(),
  });
  onStoreCommit(store, () => events.committed());
  const eventsService = new EventsService({ store, region: config.region, accountId: config.accountId, now, newUuid: randomUUID, topicEndpoints: (t) => notifications.endpoints(t), hooks: events });
  // Step Functions; its sns:publish goes to the notification topics, durably (events.publish).
  const stepFunctions = createStepFunctions({
    store,
    batch: service,
    arns,
    now,
    log,
    publisher: topicPublisher((topicArn, body) => events.publish(topicArn, body, { source: 'states:sns:publish' }), randomUUID, now),
  });
  const app = buildApp({
    service,
    arns,
    dataDir,
    log,
    security: { keys, rateLimit, maxUrlBytes: config.maxUrlBytes },
    // The awsJson APIs around Batch (CloudWatch Logs, EventBridge, Step Functions) on POST /.
    awsJsonServices: [logsService(logArchive, arns), eventsApi(eventsService), stepFunctions.api],
    metrics,
    metricsToken,
    server: {
      tls,
      maxHeaderBytes: config.maxHeaderBytes,
      headersTimeoutMs: config.headersTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
    },
  });
  if (keys) log.info({ keys: keys.size }, 'SigV4 authentication on');

  if (config.createDefaults) await createDefaults(service, host);
  const recovered = await runtime.recover();
  if (recovered.adopted || recovered.restarted || recovered.lost || recovered.submitted) {
    log.info(recovered, 'recovered jobs from the previous run');
  }
  logArchive.start();
  const resumedExecutions = await stepFunctions.resume();
  if (resumedExecutions > 0) log.info({ executions: resumedExecutions }, 'resumed Step Functions executions');

  await events.start();
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `${tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    dataDir,
    app,
    store,
    service,
    runtime,
    close() {
      closing ??= (async () => {
        await app.close();
        logArchive.close();
        await stepFunctions.close();
        await runtime.close();
        await events.close();
        for (const ex of executors.values()) await ex.close();
        await store.close();
      })();
      return closing;
    },
  };
}
