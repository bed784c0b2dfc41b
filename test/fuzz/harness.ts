// The API fuzzer's harness: starts an OpenBatch server in this process (SQLite in a fresh data
// dir, real HTTP on 127.0.0.1), sends it generated requests one at a time over real HTTP (Node's
// client, or a raw socket for bytes Node's client refuses to send) and through fastify's
// inject(), and checks every answer:
//
// - no 5xx, and the server still answers /health (checked every `healthEvery` requests);
// - no hang: each request gets its whole answer within `deadlineMs`;
// - every 4xx is AWS-shaped: a JSON object with string `__type` and `message`, and the header
//   `x-amzn-ErrorType` equal to `__type`;
// - a request that cannot be valid whatever the server holds (not a route, a body that is not
//   one JSON object) is refused;
// - a refused request, and any Describe/List/Get call, leaves the store unchanged: a second,
//   read-only SQLite connection holds a snapshot taken before each request and a third asks
//   `PRAGMA data_version` after it; when the database was written, the row digests of the
//   snapshot and of the current database are compared table by table;
// - the in-memory registry matches the store (a fresh Registry loaded from it), every
//   `registryEvery` requests and at the end.
//
// Nothing a fuzzed request submits ever runs: the server's job runtime is closed right after
// start, so jobs stay SUBMITTED (no scheduling, no executor), and the seeded compute environment
// is DISABLED as well. The end checks that no attempt was ever made.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { batchModel, resolveShape, shapeType, type ApiModel, type ShapeRef } from '../../src/api/batch/model/index.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { Registry } from '../../src/service/registry.js';
import {
  buildWire,
  emptyPools,
  isReadOnly,
  requestArb,
  type FuzzRequest,
  type Pools,
  type Transport,
  type WireRequest,
} from './requests.js';

export interface FuzzOptions {
  seed: number;
  requests: number;
  /** Each request must be answered within this. */
  deadlineMs?: number;
  healthEvery?: number;
  registryEvery?: number;
  transports?: Partial<Record<Transport, number>>;
  /** Progress lines (every `progressEvery` requests). */
  log?: (line: string) => void;
  progressEvery?: number;
  /** Stop after this many failures (they are all alike past some point). */
  maxFailures?: number;
  /** After the sequential requests, this many more sent `concurrency` at a time. */
  burst?: number;
  concurrency?: number;
}

export interface Failure {
  /** e.g. `5xx`, `not-aws-shaped`, `store-changed`, `hang`. */
  kind: string;
  detail: string;
  index: number;
  request: string;
  response?: string;
}

export interface FuzzSummary {
  seed: number;
  /** All requests sent, the concurrent ones (`burst`) included. */
  requests: number;
  burst: number;
  elapsedMs: number;
  byStatus: Record<string, number>;
  byErrorType: Record<string, number>;
  byTransport: Record<string, number>;
  byFamily: Record<string, number>;
  byOperation: Record<string, { sent: number; ok: number; rejected: number }>;
  /** Error messages by operation, quoted values and numbers blanked (for tuning the generators). */
  byMessage: Record<string, number>;
  /** Rejected requests (and reads) after which the database file had been written at all. */
  storeWrites: number;
  /** HTTP requests sent again on a new connection after the kept-alive one was reset. */
  resent: number;
  /** Size of the SQLite database and its WAL at the end. */
  storeBytes: number;
  healthChecks: number;
  registryChecks: number;
  failures: Failure[];
  /** Failures of a kind that is known and owned elsewhere (see KNOWN_ISSUES). */
  known: Failure[];
}

/** Failure kinds that are known and tracked elsewhere (reported, not failed); none at present. */
export const KNOWN_ISSUES: Record<string, string> = {};

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

type Outcome = { response: Response } | { hang: true } | { error: string };

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s);

// ---------------------------------------------------------------------------------------------
// Transports

