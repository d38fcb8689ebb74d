import { rowKey } from './cache.js';
import type { StoreContext } from './context.js';
import type { WalrelayError } from './errors.js';
import { SyncedStore } from './synced-store.js';
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
export class ItemStore<R = AnyRow> extends SyncedStore<ItemSnapshot<R>> {
  private readonly key: string;
  private exists = false;

  constructor(
    ctx: StoreContext,
    readonly model: string,
    readonly id: Id,
  ) {
    super(ctx, { data: null, isLoading: true, error: null, isLive: false });
    this.key = rowKey(model, id);
  }

  protected start(): void {
    this.generation++;
    this.ctx.cache.hold(this.key, this);
    void this.hydrate();
  }

  protected stop(): void {
    this.halt();
    this.ctx.cache.release(this.key, this);
    this.recompute();
  }

  protected async hydrate(): Promise<void> {
    const gen = this.generation;
    this.hydrating = true;
    try {
      const res = await this.ctx.http.get<AnyRow>(this.ctx.model(this.model).path, this.id);
      if (gen !== this.generation) return;
      this.ctx.batch.push(() => this.install(res.row, res.cursor));
    } catch (e) {
      this.readFailed(gen, e);
    }
  }

  private install(row: AnyRow | null, cursor: string): void {
    this.exists = row !== null;
    if (row) this.ctx.cache.set(this.key, row);
    this.installed(cursor);
    const rt = this.ctx.realtime;
    if (rt && cursor) this.follow(rt, { channel: `${this.model}:item:${String(this.id)}` }, cursor);
    this.drain();
  }

  protected apply(ev: ChangeEvent): void {
    if (!this.fresh(ev)) return;
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
