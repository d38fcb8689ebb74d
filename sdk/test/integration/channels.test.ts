import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelEvent } from '../../src/index.js';
import { client, sql, token } from './helpers.js';
import { until } from './util.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

function member(sub: string, room: string, meta: Record<string, unknown>) {
  const tok = token(sub, [1]);
  const c = client({ getToken: () => tok });
  cleanup.push(() => c.close());
  const ch = c.channel<{ status: string }>(room);
  ch.setMeta(meta);
  const events: ChannelEvent[] = [];
  cleanup.push(ch.on((ev) => events.push(ev)));
  cleanup.push(ch.subscribe(() => {}));
  const who = () =>
    ch
      .getSnapshot()
      .state.map((e) => `${e.key}:${e.metas.map((m) => m.status).join('+')}`)
      .sort()
      .join(',');
  return { c, ch, events, who };
}

describe('custom channels against the server', () => {
  it('presence, publish, track and messages emitted from SQL', async () => {
    // Room 1 ('general'): alice and bob are members (the demo's subscribe_sql).
    const room = 'chat:room:1';
    const a = member('alice', room, { status: 'online' });
    await until(() => a.ch.getSnapshot().joined && a.who() === 'alice:online', 10_000, () => ({ who: a.who(), err: a.ch.getSnapshot().error?.message, status: a.c.status }));

    const seen = () => ({ a: a.who(), b: b.who(), ae: a.events, be: b.events, aerr: a.ch.getSnapshot().error?.message, berr: b.ch.getSnapshot().error?.message });
    const b = member('bob', room, { status: 'hi' });
    await until(() => b.ch.getSnapshot().joined, 10_000, seen);
    await until(() => a.who() === 'alice:online,bob:hi', 10_000, seen);
    expect(b.who()).toBe('alice:online,bob:hi');

    await b.ch.publish('typing', { on: true });
    await until(() => a.events.length === 1, 10_000, seen);
    expect(a.events[0]).toMatchObject({ channel: room, event: 'typing', data: { on: true }, from: { sub: 'bob' } });
    expect(b.events).toHaveLength(0); // self: false

    b.ch.track({ status: 'away' });
    await until(() => a.who() === 'alice:online,bob:away', 10_000, seen);

    await sql(`select pg_logical_emit_message(true, 'walrelay', $1)`, [
      JSON.stringify({ channel: room, event: 'message', data: { id: 42 } }),
    ]);
    await until(() => a.events.length === 2 && b.events.length === 1, 10_000, seen);
    expect(a.events[1]).toMatchObject({ event: 'message', data: { id: 42 }, from: null });

    await expect(b.ch.publish('nope', {})).rejects.toMatchObject({ code: 'bad_request' });

    b.c.close();
    await until(() => a.who() === 'alice:online', 10_000, seen);
  });

  it('a channel the user may not join reports forbidden', async () => {
    // Room 3 ('secret') has alice and carol, not bob.
    const b = member('bob', 'chat:room:3', {});
    await until(() => b.ch.getSnapshot().error !== null);
    expect(b.ch.getSnapshot()).toMatchObject({ joined: false, error: { code: 'forbidden', channel: 'chat:room:3' } });
  });
});
