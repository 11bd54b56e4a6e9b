import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { api, download, errorText } from '../api.ts';
import { Chart, css } from '../components/Chart.tsx';
import { ErrorNote, Loading, fmtDate, fmtTime } from '../components/ui.tsx';
import type { Device, Recording } from '../types.ts';

export function RecordingsPage() {
  const [recordings, setRecordings] = useState<Recording[] | null>(null);
  const [devices, setDevices] = useState<Device[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<number | null>(null);

  const load = useCallback(async () => {
    try {
      const [rs, ds] = await Promise.all([
        api<Recording[] | { recordings: Recording[] }>('/recordings'),
        api<Device[]>('/devices'),
      ]);
      setRecordings(Array.isArray(rs) ? rs : rs.recordings);
      setDevices(ds);
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => void load(), [load]);

  const recording = recordings?.some((r) => r.status === 'recording');
  useEffect(() => {
    if (!recording) return;
    const t = setInterval(() => void load(), 1000);
    return () => clearInterval(t);
  }, [recording, load]);

  return (
    <section aria-labelledby="rec-h">
      <h1 id="rec-h">Recordings</h1>
      <p class="muted">
        Record normal data from a device (or upload a CSV), mark anomalous stretches, then train a model on
        it.
      </p>
      {error && <ErrorNote text={error} retry={() => void load()} />}
      <div class="grid">
        <RecordForm devices={devices} onDone={(id) => void load().then(() => setSelected(id))} />
        <UploadForm onDone={(id) => void load().then(() => setSelected(id))} />
      </div>
      {recordings === null && !error && <Loading what="recordings" />}
      {recordings?.length === 0 && <p class="empty">No recording yet.</p>}
      {recordings && recordings.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Your recordings</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Readings</th>
                <th scope="col">Labels</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {recordings.map((r) => (
                <tr key={r.id} data-testid={`recording-${r.id}`}>
                  <td>{r.name}</td>
                  <td>
                    {r.status === 'recording' ? <span class="badge live">recording…</span> : r.status}
                    {r.error && <span class="muted"> ({r.error})</span>}
                  </td>
                  <td>{r.sample_count}</td>
                  <td>{r.labels.length}</td>
                  <td>{fmtDate(r.created_at)}</td>
                  <td>
                    <div class="row">
                      <button
                        type="button"
                        onClick={() => setSelected(r.id)}
                        disabled={r.status === 'recording'}
                        aria-label={`Preview and label ${r.name}`}
                      >
                        Open
                      </button>
                      {r.status === 'recording' && (
                        <button
                          type="button"
                          onClick={() =>
                            void api(`/recordings/${r.id}/stop`, { method: 'POST' }).then(
                              load,
                              (e: unknown) => setError(errorText(e)),
                            )
                          }
                        >
                          Stop
                        </button>
                      )}
                      <button
                        type="button"
                        aria-label={`Export ${r.name} as CSV`}
                        onClick={() => void download(`/recordings/${r.id}/export`, `${r.name}.csv`)}
                      >
                        CSV
                      </button>
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Delete ${r.name}`}
                        onClick={() => {
                          if (confirm(`Delete the recording "${r.name}"?`))
                            void api(`/recordings/${r.id}`, { method: 'DELETE' }).then(
                              () => {
                                if (selected === r.id) setSelected(null);
                                return load();
                              },
                              (e: unknown) => setError(errorText(e)),
                            );
                        }}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected && <RecordingDetail key={selected} id={selected} onChange={() => void load()} />}
    </section>
  );
}

function RecordForm(props: { devices: Device[]; onDone: (id: number) => void }) {
  const [deviceId, setDeviceId] = useState<number | ''>('');
  const [duration, setDuration] = useState(30);
  const [name, setName] = useState(`Normal run ${new Date().toLocaleDateString()}`);
  const [state, setState] = useState<{ id: number; until: number } | null>(null);
  const [now, setNow] = useState(Date.now());
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!deviceId && props.devices[0])
      setDeviceId((props.devices.find((d) => !d.shared) ?? props.devices[0]).id);
  }, [props.devices, deviceId]);
  useEffect(() => {
    if (!state) return;
    const t = setInterval(() => {
      setNow(Date.now());
      if (Date.now() < state.until) return;
      void api<Recording>(`/recordings/${state.id}?points=10`).then(
        (r) => {
          if (r.status === 'recording') return;
          setState(null);
          props.onDone(r.id);
        },
        () => undefined,
      );
    }, 500);
    return () => clearInterval(t);
  }, [state, props]);

  const start = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<Recording>('/recordings', { body: { name, device_id: deviceId, duration } });
      setState({ id: r.id, until: Date.now() + duration * 1000 });
      setNow(Date.now());
    } catch (err) {
      setError(errorText(err));
    }
  };
  const left = state ? Math.max(0, Math.ceil((state.until - now) / 1000)) : 0;
  return (
    <form class="card stack" onSubmit={(e) => void start(e)} aria-label="Record from a device">
      <h2>Record from a device</h2>
      <label>
        Name
        <input value={name} onInput={(e) => setName(e.currentTarget.value)} required maxLength={100} />
      </label>
      <label>
        Device
        <select value={deviceId} onChange={(e) => setDeviceId(Number(e.currentTarget.value))} required>
          {props.devices.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name} ({d.kind})
            </option>
          ))}
        </select>
      </label>
      <label>
        Duration (seconds)
        <input
          type="number"
          min={1}
          max={86400}
          value={duration}
          onInput={(e) => setDuration(Number(e.currentTarget.value))}
          required
        />
      </label>
      <button type="submit" class="primary" disabled={state !== null || !deviceId}>
        {state ? `Recording… ${left} s left` : 'Record'}
      </button>
      {state && (
        <label class="progress">
          Recording progress
          <progress max={duration} value={duration - left} />
        </label>
      )}
      {error && <ErrorNote text={error} />}
    </form>
  );
}

function UploadForm(props: { onDone: (id: number) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    setBusy(true);
    setError(null);
    try {
      const r = await api<Recording>('/recordings/upload', { form: data });
      form.reset();
      props.onDone(r.id);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card stack" onSubmit={(e) => void submit(e)} aria-label="Upload a CSV">
      <h2>Upload a CSV</h2>
      <p class="muted small">
        Columns <code>timestamp,value</code> and optionally <code>label</code> (1 = anomalous).
      </p>
      <label>
        Name (optional)
        <input name="name" maxLength={100} />
      </label>
      <label>
        CSV file
        <input name="file" type="file" accept=".csv,text/csv" required />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Uploading…' : 'Upload'}
      </button>
      {error && <ErrorNote text={error} />}
    </form>
  );
}

function RecordingDetail(props: { id: number; onChange: () => void }) {
  const [rec, setRec] = useState<Recording | null>(null);
  const [labels, setLabels] = useState<{ start: number; end: number }[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const headRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    api<Recording>(`/recordings/${props.id}?points=1000`).then(
      (r) => {
        setRec(r);
        setLabels(r.labels.map((l) => ({ start: Date.parse(l.start), end: Date.parse(l.end) })));
        headRef.current?.focus();
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, [props.id]);
  const series = useMemo<uPlot.Series[]>(
    () => [{ label: 'Value', scale: 'V', stroke: css('--accent', '#0b7a75'), width: 1.2 }],
    [],
  );
  const onSelect = useCallback(
    (a: number, b: number) =>
      setLabels((ls) => [...ls, { start: Math.round(a * 1000), end: Math.round(b * 1000) }]),
    [],
  );
  const save = async () => {
    try {
      await api(`/recordings/${props.id}/labels`, {
        method: 'PUT',
        body: {
          labels: labels.map((l) => ({
            start: new Date(l.start).toISOString(),
            end: new Date(l.end).toISOString(),
          })),
        },
      });
      setNote(`Saved ${labels.length} label(s).`);
      props.onChange();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const pts = rec?.series ?? [];
  const t0 = pts[0]?.[0] ?? 0;
  const span = pts.length ? (pts[pts.length - 1]![0] - t0) / 1000 : 0;
  return (
    <div class="card" aria-labelledby="recd-h">
      <h2 id="recd-h" tabIndex={-1} ref={headRef}>
        {rec ? rec.name : `Recording #${props.id}`}
      </h2>
      {error && <ErrorNote text={error} />}
      {!rec && !error && <Loading what="the recording" />}
      {rec && (
        <>
          <p class="muted small">
            {rec.sample_count} readings
            {rec.stats &&
              ` · ${rec.stats.sample_rate_hz.toFixed(1)} Hz · mean ${rec.stats.mean.toFixed(3)} ± ${rec.stats.std.toFixed(3)}`}
          </p>
          {pts.length > 0 ? (
            <Chart
              label={`Values of recording ${rec.name}; drag across the chart to mark an anomalous segment`}
              data={[pts.map((p) => p[0] / 1000), pts.map((p) => p[1])]}
              series={series}
              axes={[{}, { scale: 'V' }]}
              ranges={labels.map((l) => [l.start / 1000, l.end / 1000])}
              onSelectRange={onSelect}
              testId="recording-chart"
            />
          ) : (
            <p class="empty">No readings.</p>
          )}
          <p class="muted small">
            Drag across the chart to mark an anomalous segment (or enter its start and end below), then save.
          </p>
          {pts.length > 0 && (
            <SegmentForm
              span={span}
              onAdd={(from, to) =>
                setLabels((ls) => [
                  ...ls,
                  { start: Math.round(t0 + from * 1000), end: Math.round(t0 + to * 1000) },
                ])
              }
            />
          )}
          <h3>Anomalous segments</h3>
          {labels.length === 0 ? (
            <p class="muted small">None: the whole recording counts as normal.</p>
          ) : (
            <ul class="alarms">
              {labels.map((l, i) => (
                <li key={i} class="row between">
                  <span>
                    {fmtTime(l.start)} – {fmtTime(l.end)}{' '}
                    <span class="muted">
                      ({secs((l.start - t0) / 1000)} – {secs((l.end - t0) / 1000)} s)
                    </span>
                  </span>
                  <button
                    type="button"
                    aria-label={`Remove segment ${i + 1}`}
                    onClick={() => setLabels((ls) => ls.filter((_, j) => j !== i))}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
          <div class="row">
            <button type="button" class="primary" onClick={() => void save()}>
              Save labels
            </button>
          </div>
          {note && <p role="status">{note}</p>}
        </>
      )}
    </div>
  );
}

const secs = (x: number) => (Math.round(x * 10) / 10).toString();

/** The keyboard way to mark a segment: seconds from the recording's first reading. */
function SegmentForm(props: { span: number; onAdd: (from: number, to: number) => void }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [error, setError] = useState<string | null>(null);
  const max = Math.ceil(props.span * 10) / 10;
  const submit = (e: Event) => {
    e.preventDefault();
    const a = Number(from);
    const b = Number(to);
    if (from === '' || to === '' || !Number.isFinite(a) || !Number.isFinite(b))
      return setError('Enter both the start and the end in seconds.');
    if (a < 0 || b > max || a >= b)
      return setError(`The start must come before the end, both between 0 and ${secs(max)} s.`);
    setError(null);
    props.onAdd(a, b);
    setFrom('');
    setTo('');
  };
  return (
    <form class="row wrap" onSubmit={submit} aria-label="Add an anomalous segment">
      <label>
        Segment start (s from the first reading)
        <input
          type="number"
          min={0}
          max={max}
          step={0.1}
          value={from}
          onInput={(e) => setFrom(e.currentTarget.value)}
          required
        />
      </label>
      <label>
        Segment end (s)
        <input
          type="number"
          min={0}
          max={max}
          step={0.1}
          value={to}
          onInput={(e) => setTo(e.currentTarget.value)}
          required
        />
      </label>
      <button type="submit">Add segment</button>
      {error && <ErrorNote text={error} />}
    </form>
  );
}
