// One load-generator process for the submit scenario (forked by load.ts): `clients` SDK clients,
// each with its own keep-alive agent, and `concurrency` SubmitJob calls in flight, round-robin over
// the clients, from `startAt` for warm-up + measured window. Runs in its own process so that
// signing and parsing (the SDK is CPU-heavy) never share an event loop with the bench's main process.
// Mode `raw` sends the same SubmitJob request as plain HTTP (http.request on keep-alive agents, no
// SDK, no signing): what the server does when the client costs almost nothing.

import http from 'node:http';
import { SubmitJobCommand } from '@aws-sdk/client-batch';
import { batchClient } from './client.js';
import type { WorkerReport, WorkerStart } from './load.js';

process.once('message', (m) => {
  void run(m as WorkerStart).then(
    (report) => process.send!(report, () => process.exit(0)),
    (e) => {
      process.stderr.write(`load worker: ${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
});
process.send!({ type: 'ready' });

/** A SubmitJob over plain HTTP; resolves with the job id, rejects on anything but 200. */
function rawSubmit(agent: http.Agent, url: URL, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, method: 'POST', path: '/v1/submitjob', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          try {
            resolve((JSON.parse(text) as { jobId: string }).jobId);
          } catch (e) {
            reject(e as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function run(w: WorkerStart): Promise<WorkerReport> {
  const url = new URL(w.endpoint);
  const senders: ((jobName: string) => Promise<unknown>)[] = Array.from({ length: w.clients }, () => {
    if (w.mode === 'raw') {
      const agent = new http.Agent({ keepAlive: true, maxSockets: w.maxSockets });
      return (jobName: string) => rawSubmit(agent, url, JSON.stringify({ jobName, jobQueue: w.jobQueue, jobDefinition: w.jobDefinition }));
    }
    const client = batchClient(w.endpoint, { maxSockets: w.maxSockets });
    return (jobName: string) => client.send(new SubmitJobCommand({ jobName, jobQueue: w.jobQueue, jobDefinition: w.jobDefinition }));
  });
  const windowStart = w.startAt + w.warmupMs;
  const windowEnd = windowStart + w.durationMs;
  const latencies: number[] = [];
  let ok = 0;
  let warmupOk = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let seq = 0;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const wait = w.startAt - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const cpuTimer = setTimeout(() => (cpuAtStart = process.cpuUsage()), Math.max(0, windowStart - Date.now()));

  const loop = async (slot: number) => {
    const send = senders[slot % senders.length];
    for (;;) {
      const started = Date.now();
      if (started >= windowEnd) return;
      const t0 = performance.now();
      try {
        await send(`w${w.index}-${seq++}`);
        const ms = performance.now() - t0;
        if (started >= windowStart) {
          ok++;
          latencies.push(ms);
        } else warmupOk++;
      } catch (e) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(String((e as Error).message ?? e));
      }
    }
  };
  await Promise.all(Array.from({ length: w.concurrency }, (_, i) => loop(i)));
  clearTimeout(cpuTimer);
  const cpu = process.cpuUsage(cpuAtStart);
  const tail = Date.now() - windowEnd;
  return { type: 'done', ok, warmupOk, errors, errorSamples, latencies, cpuSeconds: (cpu.user + cpu.system) / 1e6, tailMs: tail };
}
