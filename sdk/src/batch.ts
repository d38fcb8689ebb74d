/**
 * How change notifications are batched: `'frame'` (default) flushes on the
 * next animation frame (setTimeout(16) where there is none, e.g. Node or a
 * worker); a number flushes that many ms after the first queued change; 0
 * flushes on the next macrotask.
 */
export type BatchWindow = 'frame' | number;

/**
 * Batcher queues work and runs it all in one flush, so a burst of events
 * renders once. Work runs in queue order. Single-threaded.
 */
export class Batcher {
  private queue: (() => void)[] = [];
  private scheduled = false;
  private readonly afterFlush: () => void;

  constructor(
    private readonly window: BatchWindow,
    afterFlush: () => void,
  ) {
    this.afterFlush = afterFlush;
  }

  /** Queues fn for the next flush. */
  push(fn: () => void): void {
    this.queue.push(fn);
    if (this.scheduled) return;
    this.scheduled = true;
    const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => number }).requestAnimationFrame;
    if (this.window === 'frame' && typeof raf === 'function') raf(() => this.flush());
    else setTimeout(() => this.flush(), this.window === 'frame' ? 16 : this.window);
  }

  /** Runs everything queued now. */
  flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    for (const fn of q) fn();
    this.afterFlush();
  }
}