function sendHttp(url: URL, agent: http.Agent | undefined, w: WireRequest, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    let req: http.ClientRequest;
    try {
      req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: w.method,
          path: w.target,
          headers: { ...w.headers, 'content-length': String(w.body.length) },
          agent: agent ?? false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => finish({ response: { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) } }));
          res.on('error', (e) => finish({ error: `response: ${e.message}` }));
        },
      );
    } catch (e) {
      resolve({ error: `client refused: ${(e as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      req.destroy(new Error('deadline'));
      finish({ hang: true });
    }, deadlineMs);
    req.on('error', (e) => finish({ error: e.message }));
    req.end(w.body);
  });
}

async function sendInject(server: RunningServer, w: WireRequest, deadlineMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome>((r) => (timer = setTimeout(() => r({ hang: true }), deadlineMs)));
  const call = server.app
    .inject({ method: w.method as 'GET', url: w.target, headers: w.headers, payload: w.body })
    .then((res): Outcome => ({ response: { status: res.statusCode, headers: res.headers as Response['headers'], body: res.rawPayload } }))
    .catch((e: Error): Outcome => ({ error: `inject refused: ${e.message}` }));
  const out = await Promise.race([call, deadline]);
  clearTimeout(timer);
  return out;
}

/** The request as bytes, with the raw mutation applied. */
function rawBytes(w: WireRequest, r: FuzzRequest, host: string): Buffer {
  const m = r.rawMutation;
  const method = m === 'lowercase-method' ? w.method.toLowerCase() : m === 'unknown-method' ? 'FUZZ' : w.method;
  let target = w.target;
  if (m === 'absolute-form') target = `http://${host}${w.target}`;
  if (m === 'nul-in-path') target = `${w.target}\u0000x`;
  const lines = [`${method} ${target} ${m === 'http10' ? 'HTTP/1.0' : 'HTTP/1.1'}`];
  if (m !== 'no-host') lines.push(`Host: ${host}`);
  for (const [k, v] of Object.entries(w.headers)) lines.push(`${k}: ${v}`);
  if (m === 'bad-header') lines.push('Bad Header: x', 'x-nul: a\u0000b');
  if (m === 'huge-header') lines.push(`x-big: ${'a'.repeat(20_000)}`);
  lines.push('Connection: close');
  const chunked = (b: Buffer, bad: boolean) =>
    Buffer.concat([Buffer.from(bad ? 'zz\r\n' : `${b.length.toString(16)}\r\n`, 'latin1'), b, Buffer.from('\r\n0\r\n\r\n', 'latin1')]);
  let body = w.body;
  switch (m) {
    case 'chunked':
    case 'chunked-bad':
      lines.push('Transfer-Encoding: chunked');
      body = chunked(w.body, m === 'chunked-bad');
      break;
    case 'cl-and-te':
      lines.push('Transfer-Encoding: chunked', `Content-Length: ${w.body.length}`);
      body = chunked(w.body, false);
      break;
    case 'cl-short':
      lines.push(`Content-Length: ${Math.floor(w.body.length / 2)}`);
      break;
    case 'cl-long':
      lines.push(`Content-Length: ${w.body.length + 10}`);
      break;
    default:
      lines.push(`Content-Length: ${w.body.length}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** The first HTTP response in `data`, if it is complete. */
function parseRawResponse(data: Buffer): Response | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = data.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let rest = data.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) break;
      const size = parseInt(rest.subarray(0, nl).toString('latin1'), 16);
      if (!(size > 0)) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      rest = rest.subarray(nl + 2 + size + 2);
    }
    return { status: Number(m[1]), headers, body: Buffer.concat(parts) };
  }
  const len = headers['content-length'] !== undefined ? Number(headers['content-length']) : rest.length;
  return { status: Number(m[1]), headers, body: rest.subarray(0, len) };
}

function sendRaw(url: URL, w: WireRequest, r: FuzzRequest, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const socket = net.connect(Number(url.port), url.hostname);
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ hang: true }), deadlineMs);
    const settle = () => {
      const res = parseRawResponse(Buffer.concat(chunks));
      finish(res ? { response: res } : { error: 'connection closed without a response' });
    };
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', settle);
    socket.on('close', settle);
    socket.on('error', () => settle());
    socket.end(rawBytes(w, r, url.host));
  });
}

// ---------------------------------------------------------------------------------------------
// The store: snapshot before, data_version after, row digests when it was written

type Digest = Map<string, Map<string, number>>;

function digest(db: Database.Database): Digest {
  const out: Digest = new Map();
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  for (const t of tables) {
    const rows = new Map<string, number>();
    for (const row of db.prepare(`SELECT * FROM "${t.replace(/"/g, '""')}"`).raw().iterate()) {
      const key = createHash('sha1').update(JSON.stringify(row)).digest('base64');
      rows.set(key, (rows.get(key) ?? 0) + 1);
    }
    out.set(t, rows);
  }
  return out;
}

