// The API fuzzer's short, seed-fixed pass (the long one is `npm run fuzz`): a few thousand
// generated requests, valid-looking and broken, for every operation of the Batch API model,
// over real HTTP on 127.0.0.1 (and fastify's inject, and a raw socket). See harness.ts for
// what is checked and requests.ts for how requests are generated from the model.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { batchModel, type ApiModel } from '../../src/api/batch/model/index.js';
import { OPERATIONS, type OperationRoute } from '../../src/api/batch/operations.js';
import { awsShapeProblem, formatSummary, registryDifferences, runFuzz, startFuzzServer, StoreWatch, type FuzzServer } from './harness.js';
import { buildWire, emptyPools, requestArb } from './requests.js';

const REQUESTS = Number(process.env.FUZZ_CI_REQUESTS ?? 3000);
const SEED = 20250805;

test(`API fuzz: ${REQUESTS} seed-fixed requests over every operation: no 5xx, no hang, AWS-shaped errors, rejected requests change nothing`, async (t) => {
  const burst = Math.round(REQUESTS / 10);
  const summary = await runFuzz({ seed: SEED, requests: REQUESTS - burst, burst, deadlineMs: 15_000, healthEvery: 100, registryEvery: 100 });
  for (const line of formatSummary(summary).split('\n')) t.diagnostic(line);
  assert.equal(summary.failures.length, 0, formatSummary(summary));
  assert.equal(summary.requests, REQUESTS);
  // It went everywhere: every operation, accepted and refused; every transport.
  for (const { operation } of OPERATIONS) {
    assert.ok((summary.byOperation[operation]?.sent ?? 0) > 0, `${operation} was never sent`);
    assert.ok((summary.byOperation[operation]?.rejected ?? 0) > 0, `${operation} was never refused`);
  }
  const accepted = OPERATIONS.filter(({ operation }) => (summary.byOperation[operation]?.ok ?? 0) > 0);
  assert.ok(accepted.length >= OPERATIONS.length - 3, `only ${accepted.map((r) => r.operation).join(', ')} were ever accepted`);
  for (const transport of ['http', 'inject', 'raw']) assert.ok((summary.byTransport[transport] ?? 0) > 0, transport);
  assert.ok(summary.healthChecks >= REQUESTS / 100);
});

