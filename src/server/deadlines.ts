// One timer for many deadlines (attempt timeouts, queue time limits): a min-heap, and a single
// setTimeout for the earliest entry. Entries are checked when they come due, so a stale one (the
// attempt already ended) costs nothing but a look.

export class Deadlines<T> {
  private heap: { at: number; item: T }[] = [];
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private closed = false;

  constructor(
    private readonly now: () => number,
    private readonly onDue: (items: T[]) => void,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  add(at: number, item: T): void {
    if (this.closed) return;
    const h = this.heap;
    h.push({ at, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
    this.arm();
  }

  /** Fires what is due now (also called by the timer). */
  check(): void {
    if (this.closed) return;
    const now = this.now();
    const due: T[] = [];
    while (this.heap.length > 0 && this.heap[0].at <= now) due.push(this.pop().item);
    if (due.length > 0) this.onDue(due);
    this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.heap = [];
  }

  private pop(): { at: number; item: T } {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }

  private arm(): void {
    const next = this.heap[0]?.at ?? Infinity;
    if (next === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    // setTimeout's maximum is about 24.8 days; a later deadline re-arms when this one fires.
    const delay = Math.min(Math.max(0, next - this.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.check();
    }, delay);
    this.timer.unref();
  }
}