function diffDigests(a: Digest, b: Digest): string | undefined {
  const diffs: string[] = [];
  for (const t of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(t) ?? new Map<string, number>();
    const y = b.get(t) ?? new Map<string, number>();
    let added = 0;
    let removed = 0;
    for (const [k, n] of y) added += Math.max(0, n - (x.get(k) ?? 0));
    for (const [k, n] of x) removed += Math.max(0, n - (y.get(k) ?? 0));
    if (added || removed) diffs.push(`${t}: ${added} rows added/changed, ${removed} removed/changed`);
  }
  return diffs.length ? diffs.join('; ') : undefined;
}

export class StoreWatch {
  private readonly snapshot: Database.Database;
  private readonly probe: Database.Database;
  private version = 0;

  constructor(file: string) {
    this.snapshot = new Database(file, { readonly: true, fileMustExist: true });
    this.probe = new Database(file, { readonly: true, fileMustExist: true });
  }

  private dataVersion(): number {
    return this.probe.pragma('data_version', { simple: true }) as number;
  }

  /** Holds a read snapshot of the database as it is now. */
  mark(): void {
    if (this.snapshot.inTransaction) this.snapshot.exec('COMMIT');
    this.snapshot.exec('BEGIN');
    this.snapshot.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
    this.version = this.dataVersion();
  }

  /** Whether the database was written since mark(), and what changed in its rows. */
  changes(): { written: boolean; diff?: string } {
    if (this.dataVersion() === this.version) return { written: false };
    return { written: true, diff: diffDigests(digest(this.snapshot), digest(this.probe)) };
  }

  /** How many attempts were ever made (must stay 0: nothing runs). */
  attempts(): number {
    return this.probe.prepare('SELECT count(*) FROM attempts').pluck().get() as number;
  }

  close(): void {
    if (this.snapshot.inTransaction) this.snapshot.exec('COMMIT');
    this.snapshot.close();
    this.probe.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The server

export interface FuzzServer {
  server: RunningServer;
  url: URL;
  dbFile: string;
  close(): Promise<void>;
}

/**
 * Puts back what the fuzzer's own requests may have taken away (the queue disabled or deleted,
 * the definition deregistered), so that SubmitJob and the job operations keep being reached.
 */
async function replenish(server: RunningServer): Promise<void> {
  const { service } = server;
  const reg = service.ctx.registry;
  const attempt = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch {
      // e.g. 50 compute environments already: the pool stays as the fuzzer left it
    }
  };
  if (!reg.computeEnvironments.has('fuzz-ce')) {
    await attempt(() =>
      service.computeEnvironments.create({
        computeEnvironmentName: 'fuzz-ce',
        type: 'MANAGED',
        state: 'DISABLED',
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 2, desiredvCpus: 0, instanceTypes: ['optimal'] } as never,
      }),
    );
  }
  const q = reg.jobQueues.get('fuzz-q');
  if (!q) {
    await attempt(() => service.jobQueues.create({ jobQueueName: 'fuzz-q', state: 'ENABLED', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'fuzz-ce' }] }));
  } else if (q.state !== 'ENABLED') {
    await attempt(() => service.jobQueues.update({ jobQueue: 'fuzz-q', state: 'ENABLED' }));
  }
  if (!reg.findJobDefinition('jd1', { activeOnly: true })) {
    await attempt(() =>
      service.jobDefinitions.register({ jobDefinitionName: 'jd1', type: 'container', containerProperties: { image: 'busybox', command: ['true'], vcpus: 1, memory: 64 } as never }),
    );
  }
}

