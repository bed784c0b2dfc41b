// Job output as CloudWatch Logs: log groups, log streams and timestamped events over the raw
// files executors write (<dataDir>/logs/<group>/<stream>), with retention.
//
// How lines get timestamps. Jobs write their files directly (output survives a crash of the
// server), so nothing timestamps a line as it is written. This module watches the attempts the job
// runtime reports (its AttemptObserver hook) and, every POLL_MS, stats the files of running
// attempts and indexes the complete lines that appeared since (see src/store/log-index.ts):
// timestamp = when first seen, ingestion time = when indexed. A reader of a running stream
// (GetLogEvents, `openbatch logs --follow`) indexes it on the spot, so a follower sees a line
// as soon as it asks. At an attempt's exit the rest of its file is indexed with the best bound
// there is: the file's mtime, clamped to the attempt's start and stop. A stream nobody indexed
// (written while the server was down, or before indexes existed) is indexed the same way when
// first read. Lines never seen live thus still get a timestamp within the attempt's run.
//
// Cost: one stat per running attempt per poll, one stat at exit; an empty file (most array
// children) never gets an index, and nothing here touches the database. No per-file watchers:
// thousands of attempts are one timer.

import fs from 'node:fs';
import path from 'node:path';
import type { AttemptEvent, AttemptSpec } from '../executors/executor.js';
import { encodeLogName, logFilePath } from '../store/log-files.js';
import {
  appendIndexFile,
  chunkAt,
  chunkRecord,
  completeLines,
  EMPTY_INDEX,
  logIndexPath,
  parseIndex,
  readBackward,
  readForward,
  readIndexFile,
  startRecord,
  stopRecord,
  type LogEvent,
  type ReadOptions,
  type StreamIndex,
} from '../store/log-index.js';
import type { AttemptObserver, Logger } from './job-runtime.js';

/** How often running attempts' files are looked at. */
export const POLL_MS = 400;
/** How often streams past their retention are deleted. */
const RETENTION_SWEEP_MS = 10 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface LogGroupInfo {
  logGroupName: string;
  creationTime: number;
  retentionInDays?: number;
  storedBytes: number;
}

export interface LogStreamInfo {
  logStreamName: string;
  creationTime: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  storedBytes: number;
}

export interface LogArchiveOptions {
  dataDir: string;
  now: () => number;
  log: Logger;
  /** Retention of groups without a policy of their own; undefined: never expire (CloudWatch's default). */
  defaultRetentionDays?: number;
  pollMs?: number;
}

/** A running (or just exited) attempt's stream. */
interface LiveStream {
  key: string;
  group: string;
  stream: string;
  file: string;
  indexFile: string;
  startedAt?: number;
  stoppedAt?: number;
  /** Bytes indexed so far and the last chunk's timestamp; loaded from the index on first need. */
  indexedEnd: number;
  lastTimestamp: number;
  loaded: boolean;
  torn?: boolean;
}

export type StreamRead = {
  events: LogEvent[];
  forward: number;
  backward: number;
  /** Forward reads: how far they scanned, the time there, and whether maxScanBytes cut the scan short. */
  scan?: { to: number; timestamp: number; truncated: boolean };
};

export class LogArchive implements AttemptObserver {
  private readonly logsDir: string;
  private readonly groupsFile: string;
  private readonly live = new Map<string, LiveStream>();
  private readonly liveByFile = new Map<string, LiveStream>();
  private readonly exited = new Set<LiveStream>();
  private exitScheduled = false;
  private timer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private groups: Record<string, { retentionInDays?: number }>;
  /** Parsed indexes by index file, kept while the index file's size is unchanged. */
  private readonly indexCache = new Map<string, { size: number; index: StreamIndex }>();

  constructor(private readonly opts: LogArchiveOptions) {
    this.logsDir = path.join(opts.dataDir, 'logs');
    this.groupsFile = path.join(opts.dataDir, 'log-groups.json');
    this.groups = this.loadGroups();
  }

  /** Starts the poll of running attempts and the retention sweep. */
  start(): void {
    this.timer = setInterval(() => this.poll(), this.opts.pollMs ?? POLL_MS);
    this.timer.unref();
    this.sweepTimer = setInterval(() => this.sweepSafely(), RETENTION_SWEEP_MS);
    this.sweepTimer.unref();
    setImmediate(() => this.sweepSafely());
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.flushExited();
  }

