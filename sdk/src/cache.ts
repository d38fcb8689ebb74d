import type { AnyRow, Id } from './types.js';

/** The cache key of a row. */
export function rowKey(model: string, id: Id): string {
  return `${model}\u0000${String(id)}`;
}

/** A store that renders rows from the cache. */
export interface CacheView {
  /** Recomputes the view's snapshot; returns true when it changed. */
  recompute(): boolean;
  /** Notifies the view's subscribers. */
  notify(): void;
}

/**
 * RowCache is the client's normalized row store: one object per model+id,
 * shared by every list and item view, so two hooks on the same row agree.
 * Rows are reference-counted by the views holding them and dropped when no
 * view does. Changes mark the views that hold the row dirty; commit()
 * recomputes and notifies each dirty view once.
 */
export class RowCache {
  private readonly rows = new Map<string, AnyRow>();
  private readonly holders = new Map<string, Set<CacheView>>();
  private readonly dirty = new Set<CacheView>();

  /** The row, if cached. */
  get(key: string): AnyRow | undefined {
    return this.rows.get(key);
  }

  /** Sets a row; views holding it are marked dirty. */
  set(key: string, row: AnyRow): void {
    if (this.rows.get(key) === row) return;
    this.rows.set(key, row);
    for (const v of this.holders.get(key) ?? []) this.dirty.add(v);
  }

  /** Removes a row's value but not its holders (an optimistic delete). */
  remove(key: string): void {
    if (!this.rows.delete(key)) return;
    for (const v of this.holders.get(key) ?? []) this.dirty.add(v);
  }

  /** Marks a view dirty (its membership changed). */
  touch(v: CacheView): void {
    this.dirty.add(v);
  }

  /** Records that view v holds key. */
  hold(key: string, v: CacheView): void {
    let s = this.holders.get(key);
    if (!s) this.holders.set(key, (s = new Set()));
    s.add(v);
  }

  /** Records that view v no longer holds key; unheld rows are dropped. */
  release(key: string, v: CacheView): void {
    const s = this.holders.get(key);
    if (!s) return;
    s.delete(v);
    if (s.size === 0) {
      this.holders.delete(key);
      this.rows.delete(key);
    }
  }

  /** Recomputes dirty views and notifies those whose snapshot changed. */
  commit(): void {
    if (this.dirty.size === 0) return;
    const views = [...this.dirty];
    this.dirty.clear();
    const changed = views.filter((v) => v.recompute());
    for (const v of changed) v.notify();
  }
}
