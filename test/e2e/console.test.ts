// The web console end to end: a real server with authentication on, Debian's Chromium driven by
// playwright-core. A pipeline is submitted with the SDK and watched in the console (live, without
// reloads); the failed job's reason, exit code and log are read; the array grid, the dependency
// graph, cancel with confirmation and CSRF, a read-only key, a Step Functions execution's state
// graph, and escaping (an environment value `<script>...`). Screenshots go to
// test-artifacts/console/ (gitignored).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RegisterJobDefinitionCommand, SubmitJobCommand, type BatchClient } from '@aws-sdk/client-batch';
import type { Browser, Page } from 'playwright-core';
import { signHeaders } from '../../src/api/auth/client.js';
import { ROOT, TestServer, waitFor, waitForStatus } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'console');
const ADMIN = { accessKeyId: 'AKIDCONSOLEADMIN', secretAccessKey: 'console-admin-secret' };
const READER = { accessKeyId: 'AKIDCONSOLEREADER', secretAccessKey: 'console-reader-secret' };
const XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';

const skip = fs.existsSync(CHROMIUM) ? false : `SKIPPED: ${CHROMIUM} is absent: install Debian's chromium package (apt-get install chromium) to run the console tests`;
if (skip) process.stderr.write(`\n*** console.test.ts ${skip} ***\n\n`);

