import { createContext, createElement, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { WalrelayClient } from '../client.js';
import type { ItemSnapshot } from '../item-store.js';
import type { ListSnapshot } from '../list-store.js';
import type { PresenceSnapshot } from '../channel-store.js';
import type { WalrelayError } from '../errors.js';
import { rowKey } from '../cache.js';
import type { AnyRow, ChannelEvent, ConnectionStatus, Id, Insert, ListParams, ModelName, Order, Patch, Row, Where } from '../types.js';

const Ctx = createContext<WalrelayClient | null>(null);

/** Makes a client available to the hooks below it. */
export function Provider(props: { client: WalrelayClient; children?: ReactNode }): ReactNode {
  return createElement(Ctx.Provider, { value: props.client }, props.children);
}

/** The client from the nearest Provider. */
export function useClient(): WalrelayClient {
  const c = useContext(Ctx);
  if (!c) throw new Error('walrelay: hooks must be used inside <Provider client={...}>');
  return c;
}

/** Options of useList. */
export interface UseListOptions<R> {
  where?: Where<R>;
  order?: Order<R>;
  limit?: number;
}

/**
 * A live list: hydrated over HTTP, then kept current from the change stream
 * (when the client is realtime). Hooks with the same model and options
 * share one store and one server subscription.
 */
export function useList<M extends ModelName>(model: M, opts: UseListOptions<Row<M>> = {}): ListSnapshot<Row<M>> {
  const client = useClient();
  const key = JSON.stringify([opts.where ?? null, opts.order ?? null, opts.limit ?? null]);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const store = useMemo(() => client.liveList(model, opts as ListParams<Row<M>>), [client, model, key]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** A live row (null while loading, when absent or deleted). */
export function useGet<M extends ModelName>(model: M, id: Id | null | undefined): ItemSnapshot<Row<M>> {
  const client = useClient();
  const store = useMemo(() => (id === null || id === undefined ? null : client.liveGet(model, id)), [client, model, id]);
  const sub = useCallback((cb: () => void) => (store ? store.subscribe(cb) : () => {}), [store]);
  const snap = useCallback(() => (store ? store.getSnapshot() : idle), [store]);
  return useSyncExternalStore(sub, snap, snap) as ItemSnapshot<Row<M>>;
}

const idle: ItemSnapshot<never> = { data: null, isLoading: false, error: null, isLive: false };

/** The connection status. */
export function useStatus(): ConnectionStatus {
  const client = useClient();
  return useSyncExternalStore(
    useCallback((cb: () => void) => client.onStatus(cb), [client]),
    () => client.status,
    () => client.status,
  );
}

/** State of a mutation hook. */
export interface MutationState<A extends unknown[], T> {
  /** Runs the mutation; rejects with a WalrelayError (also kept in `error`). */
  mutate(...args: A): Promise<T>;
  isPending: boolean;
  error: WalrelayError | null;
  reset(): void;
}

/** Mutation hook options. */
export interface MutationOptions {
  /** Apply the change to the cache at once and roll it back on error. */
  optimistic?: boolean;
}

function useMutation<A extends unknown[], T>(run: (...args: A) => Promise<T>): MutationState<A, T> {
  const [state, setState] = useState<{ pending: number; error: WalrelayError | null }>({ pending: 0, error: null });
  const runRef = useRef(run);
  runRef.current = run;
  const mutate = useCallback(async (...args: A) => {
    setState((s) => ({ pending: s.pending + 1, error: null }));
    try {
      const r = await runRef.current(...args);
      setState((s) => ({ ...s, pending: s.pending - 1 }));
      return r;
    } catch (e) {
      setState((s) => ({ pending: s.pending - 1, error: e as WalrelayError }));
      throw e;
    }
  }, []);
  const reset = useCallback(() => setState((s) => ({ ...s, error: null })), []);
  return { mutate, isPending: state.pending > 0, error: state.error, reset };
}

/**
 * Creates rows of a model; `optimistic` shows the new row at once in the
 * live lists it matches (with a temporary id) and removes it on error.
 */
export function useCreate<M extends ModelName>(model: M, opts: MutationOptions = {}): MutationState<[data: Insert<M>], Row<M>> {
  const client = useClient();
  return useMutation(async (data: Insert<M>) => {
    const pending = opts.optimistic ? client.optimisticCreate(model, data as unknown as AnyRow) : null;
    try {
      const row = await client.model(model).create(data);
      pending?.done(row as unknown as AnyRow);
      return row;
    } catch (e) {
      pending?.rollback();
      throw e;
    }
  });
}

/** Updates rows of a model; `optimistic` shows the patch at once and rolls back on error. */
export function useUpdate<M extends ModelName>(model: M, opts: MutationOptions = {}): MutationState<[id: Id, data: Patch<M>], Row<M>> {
  const client = useClient();
  return useMutation(async (id: Id, data: Patch<M>) => {
    const undo = opts.optimistic ? client.optimistic(rowKey(model, id), (row) => ({ ...row, ...(data as unknown as AnyRow) })) : null;
    try {
      return await client.model(model).update(id, data);
    } catch (e) {
      undo?.();
      throw e;
    }
  });
}

/** Deletes rows of a model; `optimistic` hides the row at once and restores it on error. */
export function useDelete<M extends ModelName>(model: M, opts: MutationOptions = {}): MutationState<[id: Id], boolean> {
  const client = useClient();
  return useMutation(async (id: Id) => {
    const undo = opts.optimistic ? client.optimistic(rowKey(model, id), () => null) : null;
    try {
      return await client.model(model).delete(id);
    } catch (e) {
      undo?.();
      throw e;
    }
  });
}

/** Event handlers by event name; `'*'` gets every event. */
export type ChannelHandlers = Record<string, (data: unknown, ev: ChannelEvent) => void>;

/**
 * Subscribes to a custom channel for the component's lifetime; handlers
 * may change between renders without resubscribing. Returns `publish`.
 */
export function useChannel(name: string, handlers: ChannelHandlers): { publish(event: string, data?: unknown): Promise<void> } {
  const client = useClient();
  const ref = useRef(handlers);
  ref.current = handlers;
  const store = useMemo(() => client.channel(name), [client, name]);
  useEffect(
    () =>
      store.on((ev) => {
        ref.current[ev.event]?.(ev.data, ev);
        ref.current['*']?.(ev.data, ev);
      }),
    [store],
  );
  return useMemo(() => ({ publish: (event: string, data: unknown = {}) => store.publish(event, data) }), [store]);
}

/** usePresence's result: the presence snapshot plus `track` to change this client's meta. */
export interface PresenceState<P> extends PresenceSnapshot<P> {
  track(meta: Record<string, unknown>): void;
}

/**
 * Presence of a custom channel: everyone present, one entry per user with
 * one meta per connection. `meta` is announced with the subscription; when
 * it changes (by value) it is sent again.
 */
export function usePresence<P = Record<string, unknown>>(name: string, meta?: Record<string, unknown>): PresenceState<P> {
  const client = useClient();
  const store = useMemo(() => {
    const s = client.channel<P>(name);
    s.setMeta(meta);
    return s;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, name]);
  const snap = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const metaKey = meta === undefined ? undefined : JSON.stringify(meta);
  const sent = useRef(metaKey);
  useEffect(() => {
    if (metaKey === undefined || metaKey === sent.current) return;
    sent.current = metaKey;
    store.track(JSON.parse(metaKey) as Record<string, unknown>);
  }, [store, metaKey]);
  const track = useCallback((m: Record<string, unknown>) => store.track(m), [store]);
  return useMemo(() => ({ ...snap, track }), [snap, track]);
}

export type { ListSnapshot, ItemSnapshot, PresenceSnapshot };