export async function startFuzzServer(): Promise<FuzzServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-fuzz-'));
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    createDefaults: false,
    logLevel: process.env.FUZZ_LOG_LEVEL ?? 'silent',
    hostResources: { cpus: 2, memory: 4096, gpus: 0 },
  });
  // No scheduling cycle ever runs: submitted jobs stay SUBMITTED and no command is started.
  await server.runtime.close();
  const { service } = server;
  await replenish(server);
  const sp = await service.schedulingPolicies.create({ name: 'fuzz-sp', fairsharePolicy: { shareDecaySeconds: 60, shareDistribution: [{ shareIdentifier: 'a', weightFactor: 1 }] } as never });
  await service.jobQueues.create({ jobQueueName: 'fuzz-fsq', state: 'ENABLED', priority: 2, schedulingPolicyArn: sp.arn, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'fuzz-ce' }] });
  await replenish(server);
  return {
    server,
    url: new URL(server.url),
    dbFile: path.join(dataDir, 'openbatch.db'),
    async close() {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What requests refer to: the harness's own resources first (see resolveRef), then the fuzzer's. */
function refreshPools(pools: Pools, server: RunningServer): void {
  const reg = server.service.ctx.registry;
  const homeFirst = <T extends { name: string }>(list: T[], home: string) => [...list.filter((x) => x.name === home), ...list.filter((x) => x.name !== home)];
  pools.ce = homeFirst([...reg.computeEnvironments.values()].map((c) => ({ name: c.computeEnvironmentName, arn: c.computeEnvironmentArn })), 'fuzz-ce');
  pools.queue = homeFirst([...reg.jobQueues.values()].map((q) => ({ name: q.jobQueueName, arn: q.jobQueueArn })), 'fuzz-q');
  pools.sp = homeFirst([...reg.schedulingPolicies.values()].map((p) => ({ name: p.name, arn: p.arn })), 'fuzz-sp');
  const defs = reg.allJobDefinitions();
  const home = reg.findJobDefinition('jd1', { activeOnly: true });
  pools.jobdef = [...(home ? [home] : []), ...defs.slice(-60)].map((d) => ({ name: d.jobDefinitionName, revision: d.revision, arn: d.jobDefinitionArn }));
}

/** A value as JSON with object keys sorted; `dropProto` leaves out own `__proto__` keys. */
function canonical(value: unknown, dropProto = false): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([k]) => !(dropProto && k === '__proto__'))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

/** Every resource the registry holds, by a key such as `jobQueue fuzz-q`. */
function registryEntities(reg: Registry): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [name, v] of reg.computeEnvironments) out.set(`computeEnvironment ${name}`, v);
  for (const [name, v] of reg.jobQueues) out.set(`jobQueue ${name}`, v);
  for (const d of reg.allJobDefinitions()) out.set(`jobDefinition ${d.jobDefinitionArn}`, d);
  for (const [name, v] of reg.schedulingPolicies) out.set(`schedulingPolicy ${name}`, v);
  return out;
}

export interface RegistryDifference {
  key: string;
  live: string;
  stored: string;
  /** The two differ only in own `__proto__` keys (lost when the store reads tags back). */
  onlyProtoKeys: boolean;
}

/** Where the live registry differs from a registry loaded from the store now. */
export async function registryDifferences(server: RunningServer): Promise<RegistryDifference[]> {
  const fresh = new Registry(server.service.ctx.arns);
  await fresh.load(server.store);
  const live = registryEntities(server.service.ctx.registry);
  const stored = registryEntities(fresh);
  const out: RegistryDifference[] = [];
  for (const key of new Set([...live.keys(), ...stored.keys()])) {
    const a = live.has(key) ? canonical(live.get(key)) : '(absent)';
    const b = stored.has(key) ? canonical(stored.get(key)) : '(absent)';
    if (a === b) continue;
    const onlyProtoKeys = live.has(key) && stored.has(key) && canonical(live.get(key), true) === canonical(stored.get(key), true);
    out.push({ key, live: a, stored: b, onlyProtoKeys });
  }
  return out;
}

/** The first difference of two strings, with some context. */
function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const at = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 80), i + 80));
  return `live ...${at(a)} | stored ...${at(b)}`;
}

// ---------------------------------------------------------------------------------------------
// Checks

