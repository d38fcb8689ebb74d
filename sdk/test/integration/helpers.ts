import { createHmac } from 'node:crypto';
import pg from 'pg';
import WS from 'ws';
import { inject } from 'vitest';
import { createClient, type ClientOptions, type WalrelayClient } from '../../src/index.js';

export const env = inject('walrelay');

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

/** Signs an HS256 test token. */
export function sign(claims: Record<string, unknown>, secret = env.secret): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** A token for `sub` in `rooms`, valid for `ttl` seconds. */
export function token(sub = 'alice', rooms = [1, 2], ttl = 3600): string {
  return sign({ sub, rooms, exp: Math.floor(Date.now() / 1000) + ttl });
}

/** Runs SQL on a separate connection. */
export async function sql<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: env.dbUrl });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Frames seen by the sockets of a spy, parsed. */
export interface SocketSpy {
  Ctor: typeof WS;
  sent: Record<string, unknown>[];
  received: Record<string, unknown>[];
  opened: number;
  /** Rewrites outgoing messages (e.g. to corrupt a cursor). */
  rewrite?: (m: Record<string, unknown>) => Record<string, unknown>;
}

/** A `ws` WebSocket subclass that records every frame. */
export function socketSpy(): SocketSpy {
  const spy: SocketSpy = { Ctor: WS, sent: [], received: [], opened: 0 };
  class Spy extends WS {
    constructor(url: string) {
      super(url);
      spy.opened++;
      this.addEventListener('message', (ev) => {
        const m = JSON.parse(String(ev.data)) as unknown;
        for (const x of Array.isArray(m) ? m : [m]) spy.received.push(x as Record<string, unknown>);
      });
    }
    override send(data: unknown, ...rest: unknown[]): void {
      let m = JSON.parse(String(data)) as Record<string, unknown>;
      if (spy.rewrite) m = spy.rewrite(m);
      spy.sent.push(m);
      (super.send as (d: unknown, ...r: unknown[]) => void)(JSON.stringify(m), ...rest);
    }
  }
  spy.Ctor = Spy as unknown as typeof WS;
  return spy;
}

/** A realtime client for the test server. */
export function client(opts: Partial<ClientOptions> = {}, spy = socketSpy()): WalrelayClient {
  const tok = token();
  return createClient({
    url: env.url,
    getToken: () => tok,
    realtime: { heartbeatInterval: 2000, heartbeatTimeout: 2000, backoffBase: 50, backoffMax: 500 },
    WebSocket: spy.Ctor,
    batch: 0,
    models: { Message: { path: 'messages' }, Room: { path: 'rooms' } },
    ...opts,
  });
}

/** Restarts (or stops/starts) the walrelay process. */
export async function control(op: 'restart' | 'stop' | 'start'): Promise<void> {
  const r = await fetch(`${env.control}/${op}`, { method: 'POST' });
  if (r.status !== 200) throw new Error(`${op}: ${await r.text()}`);
}

/** Inserts a message as alice and returns its id. */
export async function insertMessage(room: number, body: string, author = 'alice'): Promise<number> {
  const rows = await sql<{ id: string }>('insert into messages (room_id, author_id, body) values ($1, $2, $3) returning id', [
    room,
    author,
    body,
  ]);
  return Number(rows[0]!.id);
}
