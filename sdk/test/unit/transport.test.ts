import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangeEvent, ConnectionStatus } from '../../src/index.js';
import { WebSocketTransport } from '../../src/ws.js';
import { cursor } from './cursor.js';
import { FakeSocket } from './fake-socket.js';

let t: WebSocketTransport;
const until = (cond: () => boolean, timeout = 3000) => vi.waitFor(() => expect(cond()).toBe(true), { timeout, interval: 5 });

function make(opts: Partial<ConstructorParameters<typeof WebSocketTransport>[0]> = {}) {
  t = new WebSocketTransport({
    url: 'http://example.test',
    WebSocket: FakeSocket,
    getToken: () => 'tok',
    backoffBase: 5,
    backoffMax: 20,
    heartbeatInterval: 30,
    heartbeatTimeout: 30,
    ...opts,
  });
  return t;
}

async function connect(token = true): Promise<FakeSocket> {
  await until(() => FakeSocket.all.length > 0 && FakeSocket.last().readyState === 0);
  const s = FakeSocket.last();
  s.open();
  if (token) {
    const auth = s.of('auth').at(-1)!;
    s.push({ type: 'authenticated', ref: auth.ref });
  }
  return s;
}

beforeEach(() => FakeSocket.reset());
afterEach(() => t?.close());

