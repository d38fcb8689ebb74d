import type { AnyRow, ColumnOps, OrderTerm, Scalar, Where } from './types.js';

const tsRe = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d(?::?\d\d)?)?$/;
const intRe = /^-?\d+$/;

function normTimestamp(s: string): string | null {
  const m = tsRe.exec(s);
  if (!m) return null;
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(9, '0')}${m[4] ?? ''}`;
}

function codePointCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/**
 * Compares two non-null JSON values as the server orders them: numbers
 * numerically (also against big integers sent as strings), timestamps by
 * instant-text, other strings bytewise (code points), booleans false<true.
 * Returns NaN when the values are not comparable.
 */
export function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return sign(a - b);
  if ((typeof a === 'number' || typeof a === 'string') && (typeof b === 'number' || typeof b === 'string')) {
    if (typeof a === 'string' && typeof b === 'string') {
      const ta = normTimestamp(a);
      const tb = ta === null ? null : normTimestamp(b);
      if (ta !== null && tb !== null) return codePointCompare(ta, tb);
      return codePointCompare(a, b);
    }
    const sa = String(a);
    const sb = String(b);
    if (intRe.test(sa) && intRe.test(sb)) {
      const x = BigInt(sa);
      const y = BigInt(sb);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
    return sign(x - y);
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const x = String(a);
    const y = String(b);
    return x === y ? 0 : NaN;
  }
  return NaN;
}

function likeRegex(pattern: string, fold: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i] as string);
    else if (c === '%' || c === '*') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += escapeRe(fold ? foldAscii(c) : c);
  }
  return new RegExp(`^${re}$`, 'u');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function foldAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// Three-valued: true, false, or null (SQL unknown).
function evalOps(v: unknown, o: ColumnOps): boolean | null {
  let acc: boolean | null = true;
  const and = (r: boolean | null) => {
    if (r === false) acc = false;
    else if (r === null && acc !== false) acc = null;
  };
  const cmp = (x: Scalar | undefined, f: (c: number) => boolean) => {
    if (x === undefined) return;
    if (v === null || v === undefined || x === null) return and(null);
    const c = compareValues(v, x);
    and(Number.isNaN(c) ? false : f(c));
  };
  cmp(o.eq, (c) => c === 0);
  cmp(o.neq, (c) => c !== 0);
  cmp(o.lt, (c) => c < 0);
  cmp(o.lte, (c) => c <= 0);
  cmp(o.gt, (c) => c > 0);
  cmp(o.gte, (c) => c >= 0);
  if (o.in !== undefined) {
    if (v === null || v === undefined) and(null);
    else and(o.in.some((x) => x !== null && compareValues(v, x) === 0));
  }
  if (o.is !== undefined) and(o.is === null ? v === null || v === undefined : v === o.is);
  if (o.like !== undefined) and(v === null || v === undefined ? null : likeRegex(o.like, false).test(String(v)));
  if (o.ilike !== undefined) {
    and(v === null || v === undefined ? null : likeRegex(o.ilike, true).test(foldAscii(String(v))));
  }
  if (o.not !== undefined) {
    const r = evalOps(v, o.not);
    and(r === null ? null : !r);
  }
  return acc;
}

/** Reports whether a row matches a where object, with SQL NULL semantics. */
export function matches(row: AnyRow, where: Where | undefined): boolean {
  if (!where) return true;
  for (const col of Object.keys(where)) {
    const spec = (where as Record<string, unknown>)[col];
    if (spec === undefined) continue;
    const v = row[col];
    let r: boolean | null;
    if (spec === null) r = v === null || v === undefined;
    else if (Array.isArray(spec)) r = evalOps(v, { in: spec as Scalar[] });
    else if (typeof spec === 'object') r = evalOps(v, spec as ColumnOps);
    else r = evalOps(v, { eq: spec as Scalar });
    if (r !== true) return false;
  }
  return true;
}

/**
 * A row comparator for an order, with the primary key as the last
 * tie-breaker (as the server adds it). NULLs sort last ascending and first
 * descending, as in Postgres.
 */
export function rowComparator(order: OrderTerm[], primaryKey: string): (a: AnyRow, b: AnyRow) => number {
  const terms = order.some((t) => t.column === primaryKey) ? order : [...order, { column: primaryKey, desc: false }];
  return (a, b) => {
    for (const t of terms) {
      const x = a[t.column];
      const y = b[t.column];
      const xn = x === null || x === undefined;
      const yn = y === null || y === undefined;
      let c: number;
      if (xn || yn) c = xn && yn ? 0 : xn ? 1 : -1;
      else {
        c = compareValues(x, y);
        if (Number.isNaN(c)) c = codePointCompare(JSON.stringify(x), JSON.stringify(y));
      }
      if (c !== 0) return t.desc ? -c : c;
    }
    return 0;
  };
}
