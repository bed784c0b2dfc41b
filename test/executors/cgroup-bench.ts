// Per-attempt cost of the local executor, and of its cgroups: N `true` attempts started at once on
// a warm executor, perl and spawn mode, cgroups auto vs off, in interleaved rounds; wall time and
// CPU time (server + launcher + everything they reaped) per attempt, beside the floor
// `seq N | xargs -P2 -I{} true` of the same run. Not a test (prints, asserts nothing):
//   node --import tsx test/executors/cgroup-bench.ts [N=500] [ROUNDS=3] [perl|spawn|both=both]
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalExecutor } from '../../src/executors/local/local-executor.js';
import { makeSpec } from './conformance.js';

const N = Number(process.argv[2] ?? 500);
const ROUNDS = Number(process.argv[3] ?? 3);
const MODES: ('perl' | 'spawn')[] = process.argv[4] === 'perl' || process.argv[4] === 'spawn' ? [process.argv[4]] : ['perl', 'spawn'];
const HZ = 100;

function cpuTicks(pid: number | 'self'): number {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

async function run(launcher: 'perl' | 'spawn', cgroups: 'auto' | 'off'): Promise<{ wallMs: number; cpuMs: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ob-cgbench-'));
  const ex = new LocalExecutor({ dataDir, launcher, cgroups });
  const pending = new Map<string, () => void>();
  ex.onEvent((e) => { if (e.type === 'exited') pending.get(e.key)?.(); });
  const runAll = async (n: number) => {
    const specs = Array.from({ length: n }, () => makeSpec(['true'], { memory: 64 }));
    const done = specs.map((s) => new Promise<void>((r) => pending.set(s.key, r)));
    for (const s of specs) ex.start(s);
    await Promise.all(done);
    for (const s of specs) ex.release(s.key);
  };
  await runAll(5); // warm: the launcher runs
  const lp = ex.launcherPid;
  const c0 = cpuTicks('self') + (lp ? cpuTicks(lp) : 0);
  const t0 = performance.now();
  await runAll(N);
  const wallMs = performance.now() - t0;
  const c1 = cpuTicks('self') + (lp ? cpuTicks(lp) : 0);
  await ex.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { wallMs, cpuMs: ((c1 - c0) * 1000) / HZ };
}

const results: Record<string, { wall: number[]; cpu: number[] }> = {};
const add = (k: string, r: { wallMs: number; cpuMs: number }) => {
  results[k] ??= { wall: [], cpu: [] };
  results[k].wall.push(r.wallMs);
  results[k].cpu.push(r.cpuMs);
};
for (let round = 0; round < ROUNDS; round++) {
  for (const launcher of MODES) {
    for (const cgroups of round % 2 ? (['off', 'auto'] as const) : (['auto', 'off'] as const)) add(`${launcher} cgroups=${cgroups}`, await run(launcher, cgroups));
  }
  const t0 = performance.now();
  execSync(`seq ${N} | xargs -P2 -I{} true`);
  add('floor: seq | xargs -P2 true', { wallMs: performance.now() - t0, cpuMs: NaN });
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`${N} \`true\` attempts at once, ${ROUNDS} rounds (median), per attempt:`);
for (const [k, v] of Object.entries(results)) {
  console.log(`${k.padEnd(28)} wall ${(med(v.wall) / N).toFixed(2)} ms/attempt (total ${med(v.wall).toFixed(0)} ms)` + (Number.isNaN(med(v.cpu)) ? '' : `, cpu ${(med(v.cpu) / N).toFixed(2)} ms/attempt`));
}
