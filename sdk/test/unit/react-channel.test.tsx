// @vitest-environment jsdom
import { act, cleanup, render, screen } from '@testing-library/react';
import { StrictMode, useState } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type WalrelayClient } from '../../src/index.js';
import { Provider, useChannel, usePresence, useStatus } from '../../src/react/index.js';
import { FakeSocket } from './fake-socket.js';

const until = (cond: () => boolean, timeout = 3000) => vi.waitFor(() => expect(cond()).toBe(true), { timeout, interval: 5 });
let c: WalrelayClient;

async function server(): Promise<FakeSocket> {
  await until(() => FakeSocket.all.length > 0);
  const s = FakeSocket.last();
  act(() => {
    s.open();
    s.push({ type: 'authenticated', ref: s.of('auth')[0]!.ref });
  });
  return s;
}

beforeEach(() => {
  FakeSocket.reset();
  c = createClient({ url: 'https://x.test', token: 't', realtime: true, WebSocket: FakeSocket });
});
afterEach(() => {
  cleanup();
  c.close();
});

function Typing() {
  const [who, setWho] = useState<string[]>([]);
  const { publish } = useChannel('chat:room:7', {
    typing: (data) => setWho((w) => [...w, (data as { user: string }).user]),
  });
  return (
    <button data-testid="typing" onClick={() => void publish('typing', { user: 'me' })}>
      {who.join(',')}
    </button>
  );
}

function Present() {
  const { state, joined } = usePresence<{ status: string }>('chat:room:7', { status: 'here' });
  return (
    <p data-testid="present" data-joined={String(joined)}>
      {state.map((p) => `${p.key}:${p.metas.map((m) => m.status).join('+')}`).join(',')}
    </p>
  );
}

function Status() {
  return <i data-testid="status">{useStatus()}</i>;
}

describe('useChannel and usePresence', () => {
  it('share one subscription (StrictMode too), send presence meta, receive events and presence, publish', async () => {
    render(
      <StrictMode>
        <Provider client={c}>
          <Status />
          <Present />
          <Typing />
          <Typing />
        </Provider>
      </StrictMode>,
    );
    const s = await server();
    await until(() => s.of('subscribe').length === 1);
    const sub = s.of('subscribe')[0]!;
    expect(sub).toMatchObject({ channel: 'chat:room:7', presence: { status: 'here' } });
    act(() => s.push({ type: 'subscribed', ref: sub.ref, channel: 'chat:room:7' }));
    await until(() => screen.getByTestId('present').dataset.joined === 'true');
    expect(screen.getByTestId('status').textContent).toBe('live');

    const meta = (ref: string, status: string) => ({ presence_ref: ref, status });
    act(() => {
      s.push([
        { type: 'presence', channel: 'chat:room:7', state: [{ key: 'me', metas: [meta('1a', 'here')] }, { key: 'bob', metas: [meta('1b', 'here')] }] },
        { type: 'event', channel: 'chat:room:7', event: 'typing', data: { user: 'bob' }, from: { sub: 'bob' } },
      ]);
    });
    await until(() => screen.getByTestId('present').textContent === 'me:here,bob:here');
    // Diffs: bob opens a second tab, then the first leaves; carol joins.
    act(() => s.push({ type: 'presence', channel: 'chat:room:7', joins: [{ key: 'bob', metas: [meta('1c', 'away')] }], leaves: [] }));
    await until(() => screen.getByTestId('present').textContent === 'me:here,bob:here+away');
    act(() =>
      s.push({
        type: 'presence',
        channel: 'chat:room:7',
        joins: [{ key: 'carol', metas: [meta('1d', 'here')] }],
        leaves: [{ key: 'bob', metas: [meta('1b', 'here')] }],
      }),
    );
    await until(() => screen.getByTestId('present').textContent === 'me:here,bob:away,carol:here');
    act(() => s.push({ type: 'presence', channel: 'chat:room:7', joins: [], leaves: [{ key: 'bob', metas: [meta('1c', 'away')] }] }));
    await until(() => screen.getByTestId('present').textContent === 'me:here,carol:here');
    expect(screen.getAllByTestId('typing').map((b) => b.textContent)).toEqual(['bob', 'bob']);

    act(() => screen.getAllByTestId('typing')[0]!.click());
    await until(() => s.of('publish').length === 1);
    const pub = s.of('publish')[0]!;
    expect(pub).toMatchObject({ type: 'publish', channel: 'chat:room:7', event: 'typing', data: { user: 'me' } });
    act(() => s.push({ type: 'published', ref: pub.ref }));
    // Still one subscription.
    expect(s.of('subscribe')).toHaveLength(1);

    cleanup();
    await until(() => s.of('unsubscribe').length === 1);
  });

  it('reports reconnecting and live again after a drop', async () => {
    render(
      <Provider client={c}>
        <Status />
        <Present />
      </Provider>,
    );
    const s = await server();
    await until(() => screen.getByTestId('status').textContent === 'live');
    act(() => s.drop(1006));
    await until(() => screen.getByTestId('status').textContent === 'reconnecting');
    await until(() => FakeSocket.all.length === 2, 5000);
    await server();
    await until(() => screen.getByTestId('status').textContent === 'live');
    await until(() => FakeSocket.last().of('subscribe').length === 1);
  });

  it('goes offline with the browser and back when online', async () => {
    render(
      <Provider client={c}>
        <Status />
        <Present />
      </Provider>,
    );
    await server();
    await until(() => screen.getByTestId('status').textContent === 'live');
    act(() => {
      window.dispatchEvent(new Event('offline'));
    });
    await until(() => screen.getByTestId('status').textContent === 'offline');
    act(() => {
      window.dispatchEvent(new Event('online'));
    });
    await until(() => FakeSocket.all.length === 2);
    await server();
    await until(() => screen.getByTestId('status').textContent === 'live');
  });
});
