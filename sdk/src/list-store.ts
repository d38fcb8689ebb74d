import { rowKey } from './cache.js';
import type { StoreContext } from './context.js';
import type { WalrelayError } from './errors.js';
import { matches, rowComparator } from './match.js';
import { filterString, orderTerms } from './query.js';
import { SyncedStore } from './synced-store.js';
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
export class ListStore<R = AnyRow> extends SyncedStore<ListSnapshot<R>> {
  readonly model: string;
  readonly params: ListParams;
  private readonly limit: number;
  private readonly pk: string;
  private readonly compare: (a: AnyRow, b: AnyRow) => number;
  private ids: Id[] = [];
  private complete = false;
  private refetchQueued = false;
  /** Created rows' ids → their optimistic placeholders, until their event. */
  private readonly swaps = new Map<string, string>();

  constructor(ctx: StoreContext, model: string, params: ListParams = {}) {
    super(ctx, { data: [], isLoading: true, error: null, isLive: false });
    this.model = model;
    this.params = params;
    this.limit = Math.min(params.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
    this.pk = ctx.model(model).primaryKey;
    this.compare = rowComparator(orderTerms(params.order), this.pk);
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
    this.halt();
    for (const id of this.ids) this.ctx.cache.release(rowKey(this.model, id), this);
    this.ids = [];
    this.recompute();
  }

  protected async hydrate(): Promise<void> {
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
      this.readFailed(gen, e);
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
    this.installed(cursor);
    const rt = this.ctx.realtime;
    if (rt) this.follow(rt, { channel: `${this.model}:list`, filter: filterString(this.params.where) }, cursor);
    this.drain();
    if (this.refetchQueued) void this.hydrate();
  }

  // ---- applying changes ----

  protected apply(ev: ChangeEvent, exact: boolean): void {
    if (!this.fresh(ev)) return;
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
