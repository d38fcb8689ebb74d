import { Batcher, type BatchWindow } from './batch.js';
import { RowCache, rowKey } from './cache.js';
import { ChannelStore } from './channel-store.js';
import { defaultPath, type ModelInfo, type StoreContext } from './context.js';
import type { WalrelayError } from './errors.js';
import { HTTPTransport } from './http.js';
import { HybridDataClient, type MutationTransport } from './hybrid.js';
import { ItemStore } from './item-store.js';
import { LazyRealtime } from './lazy.js';
import { ListStore } from './list-store.js';
import { queryPairs } from './query.js';
import type { RealtimeTransport } from './realtime.js';
import type { AnyRow, ConnectionStatus, Id, Insert, ListParams, ModelName, Row, TokenSource } from './types.js';

/** Realtime settings (all optional). */
export interface RealtimeOptions {
  /** Full socket URL (default: `url` with ws[s]:// and /ws). */
  wsUrl?: string;
  /** Client ping interval, ms (default 20000). */
  heartbeatInterval?: number;
  /** Pong deadline after a ping, ms (default 10000). */
  heartbeatTimeout?: number;
  /** Reconnect backoff base and cap, ms (default 500, 15000), full jitter. */
  backoffBase?: number;
  backoffMax?: number;
  /** Request (and publish) timeout, ms (default 30000). */
  requestTimeout?: number;
}

/** Options of createClient. */
export interface ClientOptions {
  /** The walrelay server, e.g. `https://api.example.com`. */
  url: string;
  /** A static token. */
  token?: string;
  /** A token source, called for each connection, before the token expires and after a 4401. */
  getToken?: TokenSource;
  /**
   * Go live over one WebSocket (true or settings), or HTTP only (false,
   * default). The socket code is loaded with a dynamic import on first use,
   * so an HTTP-only app does not bundle it.
   */
  realtime?: boolean | RealtimeOptions;
  /** WebSocket implementation for non-browser runtimes (e.g. the `ws` package). */
  WebSocket?: unknown;
  /** fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Per-model REST path and primary key (defaults: snake_case plural, "id"). */
  models?: Record<string, Partial<ModelInfo>>;
  /** Where mutations go (default 'http'). */
  mutations?: MutationTransport;
  /** How live changes are batched (default 'frame'). */
  batch?: BatchWindow;
  /** Advanced: a realtime transport to use instead of the built-in one. */
  transport?: RealtimeTransport;
}

/**
 * WalrelayClient owns one HTTP transport, at most one realtime connection,
 * the normalized row cache and the shared live views (one per model+query,
 * one per model+id, one per custom channel). Create one per app.
 */
export class WalrelayClient {
  /** The REST transport. */
  readonly http: HTTPTransport;
  /** The realtime transport, null for an HTTP-only client. */
  readonly realtime: RealtimeTransport | null;
  private readonly ctx: StoreContext;
  private readonly lists = new Map<string, ListStore<never>>();
  private readonly items = new Map<string, ItemStore<never>>();
  private readonly channels = new Map<string, ChannelStore<never>>();
  private readonly models: Record<string, Partial<ModelInfo>>;
  private readonly mutations: MutationTransport;
  private tempIds = 0;

  constructor(opts: ClientOptions) {
    const token = opts.token;
    const getToken: TokenSource | undefined = opts.getToken ?? (token !== undefined ? () => token : undefined);
    this.http = new HTTPTransport({ url: opts.url, ...(getToken ? { getToken } : {}), ...(opts.fetch ? { fetch: opts.fetch } : {}) });
    this.models = opts.models ?? {};
    this.mutations = opts.mutations ?? 'http';
    if (opts.transport) this.realtime = opts.transport;
    else if (opts.realtime) {
      const canRefresh = opts.getToken !== undefined;
      this.realtime = new LazyRealtime(() => import('./ws.js').then((m) => m.createRealtime(opts as never, getToken, canRefresh)));
    } else this.realtime = null;
    const cache = new RowCache();
    this.ctx = {
      http: this.http,
      realtime: this.realtime,
      cache,
      batch: new Batcher(opts.batch ?? 'frame', () => cache.commit()),
      model: (name) => this.modelInfo(name),
    };
  }

  /** REST path and primary key of a model. */
  modelInfo(name: string): ModelInfo {
    const m = this.models[name] ?? {};
    return { path: m.path ?? defaultPath(name), primaryKey: m.primaryKey ?? 'id' };
  }

