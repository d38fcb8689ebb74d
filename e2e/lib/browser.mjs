// Headless Chromium (Debian's package, no browser download) driven by
// playwright-core, and helpers to open the chat as a demo user.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { artifacts } from './processes.mjs';

const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);

/** Launches headless Chromium with a fresh profile. */
export async function launchChromium() {
  const executablePath = candidates.find((p) => existsSync(p));
  if (!executablePath) {
    throw new Error(`no Chromium found (tried ${candidates.join(', ')}): apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A user's tab: a new browser context (its own storage), every WebSocket
 * frame it receives recorded in `frames` from the start, signed in as
 * `user` through the login screen, with `room` open.
 */
export async function openAs(browser, baseURL, user, room) {
  const context = await browser.newContext({ baseURL, viewport: { width: 1180, height: 720 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const frames = [];
  const logs = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8'))));
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  await page.goto(`/#${room}`);
  await page.getByTestId(`login-${user}`).click();
  await page.getByTestId(`room-${room}`).click();
  await page.locator(`[data-testid=room][data-room="${room}"]`).waitFor();
  return { user, context, page, frames, logs };
}

/** Saves a screenshot to artifacts/<name>.png and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** The rendered messages of the open room whose body is exactly text. */
export function messages(page, text) {
  const exact = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  return page.getByTestId('message-body').filter({ hasText: exact });
}

/**
 * Polls fn until it returns a truthy value, or fails with message after
 * timeoutMs. For conditions that no locator expresses (counts, frames).
 */
export async function waitUntil(fn, { timeoutMs = 15_000, intervalMs = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Renders PNG files side by side in a new page of context and saves that
 * as out: the docs' picture of two users chatting.
 */
export async function sideBySide(context, pngPaths, out) {
  const page = await context.newPage();
  try {
    const imgs = pngPaths
      .map((p) => `<img src="data:image/png;base64,${readFileSync(p).toString('base64')}">`)
      .join('');
    await page.setViewportSize({ width: 1180 * pngPaths.length + 12 * (pngPaths.length + 1), height: 744 });
    await page.setContent(
      `<body style="margin:0;padding:12px;display:flex;gap:12px;background:#d8dde6">${imgs}</body>`,
    );
    await page.screenshot({ path: out });
  } finally {
    await page.close();
  }
}
