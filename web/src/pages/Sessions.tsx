import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { api, download, errorText } from '../api.ts';
import { Chart, css } from '../components/Chart.tsx';
import { Analysis, ErrorNote, Loading, fmtDate, fmtTime, pct } from '../components/ui.tsx';
import { BASE, Link } from '../router.tsx';
import type { SessionSummary } from '../types.ts';

interface LogRow {
  timestamp: string;
  value: number;
  anomaly_score: number;
  is_anomaly: boolean;
  explanation?: unknown;
}

export function SessionsPage(props: { sessionId?: number }) {
  return props.sessionId ? <SessionDetail id={props.sessionId} /> : <SessionList />;
}

function SessionList() {
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async (after?: string) => {
    setError(null);
    try {
      const r = await api<{ sessions: SessionSummary[]; next_cursor: string | null }>(
        `/detection/sessions?limit=20${after ? `&cursor=${encodeURIComponent(after)}` : ''}`,
      );
      setSessions((s) => (after && s ? [...s, ...r.sessions] : r.sessions));
      setCursor(r.next_cursor);
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => void load(), [load]);

  return (
    <section aria-labelledby="sessions-h">
      <h1 id="sessions-h">Sessions</h1>
      {error && <ErrorNote text={error} retry={() => void load()} />}
      {sessions === null && !error && <Loading what="your sessions" />}
      {sessions?.length === 0 && (
        <p class="empty">
          No session yet. <Link href={`${BASE}/live`}>Start one on the live view</Link>.
        </p>
      )}
      {sessions && sessions.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Your detection sessions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Started</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col">Readings</th>
                <th scope="col">Anomalies</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link href={`${BASE}/sessions/${s.id}`}>#{s.id}</Link>
                  </td>
                  <td>{fmtDate(s.started_at)}</td>
                  <td>{s.model_name ?? '–'}</td>
                  <td>{s.status.replace('_', ' ')}</td>
                  <td>{s.total_predictions}</td>
                  <td>
                    {s.anomaly_count} ({pct(s.anomaly_percentage)})
                  </td>
                  <td>
                    {s.final_analysis ? (
                      s.final_analysis.is_anomalous ? (
                        <span class="badge alarm">anomalous</span>
                      ) : (
                        <span class="badge ok">normal</span>
                      )
                    ) : (
                      '–'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}

interface SessionAlarm {
  id: number;
  signal: string;
  severity: string;
  state: string;
  opened_at: string;
  peak_score: number;
  peak_value: number;
  anomaly_count: number;
}

/** One bucket of the server's downsampled series (`GET /detection/sessions/:id/series`). */
interface SeriesPoint {
  t: number;
  count: number;
  min: number;
  max: number;
  mean: number;
  anomaly_count: number;
  max_score: number;
}

interface SessionSeries {
  source: 'raw' | 'rollup_1m' | 'rollup_1h';
  bucket_ms: number;
  points: SeriesPoint[];
}

/** The chart's data: at most 1,000 min/max buckets, however long the session (raw logs or rollups, the server decides). */
const loadSeries = (id: number) => api<SessionSeries>(`/detection/sessions/${id}/series?points=1000`);

const SOURCE_TEXT: Record<SessionSeries['source'], string> = {
  raw: 'from the logged readings',
  rollup_1m: 'from the per-minute rollups',
  rollup_1h: 'from the per-hour rollups',
};

function SessionDetail(props: { id: number }) {
  const [session, setSession] = useState<SessionSummary | null>(null);
  const [series, setSeries] = useState<SessionSeries | null>(null);
  const [anomalies, setAnomalies] = useState<LogRow[] | null>(null);
  const [alarms, setAlarms] = useState<SessionAlarm[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shareText, setShareText] = useState('');
  const [shared, setShared] = useState<string | null>(null);

  useEffect(() => {
    setError(null);
    api<SessionSummary>(`/detection/sessions/${props.id}`).then(
      (s) => {
        setSession(s);
        setShareText(
          `Session #${s.id} with ${s.model_name ?? 'a model'}: ${s.final_analysis?.summary ?? ''}`.trim(),
        );
      },
      (e: unknown) => setError(errorText(e)),
    );
    loadSeries(props.id).then(setSeries, (e: unknown) => setError(errorText(e)));
    // Alarms, when the server has them (older servers answer route-not-found: the section is hidden).
    api<{ alarms: SessionAlarm[] }>(`/alarms?session_id=${props.id}&limit=100`).then(
      (r) => setAlarms(r.alarms),
      () => setAlarms(null),
    );
    api<{ logs: LogRow[] }>(`/detection/sessions/${props.id}/logs?anomalies_only=true&limit=200`).then(
      (r) => setAnomalies(r.logs),
      () => setAnomalies([]),
    );
  }, [props.id]);

  const chartSeries = useMemo<uPlot.Series[]>(() => {
    const alarm = css('--alarm', '#c62828');
    const accent = css('--accent', '#0b7a75');
    return [
      { label: 'Voltage (V, mean)', scale: 'V', stroke: accent, width: 1.2 },
      { label: 'Min', scale: 'V', stroke: accent, width: 0.5, alpha: 0.4 },
      { label: 'Max', scale: 'V', stroke: accent, width: 0.5, alpha: 0.4 },
      {
        label: 'Anomaly',
        scale: 'V',
        stroke: alarm,
        width: 0,
        paths: () => null,
        points: { show: true, size: 8, fill: alarm, stroke: alarm },
      },
      { label: 'Score', scale: 'score', stroke: css('--score', '#6a4fb3'), width: 1 },
    ];
  }, []);

  const share = async (e: Event) => {
    e.preventDefault();
    try {
      const post = await api<{ id: number }>('/posts', {
        body: { content: shareText, session_id: props.id },
      });
      setShared(`Shared to the feed as post #${post.id}.`);
    } catch (err) {
      setShared(errorText(err));
    }
  };

  const pts = series?.points ?? [];
  const data: uPlot.AlignedData = [
    pts.map((p) => p.t / 1000),
    pts.map((p) => p.mean),
    pts.map((p) => p.min),
    pts.map((p) => p.max),
    pts.map((p) => (p.anomaly_count > 0 ? p.max : null)),
    pts.map((p) => p.max_score),
  ];

  return (
    <section aria-labelledby="session-h">
      <p>
        <Link href={`${BASE}/sessions`}>← All sessions</Link>
      </p>
      <h1 id="session-h">Session #{props.id}</h1>
      {error && <ErrorNote text={error} />}
      {!session && !error && <Loading what="the session" />}
      {session && (
        <>
          <p class="muted">
            {session.model_name} · started {fmtDate(session.started_at)}
            {session.duration_s != null && ` · ${Math.round(session.duration_s)} s`} ·{' '}
            {session.status.replace('_', ' ')} · threshold {session.threshold.toFixed(2)}
          </p>
          {session.final_analysis && <Analysis a={session.final_analysis} />}
        </>
      )}
      <div class="card">
        <h2>Readings</h2>
        {!series && !error && <Loading what="the readings" />}
        {series && pts.length === 0 && (
          <p class="empty">This session logged no readings (guest sessions are not logged).</p>
        )}
        {series && pts.length > 0 && (
          <>
            <Chart
              label={`Readings and anomaly score of session ${props.id}`}
              data={data}
              series={chartSeries}
              scales={{ score: { range: [0, 1] } }}
              bands={[{ series: [3, 2], fill: css('--band-fill', 'rgba(11,122,117,.12)') }]}
              axes={[
                {},
                { scale: 'V', label: 'V' },
                { scale: 'score', side: 1, label: 'score', grid: { show: false } },
              ]}
              testId="session-chart"
            />
            <p class="muted small">
              {`${pts.reduce((n, p) => n + p.count, 0)} readings in ${pts.length} points, min/max per point, ${SOURCE_TEXT[series.source]}.`}
            </p>
          </>
        )}
        <div class="row">
          <button
            type="button"
            onClick={() =>
              void download(`/detection/sessions/${props.id}/logs.csv`, `session-${props.id}.csv`).catch(
                (e: unknown) => setError(errorText(e)),
              )
            }
          >
            Export CSV
          </button>
        </div>
      </div>
      {alarms && (
        <div class="card">
          <h2>Alarms</h2>
          {alarms.length === 0 ? (
            <p class="muted">No alarm.</p>
          ) : (
            <ul class="alarms" data-testid="session-alarms">
              {alarms.map((a) => (
                <li key={a.id}>
                  <span class="badge alarm">{a.signal.replace(/_/g, ' ')}</span>{' '}
                  {fmtTime(Date.parse(a.opened_at))} · {a.severity} · peak {a.peak_value.toFixed(3)} V, score{' '}
                  {a.peak_score.toFixed(2)} · {a.anomaly_count} reading(s) · {a.state}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div class="card">
        <h2>Anomalies</h2>
        {anomalies === null && <Loading what="anomalies" />}
        {anomalies?.length === 0 && <p class="muted">No anomalous reading.</p>}
        {anomalies && anomalies.length > 0 && (
          <ul class="alarms">
            {anomalies.map((a, i) => {
              const sig = (a.explanation as { signal?: string } | null)?.signal;
              return (
                <li key={i}>
                  <span class="badge alarm">{sig ? sig.replace(/_/g, ' ') : 'anomaly'}</span>{' '}
                  {fmtTime(Date.parse(a.timestamp))} · {a.value.toFixed(3)} V · score{' '}
                  {a.anomaly_score.toFixed(2)}
                </li>
              );
            })}
          </ul>
        )}
      </div>
      {session && session.status !== 'running' && (
        <form class="card stack" onSubmit={(e) => void share(e)} aria-label="Share to the feed">
          <h2>Share to the feed</h2>
          <label>
            Message
            <textarea
              value={shareText}
              onInput={(e) => setShareText(e.currentTarget.value)}
              required
              maxLength={2000}
              rows={3}
            />
          </label>
          <button type="submit" class="primary">
            Share
          </button>
          {shared && <p role="status">{shared}</p>}
        </form>
      )}
    </section>
  );
}
