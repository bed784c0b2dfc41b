// The API side of the metrics: every answered request is counted by API, operation and outcome
// (an onResponse hook on the whole app), and GET /metrics serves the Prometheus exposition.
//
// Labels stay bounded whatever clients send: operations are the ones the APIs have (the Batch
// routing table, the awsJson services' handlers, OpenBatch's own routes by their pattern),
// anything else is "unknown"; error codes are the ones the server itself answers with.
//
// Who may read /metrics: a scraper cannot sign SigV4, so the operator may configure a bearer
// token (--metrics-token-file / OPENBATCH_METRICS_TOKEN); /metrics then wants `Authorization:
// Bearer <token>` and nothing else, with or without authentication. Without a token it is like
// every other route: open with authentication off (loopback, no keys), behind SigV4 with keys.
// It shows queue and compute environment names, counts and timings: nothing a read-only key
// cannot see.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operationForPath, TAGS_PATH_PREFIX } from './batch/operations.js';
import { awsJsonOperation, type AwsJsonService } from './aws-json.js';
import { AwsApiError, countAuthFailure } from './auth/errors.js';

export interface ApiRequestObservation {
  /** batch, logs, events, states (the SigV4 names), openbatch, or unknown. */
  api: string;
  operation: string;
  /** success, client_error or server_error. */
  outcome: string;
  /** The AWS error code answered (x-amzn-ErrorType); empty on success. */
  errorCode: string;
  seconds: number;
}

export interface ApiMetrics {
  observeRequest(r: ApiRequestObservation): void;
  /** The Prometheus text exposition. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsRouteOptions {
  /** Bearer token that /metrics wants (instead of SigV4); none: /metrics is like any route. */
  token?: string;
}

/** OpenBatch's own routes, by method and route pattern, named like operations. */
const OPENBATCH_OPERATIONS: Record<string, string> = {
  'GET /health': 'Health',
  'GET /metrics': 'GetMetrics',
  'GET /openbatch/v1/jobs/:jobId/logs': 'GetJobLogs',
  'POST /openbatch/v1/jobs/:jobId/reclaim': 'ReclaimJob',
};

const TAG_OPERATIONS: Record<string, string> = { GET: 'ListTagsForResource', POST: 'TagResource', DELETE: 'UntagResource' };

/** Which API and operation a request was for, with bounded values. */
export function classifyRequest(request: FastifyRequest, awsJson: ReadonlyMap<string, AwsJsonService>): { api: string; operation: string } {
  const path = (request.raw.url ?? '/').split('?')[0];
  const method = request.method;
  if (path === '/' && method === 'POST') {
    const named = awsJsonOperation(request);
    const service = named ? awsJson.get(named.service) : undefined;
    if (!named || !service) return { api: 'unknown', operation: 'unknown' };
    return { api: service.signingName, operation: Object.hasOwn(service.handlers, named.operation) ? named.operation : 'unknown' };
  }
  if (path.startsWith('/v1/')) {
    if (path.startsWith(TAGS_PATH_PREFIX)) return { api: 'batch', operation: TAG_OPERATIONS[method] ?? 'unknown' };
    return { api: 'batch', operation: operationForPath(method, path) ?? 'unknown' };
  }
  const pattern = request.routeOptions.url;
  if (pattern !== undefined && (pattern === '/health' || pattern === '/metrics' || pattern.startsWith('/openbatch/'))) {
    // Routes other parts add under /openbatch/ are named by their pattern (bounded: the routes are fixed).
    return { api: 'openbatch', operation: OPENBATCH_OPERATIONS[`${method} ${pattern}`] ?? `${method} ${pattern}` };
  }
  return { api: 'unknown', operation: 'unknown' };
}

function outcomeOf(status: number): string {
  return status >= 500 ? 'server_error' : status >= 400 ? 'client_error' : 'success';
}

/** Counts every answered request (call before the routes are registered). */
export function installApiMetrics(app: FastifyInstance, metrics: ApiMetrics, awsJsonServices: readonly AwsJsonService[]): void {
  const awsJson = new Map(awsJsonServices.map((s) => [s.targetPrefix, s]));
  app.addHook('onResponse', async (request, reply) => {
    const { api, operation } = classifyRequest(request, awsJson);
    const status = reply.statusCode;
    const header = status >= 400 ? reply.getHeader('x-amzn-ErrorType') : undefined;
    const errorCode = typeof header === 'string' && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(header) ? header : status >= 400 ? 'unknown' : '';
    metrics.observeRequest({ api, operation, outcome: outcomeOf(status), errorCode, seconds: reply.elapsedTime / 1000 });
  });
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** GET /metrics. */
export function registerMetricsRoute(app: FastifyInstance, metrics: ApiMetrics, options: MetricsRouteOptions): void {
  const expected = options.token !== undefined ? digest(options.token) : undefined;
  // With a token the route skips SigV4 and checks the token itself; without, it is like any route.
  const useToken = expected !== undefined;
  app.get('/metrics', { config: useToken ? { auth: false } : {} }, async (request: FastifyRequest, reply: FastifyReply) => {
    if (useToken) {
      const h = request.headers.authorization;
      const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
      if (!m) {
        countAuthFailure('missing_token');
        throw new AwsApiError('MissingAuthenticationTokenException', 403, 'GET /metrics needs the header Authorization: Bearer <metrics token>');
      }
      // Both sides hashed: equal lengths for timingSafeEqual, and no length leak.
      if (!timingSafeEqual(digest(m[1]), expected!)) {
        countAuthFailure('bad_signature');
        throw new AwsApiError('AccessDeniedException', 403, 'The bearer token is not the metrics token');
      }
    }
    const { contentType, body } = await metrics.render();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
}
