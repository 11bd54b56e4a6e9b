import { useState } from 'preact/hooks';
import { api, errorText, setAuth, type Auth } from '../api.ts';

export function LoginPage(props: { onSignedIn: () => void; onGuest: () => void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      const body =
        mode === 'login'
          ? { username: String(f.get('username')), password: String(f.get('password')) }
          : {
              username: String(f.get('username')),
              email: String(f.get('email')),
              password: String(f.get('password')),
            };
      const res = await api<Auth>(`/auth/${mode}`, { body, auth: false });
      setAuth({ access_token: res.access_token, refresh_token: res.refresh_token, user: res.user });
      props.onSignedIn();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <h1>
        <svg viewBox="0 0 16 16" width="32" height="32" aria-hidden="true">
          <circle cx="8" cy="8" r="7" fill="currentColor" />
          <path d="M2 9h3l2-5 2 8 2-3h3" stroke="var(--bg)" stroke-width="1.5" fill="none" />
        </svg>{' '}
        Vigil
      </h1>
      <p class="muted">
        Real-time anomaly detection on your sensors. Sign in, or try it on the built-in simulator.
      </p>
      <div class="tabs" role="tablist" aria-label="Account">
        <button type="button" role="tab" aria-selected={mode === 'login'} onClick={() => setMode('login')}>
          Sign in
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={mode === 'register'}
          onClick={() => setMode('register')}
        >
          Create account
        </button>
      </div>
      <form
        class="card stack"
        onSubmit={(e) => void submit(e)}
        aria-label={mode === 'login' ? 'Sign in' : 'Create account'}
      >
        <label>
          {mode === 'login' ? 'Username or email' : 'Username'}
          <input name="username" autoComplete="username" required minLength={mode === 'register' ? 3 : 1} />
        </label>
        {mode === 'register' && (
          <label>
            Email
            <input name="email" type="email" autoComplete="email" required />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'register' ? 8 : 1}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Please wait…' : mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
      </form>
      <p>
        <button type="button" class="link" onClick={props.onGuest}>
          Continue as a guest
        </button>{' '}
        <span class="muted">(preset models on the demo simulator; nothing is saved)</span>
      </p>
    </main>
  );
}
