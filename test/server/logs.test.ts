// The log index and the log archive without a server: events from a raw file and its index
// (forward and backward reads, time ranges, partial lines), live ingestion of a running attempt
// driven by the AttemptObserver hook with an injected clock, the rest indexed at exit with the
// file's mtime clamped to the attempt, lazy indexing of a stream nobody watched, retention (a
// back-dated index and a clock moved on: no sleeping for days), the Logs API's tokens and its
// filter patterns.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFilterPattern } from '../../src/core/log-filter.js';
import { attemptKey, type AttemptSpec } from '../../src/executors/executor.js';
import { logsService, parseStreamToken, streamToken } from '../../src/api/logs/handlers.js';
import { Arns } from '../../src/core/arn.js';
import { logFilePath } from '../../src/store/log-files.js';
import { chunkRecord, logIndexPath, parseIndex, readBackward, readForward, startRecord, stopRecord, type LogEvent } from '../../src/store/log-index.js';
import { LogArchive } from '../../src/server/logs.js';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

function events(r: ReturnType<LogArchive['readStream']>): LogEvent[] {
  assert.notEqual(r, 'invalid-position');
  return typeof r === 'object' ? r.events : [];
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-logs-unit-'));
}

function spec(jobId: string, stream: string, group = '/aws/batch/job'): AttemptSpec {
  return {
    key: attemptKey(jobId, 1),
    jobId,
    attempt: 1,
    jobName: 'j',
    jobQueue: 'q',
    computeEnvironment: 'ce',
    command: ['true'],
    environment: {},
    vcpus: 1,
    memory: 1,
    gpus: 0,
    logGroupName: group,
    logStreamName: stream,
  };
}

/** A raw file of lines and an index of one chunk per given (end line count, timestamp). */
function fixture(lines: string[], chunks: [number, number][], opts: { trailingNewline?: boolean; stopped?: boolean } = {}) {
  const dir = tmp();
  const file = path.join(dir, 'stream');
  const text = lines.join('\n') + (opts.trailingNewline === false ? '' : '\n');
  fs.writeFileSync(file, text);
  const offsets = [0];
  for (const l of lines) offsets.push(offsets[offsets.length - 1] + Buffer.byteLength(l) + 1);
  let records = '';
  for (const [n, ts] of chunks) records += chunkRecord(Math.min(offsets[n], Buffer.byteLength(text)), ts, ts + 5);
  if (opts.stopped) records += stopRecord(T0 + 999);
  return { file, index: parseIndex(records), offsets, text };
}

