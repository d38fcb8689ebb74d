/** Builds a c1 cursor like the server's. */
export function cursor(lsn: number, seq = 0, epoch = 0, snapshot = false): string {
  const raw = `c1.${epoch}.${lsn}.${seq}${snapshot ? '.1.1.' : ''}`;
  return Buffer.from(raw).toString('base64url');
}
