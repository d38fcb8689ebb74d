import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type WalrelayClient } from '../../src/index.js';
import { cursor } from './cursor.js';
import { FakeSocket } from './fake-socket.js';

const until = (cond: () => boolean, timeout = 3000) => vi.waitFor(() => expect(cond()).toBe(true), { timeout, interval: 5 });

type Row = { id: number; room_id: number; body: string };
let rows: Row[] = [];
let reads = 0;
let c: WalrelayClient;

const fakeFetch: typeof fetch = async (input) => {
  reads++;
  const u = new URL(String(input));
  const room = u.searchParams.get('room_id');
  const limit = Number(u.searchParams.get('limit') ?? 100);
  const all = rows.filter((r) => !room || `eq.${r.room_id}` === room).sort((a, b) => a.id - b.id);
  const items = all.slice(0, limit);
  const body = { items, next_page: all.length > limit ? 'more' : null, cursor: cursor(1000 * reads, 0, 0, true) };
  return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
};

function setup(batch: number | 'frame' = 0) {
  c = createClient({ url: 'http://x.test', token: 't', realtime: true, WebSocket: FakeSocket, fetch: fakeFetch, batch });
  return c;
}

async function server(): Promise<FakeSocket> {
  await until(() => FakeSocket.all.length > 0);
  const s = FakeSocket.last();
  s.open();
  s.push({ type: 'authenticated', ref: s.of('auth')[0]!.ref });
  await until(() => s.of('subscribe').length > 0);
  const sub = s.of('subscribe')[0]!;
  s.push({ type: 'subscribed', ref: sub.ref, channel: sub.channel, cursor: sub.since });
  return s;
}

const ev = (event: string, row: Partial<Row>, lsn: number) => ({
  type: 'event',
  channel: 'Message:list',
  event,
  id: row.id,
  ...(event === 'deleted' ? { old: row } : { data: row }),
  cursor: cursor(lsn),
});

beforeEach(() => {
  FakeSocket.reset();
  reads = 0;
  rows = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, room_id: 1, body: `m${i + 1}` }));
});
afterEach(() => c?.close());

describe('ListStore', () => {
  it('a burst of events renders once', async () => {
    setup(20);
    const store = c.liveList('Message', { order: 'id.asc' });
    let renders = 0;
    const unsub = store.subscribe(() => renders++);
    const s = await server();
    await until(() => store.getSnapshot().isLive);
    renders = 0;
    const burst = Array.from({ length: 50 }, (_, i) => ev('created', { id: 100 + i, room_id: 1, body: 'x' }, 5000 + i));
    s.push(burst.slice(0, 25));
    s.push(burst.slice(25));
    await until(() => store.getSnapshot().data.length === 60);
    expect(renders).toBe(1);
    unsub();
  });

  it('drops events the hydration already reflects (dedupe safety net)', async () => {
    setup();
    const store = c.liveList('Message', { order: 'id.asc' });
    const unsub = store.subscribe(() => {});
    const s = await server();
    await until(() => store.getSnapshot().isLive);
    s.push(ev('created', { id: 50, room_id: 1, body: 'old' }, 999)); // before the read's cursor (lsn 1000)
    s.push(ev('created', { id: 51, room_id: 1, body: 'new' }, 1001));
    await until(() => store.getSnapshot().data.length === 11);
    expect(store.getSnapshot().data.map((r) => r.id)).not.toContain(50);
    unsub();
  });

  it('window: inserts past a partial window are dropped; deletes pull from the buffer, then refetch', async () => {
    setup();
    const store = c.liveList('Message', { order: 'id.asc', limit: 2 });
    const unsub = store.subscribe(() => {});
    const s = await server();
    await until(() => store.getSnapshot().isLive);
    expect(store.getSnapshot().data.map((r) => r.id)).toEqual([1, 2]);
    // overfetch(2) = 5: rows 1..7 known, 8..10 not.
    s.push(ev('created', { id: 99, room_id: 1, body: 'late' }, 2000));
    s.push(ev('created', { id: 0, room_id: 1, body: 'first' }, 2001));
    await until(() => store.getSnapshot().data[0]?.id === 0);
    expect(store.getSnapshot().data.map((r) => r.id)).toEqual([0, 1]);
    const readsBefore = reads;
    let lsn = 3000;
    // Known: 0..6 (7 rows, the 7th pushed out by the insert).
    for (const id of [0, 1, 2, 3, 4]) {
      rows = rows.filter((r) => r.id !== id);
      s.push(ev('deleted', { id }, lsn++));
    }
    await until(() => store.getSnapshot().data[0]?.id === 5);
    expect(store.getSnapshot().data.map((r) => r.id)).toEqual([5, 6]);
    expect(reads).toBe(readsBefore); // served from the buffer
    // Known rows are now 5, 6 of more: an insert sorting after them is unknown territory.
    rows.push({ id: 98, room_id: 1, body: 'late2' });
    s.push(ev('created', { id: 98, room_id: 1, body: 'late2' }, lsn++));
    rows = rows.filter((r) => r.id !== 5);
    s.push(ev('deleted', { id: 5 }, lsn++));
    await until(() => reads === readsBefore + 1);
    await until(() => store.getSnapshot().data.map((r) => r.id).join() === '6,7');
    unsub();
  });

  it('truncated clears the list; later inserts show', async () => {
    setup();
    const store = c.liveList('Message', { order: 'id.asc', limit: 5 });
    const unsub = store.subscribe(() => {});
    const s = await server();
    await until(() => store.getSnapshot().isLive && store.getSnapshot().data.length === 5);
    s.push({ type: 'event', channel: 'Message:list', event: 'truncated', cursor: cursor(4000) });
    await until(() => store.getSnapshot().data.length === 0);
    s.push(ev('created', { id: 77, room_id: 1, body: 'again' }, 4001));
    await until(() => store.getSnapshot().data.length === 1);
    unsub();
  });

  it('StrictMode-style unmount/remount keeps one subscription; the last release unsubscribes', async () => {
    setup();
    const store = c.liveList('Message', {});
    const u1 = store.subscribe(() => {});
    u1();
    const u2 = store.subscribe(() => {});
    const s = await server();
    await until(() => store.getSnapshot().isLive);
    expect(s.of('subscribe')).toHaveLength(1);
    expect(reads).toBe(1);
    u2();
    await until(() => s.of('unsubscribe').length === 1);
  });
});
