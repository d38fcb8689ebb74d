import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import { useCreate, useList, usePresence } from '@walrelay/client/react';
import type { Room } from './walrelay.gen';
import { Avatar } from './Login';
import type { DemoUser } from './session';
import { timeOf } from './time';
import { useTyping } from './typing';

/**
 * One room: its live messages (newest 100, from useList: whatever wrote
 * them, this tab, another one or psql), who is here (presence on the
 * room's custom channel), who is typing, and the composer.
 */
export function RoomView({ room, me, names }: { room: Room; me: DemoUser; names: Map<string, string> }) {
  const channel = `chat:room:${String(room.id)}`;
  const presence = usePresence<{ name?: string }>(channel, { name: me.name });
  const { typing, onInput, onSent } = useTyping(channel);
  const messages = useList('Message', { where: { room_id: room.id }, order: 'id.desc', limit: 100 });
  const send = useCreate('Message');
  const [draft, setDraft] = useState('');

  const shown = [...messages.data].reverse();
  const name = (id: string) => names.get(id) ?? id;

  // Keep the newest message in view.
  const scroller = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [shown.length, shown[shown.length - 1]?.id]);

  useEffect(() => {
    document.title = `#${room.name} · walrelay chat`;
  }, [room.name]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = draft.trim();
    if (!body) return;
    send.mutate({ room_id: room.id, author_id: me.id, body }).then(
      () => {
        setDraft((d) => (d.trim() === body ? '' : d));
        onSent();
      },
      () => {},
    );
  };

  const others = typing.filter((t) => t !== me.id);
  return (
    <main className="room" data-testid="room" data-room={room.name}>
      <header className="room-header">
        <div>
          <h1 data-testid="room-title"># {room.name}</h1>
          {room.topic && <p className="muted small">{room.topic}</p>}
        </div>
        <ul className="presence" data-testid="presence" aria-label="Who is here">
          {presence.state.map((p) => (
            <li key={p.key} data-testid={`presence-${p.key}`} title={`${name(p.key)} (${p.metas.length} tab${p.metas.length > 1 ? 's' : ''})`}>
              <Avatar id={p.key} name={name(p.key)} size={28} />
              <span className="online-dot" />
            </li>
          ))}
        </ul>
      </header>

      <div className="messages" ref={scroller} data-testid="messages">
        {messages.isLoading && <p className="muted center">Loading…</p>}
        {messages.error && (
          <p className="error center" data-testid="messages-error">
            {messages.error.message}
          </p>
        )}
        {!messages.isLoading && shown.length === 0 && <p className="muted center">No messages yet. Say hi!</p>}
        {shown.map((m) => (
          <article
            key={String(m.id)}
            className={`message${m.author_id === me.id ? ' mine' : ''}`}
            data-testid="message"
            data-id={String(m.id)}
            data-author={m.author_id}
          >
            <Avatar id={m.author_id} name={name(m.author_id)} size={32} />
            <div className="message-main">
              <div className="message-meta">
                <span className="message-author">{name(m.author_id)}</span>
                <time className="muted small">{timeOf(m.created_at)}</time>
              </div>
              <div className="message-body" data-testid="message-body">
                {m.body}
              </div>
            </div>
          </article>
        ))}
      </div>

      <div className="typing" data-testid="typing" aria-live="polite">
        {others.length > 0 && (
          <span data-testid="typing-text">
            {others.map(name).join(', ')} {others.length > 1 ? 'are' : 'is'} typing
            <span className="dots">
              <i />
              <i />
              <i />
            </span>
          </span>
        )}
      </div>

      <form className="composer" onSubmit={submit}>
        <input
          data-testid="composer-input"
          placeholder={`Message #${room.name}`}
          value={draft}
          maxLength={4000}
          onChange={(e) => {
            setDraft(e.target.value);
            if (e.target.value) onInput();
          }}
        />
        <button type="submit" data-testid="composer-send" disabled={!draft.trim()}>
          Send
        </button>
      </form>
      {send.error && (
        <p className="error composer-error" data-testid="send-error" role="alert">
          Could not send: {send.error.message}
        </p>
      )}
    </main>
  );
}
