// The client side, for the `openbatch` command's own calls (e.g. `openbatch logs`): a GET signed
// with SigV4 when AWS credentials are in the environment, over HTTPS trusting AWS_CA_BUNDLE
// when set, like the AWS CLI.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseRawQuery } from './sigv4.js';

export interface ClientCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), or undefined. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/** SigV4 headers (authorization, x-amz-date, x-amz-content-sha256, ...) for a request to `url`. */
export async function signHeaders(
  method: string,
  url: URL,
  credentials: ClientCredentials,
  opts: {
    region?: string;
    service?: string;
    body?: string | Uint8Array;
    headers?: Record<string, string>;
    signingDate?: Date;
    /** Send (and sign) x-amz-content-sha256, as the JS SDK does; the Python clients do not. */
    applyChecksum?: boolean;
  } = {},
): Promise<Record<string, string>> {
  const region = opts.region ?? 'us-east-1';
  const service = opts.service ?? 'batch';
  const signer = new SignatureV4({ credentials, region, service, sha256: Hash.bind(null, 'sha256'), applyChecksum: opts.applyChecksum ?? true });
  const request = new HttpRequest({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query: parseRawQuery(url.search.replace(/^\?/, '')),
    headers: { host: url.host, ...(opts.headers ?? {}) },
    body: opts.body,
  });
  const signed = await signer.sign(request, { signingDate: opts.signingDate });
  return signed.headers as Record<string, string>;
}

export interface SimpleResponse {
  ok: boolean;
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  json(): Promise<unknown>;
}

/**
 * GET `url`, signed when credentials are given (from the environment by default), trusting the
 * CA bundle in AWS_CA_BUNDLE for HTTPS.
 */
export async function openbatchGet(
  target: string,
  opts: { credentials?: ClientCredentials; region?: string; caBundle?: string } = {},
): Promise<SimpleResponse> {
  const url = new URL(target);
  const credentials = opts.credentials ?? credentialsFromEnv();
  const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const headers = credentials ? await signHeaders('GET', url, credentials, { region }) : {};
  const caFile = opts.caBundle ?? process.env.AWS_CA_BUNDLE;
  const ca = url.protocol === 'https:' && caFile ? fs.readFileSync(caFile) : undefined;
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: 'GET', headers, ...(ca ? { ca } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      resolve({
        ok: status >= 200 && status < 300,
        status,
        statusText: res.statusMessage ?? '',
        headers: res.headers,
        body: res,
        async json() {
          const chunks: Buffer[] = [];
          for await (const c of res) chunks.push(c as Buffer);
          return JSON.parse(Buffer.concat(chunks).toString('utf8'));
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}
