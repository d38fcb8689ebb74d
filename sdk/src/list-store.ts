import { rowKey, type CacheView } from './cache.js';
import type { StoreContext } from './context.js';
import { covered, parseCursor, type CursorPos } from './cursor.js';
import { WalrelayError } from './errors.js';
import { LiveStore } from './live.js';
import { matches, rowComparator } from './match.js';
import { filterString, orderTerms } from './query.js';
import type { SubscriptionHandle } from './realtime.js';
import type { AnyRow, ChangeEvent, Id, ListParams } from './types.js';

/** A live list's state. `data` is a new array whenever anything in it changed. */
export interface ListSnapshot<R = AnyRow> {
  data: R[];
  /** True until the first read finished. */
  isLoading: boolean;
  /** The last read or subscription error, cleared by the next successful read. */
  error: WalrelayError | null;
  /** True when the list follows changes over the socket. */
  isLive: boolean;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** Extra rows read past `limit`, so deletes rarely need a refetch. */
export function overfetch(limit: number): number {
  return Math.min(MAX_LIMIT - limit, Math.max(5, Math.min(50, Math.ceil(limit / 2))));
}

/**
 * ListStore is a live query: hydrated over HTTP, then kept current from the
 * `{Model}:list` channel subscribed with the read's cursor, so every change
 * is applied exactly once (plus a dedupe on event cursors as a safety net).
 *
 * Window: it reads `limit + overfetch` rows and shows the first `limit`.
 * It knows the first rows of the result exactly; an insert that sorts past
 * the known rows (when there are more on the server) is dropped, and when
 * deletes leave fewer than `limit` known rows it re-reads (refetch). A
 * `truncated` event empties the list.
 *
 * Changes are applied in batches (see BatchWindow). Instances are shared
 * per model+params by the client; use retain()/release.
 */
export class ListStore<R = AnyRow> extends LiveStore<ListSnapshot<R>> implements CacheView {
  readonly model: string;
  readonly params: ListParams;
  private readonly ctx: StoreContext;
  private readonly limit: number;
  private readonly pk: string;
  private readonly compare: (a: AnyRow, b: AnyRow) => number;
  private ids: Id[] = [];
  private complete = false;
  private loading = true;
  private error: WalrelayError | null = null;
  private live = false;
  private handle: SubscriptionHandle | null = null;
  private hydrating = false;
  private refetchQueued = false;
  private buffer: { ev: ChangeEvent; exact: boolean }[] = [];
  private seen: CursorPos | null = null;
  private generation = 0;
  /** Created rows' ids → their optimistic placeholders, until their event. */
  private readonly swaps = new Map<string, string>();

