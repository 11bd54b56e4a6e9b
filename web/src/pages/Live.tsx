import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { api, errorText } from '../api.ts';
import { Chart, css } from '../components/Chart.tsx';
import { Analysis, ErrorNote, Loading, fmtTime, pct } from '../components/ui.tsx';
import { BASE, Link } from '../router.tsx';
import { getSocket, request, useSocketEvent } from '../socket.ts';
import type { ArduinoData, Device, FinalAnalysis, LiveSession, MlStatus, ModelCard } from '../types.ts';

const MAX_POINTS = 1200;
export const ANOMALY_KINDS = ['spike', 'dip', 'level_shift', 'drift', 'noise', 'stuck', 'dropout'] as const;

interface Alarm {
  key: string;
  t: number;
  signal: string;
  score: number;
  voltage?: number;
  state?: string;
  end?: number;
  id?: number;
  severity?: string;
  count?: number;
}

interface Panel {
  id: number;
  deviceId: number;
  modelName: string;
  threshold: number;
  t: number[];
  v: number[];
  lo: (number | null)[];
  hi: (number | null)[];
  ex: (number | null)[];
  an: (number | null)[];
  s: number[];
  sig: (string | null)[];
  total: number;
  anomalies: number;
  ml: MlStatus | null;
  final: FinalAnalysis | null;
  reason: string | null;
  alarms: Alarm[];
  /** Readings on the chart that carry the model's normal band. */
  bandPoints: number;
  serverAlarms: boolean;
  version: number;
}

function newPanel(s: {
  session_id: number;
  device_id: number;
  model_name: string;
  threshold: number;
}): Panel {
  return {
    id: s.session_id,
    deviceId: s.device_id,
    modelName: s.model_name,
    threshold: s.threshold,
    t: [],
    v: [],
    lo: [],
    hi: [],
    ex: [],
    an: [],
    s: [],
    sig: [],
    total: 0,
    anomalies: 0,
    ml: null,
    final: null,
    reason: null,
    alarms: [],
    bandPoints: 0,
    serverAlarms: false,
    version: 0,
  };
}

const fmtV = (_u: uPlot, v: number | null) => (v == null ? '–' : v.toFixed(3));

/** Series 1 and 2 (upper, lower) bound the normal band. uPlot reads bands only when the chart is built, which
 * happens before the first band arrives (warm-up has none), so the band is always configured. */
const BANDS: uPlot.Band[] = [{ series: [1, 2] }];

const signalName = (s: string | null | undefined) => (s ? s.replace(/_/g, ' ') : 'anomaly');