describe('WebSocketTransport', () => {
  it('derives the socket URL, authenticates first, then subscribes', async () => {
    make();
    t.subscribe({ channel: 'Message:list', filter: 'room_id=eq.5', since: cursor(10, 0, 0, true) }, {});
    const s = await connect();
    expect(s.url).toBe('ws://example.test/ws');
    expect(s.sent[0]).toMatchObject({ type: 'auth', token: 'tok' });
    expect(s.sent[1]).toMatchObject({ type: 'subscribe', channel: 'Message:list', filter: 'room_id=eq.5', since: cursor(10, 0, 0, true) });
    expect(t.status).toBe('live');
  });

  it('reference-counts channels: one server subscription, unsubscribe with the last', async () => {
    make();
    const a = t.subscribe({ channel: 'Message:item:1' }, {});
    const b = t.subscribe({ channel: 'Message:item:1' }, {});
    const s = await connect();
    expect(s.of('subscribe')).toHaveLength(1);
    s.push({ type: 'subscribed', ref: s.of('subscribe')[0]!.ref, channel: 'Message:item:1', cursor: cursor(1) });
    a.unsubscribe();
    expect(s.of('unsubscribe')).toHaveLength(0);
    b.unsubscribe();
    expect(s.of('unsubscribe')).toEqual([expect.objectContaining({ channel: 'Message:item:1' })]);
  });

  it('accepts array frames, delivers in order and drops repeats by cursor', async () => {
    make();
    const got: string[] = [];
    t.subscribe({ channel: 'Message:list' }, { onChange: (ev) => got.push(`${ev.event}:${String(ev.id)}`) });
    const s = await connect();
    const ev = (id: number, lsn: number, seq = 0) => ({ type: 'event', channel: 'Message:list', event: 'created', id, data: { id }, cursor: cursor(lsn, seq) });
    s.push([ev(1, 100, 0), ev(2, 100, 1)]);
    s.push(ev(2, 100, 1)); // repeat
    s.push(ev(3, 90, 0)); // older
    s.push(ev(4, 200, 0));
    expect(got).toEqual(['created:1', 'created:2', 'created:4']);
  });

  it('matches replies by ref even out of order; errors reject', async () => {
    make();
    const s0 = connect();
    const p1 = t.request('get', 'Message', { id: 1 });
    const p2 = t.request('get', 'Message', { id: 2 });
    const p3 = t.request('delete', 'Message', { id: 3 });
    const s = await s0;
    const reqs = s.of('request');
    expect(reqs.map((r) => r.id)).toEqual([1, 2, 3]);
    s.push({ type: 'reply', ref: reqs[1]!.ref, data: { id: 2 }, cursor: 'c' });
    s.push([{ type: 'reply', ref: reqs[0]!.ref, data: { id: 1 } }, { type: 'error', ref: reqs[2]!.ref, code: 'forbidden', message: 'no' }]);
    await expect(p1).resolves.toEqual({ data: { id: 1 } });
    await expect(p2).resolves.toEqual({ data: { id: 2 }, cursor: 'c' });
    await expect(p3).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('reconnects with backoff and resubscribes from the last event cursor', async () => {
    make();
    const statuses: ConnectionStatus[] = [];
    t.onStatus((st) => statuses.push(st));
    t.subscribe({ channel: 'Message:list', filter: 'room_id=eq.1', since: cursor(5, 0, 0, true) }, {});
    let s = await connect();
    s.push({ type: 'subscribed', ref: s.of('subscribe')[0]!.ref, channel: 'Message:list', cursor: cursor(5) });
    s.push({ type: 'event', channel: 'Message:list', event: 'created', id: 1, data: { id: 1 }, cursor: cursor(42, 3) });
    s.drop(1006);
    expect(t.status).toBe('reconnecting');
    s = await connect();
    expect(s.of('subscribe')[0]).toMatchObject({ channel: 'Message:list', filter: 'room_id=eq.1', since: cursor(42, 3) });
    expect(statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
  });

  it('backoff is capped with full jitter', async () => {
    make({ backoffBase: 1, backoffMax: 4 });
    const rnd = vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const timeouts = vi.spyOn(globalThis, 'setTimeout');
    t.subscribe({ channel: 'x:1' }, {});
    for (let i = 0; i < 6; i++) {
      await until(() => FakeSocket.all.length === i + 1);
      FakeSocket.last().drop(1006);
    }
    const delays = timeouts.mock.calls.map((c) => c[1]).filter((d): d is number => typeof d === 'number' && d > 0 && d < 5);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4);
    expect(delays.slice(0, 3).map(Math.round)).toEqual([1, 2, 4]);
    rnd.mockRestore();
    timeouts.mockRestore();
  });

  it('a missing pong reconnects', async () => {
    make();
    t.subscribe({ channel: 'x:1' }, {});
    const s = await connect();
    await until(() => s.of('ping').length === 1);
    // No pong: the transport gives the socket up and opens another.
    await until(() => FakeSocket.all.length === 2);
    expect(s.closedWith).toBe(4000);
  });

  it('on 4401 gets a new token and reconnects; with a static token goes offline', async () => {
    let n = 0;
    make({ getToken: () => `tok${++n}` });
    t.subscribe({ channel: 'x:1' }, {});
    let s = await connect();
    s.drop(4401, 'token expired');
    s = await connect();
    expect(s.of('auth')[0]).toMatchObject({ token: 'tok2' });
    t.close();

    FakeSocket.reset();
    make({ canRefreshToken: false });
    const errs: string[] = [];
    t.onError((e) => errs.push(e.code));
    t.subscribe({ channel: 'x:1' }, {});
    s = await connect();
    s.drop(4401, 'bad token');
    expect(t.status).toBe('offline');
    expect(errs).toEqual(['unauthorized']);
  });

  it('refreshes the token before it expires with an auth message', async () => {
    const jwt = (exp: number) => `x.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.y`;
    let n = 0;
    make({ heartbeatInterval: 60_000, getToken: () => (n++, jwt(Math.floor(Date.now() / 1000) + 1)) });
    t.subscribe({ channel: 'x:1' }, {});
    const s = await connect();
    // The token lives about a second; a loaded machine may fire the refresh late.
    await until(() => s.of('auth').length === 2, 10_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('different filters on one channel: unfiltered on the server, not exact for listeners', async () => {
    make();
    const exact: boolean[] = [];
    t.subscribe({ channel: 'Message:list', filter: 'room_id=eq.1' }, { onChange: (_e, x) => exact.push(x) });
    const s = await connect();
    const b = t.subscribe({ channel: 'Message:list', filter: 'room_id=eq.2' }, { onChange: (_e, x) => exact.push(x) });
    const subs = s.of('subscribe');
    expect(subs).toHaveLength(2);
    expect(subs[1]).not.toHaveProperty('filter');
    expect(subs[1]).not.toHaveProperty('since');
    s.push({ type: 'event', channel: 'Message:list', event: 'created', id: 1, data: { id: 1 }, cursor: cursor(7) });
    expect(exact).toEqual([false, false]);
    b.unsubscribe();
    expect(s.of('subscribe')[2]).toMatchObject({ filter: 'room_id=eq.1' });
  });

  it('a second filter before the first ack keeps the first since', async () => {
    make();
    t.subscribe({ channel: 'Message:list', filter: 'room_id=eq.1', since: cursor(10, 0, 0, true) }, {});
    const s = await connect();
    t.subscribe({ channel: 'Message:list', filter: 'room_id=eq.2', since: cursor(12, 0, 0, true) }, {});
    const subs = s.of('subscribe');
    expect(subs[1]).toMatchObject({ since: cursor(10, 0, 0, true) });
    expect(subs[1]).not.toHaveProperty('filter');
  });

  it('follows the canonical channel name the server answers with', async () => {
    make();
    const got: unknown[] = [];
    t.subscribe({ channel: 'Message:item:007' }, { onChange: (e) => got.push(e.id) });
    const s = await connect();
    s.push({ type: 'subscribed', ref: s.of('subscribe')[0]!.ref, channel: 'Message:item:7', cursor: cursor(1) });
    s.push({ type: 'event', channel: 'Message:item:7', event: 'updated', id: 7, data: { id: 7 }, cursor: cursor(2) });
    expect(got).toEqual([7]);
  });

  it('a failed channel is retried for a new subscriber', async () => {
    make();
    const errs: string[] = [];
    t.subscribe({ channel: 'Room:item:1' }, { onError: (e) => errs.push(e.code) });
    const s = await connect();
    s.push({ type: 'error', ref: s.of('subscribe')[0]!.ref, code: 'forbidden', message: 'no' });
    t.subscribe({ channel: 'Room:item:1' }, { onError: (e) => errs.push(e.code) });
    expect(s.of('subscribe')).toHaveLength(2);
    s.push({ type: 'error', ref: s.of('subscribe')[1]!.ref, code: 'forbidden', message: 'no' });
    expect(errs).toEqual(['forbidden', 'forbidden', 'forbidden']);
  });

  it('resync: listeners re-read, then the channel is subscribed with the new cursor', async () => {
    make();
    let resyncs = 0;
    const h = t.subscribe({ channel: 'Message:list', since: cursor(1, 0, 0, true) }, { onResync: () => resyncs++ });
    const s = await connect();
    s.push({ type: 'subscribed', ref: s.of('subscribe')[0]!.ref, channel: 'Message:list', cursor: cursor(1) });
    s.push({ type: 'resync', channel: 'Message:list', reason: 'cursor_expired' });
    expect(resyncs).toBe(1);
    h.resume(cursor(99, 0, 0, true));
    expect(s.of('subscribe')[1]).toMatchObject({ since: cursor(99, 0, 0, true) });
  });

  it('subscription errors go to the listener; custom events and presence are delivered', async () => {
    make();
    const errs: string[] = [];
    const events: ChangeEvent[] = [];
    const msgs: unknown[] = [];
    const pres: unknown[] = [];
    t.subscribe({ channel: 'Secret:list' }, { onError: (e) => errs.push(`${e.code}:${e.channel}`) });
    t.subscribe({ channel: 'chat:room:7', presence: { name: 'al' } }, { onMessage: (m) => msgs.push(m), onPresence: (p) => pres.push(p.state), onChange: (e) => events.push(e) });
    const s = await connect();
    const [a, b] = s.of('subscribe');
    expect(b).toMatchObject({ presence: { name: 'al' } });
    s.push({ type: 'error', ref: a!.ref, code: 'forbidden', message: 'no' });
    s.push({ type: 'event', channel: 'chat:room:7', event: 'typing', data: { who: 'bob' } });
    s.push({ type: 'presence', channel: 'chat:room:7', state: [{ name: 'al' }], joins: [{ name: 'al' }], leaves: [] });
    expect(errs).toEqual(['forbidden:Secret:list']);
    expect(msgs).toEqual([{ channel: 'chat:room:7', event: 'typing', data: { who: 'bob' } }]);
    expect(pres).toEqual([[{ name: 'al' }]]);
    expect(events).toEqual([]);
    const p = t.publish('chat:room:7', 'typing', {});
    const pub = s.of('publish')[0]!;
    expect(pub).toMatchObject({ channel: 'chat:room:7', event: 'typing', data: {} });
    s.push({ type: 'published', ref: pub.ref });
    await expect(p).resolves.toBeUndefined();
  });
});