  constructor(ctx: StoreContext, model: string, params: ListParams = {}) {
    super({ data: [], isLoading: true, error: null, isLive: false });
    this.ctx = ctx;
    this.model = model;
    this.params = params;
    this.limit = Math.min(params.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
    this.pk = ctx.model(model).primaryKey;
    this.compare = rowComparator(orderTerms(params.order), this.pk);
  }

  /** Re-reads over HTTP now (e.g. after a write in an HTTP-only client). */
  refetch(): void {
    if (this.refs.active) void this.hydrate();
  }

  /**
   * Shows a row that is being created, when it matches the list: returns
   * done(row?) — which swaps in the stored row unless its change event
   * already arrived — and rollback(). Views that are not running ignore it.
   */
  optimisticInsert(row: AnyRow, tempId: string): { done(stored?: AnyRow): void; rollback(): void } {
    const noop = { done: () => {}, rollback: () => {} };
    if (!this.refs.active || this.loading || !matches(row, this.params.where)) return noop;
    this.upsert(tempId, { ...row, [this.pk]: tempId });
    this.ctx.cache.touch(this);
    const drop = () => {
      this.remove(tempId);
      this.ctx.cache.touch(this);
    };
    return {
      rollback: drop,
      done: (stored) => {
        const id = stored?.[this.pk] as Id | undefined;
        if (!stored || id === undefined) return drop();
        if (!this.ctx.realtime) {
          // HTTP only: the stored row replaces the placeholder (a re-read follows).
          drop();
          if (this.indexOf(id) < 0) this.upsert(id, stored);
          return;
        }
        // Live: keep the placeholder until the row's own change arrives (it may
        // already be updated or deleted again), or for a few seconds at most.
        if (this.indexOf(id) >= 0) return drop();
        this.swaps.set(String(id), tempId);
        setTimeout(() => {
          if (this.swaps.get(String(id)) !== tempId) return;
          this.swaps.delete(String(id));
          this.ctx.batch.push(drop);
        }, 10_000);
      },
    };
  }

  // ---- lifecycle ----

  protected start(): void {
    this.generation++;
    void this.hydrate();
  }

  protected stop(): void {
    this.generation++;
    this.handle?.unsubscribe();
    this.handle = null;
    this.live = false;
    for (const id of this.ids) this.ctx.cache.release(rowKey(this.model, id), this);
    this.ids = [];
    this.loading = true;
    this.buffer = [];
    this.hydrating = false;
    this.recompute();
  }

  private async hydrate(): Promise<void> {
    if (this.hydrating) {
      this.refetchQueued = true;
      return;
    }
    const gen = this.generation;
    this.hydrating = true;
    this.refetchQueued = false;
    try {
      const res = await this.ctx.http.list<AnyRow>(this.ctx.model(this.model).path, {
        ...this.params,
        limit: this.limit + overfetch(this.limit),
      });
      if (gen !== this.generation) return;
      this.ctx.batch.push(() => this.install(res.items, res.next_page === null, res.cursor));
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

  private install(rows: AnyRow[], complete: boolean, cursor: string): void {
    const cache = this.ctx.cache;
    const old = this.ids;
    this.ids = rows.map((r) => r[this.pk] as Id);
    for (let i = 0; i < rows.length; i++) {
      const key = rowKey(this.model, this.ids[i] as Id);
      cache.hold(key, this);
      cache.set(key, rows[i] as AnyRow);
    }
    const kept = new Set(this.ids.map(String));
    for (const id of old) if (!kept.has(String(id))) cache.release(rowKey(this.model, id), this);
    this.complete = complete;
    this.loading = false;
    this.error = null;
    this.seen = parseCursor(cursor);
    cache.touch(this);
    const rt = this.ctx.realtime;
    if (rt) {
      if (!this.handle) {
        this.handle = rt.subscribe(
          { channel: `${this.model}:list`, filter: filterString(this.params.where), since: cursor },
          {
            onChange: (ev, exact) => this.onChange(ev, exact),
            onResync: () => void this.hydrate(),
            onSubscribed: () => this.setLive(true),
            onError: (err) => {
              this.ctx.batch.push(() => {
                this.error = err;
                this.live = false;
                this.ctx.cache.touch(this);
              });
            },
          },
        );
      } else {
        this.handle.resume(cursor);
      }
    }
    const buffered = this.buffer;
    this.buffer = [];
    this.hydrating = false;
    for (const b of buffered) this.apply(b.ev, b.exact);
    if (this.refetchQueued) void this.hydrate();
  }

  private setLive(v: boolean): void {
    this.ctx.batch.push(() => {
      if (this.live === v) return;
      this.live = v;
      this.ctx.cache.touch(this);
    });
  }

  private onChange(ev: ChangeEvent, exact: boolean): void {
    this.ctx.batch.push(() => {
      if (this.hydrating) this.buffer.push({ ev, exact });
      else this.apply(ev, exact);
    });
  }

  // ---- applying changes ----

  private apply(ev: ChangeEvent, exact: boolean): void {
    const pos = parseCursor(ev.cursor);
    if (covered(pos, this.seen)) return;
    if (pos) this.seen = pos;
    const where = this.params.where;
    const swapKey = ev.id ?? (ev.data?.[this.pk] as Id | undefined);
    const temp = swapKey === undefined ? undefined : this.swaps.get(String(swapKey));
    if (temp !== undefined) {
      this.swaps.delete(String(swapKey));
      this.remove(temp);
    }
    switch (ev.event) {
      case 'truncated':
        for (const id of this.ids) this.ctx.cache.release(rowKey(this.model, id), this);
        this.ids = [];
        this.complete = true;
        break;
      case 'deleted':
        this.remove(ev.id ?? (ev.old?.[this.pk] as Id | undefined));
        break;
      case 'created':
      case 'updated': {
        const row = ev.data;
        if (!row) break;
        const id = (row[this.pk] as Id | undefined) ?? ev.id;
        if (id === undefined) break;
        if (!exact && !matches(row, where)) {
          this.remove(id);
          break;
        }
        this.upsert(id, row);
        break;
      }
    }
    this.ctx.cache.touch(this);
    if (!this.complete && this.ids.length < this.limit) void this.hydrate();
  }

  private indexOf(id: Id): number {
    const s = String(id);
    return this.ids.findIndex((x) => String(x) === s);
  }

  private remove(id: Id | undefined): void {
    if (id === undefined) return;
    const i = this.indexOf(id);
    if (i < 0) return;
    this.ids.splice(i, 1);
    this.ctx.cache.release(rowKey(this.model, id), this);
  }

  private upsert(id: Id, row: AnyRow): void {
    const cache = this.ctx.cache;
    const key = rowKey(this.model, id);
    const i = this.indexOf(id);
    if (i >= 0) this.ids.splice(i, 1);
    // Binary search for the first position whose row sorts after `row`.
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = cache.get(rowKey(this.model, this.ids[mid] as Id)) ?? {};
      if (this.compare(other, row) <= 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.ids.length && !this.complete) {
      // Past the rows we know: rows on the server may sort before it.
      if (i >= 0) cache.release(key, this);
      return;
    }
    this.ids.splice(lo, 0, id);
    if (i < 0) cache.hold(key, this);
    cache.set(key, row);
    const cap = this.limit + overfetch(this.limit);
    while (this.ids.length > cap) {
      const dropped = this.ids.pop() as Id;
      cache.release(rowKey(this.model, dropped), this);
      this.complete = false;
    }
  }

  // ---- CacheView ----

  recompute(): boolean {
    const cache = this.ctx.cache;
    const data: R[] = [];
    const n = Math.min(this.limit, this.ids.length);
    for (let i = 0; i < n; i++) {
      const row = cache.get(rowKey(this.model, this.ids[i] as Id));
      if (row) data.push(row as R);
    }
    const prev = this.snap;
    const same =
      prev.isLoading === this.loading &&
      prev.error === this.error &&
      prev.isLive === this.live &&
      prev.data.length === data.length &&
      prev.data.every((r, i) => r === data[i]);
    if (same) return false;
    this.snap = { data, isLoading: this.loading, error: this.error, isLive: this.live };
    return true;
  }

}

/** Normalizes anything thrown into a WalrelayError. */
export function asError(e: unknown): WalrelayError {
  if (e instanceof WalrelayError) return e;
  return new WalrelayError('internal', e instanceof Error ? e.message : String(e), { cause: e });
}
