// End-to-end: the inspector at /_/ in headless Chromium, against
// `walrelay serve` (server.inspector: true) on a throwaway Postgres with
// the demo schema. A user's token is refused; an admin's shows the models,
// the slot, a live WebSocket connection, and a row inserted over SQL
// arriving on the watched channel, without its hidden column.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { launchChromium, screenshot, waitUntil } from '../lib/browser.mjs';
import { buildBinary, freePort, startPostgres, startServe, stopAll } from '../lib/processes.mjs';

const secret = 'inspector-e2e-secret-0123456789abcdef';

const config = `
database:
  url: \${DATABASE_URL}
server:
  listen: "\${LISTEN}"
  inspector: true
auth:
  jwt:
    secret: \${JWT_SECRET}
realtime:
  slot: walrelay_inspector_e2e
models:
  Message:
    table: public.messages
    subscribe: [list, item]
    hide: [ip_address]
    permissions: { subscribe: authenticated, read: authenticated }
  User:
    table: public.users
    permissions: { read: authenticated }
`;

/** An HS256 JWT for claims, valid for an hour. */
function sign(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iat: now, exp: now + 3600, ...claims })}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

describe('inspector', () => {
  let bin, postgres, addr, baseURL, db, browser, page, client, configDir;
  const logs = [];

  before(async () => {
    bin = await buildBinary();
    postgres = await startPostgres(bin);
    addr = `127.0.0.1:${await freePort()}`;
    baseURL = `http://${addr}`;
    configDir = mkdtempSync(join(tmpdir(), 'walrelay-inspector-'));
    const file = join(configDir, 'walrelay.yaml');
    writeFileSync(file, config);
    await startServe(bin, { config: file, addr, name: 'inspector-serve', env: { DATABASE_URL: postgres.url, JWT_SECRET: secret, LISTEN: addr } });
    db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    browser = await launchChromium();
    const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    client = await context.newPage();
  });

  after(async () => {
    if (page && !page.isClosed()) await screenshot(page, 'inspector').catch(() => {});
    if (logs.length) console.log(`--- inspector console ---\n${logs.join('\n')}`);
    await browser?.close().catch(() => {});
    await db?.end().catch(() => {});
    await stopAll();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('refuses a token that is not an admin', async () => {
    await page.goto('/_/');
    await page.getByTestId('token').fill(sign({ sub: 'alice' }));
    await page.getByTestId('connect').click();
    await page.getByTestId('auth-status').filter({ hasText: 'refused: 403' }).waitFor();
    assert.equal(await page.getByTestId('model-row').count(), 0);
  });

  it('shows models, the slot and live connections to an admin', async () => {
    await page.getByTestId('token').fill(sign({ sub: 'root', role: 'admin' }));
    await page.getByTestId('connect').click();
    await page.getByTestId('auth-status').filter({ hasText: 'connected' }).waitFor();
    const message = page.locator('[data-testid=model-row][data-model=Message]');
    await message.waitFor();
    assert.equal(await message.getAttribute('data-status'), 'served');
    await page.getByTestId('slot-streaming').filter({ hasText: 'yes' }).waitFor();

    // A WebSocket client (in another tab) shows up with its subscription.
    await client.goto('/_/');
    const subscribed = await client.evaluate(
      ({ url, token }) =>
        new Promise((ok, fail) => {
          const ws = new WebSocket(url);
          window.testFrames = [];
          ws.onopen = () => {
            ws.send(JSON.stringify({ type: 'auth', ref: 'a', token }));
            ws.send(JSON.stringify({ type: 'subscribe', ref: '1', channel: 'Message:list' }));
          };
          ws.onmessage = (ev) => {
            window.testFrames.push(ev.data);
            if (ev.data.includes('"subscribed"')) ok(true);
          };
          ws.onerror = () => fail(new Error('websocket error'));
        }),
      { url: `ws://${addr}/ws`, token: sign({ sub: 'alice' }) },
    );
    assert.equal(subscribed, true);
    await page.getByTestId('conn-row').filter({ hasText: 'alice' }).filter({ hasText: 'Message:list' }).waitFor();
  });

  it('streams a channel live, hidden columns removed', async () => {
    await page.getByTestId('channel').fill('Message:list');
    await page.getByTestId('watch').click();
    await page.getByTestId('stream-status').filter({ hasText: 'watching Message:list' }).waitFor();
    const body = `seen in the inspector ${Date.now()}`;
    await db.query("insert into messages (room_id, author_id, body, ip_address) values (1, 'bob', $1, '10.11.12.13')", [body]);
    const row = page.getByTestId('event-row').filter({ hasText: body });
    await row.waitFor();
    assert.equal(await row.getAttribute('data-event'), 'created');
    const text = await row.innerText();
    assert.ok(!text.includes('10.11.12.13'), `hidden column shown: ${text}`);
    assert.ok(!text.includes('ip_address'), `hidden column shown: ${text}`);
    // The client in the other tab got it too, through the same hub.
    await waitUntil(() => client.evaluate((b) => window.testFrames.some((f) => f.includes(b)), body), { message: 'the client to get the row' });
  });
});
