// Small HTML template helpers for the console: everything that comes from data goes through
// esc() (or attr()), so a job's command, environment or reason can never inject markup.

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A tagged template whose interpolations are escaped unless they are Html (already rendered). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return esc(v);
}

export const raw = (s: string) => new Html(s);

export function time(ms: unknown): string {
  return typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

export const STATUS_COLOURS: Record<string, string> = {
  SUBMITTED: '#9aa5b1',
  PENDING: '#c0a060',
  RUNNABLE: '#e0b020',
  STARTING: '#60a0e0',
  RUNNING: '#2070d0',
  SUCCEEDED: '#30a050',
  FAILED: '#d03030',
  // Step Functions
  ABORTED: '#888888',
  TIMED_OUT: '#b05020',
  PENDING_REDRIVE: '#a080c0',
};

export function badge(status: string): Html {
  return html`<span class="badge" data-status="${status}" style="background:${STATUS_COLOURS[status] ?? '#777'}">${status}</span>`;
}

const CSS = `
body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1d2733;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center}
header a{color:#cfe3ff;text-decoration:none}header b{color:#fff}
main{padding:1em 1.5em}
table{border-collapse:collapse;background:#fff;margin:.5em 0 1.2em}
th,td{border:1px solid #dde3ea;padding:.3em .6em;text-align:left;vertical-align:top;font-size:14px}
th{background:#eef2f6}
pre{background:#111;color:#e6e6e6;padding:.8em;overflow:auto;max-height:28em;font-size:13px}
pre.json{background:#fff;color:#1d2733;max-height:none;margin:0;padding:0}
.badge{color:#fff;padding:.1em .45em;border-radius:.3em;font-size:12px;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:2px;max-width:60em}
.grid a{width:14px;height:14px;display:block}
.bar{background:#dde3ea;width:10em;height:.8em;display:inline-block;vertical-align:middle}
.bar span{background:#2070d0;height:100%;display:block}
form.inline{display:inline}
button.danger{background:#d03030;color:#fff;border:0;padding:.35em .8em;border-radius:.3em;cursor:pointer}
.muted{color:#6b7785}.error{color:#d03030;font-weight:600}
`;

export function layout(title: string, body: Html, opts: { user?: string; live?: boolean } = {}): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} · OpenBatch</title>
<style>${raw(CSS)}</style>
<script src="/console/static/htmx.min.js"></script><script src="/console/static/sse.min.js"></script>
</head><body${opts.live ? raw(' hx-ext="sse" sse-connect="/console/events"') : ''}>
<header><b>OpenBatch</b><a href="/console">Overview</a><a href="/console/jobs">Jobs</a><a href="/console/executions">Step Functions</a>
${opts.user !== undefined ? html`<span class="muted" style="margin-left:auto">${opts.user}</span><form class="inline" method="post" action="/console/logout"><button>Log out</button></form>` : ''}</header>
<main>${body}</main></body></html>`.text;
}

/** An inline SVG sparkline of `values` (e.g. jobs finished per minute). */
export function sparkline(values: number[], width = 360, height = 48): Html {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ');
  return html`<svg class="sparkline" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="jobs finished per minute, last hour, max ${max}"><polyline fill="none" stroke="#2070d0" stroke-width="1.5" points="${points}"/></svg>`;
}

export interface GraphNode {
  id: string;
  label: string;
  status: string;
  layer: number;
  href: string;
  current?: boolean;
}

/** A layered graph: nodes in columns by layer, edges as straight lines from `from` to `to`. */
export function layeredGraph(nodes: GraphNode[], edges: { from: string; to: string }[], opts: { nodeWidth?: number } = {}): Html {
  const w = opts.nodeWidth ?? 170;
  const h = 34;
  const gapX = 60;
  const gapY = 16;
  const layers = [...new Set(nodes.map((n) => n.layer))].sort((a, b) => a - b);
  const pos = new Map<string, { x: number; y: number }>();
  let maxRows = 1;
  layers.forEach((layer, col) => {
    const inLayer = nodes.filter((n) => n.layer === layer);
    maxRows = Math.max(maxRows, inLayer.length);
    inLayer.forEach((n, row) => pos.set(n.id, { x: 10 + col * (w + gapX), y: 10 + row * (h + gapY) }));
  });
  const width = 20 + layers.length * (w + gapX) - gapX;
  const height = 20 + maxRows * (h + gapY) - gapY;
  const lines = edges
    .filter((e) => pos.has(e.from) && pos.has(e.to))
    .map((e) => {
      const a = pos.get(e.from)!;
      const b = pos.get(e.to)!;
      return html`<line x1="${a.x + w}" y1="${a.y + h / 2}" x2="${b.x}" y2="${b.y + h / 2}" stroke="#8895a3" marker-end="url(#arrow)"/>`;
    });
  const boxes = nodes.map((n) => {
    const p = pos.get(n.id)!;
    const label = n.label.length > 22 ? n.label.slice(0, 21) + '…' : n.label;
    return html`<a href="${n.href}" data-node="${n.id}"><rect x="${p.x}" y="${p.y}" width="${w}" height="${h}" rx="5" fill="${STATUS_COLOURS[n.status] ?? '#777'}" stroke="${n.current ? '#000' : 'none'}" stroke-width="${n.current ? 3 : 0}"/><text x="${p.x + 8}" y="${p.y + 14}" fill="#fff" font-size="12">${label}</text><text x="${p.x + 8}" y="${p.y + 28}" fill="#fff" font-size="10">${n.status}</text><title>${n.label} (${n.status})</title></a>`;
  });
  return html`<svg class="graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#8895a3"/></marker></defs>${lines}${boxes}</svg>`;
}
