// Access keys the server accepts: from a JSON credentials file and/or OPENBATCH_CREDENTIALS
// (`KEY:SECRET` pairs separated by commas). See SECURITY.md for the file format.

import fs from 'node:fs';

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  /** Only Describe*, List* and Get* operations (and reading job logs). */
  readOnly: boolean;
  /** When set, job and job-queue operations are limited to these job queues (names). */
  jobQueues?: string[];
  /** Where the key was configured (for error messages; never the secret). */
  source: string;
}

export type KeyStore = ReadonlyMap<string, AccessKey>;

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

/** What AWS accepts as an access key id (IAM: 16-128 word characters); also keeps `/` and `:` out. */
const ACCESS_KEY_ID = /^[A-Za-z0-9_.+=@-]{1,128}$/;

function checkKey(k: AccessKey): AccessKey {
  if (!ACCESS_KEY_ID.test(k.accessKeyId)) {
    throw new CredentialsError(`${k.source}: access key id ${JSON.stringify(k.accessKeyId)} must be 1-128 characters from A-Z a-z 0-9 _ . + = @ -`);
  }
  if (k.secretAccessKey.length === 0) throw new CredentialsError(`${k.source}: access key ${k.accessKeyId} has an empty secret`);
  return k;
}

/**
 * OPENBATCH_CREDENTIALS: `KEY:SECRET[,KEY:SECRET...]`. A secret may contain `:` (the key ends at
 * the first one). Keys from here are read-write with no queue restriction.
 */
export function parseCredentialsEnv(value: string, source = 'OPENBATCH_CREDENTIALS'): AccessKey[] {
  const out: AccessKey[] = [];
  for (const [i, raw] of value.split(',').entries()) {
    const pair = raw.trim();
    if (pair === '') continue;
    const colon = pair.indexOf(':');
    if (colon <= 0) throw new CredentialsError(`${source}: entry ${i + 1} is not KEY:SECRET`);
    out.push(checkKey({ accessKeyId: pair.slice(0, colon), secretAccessKey: pair.slice(colon + 1), readOnly: false, source }));
  }
  if (out.length === 0) throw new CredentialsError(`${source} is set but holds no KEY:SECRET pair`);
  return out;
}

/**
 * The credentials file, JSON:
 *
 *   { "keys": [ { "accessKeyId": "ci", "secretAccessKey": "...", "readOnly": false, "jobQueues": ["ci"] } ] }
 *
 * A bare array of the same objects is accepted too. `readOnly` (default false) and `jobQueues`
 * (default: all queues) are optional; unknown fields are refused so that a typo like `readonly`
 * cannot silently grant write access.
 */
export function parseCredentialsFile(text: string, file: string): AccessKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CredentialsError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' ? (doc as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(list)) throw new CredentialsError(`${file}: expected {"keys": [...]} or an array of keys`);
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const extra = Object.keys(doc).filter((k) => k !== 'keys');
    if (extra.length) throw new CredentialsError(`${file}: unknown top-level field(s) ${extra.join(', ')}`);
  }
  if (list.length === 0) throw new CredentialsError(`${file}: holds no keys`);
  return list.map((entry, i) => {
    const source = `${file} (keys[${i}])`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new CredentialsError(`${source}: must be an object`);
    const e = entry as Record<string, unknown>;
    const allowed = new Set(['accessKeyId', 'secretAccessKey', 'readOnly', 'jobQueues', 'description']);
    const unknown = Object.keys(e).filter((k) => !allowed.has(k));
    if (unknown.length) throw new CredentialsError(`${source}: unknown field(s) ${unknown.join(', ')} (allowed: ${[...allowed].join(', ')})`);
    if (typeof e.accessKeyId !== 'string') throw new CredentialsError(`${source}: accessKeyId must be a string`);
    if (typeof e.secretAccessKey !== 'string') throw new CredentialsError(`${source}: secretAccessKey must be a string`);
    if (e.readOnly !== undefined && typeof e.readOnly !== 'boolean') throw new CredentialsError(`${source}: readOnly must be true or false`);
    let jobQueues: string[] | undefined;
    if (e.jobQueues !== undefined) {
      if (!Array.isArray(e.jobQueues) || e.jobQueues.some((q) => typeof q !== 'string' || q === '')) {
        throw new CredentialsError(`${source}: jobQueues must be an array of job queue names`);
      }
      jobQueues = (e.jobQueues as string[]).map(queueName);
    }
    return checkKey({ accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey, readOnly: e.readOnly === true, ...(jobQueues ? { jobQueues } : {}), source });
  });
}

/** A job queue name from a name or a job-queue ARN. */
export function queueName(ref: string): string {
  const m = /^arn:[^:]+:batch:[^:]*:\d*:job-queue\/(.+)$/.exec(ref);
  return m ? m[1] : ref;
}

export interface CredentialSources {
  /** Path of a JSON credentials file. */
  file?: string;
  /** The OPENBATCH_CREDENTIALS format. */
  env?: string;
}

/**
 * All configured keys, or undefined when none is configured (authentication off). Throws
 * CredentialsError on a malformed source or an access key id configured twice.
 */
export function loadCredentials(sources: CredentialSources, warn: (message: string) => void = () => {}): KeyStore | undefined {
  const keys: AccessKey[] = [];
  if (sources.file) {
    let text: string;
    try {
      text = fs.readFileSync(sources.file, 'utf8');
    } catch (e) {
      throw new CredentialsError(`cannot read the credentials file ${sources.file}: ${(e as Error).message}`);
    }
    const mode = fs.statSync(sources.file).mode;
    if (mode & 0o077) warn(`the credentials file ${sources.file} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    keys.push(...parseCredentialsFile(text, sources.file));
  }
  if (sources.env !== undefined && sources.env.trim() !== '') keys.push(...parseCredentialsEnv(sources.env));
  if (keys.length === 0) return undefined;
  const store = new Map<string, AccessKey>();
  for (const k of keys) {
    const seen = store.get(k.accessKeyId);
    if (seen) throw new CredentialsError(`access key ${k.accessKeyId} is configured twice (${seen.source} and ${k.source})`);
    store.set(k.accessKeyId, k);
  }
  return store;
}

/** 127.0.0.0/8, ::1 (and its IPv4-mapped forms) and `localhost`: only this host can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.replace(/^::ffff:/, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
