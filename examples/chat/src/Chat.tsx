import { useEffect, useMemo, useState } from 'react';
import { useList, useStatus } from '@walrelay/client/react';
import { Avatar } from './Login';
import { Notifications } from './Notifications';
import { RoomView } from './RoomView';
import type { DemoUser } from './session';
import { useUnread } from './unread';

/** The signed-in screen: rooms and notifications on the left, the open room on the right. */
export function Chat({ me, onSignOut }: { me: DemoUser; onSignOut(): void }) {
  const rooms = useList('Room', { order: 'id' });
  const users = useList('User', { order: 'id' });
  const status = useStatus();
  const memberOf = useMemo(() => new Set(me.rooms.map(String)), [me.rooms]);
  const [roomName, setRoomName] = useHashRoom();

  const mine = rooms.data.filter((r) => memberOf.has(String(r.id)));
  const others = rooms.data.filter((r) => !memberOf.has(String(r.id)));
  const room = mine.find((r) => r.name === roomName) ?? mine[0] ?? null;
  const names = useMemo(() => new Map(users.data.map((u) => [u.id, u.name])), [users.data]);
  const unread = useUnread(me.id, room ? String(room.id) : null);

  return (
    <div className="app">
      <aside className="sidebar">
        <header className="me">
          <Avatar id={me.id} name={me.name} />
          <div>
            <div className="me-name" data-testid="me">
              {me.name}
            </div>
            <div className={`status status-${status}`} data-testid="status" data-status={status}>
              {status}
            </div>
          </div>
          <button className="link" data-testid="sign-out" onClick={onSignOut}>
            Sign out
          </button>
        </header>
        <nav className="rooms">
          <h2>Rooms</h2>
          {rooms.isLoading && <p className="muted small">Loading…</p>}
          {mine.map((r) => {
            const n = unread.get(String(r.id)) ?? 0;
            return (
              <button
                key={String(r.id)}
                className={`room-link${room?.id === r.id ? ' active' : ''}`}
                data-testid={`room-${r.name}`}
                onClick={() => setRoomName(r.name)}
              >
                <span># {r.name}</span>
                {n > 0 && room?.id !== r.id && (
                  <span className="badge" data-testid={`unread-${r.name}`}>
                    {n}
                  </span>
                )}
              </button>
            );
          })}
          {others.map((r) => (
            <div key={String(r.id)} className="room-link locked" title="You are not a member of this room" data-testid={`room-locked-${r.name}`}>
              <span># {r.name}</span>
              <LockIcon />
            </div>
          ))}
        </nav>
        <Notifications me={me} />
      </aside>
      {room ? (
        <RoomView key={String(room.id)} room={room} me={me} names={names} />
      ) : (
        <main className="room empty">{rooms.isLoading ? 'Loading…' : 'You are not in any room.'}</main>
      )}
    </div>
  );
}

function LockIcon() {
  return (
    <svg className="lock" viewBox="0 0 16 16" width="12" height="12" role="img" aria-label="members only">
      <rect x="3" y="7" width="10" height="8" rx="1.5" fill="currentColor" />
      <path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" strokeWidth="1.6" />
    </svg>
  );
}

/** The open room's name, kept in the URL hash (#random) so a reload or a link opens it. */
function useHashRoom(): [string, (name: string) => void] {
  const read = () => decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const [name, setName] = useState(read);
  useEffect(() => {
    const on = () => setName(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return [name, (n: string) => (location.hash = `#${encodeURIComponent(n)}`)];
}
