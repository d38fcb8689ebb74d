import { covered, parseCursor, type CursorPos } from './cursor.js';
import { WalrelayError } from './errors.js';
import { refreshDelay, tokenExpiry } from './jwt.js';
import type {
  ChannelListener,
  RealtimeTransport,
  Reply,
  RequestArgs,
  SubscriptionHandle,
  SubscriptionSpec,
} from './realtime.js';
import type { ChangeEvent, ChannelEvent, ConnectionStatus, PresenceEntry, PresenceFrame, TokenSource } from './types.js';

/** The subset of the WHATWG WebSocket the transport uses (browser or `ws`). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor (globalThis.WebSocket, or `ws` in Node). */
export type SocketConstructor = new (url: string) => SocketLike;

/** Options of the realtime connection. */
export interface WebSocketTransportOptions {
  /** Server base URL (http[s]://...); the socket goes to ws[s]://.../ws. */
  url: string;
  /** Full socket URL, overriding the one derived from `url`. */
  wsUrl?: string;
  /** Token source; refreshed before expiry and after a 4401 close. */
  getToken?: TokenSource;
  /** False when the token is static: a 4401 close is then final (offline). */
  canRefreshToken?: boolean;
  /** The WebSocket implementation (default globalThis.WebSocket). */
  WebSocket?: SocketConstructor;
  /** Client ping interval, ms (default 20000). */
  heartbeatInterval?: number;
  /** A pong (or any frame) must arrive within this many ms of a ping (default 10000). */
  heartbeatTimeout?: number;
  /** Backoff base and cap, ms (default 500 and 15000): full jitter, random(0, min(cap, base·2^n)). */
  backoffBase?: number;
  backoffMax?: number;
  /** Request timeout, ms (default 30000). */
  requestTimeout?: number;
}

interface Sub {
  spec: SubscriptionSpec;
  listener: ChannelListener;
  /** Changes at or before this point are already applied (dedupe). */
  seen: CursorPos | null;
  /** True when the listener hydrated over HTTP (needs exact resumption). */
  hydrated: boolean;
}

interface Chan {
  name: string;
  subs: Set<Sub>;
  /** The filter the server currently applies ("" none). */
  filter: string;
  /** Resume point: the last event cursor or the `subscribed` cursor. */
  position: string | undefined;
  /** since to send with the next subscribe (first subscribe or after resync). */
  pendingSince: string | undefined;
  acked: boolean;
  failed: boolean;
  resyncing: boolean;
  presence: Record<string, unknown> | undefined;
}

interface Pending {
  resolve(r: Reply): void;
  reject(e: WalrelayError): void;
  timer: ReturnType<typeof setTimeout>;
  msg: Record<string, unknown>;
  sent: boolean;
}

type Msg = Record<string, unknown> & { type?: string; ref?: unknown; channel?: string };

const OPEN = 1;

/**
 * WebSocketTransport is the one connection of a client: every subscription
 * is multiplexed over it, reference-counted per channel. It reconnects with
 * capped exponential backoff and full jitter, resubscribes each channel from
 * its last cursor, pings to detect dead sockets, follows online/offline and
 * page visibility, refreshes the token before it expires and after a 4401.
 *
 * All callbacks run on the socket's message handler, in server order. Not
 * safe for use from several threads (there are none in JS).
 */
export class WebSocketTransport implements RealtimeTransport {
  private readonly opts: Required<
    Pick<WebSocketTransportOptions, 'heartbeatInterval' | 'heartbeatTimeout' | 'backoffBase' | 'backoffMax' | 'requestTimeout'>
  > &
    WebSocketTransportOptions;
  private readonly Ctor: SocketConstructor;
  private readonly wsUrl: string;
  private sock: SocketLike | null = null;
  private ready = false;
  private closed = false;
  private attempt = 0;
  private nextRef = 1;
  private statusValue: ConnectionStatus = 'idle';
  private readonly statusCbs = new Set<(s: ConnectionStatus) => void>();
  private readonly errorCbs = new Set<(e: WalrelayError) => void>();
  private readonly chans = new Map<string, Chan>();
  private readonly subRefs = new Map<string, Chan>();
  /** Canonical channel names the server answered with (Message:item:007 → :7). */
  private readonly aliases = new Map<string, Chan>();
  private readonly pending = new Map<string, Pending>();
  private authRef: string | null = null;
  private token: string | null = null;
  private timers: {
    reconnect?: ReturnType<typeof setTimeout>;
    refresh?: ReturnType<typeof setTimeout>;
    ping?: ReturnType<typeof setInterval>;
    pong?: ReturnType<typeof setTimeout>;
  } = {};
  private readonly detach: (() => void)[] = [];

