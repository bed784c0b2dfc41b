// The HTTP server: AWS Batch rest-json at /v1/*, plus OpenBatch's own small API (/health,
// /openbatch/v1/...). Built separately from listen() so tests can use inject().

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import Fastify, {
  LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Arns } from '../core/arn.js';
import { BatchError, clientError, isBatchError } from '../core/errors.js';
import type { BatchService } from '../service/index.js';
import { logFilePath } from '../store/log-files.js';
import { batchHandlers } from './batch/handlers.js';
import { operationForPath, routeForPath, TAGS_PATH_PREFIX } from './batch/operations.js';
import { MAX_JOB_DEFINITION_BYTES, MAX_SUBMIT_JOB_BYTES, validateInput } from './batch/validate.js';
import { logLocation } from '../core/log-location.js';
import { authorizeBatch, authorizeJobWrite, checkReadOnly, installSecurity, isReadOperation, isAwsApiError, type AccessLookups, type SecurityOptions } from './auth/index.js';
import { countTooLarge } from './auth/errors.js';
import { registerAwsJsonServices, type AwsJsonService } from './aws-json.js';
import { registerUsageRoutes } from './openbatch/usage.js';
import { installApiMetrics, registerMetricsRoute, type ApiMetrics } from './metrics.js';
import { registerConsole } from './console/index.js';

export interface AppDeps {
  service: BatchService;
  arns: Arns;
  dataDir: string;
  log: FastifyBaseLogger;
  /** Authentication, rate limit and URL limit; absent: open, unlimited (loopback default). */
  security?: SecurityOptions;
  /** The node server's TLS, header limit and timeouts. */
  server?: HttpServerOptions;
  /** The awsJson APIs served on POST / (CloudWatch Logs, EventBridge, Step Functions). */
  awsJsonServices?: readonly AwsJsonService[];
  /** Request metrics and GET /metrics (src/server/metrics.ts); absent: no /metrics. */
  metrics?: ApiMetrics;
  /** Bearer token GET /metrics wants instead of SigV4 (see src/api/metrics.ts). */
  metricsToken?: string;
}

export interface HttpServerOptions {
  /** PEM certificate (chain) and private key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Request line plus headers, at most (431 beyond). */
  maxHeaderBytes?: number;
  /** Time a client has to send the complete request head. */
  headersTimeoutMs?: number;
  /** Time a client has to send the complete request, head and body. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept open. */
  keepAliveTimeoutMs?: number;
  /** A connection with no traffic at all for this long is closed (slow readers of responses). */
  idleTimeoutMs?: number;
}

export const SERVER_DEFAULTS: Required<Omit<HttpServerOptions, 'tls'>> = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
};

/** The node HTTP(S) server with the limits that keep slow or oversized clients from holding it. */
function createNodeServer(options: HttpServerOptions, handler: http.RequestListener): http.Server {
  const o = {
    maxHeaderBytes: options.maxHeaderBytes ?? SERVER_DEFAULTS.maxHeaderBytes,
    headersTimeoutMs: options.headersTimeoutMs ?? SERVER_DEFAULTS.headersTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? SERVER_DEFAULTS.keepAliveTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? SERVER_DEFAULTS.idleTimeoutMs,
  };
  // node refuses a headers timeout longer than the whole-request timeout.
  if (o.requestTimeoutMs > 0 && o.headersTimeoutMs > o.requestTimeoutMs) o.headersTimeoutMs = o.requestTimeoutMs;
  const httpOptions: http.ServerOptions = {
    maxHeaderSize: o.maxHeaderBytes,
    headersTimeout: o.headersTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    // Without a Host header node answers a bare 400 of its own; let the request reach the routes
    // (and auth, which needs Host signed) so the answer is AWS-shaped.
    requireHostHeader: false,
    // How often headersTimeout/requestTimeout are checked (node's default is 30 s).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(o.headersTimeoutMs / 2))),
  };
  const server = options.tls
    ? https.createServer({ ...httpOptions, cert: options.tls.cert, key: options.tls.key }, handler)
    : http.createServer(httpOptions, handler);
  server.setTimeout(o.idleTimeoutMs);
  return server as http.Server;
}

/** Errors node raises before a request exists (oversized head, timeouts, garbage), in AWS's shape. */
function clientErrorHandler(maxHeaderBytes: number) {
  return function (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
    answerClientError(this, err, socket, maxHeaderBytes);
  };
}

