import { useCallback, useEffect, useRef, useState } from 'react';
import { useChannel } from '@walrelay/client/react';

/** How long a "typing" event shows without a newer one. */
export const typingTimeoutMs = 4000;
/** How often, at most, this client announces that it is typing. */
const announceEveryMs = 1500;

/**
 * Typing indicator over a custom channel: `typing` events with {on} from
 * the others (the server does not echo one's own events). An entry clears
 * after typingTimeoutMs without news, or at once on {on: false}.
 */
export function useTyping(channel: string): { typing: string[]; onInput(): void; onSent(): void } {
  const [until, setUntil] = useState<Record<string, number>>({});
  const { publish } = useChannel(channel, {
    typing: (data, ev) => {
      const sub = ev.from?.sub;
      if (!sub) return;
      const on = (data as { on?: unknown } | null)?.on === true;
      setUntil((u) => {
        const next = { ...u };
        if (on) next[sub] = Date.now() + typingTimeoutMs;
        else delete next[sub];
        return next;
      });
    },
  });

  // Drop entries when they expire.
  useEffect(() => {
    const times = Object.values(until);
    if (times.length === 0) return;
    const wait = Math.max(0, Math.min(...times) - Date.now());
    const t = setTimeout(() => {
      const now = Date.now();
      setUntil((u) => Object.fromEntries(Object.entries(u).filter(([, t]) => t > now)));
    }, wait + 10);
    return () => clearTimeout(t);
  }, [until]);

  const last = useRef(0);
  const onInput = useCallback(() => {
    const now = Date.now();
    if (now - last.current < announceEveryMs) return;
    last.current = now;
    publish('typing', { on: true }).catch(() => {});
  }, [publish]);
  const onSent = useCallback(() => {
    if (last.current === 0) return;
    last.current = 0;
    publish('typing', { on: false }).catch(() => {});
  }, [publish]);

  return { typing: Object.keys(until).sort(), onInput, onSent };
}
