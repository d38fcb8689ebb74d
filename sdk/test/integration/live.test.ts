import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ListStore, WalrelayClient } from '../../src/index.js';
import { client, insertMessage, socketSpy, sql, token } from './helpers.js';

const open: (() => void)[] = [];
afterEach(() => {
  for (const f of open.splice(0)) f();
});

function follow<S>(store: { subscribe(cb: () => void): () => void; getSnapshot(): S }): () => S {
  open.push(store.subscribe(() => {}));
  return () => store.getSnapshot();
}

function live(c: WalrelayClient, store: ListStore<Record<string, unknown>>) {
  open.push(() => c.close());
  return follow(store);
}

async function until(cond: () => boolean, timeout = 10_000): Promise<void> {
  await vi.waitFor(() => expect(cond()).toBe(true), { timeout, interval: 20 });
}

const bodies = (rows: Record<string, unknown>[]) => rows.map((r) => r.body);

describe('live list', () => {
  it('hydrates over HTTP, then applies insert, update and delete from the stream', async () => {
    const room = (await sql<{ id: string }>(`insert into rooms (name) values ('live-' || gen_random_uuid()) returning id`))[0]!.id;
    const tag = `hyd-${Date.now()}`;
    await insertMessage(1, `${tag}-before`);
    const c = client({ getToken: () => tokenFor([1, Number(room)]) });
    const snap = live(c, c.liveList('Message', { where: { body: { like: `${tag}*` } }, order: 'id.asc' }));
    await until(() => !snap().isLoading && snap().isLive);
    expect(bodies(snap().data)).toEqual([`${tag}-before`]);

    const id = await insertMessage(1, `${tag}-after`);
    await until(() => snap().data.length === 2);
    expect(bodies(snap().data)).toEqual([`${tag}-before`, `${tag}-after`]);

    await sql('update messages set body = $1 where id = $2', [`${tag}-edited`, id]);
    await until(() => snap().data[1]?.body === `${tag}-edited`);

    await sql('delete from messages where id = $1', [id]);
    await until(() => snap().data.length === 1);
    expect(bodies(snap().data)).toEqual([`${tag}-before`]);
    // Hidden columns never arrive.
    expect(snap().data[0]).not.toHaveProperty('ip_address');
  });

  it('applies a filter: rows of other rooms never enter, rows moved out leave', async () => {
    const tag = `flt-${Date.now()}`;
    const c = client();
    const snap = live(c, c.liveList('Message', { where: { room_id: 2 }, order: 'id.desc', limit: 50 }));
    await until(() => snap().isLive);
    const inRoom2 = await insertMessage(2, `${tag}-2`);
    await insertMessage(1, `${tag}-1`);
    const last = await insertMessage(2, `${tag}-2b`);
    await until(() => snap().data.some((r) => r.id === last));
    const mine = snap().data.filter((r) => String(r.body).startsWith(tag));
    expect(bodies(mine)).toEqual([`${tag}-2b`, `${tag}-2`]);
    // Moving a row to room 1 takes it out of the view.
    await sql('update messages set room_id = 1 where id = $1', [inRoom2]);
    await until(() => !snap().data.some((r) => r.id === inRoom2));
  });

  it('keeps order and limit: inserts past the window are dropped, deletes pull the window', async () => {
    const room = Number((await sql<{ id: string }>(`insert into rooms (name) values ('win-' || gen_random_uuid()) returning id`))[0]!.id);
    for (let i = 0; i < 12; i++) await insertMessage(room, `m${String(i).padStart(2, '0')}`);
    const c = client({ getToken: () => tokenFor([room]) });
    const snap = live(c, c.liveList('Message', { where: { room_id: room }, order: [{ column: 'body' }], limit: 3 }));
    await until(() => snap().isLive && snap().data.length === 3);
    expect(bodies(snap().data)).toEqual(['m00', 'm01', 'm02']);
    // Sorts first: enters; pushes m02 out.
    await insertMessage(room, 'a-first');
    await until(() => snap().data[0]?.body === 'a-first');
    expect(bodies(snap().data)).toEqual(['a-first', 'm00', 'm01']);
    // Sorts past the window: not shown.
    await insertMessage(room, 'z-last');
    // Delete the shown rows one by one: the window fills from the buffer, then by refetch.
    for (const b of ['a-first', 'm00', 'm01', 'm02', 'm03', 'm04', 'm05', 'm06', 'm07']) {
      await sql('delete from messages where room_id = $1 and body = $2', [room, b]);
    }
    await until(() => snap().data[0]?.body === 'm08');
    expect(bodies(snap().data)).toEqual(['m08', 'm09', 'm10']);
    await sql('delete from messages where room_id = $1 and body in ($2, $3)', [room, 'm08', 'm09']);
    await until(() => snap().data[0]?.body === 'm10');
    expect(bodies(snap().data)).toEqual(['m10', 'm11', 'z-last']);
  });

  it('a useGet-style item and a list share one cached row', async () => {
    const tag = `share-${Date.now()}`;
    const id = await insertMessage(1, tag);
    const c = client();
    const list = live(c, c.liveList('Message', { where: { body: tag } }));
    const item = follow(c.liveGet('Message', id));
    await until(() => list().isLive && item().isLive);
    expect(list().data[0]).toBe(item().data);
    await sql('update messages set body = $1 where id = $2', [`${tag}-x`, id]);
    await until(() => item().data?.body === `${tag}-x`);
    // The list's filter no longer matches: the row leaves it, the item stays.
    await until(() => list().data.length === 0);
    await sql('delete from messages where id = $1', [id]);
    await until(() => item().data === null);
  });

  it('two stores on the same query share one server subscription', async () => {
    const spy = socketSpy();
    const c = client({}, spy);
    const a = live(c, c.liveList('Message', { where: { room_id: 1 } }));
    const b = follow(c.liveList('Message', { where: { room_id: 1 } }));
    await until(() => a().isLive && b().isLive);
    expect(spy.sent.filter((m) => m.type === 'subscribe' && m.channel === 'Message:list')).toHaveLength(1);
  });
});

function tokenFor(rooms: number[]): string {
  return token('alice', rooms);
}
