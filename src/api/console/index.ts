// The web console at /console: server-rendered HTML (html.ts templates), htmx for partial
// refreshes and its SSE extension for live updates (GET /console/events says when job counts
// change, and ticks for log tails). Its own authentication: a login with an access key, then a
// session cookie (sessions.ts); SigV4 does not apply to these routes (browsers cannot sign).
// Data comes from the service and the store's paginated listings, never whole tables.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Arns } from '../../core/arn.js';
import { logLocation } from '../../core/log-location.js';
import type { Job, JobStatus } from '../../core/types.js';
import type { BatchService } from '../../service/index.js';
import { logFilePath } from '../../store/log-files.js';
import { presentJobDetail } from '../batch/present.js';
import type { SecurityOptions } from '../auth/index.js';
import { badge, html, layeredGraph, layout, sparkline, time, type GraphNode, type Html } from './html.js';
import { clearCookie, cookieOf, Sessions, setCookie, type Session } from './sessions.js';
import { registerStatesConsole } from './states.js';

type Json = Record<string, any>;

export interface ConsoleDeps {
  service: BatchService;
  arns: Arns;
  dataDir: string;
  security?: SecurityOptions;
}

const STATUSES: JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];
/** The five AWS queue metrics (src/server/metrics.ts AWS_QUEUE_METRICS), by state. */
const METRICS: [string, JobStatus[]][] = [
  ['Pending', ['SUBMITTED', 'PENDING']],
  ['Runnable', ['RUNNABLE']],
  ['Running', ['STARTING', 'RUNNING']],
  ['Succeeded', ['SUCCEEDED']],
  ['Failed', ['FAILED']],
];
const PAGE = 100;
const GRID_PAGE = 1000;
const LOG_TAIL_BYTES = 64 * 1024;
const EVENTS_POLL_MS = 1000;

const requireHere = createRequire(import.meta.url);
const STATIC: Record<string, string> = {
  'htmx.min.js': 'htmx.org/dist/htmx.min.js',
  'sse.min.js': 'htmx-ext-sse/dist/sse.min.js',
};

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: Session;
  }
}

function parseForm(body: unknown): URLSearchParams {
  return new URLSearchParams(Buffer.isBuffer(body) ? body.toString('utf8') : '');
}

