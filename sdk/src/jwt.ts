/** Returns a JWT's `exp` claim in milliseconds since the epoch, or null. */
export function tokenExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((part.length + 3) % 4);
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * When to refresh a token expiring at `exp` (ms), seen at `now`: a minute
 * before expiry, or halfway there for short-lived tokens.
 */
export function refreshDelay(exp: number, now: number): number {
  const left = exp - now;
  if (left <= 0) return 0;
  return Math.max(0, left - Math.min(60_000, left / 2));
}
