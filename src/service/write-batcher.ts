// Group commit: writes that arrive while a transaction is in flight are committed together in the
// next one. Under load this turns thousands of SubmitJob calls into a few dozen transactions,
// and every caller still gets its answer only after its own write is durable.

import type { Store, StoreTx } from '../store/store.js';

interface PendingWrite {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class WriteBatcher {
  private pending: PendingWrite[] = [];
  private flushing = false;

  constructor(
    private readonly store: Store,
    private readonly maxBatch = 2000,
  ) {}

  run<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Let the writes of this turn of the event loop join the batch.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          const results = await this.store.transaction(async (tx) => {
            const out: unknown[] = [];
            for (const w of batch) out.push(await w.fn(tx));
            return out;
          });
          batch.forEach((w, i) => w.resolve(results[i]));
        } catch (e) {
          if (batch.length === 1) {
            batch[0].reject(e);
            continue;
          }
          // One write failed and took the batch down with it: retry each on its own so only the
          // faulty one fails.
          for (const w of batch) {
            try {
              w.resolve(await this.store.transaction((tx) => w.fn(tx)));
            } catch (err) {
              w.reject(err);
            }
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
