// End-to-end: the chat demo (examples/chat/dist) served by `walrelay demo`
// on a throwaway Postgres, used by alice and bob in #random and by carol
// (not a member of #random) in #general, in headless Chromium.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { launchChromium, messages, openAs, screenshot, sideBySide, waitUntil } from '../lib/browser.mjs';
import { artifacts, buildBinary, freePort, kill, repoRoot, requireAppBuild, startDemo, startPostgres, startServe, stopAll } from '../lib/processes.mjs';

// Each run has a fresh database, so fixed texts are unique within it.

describe('chat demo', () => {
  let bin, postgres, demo, addr, baseURL, db, browser;
  /** Users' tabs. */
  let alice, bob, carol;
  const rooms = {};

  before(async () => {
    requireAppBuild();
    bin = await buildBinary();
    postgres = await startPostgres(bin);
    addr = `127.0.0.1:${await freePort()}`;
    baseURL = `http://${addr}`;
    demo = await startDemo(bin, { databaseUrl: postgres.url, addr });
    db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    for (const r of (await db.query('select id, name from rooms')).rows) rooms[r.name] = r.id;
    browser = await launchChromium();
    [alice, bob, carol] = await Promise.all([
      openAs(browser, baseURL, 'alice', 'random'),
      openAs(browser, baseURL, 'bob', 'random'),
      openAs(browser, baseURL, 'carol', 'general'),
    ]);
  });

  // The tabs' consoles go to artifacts/; they are printed too when a test
  // failed (or none ran), since a green run's expected errors, such as the
  // refused reconnects while the server restarts, only puzzle a reader.
  let passed = 0;
  let failed = 0;
  afterEach((t) => (t.passed ? passed++ : failed++));

  after(async () => {
    mkdirSync(artifacts, { recursive: true });
    for (const tab of [alice, bob, carol]) {
      if (tab && !tab.page.isClosed()) await screenshot(tab.page, `final-${tab.user}`).catch(() => {});
      if (!tab?.logs.length) continue;
      writeFileSync(join(artifacts, `console-${tab.user}.log`), tab.logs.join('\n') + '\n');
      if (failed > 0 || passed === 0) console.log(`--- ${tab.user}'s console ---\n${tab.logs.join('\n')}`);
    }
    await browser?.close().catch(() => {});
    await db?.end().catch(() => {});
    await stopAll();
  });

  const insert = (room, author, body) =>
    db.query('insert into messages (room_id, author_id, body) values ($1, $2, $3) returning id', [rooms[room], author, body]);

  it('shows a message typed in one tab in the other', async () => {
    const text = 'Hey Bob, did the deploy go out?';
    await alice.page.getByTestId('composer-input').fill(text);
    await alice.page.getByTestId('composer-input').press('Enter');
    await messages(bob.page, text).waitFor();
    await messages(alice.page, text).waitFor();
    assert.equal(await messages(bob.page, text).count(), 1);
    assert.equal(await messages(alice.page, text).count(), 1);
    // The composer cleared: the row came back through the WAL, not a local echo.
    assert.equal(await alice.page.getByTestId('composer-input').inputValue(), '');

    const reply = 'Yes! Rows straight from the WAL.';
    await bob.page.getByTestId('composer-input').fill(reply);
    await bob.page.getByTestId('composer-send').click();
    await messages(alice.page, reply).waitFor();
    await screenshot(bob.page, 'chat-bob');
  });

  it('shows rows inserted over SQL in both tabs, and notifications only to their user', async () => {
    const text = 'Hello from psql';
    await insert('random', 'bob', text);
    await messages(alice.page, text).waitFor();
    await messages(bob.page, text).waitFor();
    assert.equal(await messages(alice.page, text).count(), 1);
    assert.equal(await messages(bob.page, text).count(), 1);

    const note = 'Your build passed';
    await db.query('insert into notifications (user_id, body) values ($1, $2)', ['alice', note]);
    await alice.page.getByTestId('notification').filter({ hasText: note }).waitFor();
    // bob's tab has received every change up to a later one; alice's note is not among them.
    const marker = 'Nice, I got a notification';
    await insert('random', 'alice', marker);
    await messages(bob.page, marker).waitFor();
    assert.equal(await bob.page.getByTestId('notification').filter({ hasText: note }).count(), 0);
    assert.ok(!bob.frames.some((f) => f.includes(note)), "alice's notification reached bob's socket");
  });

  it('shows who is typing, and clears it after the timeout', async () => {
    const typing = alice.page.getByTestId('typing-text');
    await bob.page.getByTestId('composer-input').fill('I am writing somethi');
    await typing.waitFor();
    assert.match(await typing.innerText(), /Bob is typing/);
    // The docs' picture: alice's window (bob typing) beside bob's. It lands
    // in artifacts/; WALRELAY_UPDATE_SCREENSHOT=1 also replaces the
    // committed one, so that a plain test run leaves the checkout clean.
    const shots = [await screenshot(alice.page, 'chat-alice-typing'), await screenshot(bob.page, 'chat-bob-typing')];
    await sideBySide(alice.context, shots, join(artifacts, 'screenshot-chat.png'));
    if (process.env.WALRELAY_UPDATE_SCREENSHOT === '1') {
      copyFileSync(join(artifacts, 'screenshot-chat.png'), join(repoRoot, 'docs', 'screenshot-chat.png'));
    }
    // No more keystrokes: the indicator goes after its timeout (4 s).
    await typing.waitFor({ state: 'hidden', timeout: 10_000 });
    await bob.page.getByTestId('composer-input').fill('');
    // Nobody types in carol's room.
    assert.equal(await carol.page.getByTestId('typing-text').count(), 0);
  });

  it('shows who is in the room, and clears it when their tab closes', async () => {
    await alice.page.getByTestId('presence-bob').waitFor();
    await alice.page.getByTestId('presence-alice').waitFor();
    await bob.page.getByTestId('presence-alice').waitFor();
    // carol is in #general, not #random.
    assert.equal(await alice.page.getByTestId('presence-carol').count(), 0);
    await carol.page.getByTestId('presence-carol').waitFor();
    assert.equal(await carol.page.getByTestId('presence-alice').count(), 0);

    await bob.page.close();
    await alice.page.getByTestId('presence-bob').waitFor({ state: 'detached' });
    await alice.page.getByTestId('presence-alice').waitFor();

    // bob comes back (same browser context: the tab remembers him).
    const page = await bob.context.newPage();
    page.on('websocket', (ws) => ws.on('framereceived', (f) => bob.frames.push(String(f.payload))));
    page.on('console', (m) => bob.logs.push(`[${m.type()}] ${m.text()}`));
    await page.goto('/?as=bob#random');
    bob.page = page;
    await alice.page.getByTestId('presence-bob').waitFor();
    await bob.page.getByTestId('presence-alice').waitFor();
  });

  it('never sends a room to a user who is not in it, not even over the socket', async () => {
    assert.ok(carol.frames.length > 0, "carol's socket frames were not captured");
    await assert.rejects(carol.page.getByTestId('room-random').click({ timeout: 500 }), 'carol should have no #random link');
    await carol.page.getByTestId('room-locked-random').waitFor();

    const typed = 'secret typed in random';
    await alice.page.getByTestId('composer-input').fill(typed);
    await alice.page.getByTestId('composer-input').press('Enter');
    const sql = 'secret inserted in random';
    await insert('random', 'bob', sql);
    await messages(bob.page, typed).waitFor();
    await messages(bob.page, sql).waitFor();

    // A later change that carol may see: her socket delivers in commit order,
    // so once it arrived, anything before it would have too.
    const later = 'Lunch at noon, everyone?';
    await insert('general', 'alice', later);
    await messages(carol.page, later).waitFor();
    // bob (a member of #general too) gets it as unread.
    await bob.page.getByTestId('unread-general').waitFor();
    await waitUntil(() => carol.frames.some((f) => f.includes(later)), { message: "the general message in carol's frames" });

    // The same frames do carry them to a member: the capture would see them.
    assert.ok(bob.frames.some((f) => f.includes(typed)) && bob.frames.some((f) => f.includes(sql)), "bob's frames lack the messages");
    const leaked = carol.frames.filter((f) => f.includes('secret typed in random') || f.includes('secret inserted in random'));
    assert.deepEqual(leaked, []);
    assert.equal(await carol.page.getByTestId('message-body').filter({ hasText: 'secret' }).count(), 0);
    await screenshot(carol.page, 'chat-carol');
  });

  it('lets a page call the API of a server on another origin that allows it (CORS), and no other', async () => {
    // A second, REST-only server on the same database, allowing the demo's origin.
    const apiAddr = `127.0.0.1:${await freePort()}`;
    const apiURL = `http://${apiAddr}`;
    mkdirSync(artifacts, { recursive: true });
    const config = join(artifacts, 'cors.yaml');
    writeFileSync(
      config,
      `database:
  url: \${DATABASE_URL}
server:
  listen: "${apiAddr}"
  allowed_origins: ["${addr}"]
auth:
  jwt:
    secret: \${JWT_SECRET:-walrelay-demo-secret-not-for-production}
models:
  Message:
    table: public.messages
    owner: author_id
    permissions:
      read: "isOwner || row.room_id in auth.rooms"
      create: "row.author_id == auth.sub && row.room_id in auth.rooms"
`,
    );
    const api = await startServe(bin, { config, env: { DATABASE_URL: postgres.url }, addr: apiAddr, name: 'cors-api' });
    const context = await browser.newContext({ baseURL });
    try {
      const page = await context.newPage();
      await page.goto('/healthz');
      const got = await page.evaluate(
        async ({ apiURL, room }) => {
          const { token } = await (await fetch('/demo/token?user=alice')).json();
          const auth = { Authorization: `Bearer ${token}` };
          const created = await fetch(`${apiURL}/api/messages`, {
            method: 'POST',
            headers: { ...auth, 'Content-Type': 'application/json' },
            body: JSON.stringify({ room_id: room, author_id: 'alice', body: 'posted from another origin' }),
          });
          const list = await fetch(`${apiURL}/api/messages?room_id=eq.${room}&order=id.desc&limit=1`, { headers: auth });
          const items = (await list.json()).items;
          const anonymous = await fetch(`${apiURL}/api/messages`);
          return {
            list: list.status,
            cursor: list.headers.get('Walrelay-Cursor'),
            listed: items.map((m) => m.body),
            created: created.status,
            body: (await created.json()).body,
            anonymous: anonymous.status,
            anonymousCode: (await anonymous.json()).error?.code,
          };
        },
        { apiURL, room: rooms.random },
      );
      assert.equal(got.created, 201);
      assert.equal(got.body, 'posted from another origin');
      assert.equal(got.list, 200);
      assert.deepEqual(got.listed, ['posted from another origin']);
      assert.ok(got.cursor, 'the page can read the Walrelay-Cursor header');
      assert.equal(got.anonymous, 401);
      assert.equal(got.anonymousCode, 'unauthorized', 'the page can read the error too');
      const { rows } = await db.query("select count(*)::int as n from messages where body = 'posted from another origin'");
      assert.equal(rows[0].n, 1);

      // The demo server allows no other origin: a page on the API server's
      // origin cannot call it (the preflight gets no CORS headers).
      const other = await context.newPage();
      await other.goto(`${apiURL}/healthz`);
      const refused = await other.evaluate(async (demoURL) => {
        try {
          await fetch(`${demoURL}/api/messages`, { headers: { Authorization: 'Bearer x' } });
          return 'fetched';
        } catch (e) {
          return e.name;
        }
      }, baseURL);
      assert.equal(refused, 'TypeError', 'the browser refuses a cross-origin call the server does not allow');
    } finally {
      await context.close();
      await kill(api);
    }
  });

  it('reconnects after a server restart and shows what was written meanwhile, once', async () => {
    await waitUntil(async () => (await alice.page.getByTestId('status').getAttribute('data-status')) === 'live', { message: 'alice live' });
    await kill(demo, { signal: 'SIGKILL' });
    for (const tab of [alice, bob]) {
      await waitUntil(async () => (await tab.page.getByTestId('status').getAttribute('data-status')) !== 'live', {
        message: `${tab.user}'s tab to notice the server is gone`,
      });
    }

    const meanwhile = ['written while the server was down (1)', 'written while the server was down (2)'];
    for (const text of meanwhile) await insert('random', 'bob', text);

    demo = await startDemo(bin, { databaseUrl: postgres.url, addr, name: 'demo-restarted' });
    for (const tab of [alice, bob]) {
      for (const text of meanwhile) await messages(tab.page, text).waitFor({ timeout: 20_000 });
      await waitUntil(async () => (await tab.page.getByTestId('status').getAttribute('data-status')) === 'live', {
        timeoutMs: 20_000,
        message: `${tab.user} live again`,
      });
    }

    // Live again both ways; once this arrives, any duplicate would have too.
    const after = 'And we are back online';
    await alice.page.getByTestId('composer-input').fill(after);
    await alice.page.getByTestId('composer-input').press('Enter');
    await messages(bob.page, after).waitFor();
    await messages(alice.page, after).waitFor();
    for (const tab of [alice, bob]) {
      for (const text of [...meanwhile, after]) {
        assert.equal(await messages(tab.page, text).count(), 1, `${tab.user} shows "${text}" once`);
      }
    }
    await screenshot(alice.page, 'chat-alice-after-restart');
  });
});