  /** Streams indexed live now (running attempts, and exits not yet indexed). */
  get liveStreams(): number {
    return this.live.size;
  }

  // ----- AttemptObserver: which attempts run

  attemptStarted(spec: AttemptSpec, startedAt?: number): void {
    const file = logFilePath(this.opts.dataDir, spec.logGroupName, spec.logStreamName);
    const l: LiveStream = {
      key: spec.key,
      group: spec.logGroupName,
      stream: spec.logStreamName,
      file,
      indexFile: logIndexPath(this.opts.dataDir, spec.logGroupName, spec.logStreamName),
      startedAt,
      indexedEnd: 0,
      lastTimestamp: -Infinity,
      loaded: false,
    };
    this.live.set(spec.key, l);
    this.liveByFile.set(file, l);
  }

  attemptEvent(e: AttemptEvent): void {
    const l = this.live.get(e.key);
    if (!l) return;
    if (e.type === 'running') {
      l.startedAt = e.at;
      return;
    }
    l.stoppedAt = e.at;
    this.exited.add(l);
    if (!this.exitScheduled) {
      // Exits come in bursts (arrays): index them together, off the event's call stack.
      this.exitScheduled = true;
      setImmediate(() => this.flushExited());
    }
  }

  private flushExited(): void {
    this.exitScheduled = false;
    for (const l of this.exited) this.ingestSafely(l);
    this.exited.clear();
  }

  private poll(): void {
    for (const l of this.live.values()) this.ingestSafely(l);
  }

  private ingestSafely(l: LiveStream): void {
    try {
      this.ingest(l);
    } catch (e) {
      this.opts.log.warn({ err: e, logStream: l.stream }, 'indexing a log stream failed; retried at the next poll');
    }
  }

  private forget(l: LiveStream): void {
    if (this.live.get(l.key) === l) this.live.delete(l.key);
    if (this.liveByFile.get(l.file) === l) this.liveByFile.delete(l.file);
    this.exited.delete(l);
  }

