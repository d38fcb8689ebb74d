import type { WalrelayError } from './errors.js';
import type { ChannelListener, RealtimeTransport, Reply, RequestArgs, SubscriptionHandle, SubscriptionSpec } from './realtime.js';
import type { ConnectionStatus } from './types.js';

/**
 * LazyRealtime stands in for the realtime transport until its code is
 * loaded (dynamic import on first use), so an app that never goes live
 * never loads it. Calls made before loading are replayed in order.
 */
export class LazyRealtime implements RealtimeTransport {
  private impl: RealtimeTransport | null = null;
  private loading: Promise<RealtimeTransport> | null = null;
  private closed = false;
  private readonly statusCbs = new Set<(s: ConnectionStatus) => void>();
  private readonly errorCbs = new Set<(e: WalrelayError) => void>();

  constructor(private readonly load: () => Promise<RealtimeTransport>) {}

  get status(): ConnectionStatus {
    return this.impl?.status ?? 'idle';
  }

  onStatus(cb: (s: ConnectionStatus) => void): () => void {
    this.statusCbs.add(cb);
    return () => this.statusCbs.delete(cb);
  }

  onError(cb: (e: WalrelayError) => void): () => void {
    this.errorCbs.add(cb);
    return () => this.errorCbs.delete(cb);
  }

  /** Loads the transport (once). */
  get(): Promise<RealtimeTransport> {
    if (this.impl) return Promise.resolve(this.impl);
    this.loading ??= this.load().then((t) => {
      this.impl = t;
      t.onStatus((s) => this.statusCbs.forEach((cb) => cb(s)));
      t.onError((e) => this.errorCbs.forEach((cb) => cb(e)));
      if (this.closed) t.close();
      return t;
    });
    return this.loading;
  }

  subscribe(spec: SubscriptionSpec, listener: ChannelListener): SubscriptionHandle {
    if (this.impl) return this.impl.subscribe(spec, listener);
    let h: SubscriptionHandle | null = null;
    let cancelled = false;
    let resumeWith: string | undefined;
    void this.get().then((t) => {
      if (cancelled || this.closed) return;
      h = t.subscribe(spec, listener);
      if (resumeWith !== undefined) h.resume(resumeWith);
    });
    return {
      resume: (since) => (h ? h.resume(since) : (resumeWith = since)),
      unsubscribe: () => {
        cancelled = true;
        h?.unsubscribe();
      },
    };
  }

  async request(op: 'list' | 'get' | 'create' | 'update' | 'delete', model: string, args: RequestArgs): Promise<Reply> {
    return (await this.get()).request(op, model, args);
  }

  async publish(channel: string, event: string, data: unknown): Promise<void> {
    return (await this.get()).publish(channel, event, data);
  }

  setPresence(channel: string, meta: Record<string, unknown>): void {
    void this.get().then((t) => t.setPresence(channel, meta));
  }

  close(): void {
    this.closed = true;
    this.impl?.close();
  }
}
