// The per-stream index that turns a raw log file into CloudWatch-style events.
//
// The raw file (<dataDir>/logs/<group>/<stream>, written by the job itself) stays the source of
// truth; it has no timestamps. Beside it, in <dataDir>/log-index/<group>/<stream>, an append-only
// text file records which byte ranges were seen when:
//
//   c <end> <timestamp> <ingestionTime>   the bytes from the previous chunk's end up to <end>
//   s <startedAt>                         the attempt's recorded start (no event is earlier)
//   e <stoppedAt>                         the attempt ended; everything it wrote is indexed (and
//                                         no event is stamped later than this)
//
// Every line of the file belongs to exactly one chunk (chunks of a running attempt end at a
// newline; the last chunk after its exit takes whatever is left, a final line without newline
// included), so every event gets its chunk's timestamp. Append-only keeps it crash-safe: a torn
// last record is ignored and that range is indexed again. Timestamps never go down from one chunk
// to the next, so time ranges are found by binary search.
//
// Events are lines without their newline; their position is the byte offset where they start,
// which is what the API's tokens encode.

import fs from 'node:fs';
import path from 'node:path';
import { encodeLogName } from './log-files.js';

export interface IndexChunk {
  start: number;
  end: number;
  timestamp: number;
  ingestionTime: number;
}

export interface StreamIndex {
  chunks: IndexChunk[];
  /** Bytes of the raw file covered by chunks. */
  indexedEnd: number;
  /** Set once the attempt's exit was indexed: the file is not expected to grow. */
  stoppedAt?: number;
  /** The index file ends in a torn record (a crash mid-append): the next append starts a new line. */
  torn?: boolean;
}

export interface LogEvent {
  /** Byte offset of the line in the raw file. */
  offset: number;
  /** Offset just past it (past its newline). */
  end: number;
  timestamp: number;
  ingestionTime: number;
  message: string;
}

export function logIndexPath(dataDir: string, logGroupName: string, logStreamName: string): string {
  return path.join(dataDir, 'log-index', encodeLogName(logGroupName), encodeLogName(logStreamName));
}

export const EMPTY_INDEX: StreamIndex = Object.freeze({ chunks: [], indexedEnd: 0 }) as StreamIndex;

/**
 * Parses an index file's text, or (with `into`) text appended to one already parsed, adding to it.
 * A record that is not well formed (torn by a crash) is skipped: its range joins the next chunk.
 */
export function parseIndex(text: string, into?: StreamIndex): StreamIndex {
  const index: StreamIndex = into ?? { chunks: [], indexedEnd: 0 };
  let lastTs = index.chunks.length > 0 ? index.chunks[index.chunks.length - 1].timestamp : -Infinity;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    if (f[0] === 'c' && f.length === 4) {
      const [e, ts, ing] = [Number(f[1]), Number(f[2]), Number(f[3])];
      if (!Number.isSafeInteger(e) || !Number.isFinite(ts) || !Number.isFinite(ing) || e < index.indexedEnd) continue;
      lastTs = Math.max(ts, lastTs);
      if (e > index.indexedEnd) index.chunks.push({ start: index.indexedEnd, end: e, timestamp: lastTs, ingestionTime: ing });
      index.indexedEnd = e;
    } else if (f[0] === 's' && f.length === 2 && Number.isFinite(Number(f[1]))) {
      // The attempt's recorded start: a line seen before the start was recorded is not earlier.
      const startedAt = Number(f[1]);
      for (const c of index.chunks) {
        if (c.timestamp >= startedAt) break;
        c.timestamp = startedAt;
        c.ingestionTime = Math.max(c.ingestionTime, startedAt);
      }
      lastTs = Math.max(lastTs, index.chunks.length > 0 ? startedAt : lastTs);
    } else if (f[0] === 'e' && f.length === 2 && Number.isFinite(Number(f[1]))) {
      index.stoppedAt = Number(f[1]);
      // A line seen by a poll between the attempt's exit and the server learning of it was
      // stamped a moment after the stop: no event is later than its attempt's stop.
      for (let i = index.chunks.length - 1; i >= 0 && index.chunks[i].timestamp > index.stoppedAt; i--) index.chunks[i].timestamp = index.stoppedAt;
      lastTs = Math.min(lastTs, index.stoppedAt);
    }
  }
  index.torn = text.length > 0 && !text.endsWith('\n');
  return index;
}

