import { useEffect, useMemo, useState } from 'react';
import { createClient } from '@walrelay/client';
import { Provider } from '@walrelay/client/react';
import { Chat } from './Chat';
import { Login } from './Login';
import { rememberedUser, signIn, signOut, type Session } from './session';
import './walrelay.gen';

/** The app: a sign-in screen, then the chat for the chosen demo user. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const choose = (user: string) => {
    setBusy(true);
    setError(null);
    signIn(user)
      .then(setSession, (e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => setBusy(false));
  };

  useEffect(() => {
    const user = rememberedUser();
    if (user) choose(user);
  }, []);

  if (!session) return <Login onChoose={choose} busy={busy} error={error} />;
  return (
    <SignedIn
      key={session.user.id}
      session={session}
      onSignOut={() => {
        signOut();
        setSession(null);
      }}
    />
  );
}

function SignedIn({ session, onSignOut }: { session: Session; onSignOut(): void }) {
  // One client per signed-in user; closed when the user signs out.
  const client = useMemo(
    () =>
      createClient({
        url: location.origin,
        getToken: session.getToken,
        realtime: { backoffBase: 250, backoffMax: 3000 },
      }),
    [session],
  );
  useEffect(() => () => client.close(), [client]);
  return (
    <Provider client={client}>
      <Chat me={session.user} onSignOut={onSignOut} />
    </Provider>
  );
}
