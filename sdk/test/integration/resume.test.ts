import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionStatus } from '../../src/index.js';
import { client, control, env, insertMessage, socketSpy, sql, token } from './helpers.js';
import { follow, until } from './util.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function rewriteCursorEpoch(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString();
  const p = raw.split('.');
  p[1] = String(Number(p[1]) + 7);
  return Buffer.from(p.join('.')).toString('base64url');
}

describe('resumption', () => {
  it('reconnects after a server restart and misses no change', async () => {
    const tag = `rst-${Date.now()}`;
    const spy = socketSpy();
    const statuses: ConnectionStatus[] = [];
    const c = client({}, spy);
    cleanup.push(() => c.close());
    cleanup.push(c.onStatus((s) => statuses.push(s)));
    const snap = follow(c.liveList('Message', { where: { body: { like: `${tag}*` } }, order: 'id.asc' }), cleanup);
    await until(() => snap().isLive);
    await insertMessage(1, `${tag}-1`);
    await until(() => snap().data.length === 1);

    await control('stop');
    await until(() => c.status === 'reconnecting');
    // Written while walrelay is down, and while it starts again.
    await insertMessage(1, `${tag}-2`);
    const starting = control('start');
    await insertMessage(2, `${tag}-3`);
    await starting;
    await until(() => c.status === 'live');
    await insertMessage(1, `${tag}-4`);
    await until(() => snap().data.length === 4, 20_000);
    expect(snap().data.map((r) => r.body)).toEqual([`${tag}-1`, `${tag}-2`, `${tag}-3`, `${tag}-4`]);
    expect(spy.opened).toBeGreaterThanOrEqual(2);
    expect(statuses).toContain('reconnecting');
    // The resubscription carried the channel's last cursor.
    const subs = spy.sent.filter((m) => m.type === 'subscribe' && m.channel === 'Message:list');
    expect(subs.length).toBeGreaterThanOrEqual(2);
    expect(subs.at(-1)?.since).toBeTruthy();
  });

  it('re-hydrates over HTTP when the server asks for a resync', async () => {
    const tag = `rsy-${Date.now()}`;
    await insertMessage(1, `${tag}-old`);
    const spy = socketSpy();
    let corrupted = 0;
    // The first subscribe's cursor gets a foreign epoch: the server cannot resume it.
    spy.rewrite = (m) => {
      if (m.type === 'subscribe' && typeof m.since === 'string' && corrupted === 0) {
        corrupted++;
        return { ...m, since: rewriteCursorEpoch(m.since) };
      }
      return m;
    };
    let reads = 0;
    const c = client(
      {
        fetch: (input, init) => {
          if (String(input).includes('/api/messages?')) reads++;
          return fetch(input, init);
        },
      },
      spy,
    );
    cleanup.push(() => c.close());
    const snap = follow(c.liveList('Message', { where: { body: { like: `${tag}*` } }, order: 'id.asc' }), cleanup);
    await until(() => spy.received.some((m) => m.type === 'resync'));
    await until(() => reads === 2 && spy.received.filter((m) => m.type === 'subscribed').length === 2);
    await until(() => snap().isLive && snap().data.length === 1);
    // After the resync the channel was subscribed again with the new read's cursor.
    const subs = spy.sent.filter((m) => m.type === 'subscribe' && m.channel === 'Message:list');
    expect(subs).toHaveLength(2);
    expect(subs[1]!.since).not.toEqual(subs[0]!.since);
    await insertMessage(1, `${tag}-new`);
    await until(() => snap().data.length === 2);
    expect(snap().data.map((r) => r.body)).toEqual([`${tag}-old`, `${tag}-new`]);
  });

  it('refreshes a short-lived token over the open socket', async () => {
    const tag = `tok-${Date.now()}`;
    let calls = 0;
    const spy = socketSpy();
    const c = client({ getToken: () => (calls++, token('alice', [1, 2], 2)) }, spy);
    cleanup.push(() => c.close());
    const snap = follow(c.liveList('Message', { where: { body: { like: `${tag}*` } } }), cleanup);
    await until(() => snap().isLive);
    await until(() => spy.sent.filter((m) => m.type === 'auth').length >= 3, 10_000);
    await until(() => spy.received.filter((m) => m.type === 'authenticated').length >= 3);
    expect(spy.opened).toBe(1);
    await insertMessage(1, `${tag}-x`);
    await until(() => snap().data.length === 1);
  });

  it('re-authenticates after a 4401 close with a fresh token', async () => {
    let calls = 0;
    const spy = socketSpy();
    const c = client(
      {
        // First token expired long ago (beyond the server's clock skew): closed with 4401.
        getToken: () => (calls++ === 0 ? token('alice', [1], -3600) : token('alice', [1])),
      },
      spy,
    );
    cleanup.push(() => c.close());
    const tag = `re-${Date.now()}`;
    const got: string[] = [];
    cleanup.push(
      c.model('Message').subscribe('list', (ev) => got.push(String(ev.data?.body)), { filter: `body=eq.${tag}` }),
    );
    await until(() => c.status === 'live');
    expect(calls).toBe(2);
    expect(spy.opened).toBe(2);
    await until(() => spy.received.some((m) => m.type === 'subscribed'));
    await insertMessage(1, tag);
    await until(() => got.length === 1);
  });

  it('a static token refused by the server goes offline instead of looping', async () => {
    const c = client({ getToken: undefined, token: token('alice', [1], -3600) });
    cleanup.push(() => c.close());
    const errors: string[] = [];
    cleanup.push(c.onError((e) => errors.push(e.code)));
    const h = c.model('Message').subscribe('list', () => {});
    cleanup.push(h);
    await until(() => c.status === 'offline');
    expect(errors).toContain('unauthorized');
  });

  it('mutations over the socket', async () => {
    const c = client({ mutations: 'ws' });
    cleanup.push(() => c.close());
    const m = c.model('Message');
    const row = await m.create({ room_id: 1, author_id: 'alice', body: 'via ws' });
    expect(row.body).toBe('via ws');
    const up = await m.update(row.id as number, { body: 'via ws 2' });
    expect(up.body).toBe('via ws 2');
    expect(await m.delete(row.id as number)).toBe(true);
    expect(await m.delete(row.id as number)).toBe(false);
    await expect(m.create({ room_id: 3, author_id: 'alice', body: 'x' })).rejects.toMatchObject({ code: 'forbidden' });
    expect(env.url).toBeTruthy();
    expect((await sql('select 1 from messages where id = $1', [row.id])).length).toBe(0);
  });
});