export function chunkRecord(end: number, timestamp: number, ingestionTime: number): string {
  return `c ${end} ${Math.round(timestamp)} ${Math.round(ingestionTime)}\n`;
}

export function startRecord(startedAt: number): string {
  return `s ${Math.round(startedAt)}\n`;
}

export function stopRecord(stoppedAt: number): string {
  return `e ${Math.round(stoppedAt)}\n`;
}

/** Reads an index file (undefined when there is none). */
export function readIndexFile(file: string): StreamIndex | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseIndex(text);
}

export function appendIndexFile(file: string, records: string): void {
  try {
    fs.appendFileSync(file, records);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, records);
  }
}

/** The chunk holding byte `offset`, by binary search; -1 when none does. */
export function chunkAt(chunks: readonly IndexChunk[], offset: number): number {
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (chunks[mid].end <= offset) lo = mid + 1;
    else if (chunks[mid].start > offset) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/** The first chunk whose timestamp is at least `t` (chunks.length when none). */
export function firstChunkFrom(chunks: readonly IndexChunk[], t: number): number {
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (chunks[mid].timestamp < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface ReadOptions {
  /** At most this many events. */
  limit: number;
  /** At most about this many bytes of messages (CloudWatch counts 26 bytes per event more); at least one event. */
  maxBytes?: number;
  /** Events with timestamp >= startTime and < endTime. */
  startTime?: number;
  endTime?: number;
  /** Only events whose message matches (the others are skipped, not counted). */
  match?: (message: string) => boolean;
  /** Forward reads: stop after scanning about this many bytes (then `scan.truncated`). */
  maxScanBytes?: number;
}

const BLOCK = 64 * 1024;
const EVENT_OVERHEAD = 26;

function readRange(fd: number, start: number, end: number): Buffer {
  const buf = Buffer.allocUnsafe(end - start);
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return got === buf.length ? buf : buf.subarray(0, got);
}

function withFile<T>(file: string, fn: (fd: number) => T, empty: T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw e;
  }
  try {
    return fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function message(buf: Buffer, from: number, to: number): string {
  // A line's newline is not part of the event.
  return buf.toString('utf8', from, to > from && buf[to - 1] === 10 ? to - 1 : to);
}

/**
 * Events starting at `from` (a line boundary) or later, in order. `next` is where a following
 * read continues: past the last event returned, or `from` when none was.
 */
export function readForward(
  file: string,
  index: StreamIndex,
  from: number,
  opts: ReadOptions,
): { events: LogEvent[]; next: number; scan?: { to: number; truncated: boolean } } {
  const { chunks } = index;
  const events: LogEvent[] = [];
  let next = from;
  if (chunks.length === 0 || from >= index.indexedEnd || opts.limit <= 0) return { events, next };
  // Skip what is older than startTime (timestamps only grow from chunk to chunk).
  let ci = Math.max(0, chunkAt(chunks, from));
  if (opts.startTime !== undefined) ci = Math.max(ci, firstChunkFrom(chunks, opts.startTime));
  if (ci >= chunks.length) return { events, next };
  let pos = Math.max(from, chunks[ci].start);
  const scanStart = pos;
  let truncated = false;
  const maxBytes = opts.maxBytes ?? Infinity;
  let bytes = 0;
  return withFile<{ events: LogEvent[]; next: number; scan?: { to: number; truncated: boolean } }>(
    file,
    (fd) => {
      let buf = Buffer.alloc(0);
      let bufStart = pos;
      let eof = false;
      while (events.length < opts.limit && pos < index.indexedEnd) {
        if (opts.maxScanBytes !== undefined && pos - scanStart >= opts.maxScanBytes) {
          truncated = true;
          break;
        }
        let nl = buf.indexOf(10, pos - bufStart);
        while (nl < 0 && !eof) {
          const readTo = Math.min(index.indexedEnd, bufStart + buf.length + BLOCK);
          if (readTo <= bufStart + buf.length) {
            eof = true;
            break;
          }
          const more = readRange(fd, bufStart + buf.length, readTo);
          if (more.length === 0) {
            eof = true;
            break;
          }
          buf = Buffer.concat([buf.subarray(pos - bufStart), more]);
          bufStart = pos;
          nl = buf.indexOf(10, 0);
        }
        const relNow = pos - bufStart;
        const endRel = nl >= 0 ? nl + 1 : buf.length;
        if (endRel <= relNow) break; // the file is shorter than its index says
        const end = bufStart + endRel;
        while (ci < chunks.length && chunks[ci].end <= pos) ci++;
        const chunk = chunks[Math.min(ci, chunks.length - 1)];
        if (opts.endTime !== undefined && chunk.timestamp >= opts.endTime) break;
        const text = message(buf, relNow, endRel);
        const start = bufStart + relNow;
        pos = end;
        // Keep the buffer small: drop what was consumed.
        if (endRel > BLOCK) {
          buf = buf.subarray(endRel);
          bufStart = end;
        }
        if (opts.match && !opts.match(text)) continue;
        const size = Buffer.byteLength(text) + EVENT_OVERHEAD;
        if (events.length > 0 && bytes + size > maxBytes) break;
        bytes += size;
        events.push({ offset: start, end, timestamp: chunk.timestamp, ingestionTime: chunk.ingestionTime, message: text });
        next = end;
      }
      return { events, next, scan: { to: pos, truncated } };
    },
    { events, next },
  );
}

/**
 * The last `limit` events that start before `before`, oldest first. `first` is the offset of the
 * first event returned (`before` when none was).
 */
export function readBackward(file: string, index: StreamIndex, before: number, opts: ReadOptions): { events: LogEvent[]; first: number } {
  const { chunks } = index;
  const out: LogEvent[] = [];
  let e = Math.min(before, index.indexedEnd);
  if (chunks.length === 0 || e <= 0 || opts.limit <= 0) return { events: [], first: before };
  if (opts.endTime !== undefined) {
    const ci = firstChunkFrom(chunks, opts.endTime);
    if (ci < chunks.length) e = Math.min(e, chunks[ci].start);
  }
  const maxBytes = opts.maxBytes ?? Infinity;
  let bytes = 0;
  let first = before;
  return withFile(
    file,
    (fd) => {
      let bufStart = e;
      let buf = Buffer.alloc(0);
      while (out.length < opts.limit && e > 0) {
        let k = e - 2 - bufStart >= 0 ? buf.lastIndexOf(10, e - 2 - bufStart) : -1;
        while (k < 0 && bufStart > 0) {
          const from = Math.max(0, bufStart - BLOCK);
          buf = Buffer.concat([readRange(fd, from, bufStart), buf]);
          bufStart = from;
          k = e - 2 - bufStart >= 0 ? buf.lastIndexOf(10, e - 2 - bufStart) : -1;
        }
        const s = k < 0 ? 0 : bufStart + k + 1;
        const ci = chunkAt(chunks, s);
        const chunk = chunks[ci < 0 ? 0 : ci];
        if (opts.startTime !== undefined && chunk.timestamp < opts.startTime) break;
        const text = message(buf, s - bufStart, e - bufStart);
        const size = Buffer.byteLength(text) + EVENT_OVERHEAD;
        if (out.length > 0 && bytes + size > maxBytes) break;
        const end = e;
        e = s;
        buf = buf.subarray(0, e - bufStart);
        if (opts.match && !opts.match(text)) continue;
        bytes += size;
        out.push({ offset: s, end, timestamp: chunk.timestamp, ingestionTime: chunk.ingestionTime, message: text });
        first = s;
      }
      return { events: out.reverse(), first };
    },
    { events: [], first },
  );
}

/** The newline-ended part of `buf`: its length up to and including the last newline (0 if none). */
export function completeLines(buf: Buffer): number {
  const nl = buf.lastIndexOf(10);
  return nl < 0 ? 0 : nl + 1;
}
