import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api.ts';
import { ErrorNote, Loading } from '../components/ui.tsx';
import type { Device } from '../types.ts';

interface SerialPortInfo {
  path: string;
  manufacturer: string | null;
}

function Copy(props: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      aria-label={props.label}
      onClick={() =>
        void navigator.clipboard?.writeText(props.text).then(
          () => {
            setDone(true);
            setTimeout(() => setDone(false), 1500);
          },
          () => undefined,
        )
      }
    >
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}

function TokenBox(props: { device: Device; token: string; onClose: () => void }) {
  const d = props.device;
  const host = location.hostname;
  const lines =
    d.kind === 'mqtt'
      ? [
          [
            'mosquitto_pub line',
            `mosquitto_pub -h ${host} -t ${(d.mqtt_topic as string) ?? `vigil/${d.id}/readings`} -m '{"value": 3.3, "token": "${props.token}"}'`,
          ],
        ]
      : [
          [
            'curl line',
            `curl -X POST ${location.origin}/devices/${d.id}/readings -H 'Authorization: Bearer ${props.token}' -H 'content-type: application/json' -d '{"readings":[{"value":3.3}]}'`,
          ],
        ];
  return (
    <div class="card" role="region" aria-label="Device token" data-testid="token">
      <h2>Token for {d.name}</h2>
      <p>Store it on the device now: it is shown only once (only its hash is kept).</p>
      <div class="row wrap">
        <code class="token grow">{props.token}</code>
        <Copy text={props.token} label="Copy the token" />
      </div>
      {lines.map(([label, line]) => (
        <div key={label}>
          <h3>{label === 'curl line' ? 'Send a reading with curl' : 'Send a reading with mosquitto_pub'}</h3>
          <div class="row wrap">
            <code class="token grow">{line}</code>
            <Copy text={line!} label={`Copy the ${label}`} />
          </div>
        </div>
      ))}
      <button type="button" onClick={props.onClose}>
        I stored it
      </button>
    </div>
  );
}