describe('log index', () => {
  test('forward reads page through every line in order, each with its chunk timestamp', () => {
    const lines = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`);
    const { file, index } = fixture(lines, [[10, T0], [20, T0 + 100], [25, T0 + 200]]);
    const seen: string[] = [];
    let pos = 0;
    for (;;) {
      const r = readForward(file, index, pos, { limit: 7 });
      if (r.events.length === 0) {
        assert.equal(r.next, pos, 'at the end the position stays');
        break;
      }
      for (const e of r.events) {
        seen.push(e.message);
        const n = Number(e.message.split(' ')[1]);
        assert.equal(e.timestamp, n <= 10 ? T0 : n <= 20 ? T0 + 100 : T0 + 200, e.message);
        assert.equal(e.ingestionTime, e.timestamp + 5);
      }
      pos = r.next;
    }
    assert.deepEqual(seen, lines);
  });

  test('backward reads return the last events before a position, oldest first, down to the start', () => {
    const lines = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`);
    const { file, index, offsets } = fixture(lines, [[25, T0]]);
    const last = readBackward(file, index, Infinity, { limit: 10 });
    assert.deepEqual(last.events.map((e) => e.message), lines.slice(15));
    assert.equal(last.first, offsets[15]);
    const before = readBackward(file, index, last.first, { limit: 10 });
    assert.deepEqual(before.events.map((e) => e.message), lines.slice(5, 15));
    const first = readBackward(file, index, before.first, { limit: 10 });
    assert.deepEqual(first.events.map((e) => e.message), lines.slice(0, 5));
    const none = readBackward(file, index, first.first, { limit: 10 });
    assert.deepEqual(none.events, []);
  });

  test('a final line without a newline is an event once indexed; bytes past the index are not', () => {
    const { file, index } = fixture(['a', 'b', 'partial'], [[3, T0]], { trailingNewline: false, stopped: true });
    assert.deepEqual(readForward(file, index, 0, { limit: 100 }).events.map((e) => e.message), ['a', 'b', 'partial']);
    assert.deepEqual(readBackward(file, index, Infinity, { limit: 100 }).events.map((e) => e.message), ['a', 'b', 'partial']);
    // Index covering only the first two lines (a running attempt with a partial third).
    const running = parseIndex(chunkRecord(4, T0, T0));
    assert.deepEqual(readForward(file, running, 0, { limit: 100 }).events.map((e) => e.message), ['a', 'b']);
    assert.deepEqual(readBackward(file, running, Infinity, { limit: 100 }).events.map((e) => e.message), ['a', 'b']);
  });

  test('time ranges: startTime inclusive, endTime exclusive, in both directions', () => {
    const lines = Array.from({ length: 9 }, (_, i) => `l${i}`);
    const { file, index } = fixture(lines, [[3, T0], [6, T0 + 10], [9, T0 + 20]]);
    const fwd = readForward(file, index, 0, { limit: 100, startTime: T0 + 10, endTime: T0 + 20 });
    assert.deepEqual(fwd.events.map((e) => e.message), ['l3', 'l4', 'l5']);
    const back = readBackward(file, index, Infinity, { limit: 100, startTime: T0 + 10, endTime: T0 + 20 });
    assert.deepEqual(back.events.map((e) => e.message), ['l3', 'l4', 'l5']);
  });

  test('long lines and a byte limit: at least one event, never more than the limit allows', () => {
    const big = 'x'.repeat(200 * 1024);
    const { file, index } = fixture([big, 'small', big], [[3, T0]]);
    const r = readForward(file, index, 0, { limit: 100, maxBytes: 300 * 1024 });
    assert.deepEqual(r.events.map((e) => e.message.length), [big.length, 5]);
    const r2 = readForward(file, index, r.next, { limit: 100, maxBytes: 10 });
    assert.equal(r2.events.length, 1);
    assert.equal(r2.events[0].message, big);
    const b = readBackward(file, index, Infinity, { limit: 100, maxBytes: 300 * 1024 });
    assert.deepEqual(b.events.map((e) => e.message.length), [5, big.length]);
  });

  test('no event is outside its attempt\'s start..stop, even one a poll stamped before the start was recorded or after the exit', () => {
    const idx = parseIndex(`${chunkRecord(5, T0 - 20, T0 - 20)}${chunkRecord(10, T0, T0)}${chunkRecord(20, T0 + 500, T0 + 500)}${chunkRecord(30, T0 + 600, T0 + 600)}${startRecord(T0 - 10)}${stopRecord(T0 + 400)}`);
    assert.deepEqual(idx.chunks.map((c) => c.timestamp), [T0 - 10, T0, T0 + 400, T0 + 400]);
    assert.ok(idx.chunks.every((c) => c.ingestionTime >= c.timestamp));
  });

  test('a torn record is skipped, also when records follow it; timestamps never go down; appended text parses into the same index', () => {
    const idx = parseIndex(`${chunkRecord(10, T0 + 50, T0 + 50)}${chunkRecord(20, T0, T0)}c 30 17`);
    assert.equal(idx.indexedEnd, 20);
    assert.equal(idx.torn, true);
    assert.deepEqual(idx.chunks.map((c) => c.timestamp), [T0 + 50, T0 + 50]);
    // After a restart the next append starts on a new line; the torn record's range joins the next chunk.
    const again = parseIndex(`${chunkRecord(10, T0, T0)}c 30 17\n${chunkRecord(40, T0 + 9, T0 + 9)}${stopRecord(T0 + 10)}`);
    assert.deepEqual(again.chunks.map((c) => [c.start, c.end]), [[0, 10], [10, 40]]);
    assert.equal(again.stoppedAt, T0 + 10);
    assert.equal(again.torn, false);
    parseIndex(chunkRecord(50, T0 + 20, T0 + 20), again);
    assert.deepEqual(again.chunks.map((c) => [c.start, c.end, c.timestamp]), [[0, 10, T0], [10, 40, T0 + 9], [40, 50, T0 + 20]]);
  });

  test('an archive keeps up with a growing index (incremental parse) and mends a torn tail before appending', () => {
    const dataDir = tmp();
    const clock = { t: T0 };
    const a = new LogArchive({ dataDir, now: () => clock.t, log: quiet, pollMs: 60_000 });
    const s = spec('job-t', 'def/default/torn');
    const file = logFilePath(dataDir, s.logGroupName, s.logStreamName);
    const idxFile = logIndexPath(dataDir, s.logGroupName, s.logStreamName);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.mkdirSync(path.dirname(idxFile), { recursive: true });
    fs.writeFileSync(file, 'a\nb\n');
    fs.writeFileSync(idxFile, `${chunkRecord(2, T0, T0)}c 4 ${T0}`); // the server died mid-append
    a.attemptStarted(s, T0);
    const lines = () => events(a.readStream(s.logGroupName, s.logStreamName, 'forward', 0, { limit: 100 })).map((e) => e.message);
    clock.t = T0 + 100;
    assert.deepEqual(lines(), ['a', 'b']);
    for (let i = 0; i < 50; i++) {
      fs.appendFileSync(file, `line ${i}\n`);
      clock.t += 10;
      assert.equal(lines().length, 3 + i);
    }
    assert.deepEqual(parseIndex(fs.readFileSync(idxFile, 'utf8')).chunks.length, 52);
  });
});

