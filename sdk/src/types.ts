/**
 * Type registry. Empty by default; `walrelay gen ts` output augments it:
 *
 * ```ts
 * declare module '@walrelay/client' {
 *   interface Register { models: WalrelayModels; inserts: WalrelayInserts }
 * }
 * ```
 *
 * Every model-typed API derives its row types from it, so without the
 * generated file rows are `Record<string, unknown>`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type
export interface Register {}

/** A row as sent by the server: column name to JSON value. */
export type AnyRow = Record<string, unknown>;

type RegisteredModels = Register extends { models: infer M } ? M : never;
type RegisteredInserts = Register extends { inserts: infer I } ? I : never;

/** Model names: the registered ones, or any string without a registry. */
export type ModelName = [RegisteredModels] extends [never] ? string : keyof RegisteredModels & string;

/** The row type of model M. */
export type Row<M extends string> = [RegisteredModels] extends [never]
  ? AnyRow
  : M extends keyof RegisteredModels
    ? RegisteredModels[M]
    : AnyRow;

/** The insert (create) shape of model M. */
export type Insert<M extends string> = [RegisteredInserts] extends [never]
  ? AnyRow
  : M extends keyof RegisteredInserts
    ? RegisteredInserts[M]
    : AnyRow;

/** The update (PATCH) shape of model M: any subset of the insert shape. */
export type Patch<M extends string> = Partial<Insert<M>>;

/** A primary key value. */
export type Id = string | number;

/** A filter operand. */
export type Scalar = string | number | boolean | null;

/** Operators of one column, PostgREST style. Several are ANDed. */
export interface ColumnOps {
  eq?: Scalar;
  neq?: Scalar;
  lt?: Scalar;
  lte?: Scalar;
  gt?: Scalar;
  gte?: Scalar;
  in?: readonly Scalar[];
  is?: null | boolean;
  like?: string;
  ilike?: string;
  not?: ColumnOps;
}

/**
 * A filter object: `{room_id: 5}` (eq), `{room_id: {gte: 5}}`,
 * `{id: [1, 2]}` (in), `{edited_at: null}` (is.null). Columns are ANDed.
 */
export type Where<R = AnyRow> = {
  [K in keyof R & string]?: Scalar | readonly Scalar[] | ColumnOps;
};

/** One order term. */
export interface OrderTerm<R = AnyRow> {
  column: keyof R & string;
  desc?: boolean;
}

/** An order: `"created_at.desc,id.asc"` or `[{column, desc}]`. */
export type Order<R = AnyRow> = string | readonly OrderTerm<R>[];

/** Parameters of a list read. */
export interface ListParams<R = AnyRow> {
  where?: Where<R>;
  order?: Order<R>;
  /** Page size (server default 100, at most 1000). */
  limit?: number;
  /** Keyset page token from a previous `next_page`. */
  page?: string;
  /** Ask for `total`. */
  count?: boolean;
}

/** One page of a list read. */
export interface ListResult<R = AnyRow> {
  items: R[];
  next_page: string | null;
  total?: number;
  /** The change-stream position the read reflects (CONTRACT §5). */
  cursor: string;
}

/** Change event kinds. */
export type ChangeKind = 'created' | 'updated' | 'deleted' | 'truncated';

/** A row change delivered on a model channel. */
export interface ChangeEvent<R = AnyRow> {
  channel: string;
  event: ChangeKind;
  id?: Id;
  data?: R;
  old?: R;
  cursor: string;
  commit_ts?: string;
}

/** A custom-channel event (published by a client or emitted from SQL). */
export interface ChannelEvent<D = unknown> {
  channel: string;
  event: string;
  data: D;
  /** The publisher (`{sub}`), or null for a message emitted from SQL. */
  from?: { sub: string | null } | null;
}

/** One present user: its key (the token's `sub`) and one meta per connection. */
export interface PresenceEntry<M = Record<string, unknown>> {
  key: string;
  metas: (M & { presence_ref: string })[];
}

/**
 * A presence frame of a custom channel: the full `state` (right after
 * subscribing), or a diff of `joins` and `leaves` (metas by presence_ref).
 */
export interface PresenceFrame<M = Record<string, unknown>> {
  channel: string;
  state?: PresenceEntry<M>[];
  joins: PresenceEntry<M>[];
  leaves: PresenceEntry<M>[];
}

/**
 * Connection status:
 * - `idle`: realtime not in use (no subscription yet, or HTTP only);
 * - `connecting`: first connection attempt;
 * - `live`: connected, authenticated, subscriptions active;
 * - `reconnecting`: lost, waiting or retrying with backoff;
 * - `offline`: the browser is offline, or the token was refused for good.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'offline';

/** A function returning the current token (may be async); null: anonymous. */
export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;
