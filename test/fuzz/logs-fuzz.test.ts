// The fuzzer's CloudWatch Logs targets: seed-fixed random requests to every Logs operation
// (`POST /` with `X-Amz-Target: Logs_20140328.<Op>`) against the fuzz server (harness.ts), with
// log streams on disk to read. Bodies are built from each operation's input members (the Logs
// model's, listed below) with valid-looking values, tokens the server handed out, wrong types,
// huge and odd strings, numbers at and past the edges, and broken JSON. Checked: no 5xx, every
// error in CloudWatch's shape (x-amzn-ErrorType = __type, a message), every success a JSON object,
// and no refused request changes the log groups' settings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { logFilePath } from '../../src/store/log-files.js';
import { awsShapeProblem, startFuzzServer } from './harness.js';

const REQUESTS = Number(process.env.FUZZ_LOGS_REQUESTS ?? 1500);
const SEED = 20261128;

type Kind = 'class' | 'group' | 'groupId' | 'stream' | 'token' | 'long' | 'int' | 'bool' | 'streams' | 'pattern' | 'order' | 'days' | 'str';
/** Input members of the Logs operations (logs-2014-03-28 model), with what kind of value each takes. */
const OPERATIONS: Record<string, Record<string, Kind>> = {
  GetLogEvents: { logGroupName: 'group', logGroupIdentifier: 'groupId', logStreamName: 'stream', startTime: 'long', endTime: 'long', nextToken: 'token', limit: 'int', startFromHead: 'bool', unmask: 'bool' },
  FilterLogEvents: {
    logGroupName: 'group',
    logGroupIdentifier: 'groupId',
    logStreamNames: 'streams',
    logStreamNamePrefix: 'stream',
    startTime: 'long',
    endTime: 'long',
    filterPattern: 'pattern',
    nextToken: 'token',
    limit: 'int',
    interleaved: 'bool',
    unmask: 'bool',
  },
  DescribeLogGroups: { logGroupNamePrefix: 'group', logGroupNamePattern: 'str', nextToken: 'token', limit: 'int', includeLinkedAccounts: 'bool', logGroupClass: 'class' },
  DescribeLogStreams: { logGroupName: 'group', logGroupIdentifier: 'groupId', logStreamNamePrefix: 'stream', orderBy: 'order', descending: 'bool', nextToken: 'token', limit: 'int' },
  PutRetentionPolicy: { logGroupName: 'group', retentionInDays: 'days' },
  DeleteRetentionPolicy: { logGroupName: 'group' },
};

const GROUPS = ['/aws/batch/job', '/custom/group', 'arn:aws:logs:us-east-1:000000000000:log-group:/aws/batch/job:*'];
const STREAMS = ['def/default/aaaa', 'def/default/bbbb', 'empty/default/cccc', 'def/', 'nope/default/x', '..', 'é'.repeat(300)];

const odd = fc.constantFrom('', ' ', '.', '..', '../../etc/passwd', '%2e%2e', '\u0000', '\ud800', 'é', '*', ':', 'a'.repeat(600), 'x'.repeat(70_000), '__proto__', 'constructor', '{"a":1}');
const wrongType = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }));
const edgeNumber = fc.constantFrom(-1, 0, 1, 50, 51, 10_000, 10_001, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e300, 0.5, -0);

