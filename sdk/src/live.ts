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

/**
 * LiveStore is the shared shape of the SDK's stores: a snapshot for
 * useSyncExternalStore, change listeners, and a reference-counted
 * underlying subscription that runs (start) while anyone holds the store
 * and stops when the last holder leaves (see RefCounted).
 */
export abstract class LiveStore<S> implements ExternalStore<S> {
  protected readonly refs = new RefCounted(
    () => this.start(),
    () => this.stop(),
  );
  private readonly listeners = new Set<() => void>();
  protected snap: S;

  protected constructor(initial: S) {
    this.snap = initial;
  }

  /** Starts the underlying subscription (first holder). */
  protected abstract start(): void;
  /** Stops it (last holder gone). */
  protected abstract stop(): void;

  /** Keeps the store live until the returned function is called. */
  retain(): () => void {
    return this.refs.retain();
  }

  subscribe = (onChange: () => void): (() => void) => {
    this.listeners.add(onChange);
    const release = this.retain();
    return () => {
      this.listeners.delete(onChange);
      release();
    };
  };

  getSnapshot = (): S => this.snap;

  /** Tells every listener the snapshot may have changed. */
  notify(): void {
    for (const l of [...this.listeners]) l();
  }
}
