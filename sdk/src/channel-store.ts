import type { WalrelayError } from './errors.js';
import { LiveStore } from './live.js';
import type { RealtimeTransport, SubscriptionHandle } from './realtime.js';
import type { ChannelEvent, PresenceEntry, PresenceFrame } from './types.js';

/** A custom channel's presence state. */
export interface PresenceSnapshot<M = Record<string, unknown>> {
  /** Everyone present: one entry per key (user), one meta per connection. */
  state: PresenceEntry<M>[];
  /** True once the subscription is acknowledged. */
  joined: boolean;
  error: WalrelayError | null;
}

/**
 * Applies a presence frame: a full state replaces, a diff adds the joined
 * metas and removes the left ones (by presence_ref); keys without metas go.
 */
export function applyPresence<M>(state: PresenceEntry<M>[], f: PresenceFrame<M>): PresenceEntry<M>[] {
  const map = new Map<string, PresenceEntry<M>['metas']>();
  for (const e of f.state ?? state) map.set(e.key, [...e.metas]);
  for (const l of f.leaves) {
    const gone = new Set(l.metas.map((m) => m.presence_ref));
    const left = (map.get(l.key) ?? []).filter((m) => !gone.has(m.presence_ref));
    if (left.length) map.set(l.key, left);
    else map.delete(l.key);
  }
  for (const j of f.joins) {
    const refs = new Set(j.metas.map((m) => m.presence_ref));
    map.set(j.key, [...(map.get(j.key) ?? []).filter((m) => !refs.has(m.presence_ref)), ...j.metas]);
  }
  return [...map].map(([key, metas]) => ({ key, metas }));
}

/**
 * ChannelStore is one custom channel (`chat:room:7`): event handlers and
 * presence over one reference-counted subscription. Presence meta is sent
 * with the subscribe message and can be changed with track(). Shared per
 * channel name by the client. Channels deliver live messages only: nothing
 * is replayed after a reconnect, and presence restarts from a full state.
 */
export class ChannelStore<M = Record<string, unknown>> extends LiveStore<PresenceSnapshot<M>> {
  private readonly handlers = new Set<(ev: ChannelEvent) => void>();
  private handle: SubscriptionHandle | null = null;
  private meta: Record<string, unknown> | undefined;

  constructor(
    private readonly rt: RealtimeTransport | null,
    readonly name: string,
  ) {
    super({ state: [], joined: false, error: null });
  }

  /** Sets the presence meta to announce (sent with the subscription). */
  setMeta(meta: Record<string, unknown> | undefined): void {
    if (meta !== undefined) this.meta = meta;
  }

  /** Changes the presence meta; sent at once when subscribed. */
  track(meta: Record<string, unknown>): void {
    this.meta = meta;
    if (this.handle) this.rt?.setPresence(this.name, meta);
  }

  /** Adds an event handler; keeps the channel subscribed until removed. */
  on(handler: (ev: ChannelEvent) => void): () => void {
    this.handlers.add(handler);
    const release = this.refs.retain();
    return () => {
      this.handlers.delete(handler);
      release();
    };
  }

  /** Publishes an event; resolves on the server's `published`. */
  publish(event: string, data: unknown): Promise<void> {
    if (!this.rt) return Promise.reject(new Error('walrelay: publish needs a realtime client'));
    return this.rt.publish(this.name, event, data);
  }

  protected start(): void {
    if (!this.rt) return;
    const spec = this.meta ? { channel: this.name, presence: this.meta } : { channel: this.name };
    this.handle = this.rt.subscribe(spec, {
      onMessage: (ev) => this.handlers.forEach((h) => h(ev)),
      onPresence: (p) => this.set({ ...this.snap, state: applyPresence(this.snap.state, p as PresenceFrame<M>) }),
      onSubscribed: () => this.set({ ...this.snap, joined: true, error: null }),
      onError: (error) => this.set({ ...this.snap, joined: false, error }),
    });
  }

  protected stop(): void {
    this.handle?.unsubscribe();
    this.handle = null;
    this.snap = { state: [], joined: false, error: null };
  }

  private set(s: PresenceSnapshot<M>): void {
    this.snap = s;
    this.notify();
  }
}