test('a new operation in the model is fuzzed without any change to the fuzzer', () => {
  const model: ApiModel = structuredClone(batchModel);
  model.operations.FrobnicateWidget = {
    http: { requestUri: '/v1/frobnicatewidget' },
    input: {
      type: 'structure',
      required: ['widgetName'],
      members: { widgetName: {}, count: { type: 'integer' }, labels: { type: 'map', key: {}, value: {} }, parts: { type: 'list', member: { shape: 'Sj' } } },
    },
  };
  const routes: OperationRoute[] = [
    ...OPERATIONS,
    { operation: 'FrobnicateWidget', method: 'POST', requestUri: '/v1/frobnicatewidget', uriParams: [], queryParams: [] },
  ];
  const requests = fc.sample(requestArb({ model, routes }), { seed: 1, numRuns: 3000 }).filter((r) => r.operation === 'FrobnicateWidget');
  assert.ok(requests.length > 50, `${requests.length} requests for the new operation`);
  const bodies = requests
    .filter((r) => r.family === 'shaped' && r.method === 'POST')
    .map((r) => buildWire(r, emptyPools(), routes))
    .map((w) => {
      assert.equal(w.target, '/v1/frobnicatewidget');
      return w.body.toString('utf8');
    });
  assert.ok(bodies.some((b) => b.includes('"widgetName":')), 'the required member is generated');
  assert.ok(bodies.some((b) => /"count":-?\d/.test(b)), 'integers for integer members');
  assert.ok(bodies.some((b) => /"parts":\[\{/.test(b)), 'lists of the referenced shape');
  assert.ok(bodies.some((b) => !isJsonObject(b)) || requests.some((r) => r.bodyMutation !== 'none'), 'broken bodies too');
});

function isJsonObject(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

// ----- Regressions and known issues found by the fuzzer

async function withServer(fn: (f: FuzzServer) => Promise<void>): Promise<void> {
  const f = await startFuzzServer();
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

async function post(f: FuzzServer, path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(path, f.url), { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

test('the oracles see what they must: a store change after a mark, a registry that differs from the store', async () => {
  await withServer(async (f) => {
    const watch = new StoreWatch(f.dbFile);
    try {
      watch.mark();
      assert.deepEqual(watch.changes(), { written: false });
      const q = f.server.service.ctx.registry.jobQueues.get('fuzz-q')!;
      await f.server.service.tags.tag({ resourceArn: q.jobQueueArn, tags: { k: 'v' } });
      const c = watch.changes();
      assert.equal(c.written, true);
      assert.match(c.diff ?? '', /^tags: 1 rows added\/changed, 0 removed\/changed$/);
      assert.deepEqual(await registryDifferences(f.server), []);
      q.priority = 99; // the registry alone, as a buggy handler would
      const [d] = await registryDifferences(f.server);
      assert.equal(d.key, 'jobQueue fuzz-q');
      assert.equal(watch.attempts(), 0);
    } finally {
      watch.close();
    }
  });
});

test('strings with unpaired surrogates (JSON \\ud800 escapes) are refused, not stored as U+FFFD', async () => {
  await withServer(async (f) => {
    const q = f.server.service.ctx.registry.jobQueues.get('fuzz-q')!;
    const path = `/v1/tags/${encodeURIComponent(q.jobQueueArn)}`;
    for (const body of ['{"tags":{"k":"a\\ud800b"}}', '{"tags":{"k\\udfff":"v"}}']) {
      const res = await post(f, path, body);
      assert.equal(res.status, 400, res.text);
      assert.match(JSON.parse(res.text).message, /not valid Unicode/);
    }
    const ce = await post(f, '/v1/createcomputeenvironment', '{"computeEnvironmentName":"u","type":"UNMANAGED","serviceRole":"\\udc00"}');
    assert.equal(ce.status, 400, ce.text);
    // A well-formed pair is fine.
    const ok = await post(f, path, '{"tags":{"k":"\\ud83d\\ude00"}}');
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(await registryDifferences(f.server), []);
  });
});

test('JSON null members are absent all the way to the service (they were stored, or crashed SubmitJob)', async () => {
  await withServer(async (f) => {
    const submit = await post(f, '/v1/submitjob', '{"jobName":"a","jobQueue":"fuzz-q","jobDefinition":"jd1","arrayProperties":null,"containerOverrides":{"command":null,"environment":null},"timeout":null}');
    assert.equal(submit.status, 200, submit.text);
    const update = await post(f, '/v1/updatejobqueue', '{"jobQueue":"fuzz-q","priority":null,"state":null,"computeEnvironmentOrder":null,"jobStateTimeLimitActions":null}');
    assert.equal(update.status, 200, update.text);
    const described = await post(f, '/v1/describejobqueues', '{"jobQueues":["fuzz-q"]}');
    const [q] = JSON.parse(described.text).jobQueues;
    assert.equal(q.state, 'ENABLED');
    assert.equal(q.priority, 1);
    assert.equal(q.computeEnvironmentOrder.length, 1);
    const ce = await post(f, '/v1/updatecomputeenvironment', '{"computeEnvironment":"fuzz-ce","state":null,"computeResources":{"maxvCpus":null}}');
    assert.equal(ce.status, 200, ce.text);
    const ces = JSON.parse((await post(f, '/v1/describecomputeenvironments', '{}')).text).computeEnvironments;
    assert.equal(ces[0].state, 'DISABLED');
    assert.equal(ces[0].computeResources.maxvCpus, 2);
    assert.deepEqual(await registryDifferences(f.server), []);
  });
});

test('UpdateComputeEnvironment computeResources.updateToLatestImageVersion is an action, not a setting DescribeComputeEnvironments reports', async () => {
  await withServer(async (f) => {
    const res = await post(f, '/v1/updatecomputeenvironment', '{"computeEnvironment":"fuzz-ce","computeResources":{"updateToLatestImageVersion":true,"maxvCpus":3}}');
    assert.equal(res.status, 200, res.text);
    const [ce] = JSON.parse((await post(f, '/v1/describecomputeenvironments', '{"computeEnvironments":["fuzz-ce"]}')).text).computeEnvironments;
    assert.equal(ce.computeResources.maxvCpus, 3);
    assert.equal('updateToLatestImageVersion' in ce.computeResources, false);
  });
});

test(
  'a request without a Host header is answered in AWS error shape',
  async () => {
    await withServer(async (f) => {
      const net = await import('node:net');
      const raw = await new Promise<string>((resolve) => {
        const s = net.connect(Number(f.url.port), f.url.hostname);
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('close', () => resolve(data));
        s.end('POST /v1/listschedulingpolicies HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
      });
      const [head, body = ''] = raw.split('\r\n\r\n');
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
      assert.ok(status < 500, head);
      if (status >= 400) assert.equal(awsShapeProblem({ status, headers, body: Buffer.from(body) }, 'POST'), undefined, raw);
    });
  },
);

test(
  'a HEAD request refused for its size gets no body',
  async () => {
    await withServer(async (f) => {
      const http = await import('node:http');
      const status = await new Promise<number | string>((resolve) => {
        const req = http.request({ host: f.url.hostname, port: f.url.port, method: 'HEAD', path: `/v1/tags/x?${'a'.repeat(20_000)}` }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', (e) => resolve(e.message));
        req.end();
      });
      assert.equal(status, 431);
    });
  },
);

test(
  'a tag key "__proto__" is kept like any other',
  async () => {
    await withServer(async (f) => {
      const q = f.server.service.ctx.registry.jobQueues.get('fuzz-q')!;
      const path = `/v1/tags/${encodeURIComponent(q.jobQueueArn)}`;
      const put = await post(f, path, '{"tags":{"__proto__":"x","team":"y"}}');
      assert.equal(put.status, 200, put.text);
      const res = await fetch(new URL(path, f.url));
      assert.equal(await res.text(), '{"tags":{"__proto__":"x","team":"y"}}');
    });
  },
);
