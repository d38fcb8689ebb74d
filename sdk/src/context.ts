import type { Batcher } from './batch.js';
import type { RowCache } from './cache.js';
import type { HTTPTransport } from './http.js';
import type { RealtimeTransport } from './realtime.js';

/** Per-model settings. */
export interface ModelInfo {
  /** REST path under /api (default: the model name in snake_case plus "s"). */
  path: string;
  /** Primary key column (default "id"). */
  primaryKey: string;
}

/** What live views share: transports, the row cache and the batcher. */
export interface StoreContext {
  http: HTTPTransport;
  realtime: RealtimeTransport | null;
  cache: RowCache;
  batch: Batcher;
  model(name: string): ModelInfo;
}

/** The default REST path of a model name: `ChatMessage` → `chat_messages`. */
export function defaultPath(model: string): string {
  const snake = model.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  return snake.endsWith('s') ? `${snake}es` : `${snake}s`;
}