function header(res: Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Why a 4xx is not in AWS's error shape, or undefined if it is. */
export function awsShapeProblem(res: Response, method: string): string | undefined {
  const type = header(res, 'x-amzn-errortype');
  if (!type) return 'no x-amzn-ErrorType header';
  if (!/^application\/json\b/.test(header(res, 'content-type') ?? '')) return `content-type ${header(res, 'content-type')}`;
  if (method === 'HEAD') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    return 'body is not JSON';
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'body is not a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b.__type !== 'string' || b.__type === '') return 'no __type';
  if (typeof b.message !== 'string' || b.message === '') return 'no message';
  if (type.split(':')[0] !== b.__type) return `x-amzn-ErrorType ${type} is not __type ${b.__type}`;
  return undefined;
}

/**
 * Output members that current AWS Batch returns but the vendored (older) model lacks, as
 * `<parent member>.<member>`; each is in the current SDK's shapes (@aws-sdk/client-batch).
 */
const NEWER_OUTPUT_MEMBERS: ReadonlySet<string> = new Set([
  'arrayProperties.statusSummaryLastUpdatedAt',
  'jobs.isCancelled',
  'jobs.isTerminated',
  'jobSummaryList.isCancelled',
  'jobSummaryList.isTerminated',
]);

/**
 * Where a successful answer departs from the operation's output shape in the model: a value of
 * the wrong type, JSON null (absent members are left out), or a member the model does not have.
 */
export function outputProblems(operation: string, body: unknown, model: ApiModel = batchModel): string[] {
  const problems: string[] = [];
  const op = model.operations[operation];
  if (!op) return problems;
  const walk = (ref: ShapeRef, v: unknown, path: string, depth: number) => {
    if (problems.length > 5 || depth > 30) return;
    if (v === null) {
      problems.push(`${path || 'output'} is null`);
      return;
    }
    const shape = resolveShape(ref, model);
    const type = shapeType(shape);
    const bad = (expected: string) => problems.push(`${path || 'output'}: expected ${expected}, got ${JSON.stringify(v)?.slice(0, 80)}`);
    switch (type) {
      case 'structure': {
        if (typeof v !== 'object' || Array.isArray(v)) return bad('an object');
        const members = shape.members ?? {};
        for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
          if (!Object.hasOwn(members, k)) {
            const parent = /([A-Za-z0-9_]+)(?:\[[^\]]*\])*$/.exec(path)?.[1] ?? '';
            if (!NEWER_OUTPUT_MEMBERS.has(`${parent}.${k}`)) problems.push(`${path ? `${path}.` : ''}${k} is not a member of the model's output`);
          }
          else walk(members[k], item, path ? `${path}.${k}` : k, depth + 1);
        }
        return;
      }
      case 'list':
        if (!Array.isArray(v)) return bad('a list');
        v.forEach((item, i) => walk(shape.member ?? {}, item, `${path}[${i}]`, depth + 1));
        return;
      case 'map':
        if (typeof v !== 'object' || Array.isArray(v)) return bad('a map');
        for (const [k, item] of Object.entries(v as Record<string, unknown>)) walk(shape.value ?? {}, item, `${path}[${JSON.stringify(k)}]`, depth + 1);
        return;
      case 'string':
      case 'blob':
        if (typeof v !== 'string') bad('a string');
        return;
      case 'boolean':
        if (typeof v !== 'boolean') bad('a boolean');
        return;
      case 'integer':
      case 'long':
        if (typeof v !== 'number' || !Number.isInteger(v)) bad('an integer');
        return;
      case 'float':
      case 'double':
      case 'timestamp':
        if (typeof v !== 'number') bad('a number');
        return;
    }
  };
  walk(op.output ?? { type: 'structure', members: {} }, body, '', 0);
  return problems;
}

function describeRequest(r: FuzzRequest, w: WireRequest): string {
  const body = w.body.length > 600 ? `${w.body.subarray(0, 600).toString('utf8')}... (${w.body.length} bytes)` : w.body.toString('utf8');
  const ct = w.headers['content-type'];
  return `${r.transport}${r.rawMutation !== 'none' ? `/${r.rawMutation}` : ''} ${w.method} ${clip(w.target, 200)} [${r.operation ?? '-'}; ${r.family}; content-type ${ct === undefined ? 'none' : JSON.stringify(clip(ct, 40))}] ${JSON.stringify(body)}`;
}

