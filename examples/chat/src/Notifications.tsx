import { useList } from '@walrelay/client/react';
import type { DemoUser } from './session';
import { timeOf } from './time';

/**
 * The user's live notifications. The app never writes them: they come
 * from the database (a trigger, a job, or psql), and the read rule
 * "row.user_id == auth.sub" sends each one only to its user.
 */
export function Notifications({ me }: { me: DemoUser }) {
  const list = useList('Notification', { where: { user_id: me.id }, order: 'id.desc', limit: 20 });
  const unread = list.data.filter((n) => !n.read).length;
  return (
    <section className="notifications" data-testid="notifications">
      <h2>
        Notifications {unread > 0 && <span className="badge" data-testid="notifications-unread">{unread}</span>}
      </h2>
      {list.data.length === 0 && !list.isLoading && (
        <p className="muted small hint">
          None yet. Try:
          <code>insert into notifications (user_id, body) values ('{me.id}', 'hello');</code>
        </p>
      )}
      <ul>
        {list.data.map((n) => (
          <li key={String(n.id)} className={`notification kind-${n.kind}${n.read ? ' read' : ''}`} data-testid="notification">
            <span className="notification-body">{n.body}</span>
            <time className="muted small">{timeOf(n.created_at)}</time>
          </li>
        ))}
      </ul>
    </section>
  );
}