export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): void {
  const { service, arns } = deps;
  const sessions = new Sessions(deps.security?.keys);
  const ceUuid = (name: string) => service.ctx.registry.computeEnvironments.get(name)?.uuid ?? '00000000-0000-0000-0000-000000000000';
  const open = { config: { auth: false as const } };
  const streams = new Set<NodeJS.WritableStream & { end(): void }>();

  /** The session, or a redirect to the login page (auth on) / a fresh anonymous session (auth off). */
  async function session(request: FastifyRequest, reply: FastifyReply): Promise<Session | undefined> {
    const existing = sessions.get(cookieOf(request));
    if (existing) return existing;
    if (sessions.authOn) {
      if (request.headers['hx-request']) reply.header('HX-Redirect', '/console/login');
      reply.redirect(`/console/login?next=${encodeURIComponent(request.url)}`, 303);
      return undefined;
    }
    const s = sessions.create(undefined);
    setCookie(request, reply, s);
    return s;
  }

  function page(reply: FastifyReply, s: Session, title: string, body: Html, live = false): FastifyReply {
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-frame-options', 'DENY')
      // Defence in depth behind the escaping: scripts only from /console/static, none inline.
      .header('content-security-policy', "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
      .send(layout(title, body, { user: s.key?.accessKeyId ?? (sessions.authOn ? undefined : 'authentication off'), live }));
  }

  function fragment(reply: FastifyReply, body: Html): FastifyReply {
    return reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body.text);
  }

  function notFound(reply: FastifyReply, s: Session, what: string): FastifyReply {
    return page(reply.code(404), s, 'Not found', html`<p class="error">${what} does not exist.</p>`);
  }

  app.get('/console/static/:file', open, async (request, reply) => {
    const file = STATIC[(request.params as { file: string }).file];
    if (!file) return reply.code(404).send('not found');
    return reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(fs.createReadStream(requireHere.resolve(file)));
  });

  // ----- login

  const loginPage = (next: string, error?: string) =>
    layout(
      'Log in',
      html`<h1>Log in</h1>${error ? html`<p class="error">${error}</p>` : ''}
<form method="post" action="/console/login"><input type="hidden" name="next" value="${next}">
<p><label>Access key id<br><input name="accessKeyId" autocomplete="username" required></label></p>
<p><label>Secret access key<br><input name="secretAccessKey" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Log in</button></p></form>`,
    );

  /** Only local console paths: never an open redirect. */
  const safeNext = (next: string | null | undefined) => (next && /^\/console(\/|$|\?)/.test(next) && !next.startsWith('//') ? next : '/console');

  app.get('/console/login', open, async (request, reply) => {
    const { next } = request.query as { next?: string };
    if (!sessions.authOn) return reply.redirect('/console', 303);
    return reply.header('content-type', 'text/html; charset=utf-8').send(loginPage(safeNext(next)));
  });

  app.post('/console/login', open, async (request, reply) => {
    const form = parseForm(request.body);
    const next = safeNext(form.get('next'));
    if (!sessions.authOn) return reply.redirect(next, 303);
    if (!sessions.loginAllowed(request.ip)) {
      return reply.code(429).header('content-type', 'text/html; charset=utf-8').send(loginPage(next, 'Too many failed logins from this address: wait a minute.'));
    }
    const key = sessions.verify(form.get('accessKeyId') ?? '', form.get('secretAccessKey') ?? '');
    if (!key) sessions.loginFailed(request.ip);
    if (!key) return reply.code(401).header('content-type', 'text/html; charset=utf-8').send(loginPage(next, 'The access key id or secret is not right.'));
    const s = sessions.create(key);
    setCookie(request, reply, s);
    return reply.redirect(next, 303);
  });

  app.post('/console/logout', open, async (request, reply) => {
    sessions.delete(cookieOf(request));
    clearCookie(reply);
    return reply.redirect(sessions.authOn ? '/console/login' : '/console', 303);
  });

  // ----- live updates

  // One poll of the store for all open streams: a "change" event when the job counts moved (the
  // pages re-fetch their tables), and a "tick" every poll (log tails).
  let lastCounts = '';
  let poller: NodeJS.Timeout | undefined;
  const broadcast = (text: string) => {
    for (const s of streams) s.write(text);
  };
  const poll = async () => {
    try {
      const counts = JSON.stringify(await service.ctx.store.jobCountsByQueue());
      if (counts !== lastCounts) {
        lastCounts = counts;
        broadcast(`event: change\ndata: ${Date.now()}\n\n`);
      }
      broadcast(`event: tick\ndata: ${Date.now()}\n\n`);
    } catch {
      // the store is closing: the streams end with the server
    }
    poller = streams.size > 0 ? setTimeout(poll, EVENTS_POLL_MS) : undefined;
  };

  app.get('/console/events', open, async (request, reply) => {
    const s = sessions.get(cookieOf(request));
    if (!s && sessions.authOn) return reply.code(401).send('log in first');
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    // A new stream always starts with a change: its page may be older than the last poll.
    res.write(`: openbatch console\n\nevent: change\ndata: ${Date.now()}\n\n`);
    streams.add(res);
    if (!poller) poller = setTimeout(poll, EVENTS_POLL_MS);
    request.raw.on('close', () => streams.delete(res));
  });
  // Event streams never end by themselves: end them so the server can close.
  app.addHook('preClose', async () => {
    clearTimeout(poller);
    for (const s of streams) s.end();
    streams.clear();
  });

  // ----- overview

  app.get('/console', open, async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    return page(reply, s, 'Overview', html`<h1>Overview</h1><div hx-get="/console/fragments/overview" hx-trigger="load, sse:change" hx-swap="innerHTML">${await overview()}</div>`, true);
  });

  app.get('/console/fragments/overview', open, async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    return fragment(reply, await overview());
  });

  async function overview(): Promise<Html> {
    const now = service.ctx.now();
    const counts = new Map<string, Partial<Record<JobStatus, number>>>();
    for (const row of await service.ctx.store.jobCountsByQueue()) {
      // Array parents are summarised by their children: count the children, not the parent twice.
      if (row.kind === 'array') continue;
      const c = counts.get(row.jobQueue) ?? {};
      c[row.status] = (c[row.status] ?? 0) + row.count;
      counts.set(row.jobQueue, c);
    }
    const queues = [...service.ctx.registry.jobQueues.values()].sort((a, b) => a.jobQueueName.localeCompare(b.jobQueueName));
    const queueRows = queues.map((q) => {
      const c = counts.get(q.jobQueueName) ?? {};
      return html`<tr data-queue="${q.jobQueueName}"><td><a href="/console/jobs?queue=${encodeURIComponent(q.jobQueueName)}">${q.jobQueueName}</a></td><td>${q.state}</td><td>${q.priority}</td>${METRICS.map(
        ([name, sts]) => html`<td data-metric="${name}"><a href="/console/jobs?queue=${encodeURIComponent(q.jobQueueName)}&state=${sts[sts.length - 1]}">${sts.reduce((n, st) => n + (c[st] ?? 0), 0)}</a></td>`,
      )}</tr>`;
    });
    const bar = (used: number, cap: number) => html`<span class="bar"><span style="width:${cap > 0 ? Math.min(100, Math.round((used / cap) * 100)) : 0}%"></span></span> ${used} / ${cap}`;
    const ceRows = [...service.ctx.registry.computeEnvironments.values()].map((ce) => {
      const used = service.ctx.hooks.usageOf(ce.computeEnvironmentName);
      return html`<tr data-ce="${ce.computeEnvironmentName}"><td>${ce.computeEnvironmentName}</td><td>${ce.state}</td><td>${ce.status}</td><td>${bar(used.vcpus, ce.capacity.vcpus)}</td><td>${bar(used.memory, ce.capacity.memory)} MiB</td><td>${bar(used.gpus, ce.capacity.gpus)}</td></tr>`;
    });
    // Jobs finished per minute over the last hour (by stop time; bounded listing per queue).
    const buckets = new Array<number>(60).fill(0);
    const since = now - 3600_000;
    for (const q of queues) {
      const finished = await service.ctx.store.listJobs({ jobQueue: q.jobQueueName, statuses: ['SUCCEEDED', 'FAILED'], createdAfter: since - 24 * 3600_000, order: 'desc', limit: 5000 });
      for (const j of finished) {
        if (j.stoppedAt === undefined || j.stoppedAt < since) continue;
        buckets[Math.min(59, Math.floor((j.stoppedAt - since) / 60_000))]++;
      }
    }
    const total = buckets.reduce((a, b) => a + b, 0);
    return html`<h2>Job queues</h2><table id="queues"><tr><th>Queue</th><th>State</th><th>Priority</th>${METRICS.map(([n]) => html`<th>${n}</th>`)}</tr>${queueRows}</table>
<h2>Compute environments</h2><table id="ces"><tr><th>Name</th><th>State</th><th>Status</th><th>vCPUs in use</th><th>Memory in use</th><th>GPUs in use</th></tr>${ceRows}</table>
<h2>Throughput</h2><p>${sparkline(buckets)} <span class="muted" id="throughput">${total} jobs finished in the last hour (per minute)</span></p>`;
  }

  // ----- jobs

  interface JobFilter {
    queue?: string;
    state?: JobStatus;
    name?: string;
    sinceMinutes?: number;
    before?: number;
  }

  function filterOf(query: Json): JobFilter {
    const f: JobFilter = {};
    if (typeof query.queue === 'string' && query.queue) f.queue = query.queue;
    if (typeof query.state === 'string' && (STATUSES as string[]).includes(query.state)) f.state = query.state as JobStatus;
    if (typeof query.name === 'string' && query.name) f.name = query.name.slice(0, 128);
    const since = Number(query.since);
    if (query.since && Number.isFinite(since) && since > 0) f.sinceMinutes = since;
    const before = Number(query.before);
    if (query.before && Number.isFinite(before)) f.before = before;
    return f;
  }

  const queryString = (f: JobFilter) => {
    const p = new URLSearchParams();
    if (f.queue) p.set('queue', f.queue);
    if (f.state) p.set('state', f.state);
    if (f.name) p.set('name', f.name);
    if (f.sinceMinutes) p.set('since', String(f.sinceMinutes));
    if (f.before) p.set('before', String(f.before));
    return p.toString();
  };

  async function jobsTable(f: JobFilter): Promise<Html> {
    const queues = f.queue ? [f.queue] : [...service.ctx.registry.jobQueues.keys()];
    let jobs: Job[] = [];
    for (const q of queues) {
      jobs.push(
        ...(await service.ctx.store.listJobs({
          jobQueue: q,
          ...(f.state ? { statuses: [f.state] } : {}),
          ...(f.name ? { jobName: `${f.name}*` } : {}),
          ...(f.sinceMinutes ? { createdAfter: service.ctx.now() - f.sinceMinutes * 60_000 } : {}),
          ...(f.before ? { createdBefore: f.before } : {}),
          order: 'desc',
          limit: PAGE + 1,
        })),
      );
    }
    jobs.sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq);
    const more = jobs.length > PAGE;
    jobs = jobs.slice(0, PAGE);
    // Waiting jobs get the scheduler's reason, as DescribeJobs gives it.
    const waiting = jobs.filter((j) => j.status === 'RUNNABLE' || j.status === 'PENDING').map((j) => j.jobId);
    const reasons = new Map((waiting.length ? await service.jobs.describe({ jobs: waiting }) : []).map((v) => [v.job.jobId, v.job.statusReason]));
    const rows = jobs.map(
      (j) =>
        html`<tr data-job="${j.jobId}"><td><a href="/console/jobs/${encodeURIComponent(j.jobId)}">${j.jobName}</a><br><span class="muted">${j.jobId}</span></td><td>${j.jobQueue}</td><td>${badge(j.status)}</td><td>${j.array ? `array of ${j.array.size}` : ''}</td><td>${time(j.createdAt)}</td><td>${time(j.stoppedAt)}</td><td>${j.status === 'SUCCEEDED' ? '' : (reasons.get(j.jobId) ?? j.statusReason ?? '')}</td></tr>`,
    );
    const older = more ? html`<p><a href="/console/jobs?${queryString({ ...f, before: jobs[jobs.length - 1].createdAt })}">Older jobs →</a></p>` : '';
    return html`<table id="jobs"><tr><th>Job</th><th>Queue</th><th>State</th><th>Array</th><th>Created</th><th>Stopped</th><th>Reason</th></tr>${rows}</table>${jobs.length === 0 ? html`<p class="muted">No jobs match.</p>` : ''}${older}`;
  }

  app.get('/console/jobs', open, async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    const f = filterOf(request.query as Json);
    const queues = [...service.ctx.registry.jobQueues.keys()].sort();
    const form = html`<form method="get" action="/console/jobs" id="filter">
<label>Queue <select name="queue"><option value="">all</option>${queues.map((q) => html`<option${f.queue === q ? html` selected` : ''}>${q}</option>`)}</select></label>
<label>State <select name="state"><option value="">all</option>${STATUSES.map((st) => html`<option${f.state === st ? html` selected` : ''}>${st}</option>`)}</select></label>
<label>Name starts with <input name="name" value="${f.name ?? ''}"></label>
<label>Created in the last <input name="since" size="4" value="${f.sinceMinutes ?? ''}"> minutes</label>
<button>Filter</button></form>`;
    return page(
      reply,
      s,
      'Jobs',
      html`<h1>Jobs</h1>${form}<div id="jobs-live" hx-get="/console/fragments/jobs?${queryString(f)}" hx-trigger="sse:change" hx-swap="innerHTML">${await jobsTable(f)}</div>`,
      true,
    );
  });

  app.get('/console/fragments/jobs', open, async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    return fragment(reply, await jobsTable(filterOf(request.query as Json)));
  });

  // ----- job detail

  function value(v: unknown): Html {
    if (v !== null && typeof v === 'object') return html`<pre class="json">${JSON.stringify(v, null, 2)}</pre>`;
    return html`${String(v)}`;
  }

  async function graphOf(job: Job): Promise<Html> {
    // Parents up to 3 levels, children up to 3 levels, at most 60 jobs: a pipeline's neighbourhood.
    const layer = new Map<string, number>([[job.jobId, 0]]);
    const edges: { from: string; to: string }[] = [];
    let frontier = [job.jobId];
    for (let d = 1; d <= 3 && frontier.length && layer.size < 60; d++) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const dep of await service.ctx.store.dependenciesOf(id)) {
          edges.push({ from: dep, to: id });
          if (!layer.has(dep) && layer.size < 60) {
            layer.set(dep, -d);
            next.push(dep);
          }
        }
      }
      frontier = next;
    }
    frontier = [job.jobId];
    for (let d = 1; d <= 3 && frontier.length && layer.size < 60; d++) {
      const next: string[] = [];
      for (const e of await service.ctx.store.dependentsOf(frontier)) {
        edges.push({ from: e.dependsOn, to: e.jobId });
        if (!layer.has(e.jobId) && layer.size < 60) {
          layer.set(e.jobId, d);
          next.push(e.jobId);
        }
      }
      frontier = next;
    }
    if (layer.size === 1) return html``;
    const jobs = await service.ctx.store.getJobs([...layer.keys()]);
    const nodes: GraphNode[] = jobs.map((j) => ({ id: j.jobId, label: j.jobName, status: j.status, layer: layer.get(j.jobId)!, href: `/console/jobs/${encodeURIComponent(j.jobId)}`, current: j.jobId === job.jobId }));
    const unique = [...new Map(edges.map((e) => [`${e.from}>${e.to}`, e])).values()];
    return html`<h2>Dependency graph</h2>${layeredGraph(nodes, unique)}`;
  }

  async function arrayGrid(job: Job, pageNo: number): Promise<Html> {
    const size = job.array!.size;
    const pages = Math.ceil(size / GRID_PAGE);
    const p = Math.min(Math.max(0, pageNo), pages - 1);
    const children = await service.ctx.store.listJobs({ arrayParentId: job.jobId, order: 'asc', afterArrayIndex: p * GRID_PAGE - 1, limit: GRID_PAGE });
    const cells = children.map(
      (c) => html`<a href="/console/jobs/${encodeURIComponent(c.jobId)}" data-index="${c.arrayIndex}" data-status="${c.status}" title="[${c.arrayIndex}] ${c.status}" style="background:${badgeColour(c.status)}"></a>`,
    );
    const nav =
      pages > 1
        ? html`<p>Children ${p * GRID_PAGE}–${Math.min(size, (p + 1) * GRID_PAGE) - 1} of ${size}: ${p > 0 ? html`<a href="?grid=${p - 1}">← previous</a>` : ''} ${p < pages - 1 ? html`<a href="?grid=${p + 1}">next →</a>` : ''}</p>`
        : '';
    return html`${nav}<div class="grid" id="array-grid">${cells}</div>`;
  }

  function badgeColour(status: string): string {
    return { SUBMITTED: '#9aa5b1', PENDING: '#c0a060', RUNNABLE: '#e0b020', STARTING: '#60a0e0', RUNNING: '#2070d0', SUCCEEDED: '#30a050', FAILED: '#d03030' }[status] ?? '#777';
  }

  /** Counts (all seven states, as DescribeJobs' statusSummary) and the grid page. */
  async function arrayBlock(unfinished: Partial<Record<JobStatus, number>>, job: Job, gridPage: number): Promise<Html> {
    const counts: Partial<Record<JobStatus, number>> = { ...unfinished, SUCCEEDED: job.array!.succeeded, FAILED: job.array!.failed };
    return html`<p id="array-counts">${STATUSES.map((st) => html`${badge(st)} ${counts[st] ?? 0} `)}</p>${await arrayGrid(job, gridPage)}`;
  }

  app.get('/console/jobs/:jobId/array', open, async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    const { jobId } = request.params as { jobId: string };
    const [view] = await service.jobs.describe({ jobs: [jobId] });
    if (!view?.job.array) return fragment(reply.code(404), html`<p class="error">Array job ${jobId} does not exist.</p>`);
    return fragment(reply, await arrayBlock(view.childStatusCounts ?? {}, view.job, Number((request.query as Json).grid ?? 0) || 0));
  });

  app.get('/console/jobs/:jobId', open, async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    const { jobId } = request.params as { jobId: string };
    const [view] = await service.jobs.describe({ jobs: [jobId] });
    if (!view) return notFound(reply, s, `Job ${jobId}`);
    const job = view.job;
    const record = presentJobDetail(view, arns, ceUuid);
    const ended = job.status === 'SUCCEEDED' || job.status === 'FAILED';
    const canWrite = !s.key || (!s.key.readOnly && (!s.key.jobQueues || s.key.jobQueues.includes(job.jobQueue)));
    const actions =
      !ended && canWrite
        ? html`<p>${(['cancel', 'terminate'] as const).map(
            (kind) =>
              html`<form class="inline" method="post" action="/console/jobs/${encodeURIComponent(job.jobId)}/${kind}" hx-post="/console/jobs/${encodeURIComponent(job.jobId)}/${kind}" hx-confirm="${kind === 'cancel' ? 'Cancel' : 'Terminate'} job ${job.jobName}?"><input type="hidden" name="csrf" value="${s.csrf}"><button class="danger" id="${kind}">${kind === 'cancel' ? 'Cancel job' : 'Terminate job'}</button></form> `,
          )}</p>`
        : !ended
          ? html`<p class="muted">This access key is read-only for this job: it cannot cancel or terminate it.</p>`
          : '';
    const c = (record.container ?? {}) as Json;
    const attempts = view.attempts.length
      ? html`<h2>Attempts</h2><table id="attempts"><tr><th>#</th><th>State</th><th>Exit code</th><th>Reason</th><th>Started</th><th>Stopped</th><th>Peak memory (MiB)</th><th>CPU (s)</th><th>Log stream</th></tr>${view.attempts.map(
          (a) =>
            html`<tr><td>${a.attempt}</td><td>${a.status}</td><td>${a.exitCode ?? '-'}</td><td>${[a.statusReason, a.reason].filter(Boolean).join('; ') || '-'}</td><td>${time(a.startedAt)}</td><td>${time(a.stoppedAt)}</td><td>${a.peakMemoryMiB !== undefined ? a.peakMemoryMiB.toFixed(1) : '-'}</td><td>${a.cpuSeconds !== undefined ? a.cpuSeconds.toFixed(2) : '-'}</td><td>${a.logStreamName}</td></tr>`,
        )}</table>`
      : html`<p class="muted">No attempt yet.</p>`;
    const env = (c.environment ?? []) as { name: string; value: string }[];
    const deps = await service.ctx.store.dependenciesOf(job.jobId);
    const dependents = (await service.ctx.store.dependentsOf([job.jobId])).map((e) => e.jobId);
    const link = (id: string) => html`<a href="/console/jobs/${encodeURIComponent(id)}">${id}</a>`;
    const gridPage = Number((request.query as Json).grid ?? 0) || 0;
    const arraySection = job.array
      ? html`<h2>Array children</h2><div id="array"${ended ? '' : html` hx-get="/console/jobs/${encodeURIComponent(job.jobId)}/array?grid=${gridPage}" hx-trigger="sse:change" hx-swap="innerHTML"`}>${await arrayBlock(view.childStatusCounts ?? {}, job, gridPage)}</div>`
      : '';
    const parentLink = job.arrayParentId ? html`<p>Child ${job.arrayIndex} of array job ${link(job.arrayParentId)}</p>` : '';
    const fields = Object.entries(record).filter(([k]) => k !== 'attempts');
    const body = html`<h1>${job.jobName}</h1><div id="status"${ended ? '' : html` hx-get="/console/jobs/${encodeURIComponent(job.jobId)}/status" hx-trigger="sse:change" hx-swap="innerHTML"`}>${statusLine(job)}</div><p class="muted">${job.jobId}</p>${parentLink}
${actions}
<h2>Command</h2><pre id="command">${((c.command ?? []) as string[]).map((a) => JSON.stringify(a)).join(' ')}</pre>
${env.length ? html`<h2>Environment</h2><table id="environment">${env.map((e) => html`<tr><td>${e.name}</td><td>${e.value}</td></tr>`)}</table>` : ''}
${attempts}
<h2>Log</h2><div id="log"${ended ? '' : html` hx-get="/console/jobs/${encodeURIComponent(job.jobId)}/log" hx-trigger="sse:tick" hx-swap="innerHTML"`}><pre>${await logTail(view.job, view.attempts)}</pre></div>
${arraySection}
<h2>Dependencies</h2><p id="dependencies">${deps.length ? deps.map((d) => html`${link(d)} `) : html`<span class="muted">none</span>`}</p>
<h2>Dependents</h2><p id="dependents">${dependents.length ? dependents.map((d) => html`${link(d)} `) : html`<span class="muted">none</span>`}</p>
${await graphOf(job)}
<h2>All fields (DescribeJobs)</h2><table id="fields">${fields.map(([k, v]) => html`<tr><th>${k}</th><td>${value(v)}</td></tr>`)}</table>`;
    return page(reply, s, job.jobName, body, true);
  });

  /** The state badge and reason (why it waits, or why it ended): refreshed live while the job runs. */
  function statusLine(job: Job): Html {
    return html`${badge(job.status)}${job.statusReason ? html`<p id="reason"><b>${job.status === 'RUNNABLE' || job.status === 'PENDING' ? 'Scheduler’s reason' : 'Reason'}:</b> ${job.statusReason}</p>` : ''}`;
  }

  app.get('/console/jobs/:jobId/status', open, async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    const { jobId } = request.params as { jobId: string };
    const [view] = await service.jobs.describe({ jobs: [jobId] });
    if (!view) return fragment(reply.code(404), html`<p class="error">Job ${jobId} does not exist.</p>`);
    return fragment(reply, statusLine(view.job));
  });

  async function logTail(job: Job, attempts: { attempt: number; taskId: string; logStreamName: string }[]): Promise<string> {
    const a = [...attempts].sort((x, y) => y.attempt - x.attempt)[0];
    if (!a) return '(no output yet)';
    const { logGroupName } = logLocation(job, a.taskId);
    const file = logFilePath(deps.dataDir, logGroupName, a.logStreamName);
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'r');
      const size = fs.fstatSync(fd).size;
      const start = Math.max(0, size - LOG_TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      let text = buf.toString('utf8');
      if (start > 0) text = text.slice(text.indexOf('\n') + 1);
      return text || '(no output yet)';
    } catch {
      return '(no output yet)';
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  app.get('/console/jobs/:jobId/log', open, async (request, reply) => {
    const s = await session(request, reply);
    if (!s) return reply;
    const { jobId } = request.params as { jobId: string };
    const [view] = await service.jobs.describe({ jobs: [jobId] });
    if (!view) return fragment(reply.code(404), html`<p class="error">Job ${jobId} does not exist.</p>`);
    return fragment(reply, html`<pre>${await logTail(view.job, view.attempts)}</pre>`);
  });

  for (const kind of ['cancel', 'terminate'] as const) {
    app.post(`/console/jobs/:jobId/${kind}`, open, async (request, reply) => {
      const s = await session(request, reply);
      if (!s) return reply;
      const { jobId } = request.params as { jobId: string };
      const form = parseForm(request.body);
      if (!sessions.checkCsrf(s, form.get('csrf'))) return page(reply.code(403), s, 'Forbidden', html`<p class="error">The request did not carry this session's CSRF token; reload the page and try again.</p>`);
      const job = await service.ctx.store.getJob(jobId);
      if (!job) return notFound(reply, s, `Job ${jobId}`);
      if (s.key?.readOnly || (s.key?.jobQueues && !s.key.jobQueues.includes(job.jobQueue))) {
        return page(reply.code(403), s, 'Forbidden', html`<p class="error">Access key ${s.key.accessKeyId} may not ${kind} jobs of queue ${job.jobQueue}.</p>`);
      }
      const reason = `${kind === 'cancel' ? 'Cancelled' : 'Terminated'} in the console${s.key ? ` by ${s.key.accessKeyId}` : ''}`;
      await service.jobs[kind]({ jobId, reason });
      const to = `/console/jobs/${encodeURIComponent(jobId)}`;
      if (request.headers['hx-request']) return reply.header('HX-Redirect', to).code(204).send();
      return reply.redirect(to, 303);
    });
  }

  registerStatesConsole(app, { service, session, page, notFound, open });
}