export function DevicesPage() {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [ports, setPorts] = useState<SerialPortInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [kind, setKind] = useState<Device['kind']>('simulator');
  const [created, setCreated] = useState<{ device: Device; token: string } | null>(null);

  const load = useCallback(async () => {
    try {
      setDevices(await api<Device[]>('/devices'));
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [load]);
  useEffect(() => {
    if (kind === 'serial' && ports === null)
      api<SerialPortInfo[]>('/devices/serial-ports').then(setPorts, () => setPorts([]));
  }, [kind, ports]);

  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    const config: Record<string, unknown> = {};
    if (kind === 'simulator') {
      for (const k of ['rate_hz', 'level', 'noise']) if (f.get(k)) config[k] = Number(f.get(k));
    }
    if (kind === 'serial') {
      config.path = f.get('path');
      if (f.get('baud_rate')) config.baud_rate = Number(f.get('baud_rate'));
    }
    setError(null);
    try {
      const d = await api<Device>('/devices', {
        body: { name: f.get('name'), kind, config, is_default: f.get('is_default') === 'on' },
      });
      if (d.token) setCreated({ device: d, token: d.token });
      form.reset();
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section aria-labelledby="dev-h">
      <h1 id="dev-h">Devices</h1>
      {error && <ErrorNote text={error} retry={() => void load()} />}
      {created && <TokenBox device={created.device} token={created.token} onClose={() => setCreated(null)} />}
      {devices === null && !error && <Loading what="devices" />}
      {devices && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Your devices and the server's shared ones</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Connection</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => (
                <tr key={d.id}>
                  <td>
                    {d.name}
                    {d.is_default && <span class="badge"> default</span>}
                    {d.shared && <span class="badge"> shared</span>}
                  </td>
                  <td>{d.kind}</td>
                  <td>
                    {d.status?.connected ? (
                      <span class="badge live">connected</span>
                    ) : (
                      <span class="badge">{d.status ? 'disconnected' : 'idle'}</span>
                    )}
                    {d.status?.error && <span class="muted small"> {String(d.status.error)}</span>}
                  </td>
                  <td>
                    <div class="row">
                      {!d.shared && (
                        <>
                          {!d.is_default && (
                            <button
                              type="button"
                              aria-label={`Make ${d.name} the default`}
                              onClick={() =>
                                void act(() =>
                                  api(`/devices/${d.id}`, { method: 'PATCH', body: { is_default: true } }),
                                )
                              }
                            >
                              Make default
                            </button>
                          )}
                          {(d.kind === 'mqtt' || d.kind === 'http') && (
                            <button
                              type="button"
                              aria-label={`New token for ${d.name}`}
                              onClick={() =>
                                void act(async () => {
                                  const r = await api<Device>(`/devices/${d.id}`, {
                                    method: 'PATCH',
                                    body: { rotate_token: true },
                                  });
                                  if (r.token) setCreated({ device: r, token: r.token });
                                })
                              }
                            >
                              New token
                            </button>
                          )}
                          <button
                            type="button"
                            class="danger"
                            aria-label={`Delete ${d.name}`}
                            onClick={() =>
                              confirm(`Delete ${d.name}? Its live sessions stop.`) &&
                              void act(() => api(`/devices/${d.id}`, { method: 'DELETE' }))
                            }
                          >
                            Delete
                          </button>
                        </>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="card stack" onSubmit={(e) => void create(e)} aria-label="Add a device">
        <h2>Add a device</h2>
        <div class="row wrap">
          <label class="grow">
            Name
            <input name="name" required maxLength={100} />
          </label>
          <label>
            Kind
            <select value={kind} onChange={(e) => setKind(e.currentTarget.value as Device['kind'])}>
              <option value="simulator">Simulator</option>
              <option value="serial">Serial (Arduino on USB)</option>
              <option value="mqtt">MQTT</option>
              <option value="http">HTTP</option>
            </select>
          </label>
        </div>
        {kind === 'simulator' && (
          <div class="row wrap">
            <label>
              Readings per second
              <input name="rate_hz" type="number" min={0.1} max={1000} step="any" placeholder="10" />
            </label>
            <label>
              Level (V)
              <input name="level" type="number" step="any" placeholder="3.3" />
            </label>
            <label>
              Noise (V)
              <input name="noise" type="number" min={0} step="any" placeholder="0.02" />
            </label>
          </div>
        )}
        {kind === 'serial' && (
          <div class="row wrap">
            <label class="grow">
              Port
              <input
                name="path"
                required
                list="serial-ports"
                placeholder="/dev/ttyACM0"
                pattern="^(/dev/tty[A-Za-z0-9._\-]+|/dev/serial/by-id/[A-Za-z0-9._:\-]+|/dev/pts/[0-9]+|COM[0-9]{1,3})$"
              />
              <datalist id="serial-ports">
                {ports?.map((p) => (
                  <option key={p.path} value={p.path}>
                    {p.manufacturer ?? ''}
                  </option>
                ))}
              </datalist>
            </label>
            <label>
              Baud rate
              <input name="baud_rate" type="number" min={300} placeholder="9600" />
            </label>
            <p class="muted small">
              {ports === null
                ? 'Looking for serial ports…'
                : ports.length === 0
                  ? 'The server sees no serial port.'
                  : `The server sees: ${ports.map((p) => p.path).join(', ')}`}
            </p>
          </div>
        )}
        {(kind === 'mqtt' || kind === 'http') && (
          <p class="muted small">
            You get a token once the device is created; the device sends it with each reading.
          </p>
        )}
        <label class="check">
          <input type="checkbox" name="is_default" /> Use as my default device
        </label>
        <div>
          <button type="submit" class="primary">
            Add device
          </button>
        </div>
      </form>
    </section>
  );
}
