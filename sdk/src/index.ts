export { createClient, WalrelayClient, type ClientOptions, type RealtimeOptions } from './client.js';
export { HTTPTransport, type HTTPTransportOptions, type GetResult } from './http.js';
// The socket transport is a separate entry (`@walrelay/client/ws`), loaded lazily by
// createClient, so HTTP-only apps never bundle it. Types only here.
export type { WebSocketTransportOptions, SocketLike, SocketConstructor } from './ws.js';
export { HybridDataClient, type DataClient, type MutationTransport } from './hybrid.js';
export { ListStore, type ListSnapshot } from './list-store.js';
export { ItemStore, type ItemSnapshot } from './item-store.js';
export { ChannelStore, applyPresence, type PresenceSnapshot } from './channel-store.js';
export { WalrelayError, type ErrorCode } from './errors.js';
export { filterString, queryString, orderString, whereTerms } from './query.js';
export { matches, rowComparator, compareValues } from './match.js';
export type { BatchWindow } from './batch.js';
export type { ModelInfo } from './context.js';
export type { ExternalStore } from './live.js';
export type {
  ChannelListener,
  RealtimeTransport,
  Reply,
  RequestArgs,
  SubscriptionHandle,
  SubscriptionSpec,
} from './realtime.js';
export type * from './types.js';
