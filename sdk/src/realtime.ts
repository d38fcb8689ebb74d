import type { WalrelayError } from './errors.js';
import type { ChangeEvent, ChannelEvent, ConnectionStatus, Id, PresenceFrame } from './types.js';

/** What to subscribe to. */
export interface SubscriptionSpec {
  /** Channel name, e.g. `Message:list`, `Message:item:7`, `chat:room:7`. */
  channel: string;
  /** Server-side filter (PostgREST query string), "" for none. */
  filter?: string;
  /**
   * Deliver the changes after this cursor (a REST read's cursor, or an
   * event's). Without it: changes from the subscription on.
   */
  since?: string;
  /** Presence meta for custom channels with presence. */
  presence?: Record<string, unknown>;
}

/**
 * Callbacks of one subscriber. Called synchronously from the socket's
 * message handler, in the server's order (commit order across channels).
 */
export interface ChannelListener {
  /**
   * A row change. `exact` is true when the server applied this listener's
   * filter (the event is in its view); false when the channel is shared
   * with other filters and the listener must match rows itself.
   */
  onChange?(ev: ChangeEvent, exact: boolean): void;
  /** A custom-channel event. */
  onMessage?(ev: ChannelEvent): void;
  /** A presence frame. */
  onPresence?(p: PresenceFrame): void;
  /**
   * The server cannot resume the channel: re-read over HTTP, then call
   * the handle's resume(cursor).
   */
  onResync?(): void;
  /** The server acknowledged the subscription (again, after a reconnect). */
  onSubscribed?(): void;
  /** The subscription failed or was dropped (e.g. forbidden after a token refresh). */
  onError?(err: WalrelayError): void;
}

/** One subscriber's handle. */
export interface SubscriptionHandle {
  /**
   * Continue after a fresh HTTP read at `since`: changes that read already
   * reflects are dropped. After a resync the channel is subscribed again
   * with `since`, so the server resumes it exactly.
   */
  resume(since: string): void;
  /** Stop; the last subscriber of a channel unsubscribes it on the server. */
  unsubscribe(): void;
}

/** A request over the socket (`{"type":"request"}`). */
export interface RequestArgs {
  id?: Id;
  params?: Record<string, unknown>;
  data?: unknown;
}

/** A reply: data and, for reads, the cursor. */
export interface Reply {
  data: unknown;
  cursor?: string;
}

/**
 * RealtimeTransport is one multiplexed connection. Implementations must be
 * safe to call from any callback (no re-entrancy assumptions) and deliver
 * events in server order.
 */
export interface RealtimeTransport {
  /** The current connection status. */
  readonly status: ConnectionStatus;
  /** Watches status changes; returns a function that stops watching. */
  onStatus(cb: (s: ConnectionStatus) => void): () => void;
  /** Watches errors not tied to a subscription or request. */
  onError(cb: (e: WalrelayError) => void): () => void;
  /** Subscribes a listener; subscriptions are reference-counted per channel. */
  subscribe(spec: SubscriptionSpec, listener: ChannelListener): SubscriptionHandle;
  /** Sends a request; replies are matched by ref. */
  request(op: 'list' | 'get' | 'create' | 'update' | 'delete', model: string, args: RequestArgs): Promise<Reply>;
  /** Publishes to a custom channel; resolves when the server accepted it. */
  publish(channel: string, event: string, data: unknown): Promise<void>;
  /**
   * Changes this connection's presence meta on a subscribed custom channel
   * (also used when it resubscribes).
   */
  setPresence(channel: string, meta: Record<string, unknown>): void;
  /** Closes the connection for good. */
  close(): void;
}
