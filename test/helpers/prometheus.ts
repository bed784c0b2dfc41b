// A small parser of the Prometheus text exposition format (what GET /metrics serves), strict
// enough to catch malformed output: every sample belongs to a declared family, labels are well
// formed, values are numbers, histograms are cumulative and end in +Inf = _count.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Family name → TYPE (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseLabels(s: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(s.slice(i));
    if (!m) throw new Error(`bad label at ${JSON.stringify(s.slice(i))} in: ${line}`);
    i += m[0].length;
    let value = '';
    for (;;) {
      if (i >= s.length) throw new Error(`unterminated label value in: ${line}`);
      const ch = s[i++];
      if (ch === '"') break;
      if (ch === '\\') {
        const esc = s[i++];
        value += esc === 'n' ? '\n' : esc;
      } else value += ch;
    }
    if (m[1] in out) throw new Error(`duplicate label ${m[1]} in: ${line}`);
    out[m[1]] = value;
    if (s[i] === ',') i++;
    else if (i < s.length) throw new Error(`expected , after a label in: ${line}`);
  }
  return out;
}

function parseValue(v: string, line: string): number {
  // As Prometheus reads them (Go's ParseFloat): Inf and NaN in any case (prom-client writes "Nan").
  if (/^\+?inf(inity)?$/i.test(v)) return Infinity;
  if (/^-inf(inity)?$/i.test(v)) return -Infinity;
  if (/^nan$/i.test(v)) return NaN;
  const n = Number(v);
  if (v === '' || Number.isNaN(n)) throw new Error(`bad value ${JSON.stringify(v)} in: ${line}`);
  return n;
}

/** The family a sample belongs to (histogram samples carry _bucket/_sum/_count). */
export function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const t = types.get(base);
      if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
    }
  }
  return undefined;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a comment
      if (!NAME.test(m[2])) throw new Error(`bad metric name in: ${line}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3])) throw new Error(`bad type in: ${line}`);
        if (types.has(m[2])) throw new Error(`TYPE given twice: ${line}`);
        types.set(m[2], m[3]);
      } else help.set(m[2], m[3]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = m[2] !== undefined ? parseLabels(m[2], line) : {};
    const key = m[1] + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`sample given twice: ${line}`);
    seen.add(key);
    if (!familyOf(m[1], types)) throw new Error(`sample of an undeclared family: ${line}`);
    samples.push({ name: m[1], labels, value: parseValue(m[3], line) });
  }
  checkHistograms({ types, help, samples });
  return { types, help, samples };
}

function checkHistograms(e: Exposition): void {
  for (const [family, type] of e.types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, { le: number; value: number }[]>();
    for (const s of e.samples) {
      if (s.name !== `${family}_bucket`) continue;
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const key = JSON.stringify(Object.entries(rest).sort());
      const list = series.get(key) ?? [];
      list.push({ le: parseValue(le, family), value: s.value });
      series.set(key, list);
    }
    for (const [key, buckets] of series) {
      buckets.sort((a, b) => a.le - b.le);
      for (let i = 1; i < buckets.length; i++) {
        if (buckets[i].value < buckets[i - 1].value) throw new Error(`${family}${key}: buckets not cumulative`);
      }
      const inf = buckets[buckets.length - 1];
      if (inf.le !== Infinity) throw new Error(`${family}${key}: no +Inf bucket`);
      const labels = Object.fromEntries(JSON.parse(key) as [string, string][]);
      const count = e.samples.find((s) => s.name === `${family}_count` && sameLabels(s.labels, labels));
      if (!count || count.value !== inf.value) throw new Error(`${family}${key}: _count ${count?.value} is not the +Inf bucket ${inf.value}`);
    }
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there are none). */
export function sumOf(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of e.samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}