function inc(m: Record<string, number>, k: string, n = 1): void {
  m[k] = (m[k] ?? 0) + n;
}

// ---------------------------------------------------------------------------------------------
// The run

const METADATA_WRITES = /^(Create|Update|Delete|Register|Deregister)/;

export async function runFuzz(opts: FuzzOptions, fuzz?: FuzzServer): Promise<FuzzSummary> {
  const deadlineMs = opts.deadlineMs ?? 10_000;
  const healthEvery = opts.healthEvery ?? 200;
  const registryEvery = opts.registryEvery ?? 500;
  const progressEvery = opts.progressEvery ?? 10_000;
  const maxFailures = opts.maxFailures ?? 200;
  const burst = opts.burst ?? 0;
  const concurrency = opts.concurrency ?? 16;
  const own = fuzz === undefined;
  const f = fuzz ?? (await startFuzzServer());
  const { server, url } = f;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const watch = new StoreWatch(f.dbFile);
  const pools = emptyPools();
  refreshPools(pools, server);
  const summary: FuzzSummary = {
    seed: opts.seed,
    requests: 0,
    burst: 0,
    elapsedMs: 0,
    byStatus: {},
    byErrorType: {},
    byTransport: {},
    byFamily: {},
    byOperation: {},
    byMessage: {},
    storeWrites: 0,
    resent: 0,
    storeBytes: 0,
    healthChecks: 0,
    registryChecks: 0,
    failures: [],
    known: [],
  };
  let index = -1;
  let lastRequest = '';
  const fail = (kind: string, detail: string, request = lastRequest, response?: string, at = index) => {
    const failure: Failure = { kind, detail, index: at, request, ...(response !== undefined ? { response } : {}) };
    (KNOWN_ISSUES[kind] ? summary.known : summary.failures).push(failure);
  };
  // A crash of the server in this process is a failure, not the end of the run.
  const onCrash = (e: unknown) => fail('crash', String((e as Error)?.stack ?? e));
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  const health = async () => {
    summary.healthChecks++;
    const out = await sendHttp(url, agent, { method: 'GET', target: '/health', headers: {}, body: Buffer.alloc(0), mustReject: false, protocolViolation: false }, deadlineMs);
    if (!('response' in out) || out.response.status !== 200) fail('health', `/health: ${JSON.stringify('response' in out ? out.response.status : out)}`);
  };
  const reported = new Set<string>();
  const registryCheck = async () => {
    summary.registryChecks++;
    for (const d of await registryDifferences(server)) {
      // Each resource's divergence once (it stays diverged until the resource changes again).
      const id = `${d.key} ${d.live}`;
      if (reported.has(id)) continue;
      reported.add(id);
      fail(
        d.onlyProtoKeys ? 'proto-key-lost' : 'registry-diverged',
        `${d.key}: the server's registry and the store differ (between requests ${Math.max(0, index + 1 - registryEvery)} and ${index}): ${firstDifference(d.live, d.stored)}`,
        '(see the detail)',
      );
    }
  };

  const send = async (r: FuzzRequest, w: WireRequest, via: http.Agent): Promise<Outcome> => {
    if (r.transport === 'inject') return sendInject(server, w, deadlineMs);
    if (r.transport === 'raw') return sendRaw(url, w, r, deadlineMs);
    let out = await sendHttp(url, via, w, deadlineMs);
    // A kept-alive connection the server had just closed (after an error answer, or idle): the
    // request never reached it; send it again on a new connection.
    if ('error' in out && /ECONNRESET|socket hang up|EPIPE/.test(out.error)) {
      summary.resent++;
      out = await sendHttp(url, undefined, w, deadlineMs);
    }
    // Node's client refuses some targets and headers: send those bytes over a raw socket.
    if ('error' in out && out.error.startsWith('client refused')) out = await sendRaw(url, w, r, deadlineMs);
    return out;
  };

  /** Checks one answer and counts it; whether the request was refused (or got no answer). */
  const check = (r: FuzzRequest, w: WireRequest, out: Outcome, at: number, described: string): boolean => {
    const op = r.operation ?? '-';
    const opStats = (summary.byOperation[op] ??= { sent: 0, ok: 0, rejected: 0 });
    opStats.sent++;
    summary.requests++;
    inc(summary.byTransport, r.transport);
    inc(summary.byFamily, r.family);
    const failHere = (kind: string, detail: string, response?: string) => fail(kind, detail, described, response, at);
    if ('hang' in out) {
      inc(summary.byStatus, 'hang');
      failHere('hang', `no complete answer within ${deadlineMs} ms`);
      return true;
    }
    if ('error' in out) {
      inc(summary.byStatus, 'no-response');
      // The server may close a connection that breaks HTTP, or one whose body is over the limit.
      if (w.method === 'HEAD' && /Parse Error/.test(out.error)) failHere('head-error-has-body', out.error);
      else if (!w.protocolViolation && w.body.length <= 1024 * 1024 && !out.error.startsWith('inject refused')) failHere('no-response', out.error);
      return true;
    }
    const res = out.response;
    inc(summary.byStatus, String(res.status));
    const responseText = clip(res.body.toString('utf8'), 400);
    if (res.status >= 500) failHere('5xx', `status ${res.status}`, responseText);
    if (res.status >= 400) {
      opStats.rejected++;
      const type = header(res, 'x-amzn-errortype');
      inc(summary.byErrorType, type ?? `(none: ${res.status})`);
      const message = /"message":"((?:[^"\\]|\\.){0,160})/.exec(res.body.toString('utf8'))?.[1] ?? '';
      const key = `${op}: ${message.replace(/\\"(?:[^"\\]|\\.)*?\\"/g, '"…"').replace(/\d+/g, 'N').slice(0, 100)}`;
      if (summary.byMessage[key] !== undefined || Object.keys(summary.byMessage).length < 3000) inc(summary.byMessage, key);
      const problem = awsShapeProblem(res, w.method);
      if (problem) failHere(w.protocolViolation ? 'protocol-error-not-aws-shaped' : 'not-aws-shaped', `${res.status}: ${problem}`, responseText);
      return true;
    }
    opStats.ok++;
    if (w.mustReject) failHere('accepted-invalid', `status ${res.status} for a request that cannot be valid`, responseText);
    if (res.status < 200 || res.status >= 300 || w.method === 'HEAD') return false;
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      failHere('bad-success-body', 'a successful answer is not JSON', responseText);
      return false;
    }
    if (w.operation) {
      const problems = outputProblems(w.operation, body);
      if (problems.length) failHere('bad-output', problems.join('; '), responseText);
    }
    const token = (body as { nextToken?: unknown } | undefined)?.nextToken;
    if (typeof token === 'string') {
      pools.token.push(token);
      if (pools.token.length > 50) pools.token.shift();
    }
    if (w.operation === 'SubmitJob' && body && typeof body === 'object') {
      const { jobId, jobArn } = body as { jobId?: string; jobArn?: string };
      if (jobId && jobArn) {
        pools.job.push({ id: jobId, arn: jobArn });
        if (pools.job.length > 200) pools.job.shift();
      }
    }
    if (METADATA_WRITES.test(w.operation ?? r.operation ?? '')) refreshPools(pools, server);
    return false;
  };

  const started = Date.now();
  const arb = requestArb({ transports: opts.transports });
  const CHUNK = 250;
  try {
    await registryCheck();
    for (let chunk = 0; chunk * CHUNK < opts.requests && summary.failures.length < maxFailures; chunk++) {
      const n = Math.min(CHUNK, opts.requests - chunk * CHUNK);
      for (const r of fc.sample(arb, { seed: (opts.seed + chunk * 7919) | 0, numRuns: n })) {
        index++;
        const w = buildWire(r, pools);
        lastRequest = describeRequest(r, w);
        watch.mark();
        const out = await send(r, w, agent);
        const rejected = check(r, w, out, index, lastRequest);
        // A refused request, and any read, leaves the store as it was.
        if (rejected || isReadOnly(w.operation)) {
          const c = watch.changes();
          if (c.written) {
            summary.storeWrites++;
            if (c.diff) fail('store-changed', `${rejected ? 'a rejected request' : `read-only ${w.operation}`} changed the store: ${c.diff}`);
          }
        }
        if ((index + 1) % healthEvery === 0) await health();
        if ((index + 1) % registryEvery === 0) await registryCheck();
        if ((index + 1) % 250 === 0) {
          await replenish(server);
          refreshPools(pools, server);
        }
        if (opts.log && (index + 1) % progressEvery === 0) {
          opts.log(`${index + 1} requests, ${summary.failures.length} failures, ${Math.round((Date.now() - started) / 1000)} s`);
        }
      }
    }

    // Bursts: the same kind of requests, `concurrency` at a time (the store is not compared per
    // request here: their effects interleave). The group commit of SubmitJob, the metadata lock
    // and connection handling see concurrent traffic.
    const burstAgent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    try {
      for (let sent = 0; sent < burst && summary.failures.length < maxFailures; sent += concurrency) {
        const group = fc.sample(arb, { seed: (opts.seed + 1_000_003 + sent) | 0, numRuns: Math.min(concurrency, burst - sent) });
        await Promise.all(
          group.map(async (r) => {
            const at = ++index;
            const w = buildWire(r, pools);
            const described = `(burst) ${describeRequest(r, w)}`;
            check(r, w, await send(r, w, burstAgent), at, described);
          }),
        );
        if (Math.floor((sent + concurrency) / healthEvery) > Math.floor(sent / healthEvery)) await health();
      }
    } finally {
      burstAgent.destroy();
    }
    summary.burst = burst;

    await health();
    await registryCheck();
    for (const file of [f.dbFile, `${f.dbFile}-wal`]) if (fs.existsSync(file)) summary.storeBytes += fs.statSync(file).size;
    const attempts = watch.attempts();
    if (attempts > 0) fail('job-ran', `${attempts} attempts were recorded; fuzzed jobs must never run`);
  } finally {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    watch.close();
    agent.destroy();
    summary.elapsedMs = Date.now() - started;
    if (own) await f.close();
  }
  return summary;
}

