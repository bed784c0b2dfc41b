// What a scenario reports (rows of figures, each beside its baseline and its target) and how the
// run prints them: one table, notes below it, and a JSON file for comparing runs.

import { fmt } from './stats.js';
import type { CheckRecord } from './checks.js';

export interface Target {
  /** What the target constrains: the figure itself or its ratio to the baseline. */
  on: 'value' | 'ratio';
  op: '<=' | '<' | '>=' | '>';
  limit: number;
}

export interface Row {
  metric: string;
  value: number;
  unit: string;
  /** The baseline measured in the same run; ratio = value / baseline. */
  baseline?: { name: string; value: number };
  target?: Target;
}

export interface ScenarioResult {
  name: string;
  /** Set when the scenario did not run (a tool is missing); not a failure. */
  skipped?: string;
  /** Set when it failed: a correctness check, or an error. */
  failed?: string;
  rows: Row[];
  notes: string[];
  checks: CheckRecord[];
  seconds: number;
  details: Record<string, unknown>;
}

export function ratioOf(row: Row): number | undefined {
  return row.baseline && row.baseline.value !== 0 ? row.value / row.baseline.value : undefined;
}

export function targetMet(row: Row): boolean | undefined {
  const t = row.target;
  if (!t) return undefined;
  const v = t.on === 'ratio' ? ratioOf(row) : row.value;
  if (v === undefined || Number.isNaN(v)) return false;
  switch (t.op) {
    case '<=':
      return v <= t.limit;
    case '<':
      return v < t.limit;
    case '>=':
      return v >= t.limit;
    case '>':
      return v > t.limit;
  }
}

export function targetText(row: Row): string {
  const t = row.target;
  if (!t) return '';
  const op = { '<=': '≤', '<': '<', '>=': '≥', '>': '>' }[t.op];
  return t.on === 'ratio' ? `${op} ${fmt(t.limit)}×` : `${op} ${fmt(t.limit)} ${row.unit}`;
}

function pad(s: string, n: number, right = false): string {
  const len = [...s].length;
  return len >= n ? s : right ? ' '.repeat(n - len) + s : s + ' '.repeat(n - len);
}

/** The one table: figure, baseline and ratio side by side, target and whether it is met. */
export function renderTable(results: ScenarioResult[]): string {
  const header = ['scenario', 'metric', 'OpenBatch', 'baseline (same run)', 'baseline', 'ratio', 'target', 'met'];
  const right = [false, false, true, false, true, true, false, false];
  const lines: string[][] = [];
  for (const r of results) {
    if (r.skipped) {
      lines.push([r.name, `skipped: ${r.skipped}`, '', '', '', '', '', '']);
      continue;
    }
    if (r.failed) {
      lines.push([r.name, `FAILED: ${r.failed.split('\n')[0]}`, '', '', '', '', '', '']);
      continue;
    }
    for (const row of r.rows) {
      const ratio = ratioOf(row);
      const met = targetMet(row);
      lines.push([
        r.name,
        row.metric,
        `${fmt(row.value)} ${row.unit}`,
        row.baseline?.name ?? '',
        row.baseline ? `${fmt(row.baseline.value)} ${row.unit}` : '',
        ratio === undefined ? '' : `${fmt(ratio)}×`,
        targetText(row),
        met === undefined ? '' : met ? 'yes' : 'NO',
      ]);
    }
  }
  // Long single-cell lines (skipped/failed) do not widen the metric column.
  const widths = header.map((h, i) => Math.max([...h].length, ...lines.filter((l) => l[2] !== '' || i !== 1).map((l) => [...l[i]].length)));
  const fmtLine = (cells: string[]) => cells.map((c, i) => pad(c, widths[i], right[i])).join('  ').trimEnd();
  return [fmtLine(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmtLine)].join('\n');
}

/** Rows as markdown (docs/performance.md is filled from this). */
export function renderMarkdown(results: ScenarioResult[]): string {
  const out = ['| scenario | metric | OpenBatch | baseline (same run) | baseline | ratio | target | met |', '|---|---|--:|---|--:|--:|---|---|'];
  for (const r of results) {
    if (r.skipped || r.failed) {
      out.push(`| ${r.name} | ${r.skipped ? `skipped: ${r.skipped}` : `FAILED: ${r.failed!.split('\n')[0]}`} | | | | | | |`);
      continue;
    }
    for (const row of r.rows) {
      const ratio = ratioOf(row);
      const met = targetMet(row);
      out.push(
        `| ${r.name} | ${row.metric} | ${fmt(row.value)} ${row.unit} | ${row.baseline?.name ?? ''} | ${row.baseline ? `${fmt(row.baseline.value)} ${row.unit}` : ''} | ${ratio === undefined ? '' : `${fmt(ratio)}×`} | ${targetText(row)} | ${met === undefined ? '' : met ? 'yes' : '**no**'} |`,
      );
    }
  }
  return out.join('\n');
}