function answerClientError(app: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket, maxHeaderBytes: number): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let code = 'ClientException';
  let message = 'Bad request: the request is not valid HTTP/1.1';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    code = 'RequestTimeoutException';
    message = 'The client did not send the complete request in time';
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    countTooLarge();
    status = 431;
    message = `The request line and headers are larger than ${maxHeaderBytes} bytes`;
  }
  app.log.debug({ err }, 'client error');
  if (socket.writable) {
    // No body in an answer to HEAD: clients would read it as the next response.
    const isHead = (err as { rawPacket?: Buffer }).rawPacket?.toString('latin1', 0, 5) === 'HEAD ';
    const body = JSON.stringify({ __type: code, message });
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nx-amzn-ErrorType: ${code}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${isHead ? '' : body}`,
    );
  }
  socket.destroy();
}

/** Any request body larger than this is refused before parsing; per-operation limits are smaller. */
const BODY_LIMIT = 1024 * 1024;

const BODY_LIMITS: Record<string, number> = {
  SubmitJob: MAX_SUBMIT_JOB_BYTES,
  RegisterJobDefinition: MAX_JOB_DEFINITION_BYTES,
};

function sendError(reply: FastifyReply, e: BatchError | { code: string; httpStatus: number; message: string; headers?: Record<string, string> }): FastifyReply {
  if ('headers' in e && e.headers) reply.headers(e.headers);
  return reply
    .code(e.httpStatus)
    .header('x-amzn-ErrorType', e.code)
    .header('content-type', 'application/json')
    .send(JSON.stringify({ __type: e.code, message: e.message }));
}

function parseBody(body: unknown): Record<string, unknown> {
  const buf = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  if (buf.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw clientError(`The request body is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw clientError('The request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log,
    // Per-request log lines cost more than the requests themselves at thousands per second.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Malformed URLs and the like fail before routing: answer them in AWS's error shape too.
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, clientError(`Bad request: ${error.message}`));
    },
    serverFactory: (handler) => createNodeServer(deps.server ?? {}, handler),
    clientErrorHandler: clientErrorHandler(deps.server?.maxHeaderBytes ?? SERVER_DEFAULTS.maxHeaderBytes),
  });
  const handlers = batchHandlers(deps.service, deps.arns);
  const lookups: AccessLookups = {
    queueArn: (name) => deps.arns.jobQueue(name),
    async jobQueueOf(ref) {
      const id = deps.service.jobs.jobIdOf(ref);
      // An array child (<jobId>:<index>) belongs to its parent's queue.
      const job = (await deps.service.ctx.store.getJob(id)) ?? (/:\d+$/.test(id) ? await deps.service.ctx.store.getJob(id.replace(/:\d+$/, '')) : undefined);
      return job?.jobQueue;
    },
  };

  // AWS clients send rest-json bodies with various content types (or none): take raw bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (_req, reply) => {
    reply.header('x-amzn-RequestId', randomUUID());
  });
  // SigV4 authentication (when keys are configured), URL limit, per-key rate limit: every route.
  installSecurity(app, deps.security ?? {});
  if (deps.metrics) installApiMetrics(app, deps.metrics, deps.awsJsonServices ?? []);

  app.setErrorHandler((error, request, reply) => {
    if (isBatchError(error) || isAwsApiError(error)) return sendError(reply, error);
    const e = error as { statusCode?: number; code?: string; message?: string };
    if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, clientError(`The request body is larger than ${BODY_LIMIT} bytes`));
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(reply, clientError(e.message ?? 'Bad request'));
    }
    request.log.error({ err: error }, 'internal error');
    const requestId = reply.getHeader('x-amzn-RequestId');
    return sendError(reply, new BatchError('ServerException', `Internal server error (request ${String(requestId)}); this is a bug in OpenBatch, please report it`));
  });

  app.setNotFoundHandler((request, reply) => {
    sendError(reply, { code: 'UnknownOperationException', httpStatus: 404, message: `No operation at ${request.method} ${request.url.split('?')[0]}` });
  });

  // Open even with authentication on; says nothing but that the server is up.
  app.get('/health', { config: { auth: false } }, async () => ({ status: 'ok' }));
  // Prometheus metrics; who may read them: src/api/metrics.ts.
  if (deps.metrics) registerMetricsRoute(app, deps.metrics, { token: deps.metricsToken });

  // ----- AWS Batch

  const batch = async (request: FastifyRequest, reply: FastifyReply) => {
    const url = new URL(request.raw.url ?? '/', 'http://localhost');
    const pathname = url.pathname;
    let operation: string | undefined;
    let input: Record<string, unknown>;
    if (pathname.startsWith(TAGS_PATH_PREFIX)) {
      operation = { GET: 'ListTagsForResource', POST: 'TagResource', DELETE: 'UntagResource' }[request.method];
      if (!operation) return sendError(reply, { code: 'MethodNotAllowedException', httpStatus: 405, message: `${request.method} is not allowed on ${pathname}` });
      checkReadOnly(request.principal, `batch:${operation}`, isReadOperation(operation)); // before the body is looked at
      input = request.method === 'POST' ? parseBody(request.body) : {};
      let resourceArn: string;
      try {
        // Both the percent-encoded form (what the SDKs send) and a raw, split ARN are accepted.
        resourceArn = decodeURIComponent(pathname.slice(TAGS_PATH_PREFIX.length));
      } catch {
        throw clientError('resourceArn: the ARN in the path is not validly percent-encoded');
      }
      input.resourceArn = resourceArn;
      if (operation === 'UntagResource') input.tagKeys = url.searchParams.getAll('tagKeys');
    } else {
      operation = operationForPath(request.method, pathname);
      if (!operation) {
        if (routeForPath(pathname)) {
          return sendError(reply, { code: 'MethodNotAllowedException', httpStatus: 405, message: `${request.method} is not allowed on ${pathname}` });
        }
        return sendError(reply, { code: 'UnknownOperationException', httpStatus: 404, message: `No operation at ${request.method} ${pathname}` });
      }
      checkReadOnly(request.principal, `batch:${operation}`, isReadOperation(operation)); // before the body is looked at
      const limit = BODY_LIMITS[operation];
      if (limit !== undefined && Buffer.isBuffer(request.body) && request.body.length > limit) {
        throw clientError(`The ${operation} request is ${request.body.length} bytes; AWS Batch allows at most ${limit} bytes`);
      }
      input = parseBody(request.body);
    }
    validateInput(operation, input);
    await authorizeBatch(request.principal, operation, input, lookups);
    const handler = handlers[operation];
    if (!handler) throw clientError(`${operation} is not supported by this OpenBatch version yet`);
    const out = await handler(input);
    return reply.header('content-type', 'application/json').send(JSON.stringify(out ?? {}));
  };
  app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/v1/*', handler: batch, config: { awsService: 'batch' } });

  // ----- awsJson APIs on POST / (by X-Amz-Target)

  registerAwsJsonServices(app, deps.awsJsonServices ?? []);

  // ----- OpenBatch's own API

  /** The output of a job's attempt (the latest one unless ?attempt=N), as plain text. */
  app.get('/openbatch/v1/jobs/:jobId/logs', async (request, reply) => {
    const { jobId } = request.params as { jobId: string };
    const { attempt } = request.query as { attempt?: string };
    const [view] = await deps.service.jobs.describe({ jobs: [jobId] });
    if (!view) return sendError(reply, { code: 'ResourceNotFoundException', httpStatus: 404, message: `Job ${jobId} does not exist` });
    const n = attempt !== undefined ? Number(attempt) : view.job.attemptCount;
    const a = view.attempts.find((x) => x.attempt === n);
    if (!a) {
      if (attempt !== undefined) return sendError(reply, { code: 'ResourceNotFoundException', httpStatus: 404, message: `Job ${jobId} has no attempt ${attempt}` });
      return reply.header('content-type', 'text/plain; charset=utf-8').send('');
    }
    const { logGroupName } = logLocation(view.job, a.taskId);
    const file = logFilePath(deps.dataDir, logGroupName, a.logStreamName);
    reply.header('x-openbatch-log-group', logGroupName).header('x-openbatch-log-stream', a.logStreamName);
    if (!fs.existsSync(file)) return reply.header('content-type', 'text/plain; charset=utf-8').send('');
    return reply.header('content-type', 'text/plain; charset=utf-8').send(fs.createReadStream(file));
  });

  // Right-sizing data: a job with its attempts' usage, a job definition's usage summary.
  registerUsageRoutes(app, deps);

  /**
   * Fault injection: Spot reclaims the host of a running job on a SPOT/FARGATE_SPOT compute
   * environment. Its attempt fails with `Host EC2 (instance i-...) terminated.` and retries per
   * its retry strategy.
   */
  app.post('/openbatch/v1/jobs/:jobId/reclaim', async (request, reply) => {
    const { jobId } = request.params as { jobId: string };
    await authorizeJobWrite(request.principal, 'openbatch:ReclaimJob', jobId, lookups);
    const out = await deps.service.jobs.reclaim(jobId);
    return reply.header('content-type', 'application/json').send(JSON.stringify(out));
  });

  // The web console at /console (its own login and session cookie; src/api/console).
  registerConsole(app, deps);

  return app;
}
