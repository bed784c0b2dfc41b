// The console over plain HTTP (no browser): auth off gives an anonymous session with a CSRF
// token; cancel without it changes nothing; a 10,000-child array's page renders quickly (counts
// plus a paged grid); everything from job data is escaped; bad input gets 4xx, never 500.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { esc, html } from '../../src/api/console/html.js';
import { stateLayers } from '../../src/api/console/states.js';
import { Sessions, SESSION_TTL_MS } from '../../src/api/console/sessions.js';
import { waitForStatus } from '../helpers/server.js';
import { useServer } from './sdk-helpers.js';

const env = useServer(async (e) => {
  await e.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'console-http',
      type: 'container',
      containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '16' }] },
    }),
  );
});

async function get(path: string, cookie?: string): Promise<{ status: number; body: string; cookie?: string; headers: Headers }> {
  const res = await fetch(`${env.endpoint}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const set = res.headers.get('set-cookie');
  return { status: res.status, body: await res.text(), cookie: set ? set.split(';')[0] : undefined, headers: res.headers };
}

describe('console over HTTP', () => {
  test('templates escape data; the state graph layers follow StartAt', () => {
    assert.equal(esc(`<a href="x">'&`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;');
    assert.equal(html`<p>${'<b>'}</p>`.text, '<p>&lt;b&gt;</p>');
    const layers = stateLayers({ StartAt: 'A', States: { A: { Type: 'Choice', Choices: [{ Next: 'B' }], Default: 'C' }, B: { Type: 'Pass', Next: 'C' }, C: { Type: 'Succeed' }, Lost: { Type: 'Pass', End: true } } });
    assert.deepEqual(Object.fromEntries(layers), { A: 0, B: 1, C: 1, Lost: 2 });
  });

  test('sessions: secrets checked, sessions expire when unused, failed logins are throttled per address', () => {
    let now = 1_000_000;
    const key = { accessKeyId: 'AKID', secretAccessKey: 's3cret', readOnly: false, source: 'test' };
    const sessions = new Sessions(new Map([['AKID', key]]), () => now);
    assert.equal(sessions.verify('AKID', 's3cret'), key);
    assert.equal(sessions.verify('AKID', 's3cre'), undefined);
    assert.equal(sessions.verify('OTHER', 's3cret'), undefined);
    const s = sessions.create(key);
    assert.ok(sessions.checkCsrf(s, s.csrf));
    assert.ok(!sessions.checkCsrf(s, undefined) && !sessions.checkCsrf(s, s.csrf + 'x'));
    now += SESSION_TTL_MS - 1;
    assert.equal(sessions.get(s.id), s, 'used: the expiry moves on');
    now += SESSION_TTL_MS;
    assert.equal(sessions.get(s.id), undefined, 'expired');
    for (let i = 0; i < 10; i++) {
      assert.ok(sessions.loginAllowed('10.0.0.1'));
      sessions.loginFailed('10.0.0.1');
    }
    assert.ok(!sessions.loginAllowed('10.0.0.1'));
    assert.ok(sessions.loginAllowed('10.0.0.2'), 'per address');
    now += 60_000;
    assert.ok(sessions.loginAllowed('10.0.0.1'), 'a minute later');
  });

  test('auth off: an anonymous session with a CSRF token; cancel without the token is refused and changes nothing', async () => {
    const blocker = (await env.client.send(new SubmitJobCommand({ jobName: 'blocker', jobQueue: 'default', jobDefinition: 'console-http', containerOverrides: { command: ['sleep', '300'] } }))).jobId!;
    const waiting = (
      await env.client.send(
        new SubmitJobCommand({
          jobName: 'waiting',
          jobQueue: 'default',
          jobDefinition: 'console-http',
          dependsOn: [{ jobId: blocker }],
          containerOverrides: { command: ['sh', '-c', 'echo "</pre><script>alert(1)</script>"'], environment: [{ name: 'X', value: '"><svg onload=alert(1)>' }] },
        }),
      )
    ).jobId!;
    await waitForStatus(env.client, waiting, 'PENDING');
    const first = await get(`/console/jobs/${waiting}`);
    assert.equal(first.status, 200);
    assert.ok(first.cookie, 'a session cookie');
    assert.match(first.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.ok(!first.body.includes('<script>alert(1)'), 'command escaped');
    assert.match(first.headers.get('content-security-policy') ?? '', /script-src 'self';/, 'no inline scripts would run anyway');
    assert.ok(!first.body.includes('<svg onload'), 'environment escaped');
    assert.match(first.body, /&lt;svg onload=alert\(1\)&gt;/);
    assert.match(first.body, /Scheduler’s reason:<\/b> DEPENDENCY - waiting for 1 dependency/);
    const csrf = /name="csrf" value="([^"]+)"/.exec(first.body)?.[1];
    assert.ok(csrf);

    const post = (body: string, cookie?: string) =>
      fetch(`${env.endpoint}/console/jobs/${waiting}/cancel`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) }, body, redirect: 'manual' });
    assert.equal((await post('csrf=nope', first.cookie)).status, 403);
    assert.equal((await post(`csrf=${csrf}`)).status, 403, "another session's token (no cookie: a fresh session) is refused");
    assert.equal((await waitForStatus(env.client, waiting, 'PENDING')).status, 'PENDING');
    const ok = await post(`csrf=${csrf}`, first.cookie);
    assert.equal(ok.status, 303);
    const cancelled = await waitForStatus(env.client, waiting, 'FAILED');
    assert.equal(cancelled.statusReason, 'Cancelled in the console');
    await env.client.send(new (await import('@aws-sdk/client-batch')).TerminateJobCommand({ jobId: blocker, reason: 'done' }));
  });

  test("a 10,000-child array's page: counts and a grid of 1,000 per page", async () => {
    const blocker = (await env.client.send(new SubmitJobCommand({ jobName: 'gate', jobQueue: 'default', jobDefinition: 'console-http', containerOverrides: { command: ['sleep', '300'] } }))).jobId!;
    const big = (await env.client.send(new SubmitJobCommand({ jobName: 'big', jobQueue: 'default', jobDefinition: 'console-http', arrayProperties: { size: 10_000 }, dependsOn: [{ jobId: blocker }] }))).jobId!;
    const t0 = Date.now();
    const page = await get(`/console/jobs/${big}`);
    const ms = Date.now() - t0;
    assert.equal(page.status, 200);
    assert.equal((page.body.match(/data-index="/g) ?? []).length, 1000);
    assert.match(page.body, /Children 0–999 of 10000/);
    assert.match(page.body, /PENDING<\/span> 10000/);
    assert.ok(ms < 5000, `the page took ${ms} ms`);
    const last = await get(`/console/jobs/${big}?grid=9`, page.cookie);
    assert.match(last.body, /data-index="9999"/);
    assert.match(last.body, /Children 9000–9999 of 10000/);
    const jobs = await get('/console/jobs?state=PENDING', page.cookie);
    assert.match(jobs.body, /array of 10000/);
    await env.client.send(new (await import('@aws-sdk/client-batch')).TerminateJobCommand({ jobId: blocker, reason: 'done' }));
  });

  test('bad input: unknown jobs and executions are 404 pages, odd filters are ignored, never a 500', async () => {
    assert.equal((await get('/console/jobs/nope')).status, 404);
    assert.equal((await get('/console/executions/arn%3Anope')).status, 404);
    assert.equal((await get('/console/jobs?state=BOGUS&since=abc&before=x&queue=%3Cb%3E')).status, 200);
    assert.equal((await get('/console/jobs/x?grid=-5')).status, 404);
    assert.equal((await get('/console/static/../../package.json')).status, 404);
    const login = await get('/console/login');
    assert.equal(login.status, 303, 'auth off: no login page');
  });
});