describe('log archive', () => {
  function archive(dataDir: string, clock: { t: number }, defaultRetentionDays?: number) {
    return new LogArchive({ dataDir, now: () => clock.t, log: quiet, defaultRetentionDays, pollMs: 60_000 });
  }
  const read = (a: LogArchive, stream: string) => events(a.readStream('/aws/batch/job', stream, 'forward', 0, { limit: 1000 }));

  test('a running attempt: complete lines get the time they were first seen, a partial line waits; the rest at exit gets the clamped mtime', () => {
    const dataDir = tmp();
    const clock = { t: T0 };
    const a = archive(dataDir, clock);
    const s = spec('job-1', 'def/default/task-1');
    const file = logFilePath(dataDir, s.logGroupName, s.logStreamName);
    a.attemptStarted(s);
    a.attemptEvent({ type: 'running', key: s.key, jobId: s.jobId, attempt: 1, at: T0 });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'one\ntw');
    clock.t = T0 + 1000;
    assert.deepEqual(read(a, s.logStreamName).map((e) => [e.message, e.timestamp]), [['one', T0 + 1000]]);
    fs.appendFileSync(file, 'o\nthree\nfour');
    clock.t = T0 + 2000;
    assert.deepEqual(read(a, s.logStreamName).map((e) => [e.message, e.timestamp]), [['one', T0 + 1000], ['two', T0 + 2000], ['three', T0 + 2000]]);
    // The attempt exits; its file's mtime is later than its stop (clock skew): clamped to the stop.
    fs.utimesSync(file, new Date(T0 + 9000), new Date(T0 + 9000));
    clock.t = T0 + 5000;
    a.attemptEvent({ type: 'exited', key: s.key, jobId: s.jobId, attempt: 1, at: T0 + 3000, exitCode: 0 });
    const events = read(a, s.logStreamName);
    assert.deepEqual(events.map((e) => [e.message, e.timestamp]), [['one', T0 + 1000], ['two', T0 + 2000], ['three', T0 + 2000], ['four', T0 + 3000]]);
    for (const e of events) assert.ok(e.ingestionTime >= e.timestamp);
    const info = a.streamInfo('/aws/batch/job', s.logStreamName)!;
    assert.equal(info.firstEventTimestamp, T0 + 1000);
    assert.equal(info.lastEventTimestamp, T0 + 3000);
    assert.equal(info.lastIngestionTime, T0 + 5000);
    assert.equal(info.storedBytes, fs.statSync(file).size);
    // A new archive (a restart) reads the same from the index.
    const again = archive(dataDir, clock);
    assert.deepEqual(read(again, s.logStreamName).map((e) => [e.message, e.timestamp]), events.map((e) => [e.message, e.timestamp]));
  });

  test('output never seen live gets a timestamp within the attempt: its mtime clamped to start..stop', async () => {
    const dataDir = tmp();
    const clock = { t: T0 + 60_000 };
    const a = archive(dataDir, clock);
    const s = spec('job-2', 'def/default/task-2');
    const file = logFilePath(dataDir, s.logGroupName, s.logStreamName);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'a\nb\n');
    fs.utimesSync(file, new Date(T0 - 5000), new Date(T0 - 5000)); // before the attempt's start
    a.attemptStarted(s, T0);
    a.attemptEvent({ type: 'exited', key: s.key, jobId: s.jobId, attempt: 1, at: T0 + 10, exitCode: 0 });
    await new Promise((r) => setImmediate(r)); // the exit is indexed off the event's stack
    assert.ok(fs.existsSync(logIndexPath(dataDir, s.logGroupName, s.logStreamName)));
    assert.deepEqual(read(a, s.logStreamName).map((e) => [e.message, e.timestamp, e.ingestionTime]), [['a', T0, T0 + 60_000], ['b', T0, T0 + 60_000]]);
  });

  test('an empty attempt costs no index file; a stream nobody indexed is indexed when first read', async () => {
    const dataDir = tmp();
    const clock = { t: T0 };
    const a = archive(dataDir, clock);
    const s = spec('job-3', 'def/default/task-3');
    const file = logFilePath(dataDir, s.logGroupName, s.logStreamName);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    a.attemptStarted(s);
    a.attemptEvent({ type: 'exited', key: s.key, jobId: s.jobId, attempt: 1, at: T0, exitCode: 0 });
    await new Promise((r) => setImmediate(r));
    assert.equal(fs.existsSync(path.join(dataDir, 'log-index')), false);
    assert.deepEqual(read(a, s.logStreamName), []);
    assert.equal(a.streamInfo(s.logGroupName, s.logStreamName)?.firstEventTimestamp, undefined);
    // A file from before indexes existed.
    const old = logFilePath(dataDir, s.logGroupName, 'def/default/old');
    fs.writeFileSync(old, 'x\ny');
    fs.utimesSync(old, new Date(T0 - 1000), new Date(T0 - 1000));
    assert.deepEqual(read(a, 'def/default/old').map((e) => [e.message, e.timestamp]), [['x', T0 - 1000], ['y', T0 - 1000]]);
  });

  test('an array of 2,000 quiet attempts: no index written, nothing left live afterwards', async () => {
    const dataDir = tmp();
    const a = archive(dataDir, { t: T0 });
    const specs = Array.from({ length: 2000 }, (_, i) => spec(`arr:${i}`, `def/default/child-${i}`));
    for (const s of specs) {
      const file = logFilePath(dataDir, s.logGroupName, s.logStreamName);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '');
      a.attemptStarted(s);
      a.attemptEvent({ type: 'running', key: s.key, jobId: s.jobId, attempt: 1, at: T0 });
    }
    assert.equal(a.liveStreams, 2000);
    for (const s of specs) a.attemptEvent({ type: 'exited', key: s.key, jobId: s.jobId, attempt: 1, at: T0 + 1, exitCode: 0 });
    await new Promise((r) => setImmediate(r));
    assert.equal(a.liveStreams, 0);
    assert.equal(fs.existsSync(path.join(dataDir, 'log-index')), false);
  });

  test('retention: old events are hidden, old streams are deleted by the sweep, running ones and recent ones stay', async () => {
    const dataDir = tmp();
    const clock = { t: T0 };
    const a = archive(dataDir, clock, 30);
    const group = '/aws/batch/job';
    const write = (stream: string, ts: number) => {
      const file = logFilePath(dataDir, group, stream);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${stream}\n`);
      const idx = logIndexPath(dataDir, group, stream);
      fs.mkdirSync(path.dirname(idx), { recursive: true });
      fs.writeFileSync(idx, chunkRecord(Buffer.byteLength(`${stream}\n`), ts, ts) + stopRecord(ts));
      return file;
    };
    const old = write('old', T0 - 31 * DAY);
    const recent = write('recent', T0 - 29 * DAY);
    const running = spec('job-r', 'running');
    const runningFile = write('running', T0 - 40 * DAY);
    a.attemptStarted(running);
    assert.deepEqual(read(a, 'old'), [], 'past retention: hidden before the sweep');
    assert.equal(read(a, 'recent').length, 1);
    assert.equal(await a.sweep(), 1);
    assert.equal(fs.existsSync(old), false);
    assert.equal(fs.existsSync(logIndexPath(dataDir, group, 'old')), false);
    assert.ok(fs.existsSync(recent) && fs.existsSync(runningFile));
    // A group's own policy overrides the server default; two days later 'recent' is past 30 days.
    a.putRetentionPolicy(group, 60);
    clock.t += 2 * DAY;
    assert.equal(await a.sweep(), 0);
    assert.equal(archive(dataDir, clock, 30).retentionDays(group), 60, 'policies survive a restart');
    a.deleteRetentionPolicy(group);
    assert.equal(await a.sweep(), 1);
    assert.equal(fs.existsSync(recent), false);
  });
});

describe('Logs API pieces', () => {
  test('stream tokens are stable strings that round-trip; anything else is refused', () => {
    assert.equal(streamToken('f', 1234), 'f/00000000000000001234/s');
    assert.deepEqual(parseStreamToken(streamToken('b', 99)), { direction: 'backward', offset: 99 });
    for (const bad of ['', 'f/', 'x/1/s', 'f/-1/s', 'f/1', 'f/123456789012345678901/s', 'f/99999999999999999999/s']) assert.equal(parseStreamToken(bad), undefined, bad);
  });

  test('filter patterns: terms ANDed, quoted phrases, ?OR, -NOT; JSON patterns refused', () => {
    const m = (p: string, s: string) => parseFilterPattern(p)(s);
    assert.ok(m('', 'anything'));
    assert.ok(m('ERROR disk', 'ERROR: disk full'));
    assert.ok(!m('ERROR disk', 'ERROR: memory'));
    assert.ok(m('"disk full"', 'ERROR: disk full'));
    assert.ok(!m('"disk full"', 'full disk'));
    assert.ok(m('?ERROR ?WARN', 'WARN: x') && m('?ERROR ?WARN', 'ERROR: y') && !m('?ERROR ?WARN', 'INFO'));
    assert.ok(!m('ERROR -disk', 'ERROR: disk full') && m('ERROR -disk', 'ERROR: cpu'));
    assert.ok(!m('error', 'ERROR'), 'case-sensitive');
    assert.throws(() => parseFilterPattern('{ $.level = "x" }'), /not supported/);
    assert.throws(() => parseFilterPattern('"open'), /not closed/);
  });

  test('GetLogEvents through the service: head, tail, both token directions, the end token equal to the one passed', async () => {
    const dataDir = tmp();
    const clock = { t: T0 };
    const a = new LogArchive({ dataDir, now: () => clock.t, log: quiet, pollMs: 60_000 });
    const file = logFilePath(dataDir, '/aws/batch/job', 's');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Array.from({ length: 25 }, (_, i) => `${i + 1}\n`).join(''));
    const svc = logsService(a, new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' }));
    const get = (input: Record<string, unknown>) =>
      svc.handlers.GetLogEvents({ logGroupName: '/aws/batch/job', logStreamName: 's', ...input }, {} as never) as Promise<{ events: { message: string }[]; nextForwardToken: string; nextBackwardToken: string }>;
    const nums = (r: { events: { message: string }[] }) => r.events.map((e) => Number(e.message));
    const tail = await get({ limit: 10 });
    assert.deepEqual(nums(tail), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    const back = await get({ limit: 10, nextToken: tail.nextBackwardToken });
    assert.deepEqual(nums(back), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const fwd = await get({ limit: 10, nextToken: back.nextForwardToken, startFromHead: true });
    assert.deepEqual(nums(fwd), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    const end = await get({ limit: 10, nextToken: fwd.nextForwardToken, startFromHead: true });
    assert.deepEqual(end.events, []);
    assert.equal(end.nextForwardToken, fwd.nextForwardToken);
    const head = await get({ limit: 3, startFromHead: true });
    assert.deepEqual(nums(head), [1, 2, 3]);
    await assert.rejects(get({ logStreamName: 'nope' }), /The specified log stream does not exist\./);
    for (const logStreamName of ['.', '..', 'é'.repeat(300)]) await assert.rejects(get({ logStreamName }), /The specified log stream does not exist\./);
    await assert.rejects(get({ logGroupName: 'nope' }), /The specified log group does not exist\./);
    await assert.rejects(get({ limit: 0 }), /at 'limit'/);
    await assert.rejects(get({ nextToken: 'garbage' }), /nextToken/);
    // A well-formed token that is not the start of a line (nor the end) is not one we gave out.
    await assert.rejects(get({ nextToken: 'f/00000000000000000001/s' }), /The specified nextToken is invalid\./);
    await assert.rejects(get({ nextToken: 'b/00000000000000999999/s' }), /The specified nextToken is invalid\./);
    assert.deepEqual(nums(await get({ nextToken: 'f/00000000000000000002/s', startFromHead: true, limit: 2 })), [2, 3]);
  });

  test('FilterLogEvents with a small scan budget: pages (some empty) with tokens that resume, every match once, in time order', async () => {
    const dataDir = tmp();
    const a = new LogArchive({ dataDir, now: () => T0 + DAY, log: quiet, pollMs: 60_000 });
    const group = '/aws/batch/job';
    // Three finished streams, each a series of chunks one second apart; a rare term here and there.
    const expected: { t: number; s: string; m: string }[] = [];
    for (const [si, name] of ['a', 'b', 'c'].entries()) {
      const file = logFilePath(dataDir, group, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      let text = '';
      let records = '';
      for (let c = 0; c < 20; c++) {
        const ts = T0 + c * 1000 + si * 300;
        for (let l = 0; l < 30; l++) {
          const needle = (c * 30 + l) % (17 + si * 5) === 0;
          const m = needle ? `needle ${name} ${c}.${l}` : `noise ${name} ${c}.${l} ${'x'.repeat(40)}`;
          text += `${m}\n`;
          if (needle) expected.push({ t: ts, s: name, m });
        }
        records += chunkRecord(Buffer.byteLength(text), ts, ts);
      }
      fs.writeFileSync(file, text);
      const idx = logIndexPath(dataDir, group, name);
      fs.mkdirSync(path.dirname(idx), { recursive: true });
      fs.writeFileSync(idx, records + stopRecord(T0 + 30_000));
    }
    expected.sort((x, y) => x.t - y.t || (x.s < y.s ? -1 : x.s > y.s ? 1 : 0));
    const arns = new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' });
    const collect = async (svc: ReturnType<typeof logsService>, limit: number) => {
      const seen: string[] = [];
      let token: string | undefined;
      let calls = 0;
      do {
        const out = (await svc.handlers.FilterLogEvents({ logGroupName: group, filterPattern: 'needle', limit, ...(token ? { nextToken: token } : {}) }, {} as never)) as { events: { message: string }[]; nextToken?: string };
        seen.push(...out.events.map((e) => e.message));
        token = out.nextToken;
        assert.ok(++calls < 2000, 'pagination ends');
      } while (token);
      return { seen, calls };
    };
    const whole = await collect(logsService(a, arns), 10_000);
    assert.deepEqual(whole.seen, expected.map((e) => e.m));
    assert.equal(whole.calls, 1);
    const budgeted = await collect(logsService(a, arns, { maxScanBytes: 2000 }), 7);
    assert.deepEqual(budgeted.seen, expected.map((e) => e.m));
    assert.ok(budgeted.calls > expected.length / 7, `${budgeted.calls} calls`);
  });

  test('DescribeLogStreams pages by name (both ways) and by last event time', async () => {
    const dataDir = tmp();
    const a = new LogArchive({ dataDir, now: () => T0, log: quiet, pollMs: 60_000 });
    const group = '/aws/batch/job';
    const names = ['s1', 's2', 's3', 's4', 's5', 's6', 's7'];
    for (const [i, n] of names.entries()) {
      const file = logFilePath(dataDir, group, n);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, i === 3 ? '' : `${n}\n`);
      fs.utimesSync(file, new Date(T0 - (i * 7919) % 5000), new Date(T0 - ((i * 7919) % 5000)));
    }
    const svc = logsService(a, new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' }));
    const all = async (input: Record<string, unknown>) => {
      const out: { logStreamName: string; lastEventTimestamp?: number }[] = [];
      let token: string | undefined;
      do {
        const r = (await svc.handlers.DescribeLogStreams({ logGroupName: group, limit: 3, ...input, ...(token ? { nextToken: token } : {}) }, {} as never)) as { logStreams: typeof out; nextToken?: string };
        assert.ok(r.logStreams.length <= 3);
        out.push(...r.logStreams);
        token = r.nextToken;
      } while (token);
      return out;
    };
    assert.deepEqual((await all({})).map((s) => s.logStreamName), names);
    assert.deepEqual((await all({ descending: true })).map((s) => s.logStreamName), [...names].reverse());
    const byTime = await all({ orderBy: 'LastEventTime', descending: true });
    assert.equal(byTime.length, names.length);
    const times = byTime.map((s) => s.lastEventTimestamp ?? 0);
    assert.deepEqual(times, [...times].sort((x, y) => y - x));
    assert.equal(byTime[byTime.length - 1].logStreamName, 's4', 'the empty stream has no last event: last when newest first');
  });

  test('DescribeLogGroups: by prefix or pattern, paged with limit and nextToken', async () => {
    const dataDir = tmp();
    const a = new LogArchive({ dataDir, now: () => T0, log: quiet, pollMs: 60_000 });
    for (const g of ['/aws/batch/job', '/team/a', '/team/b', '/team/c']) fs.mkdirSync(path.join(dataDir, 'logs', encodeURIComponent(g)), { recursive: true });
    const svc = logsService(a, new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' }));
    const call = (input: Record<string, unknown>) => svc.handlers.DescribeLogGroups(input, {} as never) as Promise<{ logGroups: { logGroupName: string; arn: string }[]; nextToken?: string }>;
    const first = await call({ logGroupNamePrefix: '/team/', limit: 2 });
    assert.deepEqual(first.logGroups.map((g) => g.logGroupName), ['/team/a', '/team/b']);
    assert.equal(first.logGroups[0].arn, 'arn:aws:logs:us-east-1:000000000000:log-group:/team/a:*');
    const second = await call({ logGroupNamePrefix: '/team/', limit: 2, nextToken: first.nextToken });
    assert.deepEqual(second.logGroups.map((g) => g.logGroupName), ['/team/c']);
    assert.equal(second.nextToken, undefined);
    assert.deepEqual((await call({ logGroupNamePattern: 'BATCH' })).logGroups.map((g) => g.logGroupName), ['/aws/batch/job']);
    await assert.rejects(call({ limit: 51 }), /at 'limit'/);
    await assert.rejects(call({ nextToken: 'not-a-token' }), /nextToken/);
  });
});