export function LivePage(props: { guest: boolean }) {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [models, setModels] = useState<ModelCard[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [deviceId, setDeviceId] = useState<number | ''>('');
  const [modelId, setModelId] = useState<number | ''>('');
  const [threshold, setThreshold] = useState(0.5);
  const [starting, setStarting] = useState(false);
  const panels = useRef(new Map<number, Panel>());
  const [, setTick] = useState(0);
  const pending = useRef(false);

  const rerender = useCallback(() => {
    if (pending.current) return;
    pending.current = true;
    setTimeout(() => {
      pending.current = false;
      setTick((x) => x + 1);
    }, 150);
  }, []);

  const load = useCallback(async () => {
    try {
      if (props.guest) {
        setModels(await api<ModelCard[]>('/api/guest/models', { auth: false }));
        setDevices([]);
        return;
      }
      const [initialDevices, ms, status] = await Promise.all([
        api<Device[]>('/devices'),
        api<ModelCard[]>('/models/user'),
        api<{ sessions: LiveSession[] }>('/detection/status'),
      ]);
      let devs = initialDevices;
      if (!devs.some((d) => !d.shared)) {
        // A new account has no device yet: arduino_connect creates the user's own simulator.
        await request('arduino_connect', { timestamp: Date.now() / 1000 }, ['arduino_status']);
        getSocket().emit('arduino_disconnect', {});
        devs = await api<Device[]>('/devices');
      }
      setDevices(devs);
      setModels(ms);
      setDeviceId(
        (d) =>
          d ||
          (devs.find((x) => x.is_default && !x.shared) ?? devs.find((x) => !x.shared) ?? devs[0])?.id ||
          '',
      );
      for (const s of status.sessions) {
        if (!panels.current.has(s.session_id)) {
          const p = newPanel(s);
          p.total = s.total_predictions;
          p.anomalies = s.anomaly_count;
          p.ml = s.ml_status;
          panels.current.set(s.session_id, p);
        }
      }
      rerender();
    } catch (e) {
      setError(errorText(e));
    }
  }, [props.guest, rerender]);

  useEffect(() => {
    void load();
  }, [load]);

  useSocketEvent<{ current_model_id?: number | null; server_info?: { current_model_id?: number | null } }>(
    'connection_confirmed',
    useCallback((p) => {
      const id = p.server_info?.current_model_id;
      if (id) setModelId((m) => m || id);
    }, []),
  );

  useEffect(() => {
    getSocket().emit('get_status', { timestamp: Date.now() / 1000 });
  }, []);
  useSocketEvent<{ current_model_id: number | null }>(
    'status_update',
    useCallback((p) => {
      if (p.current_model_id) setModelId((m) => m || p.current_model_id!);
    }, []),
  );

  useSocketEvent<{ session_id: number; device_id: number; model_name: string; threshold: number }>(
    'detection_started',
    useCallback(
      (p) => {
        if (!panels.current.has(p.session_id)) panels.current.set(p.session_id, newPanel(p));
        rerender();
      },
      [rerender],
    ),
  );

  useSocketEvent<ArduinoData>(
    'arduino_data',
    useCallback(
      (d) => {
        const p = panels.current.get(d.session_id);
        if (!p || p.final) return;
        const pr = d.prediction;
        p.t.push(d.timestamp);
        p.v.push(d.voltage);
        p.s.push(pr.anomaly_score);
        p.an.push(pr.is_anomaly ? d.voltage : null);
        p.sig.push(pr.is_anomaly ? (pr.signal ?? null) : null);
        const band = typeof pr.lower === 'number' && typeof pr.upper === 'number';
        if (band) p.bandPoints += 1;
        p.lo.push(band ? pr.lower! : null);
        p.hi.push(band ? pr.upper! : null);
        p.ex.push(typeof pr.expected === 'number' ? pr.expected : null);
        if (p.t.length > MAX_POINTS) {
          if (p.hi[0] != null) p.bandPoints -= 1;
          for (const a of [p.t, p.v, p.s, p.an, p.sig, p.lo, p.hi, p.ex]) a.shift();
        }
        p.total += 1;
        if (pr.is_anomaly) {
          p.anomalies += 1;
          // Until the server groups anomalies into alarms, consecutive anomalous readings of one kind are one alarm.
          if (!p.serverAlarms) {
            const signal = pr.signal ?? 'anomaly';
            const last = p.alarms[0];
            if (last && last.signal === signal && d.timestamp - (last.end ?? last.t) < 2) {
              last.end = d.timestamp;
              last.score = Math.max(last.score, pr.anomaly_score);
            } else {
              p.alarms.unshift({
                key: `r-${d.timestamp}`,
                t: d.timestamp,
                end: d.timestamp,
                signal,
                score: pr.anomaly_score,
                voltage: d.voltage,
              });
              if (p.alarms.length > 50) p.alarms.length = 50;
            }
          }
        }
        p.ml = d.ml_status;
        p.version += 1;
        rerender();
      },
      [rerender],
    ),
  );

  const addAlarm = useCallback(
    (sessionId: number, a: Alarm) => {
      const p = panels.current.get(sessionId);
      if (!p) return;
      const existing = p.alarms.find((x) => x.key === a.key);
      if (existing) Object.assign(existing, a);
      else p.alarms.unshift(a);
      if (p.alarms.length > 50) p.alarms.length = 50;
      rerender();
    },
    [rerender],
  );

  // Alarms (when the server has them): one record per event with its kind, opened then resolved.
  const onAlarm = useCallback(
    (a: Record<string, unknown>) => {
      const sid = Number(a.session_id);
      const panel = panels.current.get(sid);
      if (panel && !panel.serverAlarms) {
        panel.serverAlarms = true;
        panel.alarms = [];
      }
      const alarm = (a.alarm ?? a) as Record<string, unknown>;
      const secs = (v: unknown) =>
        typeof v === 'number' ? (v > 1e11 ? v / 1000 : v) : Date.parse(String(v)) / 1000;
      addAlarm(sid, {
        key: `alarm-${String(alarm.id)}`,
        id: Number(alarm.id),
        t: secs(alarm.opened_at ?? alarm.started_at ?? alarm.timestamp),
        ...(alarm.last_seen_at != null && { end: secs(alarm.last_seen_at) }),
        signal: String(alarm.signal ?? alarm.kind ?? 'anomaly'),
        score: Number(alarm.peak_score ?? alarm.anomaly_score ?? 0),
        ...(typeof alarm.peak_value === 'number' && { voltage: alarm.peak_value }),
        ...(typeof alarm.severity === 'string' && { severity: alarm.severity }),
        ...(typeof alarm.anomaly_count === 'number' && { count: alarm.anomaly_count }),
        state: String(alarm.state ?? 'open'),
      });
    },
    [addAlarm],
  );
  useSocketEvent('alarm_opened', onAlarm);
  useSocketEvent('alarm_updated', onAlarm);
  useSocketEvent('alarm_resolved', onAlarm);

  const onStopped = useCallback(
    (e: { session_id: number; final_analysis: FinalAnalysis; reason?: string }) => {
      const p = panels.current.get(e.session_id);
      if (!p) return;
      p.final = e.final_analysis;
      p.reason = e.reason ?? 'stopped';
      rerender();
    },
    [rerender],
  );
  useSocketEvent('detection_stopped', onStopped);
  useSocketEvent('detection_auto_stopped', onStopped);

  const start = async (e: Event) => {
    e.preventDefault();
    setStarting(true);
    setError(null);
    try {
      if (props.guest) {
        const c = await request<{ connected: boolean; error?: string; device_id?: number }>(
          'arduino_connect',
          { timestamp: Date.now() / 1000 },
          ['arduino_status'],
        );
        if (!c.payload.connected && c.payload.error) throw new Error(c.payload.error);
      }
      const payload: Record<string, unknown> = { threshold, timestamp: Date.now() / 1000 };
      if (deviceId) payload.device_id = deviceId;
      if (modelId) payload.model_id = modelId;
      const r = await request<{ running: boolean; error?: string; session_id?: number }>(
        'start_detection',
        payload,
        ['detection_started', 'detection_status'],
      );
      if (!r.payload.running) throw new Error(r.payload.error ?? 'The session did not start.');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setStarting(false);
    }
  };

  const list = [...panels.current.values()].sort((a, b) => b.id - a.id);

  return (
    <section aria-labelledby="live-h">
      <h1 id="live-h">Live detection</h1>
      {error && <ErrorNote text={error} />}
      {devices === null || models === null ? (
        <Loading what="devices and models" />
      ) : (
        <form class="card row wrap" onSubmit={(e) => void start(e)} aria-label="Start a session">
          {!props.guest && (
            <label>
              Device
              <select value={deviceId} onChange={(e) => setDeviceId(Number(e.currentTarget.value))} required>
                {devices.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name} ({d.kind}
                    {d.shared ? ', shared' : ''})
                  </option>
                ))}
              </select>
            </label>
          )}
          <label>
            Model
            <select value={modelId} onChange={(e) => setModelId(Number(e.currentTarget.value) || '')}>
              <option value="">{props.guest ? 'Default preset' : 'My selected model'}</option>
              {models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                  {m.is_preset ? ' (preset)' : ''}
                </option>
              ))}
            </select>
          </label>
          <label>
            Threshold {threshold.toFixed(2)}
            <input
              type="range"
              min={0}
              max={1}
              step={0.01}
              value={threshold}
              onInput={(e) => setThreshold(Number(e.currentTarget.value))}
            />
          </label>
          <button type="submit" class="primary" disabled={starting}>
            {starting ? 'Starting…' : 'Start session'}
          </button>
          {props.guest && (
            <p class="muted small">
              As a guest you watch the shared demo simulator with a preset model. Sessions are not saved.
            </p>
          )}
        </form>
      )}
      {list.length === 0 && devices !== null && (
        <p class="empty">
          No session is running. Pick a device and a model, then start one: points appear within a second.
        </p>
      )}
      <div class="panels">
        {list.map((p) => (
          <SessionPanel
            key={p.id}
            panel={p}
            guest={props.guest}
            device={devices?.find((d) => d.id === p.deviceId)}
            onClose={() => {
              panels.current.delete(p.id);
              rerender();
            }}
          />
        ))}
      </div>
    </section>
  );
}

