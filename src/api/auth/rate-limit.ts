// Per-key rate limiting: a token bucket per access key (or, with authentication off, per claimed
// access key or client address), refilled at `ratePerSecond` up to `burst` tokens.

export interface RateLimitConfig {
  /** Sustained requests per second per key (may be fractional). */
  ratePerSecond: number;
  /** Bucket size: requests a key may make at once after being idle. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept before full (idle) ones are dropped; only reached with authentication off. */
const MAX_BUCKETS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly config: RateLimitConfig,
    /** Milliseconds, monotonic. */
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(config.ratePerSecond > 0)) throw new Error('rate limit: requests per second must be positive');
    if (!(config.burst >= 1)) throw new Error('rate limit: burst must be at least 1');
  }

  /** Takes one token for `key`: undefined when allowed, else seconds until a token is available. */
  take(key: string): number | undefined {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.sweep(t);
      b = { tokens: this.config.burst, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.config.burst, b.tokens + ((t - b.at) / 1000) * this.config.ratePerSecond);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return (1 - b.tokens) / this.config.ratePerSecond;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets that have refilled completely: forgetting them changes nothing. */
  private sweep(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.config.ratePerSecond >= this.config.burst) this.buckets.delete(k);
    }
    // Still full of active clients: drop the oldest rather than grow without bound.
    while (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
