import { expect, vi } from 'vitest';

/** Waits until cond holds (polling), failing after timeout ms; `state` describes what was seen. */
export async function until(cond: () => boolean, timeout = 10_000, state?: () => unknown): Promise<void> {
  await vi.waitFor(() => expect(cond(), state ? JSON.stringify(state()) : undefined).toBe(true), { timeout, interval: 20 });
}

/** Keeps a store subscribed until release() and returns its snapshot getter. */
export function follow<S>(
  store: { subscribe(cb: () => void): () => void; getSnapshot(): S },
  cleanup: (() => void)[],
): () => S {
  cleanup.push(store.subscribe(() => {}));
  return () => store.getSnapshot();
}
