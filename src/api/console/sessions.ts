// Console sessions: a login with an access key (id + secret, checked against the server's keys)
// gives a random session id in an HttpOnly, SameSite=Strict cookie; the session lives in memory
// (a restart logs everyone out) and expires after SESSION_TTL_MS without use. Each session has a
// CSRF token that state-changing console requests (cancel, terminate) must carry. With
// authentication off every visitor gets an anonymous session (for the CSRF token).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessKey, KeyStore } from '../auth/credentials.js';

export const COOKIE = 'openbatch_console';
export const SESSION_TTL_MS = 8 * 3600_000;
const MAX_SESSIONS = 10_000;
const MAX_LOGIN_FAILURES = 10;
const LOGIN_WINDOW_MS = 60_000;

export interface Session {
  id: string;
  csrf: string;
  /** Undefined with authentication off. */
  key?: AccessKey;
  expiresAt: number;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Sessions {
  private readonly map = new Map<string, Session>();

  constructor(
    readonly keys: KeyStore | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get authOn(): boolean {
    return this.keys !== undefined;
  }

  /** The key for these credentials, or undefined (unknown id or wrong secret: the same answer). */
  verify(accessKeyId: string, secret: string): AccessKey | undefined {
    const key = this.keys?.get(accessKeyId);
    if (!key) return undefined;
    return safeEqual(key.secretAccessKey, secret) ? key : undefined;
  }

  create(key: AccessKey | undefined): Session {
    this.sweep();
    const s: Session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(24).toString('base64url'), key, expiresAt: this.now() + SESSION_TTL_MS };
    this.map.set(s.id, s);
    return s;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.map.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.map.delete(id);
      return undefined;
    }
    s.expiresAt = this.now() + SESSION_TTL_MS;
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.map.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.map) if (s.expiresAt <= now) this.map.delete(id);
    // Bounded: the oldest sessions go first.
    while (this.map.size >= MAX_SESSIONS) this.map.delete(this.map.keys().next().value!);
  }

  /** Failed logins per client address in the current minute: guessing secrets is slowed down. */
  private readonly failures = new Map<string, { count: number; since: number }>();

  loginAllowed(ip: string): boolean {
    const f = this.failures.get(ip);
    return !f || f.since + LOGIN_WINDOW_MS <= this.now() || f.count < MAX_LOGIN_FAILURES;
  }

  loginFailed(ip: string): void {
    const now = this.now();
    const f = this.failures.get(ip);
    if (!f || f.since + LOGIN_WINDOW_MS <= now) {
      if (this.failures.size >= MAX_SESSIONS) this.failures.clear();
      this.failures.set(ip, { count: 1, since: now });
    } else f.count++;
  }

  checkCsrf(s: Session, token: unknown): boolean {
    return typeof token === 'string' && safeEqual(s.csrf, token);
  }
}

export function cookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

export function setCookie(request: FastifyRequest, reply: FastifyReply, s: Session): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${COOKIE}=${s.id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}${secure}`);
}

export function clearCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0`);
}
