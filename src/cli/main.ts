#!/usr/bin/env node
// The `openbatch` command: `serve` starts the server; the other commands talk to a running
// server over HTTP (the default endpoint is the local one).

import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG, startServer } from '../server/server.js';
import { openbatchGet, type SimpleResponse } from '../api/auth/client.js';
import { registerUsageCommands } from './usage-commands.js';
import { followJobLogs } from './follow.js';
import { registerWorkflowCommands } from './workflow.js';
import { registerBatchCommands } from './batch-commands.js';
import { applyProfileToEnv } from './aws-config.js';

const DEFAULT_ENDPOINT = `http://127.0.0.1:${DEFAULT_CONFIG.port}`;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** Where the CLI finds the server: --endpoint-url, then AWS_ENDPOINT_URL_BATCH / AWS_ENDPOINT_URL, then local. */
function endpoint(opt: string | undefined): string {
  return (opt || process.env.AWS_ENDPOINT_URL_BATCH || process.env.AWS_ENDPOINT_URL || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

function fail(message: string): never {
  process.stderr.write(`openbatch: ${message}\n`);
  process.exit(1);
}

const program = new Command();
program
  .name('openbatch')
  .description('A self-hosted AWS Batch. Drive it with the AWS CLI and SDKs using --endpoint-url.')
  .showHelpAfterError();

program
  .command('serve')
  .description('start the server (embedded SQLite and local processes unless configured otherwise)')
  .addOption(new Option('--host <host>', 'address to bind').env('OPENBATCH_HOST').default(DEFAULT_CONFIG.host))
  .addOption(new Option('--port <port>', 'port to listen on').env('OPENBATCH_PORT').default(DEFAULT_CONFIG.port).argParser(port))
  .addOption(new Option('--data-dir <dir>', 'where the database, logs and attempt state live').env('OPENBATCH_DATA_DIR').default(DEFAULT_CONFIG.dataDir))
  .addOption(new Option('--database-url <url>', 'use PostgreSQL (postgres://...) instead of the embedded SQLite').env('OPENBATCH_DATABASE_URL'))
  .addOption(new Option('--region <region>', 'region used in ARNs').env('OPENBATCH_REGION').default(DEFAULT_CONFIG.region))
  .addOption(new Option('--account-id <id>', 'account id used in ARNs').env('OPENBATCH_ACCOUNT_ID').default(DEFAULT_CONFIG.accountId))
  .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug or trace').env('OPENBATCH_LOG_LEVEL').default(DEFAULT_CONFIG.logLevel))
  .addOption(new Option('--no-defaults', 'do not create the default compute environment and job queue on first start'))
  .addOption(new Option('--credentials-file <path>', 'JSON file of access keys; turns SigV4 authentication on (see SECURITY.md). OPENBATCH_CREDENTIALS=KEY:SECRET,... adds keys').env('OPENBATCH_CREDENTIALS_FILE'))
  .addOption(new Option('--tls-cert <path>', 'PEM certificate: serve HTTPS').env('OPENBATCH_TLS_CERT'))
  .addOption(new Option('--tls-key <path>', 'PEM private key of --tls-cert').env('OPENBATCH_TLS_KEY'))
  .addOption(new Option('--rate-limit <n>', 'requests per second per access key (token bucket); default: no limit').env('OPENBATCH_RATE_LIMIT').argParser(positiveNumber))
  .addOption(new Option('--rate-limit-burst <n>', 'requests a key may make at once (default: twice --rate-limit)').env('OPENBATCH_RATE_LIMIT_BURST').argParser(positiveInt))
  .addOption(new Option('--metrics-token-file <path>', 'file holding the bearer token GET /metrics wants instead of SigV4, for Prometheus (or OPENBATCH_METRICS_TOKEN)').env('OPENBATCH_METRICS_TOKEN_FILE'))
  .addOption(new Option('--log-retention-days <days>', 'keep job output this many days in log groups without a retention policy (default: forever)').env('OPENBATCH_LOG_RETENTION_DAYS').argParser(positiveInt))
  .addOption(new Option('--container-socket <url>', 'Docker API socket of the container executor (unix:///run/podman/podman.sock); default: DOCKER_HOST, /run/podman/podman.sock, /var/run/docker.sock').env('OPENBATCH_CONTAINER_SOCKET'))
  .addOption(new Option('--notifications-file <path>', 'JSON file of notification topics (SNS topic name → webhooks and commands) for EventBridge targets; see README "Events"').env('OPENBATCH_NOTIFICATIONS_FILE'))
  .action(async (opts) => {
    if (!/^\d{12}$/.test(opts.accountId)) fail('--account-id must be 12 digits');
    if (opts.databaseUrl && !/^postgres(ql)?:\/\//.test(opts.databaseUrl)) fail('--database-url must start with postgres://');
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer({
        host: opts.host,
        port: opts.port,
        dataDir: opts.dataDir,
        databaseUrl: opts.databaseUrl,
        region: opts.region,
        accountId: opts.accountId,
        logLevel: opts.logLevel,
        createDefaults: opts.defaults,
        credentialsFile: opts.credentialsFile,
        credentials: process.env.OPENBATCH_CREDENTIALS,
        tlsCert: opts.tlsCert,
        tlsKey: opts.tlsKey,
        rateLimit: opts.rateLimit,
        rateLimitBurst: opts.rateLimitBurst,
        containerSocket: opts.containerSocket,
        metricsTokenFile: opts.metricsTokenFile,
        metricsToken: process.env.OPENBATCH_METRICS_TOKEN,
        logRetentionDays: opts.logRetentionDays,
        notificationsFile: opts.notificationsFile,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE') fail(`port ${opts.port} on ${opts.host} is already in use (is another OpenBatch running? try --port)`);
      fail(err.message);
    }
    // Always printed, whatever the log level: tests and people both look for this line.
    process.stdout.write(
      `OpenBatch listening on ${server.url} (data: ${server.dataDir}, store: ${server.store.dialect})\n` +
        `  try: aws batch describe-job-queues --endpoint-url ${server.url}\n`,
    );
    const shutdown = (signal: string) => {
      server.app.log.info(`${signal}: shutting down (running jobs keep running and are adopted on the next start)`);
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    // OPENBATCH_EXIT_WITH_PARENT=1 (test harnesses): when the process that started the server is
    // gone (a test runner that timed out), shut down instead of running on as an orphan.
    if (process.env.OPENBATCH_EXIT_WITH_PARENT === '1') {
      const parent = process.ppid;
      setInterval(() => {
        if (process.ppid !== parent) shutdown('parent exited');
      }, 1000).unref();
    }
  });

program
  .command('logs')
  .description("print a job's output (its latest attempt unless --attempt)")
  .argument('<jobId>', 'job id (or job ARN)')
  .option('--endpoint-url <url>', `server to ask (default: AWS_ENDPOINT_URL_BATCH, AWS_ENDPOINT_URL, or ${DEFAULT_ENDPOINT})`)
  .option('--attempt <n>', 'attempt number, from 1', positiveInt)
  .option('-f, --follow', 'print new output as it comes until the job ends; exit status 0 if it SUCCEEDED, 1 if it FAILED')
  .action(async (jobRef: string, opts: { endpointUrl?: string; attempt?: number; follow?: boolean }) => {
    const base = endpoint(opts.endpointUrl);
    const jobId = jobRef.replace(/^arn:[^:]+:batch:[^:]*:\d*:job\//, '');
    if (opts.follow) {
      const status = await followJobLogs(base, jobId, opts.attempt, (t) => process.stdout.write(t)).catch((e: Error & { cause?: Error }) =>
        fail(e.message.includes('ECONNREFUSED') || e.cause ? `cannot reach OpenBatch at ${base}: ${e.cause?.message ?? e.message}` : e.message),
      );
      process.stderr.write(`job ${jobId} ${status}\n`);
      process.exitCode = status === 'SUCCEEDED' ? 0 : 1;
      return;
    }
    const query = opts.attempt !== undefined ? `?attempt=${opts.attempt}` : '';
    let res: SimpleResponse;
    try {
      // Signed with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set; HTTPS trusts AWS_CA_BUNDLE.
      res = await openbatchGet(`${base}/openbatch/v1/jobs/${encodeURIComponent(jobId)}/logs${query}`);
    } catch (e) {
      fail(`cannot reach OpenBatch at ${base}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message} (is it running? start it with: npm start)`);
    }
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        message = ((await res.json()) as { message?: string }).message ?? message;
      } catch {
        // keep the status line
      }
      fail(message);
    }
    for await (const chunk of res.body) process.stdout.write(chunk);
  });

registerUsageCommands(program, { endpoint, fail, defaultEndpoint: DEFAULT_ENDPOINT });
registerWorkflowCommands(program, endpoint, fail);
registerBatchCommands(program, { fail, defaultEndpoint: DEFAULT_ENDPOINT });
program.hook('preAction', (_program, command) => {
  if (command.name() !== 'serve') applyProfileToEnv();
});

program.parseAsync(process.argv).catch((e: Error) => fail(e.message));
