import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getAuth, onAuthChange, setAuth, api, type Auth } from './api.ts';
import { BASE, Link, navigate, usePath } from './router.tsx';
import { getSocket, useConnectionState } from './socket.ts';
import { LoginPage } from './pages/Login.tsx';
import { LivePage } from './pages/Live.tsx';
import { SessionsPage } from './pages/Sessions.tsx';
import { ModelsPage } from './pages/Models.tsx';
import { RecordingsPage } from './pages/Recordings.tsx';
import { DevicesPage } from './pages/Devices.tsx';
import { FeedPage, ProfilePage } from './pages/Feed.tsx';
import { NotificationsPage } from './pages/Notifications.tsx';
import './styles.css';

const GUEST_KEY = 'vigil.guest';

function useAuth(): Auth | null {
  const [a, set] = useState(getAuth());
  useEffect(() => onAuthChange(set), []);
  return a;
}

const NAV = [
  ['live', 'Live'],
  ['sessions', 'Sessions'],
  ['models', 'Models'],
  ['recordings', 'Recordings'],
  ['devices', 'Devices'],
  ['feed', 'Feed'],
  ['notifications', 'Notifications'],
] as const;

function ConnectionIndicator() {
  const s = useConnectionState();
  const text = s === 'online' ? 'Connected' : s === 'connecting' ? 'Connecting…' : 'Offline, reconnecting';
  return (
    <span class={`conn conn-${s}`} role="status" aria-live="polite" data-testid="connection">
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function App() {
  const auth = useAuth();
  const path = usePath();
  const [guest, setGuest] = useState(() => sessionStorage.getItem(GUEST_KEY) === '1');

  useEffect(() => {
    getSocket();
  }, []);

  useEffect(() => {
    if (path === '/' || path === BASE || path === `${BASE}/`) navigate(`${BASE}/live`, true);
  }, [path]);

  const signedOut = !auth && !guest;
  if (signedOut || path === `${BASE}/login`) {
    return (
      <LoginPage
        onGuest={() => {
          sessionStorage.setItem(GUEST_KEY, '1');
          setGuest(true);
          navigate(`${BASE}/live`, true);
        }}
        onSignedIn={() => {
          sessionStorage.removeItem(GUEST_KEY);
          setGuest(false);
          navigate(path.startsWith(`${BASE}/`) && path !== `${BASE}/login` ? path : `${BASE}/live`, true);
        }}
      />
    );
  }

  const section = path.slice(BASE.length + 1).split('/')[0] ?? '';
  let page;
  switch (section) {
    case 'live':
      page = <LivePage guest={!auth} />;
      break;
    case 'sessions':
      page = <SessionsPage sessionId={Number(path.split('/')[3]) || undefined} />;
      break;
    case 'models':
      page = <ModelsPage />;
      break;
    case 'recordings':
      page = <RecordingsPage />;
      break;
    case 'devices':
      page = <DevicesPage />;
      break;
    case 'feed':
      page = <FeedPage />;
      break;
    case 'notifications':
      page = <NotificationsPage />;
      break;
    case 'users':
      page = <ProfilePage username={decodeURIComponent(path.split('/')[3] ?? '')} />;
      break;
    default:
      page = (
        <section>
          <h1>Page not found</h1>
          <p>
            There is nothing at <code>{path}</code>. <Link href={`${BASE}/live`}>Go to the live view</Link>.
          </p>
        </section>
      );
  }

  const signOut = async () => {
    const a = getAuth();
    if (a)
      await api('/auth/logout', { method: 'POST', body: { refresh_token: a.refresh_token } }).catch(
        () => undefined,
      );
    setAuth(null);
    sessionStorage.removeItem(GUEST_KEY);
    setGuest(false);
    navigate(`${BASE}/login`);
  };

  const nav = auth ? NAV : NAV.filter(([k]) => k === 'live' || k === 'feed');
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand" aria-label="Vigil">
          <svg viewBox="0 0 16 16" width="22" height="22" aria-hidden="true">
            <circle cx="8" cy="8" r="7" fill="currentColor" />
            <path d="M2 9h3l2-5 2 8 2-3h3" stroke="var(--bg)" stroke-width="1.5" fill="none" />
          </svg>
          Vigil
        </span>
        <nav aria-label="Main">
          {nav.map(([k, label]) => (
            <Link key={k} href={`${BASE}/${k}`} aria-current={section === k ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <div class="who">
          <ConnectionIndicator />
          {auth ? (
            <>
              <Link href={`${BASE}/users/${encodeURIComponent(auth.user.username)}`}>
                {auth.user.username}
              </Link>
              <button type="button" class="link" onClick={() => void signOut()}>
                Sign out
              </button>
            </>
          ) : (
            <button type="button" class="link" onClick={() => void signOut()}>
              Sign in
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

render(<App />, document.getElementById('root')!);
