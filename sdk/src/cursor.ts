/**
 * Cursor comparison, used only as a safety net (dedupe) and for the
 * approximate join of a live channel: cursors are opaque to the protocol,
 * so anything unparseable compares as "unknown" and nothing is dropped.
 *
 * Format (server cursor.go, version c1): base64url of
 * `c1.<epoch>.<lsn>.<seq>[.<xmin>.<xmax>.<xip>]`.
 */
export interface CursorPos {
  epoch: number;
  lsn: bigint;
  seq: number;
  /** True for REST cursors, which carry a snapshot. */
  snapshot: boolean;
}

function b64urlDecode(s: string): string | null {
  try {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
    return atob(b64);
  } catch {
    return null;
  }
}

/** Parses a cursor, or returns null when it is not in a known format. */
export function parseCursor(s: string | undefined | null): CursorPos | null {
  if (!s) return null;
  const raw = b64urlDecode(s);
  if (!raw) return null;
  const p = raw.split('.');
  if (p[0] !== 'c1' || (p.length !== 4 && p.length !== 7)) return null;
  try {
    return { epoch: Number(p[1]), lsn: BigInt(p[2] as string), seq: Number(p[3]), snapshot: p.length === 7 };
  } catch {
    return null;
  }
}

/**
 * Reports whether an event at `ev` is already covered by `seen` (a
 * previously applied event cursor or a REST snapshot cursor):
 * - event cursor: events at or before it;
 * - snapshot cursor: events committed before its WAL insert position.
 * Different epochs or unknown formats: false (never drop).
 */
export function covered(ev: CursorPos | null, seen: CursorPos | null): boolean {
  if (!ev || !seen || ev.epoch !== seen.epoch) return false;
  if (seen.snapshot) return ev.lsn < seen.lsn;
  return ev.lsn < seen.lsn || (ev.lsn === seen.lsn && ev.seq <= seen.seq);
}