  /** The DataClient of a model. */
  model<M extends ModelName>(name: M): HybridDataClient<Row<M>, Insert<M>> {
    return new HybridDataClient<Row<M>, Insert<M>>(name, this.modelInfo(name), this.http, this.realtime, this.mutations, (m, id, row) =>
      this.afterWrite(m, id, row as AnyRow | undefined),
    );
  }

  /** The shared live list of a model and query. */
  liveList<M extends ModelName>(name: M, params: ListParams<Row<M>> = {}): ListStore<Row<M>> {
    const key = `${name}?${JSON.stringify(queryPairs(params as ListParams))}`;
    let s = this.lists.get(key);
    if (!s) this.lists.set(key, (s = new ListStore<never>(this.ctx, name, params as ListParams)));
    return s as unknown as ListStore<Row<M>>;
  }

  /** The shared live row of a model and id. */
  liveGet<M extends ModelName>(name: M, id: Id): ItemStore<Row<M>> {
    const key = `${name}:${String(id)}`;
    let s = this.items.get(key);
    if (!s) this.items.set(key, (s = new ItemStore<never>(this.ctx, name, id)));
    return s as unknown as ItemStore<Row<M>>;
  }

  /** The shared custom channel (events, presence, publish). */
  channel<P = Record<string, unknown>>(name: string): ChannelStore<P> {
    let s = this.channels.get(name);
    if (!s) this.channels.set(name, (s = new ChannelStore<never>(this.realtime, name)));
    return s as unknown as ChannelStore<P>;
  }

  /** Connection status ('idle' for an HTTP-only client). */
  get status(): ConnectionStatus {
    return this.realtime?.status ?? 'idle';
  }

  /** Watches the connection status. */
  onStatus(cb: (s: ConnectionStatus) => void): () => void {
    return this.realtime?.onStatus(cb) ?? (() => {});
  }

  /** Watches connection-level errors (e.g. a refused token). */
  onError(cb: (e: WalrelayError) => void): () => void {
    return this.realtime?.onError(cb) ?? (() => {});
  }

  /** Re-reads every live list and row of a model (done after writes when HTTP-only). */
  invalidate(model: string): void {
    for (const s of this.lists.values()) if (s.model === model) s.refetch();
    for (const s of this.items.values()) if (s.model === model) s.refetch();
  }

  /**
   * Applies an optimistic change to a cached row (fn returns the new row, or
   * null to hide it) and returns the rollback, which restores the previous
   * row unless a newer one arrived meanwhile.
   */
  optimistic(key: string, fn: (row: AnyRow) => AnyRow | null): () => void {
    const cache = this.ctx.cache;
    const prev = cache.get(key);
    if (!prev) return () => {};
    const next = fn(prev);
    if (next) cache.set(key, next);
    else cache.remove(key);
    cache.commit();
    return () => {
      if (cache.get(key) !== (next ?? undefined)) return;
      cache.set(key, prev);
      cache.commit();
    };
  }

  /**
   * Shows a row being created in the running live lists of its model that
   * it matches; returns done(stored) and rollback().
   */
  optimisticCreate(model: string, row: AnyRow): { done(stored?: AnyRow): void; rollback(): void } {
    const tempId = `optimistic:${++this.tempIds}`;
    const handles = [...this.lists.values()].filter((s) => s.model === model).map((s) => s.optimisticInsert(row, tempId));
    this.ctx.cache.commit();
    return {
      done: (stored) => {
        handles.forEach((h) => h.done(stored));
        this.ctx.cache.commit();
      },
      rollback: () => {
        handles.forEach((h) => h.rollback());
        this.ctx.cache.commit();
      },
    };
  }

  /** Closes the realtime connection. */
  close(): void {
    this.realtime?.close();
  }

  private afterWrite(model: string, id?: Id, row?: AnyRow): void {
    // Live views learn of writes from the change stream, in commit order (a
    // reply could be older than an event already applied): nothing to do.
    if (this.realtime) return;
    // HTTP-only: show the written row at once where cached, then re-read.
    if (id !== undefined && row && this.ctx.cache.get(rowKey(model, id))) {
      this.ctx.cache.set(rowKey(model, id), row);
      this.ctx.cache.commit();
    }
    this.invalidate(model);
  }

}

/** Creates a client. One per app; share it through the React Provider. */
export function createClient(opts: ClientOptions): WalrelayClient {
  return new WalrelayClient(opts);
}
