import type { ColumnOps, ListParams, Order, OrderTerm, Scalar, Where } from './types.js';

const ops = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in', 'is', 'like', 'ilike', 'not'] as const;

function scalarText(v: Scalar): string {
  return v === null ? 'null' : String(v);
}

function listItem(v: Scalar): string {
  const s = scalarText(v);
  return /[,()"\\\s]/.test(s) ? `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"` : s;
}

function isOps(v: unknown): v is ColumnOps {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function opTerms(o: ColumnOps): string[] {
  const out: string[] = [];
  for (const op of ops) {
    const v = o[op];
    if (v === undefined) continue;
    if (op === 'not') {
      for (const t of opTerms(v as ColumnOps)) out.push(`not.${t}`);
    } else if (op === 'in') {
      out.push(`in.(${(v as readonly Scalar[]).map(listItem).join(',')})`);
    } else {
      out.push(`${op}.${scalarText(v as Scalar)}`);
    }
  }
  for (const k of Object.keys(o)) {
    if (!(ops as readonly string[]).includes(k)) throw new TypeError(`walrelay: unknown filter operator "${k}"`);
  }
  return out;
}

/**
 * Translates a where object to PostgREST (column, condition) pairs:
 * `{room_id: 5}` → `room_id=eq.5`, `{room_id: {gte: 5}}` → `room_id=gte.5`,
 * `{id: [1,2]}` → `id=in.(1,2)`, `{x: null}` → `x=is.null`.
 */
export function whereTerms(where: Where | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (!where) return out;
  for (const col of Object.keys(where).sort()) {
    const v = (where as Record<string, unknown>)[col];
    if (v === undefined) continue;
    if (v === null) out.push([col, 'is.null']);
    else if (Array.isArray(v)) out.push([col, `in.(${(v as Scalar[]).map(listItem).join(',')})`]);
    else if (isOps(v)) for (const t of opTerms(v)) out.push([col, t]);
    else out.push([col, `eq.${scalarText(v as Scalar)}`]);
  }
  return out;
}

/** The subscription filter string for a where object ("" when none). */
export function filterString(where: Where | undefined): string {
  return whereTerms(where)
    .map(([c, t]) => `${encodeURIComponent(c)}=${encodeURIComponent(t)}`)
    .join('&');
}

/** Parses an order into terms. */
export function orderTerms(order: Order | undefined): OrderTerm[] {
  if (!order) return [];
  if (typeof order !== 'string') return order.map((t) => ({ column: t.column, desc: !!t.desc }));
  return order
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [column, dir] = s.split('.');
      return { column: column as string, desc: dir === 'desc' };
    });
}

/** The `order=` value of an order. */
export function orderString(order: Order | undefined): string {
  return orderTerms(order)
    .map((t) => `${t.column}.${t.desc ? 'desc' : 'asc'}`)
    .join(',');
}

/** List params as REST query pairs, in a stable order. */
export function queryPairs(p: ListParams | undefined): [string, string][] {
  const out = whereTerms(p?.where);
  const order = orderString(p?.order);
  if (order) out.push(['order', order]);
  if (p?.limit !== undefined) out.push(['limit', String(p.limit)]);
  if (p?.page) out.push(['page', p.page]);
  if (p?.count) out.push(['count', 'exact']);
  return out;
}

/** List params as a URL query string (without "?"). */
export function queryString(p: ListParams | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of queryPairs(p)) q.append(k, v);
  return q.toString();
}

/** List params as a WS `request` params object (repeated keys become arrays). */
export function requestParams(p: ListParams | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of queryPairs(p)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}
