import { demoUsers } from './session';

const memberships: Record<string, string> = {
  alice: 'general, random, secret',
  bob: 'general, random',
  carol: 'general, secret',
};

/** The sign-in screen: pick a demo user. */
export function Login({ onChoose, busy, error }: { onChoose(user: string): void; busy: boolean; error: string | null }) {
  return (
    <main className="login">
      <div className="login-card">
        <h1>
          <span className="logo" aria-hidden /> walrelay chat
        </h1>
        <p className="muted">
          Every message below comes from Postgres' write-ahead log. Sign in as a demo user, open another tab as someone
          else, or insert a row with psql, and watch it arrive.
        </p>
        <div className="login-users">
          {demoUsers.map((u) => (
            <button key={u} data-testid={`login-${u}`} disabled={busy} onClick={() => onChoose(u)}>
              <Avatar id={u} />
              <span className="login-name">{u[0]!.toUpperCase() + u.slice(1)}</span>
              <span className="muted small">{memberships[u]}</span>
            </button>
          ))}
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </main>
  );
}

const palette = ['#e76f51', '#2a9d8f', '#8e6bbf', '#e9a23b', '#3a86ff', '#d1495b'];

/** A round initial, coloured by user id. */
export function Avatar({ id, name, size = 36 }: { id: string; name?: string; size?: number }) {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return (
    <span className="avatar" style={{ background: palette[h % palette.length], width: size, height: size, fontSize: size * 0.45 }}>
      {(name ?? id).slice(0, 1).toUpperCase()}
    </span>
  );
}
