import type { ModelInfo } from './context.js';
import { WalrelayError } from './errors.js';
import type { HTTPTransport } from './http.js';
import { requestParams } from './query.js';
import type { RealtimeTransport } from './realtime.js';
import type { AnyRow, ChangeEvent, Id, ListParams, ListResult } from './types.js';

/** Where mutations go: REST (default) or WebSocket `request` messages. */
export type MutationTransport = 'http' | 'ws';

/**
 * DataClient is one model's API, whatever the transport: reads, writes and
 * (with realtime) change subscriptions.
 */
export interface DataClient<R = AnyRow, I = AnyRow> {
  /** One page of rows and the read's cursor. */
  list(params?: ListParams<R>): Promise<ListResult<R>>;
  /** A row, or null when absent or not readable. */
  get(id: Id): Promise<R | null>;
  /** Creates a row; resolves to the stored row. */
  create(data: I): Promise<R>;
  /** Updates a row; resolves to the stored row. */
  update(id: Id, data: Partial<I>): Promise<R>;
  /** Deletes a row; false when it was absent. */
  delete(id: Id): Promise<boolean>;
  /**
   * Raw change events of a channel of this model: `"list"`, `"created"`,
   * `"item:7"`, ... or a full name (`"Message:list"`). Without realtime
   * this is a no-op. Returns the unsubscribe function.
   */
  subscribe(channel: string, cb: (ev: ChangeEvent<R>) => void, opts?: { filter?: string; since?: string }): () => void;
  /** Calls cb with the new row on each update of row `id`. */
  onUpdate(id: Id, cb: (row: R) => void): () => void;
  /** Calls cb when row `id` is deleted. */
  onDelete(id: Id, cb: () => void): () => void;
}

/**
 * HybridDataClient reads over HTTP, writes over HTTP (or over the socket
 * with `mutations: 'ws'`), and subscribes over the socket when the client
 * is realtime. Stateless; safe to share.
 */
export class HybridDataClient<R = AnyRow, I = AnyRow> implements DataClient<R, I> {
  constructor(
    readonly model: string,
    private readonly info: ModelInfo,
    private readonly http: HTTPTransport,
    private readonly ws: RealtimeTransport | null,
    private readonly mutations: MutationTransport = 'http',
    private readonly onWrite: (model: string, id?: Id, row?: R) => void = () => {},
  ) {}

  list(params?: ListParams<R>): Promise<ListResult<R>> {
    return this.http.list<R>(this.info.path, params as ListParams);
  }

  async get(id: Id): Promise<R | null> {
    return (await this.http.get<R>(this.info.path, id)).row;
  }

  async create(data: I): Promise<R> {
    const r = this.viaWs()
      ? ((await this.viaWs()!.request('create', this.model, { data })).data as R)
      : await this.http.create<R>(this.info.path, data);
    this.onWrite(this.model, (r as Record<string, unknown>)[this.info.primaryKey] as Id | undefined, r);
    return r;
  }

  async update(id: Id, data: Partial<I>): Promise<R> {
    const r = this.viaWs()
      ? ((await this.viaWs()!.request('update', this.model, { id, data })).data as R)
      : await this.http.update<R>(this.info.path, id, data);
    this.onWrite(this.model, id, r);
    return r;
  }

  async delete(id: Id): Promise<boolean> {
    let ok: boolean;
    const ws = this.viaWs();
    if (ws) {
      try {
        await ws.request('delete', this.model, { id });
        ok = true;
      } catch (e) {
        if (e instanceof WalrelayError && e.code === 'not_found') ok = false;
        else throw e;
      }
    } else {
      ok = await this.http.delete(this.info.path, id);
    }
    this.onWrite(this.model, id);
    return ok;
  }

  /** A list over the socket (`request` op list), for clients that prefer it. */
  async listOverSocket(params?: ListParams<R>): Promise<ListResult<R>> {
    if (!this.ws) return this.list(params);
    const r = await this.ws.request('list', this.model, { params: requestParams(params as ListParams) });
    return r.data as ListResult<R>;
  }

  subscribe(channel: string, cb: (ev: ChangeEvent<R>) => void, opts: { filter?: string; since?: string } = {}): () => void {
    if (!this.ws) return () => {};
    const full = channel.startsWith(`${this.model}:`) ? channel : `${this.model}:${channel}`;
    const h = this.ws.subscribe(
      { channel: full, ...opts },
      { onChange: (ev) => cb(ev as ChangeEvent<R>) },
    );
    return () => h.unsubscribe();
  }

  onUpdate(id: Id, cb: (row: R) => void): () => void {
    return this.subscribe(`item:${String(id)}`, (ev) => {
      if (ev.event === 'updated' && ev.data) cb(ev.data);
    });
  }

  onDelete(id: Id, cb: () => void): () => void {
    return this.subscribe(`item:${String(id)}`, (ev) => {
      if (ev.event === 'deleted') cb();
    });
  }

  private viaWs(): RealtimeTransport | null {
    return this.mutations === 'ws' ? this.ws : null;
  }
}
