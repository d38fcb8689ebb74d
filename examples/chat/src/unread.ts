import { useEffect, useMemo, useRef, useState } from 'react';
import { useList } from '@walrelay/client/react';

/**
 * Unread counts per room id: messages by others, newer than the newest one
 * seen when the app loaded or when the room was last open. It reads one
 * live list of the user's recent messages across rooms (no filter: the
 * server's read rule decides which rooms' messages this user gets at all).
 */
export function useUnread(me: string, openRoom: string | null): Map<string, number> {
  const recent = useList('Message', { order: 'id.desc', limit: 50 });
  const baseline = useRef<number | null>(null);
  const [seen, setSeen] = useState<Record<string, number>>({});

  if (baseline.current === null && !recent.isLoading) {
    baseline.current = recent.data.reduce((m, r) => Math.max(m, Number(r.id)), 0);
  }

  // The open room is read up to its newest message.
  const newestOpen = recent.data.find((r) => String(r.room_id) === openRoom);
  const newestOpenId = newestOpen ? Number(newestOpen.id) : 0;
  useEffect(() => {
    if (openRoom === null) return;
    setSeen((s) => ((s[openRoom] ?? 0) >= newestOpenId ? s : { ...s, [openRoom]: newestOpenId }));
  }, [openRoom, newestOpenId]);

  return useMemo(() => {
    const counts = new Map<string, number>();
    const base = baseline.current ?? Infinity;
    for (const r of recent.data) {
      const room = String(r.room_id);
      const id = Number(r.id);
      if (r.author_id === me || id <= base || id <= (seen[room] ?? 0)) continue;
      counts.set(room, (counts.get(room) ?? 0) + 1);
    }
    return counts;
  }, [recent.data, seen, me]);
}
