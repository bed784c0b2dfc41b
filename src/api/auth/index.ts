// Request security for every API the server speaks, as Fastify hooks on the whole app:
//
//   onRequest   URL length limit; then, with authentication on, the SigV4 header checks that need
//               no body (present, well-formed, known key, date within 15 minutes, service).
//   preHandler  the signature recomputed over the raw body and compared; the principal is set on
//               the request (request.principal); then the per-key rate limit.
//
// Any route is covered. A route opts out with `config: { auth: false }` (only GET /health), and
// names the SigV4 service it speaks with `config: { awsService: 'batch' }`; without it any of
// batch, logs, events and states is accepted (the awsJson APIs on POST / will resolve theirs
// from X-Amz-Target). What an authenticated key may do is decided by the route (see access.ts).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KeyStore } from './credentials.js';
import { AwsApiError, countTooLarge, tooManyRequests } from './errors.js';
import { RateLimiter, type RateLimitConfig } from './rate-limit.js';
import { checkAuthorizationHeader, verifySignature, type PendingVerification, type Principal } from './sigv4.js';

export { authorizeBatch, authorizeJobWrite, checkReadOnly, isReadOperation, type AccessLookups } from './access.js';
export { isLoopbackHost, loadCredentials, parseCredentialsEnv, parseCredentialsFile, CredentialsError, type AccessKey, type KeyStore } from './credentials.js';
export { AwsApiError, isAwsApiError, securityCounters, resetSecurityCounters, type AuthFailureReason, type SecurityCounters } from './errors.js';
export { RateLimiter, type RateLimitConfig } from './rate-limit.js';
export { ACCEPTED_SERVICES, MAX_CLOCK_SKEW_MS, type Principal } from './sigv4.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: this route needs no authentication (GET /health only). */
    auth?: boolean;
    /** The SigV4 service this route speaks; absent: any of ACCEPTED_SERVICES. */
    awsService?: string;
  }
  interface FastifyRequest {
    /** The authenticated access key; undefined when authentication is off. */
    principal?: Principal;
  }
}

export const DEFAULT_MAX_URL_BYTES = 8 * 1024;

export interface SecurityOptions {
  /** The accepted access keys; undefined turns authentication off. */
  keys?: KeyStore;
  /** Per-key token bucket; undefined: no rate limit. */
  rateLimit?: RateLimitConfig;
  /** Longest request URL (path and query) accepted; 414 beyond. */
  maxUrlBytes?: number;
  /** Wall clock (ms) for the signature date check. */
  now?: () => number;
}

const PENDING = Symbol('openbatch.pendingVerification');
type WithPending = FastifyRequest & { [PENDING]?: PendingVerification };

/** The access key id a request claims (unverified): for rate limiting with authentication off. */
function claimedKey(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  const m = typeof h === 'string' ? /Credential=([^/,\s]+)\//.exec(h) : null;
  return m?.[1];
}

export function installSecurity(app: FastifyInstance, opts: SecurityOptions): void {
  const keys = opts.keys;
  const now = opts.now ?? Date.now;
  const maxUrlBytes = opts.maxUrlBytes ?? DEFAULT_MAX_URL_BYTES;
  const limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit) : undefined;

  app.decorateRequest('principal', undefined);

  app.addHook('onRequest', async (request) => {
    const url = request.raw.url ?? '/';
    if (url.length > maxUrlBytes) {
      countTooLarge();
      throw new AwsApiError('ClientException', 414, `The request URL is ${url.length} bytes long; at most ${maxUrlBytes} bytes are accepted`);
    }
    const config = request.routeOptions.config;
    if (!keys || config?.auth === false) return;
    (request as WithPending)[PENDING] = checkAuthorizationHeader(
      { method: request.raw.method ?? request.method, url, rawHeaders: request.raw.rawHeaders },
      { keys, now, service: config?.awsService },
    );
  });

  app.addHook('preHandler', async (request) => {
    const pending = (request as WithPending)[PENDING];
    if (pending) {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      request.principal = await verifySignature(
        { method: request.raw.method ?? request.method, url: request.raw.url ?? '/', rawHeaders: request.raw.rawHeaders },
        pending,
        body,
      );
    }
    if (limiter && request.routeOptions.config?.auth !== false) {
      const key = request.principal ? `key:${request.principal.accessKeyId}` : keys ? undefined : `claimed:${claimedKey(request) ?? `ip:${request.ip}`}`;
      if (key === undefined) return;
      const wait = limiter.take(key);
      if (wait !== undefined) throw tooManyRequests(wait);
    }
  });
}
