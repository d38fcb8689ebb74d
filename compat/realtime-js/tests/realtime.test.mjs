// The real @supabase/realtime-js (pinned in package.json) against a real
// walrelay and Postgres, through the Supabase Realtime adapter at
// /realtime/v1/websocket. Writes come from a separate SQL connection. The
// demo's rules apply: a message is readable by its room's members (the
// token's rooms claim); chat:room:{id} channels need membership.
//
// Rooms of the demo: 1 general (alice, bob, carol), 2 random (alice, bob),
// 3 secret (alice, carol).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Inbox, Walrelay, client, refused, sql, subscribed, token } from '../lib/env.mjs';

const alice = () => token('alice', [1, 2, 3]);
const bob = () => token('bob', [1, 2]);
const carol = () => token('carol', [1, 3]);

describe('realtime-js on walrelay', () => {
  let w;
  const clients = [];
  const open = (opts) => {
    const rt = client(w, opts);
    clients.push(rt);
    return rt;
  };
  /** Inserts a message over SQL and returns its id (a number: ids here stay small). */
  const insert = async (room, author, body) => {
    const [row] = await sql(w.dbUrl, 'insert into messages (room_id, author_id, body) values ($1, $2, $3) returning id', [room, author, body]);
    return Number(row.id);
  };

  before(async () => {
    w = await new Walrelay().start();
  });
  after(async () => {
    for (const rt of clients) await rt.removeAllChannels().catch(() => {});
    await w?.stop();
  });

  for (const vsn of ['2.0.0', '1.0.0']) {
    it(`receives INSERT, UPDATE and DELETE written by another connection (vsn ${vsn})`, async () => {
      const rt = open({ vsn });
      await rt.setAuth(alice());
      const inbox = new Inbox();
      await subscribed(rt.channel(`changes-${vsn}`).on('postgres_changes', { event: '*', schema: 'public', table: 'messages' }, inbox.push));
      // SUBSCRIBED means the subscription is live: a write right after it arrives.
      const id = await insert(2, 'bob', `hello ${vsn}`);
      const ins = await inbox.until((p) => p.eventType === 'INSERT' && p.new.id === id, 'the INSERT');
      assert.equal(ins.schema, 'public');
      assert.equal(ins.table, 'messages');
      assert.match(ins.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual(ins.errors, null);
      assert.equal(ins.new.body, `hello ${vsn}`);
      assert.equal(ins.new.room_id, 2);
      assert.equal('ip_address' in ins.new, false, 'hidden columns are never sent');
      assert.deepEqual(ins.old, {});

      await sql(w.dbUrl, 'update messages set body = $2 where id = $1', [id, 'edited']);
      const upd = await inbox.until((p) => p.eventType === 'UPDATE' && p.new.id === id, 'the UPDATE');
      assert.equal(upd.new.body, 'edited');
      assert.equal(upd.old.body, `hello ${vsn}`, 'old row (replica identity full)');

      await sql(w.dbUrl, 'delete from messages where id = $1', [id]);
      const del = await inbox.until((p) => p.eventType === 'DELETE' && p.old.id === id, 'the DELETE');
      assert.equal(del.old.body, 'edited');
      assert.deepEqual(del.new, {});
    });
  }

  it('narrows by filter and event', async () => {
    const rt = open();
    await rt.setAuth(alice());
    const room2 = new Inbox();
    const inserts = new Inbox();
    await subscribed(
      rt
        .channel('filtered')
        .on('postgres_changes', { event: '*', schema: 'public', table: 'messages', filter: 'room_id=eq.2' }, room2.push)
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'messages' }, inserts.push),
    );
    const other = await insert(1, 'alice', 'room one');
    const mine = await insert(2, 'alice', 'room two');
    await sql(w.dbUrl, 'update messages set body = $2 where id = $1', [other, 'room one, edited']);
    await sql(w.dbUrl, 'update messages set body = $2 where id = $1', [mine, 'room two, edited']);
    await room2.until((p) => p.eventType === 'UPDATE' && p.new.id === mine, 'the room 2 UPDATE');
    await inserts.until((p) => p.new.id === mine, 'the second INSERT');
    assert.deepEqual(
      room2.items.map((p) => [p.eventType, p.new.id]),
      [
        ['INSERT', mine],
        ['UPDATE', mine],
      ],
      'only room 2 rows',
    );
    assert.deepEqual(
      inserts.items.map((p) => [p.eventType, p.new.id]),
      [
        ['INSERT', other],
        ['INSERT', mine],
      ],
      'only inserts',
    );
  });

  it('never sends a row the read rule forbids, a DELETE included', async () => {
    const rt = open();
    await rt.setAuth(carol()); // not in room 2
    const inbox = new Inbox();
    await subscribed(rt.channel('carol').on('postgres_changes', { event: '*', schema: 'public', table: 'messages' }, inbox.push));
    const secret = await insert(2, 'bob', 'for room 2 only');
    await sql(w.dbUrl, 'update messages set body = $2 where id = $1', [secret, 'still room 2 only']);
    await sql(w.dbUrl, 'delete from messages where id = $1', [secret]);
    // A row carol may read, written after: once it arrives the others had their chance.
    const visible = await insert(1, 'bob', 'for everyone');
    await inbox.until((p) => p.new?.id === visible, 'the readable row');
    assert.deepEqual(
      inbox.items.map((p) => [p.eventType, p.new.id ?? p.old.id]),
      [['INSERT', visible]],
    );
    const leaked = rt.frames.filter((f) => f.includes('room 2 only') || f.includes(`"id":${secret},`) || f.includes(`"id":${secret}}`));
    assert.deepEqual(leaked, [], 'no frame mentions the forbidden row');
  });

  it('refuses a table that is not a realtime model, and a join without a token', async () => {
    const rt = open();
    await rt.setAuth(alice());
    const { status, err } = await refused(rt.channel('nope').on('postgres_changes', { event: '*', schema: 'public', table: 'room_members' }, () => {}));
    assert.equal(status, 'CHANNEL_ERROR');
    assert.match(err.message, /room_members is not a realtime model/);

    const anon = open();
    const r = await refused(anon.channel('anon').on('postgres_changes', { event: '*', schema: 'public', table: 'messages' }, () => {}));
    assert.equal(r.status, 'CHANNEL_ERROR');
    assert.match(r.err.message, /access_token/);
  });

  it('broadcasts between two clients, within the channel rules', async () => {
    const a = open();
    const b = open();
    await a.setAuth(alice());
    await b.setAuth(bob());
    const got = new Inbox();
    const mine = new Inbox();
    const chA = a.channel('chat:room:2', { config: { broadcast: { ack: true } } }).on('broadcast', { event: 'typing' }, mine.push);
    const chB = b.channel('chat:room:2').on('broadcast', { event: 'typing' }, got.push);
    await subscribed(chA);
    await subscribed(chB);
    assert.equal(await chA.send({ type: 'broadcast', event: 'typing', payload: { who: 'alice' } }), 'ok');
    const msg = await got.until(() => true, 'the broadcast');
    assert.equal(msg.event, 'typing');
    assert.deepEqual(msg.payload, { who: 'alice' });
    assert.deepEqual(mine.items, [], 'no self broadcast unless asked');

    // An event the channel does not configure is refused (with ack, the sender sees it).
    assert.equal(await chA.send({ type: 'broadcast', event: 'shout', payload: {} }), 'error');

    // carol is not a member of room 2: subscribe_sql refuses her.
    const c = open();
    await c.setAuth(carol());
    const r = await refused(c.channel('chat:room:2'));
    assert.equal(r.status, 'CHANNEL_ERROR');
    assert.match(r.err.message, /not a member/);
  });

  it('shows presence joins and leaves', async () => {
    const a = open();
    const b = open();
    await a.setAuth(alice());
    await b.setAuth(bob());
    const joins = new Inbox();
    const leaves = new Inbox();
    const chB = b
      .channel('chat:room:1')
      .on('presence', { event: 'join' }, joins.push)
      .on('presence', { event: 'leave' }, leaves.push);
    await subscribed(chB);
    const chA = a.channel('chat:room:1');
    await subscribed(chA);
    assert.equal(await chA.track({ status: 'online' }), 'ok');
    const j = await joins.until((p) => p.key === 'alice', "alice's join");
    assert.equal(j.newPresences[0].status, 'online');
    assert.ok(j.newPresences[0].presence_ref);
    assert.deepEqual(Object.keys(chB.presenceState()), ['alice']);

    await a.removeChannel(chA);
    const l = await leaves.until((p) => p.key === 'alice', "alice's leave");
    assert.equal(l.leftPresences[0].status, 'online');
    assert.deepEqual(chB.presenceState(), {});
  });

  it('applies a refreshed token (setAuth) to the open channel', async () => {
    const rt = open();
    const first = token('alice', [1, 2], 3);
    const exp = JSON.parse(Buffer.from(first.split('.')[1], 'base64url').toString()).exp * 1000;
    await rt.setAuth(first);
    const inbox = new Inbox();
    const statuses = new Inbox();
    rt.channel('refresh')
      .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'messages' }, inbox.push)
      .subscribe((s) => statuses.push(s));
    await statuses.until((s) => s === 'SUBSCRIBED', 'SUBSCRIBED');
    // The new token drops room 2: the same rules apply to the open channel at once.
    await rt.setAuth(token('alice', [1], 3600));
    // Past the first token's expiry (a connection still on it would be closed)...
    while (Date.now() < exp + 1500) await new Promise((r) => setTimeout(r, 100)); // waiting out the clock
    const hidden = await insert(2, 'bob', 'room 2 after the refresh');
    const shown = await insert(1, 'bob', 'room 1 after the refresh');
    await inbox.until((p) => p.new.id === shown, 'the room 1 insert');
    assert.deepEqual(
      inbox.items.map((p) => p.new.id),
      [shown],
      `room 2 row ${hidden} is not readable with the new token`,
    );
    assert.deepEqual(statuses.items, ['SUBSCRIBED'], 'the channel stayed joined');
  });

  it('joins at once with an accessToken callback once setAuth() is awaited (docs/supabase.md)', async () => {
    let calls = 0;
    const rt = open({ accessToken: async () => (calls++, alice()) });
    await rt.setAuth();
    assert.ok(calls >= 1, 'setAuth() asks the callback');
    const inbox = new Inbox();
    const statuses = new Inbox();
    rt.channel('callback')
      .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'messages' }, inbox.push)
      .subscribe((s, err) => statuses.push(err ? `${s}: ${err.message}` : s));
    await statuses.until((s) => s === 'SUBSCRIBED', 'SUBSCRIBED');
    const id = await insert(3, 'carol', 'for alice, by callback token');
    await inbox.until((p) => p.new.id === id, 'the insert');
    assert.deepEqual(statuses.items, ['SUBSCRIBED'], 'the first join carried the token: no CHANNEL_ERROR before it');
  });

  it('reconnects and rejoins after the server restarts, and changes flow again', async () => {
    const rt = open();
    await rt.setAuth(alice());
    const inbox = new Inbox();
    const statuses = new Inbox();
    rt.channel('reconnect')
      .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'messages' }, inbox.push)
      .subscribe((s) => statuses.push(s));
    await statuses.until((s) => s === 'SUBSCRIBED', 'SUBSCRIBED');
    const before = await insert(1, 'bob', 'before the restart');
    await inbox.until((p) => p.new.id === before, 'the row before the restart');

    await w.restart();
    await statuses.until((s) => s === 'SUBSCRIBED', 'SUBSCRIBED again', 30_000, 1);
    const afterId = await insert(1, 'bob', 'after the restart');
    await inbox.until((p) => p.new.id === afterId, 'the row after the restart');
    assert.deepEqual(
      inbox.items.map((p) => p.new.id),
      [before, afterId],
    );
  });
});
