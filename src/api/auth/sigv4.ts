// Server-side SigV4 verification: the signature a client sent is recomputed from the request as
// it arrived (raw path, raw headers, raw body bytes) with @smithy/signature-v4's canonicalisation
// and compared in constant time. Two steps: checkAuthorizationHeader() needs only the request head
// (so a request with a missing, malformed, unknown-key or stale signature is refused before its
// body is read), verifySignature() then needs the body.
//
// Pitfalls handled (see shared/reference/local-tooling.md): the body is hashed here and an
// incoming x-amz-content-sha256 is only checked against that hash, never trusted; the path is
// signed as sent (still percent-encoded; the canonical form double-encodes it, as the clients
// do); repeated headers are joined with ','; only the headers named in SignedHeaders are used;
// the 15-minute clock skew is enforced here; signatures are compared with timingSafeEqual.

import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';
import type { AccessKey, KeyStore } from './credentials.js';
import { incompleteSignature, invalidSignature, missingAuthenticationToken, unrecognizedClient } from './errors.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS's allowed difference between a request's date and the server's clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** The services whose APIs OpenBatch speaks (or will): the credential scope must name one. */
export const ACCEPTED_SERVICES: ReadonlySet<string> = new Set(['batch', 'logs', 'events', 'states']);

export interface ParsedAuthorization {
  accessKeyId: string;
  /** yyyymmdd of the credential scope */
  scopeDate: string;
  region: string;
  service: string;
  /** lowercased, in the order sent */
  signedHeaders: string[];
  signature: string;
}

/** The request head as it arrived: method, raw URL (path and query still encoded), raw headers. */
export interface RequestHead {
  method: string;
  url: string;
  /** node's rawHeaders: [name, value, name, value, ...] */
  rawHeaders: string[];
}

/** What the first step established; verifySignature() completes it with the body. */
export interface PendingVerification {
  key: AccessKey;
  auth: ParsedAuthorization;
  /** x-amz-date (or the Date header in the same basic ISO form) */
  longDate: string;
  headers: Map<string, string>;
}

export interface Principal {
  key: AccessKey;
  accessKeyId: string;
  /** The service of the credential scope (batch, logs, events, states). */
  service: string;
  region: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/batch/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex`. */
export function parseAuthorization(header: string): ParsedAuthorization {
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw incompleteSignature(`Unsupported signing algorithm ${JSON.stringify(algorithm.slice(0, 40))}: only ${ALGORITHM} (SigV4) is accepted.`);
  }
  const params = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    params.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !params.get(k));
  if (missing.length) {
    throw incompleteSignature(missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' '));
  }
  const credential = params.get('Credential')!.split('/');
  if (credential.length !== 5 || credential[4] !== 'aws4_request' || credential.some((c) => c === '')) {
    throw incompleteSignature("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + credential.slice(1).join('/') + "'");
  }
  const [accessKeyId, scopeDate, region, service] = credential;
  if (!/^\d{8}$/.test(scopeDate)) throw incompleteSignature(`Invalid credential date "${scopeDate}". This date is not the expected format.`);
  const signature = params.get('Signature')!;
  if (!/^[0-9a-f]{64}$/.test(signature)) throw incompleteSignature('The Signature must be 64 lowercase hexadecimal characters.');
  const signedHeaders = params.get('SignedHeaders')!.split(';');
  if (signedHeaders.some((h) => h === '' || h !== h.toLowerCase())) {
    throw incompleteSignature('SignedHeaders must be a semicolon-separated list of lowercase header names.');
  }
  return { accessKeyId, scopeDate, region, service, signedHeaders, signature };
}

/** Header name (lowercased) → its values trimmed and joined with ',' (SigV4's rule for repeats). */
export function joinRawHeaders(rawHeaders: string[]): Map<string, string> {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const list = values.get(name);
    if (list) list.push(rawHeaders[i + 1].trim());
    else values.set(name, [rawHeaders[i + 1].trim()]);
  }
  return new Map([...values].map(([k, v]) => [k, v.join(',')]));
}

/** `20240102T030405Z` → epoch ms, or undefined if not that exact form. */
export function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const back = new Date(ms).toISOString();
  // Reject impossible dates (Feb 30th) rather than letting Date roll them over.
  if (back.slice(0, 19) !== `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`) return undefined;
  return ms;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export interface HeadCheckOptions {
  keys: KeyStore;
  now: () => number;
  /** The service this route speaks; undefined: any of ACCEPTED_SERVICES. */
  service?: string;
}

/**
 * Step one, from the request head only: a well-formed SigV4 Authorization header, a configured
 * access key, a date within 15 minutes, a service this endpoint speaks. Throws the AWS error.
 */
export function checkAuthorizationHeader(head: RequestHead, opts: HeadCheckOptions): PendingVerification {
  const headers = joinRawHeaders(head.rawHeaders);
  const header = headers.get('authorization');
  if (header === undefined || header === '') throw missingAuthenticationToken();
  const auth = parseAuthorization(header);

  const amzDate = headers.get('x-amz-date');
  let signedAt: number | undefined;
  let longDate: string;
  if (amzDate !== undefined) {
    signedAt = parseAmzDate(amzDate);
    if (signedAt === undefined) throw incompleteSignature(`Invalid X-Amz-Date ${JSON.stringify(amzDate.slice(0, 40))}: expected the basic ISO 8601 form yyyyMMddTHHmmssZ.`);
    longDate = amzDate;
  } else if (headers.get('date') !== undefined) {
    const t = Date.parse(headers.get('date')!);
    if (Number.isNaN(t)) throw incompleteSignature('Invalid Date header.');
    signedAt = t;
    longDate = formatAmzDate(t);
  } else {
    throw incompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (!auth.signedHeaders.includes('host')) throw incompleteSignature("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  if (!auth.signedHeaders.includes(amzDate !== undefined ? 'x-amz-date' : 'date')) {
    throw incompleteSignature(`'${amzDate !== undefined ? 'X-Amz-Date' : 'Date'}' must be a 'SignedHeader' in the AWS Authorization.`);
  }

  const key = opts.keys.get(auth.accessKeyId);
  if (!key) throw unrecognizedClient();

  const now = opts.now();
  if (signedAt < now - MAX_CLOCK_SKEW_MS) {
    throw invalidSignature('expired', `Signature expired: ${longDate} is now earlier than ${formatAmzDate(now - MAX_CLOCK_SKEW_MS)} (${formatAmzDate(now)} - 15 min.)`);
  }
  if (signedAt > now + MAX_CLOCK_SKEW_MS) {
    throw invalidSignature('expired', `Signature not yet current: ${longDate} is still later than ${formatAmzDate(now + MAX_CLOCK_SKEW_MS)} (${formatAmzDate(now)} + 15 min.)`);
  }
  if (longDate.slice(0, 8) !== auth.scopeDate) {
    throw invalidSignature('bad_signature', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${longDate.slice(0, 8)}', from '${longDate}'.`);
  }
  if (!ACCEPTED_SERVICES.has(auth.service) || (opts.service !== undefined && auth.service !== opts.service)) {
    const want = opts.service ?? [...ACCEPTED_SERVICES].join("', '");
    throw invalidSignature('wrong_service', `Credential should be scoped to correct service: '${want}'.`);
  }
  return { key, auth, longDate, headers };
}