export function formatSummary(s: FuzzSummary): string {
  const table = (m: Record<string, number>) =>
    Object.entries(m)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `    ${k.padEnd(36)} ${v}`)
      .join('\n');
  const ops = Object.entries(s.byOperation)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `    ${k.padEnd(36)} sent ${String(v.sent).padStart(6)}  ok ${String(v.ok).padStart(6)}  rejected ${String(v.rejected).padStart(6)}`)
    .join('\n');
  const failureKinds: Record<string, number> = {};
  for (const f of s.failures) inc(failureKinds, f.kind);
  const knownKinds: Record<string, number> = {};
  for (const f of s.known) inc(knownKinds, f.kind);
  const lines = [
    `API fuzz: ${s.requests} requests (${s.burst} of them concurrently), seed ${s.seed}, ${(s.elapsedMs / 1000).toFixed(1)} s (${Math.round((s.requests * 1000) / Math.max(1, s.elapsedMs))} requests/s)`,
    `  by status:\n${table(s.byStatus)}`,
    `  by error type:\n${table(s.byErrorType)}`,
    `  by transport:\n${table(s.byTransport)}`,
    `  by family:\n${table(s.byFamily)}`,
    `  by operation:\n${ops}`,
    `  store written after a rejected request or a read (content compared): ${s.storeWrites}; store size at the end: ${(s.storeBytes / 1048576).toFixed(1)} MiB`,
    `  health checks: ${s.healthChecks}, registry-vs-store checks: ${s.registryChecks}, requests resent after a kept-alive connection was reset: ${s.resent}`,
    `  failures: ${s.failures.length}${s.failures.length ? `\n${table(failureKinds)}` : ''}`,
    `  known issues (owned elsewhere): ${s.known.length}${s.known.length ? `\n${table(knownKinds)}` : ''}`,
  ];
  const show = (list: Failure[], title: string) => {
    if (!list.length) return;
    lines.push(`  ${title}:`);
    const seen = new Set<string>();
    for (const f of list) {
      const key = `${f.kind} ${f.detail.slice(0, 60)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      lines.push(`    #${f.index} ${f.kind}: ${f.detail}\n      request: ${f.request}${f.response ? `\n      response: ${f.response}` : ''}`);
      if (seen.size >= 15) break;
    }
  };
  show(s.failures, 'first failures (one per kind and detail)');
  show(s.known, 'known issues (one per kind and detail)');
  return lines.join('\n');
}
