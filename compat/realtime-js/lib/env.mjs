// The world of the realtime-js tests: a walrelay built from this tree with
// the demo schema and config (sql/demo.sql, sql/demo.yaml) on a throwaway
// Postgres, tokens signed with its secret, SQL from a separate connection,
// and realtime-js clients pointed at its Supabase Realtime endpoint.

import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { RealtimeClient } from '@supabase/realtime-js';
import {
  buildBinary,
  freePort,
  kill,
  repoRoot,
  startPostgres,
  startServe,
  stopAll,
} from '../../../e2e/lib/processes.mjs';

const secret = 'realtime-js-compat-secret-0123456789abcdef';

/** The project key realtime-js needs (apikey); walrelay never takes it as a user. */
export const apikey = 'sb_publishable_walrelay-compat';

/** A running walrelay: its URL and a restart on the same port. */
export class Walrelay {
  async start() {
    this.bin = await buildBinary();
    this.pg = await startPostgres(this.bin);
    this.dbUrl = this.pg.url;
    this.addr = `127.0.0.1:${await freePort()}`;
    await this.startServer();
    return this;
  }

  async startServer() {
    this.server = await startServe(this.bin, {
      config: join(repoRoot, 'sql', 'demo.yaml'),
      env: { DATABASE_URL: this.dbUrl, LISTEN: this.addr, JWT_SECRET: secret },
      addr: this.addr,
      name: 'realtime-js-serve',
    });
  }

  /** Stops the server (SIGTERM: it closes every connection with 1001) and starts it again. */
  async restart() {
    await kill(this.server);
    await this.startServer();
  }

  /** realtime-js's endpoint: it appends /websocket. */
  get realtimeUrl() {
    return `ws://${this.addr}/realtime/v1`;
  }

  async stop() {
    await stopAll();
  }
}

function b64url(s) {
  return Buffer.from(s).toString('base64url');
}

/** An HS256 token for sub in rooms (the demo's read rule), valid for ttl seconds. */
export function token(sub, rooms, ttl = 3600) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, rooms, role: 'authenticated', exp: Math.floor(Date.now() / 1000) + ttl }));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Runs SQL on a connection of its own, as another app would. */
export async function sql(dbUrl, text, values = []) {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return (await c.query(text, values)).rows;
  } finally {
    await c.end();
  }
}

/**
 * A realtime-js client on walrelay, with a `ws` WebSocket (Node 20 has no
 * global one) that records every frame it receives in `frames`.
 */
export function client(w, { vsn = '2.0.0', accessToken } = {}) {
  const frames = [];
  class Recording extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('message', (ev) => frames.push(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString('latin1')));
    }
  }
  const rt = new RealtimeClient(w.realtimeUrl, {
    params: { apikey },
    transport: Recording,
    vsn,
    heartbeatIntervalMs: 5000,
    reconnectAfterMs: () => 200,
    ...(accessToken ? { accessToken } : {}),
  });
  rt.frames = frames;
  return rt;
}

/** Subscribes a channel; resolves on SUBSCRIBED, rejects on anything else. */
export function subscribed(channel) {
  return new Promise((ok, fail) => {
    channel.subscribe((status, err) => {
      if (status === 'SUBSCRIBED') ok(channel);
      else fail(new Error(`${channel.topic}: ${status}${err ? `: ${err.message}` : ''}`));
    });
  });
}

/** Subscribes a channel; resolves with the first status other than SUBSCRIBED, and its error. */
export function refused(channel) {
  return new Promise((ok, fail) => {
    let done = false;
    channel.subscribe((status, err) => {
      if (done) return;
      done = true;
      if (status === 'SUBSCRIBED') fail(new Error(`${channel.topic}: SUBSCRIBED, want a refusal`));
      else ok({ status, err });
    });
  });
}

/** Collects callback payloads and waits for them with deadlines. */
export class Inbox {
  constructor() {
    this.items = [];
    this.waiters = [];
  }

  /** The callback to register. */
  get push() {
    return (x) => {
      this.items.push(x);
      for (const w of this.waiters.splice(0)) w();
    };
  }

  /** Resolves with the first item (from `from` on) that pred accepts; fails after ms. */
  async until(pred, what, ms = 10_000, from = 0) {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.items.slice(from).find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.items)}`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}
