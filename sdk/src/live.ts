/** A store compatible with React's useSyncExternalStore. */
export interface ExternalStore<S> {
  subscribe(onChange: () => void): () => void;
  getSnapshot(): S;
}

/**
 * RefCounted tears a resource down only when the last holder left and did
 * not come back within the same tick, so React StrictMode's
 * mount-unmount-mount creates no duplicate subscription.
 */
export class RefCounted {
  private count = 0;
  private stopTimer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(
    private readonly start: () => void,
    private readonly stop: () => void,
  ) {}

  /** Adds a holder; returns its release function (idempotent). */
  retain(): () => void {
    this.count++;
    if (this.stopTimer !== undefined) {
      clearTimeout(this.stopTimer);
      this.stopTimer = undefined;
    }
    if (!this.running) {
      this.running = true;
      this.start();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      if (this.count === 0) {
        this.stopTimer = setTimeout(() => {
          this.stopTimer = undefined;
          if (this.count === 0 && this.running) {
            this.running = false;
            this.stop();
          }
        }, 0);
      }
    };
  }

  /** True while held (or in the grace tick). */
  get active(): boolean {
    return this.running;
  }
}