describe('web console', { skip }, () => {
  let server: TestServer;
  let client: BatchClient;
  let browser: Browser;
  let tmp: string;
  const ids: Record<string, string> = {};

  async function submit(name: string, command: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const out = await client.send(new SubmitJobCommand({ jobName: name, jobQueue: 'default', jobDefinition: 'console-e2e', containerOverrides: { command }, ...extra }));
    return out.jobId!;
  }

  /** A Step Functions call signed with the admin key. */
  async function sfn(op: string, body: Record<string, unknown>): Promise<any> {
    const url = new URL(`${server.endpoint}/`);
    const payload = JSON.stringify(body);
    const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AWSStepFunctions.${op}` };
    const signed = await signHeaders('POST', url, ADMIN, { service: 'states', body: payload, headers });
    const res = await fetch(url, { method: 'POST', headers: signed, body: payload });
    const out = await res.json();
    assert.equal(res.status, 200, JSON.stringify(out));
    return out;
  }

  async function login(page: Page, key: { accessKeyId: string; secretAccessKey: string }, next = '/console'): Promise<void> {
    await page.goto(`${server.endpoint}${next}`);
    assert.match(page.url(), /\/console\/login\?next=/);
    await page.fill('input[name=accessKeyId]', key.accessKeyId);
    await page.fill('input[name=secretAccessKey]', key.secretAccessKey);
    await page.click('button[type=submit]');
    await page.waitForURL((u) => !u.pathname.startsWith('/console/login'));
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-console-'));
    const creds = path.join(tmp, 'credentials.json');
    fs.writeFileSync(creds, JSON.stringify({ keys: [ADMIN, { ...READER, readOnly: true }] }), { mode: 0o600 });
    server = new TestServer({ args: ['--credentials-file', creds], credentials: ADMIN });
    await server.start();
    client = server.client();
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'console-e2e',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '16' }] },
      }),
    );
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  after(async () => {
    await browser?.close();
    client?.destroy();
    await server?.stop();
    server?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('login: a wrong secret is refused; the right key gets a HttpOnly SameSite=Strict session', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${server.endpoint}/console/jobs`);
    await page.fill('input[name=accessKeyId]', ADMIN.accessKeyId);
    await page.fill('input[name=secretAccessKey]', 'wrong');
    await page.click('button[type=submit]');
    assert.match(await page.textContent('.error') ?? '', /not right/);
    await shot(page, '01-login-refused');
    await login(page, ADMIN, '/console/jobs');
    assert.equal(new URL(page.url()).pathname, '/console/jobs');
    const [cookie] = await ctx.cookies();
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    // Without the cookie, the API's SigV4 still applies to everything else: /console is not a way around it.
    const anon = await fetch(`${server.endpoint}/console/fragments/jobs`, { redirect: 'manual' });
    assert.equal(anon.status, 303);
    await ctx.close();
  });

  test('a pipeline watched live: jobs appear and change state without a reload; the failed job shows its reason, exit code and log', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    await login(page, ADMIN, '/console/jobs');
    await page.waitForLoadState('load');
    // The page is open first: what follows must arrive through the event stream.
    const marker = await page.evaluate('window.__loadedOnce = Date.now()');
    ids.extract = await submit('extract', ['sh', '-c', 'echo extracted 3 rows']);
    ids.transform = await submit('transform', ['sh', '-c', 'echo "transform: bad row 2" >&2; echo boom; exit 3'], {
      dependsOn: [{ jobId: ids.extract }],
      containerOverrides: { command: ['sh', '-c', 'echo "transform: bad row 2" >&2; echo boom; exit 3'], environment: [{ name: 'NOTE', value: XSS }] },
    });
    ids.load = await submit('load', ['sh', '-c', 'echo loaded'], { dependsOn: [{ jobId: ids.transform }] });
    await page.waitForSelector(`tr[data-job="${ids.load}"]`, { timeout: 20_000 });
    await waitForStatus(server.client(), ids.load, 'FAILED', 30_000);
    await page.waitForSelector(`tr[data-job="${ids.transform}"] .badge[data-status="FAILED"]`, { timeout: 20_000 });
    assert.equal(await page.evaluate('window.__loadedOnce'), marker, 'the page was not reloaded');
    await shot(page, '02-jobs-live');

    // Filter by name prefix and state.
    await page.goto(`${server.endpoint}/console/jobs?name=trans&state=FAILED`);
    const rows = await page.$$eval('#jobs tr[data-job]', (trs) => trs.map((t) => t.getAttribute('data-job')));
    assert.deepEqual(rows, [ids.transform]);

    await page.click(`tr[data-job="${ids.transform}"] a`);
    await page.waitForSelector('#attempts');
    const reason = await page.textContent('#reason');
    assert.match(reason ?? '', /Essential container in task exited/);
    const attempt = await page.$$eval('#attempts tr:nth-child(2) td', (tds) => tds.map((t) => t.textContent));
    assert.equal(attempt[2], '3', 'exit code');
    await page.locator('#log', { hasText: 'boom' }).waitFor();
    assert.match((await page.textContent('#log')) ?? '', /transform: bad row 2/);
    // Escaped, never run: the environment value is shown as text.
    assert.equal(await page.evaluate('window.__xss'), undefined);
    assert.match((await page.textContent('#environment')) ?? '', /<script>window.__xss=1<\/script>/);
    // Links to the dependency and the dependent, and the graph of the pipeline.
    assert.equal(await page.getAttribute(`#dependencies a`, 'href'), `/console/jobs/${ids.extract}`);
    assert.equal(await page.getAttribute(`#dependents a`, 'href'), `/console/jobs/${ids.load}`);
    const nodes = await page.$$eval('svg.graph [data-node]', (as) => as.map((a) => a.getAttribute('data-node')));
    assert.deepEqual(new Set(nodes), new Set([ids.extract, ids.transform, ids.load]));
    assert.match((await page.textContent('#fields')) ?? '', /jobDefinition/);
    await shot(page, '03-failed-job');

    await page.click('#dependents a');
    await page.waitForSelector('#reason');
    assert.match((await page.textContent('#reason')) ?? '', /Dependent Job failed/);
    await ctx.close();
  });

  test('overview: queue state counts, compute environments, throughput sparkline', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    await login(page, ADMIN);
    const failed = await page.textContent('tr[data-queue="default"] td[data-metric="Failed"]');
    assert.ok(Number(failed) >= 2, `failed count ${failed}`);
    assert.match((await page.textContent('tr[data-ce="default"]')) ?? '', /default/);
    assert.equal(await page.locator('svg.sparkline polyline').count(), 1);
    assert.match((await page.textContent('#throughput')) ?? '', /[1-9]\d* jobs finished in the last hour/);
    await shot(page, '04-overview');
    await ctx.close();
  });

  test('an array job: a grid of children coloured by state with counts; a click opens a child', async () => {
    ids.array = await submit('squares', ['sh', '-c', 'echo $((AWS_BATCH_JOB_ARRAY_INDEX * AWS_BATCH_JOB_ARRAY_INDEX))'], { arrayProperties: { size: 50 } });
    await waitForStatus(server.client(), ids.array, 'SUCCEEDED', 60_000);
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    await login(page, ADMIN, `/console/jobs/${ids.array}`);
    assert.equal(await page.locator('#array-grid a[data-status="SUCCEEDED"]').count(), 50);
    assert.match((await page.textContent('#array-counts')) ?? '', /SUCCEEDED 50/);
    await shot(page, '05-array-grid');
    await page.click('#array-grid a[data-index="7"]');
    await page.locator('#log', { hasText: /^49$/m }).waitFor();
    assert.match(decodeURIComponent(page.url()), new RegExp(`${ids.array}:7$`));

    // The grid follows the children live: an array waiting on a job that is then terminated.
    const gate = await submit('gate', ['sleep', '300']);
    const gated = await submit('gated', ['true'], { arrayProperties: { size: 20 }, dependsOn: [{ jobId: gate }] });
    await waitForStatus(server.client(), gated, 'PENDING');
    await page.goto(`${server.endpoint}/console/jobs/${gated}`);
    assert.equal(await page.locator('#array-grid a').count(), 20);
    assert.equal(await page.locator('#array-grid a[data-status="SUCCEEDED"]').count(), 0);
    await page.evaluate('window.__loadedOnce = 2');
    await server.client().send(new (await import('@aws-sdk/client-batch')).TerminateJobCommand({ jobId: gate, reason: 'gate closed' }));
    await page.locator('#array-grid a[data-status="FAILED"]').nth(19).waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('#array-grid a[data-status="FAILED"]').count(), 20);
    assert.match((await page.textContent('#array-counts')) ?? '', /FAILED 20/);
    assert.equal(await page.evaluate('window.__loadedOnce'), 2, 'no reload');
    await ctx.close();
  });

  test('cancel asks for confirmation and needs the CSRF token; a read-only key has no buttons and is refused', async () => {
    const sleeper = await submit('sleeper', ['sleep', '300']);
    await waitForStatus(server.client(), sleeper, 'RUNNING', 20_000);

    const reader = await browser.newContext();
    const rp = await reader.newPage();
    await login(rp, READER, `/console/jobs/${sleeper}`);
    assert.equal(await rp.locator('#cancel').count(), 0);
    assert.match((await rp.textContent('main')) ?? '', /read-only/);
    // Even with a token of its own session, the read-only key is refused.
    const status = await rp.evaluate(async (id) => {
      const csrf = 'x';
      const r = await fetch(`/console/jobs/${id}/terminate`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${csrf}` });
      return r.status;
    }, sleeper);
    assert.equal(status, 403);
    await reader.close();

    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    await login(page, ADMIN, `/console/jobs/${sleeper}`);
    // Without the session's token: refused, nothing changes.
    const forged = await page.evaluate(async (id) => (await fetch(`/console/jobs/${id}/terminate`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=forged' })).status, sleeper);
    assert.equal(forged, 403);
    // Dismissing the confirmation does nothing.
    page.once('dialog', (d) => void d.dismiss());
    await page.click('#terminate');
    assert.equal((await server.client().send(new (await import('@aws-sdk/client-batch')).DescribeJobsCommand({ jobs: [sleeper] }))).jobs?.[0].status, 'RUNNING');
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await page.click('#terminate');
    await page.waitForSelector('.badge[data-status="FAILED"]', { timeout: 20_000 });
    assert.match(asked, /Terminate job sleeper\?/);
    assert.match((await page.textContent('#reason')) ?? '', /Terminated in the console by AKIDCONSOLEADMIN/);
    await shot(page, '06-terminated');

    // A job's page follows its state live: terminated through the API while the page is open.
    const other = await submit('sleeper2', ['sleep', '300']);
    await waitForStatus(server.client(), other, 'RUNNING', 20_000);
    await page.goto(`${server.endpoint}/console/jobs/${other}`);
    await page.waitForSelector('#status .badge[data-status="RUNNING"]');
    await page.evaluate('window.__loadedOnce = 1');
    await server.client().send(new (await import('@aws-sdk/client-batch')).TerminateJobCommand({ jobId: other, reason: 'stopped from elsewhere' }));
    await page.waitForSelector('#status .badge[data-status="FAILED"]', { timeout: 20_000 });
    assert.match((await page.textContent('#reason')) ?? '', /stopped from elsewhere/);
    assert.equal(await page.evaluate('window.__loadedOnce'), 1, 'no reload');
    await ctx.close();
  });

  test('Step Functions: executions listed; a running execution shows its state graph with the current state highlighted, and its history', async () => {
    const definition = {
      StartAt: 'Prepare',
      States: { Prepare: { Type: 'Pass', Next: 'Hold' }, Hold: { Type: 'Wait', Seconds: 600, Next: 'Done' }, Done: { Type: 'Succeed' } },
    };
    const sm = await sfn('CreateStateMachine', { name: 'console-flow', definition: JSON.stringify(definition), roleArn: 'arn:aws:iam::000000000000:role/sfn' });
    const exec = await sfn('StartExecution', { stateMachineArn: sm.stateMachineArn, name: 'run-1', input: '{"n":1}' });
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    await login(page, ADMIN, '/console/executions');
    await page.click('table[data-machine="console-flow"] a');
    await page.waitForSelector('svg.graph');
    // The runner enters Hold right after the start: wait for the history to say so, then look again.
    await waitFor('the execution to enter Hold', async () => ((await sfn('GetExecutionHistory', { executionArn: exec.executionArn })).events as { type: string }[]).some((e) => e.type === 'WaitStateEntered'));
    await page.reload();
    assert.match((await page.textContent('#current-state')) ?? '', /current state: Hold/);
    const stroke = await page.getAttribute('svg.graph a[data-node="Hold"] rect', 'stroke-width');
    assert.equal(stroke, '3');
    assert.match((await page.textContent('#history')) ?? '', /ExecutionStarted[\s\S]*PassStateEntered[\s\S]*WaitStateEntered/);
    await shot(page, '07-step-functions');
    // The page follows the execution: stopped through the API, it shows ABORTED without a reload.
    await page.evaluate('window.__loadedOnce = 3');
    await sfn('StopExecution', { executionArn: exec.executionArn });
    await page.locator('#execution-status .badge[data-status="ABORTED"]').waitFor({ timeout: 20_000 });
    assert.equal(await page.evaluate('window.__loadedOnce'), 3, 'no reload');
    await ctx.close();
  });
});
