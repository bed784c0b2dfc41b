// Where the `openbatch` commands find the server and the key to sign with, the way the AWS CLI
// does: --endpoint-url, AWS_ENDPOINT_URL_BATCH, AWS_ENDPOINT_URL, then the profile's endpoint_url
// (~/.aws/config); credentials from --profile, the environment, or AWS_PROFILE / [default] in
// ~/.aws/credentials and ~/.aws/config; region from --region, AWS_REGION, AWS_DEFAULT_REGION or
// the profile. Then a signed JSON POST to the Batch API (rest-json, /v1/<operation>).

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { signHeaders, type ClientCredentials } from '../api/auth/client.js';

export interface TargetOptions {
  endpointUrl?: string;
  profile?: string;
  region?: string;
}

export interface CliTarget {
  endpoint: string;
  region: string;
  credentials?: ClientCredentials;
  /** AWS_CA_BUNDLE, for HTTPS to a server with a private CA. */
  ca?: Buffer;
}

/** An INI file as the AWS CLI reads it: section name → key → value (comments and blanks skipped). */
export function parseIni(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (section) {
      current = out.get(section[1]) ?? {};
      out.set(section[1], current);
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && current) current[kv[1].toLowerCase()] = kv[2];
  }
  return out;
}

function readIni(file: string): Map<string, Record<string, string>> {
  try {
    return parseIni(fs.readFileSync(file, 'utf8'));
  } catch {
    return new Map();
  }
}

/** The profile's settings: ~/.aws/config ([profile x], or [default]) overlaid by ~/.aws/credentials ([x]). */
export function profileSettings(name: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  const home = env.HOME ?? os.homedir();
  const config = readIni(env.AWS_CONFIG_FILE ?? path.join(home, '.aws', 'config'));
  const credentials = readIni(env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, '.aws', 'credentials'));
  const fromConfig = config.get(name === 'default' ? 'default' : `profile ${name}`) ?? (name === 'default' ? undefined : config.get(name));
  const fromCredentials = credentials.get(name);
  if (!fromConfig && !fromCredentials) return undefined;
  return { ...(fromConfig ?? {}), ...(fromCredentials ?? {}) };
}

function credentialsOf(s: Record<string, string> | undefined): ClientCredentials | undefined {
  if (!s?.aws_access_key_id || !s.aws_secret_access_key) return undefined;
  return { accessKeyId: s.aws_access_key_id, secretAccessKey: s.aws_secret_access_key, ...(s.aws_session_token ? { sessionToken: s.aws_session_token } : {}) };
}

export class ConfigError extends Error {}

export function resolveTarget(opts: TargetOptions, defaultEndpoint: string, rawEnv: NodeJS.ProcessEnv = process.env): CliTarget {
  // An empty variable counts as unset, as in the AWS CLI.
  const env = Object.fromEntries(Object.entries(rawEnv).filter(([, v]) => v !== '')) as NodeJS.ProcessEnv;
  const profileName = opts.profile ?? env.AWS_PROFILE ?? 'default';
  const profile = profileSettings(profileName, env);
  // An explicit profile (flag or AWS_PROFILE) that does not exist is a mistake worth naming.
  if ((opts.profile !== undefined || env.AWS_PROFILE !== undefined) && !profile) {
    throw new ConfigError(`The config profile (${profileName}) could not be found in ~/.aws/config or ~/.aws/credentials`);
  }
  const envCredentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  // As the AWS CLI: --profile beats the environment's keys; AWS_PROFILE does not.
  const credentials = opts.profile !== undefined ? (credentialsOf(profile) ?? envCredentials) : (envCredentials ?? credentialsOf(profile));
  const endpoint = (opts.endpointUrl ?? env.AWS_ENDPOINT_URL_BATCH ?? env.AWS_ENDPOINT_URL ?? profile?.endpoint_url ?? defaultEndpoint).replace(/\/+$/, '');
  const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? profile?.region ?? 'us-east-1';
  const caFile = env.AWS_CA_BUNDLE ?? profile?.ca_bundle;
  return { endpoint, region, ...(credentials ? { credentials } : {}), ...(caFile && endpoint.startsWith('https:') ? { ca: fs.readFileSync(caFile) } : {}) };
}

export class BatchApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Network failures (server down, wrong port): distinct from API errors so the message can say so. */
export class UnreachableError extends Error {}

type Json = Record<string, any>;

/** POST /v1/<operation> of the Batch API, signed for `batch` when there are credentials. */
/**
 * A JSON POST to the server, signed for `service` when there are credentials: the one HTTP path of
 * the `openbatch` commands (Batch rest-json, and the awsJson APIs with an X-Amz-Target).
 */
export async function postSigned(
  url: URL,
  body: Json,
  o: { service: string; region: string; credentials?: ClientCredentials; ca?: string | Buffer; headers: Record<string, string> },
): Promise<{ status: number; text: string }> {
  const payload = JSON.stringify(body);
  const signed = o.credentials ? await signHeaders('POST', url, o.credentials, { region: o.region, service: o.service, body: payload, headers: o.headers }) : o.headers;
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = lib.request(url, { method: 'POST', headers: { ...signed, 'content-length': String(Buffer.byteLength(payload)) }, ...(o.ca ? { ca: o.ca } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function batchCall(t: CliTarget, operation: string, body: Json): Promise<Json> {
  const url = new URL(`/v1/${operation.toLowerCase()}`, t.endpoint + '/');
  let status: number;
  let text: string;
  try {
    ({ status, text } = await postSigned(url, body, { service: 'batch', region: t.region, credentials: t.credentials, ca: t.ca, headers: { 'content-type': 'application/json' } }));
  } catch (e) {
    throw new UnreachableError(`cannot reach OpenBatch at ${t.endpoint}: ${(e as Error).message} (is it running? start it with: npm start)`);
  }
  let out: Json = {};
  try {
    out = text ? (JSON.parse(text) as Json) : {};
  } catch {
    throw new BatchApiError('InvalidResponse', status, `${status}: the server's answer is not JSON (is ${t.endpoint} an OpenBatch server?)`);
  }
  if (status < 200 || status >= 300) throw new BatchApiError(String(out.__type ?? status), status, `${out.__type ?? status}: ${out.message ?? `HTTP ${status}`}`);
  return out;
}

/**
 * For the commands that read the environment only (logs, describe, usage, workflow): the
 * profile's (AWS_PROFILE, else default) keys, endpoint_url and region become the environment
 * variables they read, where those are not set already. Never for `serve`: jobs must not inherit keys.
 */
export function applyProfileToEnv(env: NodeJS.ProcessEnv = process.env): void {
  let t: CliTarget;
  try {
    t = resolveTarget({}, '', env);
  } catch {
    return; // a missing profile: the commands say so when they cannot connect
  }
  if (!(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) && t.credentials) {
    env.AWS_ACCESS_KEY_ID = t.credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = t.credentials.secretAccessKey;
    if (t.credentials.sessionToken) env.AWS_SESSION_TOKEN = t.credentials.sessionToken;
  }
  if (!env.AWS_ENDPOINT_URL_BATCH && !env.AWS_ENDPOINT_URL && t.endpoint) env.AWS_ENDPOINT_URL = t.endpoint;
  if (!env.AWS_REGION && !env.AWS_DEFAULT_REGION) env.AWS_REGION = t.region;
}
