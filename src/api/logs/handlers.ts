// The CloudWatch Logs API (awsJson 1.1, `X-Amz-Target: Logs_20140328.<Op>`, SigV4 name `logs`)
// over job output: GetLogEvents, FilterLogEvents, DescribeLogGroups, DescribeLogStreams,
// PutRetentionPolicy, DeleteRetentionPolicy. Wire concerns only: checks, tokens, shapes and
// CloudWatch's errors; the events come from a LogsBackend (src/server/logs.ts).
//
// Tokens are opaque to clients but stable: GetLogEvents' `f/<offset>/s` and `b/<offset>/s` are
// byte positions in the stream (as CloudWatch's `f/...`/`b/...` are positions), so the same token
// always continues at the same place; at the end of a stream nextForwardToken comes back equal to
// the token passed in, which is how the AWS CLI and the SDKs' paginators know to stop. The other
// operations' nextTokens are the position after the last item returned, base64url JSON.

import type { Arns } from '../../core/arn.js';
import { parseFilterPattern, type LogFilter } from '../../core/log-filter.js';
import { accessDenied } from '../auth/errors.js';
import { awsJsonError, type AwsJsonContext, type AwsJsonService } from '../aws-json.js';

export interface LogEventView {
  offset: number;
  end: number;
  timestamp: number;
  ingestionTime: number;
  message: string;
}

export interface LogStreamView {
  logStreamName: string;
  creationTime: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  storedBytes: number;
}

export interface LogGroupView {
  logGroupName: string;
  creationTime: number;
  retentionInDays?: number;
  storedBytes: number;
}

export interface ReadOptions {
  limit: number;
  maxBytes?: number;
  startTime?: number;
  endTime?: number;
  match?: LogFilter;
  maxScanBytes?: number;
}

/** What the Logs API reads from (src/server/logs.ts's LogArchive). */
export interface LogsBackend {
  groupExists(group: string): boolean;
  listGroups(): LogGroupView[];
  /** The group's stream names in order; undefined when the group does not exist. */
  listStreamNames(group: string, prefix?: string): string[] | undefined;
  streamInfo(group: string, stream: string): LogStreamView | undefined;
  streamExists(group: string, stream: string): boolean;
  readStream(
    group: string,
    stream: string,
    direction: 'forward' | 'backward',
    from: number | undefined,
    opts: ReadOptions,
  ): { events: LogEventView[]; forward: number; backward: number; scan?: { to: number; timestamp: number; truncated: boolean } } | 'invalid-position' | undefined;
  putRetentionPolicy(group: string, days: number): void;
  deleteRetentionPolicy(group: string): void;
}