/** The same canonicalisation as the SDKs, with access to the protected steps. */
class Recomputer extends SignatureV4 {
  constructor(
    key: AccessKey,
    private readonly scopeRegion: string,
    private readonly scopeService: string,
  ) {
    super({
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
      region: scopeRegion,
      service: scopeService,
      sha256: Hash.bind(null, 'sha256'),
      // Never add a header of our own: what is signed is exactly what the client listed.
      applyChecksum: false,
      uriEscapePath: true,
    });
  }

  async signatureFor(request: HttpRequest, signedHeaders: string[], payloadHash: string, longDate: string, scope: string, signingDate: Date): Promise<{ signature: string; signedHeaderList: string }> {
    const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(signedHeaders));
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
    const stringToSign = await this.createStringToSign(longDate, scope, canonicalRequest, ALGORITHM);
    // Signs the string with the key derived from the scope's date, region and service.
    const signature = await this.sign(stringToSign, { signingDate, signingRegion: this.scopeRegion, signingService: this.scopeService });
    return { signature, signedHeaderList: this.getCanonicalHeaderList(canonicalHeaders) };
  }
}

/** Raw query string → the decoded multi-map the canonicaliser re-encodes. */
export function parseRawQuery(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const v = safeDecode(eq < 0 ? '' : part.slice(eq + 1));
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function sha256Hex(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Step two: recomputes the signature over the request with its body and compares it in constant
 * time. Throws InvalidSignatureException on any difference.
 */
export async function verifySignature(head: RequestHead, pending: PendingVerification, body: Uint8Array): Promise<Principal> {
  const { key, auth, longDate, headers } = pending;
  const payloadHash = sha256Hex(body);
  const claimed = headers.get('x-amz-content-sha256');
  if (claimed !== undefined && claimed !== payloadHash) throw invalidSignature('bad_signature');

  const q = head.url.indexOf('?');
  const rawPath = q < 0 ? head.url : head.url.slice(0, q);
  const rawQuery = q < 0 ? '' : head.url.slice(q + 1);
  const signed: Record<string, string> = Object.create(null);
  for (const name of auth.signedHeaders) {
    const v = headers.get(name);
    // A header the client signed but that did not arrive cannot verify.
    if (v === undefined) throw invalidSignature('bad_signature');
    signed[name] = v;
  }
  const request = new HttpRequest({
    method: head.method.toUpperCase(),
    protocol: 'https:',
    hostname: headers.get('host') ?? '',
    path: rawPath,
    query: parseRawQuery(rawQuery),
    headers: signed,
  });
  const scope = `${auth.scopeDate}/${auth.region}/${auth.service}/aws4_request`;
  const scopeDay = new Date(Date.UTC(+auth.scopeDate.slice(0, 4), +auth.scopeDate.slice(4, 6) - 1, +auth.scopeDate.slice(6, 8)));
  const recomputer = new Recomputer(key, auth.region, auth.service);
  const { signature, signedHeaderList } = await recomputer.signatureFor(request, auth.signedHeaders, payloadHash, longDate, scope, scopeDay);
  const ok =
    signedHeaderList === [...auth.signedHeaders].sort().join(';') &&
    signature.length === auth.signature.length &&
    timingSafeEqual(Buffer.from(signature, 'latin1'), Buffer.from(auth.signature, 'latin1'));
  if (!ok) throw invalidSignature('bad_signature');
  return { key, accessKeyId: key.accessKeyId, service: auth.service, region: auth.region };
}
