// @vitest-environment jsdom
import { act, cleanup, render, screen } from '@testing-library/react';
import { StrictMode, useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { Provider, useCreate, useDelete, useGet, useList, useStatus, useUpdate } from '../../src/react/index.js';
import { client, insertMessage, socketSpy, sql } from './helpers.js';
import { until } from './util.js';

const closers: (() => void)[] = [];
afterEach(() => {
  cleanup();
  for (const f of closers.splice(0)) f();
});

function Messages({ tag, testid }: { tag: string; testid: string }) {
  const { data, isLoading, isLive } = useList('Message', { where: { body: { like: `${tag}*` } }, order: 'id.asc' });
  return (
    <ul data-testid={testid} data-loading={String(isLoading)} data-live={String(isLive)}>
      {data.map((m) => (
        <li key={String(m.id)}>{String(m.body)}</li>
      ))}
    </ul>
  );
}

function Status() {
  return <p data-testid="status">{useStatus()}</p>;
}

const texts = (id: string) => Array.from(screen.getByTestId(id).querySelectorAll('li')).map((li) => li.textContent);

describe('React hooks against a live server', () => {
  it('two components on one query share one subscription, in StrictMode, and both update', async () => {
    const tag = `rx-${Date.now()}`;
    await insertMessage(1, `${tag}-a`);
    const spy = socketSpy();
    const c = client({ batch: 'frame' }, spy);
    closers.push(() => c.close());
    render(
      <StrictMode>
        <Provider client={c}>
          <Status />
          <Messages tag={tag} testid="one" />
          <Messages tag={tag} testid="two" />
        </Provider>
      </StrictMode>,
    );
    await until(() => screen.getByTestId('one').dataset.live === 'true' && screen.getByTestId('two').dataset.live === 'true');
    expect(texts('one')).toEqual([`${tag}-a`]);
    expect(screen.getByTestId('status').textContent).toBe('live');
    await insertMessage(1, `${tag}-b`);
    await until(() => texts('one').length === 2 && texts('two').length === 2);
    expect(texts('two')).toEqual([`${tag}-a`, `${tag}-b`]);
    const subs = spy.sent.filter((m) => m.type === 'subscribe' && m.channel === 'Message:list');
    expect(subs).toHaveLength(1);
    expect(spy.opened).toBe(1);
  });

  it('useGet and useList agree; optimistic update rolls back on error; create and delete', async () => {
    const tag = `rx2-${Date.now()}`;
    const mine = await insertMessage(1, `${tag}-mine`);
    const bobs = await insertMessage(1, `${tag}-bob`, 'bob');
    const c = client();
    closers.push(() => c.close());
    // Each Item's own hooks, by id: the mutation whose error an Item shows
    // is the one made through that Item's hook, whichever Item rendered last.
    const apis = new Map<
      number,
      {
        update: ReturnType<typeof useUpdate<'Message'>>;
        create: ReturnType<typeof useCreate<'Message'>>;
        del: ReturnType<typeof useDelete<'Message'>>;
      }
    >();
    const api = (id: number) => apis.get(id)!;
    function Item({ id }: { id: number }) {
      const { data, isLive } = useGet('Message', id);
      const update = useUpdate('Message', { optimistic: true });
      const create = useCreate('Message', { optimistic: true });
      const del = useDelete('Message', { optimistic: true });
      apis.set(id, { update, create, del });
      return (
        <p data-testid={`item-${id}`} data-live={String(isLive)} data-pending={String(update.isPending)} data-error={update.error?.code ?? ''}>
          {String(data?.body ?? '')}
        </p>
      );
    }
    function App() {
      const [ids] = useState([mine, bobs]);
      return (
        <>
          <Messages tag={tag} testid="list" />
          {ids.map((id) => (
            <Item key={id} id={id} />
          ))}
        </>
      );
    }
    render(
      <Provider client={c}>
        <App />
      </Provider>,
    );
    await until(
      () =>
        screen.getByTestId('list').dataset.live === 'true' &&
        screen.getByTestId(`item-${mine}`).dataset.live === 'true' &&
        screen.getByTestId(`item-${bobs}`).dataset.live === 'true',
    );
    // Update my row: list and item agree.
    await act(() => api(mine).update.mutate(mine, { body: `${tag}-mine2` }).then(() => undefined));
    await until(() => texts('list')[0] === `${tag}-mine2` && screen.getByTestId(`item-${mine}`).textContent === `${tag}-mine2`);

    // Bob's row: forbidden. The optimistic value shows, then rolls back.
    let seenOptimistic = false;
    const p = api(bobs).update.mutate(bobs, { body: `${tag}-hacked` }).catch((e: { code: string }) => e.code);
    // Applied to the shared cache at once (React renders it on its next pass).
    if (c.liveGet('Message', bobs).getSnapshot().data?.body === `${tag}-hacked`) seenOptimistic = true;
    await act(async () => {
      expect(await p).toBe('forbidden');
    });
    expect(seenOptimistic).toBe(true);
    // The rollback and the hook's error state may land in separate renders.
    await until(() => screen.getByTestId(`item-${bobs}`).textContent === `${tag}-bob` && screen.getByTestId(`item-${bobs}`).dataset.error !== '');
    expect(screen.getByTestId(`item-${bobs}`).dataset.error).toBe('forbidden');
    expect(texts('list')).toEqual([`${tag}-mine2`, `${tag}-bob`]);

    // Create through the hook, optimistically: a placeholder shows at once and
    // gives way to the real row when its change arrives.
    const listStore = c.liveList('Message', { where: { body: { like: `${tag}*` } }, order: 'id.asc' });
    const ids = () => listStore.getSnapshot().data.map((r) => String(r.id));
    let created!: Record<string, unknown>;
    await act(async () => {
      const p = api(mine).create.mutate({ room_id: 1, author_id: 'alice', body: `${tag}-new` });
      expect(ids().some((id) => id.startsWith('optimistic:'))).toBe(true);
      created = await p;
    });
    await until(() => texts('list').includes(`${tag}-new`) && ids().includes(String(created.id)));
    expect(ids().some((id) => id.startsWith('optimistic:'))).toBe(false);
    expect(texts('list').filter((t) => t === `${tag}-new`)).toHaveLength(1);
    // A refused create: the placeholder is rolled back.
    await act(async () => {
      const p = api(mine).create.mutate({ room_id: 3, author_id: 'alice', body: `${tag}-refused` }).catch((e: { code: string }) => e.code);
      expect(listStore.getSnapshot().data.some((r) => r.body === `${tag}-refused`)).toBe(true);
      expect(await p).toBe('forbidden');
    });
    expect(listStore.getSnapshot().data.some((r) => r.body === `${tag}-refused`)).toBe(false);
    // Delete through the hook; the list follows the stream.
    await act(() => api(mine).del.mutate(created.id as number).then(() => undefined));
    await until(() => !texts('list').includes(`${tag}-new`));
    expect((await sql('select 1 from messages where id = $1', [created.id])).length).toBe(0);
  });

  it('HTTP-only client: same hooks, lists re-read after writes', async () => {
    const tag = `rx3-${Date.now()}`;
    const c = client({ realtime: false });
    render(
      <Provider client={c}>
        <Status />
        <Messages tag={tag} testid="list" />
      </Provider>,
    );
    await until(() => screen.getByTestId('list').dataset.loading === 'false');
    expect(screen.getByTestId('status').textContent).toBe('idle');
    await act(() => c.model('Message').create({ room_id: 1, author_id: 'alice', body: `${tag}-x` }).then(() => undefined));
    await until(() => texts('list').length === 1);
    expect(screen.getByTestId('list').dataset.live).toBe('false');
  });
});
