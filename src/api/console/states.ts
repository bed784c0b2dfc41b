// The console's Step Functions pages: executions of every state machine, and per execution its
// state graph (the definition's top-level states, laid out in layers from StartAt, the state it is
// in highlighted) and its history.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HistoryEvent } from '../../core/asl/records.js';
import type { BatchService } from '../../service/index.js';
import { badge, html, layeredGraph, time, type GraphNode, type Html } from './html.js';
import type { Session } from './sessions.js';

type Json = Record<string, any>;

interface Helpers {
  service: BatchService;
  session(request: FastifyRequest, reply: FastifyReply): Promise<Session | undefined>;
  page(reply: FastifyReply, s: Session, title: string, body: Html, live?: boolean): FastifyReply;
  notFound(reply: FastifyReply, s: Session, what: string): FastifyReply;
  open: { config: { auth: false } };
}

const HISTORY_LIMIT = 1000;

/** Where each top-level state can go next (Next, Default, Choices, Catch). */
export function transitions(state: Json): string[] {
  const out: string[] = [];
  if (typeof state.Next === 'string') out.push(state.Next);
  if (typeof state.Default === 'string') out.push(state.Default);
  for (const c of (state.Choices ?? []) as Json[]) if (typeof c.Next === 'string') out.push(c.Next);
  for (const c of (state.Catch ?? []) as Json[]) if (typeof c.Next === 'string') out.push(c.Next);
  return [...new Set(out)];
}

/** Layers by shortest distance from StartAt; states not reachable go last. */
export function stateLayers(definition: Json): Map<string, number> {
  const states = (definition.States ?? {}) as Record<string, Json>;
  const layer = new Map<string, number>();
  if (typeof definition.StartAt === 'string' && states[definition.StartAt]) layer.set(definition.StartAt, 0);
  let frontier = [...layer.keys()];
  for (let d = 1; frontier.length; d++) {
    const next: string[] = [];
    for (const name of frontier) for (const to of transitions(states[name] ?? {})) if (states[to] && !layer.has(to)) layer.set(to, d), next.push(to);
    frontier = next;
  }
  const last = Math.max(0, ...layer.values()) + 1;
  for (const name of Object.keys(states)) if (!layer.has(name)) layer.set(name, last);
  return layer;
}

export function registerStatesConsole(app: FastifyInstance, h: Helpers): void {
  // Looked up per request: an app built with a stub service (tests) never touches the store.
  const states = () => h.service.ctx.store.states;

  app.get('/console/executions', h.open, async (request, reply) => {
    const s = await h.session(request, reply);
    if (!s) return reply;
    const machines = await states().listStateMachines();
    const sections: Html[] = [];
    for (const m of machines) {
      const execs = await states().listExecutions({ stateMachineArn: m.stateMachineArn, offset: 0, limit: 50 });
      sections.push(
        html`<h2>${m.name}</h2><table class="executions" data-machine="${m.name}"><tr><th>Execution</th><th>Status</th><th>Started</th><th>Stopped</th></tr>${execs.map(
          (e) => html`<tr><td><a href="/console/executions/${encodeURIComponent(e.executionArn)}">${e.name}</a></td><td>${badge(e.status)}</td><td>${time(e.startDate)}</td><td>${time(e.stopDate)}</td></tr>`,
        )}</table>`,
      );
    }
    return h.page(reply, s, 'Step Functions', html`<h1>Step Functions executions</h1>${sections.length ? sections : html`<p class="muted">No state machines.</p>`}`);
  });

  app.get('/console/executions/:arn', h.open, async (request, reply) => {
    const s = await h.session(request, reply);
    if (!s) return reply;
    const { arn } = request.params as { arn: string };
    const view = await executionView(arn);
    if (!view) return h.notFound(reply, s, `Execution ${arn}`);
    // A running execution's page follows it (graph, current state, history) at each event-stream tick.
    const live = view.status === 'RUNNING';
    const body = html`<div id="execution"${live ? html` hx-get="/console/executions/${encodeURIComponent(arn)}/fragment" hx-trigger="sse:tick" hx-swap="innerHTML"` : ''}>${view.html}</div>`;
    return h.page(reply, s, view.name, body, live);
  });

  app.get('/console/executions/:arn/fragment', h.open, async (request, reply) => {
    const s = await h.session(request, reply);
    if (!s) return reply;
    const { arn } = request.params as { arn: string };
    const view = await executionView(arn);
    const out = view ? view.html : html`<p class="error">Execution ${arn} does not exist.</p>`;
    return reply.code(view ? 200 : 404).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(out.text);
  });

  async function executionView(arn: string): Promise<{ html: Html; status: string; name: string } | undefined> {
    const e = await states().getExecution(arn);
    if (!e) return undefined;
    const history: HistoryEvent[] = await states().history(arn, { limit: HISTORY_LIMIT, reverse: false });
    let definition: Json = {};
    try {
      definition = JSON.parse(e.definition) as Json;
    } catch {
      // stored definitions were checked at creation; an unreadable one draws no graph
    }
    // Top-level states entered and exited, and the one entered last without an exit (the current one).
    const visited = new Map<string, string>();
    let current: string | undefined;
    for (const ev of history) {
      const d = (ev.details ?? {}) as Json;
      const name = (d.stateEnteredEventDetails?.name ?? d.stateExitedEventDetails?.name) as string | undefined;
      if (!name || !(definition.States ?? {})[name]) continue;
      if (ev.type.endsWith('StateEntered')) {
        visited.set(name, 'RUNNING');
        current = name;
      } else if (ev.type.endsWith('StateExited')) {
        visited.set(name, 'SUCCEEDED');
        if (current === name) current = undefined;
      }
    }
    if (e.status !== 'RUNNING' && current) visited.set(current, e.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED');
    const layers = stateLayers(definition);
    const nodes: GraphNode[] = [...layers].map(([name, layer]) => ({
      id: name,
      label: name,
      status: visited.get(name) ?? 'SUBMITTED',
      layer,
      href: '#',
      current: name === current,
    }));
    const edges = Object.entries((definition.States ?? {}) as Record<string, Json>).flatMap(([name, st]) => transitions(st).map((to) => ({ from: name, to })));
    const body = html`<h1>${e.name} <span id="execution-status">${badge(e.status)}</span></h1><p class="muted">${e.executionArn}</p>
<p>State machine ${e.stateMachineName}; started ${time(e.startDate)}, stopped ${time(e.stopDate)}${current ? html`; <b id="current-state">current state: ${current}</b>` : ''}</p>
${e.error ? html`<p class="error">${e.error}: ${e.cause ?? ''}</p>` : ''}
<h2>State graph</h2>${nodes.length ? layeredGraph(nodes, edges) : html`<p class="muted">No states.</p>`}
<h2>Input</h2><pre>${e.input}</pre>${e.output !== undefined ? html`<h2>Output</h2><pre>${e.output}</pre>` : ''}
<h2>History</h2><table id="history"><tr><th>#</th><th>Time</th><th>Type</th><th>Details</th></tr>${history.map(
      (ev) => html`<tr><td>${ev.id}</td><td>${time(ev.timestamp)}</td><td>${ev.type}</td><td><pre class="json">${JSON.stringify(ev.details)}</pre></td></tr>`,
    )}</table>`;
    return { html: body, status: e.status, name: e.name };
  }
}