const CODE = 'InvalidParameterException';
const MAX_RESPONSE_BYTES = 1024 * 1024;
const MAX_EVENTS = 10_000;
/** Bytes of log FilterLogEvents scans per call at most; then it answers what it found and a nextToken. */
const MAX_SCAN_BYTES = 64 * 1024 * 1024;
/** CloudWatch's allowed retention periods, in days. */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const GROUP_NAME_RE = /^[.\-_/#A-Za-z0-9]+$/;
const STREAM_NAME_RE = /^[^:*]*$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const groupNotFound = () => awsJsonError('ResourceNotFoundException', 'The specified log group does not exist.');
const streamNotFound = () => awsJsonError('ResourceNotFoundException', 'The specified log stream does not exist.');
const badToken = () => awsJsonError(CODE, 'The specified nextToken is invalid.');

/** AWS's validation message shape: `1 validation error detected: Value '...' at 'field' failed to satisfy constraint: ...`. */
function constraint(field: string, value: unknown, rule: string): Error {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return awsJsonError(CODE, `1 validation error detected: Value '${String(shown).slice(0, 200)}' at '${field}' failed to satisfy constraint: ${rule}`);
}

function str(input: Record<string, unknown>, field: string, opts: { min?: number; max?: number; pattern?: RegExp; required?: boolean } = {}): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (opts.required) throw awsJsonError(CODE, `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string') throw awsJsonError(CODE, `Invalid type for ${field}: expected a string`);
  if (LONE_SURROGATE.test(v)) throw awsJsonError(CODE, `${field} is not valid Unicode (it has an unpaired surrogate)`);
  if (opts.min !== undefined && v.length < opts.min) throw constraint(field, v, `Member must have length greater than or equal to ${opts.min}`);
  if (opts.max !== undefined && v.length > opts.max) throw constraint(field, v, `Member must have length less than or equal to ${opts.max}`);
  if (opts.pattern && !opts.pattern.test(v)) throw constraint(field, v, `Member must satisfy regular expression pattern: ${opts.pattern.source.replace(/^\^|\$$/g, '')}`);
  return v;
}

function int(input: Record<string, unknown>, field: string, opts: { min?: number; max?: number; required?: boolean } = {}): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (opts.required) throw awsJsonError(CODE, `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw awsJsonError(CODE, `Invalid type for ${field}: expected an integer`);
  if (opts.min !== undefined && v < opts.min) throw constraint(field, v, `Member must have value greater than or equal to ${opts.min}`);
  if (opts.max !== undefined && v > opts.max) throw constraint(field, v, `Member must have value less than or equal to ${opts.max}`);
  return v;
}

function bool(input: Record<string, unknown>, field: string): boolean | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw awsJsonError(CODE, `Invalid type for ${field}: expected a boolean`);
  return v;
}

function groupName(input: Record<string, unknown>, field = 'logGroupName'): string | undefined {
  return str(input, field, { min: 1, max: 512, pattern: GROUP_NAME_RE });
}

/** logGroupName or logGroupIdentifier (a name or a log group ARN), exactly one. */
function groupOf(input: Record<string, unknown>, required = true): string | undefined {
  const name = groupName(input);
  const id = str(input, 'logGroupIdentifier', { min: 1, max: 2048 });
  if (name !== undefined && id !== undefined) throw awsJsonError(CODE, 'LogGroup name and LogGroup ARN are mutually exclusive parameters.');
  if (id !== undefined) {
    const m = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(?::\*)?$/.exec(id);
    const g = m ? m[1] : id;
    if (!GROUP_NAME_RE.test(g) || g.length > 512) throw constraint('logGroupIdentifier', id, 'Member must be a log group name or ARN');
    return g;
  }
  if (name === undefined && required) throw awsJsonError(CODE, 'Either logGroupName or logGroupIdentifier must be specified.');
  return name;
}

// ----- tokens

function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeToken<T>(token: string, check: (v: unknown) => v is T): T {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (check(v)) return v;
  } catch {
    // fall through
  }
  throw badToken();
}

export function streamToken(direction: 'f' | 'b', offset: number): string {
  return `${direction}/${String(offset).padStart(20, '0')}/s`;
}

export function parseStreamToken(token: string): { direction: 'forward' | 'backward'; offset: number } | undefined {
  const m = /^([fb])\/(\d{1,20})\/s$/.exec(token);
  if (!m) return undefined;
  const offset = Number(m[2]);
  if (!Number.isSafeInteger(offset)) return undefined;
  return { direction: m[1] === 'f' ? 'forward' : 'backward', offset };
}

function eventId(stream: string, offset: number): string {
  // CloudWatch's are 56 digits; ours: a hash of the stream and the event's offset, digits only.
  let h = 0;
  for (let i = 0; i < stream.length; i++) h = (h * 31 + stream.charCodeAt(i)) >>> 0;
  return `${String(h).padStart(10, '0')}${String(offset).padStart(20, '0')}`;
}

/** FilterLogEvents' position: the last event considered (time t, stream s) and where s resumes (byte r). */
type FilterPos = { t: number; s: string; r: number };
const isFilterPos = (v: unknown): v is FilterPos =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as FilterPos).t) &&
  typeof (v as FilterPos).s === 'string' &&
  Number.isSafeInteger((v as FilterPos).r) &&
  (v as FilterPos).r >= 0;
