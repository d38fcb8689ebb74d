import { rowKey, type CacheView } from './cache.js';
import type { StoreContext } from './context.js';
import { covered, parseCursor, type CursorPos } from './cursor.js';
import type { WalrelayError } from './errors.js';
import { LiveStore } from './live.js';
import { asError } from './list-store.js';
import type { SubscriptionHandle } from './realtime.js';
import type { AnyRow, ChangeEvent, Id } from './types.js';

/** A live row's state; `data` is null while loading, when absent or deleted. */
export interface ItemSnapshot<R = AnyRow> {
  data: R | null;
  isLoading: boolean;
  error: WalrelayError | null;
  isLive: boolean;
}

/**
 * ItemStore is one live row: read over HTTP, then kept current from the
 * `{Model}:item:{id}` channel subscribed with the read's cursor. The row
 * lives in the shared cache, so lists showing it agree. Shared per
 * model+id by the client; use retain()/release.
 */
export class ItemStore<R = AnyRow> extends LiveStore<ItemSnapshot<R>> implements CacheView {
  private readonly key: string;
  private loading = true;
  private error: WalrelayError | null = null;
  private live = false;
  private exists = false;
  private handle: SubscriptionHandle | null = null;
  private seen: CursorPos | null = null;
  private generation = 0;
  private buffer: ChangeEvent[] = [];
  private hydrating = false;

  constructor(
    private readonly ctx: StoreContext,
    readonly model: string,
    readonly id: Id,
  ) {
    super({ data: null, isLoading: true, error: null, isLive: false });
    this.key = rowKey(model, id);
  }

  /** Re-reads the row over HTTP now (e.g. after a write in an HTTP-only client). */
  refetch(): void {
    if (this.refs.active) void this.hydrate();
  }

  protected start(): void {
    this.generation++;
    this.ctx.cache.hold(this.key, this);
    void this.hydrate();
  }

  protected stop(): void {
    this.generation++;
    this.handle?.unsubscribe();
    this.handle = null;
    this.live = false;
    this.loading = true;
    this.hydrating = false;
    this.buffer = [];
    this.ctx.cache.release(this.key, this);
    this.recompute();
  }

  private async hydrate(): Promise<void> {
    const gen = this.generation;
    this.hydrating = true;
    try {
      const res = await this.ctx.http.get<AnyRow>(this.ctx.model(this.model).path, this.id);
      if (gen !== this.generation) return;
      this.ctx.batch.push(() => this.install(res.row, res.cursor));
    } catch (e) {
      if (gen !== this.generation) return;
      this.hydrating = false;
      this.ctx.batch.push(() => {
        this.loading = false;
        this.error = asError(e);
        this.ctx.cache.touch(this);
      });
    }
  }

  private install(row: AnyRow | null, cursor: string): void {
    this.exists = row !== null;
    if (row) this.ctx.cache.set(this.key, row);
    this.loading = false;
    this.error = null;
    this.seen = parseCursor(cursor);
    this.ctx.cache.touch(this);
    const rt = this.ctx.realtime;
    if (rt && cursor) {
      if (!this.handle) {
        this.handle = rt.subscribe(
          { channel: `${this.model}:item:${String(this.id)}`, since: cursor },
          {
            onChange: (ev) => this.ctx.batch.push(() => (this.hydrating ? this.buffer.push(ev) : this.apply(ev))),
            onResync: () => void this.hydrate(),
            onSubscribed: () =>
              this.ctx.batch.push(() => {
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
      } else {
        this.handle.resume(cursor);
      }
    }
    const buffered = this.buffer;
    this.buffer = [];
    this.hydrating = false;
    for (const ev of buffered) this.apply(ev);
  }

  private apply(ev: ChangeEvent): void {
    const pos = parseCursor(ev.cursor);
    if (covered(pos, this.seen)) return;
    if (pos) this.seen = pos;
    if (ev.event === 'deleted') this.exists = false;
    else if (ev.data) {
      this.exists = true;
      this.ctx.cache.set(this.key, ev.data);
    }
    this.ctx.cache.touch(this);
  }

  recompute(): boolean {
    const data = this.exists && !this.loading ? ((this.ctx.cache.get(this.key) as R | undefined) ?? null) : null;
    const p = this.snap;
    if (p.data === data && p.isLoading === this.loading && p.error === this.error && p.isLive === this.live) return false;
    this.snap = { data, isLoading: this.loading, error: this.error, isLive: this.live };
    return true;
  }

}