  constructor(opts: WebSocketTransportOptions) {
    this.opts = {
      heartbeatInterval: 20_000,
      heartbeatTimeout: 10_000,
      backoffBase: 500,
      backoffMax: 15_000,
      requestTimeout: 30_000,
      ...opts,
    };
    const Ctor = opts.WebSocket ?? (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
    if (!Ctor) throw new WalrelayError('bad_request', 'walrelay: no WebSocket implementation; pass the WebSocket option');
    this.Ctor = Ctor;
    this.wsUrl = opts.wsUrl ?? `${opts.url.replace(/\/+$/, '').replace(/^http/, 'ws')}/ws`;
    this.watchEnvironment();
  }

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  onStatus(cb: (s: ConnectionStatus) => void): () => void {
    this.statusCbs.add(cb);
    return () => this.statusCbs.delete(cb);
  }

  onError(cb: (e: WalrelayError) => void): () => void {
    this.errorCbs.add(cb);
    return () => this.errorCbs.delete(cb);
  }

  subscribe(spec: SubscriptionSpec, listener: ChannelListener): SubscriptionHandle {
    const name = spec.channel;
    let ch = this.chans.get(name);
    const sub: Sub = { spec, listener, seen: parseCursor(spec.since), hydrated: spec.since !== undefined };
    if (!ch) {
      ch = {
        name,
        subs: new Set(),
        filter: spec.filter ?? '',
        position: undefined,
        pendingSince: spec.since,
        acked: false,
        failed: false,
        resyncing: false,
        presence: spec.presence,
      };
      this.chans.set(name, ch);
      ch.subs.add(sub);
      this.sendSubscribe(ch);
    } else {
      ch.subs.add(sub);
      if (spec.presence) ch.presence = spec.presence;
      if (ch.failed) {
        // Try again for the newcomer (it gets the error if it fails again).
        ch.filter = this.wantedFilter(ch);
        this.sendSubscribe(ch);
      } else {
        this.refilter(ch);
      }
    }
    this.ensureConnected();
    let done = false;
    return {
      resume: (since: string) => {
        if (done) return;
        sub.seen = parseCursor(since);
        sub.hydrated = true;
        const c = this.chans.get(name);
        if (c?.resyncing) {
          c.resyncing = false;
          c.pendingSince = since;
          this.sendSubscribe(c);
        }
      },
      unsubscribe: () => {
        if (done) return;
        done = true;
        const c = this.chans.get(name);
        if (!c) return;
        c.subs.delete(sub);
        if (c.subs.size === 0) {
          this.chans.delete(name);
          for (const [k, v] of this.aliases) if (v === c) this.aliases.delete(k);
          if (this.ready && c.acked) this.send({ type: 'unsubscribe', ref: this.ref(), channel: name });
        } else {
          this.refilter(c);
        }
      },
    };
  }

  request(op: 'list' | 'get' | 'create' | 'update' | 'delete', model: string, args: RequestArgs): Promise<Reply> {
    const msg: Record<string, unknown> = { type: 'request', op, model };
    if (args.id !== undefined) msg.id = args.id;
    if (args.params !== undefined) msg.params = args.params;
    if (args.data !== undefined) msg.data = args.data;
    return this.call(msg);
  }

  async publish(channel: string, event: string, data: unknown): Promise<void> {
    await this.call({ type: 'publish', channel, event, data });
  }

  setPresence(channel: string, meta: Record<string, unknown>): void {
    const ch = this.chans.get(channel);
    if (!ch) return;
    ch.presence = meta;
    // No reply on success; the change comes back as a presence diff.
    if (this.ready && ch.acked) this.rawSend({ type: 'presence', ref: this.ref(), channel, meta });
  }

  close(): void {
    this.closed = true;
    for (const d of this.detach.splice(0)) d();
    this.clearTimers();
    const s = this.sock;
    this.sock = null;
    this.ready = false;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.onerror = null;
      s.close(1000, 'client closed');
    }
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new WalrelayError('closed', 'connection closed'));
      this.pending.delete(ref);
    }
    this.setStatus('idle');
  }

  // ---- connection lifecycle ----

  private ensureConnected(): void {
    if (this.closed || this.sock || this.timers.reconnect !== undefined) return;
    if (this.statusValue === 'offline') return;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.timers.reconnect = undefined;
    if (this.closed || this.sock) return;
    this.setStatus(this.statusValue === 'idle' || this.statusValue === 'connecting' ? 'connecting' : 'reconnecting');
    let token: string | null = null;
    try {
      token = (await this.opts.getToken?.()) ?? null;
    } catch (e) {
      this.emitError(new WalrelayError('unauthorized', `getToken failed: ${(e as Error).message}`, { cause: e }));
      this.scheduleReconnect();
      return;
    }
    if (this.closed || this.sock) return;
    this.token = token;
    let sock: SocketLike;
    try {
      sock = new this.Ctor(this.wsUrl);
    } catch (e) {
      this.emitError(new WalrelayError('network', `connect: ${(e as Error).message}`, { cause: e }));
      this.scheduleReconnect();
      return;
    }
    this.sock = sock;
    sock.onopen = () => {
      if (this.sock !== sock) return;
      this.startHeartbeat();
      if (token) {
        this.authRef = this.ref();
        this.rawSend({ type: 'auth', ref: this.authRef, token });
      } else {
        this.onReady();
      }
    };
    sock.onmessage = (ev) => {
      if (this.sock !== sock) return;
      this.onFrame(ev.data);
    };
    sock.onerror = () => {
      // onclose follows with the code
    };
    sock.onclose = (ev) => {
      if (this.sock !== sock) return;
      this.onClosed(ev.code, ev.reason);
    };
  }

  private onReady(): void {
    this.ready = true;
    this.attempt = 0;
    this.scheduleRefresh();
    for (const ch of this.chans.values()) {
      if (!ch.failed) this.sendSubscribe(ch);
    }
    for (const [, p] of this.pending) {
      if (!p.sent) {
        p.sent = true;
        this.rawSend(p.msg);
      }
    }
    this.setStatus('live');
  }

  private onClosed(code: number, reason: string): void {
    this.dropSocket();
    if (this.closed) return;
    if (code === 4401) {
      if (this.opts.canRefreshToken === false) {
        this.emitError(new WalrelayError('unauthorized', reason || 'token refused'));
        this.setStatus('offline');
        return;
      }
      // getToken is called again by connect(); back off in case it keeps failing.
    }
    this.scheduleReconnect();
  }

  /** Forgets the socket: pending requests fail, channels need resubscribing. */
  private dropSocket(): void {
    const s = this.sock;
    this.sock = null;
    this.ready = false;
    this.authRef = null;
    this.clearTimers();
    if (s) {
      s.onopen = null;
      s.onclose = null;
      s.onmessage = null;
      s.onerror = null;
      if (s.readyState <= OPEN) {
        try {
          s.close(4000, 'dead');
        } catch {
          // already closing
        }
      }
    }
    for (const ch of this.chans.values()) ch.acked = false;
    this.subRefs.clear();
    for (const [ref, p] of this.pending) {
      if (p.sent) {
        clearTimeout(p.timer);
        p.reject(new WalrelayError('closed', 'connection lost before the reply'));
        this.pending.delete(ref);
      }
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timers.reconnect !== undefined) return;
    if (isOffline()) {
      this.setStatus('offline');
      return;
    }
    this.setStatus(this.statusValue === 'connecting' && this.attempt === 0 ? 'connecting' : 'reconnecting');
    const cap = Math.min(this.opts.backoffMax, this.opts.backoffBase * 2 ** this.attempt);
    this.attempt++;
    const delay = Math.random() * cap;
    this.timers.reconnect = setTimeout(() => void this.connect(), delay);
  }

  /** Reconnects now (online event, page visible again). */
  private reconnectNow(): void {
    if (this.closed) return;
    if (this.timers.reconnect !== undefined) {
      clearTimeout(this.timers.reconnect);
      this.timers.reconnect = undefined;
    }
    this.attempt = 0;
    if (!this.sock) void this.connect();
  }

  private clearTimers(): void {
    clearTimeout(this.timers.refresh);
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
    this.timers.refresh = undefined;
    this.timers.ping = undefined;
    this.timers.pong = undefined;
  }

  private startHeartbeat(): void {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => this.ping(), this.opts.heartbeatInterval);
  }

  private ping(): void {
    if (!this.sock || this.timers.pong !== undefined) return;
    this.rawSend({ type: 'ping', ref: this.ref() });
    this.timers.pong = setTimeout(() => {
      this.timers.pong = undefined;
      // No frame in time: the socket is dead (a close may never come).
      this.onClosed(4000, 'heartbeat timeout');
    }, this.opts.heartbeatTimeout);
  }

  private scheduleRefresh(): void {
    clearTimeout(this.timers.refresh);
    this.timers.refresh = undefined;
    if (!this.token || this.opts.canRefreshToken === false || !this.opts.getToken) return;
    const exp = tokenExpiry(this.token);
    if (exp === null) return;
    this.timers.refresh = setTimeout(() => void this.refreshToken(), refreshDelay(exp, Date.now()));
  }

  private async refreshToken(): Promise<void> {
    const sock = this.sock;
    let token: string | null;
    try {
      token = (await this.opts.getToken?.()) ?? null;
    } catch (e) {
      this.emitError(new WalrelayError('unauthorized', `getToken failed: ${(e as Error).message}`, { cause: e }));
      return;
    }
    if (!token || this.sock !== sock || !this.ready) return;
    this.token = token;
    this.authRef = this.ref();
    this.rawSend({ type: 'auth', ref: this.authRef, token });
    this.scheduleRefresh();
  }

  private watchEnvironment(): void {
    const g = globalThis as {
      addEventListener?: (t: string, f: () => void) => void;
      removeEventListener?: (t: string, f: () => void) => void;
      document?: { visibilityState?: string; addEventListener?: (t: string, f: () => void) => void; removeEventListener?: (t: string, f: () => void) => void };
    };
    if (typeof g.addEventListener === 'function' && typeof g.removeEventListener === 'function') {
      const online = () => this.reconnectNow();
      const offline = () => {
        if (this.closed) return;
        this.dropSocket();
        clearTimeout(this.timers.reconnect);
        this.timers.reconnect = undefined;
        this.setStatus('offline');
      };
      g.addEventListener('online', online);
      g.addEventListener('offline', offline);
      this.detach.push(() => {
        g.removeEventListener?.('online', online);
        g.removeEventListener?.('offline', offline);
      });
    }
    const doc = g.document;
    if (doc && typeof doc.addEventListener === 'function') {
      const vis = () => {
        if (doc.visibilityState !== 'visible' || this.closed) return;
        if (this.sock && this.ready) this.ping();
        else if (this.chans.size > 0 || this.pending.size > 0) this.reconnectNow();
      };
      doc.addEventListener('visibilitychange', vis);
      this.detach.push(() => doc.removeEventListener?.('visibilitychange', vis));
    }
  }

  // ---- messages ----

  private ref(): string {
    return String(this.nextRef++);
  }

  private rawSend(msg: Record<string, unknown>): void {
    const s = this.sock;
    if (s && s.readyState === OPEN) s.send(JSON.stringify(msg));
  }

  private send(msg: Record<string, unknown>): void {
    if (this.ready) this.rawSend(msg);
  }

  private call(msg: Record<string, unknown>): Promise<Reply> {
    const ref = this.ref();
    msg.ref = ref;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new WalrelayError('timeout', `${String(msg.type)} timed out`));
      }, this.opts.requestTimeout);
      const p: Pending = { resolve, reject, timer, msg, sent: false };
      this.pending.set(ref, p);
      if (this.ready) {
        p.sent = true;
        this.rawSend(msg);
      } else {
        this.ensureConnected();
      }
    });
  }

  /** The filter the server should apply: the common one, or none when listeners differ. */
  private wantedFilter(ch: Chan): string {
    let f: string | undefined;
    for (const s of ch.subs) {
      const sf = s.spec.filter ?? '';
      if (f === undefined) f = sf;
      else if (f !== sf) return '';
    }
    return f ?? '';
  }

  private refilter(ch: Chan): void {
    const f = this.wantedFilter(ch);
    if (f === ch.filter) return;
    ch.filter = f;
    // Re-subscribing a live channel replaces the filter atomically (no since:
    // no gap, no repeat). Before the first ack, the pending since still holds.
    this.sendSubscribe(ch, ch.acked);
  }

  private sendSubscribe(ch: Chan, replace = false): void {
    if (!this.ready) return;
    const ref = this.ref();
    const msg: Record<string, unknown> = { type: 'subscribe', ref, channel: ch.name };
    if (ch.filter) msg.filter = ch.filter;
    const since = replace ? undefined : (ch.pendingSince ?? ch.position);
    if (replace) ch.pendingSince = undefined;
    if (since) msg.since = since;
    if (ch.presence) msg.presence = ch.presence;
    this.subRefs.set(ref, ch);
    ch.failed = false;
    this.rawSend(msg);
  }

  private onFrame(data: unknown): void {
    clearTimeout(this.timers.pong);
    this.timers.pong = undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch {
      this.emitError(new WalrelayError('bad_request', 'unparseable frame from server'));
      return;
    }
    const msgs = Array.isArray(parsed) ? parsed : [parsed];
    for (const m of msgs) {
      if (m && typeof m === 'object') this.onMessage(m as Msg);
    }
  }

  private onMessage(m: Msg): void {
    const ref = m.ref === undefined || m.ref === null ? undefined : String(m.ref);
    switch (m.type) {
      case 'authenticated':
        if (ref !== undefined && ref === this.authRef) {
          this.authRef = null;
          if (!this.ready) this.onReady();
        }
        return;
      case 'subscribed': {
        const ch = ref === undefined ? undefined : this.subRefs.get(ref);
        if (ref !== undefined) this.subRefs.delete(ref);
        if (!ch || this.chans.get(ch.name) !== ch) return;
        ch.acked = true;
        ch.pendingSince = undefined;
        if (typeof m.channel === 'string' && m.channel !== ch.name) this.aliases.set(m.channel, ch);
        if (typeof m.cursor === 'string' && m.cursor) {
          // The start point only matters until the first event moves past it.
          if (!ch.position || !covered(parseCursor(m.cursor), parseCursor(ch.position))) ch.position = m.cursor;
        }
        for (const s of [...ch.subs]) s.listener.onSubscribed?.();
        return;
      }
      case 'event':
        this.onEvent(m);
        return;
      case 'presence': {
        const ch = this.lookup(m.channel);
        if (!ch) return;
        const p: PresenceFrame = {
          channel: ch.name,
          joins: (m.joins as PresenceEntry[] | undefined) ?? [],
          leaves: (m.leaves as PresenceEntry[] | undefined) ?? [],
        };
        if (Array.isArray(m.state)) p.state = m.state as PresenceEntry[];
        for (const s of [...ch.subs]) s.listener.onPresence?.(p);
        return;
      }
      case 'resync': {
        const ch = this.lookup(m.channel);
        if (!ch) return;
        ch.resyncing = true;
        ch.position = undefined;
        const hydrated = [...ch.subs].filter((s) => s.hydrated && s.listener.onResync);
        for (const s of ch.subs) s.listener.onResync?.();
        if (hydrated.length === 0) {
          // Nobody re-reads: just continue live.
          ch.resyncing = false;
        }
        return;
      }
      case 'reply': {
        const p = ref === undefined ? undefined : this.pending.get(ref);
        if (!p || ref === undefined) return;
        this.pending.delete(ref);
        clearTimeout(p.timer);
        const r: Reply = { data: m.data };
        if (typeof m.cursor === 'string') r.cursor = m.cursor;
        p.resolve(r);
        return;
      }
      case 'error':
        this.onServerError(m, ref);
        return;
      case 'pong':
      case 'unsubscribed':
        return;
      default: {
        // An acknowledgement of some other kind (e.g. of a publish).
        const p = ref === undefined ? undefined : this.pending.get(ref);
        if (p && ref !== undefined) {
          this.pending.delete(ref);
          clearTimeout(p.timer);
          p.resolve({ data: m.data });
        }
      }
    }
  }

  /** The live channel state for a channel name from the server. */
  private lookup(name: unknown): Chan | undefined {
    const n = String(name);
    const ch = this.chans.get(n) ?? this.aliases.get(n);
    return ch && this.chans.get(ch.name) === ch ? ch : undefined;
  }

  private onEvent(m: Msg): void {
    const ch = this.lookup(m.channel);
    if (!ch) return;
    const kind = m.event;
    const isChange =
      typeof m.cursor === 'string' && (kind === 'created' || kind === 'updated' || kind === 'deleted' || kind === 'truncated');
    if (!isChange) {
      const ev: ChannelEvent = { channel: ch.name, event: String(kind), data: m.data };
      if (m.from !== undefined) ev.from = m.from as ChannelEvent['from'];
      for (const s of [...ch.subs]) s.listener.onMessage?.(ev);
      return;
    }
    const ev = m as unknown as ChangeEvent;
    const pos = parseCursor(ev.cursor);
    ch.position = ev.cursor;
    for (const s of [...ch.subs]) {
      if (covered(pos, s.seen)) continue;
      if (pos) s.seen = pos;
      s.listener.onChange?.(ev, (s.spec.filter ?? '') === ch.filter);
    }
  }

  private onServerError(m: Msg, ref: string | undefined): void {
    const code = String(m.code ?? 'internal');
    const message = String(m.message ?? code);
    if (ref !== undefined) {
      const p = this.pending.get(ref);
      if (p) {
        this.pending.delete(ref);
        clearTimeout(p.timer);
        p.reject(new WalrelayError(code, message));
        return;
      }
      const ch = this.subRefs.get(ref);
      if (ch) {
        this.subRefs.delete(ref);
        this.failChannel(ch, new WalrelayError(code, message, { channel: ch.name }));
        return;
      }
      if (ref === this.authRef) {
        this.emitError(new WalrelayError(code, message));
        return;
      }
    }
    if (typeof m.channel === 'string') {
      const ch = this.lookup(m.channel);
      if (ch) {
        this.failChannel(ch, new WalrelayError(code, message, { channel: ch.name }));
        return;
      }
    }
    this.emitError(new WalrelayError(code, message));
  }

  private failChannel(ch: Chan, err: WalrelayError): void {
    if (this.chans.get(ch.name) !== ch) return;
    ch.failed = true;
    ch.acked = false;
    for (const s of [...ch.subs]) s.listener.onError?.(err);
  }

  private setStatus(s: ConnectionStatus): void {
    if (s === this.statusValue) return;
    this.statusValue = s;
    for (const cb of [...this.statusCbs]) cb(s);
  }

  private emitError(e: WalrelayError): void {
    for (const cb of [...this.errorCbs]) cb(e);
  }
}

function isOffline(): boolean {
  const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
  return nav?.onLine === false;
}

/**
 * The entry point the client loads lazily: builds the transport from the
 * client's options (`WebSocket`, `wsUrl` and heartbeat/backoff settings may
 * be given at the top level or in `realtime: {...}`).
 */
export function createRealtime(
  opts: { url: string; realtime?: unknown } & Partial<WebSocketTransportOptions>,
  getToken: TokenSource | undefined,
  canRefreshToken: boolean,
): WebSocketTransport {
  const extra = typeof opts.realtime === 'object' && opts.realtime !== null ? (opts.realtime as WebSocketTransportOptions) : {};
  return new WebSocketTransport({ ...opts, ...extra, url: opts.url, getToken, canRefreshToken });
}