type NamePos = { n: string; k?: number };
const isNamePos = (v: unknown): v is NamePos => typeof v === 'object' && v !== null && typeof (v as NamePos).n === 'string' && ((v as NamePos).k === undefined || typeof (v as NamePos).k === 'number');

// ----- the service

/** `maxScanBytes`: FilterLogEvents' scan budget per call (tests make it small). */
export function logsService(backend: LogsBackend, arns: Arns, opts: { maxScanBytes?: number } = {}): AwsJsonService {
  const { partition, region, accountId } = arns.ctx;
  const groupArn = (g: string) => `arn:${partition}:logs:${region}:${accountId}:log-group:${g}`;

  const requireGroup = (g: string) => {
    if (!backend.groupExists(g)) throw groupNotFound();
  };
  /** A group's retention affects every queue's jobs: a key limited to some job queues may not change it. */
  const checkGroupWrite = (ctx: AwsJsonContext, action: string, group: string) => {
    const p = ctx.principal;
    if (p?.key.jobQueues) {
      throw accessDenied(`User: ${p.accessKeyId} is not authorized to perform: logs:${action} on resource: ${groupArn(group)} (access key ${p.accessKeyId} may use only job queues: ${p.key.jobQueues.join(', ')}; log groups hold every queue's output)`);
    }
  };

  return {
    targetPrefix: 'Logs_20140328',
    signingName: 'logs',
    jsonVersion: '1.1',
    validationErrorCode: CODE,
    handlers: {
      async GetLogEvents(input) {
        const group = groupOf(input)!;
        const stream = str(input, 'logStreamName', { required: true, min: 1, max: 512, pattern: STREAM_NAME_RE })!;
        const startTime = int(input, 'startTime', { min: 0 });
        const endTime = int(input, 'endTime', { min: 0 });
        const token = str(input, 'nextToken', { min: 1 });
        const limit = int(input, 'limit', { min: 1, max: MAX_EVENTS });
        const startFromHead = bool(input, 'startFromHead');
        bool(input, 'unmask');
        let direction: 'forward' | 'backward' = startFromHead ? 'forward' : 'backward';
        let from: number | undefined;
        if (token !== undefined) {
          const t = parseStreamToken(token);
          if (!t) throw badToken();
          // The token says which way (as CloudWatch's f/ and b/ tokens do).
          direction = t.direction;
          from = t.offset;
        }
        requireGroup(group);
        const read = backend.readStream(group, stream, direction, from, { limit: limit ?? MAX_EVENTS, maxBytes: MAX_RESPONSE_BYTES, startTime, endTime });
        if (!read) throw streamNotFound();
        if (read === 'invalid-position') throw badToken();
        return {
          events: read.events.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
          nextForwardToken: streamToken('f', read.forward),
          nextBackwardToken: streamToken('b', read.backward),
        };
      },

      async FilterLogEvents(input) {
        const group = groupOf(input)!;
        const names = input.logStreamNames;
        let streamNames: string[] | undefined;
        if (names !== undefined && names !== null) {
          if (!Array.isArray(names)) throw awsJsonError(CODE, 'Invalid type for logStreamNames: expected a list of strings');
          if (names.length < 1 || names.length > 100) throw constraint('logStreamNames', names.length, 'Member must have length between 1 and 100');
          for (const [i, n] of names.entries()) {
            if (typeof n !== 'string') throw awsJsonError(CODE, `Invalid type for logStreamNames[${i}]: expected a string`);
            if (LONE_SURROGATE.test(n)) throw awsJsonError(CODE, `logStreamNames[${i}] is not valid Unicode (it has an unpaired surrogate)`);
            if (n.length < 1 || n.length > 512 || !STREAM_NAME_RE.test(n)) throw constraint(`logStreamNames.${i + 1}.member`, n, 'Member must have length between 1 and 512 and contain no : or *');
          }
          streamNames = names as string[];
        }
        const prefix = str(input, 'logStreamNamePrefix', { min: 1, max: 512, pattern: STREAM_NAME_RE });
        if (streamNames && prefix !== undefined) throw awsJsonError(CODE, 'logStreamNames and logStreamNamePrefix are mutually exclusive parameters.');
        const startTime = int(input, 'startTime', { min: 0 });
        const endTime = int(input, 'endTime', { min: 0 });
        const pattern = str(input, 'filterPattern', { max: 1024 });
        const token = str(input, 'nextToken', { min: 1 });
        const limit = int(input, 'limit', { min: 1, max: MAX_EVENTS }) ?? MAX_EVENTS;
        bool(input, 'interleaved');
        bool(input, 'unmask');
        let match: LogFilter | undefined;
        if (pattern !== undefined && pattern.trim() !== '') {
          try {
            match = parseFilterPattern(pattern);
          } catch (e) {
            throw awsJsonError(CODE, `Invalid filterPattern: ${(e as Error).message}`);
          }
        }
        const after = token !== undefined ? decodeToken(token, isFilterPos) : undefined;
        requireGroup(group);
        const streams = (streamNames ? [...new Set(streamNames)].sort() : (backend.listStreamNames(group, prefix ?? '') ?? [])).filter(
          (s) => backend.streamExists(group, s),
        );
        if (streamNames && streamNames.length > 0 && streams.length === 0) throw streamNotFound();
        // Merge the streams' events by (timestamp, stream, offset). A token holds the last event
        // considered (t, s) and where its stream resumes (r): streams before s in name order go on
        // after time t, streams after it from time t, and s itself from byte r.
        // Scanning is bounded per call (a rare term in a huge log): a stream whose scan ran out is
        // "pending" at a position, and the page ends there with a token that resumes it.
        type Head = { stream: string; events: LogEventView[]; i: number; more: boolean; next: number; startTime?: number; pending?: { offset: number; timestamp: number } };
        // Each stream is read in small batches: a group of thousands of streams is merged without
        // holding much of any of them.
        const perStream = Math.min(limit, 200);
        let budget = opts.maxScanBytes ?? MAX_SCAN_BYTES;
        const peek = (h: Head): LogEventView | { pending: { offset: number; timestamp: number } } | undefined => {
          while (h.i >= h.events.length) {
            if (h.pending) return { pending: h.pending };
            if (!h.more) return undefined;
            const from = h.next;
            const r = backend.readStream(group, h.stream, 'forward', from, { limit: perStream, maxBytes: 256 * 1024, startTime: h.startTime, endTime, match, maxScanBytes: Math.max(0, budget) });
            if (r === 'invalid-position') throw badToken();
            h.events = r?.events ?? [];
            h.i = 0;
            h.more = h.events.length > 0;
            h.next = r?.forward ?? from;
            if (r?.scan) {
              budget -= Math.max(0, r.scan.to - from);
              if (r.scan.truncated) h.pending = { offset: r.scan.to, timestamp: r.scan.timestamp };
            }
          }
          return h.events[h.i];
        };
        const heads: Head[] = streams.map((stream) => {
          const h: Head = { stream, events: [], i: 0, more: true, next: 0, startTime };
          if (after) {
            if (stream < after.s) h.startTime = Math.max(startTime ?? 0, after.t + 1);
            else if (stream > after.s) h.startTime = Math.max(startTime ?? 0, after.t);
            else h.next = after.r;
          }
          return h;
        });
        // The token's stream reads first: it gets the scan budget, so every call makes progress.
        const readOrder = after ? [...heads.filter((h) => h.stream === after.s), ...heads.filter((h) => h.stream !== after.s)] : heads;
        const out: { logStreamName: string; timestamp: number; message: string; ingestionTime: number; eventId: string }[] = [];
        let bytes = 0;
        let last: FilterPos | undefined = after;
        let exhausted = false;
        while (out.length < limit) {
          let best: Head | undefined;
          let bestKey: { timestamp: number } | undefined;
          for (const h of readOrder) {
            const e = peek(h);
            if (!e) continue;
            const key = 'pending' in e ? e.pending : e;
            if (!bestKey || key.timestamp < bestKey.timestamp || (key.timestamp === bestKey.timestamp && h.stream < best!.stream)) {
              best = h;
              bestKey = key;
            }
          }
          if (!best) {
            exhausted = true;
            break;
          }
          if (best.i >= best.events.length && best.pending) {
            // The next candidate is a stream not yet scanned through: stop; the token resumes it.
            last = { t: best.pending.timestamp, s: best.stream, r: best.pending.offset };
            break;
          }
          const e = best.events[best.i++];
          const size = Buffer.byteLength(e.message) + 26;
          if (out.length > 0 && bytes + size > MAX_RESPONSE_BYTES) break;
          bytes += size;
          out.push({ logStreamName: best.stream, timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime, eventId: eventId(best.stream, e.offset) });
          last = { t: e.timestamp, s: best.stream, r: e.end };
        }
        const result: Record<string, unknown> = {
          events: out,
          searchedLogStreams: streams.map((s) => ({ logStreamName: s, searchedCompletely: exhausted })),
        };
        if (!exhausted) result.nextToken = encodeToken(last ?? after);
        return result;
      },

      async DescribeLogGroups(input) {
        const prefix = groupName(input, 'logGroupNamePrefix');
        const pattern = str(input, 'logGroupNamePattern', { min: 0, max: 512, pattern: /^[.\-_/#A-Za-z0-9]*$/ });
        if (prefix !== undefined && pattern !== undefined) throw awsJsonError(CODE, 'logGroupNamePrefix and logGroupNamePattern are mutually exclusive parameters.');
        const limit = int(input, 'limit', { min: 1, max: 50 }) ?? 50;
        const token = str(input, 'nextToken', { min: 1 });
        const groupClass = str(input, 'logGroupClass');
        if (groupClass !== undefined && !['STANDARD', 'INFREQUENT_ACCESS', 'DELIVERY'].includes(groupClass)) {
          throw constraint('logGroupClass', groupClass, 'Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]');
        }
        bool(input, 'includeLinkedAccounts');
        const after = token !== undefined ? decodeToken(token, isNamePos).n : undefined;
        let groups = backend.listGroups();
        if (prefix !== undefined) groups = groups.filter((g) => g.logGroupName.startsWith(prefix));
        if (pattern) groups = groups.filter((g) => g.logGroupName.toLowerCase().includes(pattern.toLowerCase()));
        if (groupClass !== undefined && groupClass !== 'STANDARD') groups = [];
        if (after !== undefined) groups = groups.filter((g) => g.logGroupName > after);
        const page = groups.slice(0, limit);
        return {
          logGroups: page.map((g) => ({
            logGroupName: g.logGroupName,
            creationTime: g.creationTime,
            ...(g.retentionInDays !== undefined ? { retentionInDays: g.retentionInDays } : {}),
            metricFilterCount: 0,
            arn: `${groupArn(g.logGroupName)}:*`,
            storedBytes: g.storedBytes,
            logGroupClass: 'STANDARD',
            logGroupArn: groupArn(g.logGroupName),
          })),
          ...(groups.length > limit ? { nextToken: encodeToken({ n: page[page.length - 1].logGroupName }) } : {}),
        };
      },

      async DescribeLogStreams(input) {
        const group = groupOf(input)!;
        const prefix = str(input, 'logStreamNamePrefix', { min: 1, max: 512, pattern: STREAM_NAME_RE });
        const orderBy = str(input, 'orderBy');
        if (orderBy !== undefined && orderBy !== 'LogStreamName' && orderBy !== 'LastEventTime') {
          throw constraint('orderBy', orderBy, 'Member must satisfy enum value set: [LogStreamName, LastEventTime]');
        }
        if (orderBy === 'LastEventTime' && prefix !== undefined) throw awsJsonError(CODE, 'Cannot order by LastEventTime with a logStreamNamePrefix.');
        const descending = bool(input, 'descending') ?? false;
        const limit = int(input, 'limit', { min: 1, max: 50 }) ?? 50;
        const token = str(input, 'nextToken', { min: 1 });
        const after = token !== undefined ? decodeToken(token, isNamePos) : undefined;
        requireGroup(group);
        const names = backend.listStreamNames(group, prefix ?? '');
        if (!names) throw groupNotFound();
        const byTime = orderBy === 'LastEventTime';
        const cmp = (a: { k: number; n: string }, b: { k: number; n: string }) => (a.k !== b.k ? a.k - b.k : a.n < b.n ? -1 : a.n > b.n ? 1 : 0);
        const sign = descending ? -1 : 1;
        const info = (n: string) => backend.streamInfo(group, n);
        let page: { s: LogStreamView; k: number; n: string }[];
        let more: boolean;
        if (byTime) {
          // Every stream's last event is needed to order them. Streams without events sort first
          // (as in CloudWatch, where they have no lastEventTimestamp).
          const all = names.flatMap((n) => {
            const s = info(n);
            return s ? [{ s, k: s.lastEventTimestamp ?? 0, n }] : [];
          });
          all.sort((a, b) => sign * cmp(a, b));
          const rest = after ? all.filter((x) => sign * cmp(x, { k: after.k ?? 0, n: after.n }) > 0) : all;
          page = rest.slice(0, limit);
          more = rest.length > limit;
        } else {
          // By name: only the page's streams are looked at (a group of 10,000 array children).
          const ordered = descending ? [...names].reverse() : names;
          const rest = after ? ordered.filter((n) => sign * cmp({ k: 0, n }, { k: 0, n: after.n }) > 0) : ordered;
          page = [];
          let i = 0;
          for (; i < rest.length && page.length < limit; i++) {
            const s = info(rest[i]);
            if (s) page.push({ s, k: 0, n: rest[i] });
          }
          more = i < rest.length;
        }
        return {
          logStreams: page.map(({ s }) => ({
            logStreamName: s.logStreamName,
            creationTime: s.creationTime,
            ...(s.firstEventTimestamp !== undefined ? { firstEventTimestamp: s.firstEventTimestamp } : {}),
            ...(s.lastEventTimestamp !== undefined ? { lastEventTimestamp: s.lastEventTimestamp } : {}),
            ...(s.lastIngestionTime !== undefined ? { lastIngestionTime: s.lastIngestionTime } : {}),
            arn: `${groupArn(group)}:log-stream:${s.logStreamName}`,
            storedBytes: s.storedBytes,
          })),
          ...(more && page.length > 0 ? { nextToken: encodeToken({ n: page[page.length - 1].n, k: page[page.length - 1].k }) } : {}),
        };
      },

      async PutRetentionPolicy(input, ctx) {
        const group = str(input, 'logGroupName', { required: true, min: 1, max: 512, pattern: GROUP_NAME_RE })!;
        checkGroupWrite(ctx, 'PutRetentionPolicy', group);
        const days = int(input, 'retentionInDays', { required: true })!;
        if (!RETENTION_DAYS.includes(days)) {
          throw constraint('retentionInDays', days, `Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`);
        }
        requireGroup(group);
        backend.putRetentionPolicy(group, days);
        return {};
      },

      async DeleteRetentionPolicy(input, ctx) {
        const group = str(input, 'logGroupName', { required: true, min: 1, max: 512, pattern: GROUP_NAME_RE })!;
        checkGroupWrite(ctx, 'DeleteRetentionPolicy', group);
        requireGroup(group);
        backend.deleteRetentionPolicy(group);
        return {};
      },
    },
  };
}