function valueArb(kind: Kind, tokens: string[]): fc.Arbitrary<unknown> {
  const base: Record<Kind, fc.Arbitrary<unknown>> = {
    group: fc.constantFrom(...GROUPS.slice(0, 2)),
    groupId: fc.constantFrom(...GROUPS),
    stream: fc.constantFrom(...STREAMS),
    token: fc.oneof(fc.constantFrom(...(tokens.length > 0 ? tokens : ['f/00000000000000000000/s'])), fc.constantFrom('f/1/s', 'b/99999999999999999999/s', 'eyJ0IjoxfQ', 'eyJuIjoiIn0', 'b/00000000000000000003/s')),
    long: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.constant(Date.now())),
    int: fc.integer({ min: 1, max: 50 }),
    bool: fc.boolean(),
    streams: fc.array(fc.constantFrom(...STREAMS), { minLength: 1, maxLength: 4 }),
    pattern: fc.constantFrom('', 'ERROR', 'line', '?line ?ERROR', '-line', '"line 1"', '"unclosed', '{ $.a = 1 }', '[a, b]', '? ', '-'),
    order: fc.constantFrom('LogStreamName', 'LastEventTime'),
    days: fc.constantFrom(1, 3, 5, 7, 14, 30, 3653),
    str: fc.string({ maxLength: 20 }),
    class: fc.constantFrom('STANDARD', 'INFREQUENT_ACCESS', 'standard'),
  };
  return base[kind];
}

/** A value that is probably wrong for any member. */
const badValue = fc.oneof(odd, wrongType, edgeNumber);

interface FuzzRequest {
  operation: string;
  body: string;
  contentType: string;
}

function requestArb(tokens: string[]): fc.Arbitrary<FuzzRequest> {
  return fc.noBias(fc.constantFrom(...Object.keys(OPERATIONS)).chain((operation) => {
    const members = OPERATIONS[operation];
    const record = Object.fromEntries(Object.entries(members).map(([name, kind]) => [name, fc.option(valueArb(kind, tokens), { nil: undefined, freq: 2 })]));
    // Mostly sound requests (so reads reach the data), some with one member broken.
    const corrupt = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...Object.keys(members)), badValue) });
    const input = fc.tuple(fc.record(record), corrupt, fc.nat(9)).map(([r, c, dice]) => {
      const out: Record<string, unknown> = { ...r };
      // Name a log group one way, as clients do (most of the time).
      if (dice > 0 && 'logGroupIdentifier' in members) {
        if (out.logGroupName !== undefined && out.logGroupIdentifier !== undefined) delete out[dice % 2 ? 'logGroupName' : 'logGroupIdentifier'];
        if (out.logGroupName === undefined && out.logGroupIdentifier === undefined) out.logGroupName = GROUPS[0];
      }
      if (dice > 0 && operation.endsWith('RetentionPolicy')) out.logGroupName ??= GROUPS[dice % 2];
      if (dice > 0 && operation === 'GetLogEvents') out.logStreamName ??= STREAMS[dice % 3];
      if (operation === 'FilterLogEvents' && out.logStreamNames !== undefined && dice > 2) delete out.logStreamNamePrefix;
      if (operation === 'DescribeLogGroups' && dice > 2) delete out.logGroupNamePattern;
      return c ? { ...out, [c[0]]: c[1] } : out;
    });
    return fc.tuple(input, fc.constantFrom('none', 'none', 'none', 'none', 'none', 'none', 'none', 'none', 'truncate', 'array', 'empty', 'duplicate', 'unknown', 'garbage'), fc.constantFrom('application/x-amz-json-1.1', 'application/json', 'text/plain')).map(([input, mutation, contentType]) => {
      const clean = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
      let body = JSON.stringify(clean);
      if (mutation === 'truncate') body = body.slice(0, Math.max(0, body.length - 3));
      if (mutation === 'array') body = `[${body}]`;
      if (mutation === 'empty') body = '';
      if (mutation === 'duplicate') body = body.replace(/^\{/, '{"limit":5,').replace(/,}$/, '}');
      if (mutation === 'unknown') body = body.replace(/^\{/, '{"frob":{"x":[1,2]},').replace(/,}$/, '}');
      if (mutation === 'garbage') body = '\u0000\u00ff{{';
      return { operation, body, contentType };
    });
  }));
}