  /**
   * Indexes what a live stream's file gained: complete lines while the attempt runs; everything,
   * and the stop record, once it exited (then the stream is no longer live).
   */
  private ingest(l: LiveStream): void {
    const final = l.stoppedAt !== undefined;
    let st: fs.Stats;
    try {
      st = fs.statSync(l.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (final) this.forget(l); // never wrote a byte (or never started)
      return;
    }
    if (st.size === 0 && !l.loaded) {
      // The common case of a quiet job: no index at all.
      if (final) this.forget(l);
      return;
    }
    if (!l.loaded) {
      const idx = readIndexFile(l.indexFile) ?? EMPTY_INDEX;
      l.indexedEnd = idx.indexedEnd;
      l.lastTimestamp = idx.chunks.length > 0 ? idx.chunks[idx.chunks.length - 1].timestamp : -Infinity;
      l.loaded = true;
      l.torn = idx.torn ?? false;
    }
    const now = this.opts.now();
    let records = '';
    if (st.size > l.indexedEnd) {
      if (final) {
        const ts = Math.max(l.lastTimestamp, clamp(st.mtimeMs, l.startedAt, l.stoppedAt));
        records += chunkRecord(st.size, ts, Math.max(now, ts));
        l.indexedEnd = st.size;
        l.lastTimestamp = ts;
      } else {
        const end = l.indexedEnd + lastLineEnd(l.file, l.indexedEnd, st.size);
        if (end > l.indexedEnd) {
          // Not before the attempt's start (the executor's clock stamps the start a moment late).
          const ts = Math.max(l.lastTimestamp, now, l.startedAt ?? -Infinity);
          records += chunkRecord(end, ts, ts);
          l.indexedEnd = end;
          l.lastTimestamp = ts;
        }
      }
    }
    if (final) records += (l.startedAt !== undefined ? startRecord(l.startedAt) : '') + stopRecord(l.stoppedAt!);
    if (records) {
      // After a crash mid-append the index ends in a torn record: start on a new line.
      appendIndexFile(l.indexFile, (l.torn ? '\n' : '') + records);
      l.torn = false;
    }
    if (final) this.forget(l);
  }

  /** A stream nobody is indexing: index what is left, as a finished attempt's (its mtime). */
  private settle(group: string, stream: string, file: string, st: fs.Stats): StreamIndex {
    const indexFile = logIndexPath(this.opts.dataDir, group, stream);
    const index = this.cachedIndex(indexFile);
    if (st.size <= index.indexedEnd && index.stoppedAt !== undefined) return index;
    if (st.size === 0) return index;
    const last = index.chunks.length > 0 ? index.chunks[index.chunks.length - 1].timestamp : -Infinity;
    // Bytes after the stop record (an executor that copies output, flushing after the exit) still
    // belong to the attempt: not later than its stop.
    const ts = Math.max(last, index.stoppedAt !== undefined ? Math.min(st.mtimeMs, index.stoppedAt) : st.mtimeMs);
    let records = '';
    if (st.size > index.indexedEnd) records += chunkRecord(st.size, ts, Math.max(this.opts.now(), ts));
    if (index.stoppedAt === undefined) records += stopRecord(ts);
    appendIndexFile(indexFile, (index.torn ? '\n' : '') + records);
    return this.cachedIndex(indexFile);
  }

  /** The parsed index, from the cache; an index file that grew is parsed from where the cache left off. */
  private cachedIndex(indexFile: string): StreamIndex {
    let size: number;
    try {
      size = fs.statSync(indexFile).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_INDEX;
      throw e;
    }
    const hit = this.indexCache.get(indexFile);
    if (hit && hit.size === size) return hit.index;
    if (hit && size > hit.size && !hit.index.torn) {
      // A long-running attempt's index grows by a record per poll: parse only what was appended.
      const added = readBytes(indexFile, hit.size, size);
      const whole = added.lastIndexOf(10) + 1;
      if (whole > 0) parseIndex(added.toString('utf8', 0, whole), hit.index);
      hit.index.torn = false;
      hit.size += whole;
      return hit.index;
    }
    const index = readIndexFile(indexFile);
    if (!index) return EMPTY_INDEX;
    if (this.indexCache.size > 50_000) this.indexCache.clear();
    this.indexCache.set(indexFile, { size, index });
    return index;
  }

  /** The stream's index, up to date: a live stream is indexed now (a follower sees its latest lines). */
  private currentIndex(group: string, stream: string): { index: StreamIndex; file: string; size: number } | undefined {
    // `.` and `..` would name a directory, not a stream (encodeURIComponent keeps them).
    if (isDotName(group) || isDotName(stream)) return undefined;
    const file = logFilePath(this.opts.dataDir, group, stream);
    const l = this.liveByFile.get(file);
    if (l) this.ingest(l);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      // No such file; or a name no file can have (too long once encoded): no such stream.
      if (['ENOENT', 'ENOTDIR', 'ENAMETOOLONG'].includes((e as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw e;
    }
    if (!st.isFile()) return undefined;
    const index = this.liveByFile.has(file) ? this.cachedIndex(logIndexPath(this.opts.dataDir, group, stream)) : this.settle(group, stream, file, st);
    return { index, file, size: st.size };
  }

  // ----- groups

  private loadGroups(): Record<string, { retentionInDays?: number }> {
    try {
      const v = JSON.parse(fs.readFileSync(this.groupsFile, 'utf8')) as { groups?: Record<string, { retentionInDays?: number }> };
      return v.groups && typeof v.groups === 'object' ? v.groups : {};
    } catch {
      return {};
    }
  }

  private saveGroups(): void {
    const tmp = `${this.groupsFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ groups: this.groups }, null, 1));
    fs.renameSync(tmp, this.groupsFile);
  }

  private groupDir(group: string): string {
    return path.join(this.logsDir, encodeLogName(group));
  }

  groupExists(group: string): boolean {
    if (isDotName(group)) return false;
    try {
      return fs.statSync(this.groupDir(group)).isDirectory();
    } catch {
      return false;
    }
  }

  retentionDays(group: string): number | undefined {
    return this.groups[group]?.retentionInDays ?? this.opts.defaultRetentionDays;
  }

  /** Events before this are past the group's retention (hidden, then deleted by the sweep). */
  private cutoff(group: string): number | undefined {
    const days = this.retentionDays(group);
    return days === undefined ? undefined : this.opts.now() - days * DAY_MS;
  }

  putRetentionPolicy(group: string, days: number): void {
    this.groups[group] = { ...this.groups[group], retentionInDays: days };
    this.saveGroups();
  }

  deleteRetentionPolicy(group: string): void {
    if (this.groups[group]) {
      delete this.groups[group].retentionInDays;
      if (Object.keys(this.groups[group]).length === 0) delete this.groups[group];
      this.saveGroups();
    }
  }

  /** Every log group, by name. */
  listGroups(): LogGroupInfo[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.logsDir);
    } catch {
      return [];
    }
    const out: LogGroupInfo[] = [];
    for (const enc of names) {
      const name = decode(enc);
      if (name === undefined || encodeLogName(name) !== enc) continue;
      let st: fs.Stats;
      try {
        st = fs.statSync(path.join(this.logsDir, enc));
      } catch {
        continue;
      }
      if (!st.isDirectory()) continue;
      const retentionInDays = this.retentionDays(name);
      out.push({ logGroupName: name, creationTime: Math.round(st.birthtimeMs || st.mtimeMs), storedBytes: this.storedBytes(name), ...(retentionInDays !== undefined ? { retentionInDays } : {}) });
    }
    return out.sort((a, b) => (a.logGroupName < b.logGroupName ? -1 : a.logGroupName > b.logGroupName ? 1 : 0));
  }

  private storedBytes(group: string): number {
    let total = 0;
    for (const enc of this.streamFiles(group)) {
      try {
        total += fs.statSync(path.join(this.groupDir(group), enc)).size;
      } catch {
        // deleted meanwhile
      }
    }
    return total;
  }

  private streamFiles(group: string): string[] {
    try {
      return fs.readdirSync(this.groupDir(group));
    } catch {
      return [];
    }
  }

  // ----- streams

  /** The group's stream names, sorted; undefined when the group does not exist. */
  listStreamNames(group: string, prefix = ''): string[] | undefined {
    if (!this.groupExists(group)) return undefined;
    const out: string[] = [];
    for (const enc of this.streamFiles(group)) {
      const name = decode(enc);
      if (name === undefined || encodeLogName(name) !== enc || !name.startsWith(prefix)) continue;
      out.push(name);
    }
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  streamInfo(group: string, stream: string): LogStreamInfo | undefined {
    const file = logFilePath(this.opts.dataDir, group, stream);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    const created = Math.round(st.birthtimeMs || st.mtimeMs);
    const info: LogStreamInfo = { logStreamName: stream, creationTime: created, storedBytes: st.size };
    if (st.size === 0) return info;
    const { index } = this.currentIndex(group, stream) ?? { index: EMPTY_INDEX };
    const cutoff = this.cutoff(group) ?? -Infinity;
    const visible = index.chunks.filter((c) => c.timestamp >= cutoff && c.end > c.start);
    if (visible.length > 0) {
      info.firstEventTimestamp = visible[0].timestamp;
      info.lastEventTimestamp = visible[visible.length - 1].timestamp;
      info.lastIngestionTime = visible.reduce((m, c) => Math.max(m, c.ingestionTime), -Infinity);
      info.creationTime = Math.min(created, visible[0].timestamp);
    }
    return info;
  }

  streamExists(group: string, stream: string): boolean {
    if (isDotName(group) || isDotName(stream)) return false;
    try {
      return fs.statSync(logFilePath(this.opts.dataDir, group, stream)).isFile();
    } catch {
      return false;
    }
  }

  /** The start of the events `limit` back from the end, for a reader that starts from the tail. */
  private withRetention(group: string, opts: ReadOptions): ReadOptions {
    const cutoff = this.cutoff(group);
    if (cutoff === undefined) return opts;
    return { ...opts, startTime: Math.max(opts.startTime ?? -Infinity, cutoff) };
  }

  /**
   * Events of a stream from position `from` forward, or (direction 'backward') the last ones
   * before `from` (undefined: the end). Positions are byte offsets; `forward` and `backward`
   * are where the next reads in each direction start. Undefined when the stream does not exist.
   */
  readStream(group: string, stream: string, direction: 'forward' | 'backward', from: number | undefined, opts: ReadOptions): StreamRead | 'invalid-position' | undefined {
    const cur = this.currentIndex(group, stream);
    if (!cur) return undefined;
    // Positions come from tokens: only the start of a line (or the end of what is indexed) is one.
    if (from !== undefined && from !== 0 && from !== cur.index.indexedEnd && (from > cur.index.indexedEnd || readBytes(cur.file, from - 1, from)[0] !== 10)) return 'invalid-position';
    const o = this.withRetention(group, opts);
    if (direction === 'forward') {
      const start = from ?? 0;
      const r = readForward(cur.file, cur.index, start, o);
      const out: StreamRead = r.events.length > 0 ? { events: r.events, forward: r.next, backward: r.events[0].offset } : { events: [], forward: start, backward: start };
      if (r.scan) {
        const at = chunkAt(cur.index.chunks, r.scan.to);
        const timestamp = at >= 0 ? cur.index.chunks[at].timestamp : (cur.index.chunks[cur.index.chunks.length - 1]?.timestamp ?? 0);
        out.scan = { ...r.scan, timestamp };
      }
      return out;
    }
    const before = Math.min(from ?? cur.index.indexedEnd, cur.index.indexedEnd);
    const r = readBackward(cur.file, cur.index, before, o);
    return r.events.length > 0
      ? { events: r.events, forward: r.events[r.events.length - 1].end, backward: r.first }
      : { events: [], forward: from ?? before, backward: from ?? before };
  }

  // ----- retention

  private sweeping = false;

  private sweepSafely(): void {
    if (this.sweeping) return;
    this.sweeping = true;
    this.sweep()
      .then((deleted) => {
        if (deleted > 0) this.opts.log.info({ deleted }, 'deleted log streams past their retention');
      })
      .catch((e) => this.opts.log.warn({ err: e }, 'log retention sweep failed'))
      .finally(() => (this.sweeping = false));
  }

  /**
   * Deletes streams (file and index) whose last event is older than their group's retention;
   * resolves to how many. Yields to the event loop every few hundred streams (a group of many
   * thousands of array children must not stall the API).
   */
  async sweep(): Promise<number> {
    let deleted = 0;
    let seen = 0;
    for (const g of this.listGroups()) {
      const cutoff = this.cutoff(g.logGroupName);
      if (cutoff === undefined) continue;
      for (const enc of this.streamFiles(g.logGroupName)) {
        if (++seen % 500 === 0) await new Promise((r) => setImmediate(r));
        const stream = decode(enc);
        if (stream === undefined) continue;
        const file = logFilePath(this.opts.dataDir, g.logGroupName, stream);
        if (this.liveByFile.has(file)) continue; // a running attempt keeps its stream
        let st: fs.Stats;
        try {
          st = fs.statSync(file);
        } catch {
          continue;
        }
        const index = st.size > 0 ? this.settle(g.logGroupName, stream, file, st) : EMPTY_INDEX;
        const last = index.chunks.length > 0 ? index.chunks[index.chunks.length - 1].timestamp : st.mtimeMs;
        if (last >= cutoff) continue;
        const indexFile = logIndexPath(this.opts.dataDir, g.logGroupName, stream);
        fs.rmSync(file, { force: true });
        fs.rmSync(indexFile, { force: true });
        this.indexCache.delete(indexFile);
        deleted++;
      }
    }
    return deleted;
  }
}

const isDotName = (name: string) => name === '.' || name === '..';

function readBytes(file: string, start: number, end: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(end - start);
    const n = fs.readSync(fd, buf, 0, buf.length, start);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function clamp(t: number, lo: number | undefined, hi: number | undefined): number {
  let v = t;
  if (hi !== undefined) v = Math.min(v, hi);
  if (lo !== undefined) v = Math.max(v, lo);
  return v;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** How many bytes of [from, to) of the file end with a newline: the complete lines (tail read first). */
function lastLineEnd(file: string, from: number, to: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    let hi = to;
    while (hi > from) {
      const lo = Math.max(from, hi - 64 * 1024);
      const buf = Buffer.allocUnsafe(hi - lo);
      const n = fs.readSync(fd, buf, 0, buf.length, lo);
      const got = completeLines(buf.subarray(0, n));
      if (got > 0) return lo + got - from;
      hi = lo;
    }
    return 0;
  } finally {
    fs.closeSync(fd);
  }
}
