// Sends one message to one endpoint: an HTTP POST to a webhook, or a command (from the operator's
// notifications file) that reads it on stdin. Never throws: the outcome says whether it was
// delivered and, if not, whether trying again can help. Both have a time limit, so a hung target
// holds a delivery slot for that long at most.

import { spawn } from 'node:child_process';
import type { Endpoint } from '../core/events.js';

export type DeliveryOutcome = { ok: true } | { ok: false; retry: boolean; error: string };

export interface DeliveryOptions {
  /** HTTP: the whole request, response included (default 10 s). */
  httpTimeoutMs?: number;
  /** Commands: from start to exit, then SIGKILL (default 30 s). */
  commandTimeoutMs?: number;
  /** Extra HTTP headers and command environment variables (e.g. the rule's name). */
  headers?: Record<string, string>;
  env?: Record<string, string>;
}

/** HTTP statuses worth another try, as EventBridge retries API destinations: 401, 407, 409, 429 and 5xx. */
function retryable(status: number): boolean {
  return status === 401 || status === 407 || status === 409 || status === 429 || status >= 500;
}

export async function deliver(endpoint: Endpoint, body: string, o: DeliveryOptions = {}): Promise<DeliveryOutcome> {
  return endpoint.kind === 'http' ? post(endpoint.url, body, o) : runCommand(endpoint.command, body, o);
}

async function post(url: string, body: string, o: DeliveryOptions): Promise<DeliveryOutcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'OpenBatch-Events', ...o.headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(o.httpTimeoutMs ?? 10_000),
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true };
    return { ok: false, retry: retryable(res.status), error: `HTTP ${res.status} from ${url}` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${o.httpTimeoutMs ?? 10_000} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    return { ok: false, retry: true, error: `POST ${url}: ${why}` };
  }
}

function runCommand(command: readonly string[], input: string, o: DeliveryOptions): Promise<DeliveryOutcome> {
  return new Promise((resolve) => {
    let stderr = '';
    let settled = false;
    const done = (r: DeliveryOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const limit = o.commandTimeoutMs ?? 30_000;
    let child: ReturnType<typeof spawn>;
    try {
      // Its own process group, so that the time limit kills whatever it started too.
      child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], detached: true, env: { ...commandEnvironment(), ...o.env } });
    } catch (e) {
      resolve({ ok: false, retry: true, error: `${command[0]}: ${(e as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      done({ ok: false, retry: true, error: `${command[0]} did not exit within ${limit} ms (killed)` });
    }, limit);
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    child.on('error', (e) => done({ ok: false, retry: true, error: `${command[0]}: ${e.message}` }));
    child.on('close', (code, signal) => {
      if (code === 0) done({ ok: true });
      else done({ ok: false, retry: true, error: `${command[0]} exited ${code ?? signal}${stderr ? `: ${stderr.trim().slice(-500)}` : ''}` });
    });
    // A command that does not read its input must not fail the delivery for that alone.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input);
  });
}

/**
 * A command's environment: the server's PATH, HOME, locale, time zone and TMPDIR, nothing else
 * of the server's (its environment may hold OPENBATCH_CREDENTIALS), plus the delivery's variables.
 */
function commandEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}
