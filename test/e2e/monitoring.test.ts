// The files in monitoring/: the alert rules parse and behave (promtool check rules / test rules),
// the exposition passes promtool's lint, and the Grafana dashboard and the alert rules use only
// metric names a real server exposes.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, TestServer } from '../helpers/server.js';
import { familyOf, parseExposition, type Exposition } from '../helpers/prometheus.js';

const MONITORING = path.join(ROOT, 'monitoring');
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p));
const NO_PROMTOOL = 'promtool is not installed: apt-get install --no-install-recommends prometheus (Debian package "prometheus") to check the alert rules';


async function promtool(args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(PROMTOOL!, args, { cwd: MONITORING }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

// PromQL words that are not metric names.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'le', 'inf', 'nan']);

/** The metric names a PromQL expression selects (not functions, labels, strings or Grafana variables). */
function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\{[^}]*\}/g, '{}') // label matchers
    .replace(/\[[^\]]*\]/g, '[]') // ranges ($__rate_interval included)
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1()') // grouping labels
    .replace(/\$\w+/g, ''); // Grafana variables
  const out: string[] = [];
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const rest = s.slice(m.index! + word.length);
    if (/^\s*(?:(?:by|without)\s*\(\)\s*)?\(/.test(rest)) continue; // a function, or an aggregation with by/without
    if (KEYWORDS.has(word.toLowerCase())) continue;
    if (/^\d/.test(word)) continue;
    out.push(word);
  }
  return out;
}

/** Every PromQL expression of the dashboard: panel targets and variable queries. */
function dashboardExpressions(dashboard: { panels?: unknown[]; templating?: { list?: { type?: string; query?: unknown; definition?: string }[] } }): string[] {
  const exprs: string[] = [];
  const walk = (panels: unknown[] | undefined) => {
    for (const p of (panels ?? []) as { targets?: { expr?: string }[]; panels?: unknown[] }[]) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    // label_values(metric, label): the metric is what must exist.
    const m = /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q ?? '');
    if (m) exprs.push(m[1]);
  }
  return exprs;
}

function alertExpressions(yaml: string): string[] {
  // The rules file is ours and simple: `expr:` either inline or as a `|` block.
  const exprs: string[] = [];
  const lines = yaml.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    if (m[2] !== '|' && m[2] !== '>') {
      exprs.push(m[2]);
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > m[1].length)) block.push(lines[++i]);
    exprs.push(block.join('\n'));
  }
  return exprs;
}

describe('monitoring/', () => {
  let server: TestServer;
  let exposition: Exposition;
  let text: string;

  before(async () => {
    server = await new TestServer().start();
    // One request so that the API series exist too.
    await fetch(`${server.endpoint}/v1/describejobqueues`, { method: 'POST', body: '{}' });
    const res = await fetch(`${server.endpoint}/metrics`);
    text = await res.text();
    exposition = parseExposition(text);
  });
  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  test('the metric-name extractor finds names and nothing else', () => {
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (le, api) (rate(openbatch_x_bucket{job_queue=~"$job_queue"}[$__rate_interval])))'), ['openbatch_x_bucket']);
    assert.deepEqual(metricNames('a > 0 and b / c >= 1'), ['a', 'b', 'c']);
    assert.deepEqual(metricNames('sum by (reason) (increase(x_total[5m])) > 20'), ['x_total']);
  });

  test('the Grafana dashboard uses only metrics the server exposes', () => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(MONITORING, 'grafana-dashboard.json'), 'utf8'));
    const exprs = dashboardExpressions(dashboard);
    assert.ok(exprs.length >= 20, `the dashboard has its queries (${exprs.length})`);
    const names = new Set(exprs.flatMap(metricNames));
    for (const name of names) assert.ok(familyOf(name, exposition.types), `the dashboard uses ${name}, which GET /metrics does not expose`);
    // And it shows the five AWS queue metrics.
    for (const m of ['openbatch_pending_jobs', 'openbatch_runnable_jobs', 'openbatch_running_jobs', 'openbatch_succeeded_jobs_last_minute', 'openbatch_failed_jobs_last_minute']) {
      assert.ok(names.has(m), `the dashboard shows ${m}`);
    }
  });

  test('the alert rules use only metrics the server exposes (and up)', () => {
    const exprs = alertExpressions(fs.readFileSync(path.join(MONITORING, 'prometheus-alerts.yml'), 'utf8'));
    assert.ok(exprs.length >= 2);
    for (const name of new Set(exprs.flatMap(metricNames))) {
      if (name === 'up') continue; // Prometheus's own series for a scrape target
      assert.ok(familyOf(name, exposition.types), `an alert uses ${name}, which GET /metrics does not expose`);
    }
  });

  test('promtool check rules and test rules', async (t) => {
    if (!PROMTOOL) {
      console.warn(`SKIPPED: ${NO_PROMTOOL}`);
      return t.skip(NO_PROMTOOL);
    }
    const check = await promtool(['check', 'rules', 'prometheus-alerts.yml']);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /SUCCESS: \d+ rules found/);
    const unit = await promtool(['test', 'rules', 'prometheus-alerts.test.yml']);
    assert.equal(unit.code, 0, unit.out);
    // A broken rule is refused, so the check above means something.
    const broken = path.join(fs.mkdtempSync(path.join(server.dataDir, 'rules-')), 'broken.yml');
    fs.writeFileSync(broken, 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(openbatch_jobs_failed_total[5m] > 0\n');
    const bad = await promtool(['check', 'rules', broken]);
    assert.notEqual(bad.code, 0, bad.out);
  });

  test('promtool check metrics finds nothing to say about the openbatch_ metrics', async (t) => {
    if (!PROMTOOL) {
      console.warn(`SKIPPED: ${NO_PROMTOOL}`);
      return t.skip(NO_PROMTOOL);
    }
    const lint = await promtool(['check', 'metrics'], text);
    // prom-client's own nodejs_* defaults have naming lint (…_total gauges); ours must have none.
    const ours = lint.out.split('\n').filter((l) => l.startsWith('openbatch_'));
    assert.deepEqual(ours, [], lint.out);
  });
});