test(`Logs API fuzz: ${REQUESTS} seed-fixed requests over every Logs operation: no 5xx, CloudWatch-shaped errors, refused requests change nothing`, async (t) => {
  const f = await startFuzzServer();
  try {
    const dataDir = path.dirname(f.dbFile);
    const write = (stream: string, text: string) => {
      const file = logFilePath(dataDir, '/aws/batch/job', stream);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    };
    write('def/default/aaaa', Array.from({ length: 40 }, (_, i) => `line ${i} ${i % 7 === 0 ? 'ERROR' : ''}\n`).join(''));
    write('def/default/bbbb', 'one\ntwo\nthree without newline');
    write('empty/default/cccc', '');
    fs.mkdirSync(path.join(dataDir, 'logs', encodeURIComponent('/custom/group')), { recursive: true });
    const settings = path.join(dataDir, 'log-groups.json');
    const snapshot = () => (fs.existsSync(settings) ? fs.readFileSync(settings, 'utf8') : '');

    const tokens: string[] = [];
    const stats: Record<string, { ok: number; refused: number }> = {};
    const failures: string[] = [];
    // In batches: later requests use tokens the server handed out to earlier ones.
    const requests = function* () {
      for (let b = 0; b * 100 < REQUESTS; b++) yield* fc.sample(requestArb([...tokens]), { seed: SEED + b, numRuns: Math.min(100, REQUESTS - b * 100) });
    };
    for (const r of requests()) {
      const before = snapshot();
      const res = await fetch(new URL('/', f.url), {
        method: 'POST',
        body: r.body,
        headers: { 'content-type': r.contentType, 'x-amz-target': `Logs_20140328.${r.operation}` },
        signal: AbortSignal.timeout(15_000),
      });
      const body = Buffer.from(await res.arrayBuffer());
      const s = (stats[r.operation] ??= { ok: 0, refused: 0 });
      const what = `${r.operation} ${r.body.slice(0, 300)} -> ${res.status} ${body.toString('utf8').slice(0, 300)}`;
      if (res.status >= 500) failures.push(`5xx: ${what}`);
      else if (res.status >= 400) {
        s.refused++;
        if (process.env.FUZZ_SHOW) process.stderr.write(`${what}\n`);
        const headers = Object.fromEntries(res.headers);
        // The awsJson content type, not application/json: the shape check is on the rest.
        const problem = awsShapeProblem({ status: res.status, headers: { ...headers, 'content-type': 'application/json' }, body } as never, 'POST');
        if (problem) failures.push(`${problem}: ${what}`);
        if (!/^application\/x-amz-json-1\.1/.test(headers['content-type'] ?? '')) failures.push(`content-type ${headers['content-type']}: ${what}`);
        if (snapshot() !== before) failures.push(`a refused request changed the log groups' settings: ${what}`);
      } else {
        s.ok++;
        let out: unknown;
        try {
          out = JSON.parse(body.toString('utf8'));
        } catch {
          failures.push(`200 with a body that is not JSON: ${what}`);
          continue;
        }
        if (!out || typeof out !== 'object' || Array.isArray(out)) failures.push(`200 with a body that is not an object: ${what}`);
        const o = out as Record<string, unknown>;
        for (const k of ['nextToken', 'nextForwardToken', 'nextBackwardToken']) if (typeof o[k] === 'string' && tokens.length < 200) tokens.push(o[k] as string);
      }
      if (failures.length > 20) break;
    }
    const health = await fetch(new URL('/health', f.url));
    assert.equal(health.status, 200);
    for (const [op, s] of Object.entries(stats)) t.diagnostic(`${op}: ${s.ok} ok, ${s.refused} refused`);
    assert.deepEqual(failures, []);
    for (const op of Object.keys(OPERATIONS)) {
      assert.ok((stats[op]?.ok ?? 0) > 0, `${op} was never accepted`);
      assert.ok((stats[op]?.refused ?? 0) > 0, `${op} was never refused`);
    }
  } finally {
    await f.close();
  }
});
