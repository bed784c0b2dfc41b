// Authentication, authorization and request-limit failures in AWS's shapes, and the in-process
// counters of them (exposed by the metrics endpoint later; read them with securityCounters()).

/** An error that answers with its own AWS error type and HTTP status. */
export class AwsApiError extends Error {
  constructor(
    readonly code: string,
    readonly httpStatus: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export function isAwsApiError(e: unknown): e is AwsApiError {
  return e instanceof AwsApiError;
}

/** Why a request was refused before it reached an operation. */
export type AuthFailureReason =
  /** no Authorization header */
  | 'missing_token'
  /** an Authorization header that is not a well-formed SigV4 header, or no usable date */
  | 'malformed'
  /** an access key id that is not configured */
  | 'unknown_key'
  /** the recomputed signature differs (wrong secret, tampered request or body) */
  | 'bad_signature'
  /** x-amz-date more than 15 minutes from the server's clock */
  | 'expired'
  /** credential scope names a service this endpoint does not speak */
  | 'wrong_service'
  /** an authenticated key not allowed to do this (read-only key, queue allow-list) */
  | 'access_denied';

export const AUTH_FAILURE_REASONS: readonly AuthFailureReason[] = [
  'missing_token',
  'malformed',
  'unknown_key',
  'bad_signature',
  'expired',
  'wrong_service',
  'access_denied',
];

const failures = new Map<AuthFailureReason, number>(AUTH_FAILURE_REASONS.map((r) => [r, 0]));
let throttled = 0;
let tooLarge = 0;

export function countAuthFailure(reason: AuthFailureReason): void {
  failures.set(reason, (failures.get(reason) ?? 0) + 1);
}
export function countThrottled(): void {
  throttled++;
}
export function countTooLarge(): void {
  tooLarge++;
}

export interface SecurityCounters {
  /** Refused requests by reason, every reason present (0 when none). */
  authFailures: Record<AuthFailureReason, number>;
  /** Requests answered 429 by the per-key rate limit. */
  throttled: number;
  /** Requests refused for an over-long URL or oversized headers. */
  tooLarge: number;
}

/** A snapshot of this process's counters since start (or the last reset). */
export function securityCounters(): SecurityCounters {
  return {
    authFailures: Object.fromEntries(AUTH_FAILURE_REASONS.map((r) => [r, failures.get(r) ?? 0])) as Record<AuthFailureReason, number>,
    throttled,
    tooLarge,
  };
}

/** Tests only. */
export function resetSecurityCounters(): void {
  for (const r of AUTH_FAILURE_REASONS) failures.set(r, 0);
  throttled = 0;
  tooLarge = 0;
}

// ----- the errors AWS answers with (wording as AWS's)

export function missingAuthenticationToken(): AwsApiError {
  countAuthFailure('missing_token');
  return new AwsApiError('MissingAuthenticationTokenException', 403, 'Missing Authentication Token');
}

export function incompleteSignature(message: string): AwsApiError {
  countAuthFailure('malformed');
  return new AwsApiError('IncompleteSignatureException', 403, message);
}

export function unrecognizedClient(): AwsApiError {
  countAuthFailure('unknown_key');
  return new AwsApiError('UnrecognizedClientException', 403, 'The security token included in the request is invalid.');
}

export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export function invalidSignature(reason: AuthFailureReason = 'bad_signature', message = SIGNATURE_MISMATCH_MESSAGE): AwsApiError {
  countAuthFailure(reason);
  return new AwsApiError('InvalidSignatureException', 403, message);
}

export function accessDenied(message: string): AwsApiError {
  countAuthFailure('access_denied');
  return new AwsApiError('AccessDeniedException', 403, message);
}

export function tooManyRequests(retryAfterSeconds: number): AwsApiError {
  countThrottled();
  return new AwsApiError('TooManyRequestsException', 429, 'Too Many Requests', { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
}
