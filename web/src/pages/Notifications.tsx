import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api.ts';
import { ErrorNote, Loading } from '../components/ui.tsx';

interface Channel {
  id: number;
  kind: 'webhook' | 'email' | 'mqtt' | 'web_push';
  name: string;
  enabled: boolean;
  url?: string;
  to?: string;
  endpoint?: string;
}

const KIND: Record<Channel['kind'], string> = {
  webhook: 'Webhook',
  email: 'E-mail',
  mqtt: 'MQTT',
  web_push: 'Browser',
};

const supported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

function keyBytes(b64url: string): Uint8Array<ArrayBuffer> {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function browserName(): string {
  const ua = navigator.userAgent;
  const name = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return `${name} on ${/Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : 'this device'}`;
}

async function registration(): Promise<ServiceWorkerRegistration> {
  const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/', updateViaCache: 'none' });
  await navigator.serviceWorker.ready;
  return reg;
}

/** Where alarms reach you: this browser's push notifications, and a "send a test" for every channel. */
export function NotificationsPage() {
  const [channels, setChannels] = useState<Channel[] | null>(null);
  const [endpoint, setEndpoint] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState('');
  const [error, setError] = useState('');

  const load = useCallback(async () => {
    setError('');
    try {
      const r = await api<{ channels: Channel[] }>('/notifications/channels');
      setChannels(r.channels);
      if (supported()) {
        const reg = await navigator.serviceWorker.getRegistration('/');
        const sub = await reg?.pushManager.getSubscription();
        setEndpoint(sub?.endpoint ?? null);
      }
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => void load(), [load]);

  const mine = channels?.find((c) => c.kind === 'web_push' && c.endpoint === endpoint);

  const act = (what: () => Promise<string>) => () => {
    setBusy(true);
    setError('');
    setNote('');
    void what()
      .then(async (text) => {
        setNote(text);
        await load();
      })
      .catch((e: unknown) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };

  const enable = act(async () => {
    if ((await Notification.requestPermission()) !== 'granted') throw new Error('Notifications are blocked for this site; allow them in the browser settings.');
    const reg = await registration();
    const { public_key } = await api<{ public_key: string }>('/notifications/web-push/key', { auth: false });
    let sub = await reg.pushManager.getSubscription();
    // A subscription made with another server key cannot be used; make a new one.
    if (sub && sub.options.applicationServerKey && btoa(String.fromCharCode(...new Uint8Array(sub.options.applicationServerKey))) !== btoa(String.fromCharCode(...keyBytes(public_key)))) {
      await sub.unsubscribe();
      sub = null;
    }
    try {
      sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) });
    } catch (e) {
      throw new Error(`This browser could not subscribe at its push service (${errorText(e)}). Push needs the browser to reach its vendor's push service.`);
    }
    await api('/notifications/channels', { body: { kind: 'web_push', name: browserName(), subscription: sub.toJSON() } });
    return 'Browser notifications are on for this browser.';
  });

  const disable = act(async () => {
    const reg = await navigator.serviceWorker.getRegistration('/');
    await (await reg?.pushManager.getSubscription())?.unsubscribe();
    if (mine) await api(`/notifications/channels/${mine.id}`, { method: 'DELETE' });
    return 'Browser notifications are off for this browser.';
  });

  const test = (c: Channel) =>
    act(async () => {
      await api(`/notifications/channels/${c.id}/test`, { method: 'POST' });
      return `Test sent to “${c.name}”.`;
    });

  const target = (c: Channel) => c.url ?? c.to ?? (c.endpoint ? new URL(c.endpoint).host : c.kind === 'mqtt' ? 'MQTT broker' : '');

  return (
    <section>
      <h1>Notifications</h1>
      <p>Alarms reach you on these channels even when the dashboard is closed.</p>
      <div class="card" role="region" aria-label="This browser">
        <h2>This browser</h2>
        {!supported() ? (
          <p data-testid="push-state">This browser cannot show push notifications.</p>
        ) : (
          <>
            <p data-testid="push-state">
              {mine ? 'Browser notifications are on: alarms appear here while the dashboard is closed.' : 'Browser notifications are off for this browser.'}
            </p>
            <div class="row wrap">
              {mine ? (
                <>
                  <button type="button" disabled={busy} onClick={test(mine)}>
                    Send a test
                  </button>
                  <button type="button" disabled={busy} onClick={disable}>
                    Turn off
                  </button>
                </>
              ) : (
                <button type="button" class="primary" disabled={busy} onClick={enable}>
                  Enable browser notifications
                </button>
              )}
            </div>
          </>
        )}
        {note && (
          <p role="status" aria-live="polite">
            {note}
          </p>
        )}
      </div>
      {error && <ErrorNote text={error} />}
      <h2>Your channels</h2>
      {channels === null ? (
        !error && <Loading what="channels" />
      ) : channels.length === 0 ? (
        <p>No channels yet. Enable browser notifications above, or add a webhook, e-mail or MQTT channel through the API (see /docs).</p>
      ) : (
        <ul class="channels" data-testid="channels">
          {channels.map((c) => (
            <li key={c.id} class="row wrap">
              <span class="badge">{KIND[c.kind]}</span>
              <strong>{c.name}</strong>
              <span class="grow">
                {target(c)}
                {c.enabled ? '' : ' (disabled)'}
              </span>
              <button type="button" disabled={busy} onClick={test(c)}>
                Send a test
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
