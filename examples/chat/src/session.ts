// Demo sign-in: the server's GET /demo/token signs a token for a demo user
// with the demo secret. A real app gets its tokens from its identity
// provider; nothing else in the app depends on where they come from.

/** The signed-in demo user, as /demo/token describes it. */
export interface DemoUser {
  id: string;
  name: string;
  /** Ids of the rooms the user is a member of (also the token's "rooms" claim). */
  rooms: number[];
}

interface TokenReply {
  token: string;
  user: DemoUser;
  expires_at: string;
}

/** The demo users offered on the sign-in screen. */
export const demoUsers = ['alice', 'bob', 'carol'] as const;

const storageKey = 'walrelay-demo-user';

/**
 * A signed-in session: the user and a token source for createClient that
 * caches the token and fetches a new one shortly before it expires.
 */
export interface Session {
  user: DemoUser;
  getToken(): Promise<string>;
}

async function fetchToken(user: string): Promise<TokenReply> {
  const res = await fetch(`/demo/token?user=${encodeURIComponent(user)}`);
  if (!res.ok) throw new Error(`sign in as ${user}: HTTP ${res.status}`);
  return (await res.json()) as TokenReply;
}

/** Signs in as a demo user (remembered for this tab). */
export async function signIn(user: string): Promise<Session> {
  let current = await fetchToken(user);
  sessionStorage.setItem(storageKey, user);
  let refreshing: Promise<TokenReply> | null = null;
  return {
    user: current.user,
    async getToken() {
      const left = Date.parse(current.expires_at) - Date.now();
      if (left < 2 * 60_000) {
        refreshing ??= fetchToken(user).finally(() => (refreshing = null));
        current = await refreshing;
      }
      return current.token;
    },
  };
}

/** Forgets the tab's user. */
export function signOut(): void {
  sessionStorage.removeItem(storageKey);
}

/** The user to sign in as without asking: ?as=alice, or the tab's last choice. */
export function rememberedUser(): string | null {
  const fromUrl = new URLSearchParams(location.search).get('as');
  return fromUrl ?? sessionStorage.getItem(storageKey);
}
