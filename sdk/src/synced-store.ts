import type { CacheView } from './cache.js';
import type { StoreContext } from './context.js';
import { covered, parseCursor, type CursorPos } from './cursor.js';
import { asError, type WalrelayError } from './errors.js';
import { LiveStore } from './live.js';
import type { RealtimeTransport, SubscriptionHandle, SubscriptionSpec } from './realtime.js';
import type { ChangeEvent } from './types.js';

/**
 * SyncedStore is what ListStore and ItemStore share: state read over HTTP
 * (hydrate), then kept current from one model channel subscribed with the
 * read's cursor. It holds the loading, error and live flags, the channel's
 * handle, the cursor position applied so far (older events are dropped),
 * the changes that arrive while a read is in flight (applied after it, in
 * order) and the generation that voids the reads of an earlier start.
 */
export abstract class SyncedStore<S> extends LiveStore<S> implements CacheView {
  protected loading = true;
  protected error: WalrelayError | null = null;
  protected live = false;
  protected hydrating = false;
  protected generation = 0;
  private handle: SubscriptionHandle | null = null;
  private seen: CursorPos | null = null;
  private buffer: { ev: ChangeEvent; exact: boolean }[] = [];

  protected constructor(
    protected readonly ctx: StoreContext,
    initial: S,
  ) {
    super(initial);
  }

  /** Reads the state over HTTP, then calls installed, follow and drain. */
  protected abstract hydrate(): Promise<void>;
  /** Applies one change the store does not reflect yet (see fresh). */
  protected abstract apply(ev: ChangeEvent, exact: boolean): void;
  abstract recompute(): boolean;

  /** Re-reads over HTTP now (e.g. after a write in an HTTP-only client). */
  refetch(): void {
    if (this.refs.active) void this.hydrate();
  }

  /** The read of generation gen failed: shows the error, unless a later start voided the read. */
  protected readFailed(gen: number, e: unknown): void {
    if (gen !== this.generation) return;
    this.hydrating = false;
    this.ctx.batch.push(() => {
      this.loading = false;
      this.error = asError(e);
      this.ctx.cache.touch(this);
    });
  }

  /** A read at cursor is in place: no longer loading, no error, changes up to cursor applied. */
  protected installed(cursor: string): void {
    this.loading = false;
    this.error = null;
    this.seen = parseCursor(cursor);
    this.ctx.cache.touch(this);
  }

  /**
   * Follows the channel of spec from cursor: subscribes the first time,
   * and later resumes the subscription at the new read's cursor.
   */
  protected follow(rt: RealtimeTransport, spec: Omit<SubscriptionSpec, 'since'>, cursor: string): void {
    if (this.handle) {
      this.handle.resume(cursor);
      return;
    }
    this.handle = rt.subscribe(
      { ...spec, since: cursor },
      {
        onChange: (ev, exact) =>
          this.ctx.batch.push(() => {
            if (this.hydrating) this.buffer.push({ ev, exact });
            else this.apply(ev, exact);
          }),
        onResync: () => void this.hydrate(),
        onSubscribed: () =>
          this.ctx.batch.push(() => {
            if (this.live) return;
            this.live = true;
            this.ctx.cache.touch(this);
          }),
        onError: (err) =>
          this.ctx.batch.push(() => {
            this.error = err;
            this.live = false;
            this.ctx.cache.touch(this);
          }),
      },
    );
  }

  /** Ends a read: applies the changes that arrived during it, in order. */
  protected drain(): void {
    const buffered = this.buffer;
    this.buffer = [];
    this.hydrating = false;
    for (const b of buffered) this.apply(b.ev, b.exact);
  }

  /**
   * Reports whether ev is newer than what the store reflects (its cursor is
   * after the last applied one, or it has none) and if so records it.
   */
  protected fresh(ev: ChangeEvent): boolean {
    const pos = parseCursor(ev.cursor);
    if (covered(pos, this.seen)) return false;
    if (pos) this.seen = pos;
    return true;
  }

  /** Stops following: voids reads in flight, unsubscribes, forgets buffered changes. */
  protected halt(): void {
    this.generation++;
    this.handle?.unsubscribe();
    this.handle = null;
    this.live = false;
    this.loading = true;
    this.hydrating = false;
    this.buffer = [];
  }
}