function SessionPanel(props: {
  panel: Panel;
  guest: boolean;
  device: Device | undefined;
  onClose: () => void;
}) {
  const p = props.panel;
  const [threshold, setThreshold] = useState(p.threshold);
  const [note, setNote] = useState<string | null>(null);
  const [kind, setKind] = useState<string>('spike');
  const [busy, setBusy] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const series = useMemo<uPlot.Series[]>(() => {
    const alarm = css('--alarm', '#c62828');
    const band = css('--band', 'rgba(11,122,117,.45)');
    // The band's edges come first so its fill lies under the readings.
    return [
      { label: 'Upper', scale: 'V', stroke: band, width: 1, value: fmtV },
      { label: 'Lower', scale: 'V', stroke: band, width: 1, value: fmtV },
      {
        label: 'Expected',
        scale: 'V',
        stroke: css('--expected', 'rgba(11,122,117,.8)'),
        width: 1,
        dash: [5, 3],
        value: fmtV,
      },
      {
        label: 'Voltage (V)',
        scale: 'V',
        stroke: css('--accent', '#0b7a75'),
        width: 1.5,
        value: fmtV,
      },
      {
        label: 'Anomaly',
        scale: 'V',
        stroke: alarm,
        fill: alarm,
        width: 0,
        paths: () => null,
        points: { show: true, size: 9, fill: alarm, stroke: alarm },
      },
      { label: 'Score', scale: 'score', stroke: css('--score', '#6a4fb3'), width: 1 },
      { label: 'Threshold', scale: 'score', stroke: css('--muted', '#666'), width: 1, dash: [6, 4] },
    ];
  }, []);

  const data: uPlot.AlignedData = [p.t, p.hi, p.lo, p.ex, p.v, p.an, p.s, p.t.map(() => threshold)];

  const tooltip = useCallback(
    (i: number) => {
      const t = p.t[i];
      if (t === undefined) return null;
      const base = `${fmtTime(t * 1000)} · ${p.v[i]?.toFixed(3)} V · score ${p.s[i]?.toFixed(2)}`;
      return p.an[i] != null ? `${signalName(p.sig[i])} — ${base}` : base;
    },
    [p],
  );

  const sendThreshold = (value: number) => {
    setThreshold(value);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      void request<{ message: string }>('update_threshold', { threshold: value, session_id: p.id }, [
        'threshold_updated',
      ]).then(
        (r) => setNote(r.payload.message),
        (e: unknown) => setNote(errorText(e)),
      );
    }, 150);
  };

  const stop = async () => {
    setBusy(true);
    getSocket().emit('stop_detection', { session_id: p.id, timestamp: Date.now() / 1000 });
    setTimeout(() => setBusy(false), 3000);
  };

  const inject = async () => {
    setNote(null);
    try {
      await api(`/devices/${p.deviceId}/anomalies`, { body: { kind } });
      setNote(`Injected a ${signalName(kind)} into ${props.device?.name ?? 'the simulator'}.`);
    } catch (e) {
      setNote(errorText(e));
    }
  };

  const warming = p.ml && p.ml.status === 'warming_up';
  const canInject = !props.guest && props.device?.kind === 'simulator' && !props.device.shared;
  const ranges: [number, number][] = p.alarms.map((a) => [a.t - 0.3, (a.end ?? a.t) + 0.3]);

  return (
    <article class="card panel" aria-label={`Session ${p.id}`} data-testid={`session-${p.id}`}>
      <header class="row between">
        <h2>
          Session #{p.id} <span class="muted">· {p.modelName}</span>
        </h2>
        <span class={`badge ${p.final ? '' : 'live'}`}>{p.final ? 'ended' : 'live'}</span>
      </header>
      <p class="muted small">
        {props.device ? `${props.device.name} (${props.device.kind})` : `device #${p.deviceId}`}
      </p>
      {warming && (
        <div class="warmup">
          <label>
            Warming up: learning this device's level ({p.ml!.current_window}/{p.ml!.window_size})
            <progress max={1} value={p.ml!.window_progress} />
          </label>
        </div>
      )}
      <dl class="counters">
        <div>
          <dt>Readings</dt>
          <dd data-testid="count-total">{p.total}</dd>
        </div>
        <div>
          <dt>Anomalies</dt>
          <dd data-testid="count-anomalies">{p.anomalies}</dd>
        </div>
        <div>
          <dt>Rate</dt>
          <dd>{p.total ? pct((100 * p.anomalies) / p.total) : '–'}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{p.ml?.status.replace('_', ' ') ?? 'waiting'}</dd>
        </div>
      </dl>
      {p.t.length === 0 && !p.final ? (
        <Loading what="the first readings" />
      ) : (
        <Chart
          label={`Live readings, anomaly score and alarms of session ${p.id}`}
          data={data}
          series={series}
          version={p.version}
          scales={{ score: { range: [0, 1] } }}
          axes={[
            {},
            { scale: 'V', label: 'V' },
            { scale: 'score', side: 1, label: 'score', grid: { show: false } },
          ]}
          bands={BANDS}
          tooltip={tooltip}
          ranges={ranges}
          testId="live-chart"
        />
      )}
      {p.bandPoints > 0 && (
        <p class="muted small" data-testid="band-note" data-band-points={p.bandPoints}>
          The shaded band is the range the model expects (Lower to Upper) around its Expected value.
        </p>
      )}
      {!p.final && (
        <div class="row wrap controls">
          <label class="grow">
            Threshold <output>{threshold.toFixed(2)}</output>
            <input
              type="range"
              min={0}
              max={1}
              step={0.01}
              value={threshold}
              onInput={(e) => sendThreshold(Number(e.currentTarget.value))}
              data-testid="threshold"
            />
          </label>
          {canInject && (
            <div class="row">
              <label>
                Anomaly kind
                <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
                  {ANOMALY_KINDS.map((k) => (
                    <option key={k} value={k}>
                      {signalName(k)}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" onClick={() => void inject()}>
                Inject
              </button>
            </div>
          )}
          <button type="button" class="danger" onClick={() => void stop()} disabled={busy}>
            Stop
          </button>
        </div>
      )}
      {note && (
        <p class="muted small" role="status">
          {note}
        </p>
      )}
      <h3>Alarms</h3>
      {p.alarms.length === 0 ? (
        <p class="muted small">No alarm yet.</p>
      ) : (
        <ul class="alarms" data-testid="alarms">
          {p.alarms.map((a) => (
            <li key={a.key} class="row between">
              <span>
                <span class="badge alarm">{signalName(a.signal)}</span> {fmtTime(a.t * 1000)}
                {a.voltage !== undefined && ` · ${a.voltage.toFixed(3)} V`} · score {a.score.toFixed(2)}
                {a.count !== undefined && ` · ${a.count} reading${a.count === 1 ? '' : 's'}`}
                {a.severity && ` · ${a.severity}`}
                {a.state && a.state !== 'open' ? ` · ${a.state}` : ''}
              </span>
              {a.id !== undefined && a.state === 'open' && (
                <button
                  type="button"
                  aria-label={`Acknowledge the ${signalName(a.signal)} alarm`}
                  onClick={() =>
                    void api(`/alarms/${a.id}/ack`, { body: {} }).catch((e: unknown) => setNote(errorText(e)))
                  }
                >
                  Acknowledge
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {p.final && (
        <div class="final" data-testid="final-analysis">
          <h3>Final analysis</h3>
          <Analysis a={p.final} />
          <div class="row">
            {!props.guest && <Link href={`${BASE}/sessions/${p.id}`}>Open in history (share, export)</Link>}
            <button type="button" onClick={props.onClose}>
              Close
            </button>
          </div>
        </div>
      )}
    </article>
  );
}
