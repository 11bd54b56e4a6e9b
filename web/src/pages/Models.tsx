import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, download, errorText } from '../api.ts';
import { ErrorNote, Loading, fmtDate } from '../components/ui.tsx';
import { getSocket, useSocketEvent } from '../socket.ts';
import type { BacktestMetrics, ModelCard, Recording, TrainingJob } from '../types.ts';
// The server's own list (a constants-only module), so the form offers exactly the kinds it trains.
import { DEFAULT_DETECTOR_KIND, TRAINABLE_DETECTOR_KINDS } from '../../../src/detectors/types.ts';

interface ModelDetail extends ModelCard {
  kind: string;
  threshold: number;
  visibility: string;
  metrics: { training?: Record<string, unknown> | null; evaluation?: Record<string, unknown> | null } | null;
  selected?: boolean;
}

const acc = (m: ModelCard) => (m.accuracy == null ? '–' : `${(m.accuracy * 100).toFixed(1)} %`);

export function ModelsPage() {
  const [models, setModels] = useState<ModelCard[] | null>(null);
  const [jobs, setJobs] = useState<TrainingJob[]>([]);
  const [recordings, setRecordings] = useState<Recording[]>([]);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [open, setOpen] = useState<ModelDetail | null>(null);
  const [backtesting, setBacktesting] = useState<number | null>(null);

  const load = useCallback(async () => {
    try {
      const [ms, js, rs] = await Promise.all([
        api<ModelCard[]>('/models/user'),
        api<TrainingJob[] | { jobs: TrainingJob[] }>('/models/jobs'),
        api<Recording[]>('/recordings'),
      ]);
      setModels(ms);
      setJobs(Array.isArray(js) ? js : js.jobs);
      setRecordings(rs.filter((r) => r.status === 'complete'));
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => {
    void load();
    getSocket().emit('get_status', { timestamp: Date.now() / 1000 });
  }, [load]);
  useSocketEvent<{ current_model_id: number | null }>(
    'status_update',
    useCallback((s) => setSelectedId(s.current_model_id ?? null), []),
  );
  useSocketEvent<{ job_id: number; status: TrainingJob['status']; progress: number; stage: string }>(
    'training_progress',
    useCallback(
      (e) =>
        setJobs((js) =>
          js.map((j) =>
            j.id === e.job_id ? { ...j, status: e.status, progress: e.progress, stage: e.stage } : j,
          ),
        ),
      [],
    ),
  );
  useSocketEvent(
    'training_completed',
    useCallback(() => void load(), [load]),
  );
  useSocketEvent(
    'training_failed',
    useCallback(() => void load(), [load]),
  );

  const active = jobs.some((j) => j.status === 'queued' || j.status === 'running');
  useEffect(() => {
    if (!active) return;
    const t = setInterval(
      () =>
        void api<TrainingJob[] | { jobs: TrainingJob[] }>('/models/jobs').then(
          (js) => setJobs(Array.isArray(js) ? js : js.jobs),
          () => undefined,
        ),
      2000,
    );
    return () => clearInterval(t);
  }, [active]);

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setNote(null);
    setError(null);
    try {
      await fn();
      setNote(what);
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  const select = (m: ModelCard) =>
    act(`${m.name} is now your selected model.`, async () => {
      await api(`/models/${m.id}/select`, { method: 'POST' });
      setSelectedId(m.id);
    });

  const presets = models?.filter((m) => m.is_preset) ?? [];
  const mine = models?.filter((m) => !m.is_preset) ?? [];

  const card = (m: ModelCard) => (
    <article class="card" key={m.id} aria-label={`Model ${m.name}`} data-testid={`model-${m.id}`}>
      <header class="row between">
        <h3>{m.name}</h3>
        {selectedId === m.id ? (
          <span class="badge live">selected</span>
        ) : m.is_preset ? (
          <span class="badge">preset</span>
        ) : null}
      </header>
      <p class="muted small">
        {m.material_type} · accuracy {acc(m)}
        {m.created_at && ` · ${fmtDate(m.created_at)}`}
      </p>
      {m.description && <p class="small">{m.description}</p>}
      <div class="row wrap">
        <button
          type="button"
          class={selectedId === m.id ? '' : 'primary'}
          disabled={selectedId === m.id}
          onClick={() => void select(m)}
          aria-label={`Select ${m.name}`}
        >
          {selectedId === m.id ? 'Selected' : 'Select'}
        </button>
        <button
          type="button"
          onClick={() =>
            void api<ModelDetail>(`/models/${m.id}`).then(setOpen, (e: unknown) => setError(errorText(e)))
          }
          aria-label={`Details of ${m.name}`}
        >
          Details
        </button>
        <button
          type="button"
          onClick={() =>
            void download(`/models/${m.id}/download`, `model-${m.id}.json`).catch((e: unknown) =>
              setError(errorText(e)),
            )
          }
          aria-label={`Download ${m.name}`}
        >
          Download
        </button>
        <button
          type="button"
          aria-expanded={backtesting === m.id}
          onClick={() => setBacktesting((b) => (b === m.id ? null : m.id))}
          aria-label={`Backtest ${m.name}`}
        >
          Backtest
        </button>
        {!m.is_preset && (
          <>
            <button
              type="button"
              onClick={() =>
                void act(`Retraining ${m.name}…`, () => api(`/models/${m.id}/retrain`, { body: {} }))
              }
              aria-label={`Retrain ${m.name}`}
            >
              Retrain
            </button>
            <button
              type="button"
              onClick={() =>
                void act(`Shared ${m.name} to the feed.`, () =>
                  api('/posts', {
                    body: { content: `My model ${m.name} (${m.material_type})`, model_id: m.id },
                  }),
                )
              }
              aria-label={`Share ${m.name}`}
            >
              Share
            </button>
            <button
              type="button"
              class="danger"
              onClick={() =>
                confirm(`Delete ${m.name}?`) &&
                void act(`Deleted ${m.name}.`, () => api(`/models/${m.id}`, { method: 'DELETE' }))
              }
              aria-label={`Delete ${m.name}`}
            >
              Delete
            </button>
          </>
        )}
      </div>
      {backtesting === m.id && <Backtest model={m} recordings={recordings} />}
    </article>
  );

  return (
    <section aria-labelledby="models-h">
      <h1 id="models-h">Models</h1>
      {error && <ErrorNote text={error} retry={() => void load()} />}
      {note && (
        <p role="status" class="muted">
          {note}
        </p>
      )}
      <div class="grid">
        <TrainForm recordings={recordings} onStarted={(j) => setJobs((js) => [j, ...js])} />
        <UploadModel onDone={() => void load()} />
      </div>
      {jobs.length > 0 && (
        <div class="card" aria-labelledby="jobs-h">
          <h2 id="jobs-h">Training jobs</h2>
          <ul class="alarms" data-testid="jobs">
            {jobs.slice(0, 8).map((j) => (
              <li key={j.id}>
                <label class="progress">
                  Job #{j.id} ({j.kind}) · {j.status}
                  {j.stage ? ` · ${j.stage}` : ''}
                  {j.error ? ` · ${j.error.message}` : ''}
                  <progress max={1} value={j.progress} data-testid={`job-progress-${j.id}`} />
                </label>
                {(j.notes ?? []).map((n) => (
                  <p class="muted" key={n} data-testid={`job-note-${j.id}`}>
                    Note: {n}
                  </p>
                ))}
                {(j.status === 'queued' || j.status === 'running') && (
                  <button
                    type="button"
                    onClick={() =>
                      void act(`Cancelled job #${j.id}.`, () =>
                        api(`/models/jobs/${j.id}`, { method: 'DELETE' }),
                      )
                    }
                  >
                    Cancel
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
      {models === null && !error && <Loading what="models" />}
      <h2>My models</h2>
      {models && mine.length === 0 && (
        <p class="empty">
          No model of your own yet: record normal data on the Recordings page, then train one here.
        </p>
      )}
      <div class="grid">{mine.map(card)}</div>
      <h2>Presets</h2>
      <div class="grid">{presets.map(card)}</div>
      {open && (
        <div class="card" aria-labelledby="detail-h">
          <header class="row between">
            <h2 id="detail-h">{open.name}</h2>
            <button type="button" onClick={() => setOpen(null)}>
              Close
            </button>
          </header>
          <p class="muted small">
            kind {open.kind} · threshold {open.threshold} · {open.visibility}
          </p>
          <pre class="small">{JSON.stringify(open.metrics, null, 2)}</pre>
        </div>
      )}
    </section>
  );
}

function TrainForm(props: { recordings: Recording[]; onStarted: (j: TrainingJob) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const ids = f.getAll('recording_ids').map(Number);
    if (ids.length === 0) return setError('Pick at least one recording.');
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ job: TrainingJob }>('/models/train', {
        body: {
          name: f.get('name'),
          material_type: f.get('material_type'),
          kind: f.get('kind'),
          recording_ids: ids,
        },
      });
      props.onStarted(r.job);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card stack" onSubmit={(e) => void submit(e)} aria-label="Train a model">
      <h2>Train a model</h2>
      {props.recordings.length === 0 ? (
        <p class="muted small">You need a finished recording of normal data first (Recordings page).</p>
      ) : (
        <fieldset class="stack">
          <legend>Recordings of normal data</legend>
          {props.recordings.map((r) => (
            <label key={r.id} class="row">
              <input
                type="checkbox"
                name="recording_ids"
                value={r.id}
                defaultChecked={props.recordings.length === 1}
              />
              {r.name} ({r.sample_count} readings)
            </label>
          ))}
        </fieldset>
      )}
      <label>
        Name
        <input name="name" required maxLength={100} defaultValue="My model" />
      </label>
      <label>
        Material
        <input name="material_type" required maxLength={50} defaultValue="steel" />
      </label>
      <label>
        Detector
        <select name="kind" defaultValue={DEFAULT_DETECTOR_KIND}>
          {TRAINABLE_DETECTOR_KINDS.map((k) => (
            <option key={k} value={k}>
              {k === DEFAULT_DETECTOR_KIND ? `${k} (default)` : k}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" class="primary" disabled={busy || props.recordings.length === 0}>
        Train
      </button>
      {error && <ErrorNote text={error} />}
    </form>
  );
}

function UploadModel(props: { onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    setError(null);
    try {
      const r = await api<{ message: string }>('/models/upload', { form: new FormData(form) });
      setNote(r.message);
      form.reset();
      props.onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form class="card stack" onSubmit={(e) => void submit(e)} aria-label="Upload a model">
      <h2>Upload a model</h2>
      <label>
        Artifact (JSON from Download or <code>vigil train</code>)
        <input name="model_file" type="file" accept=".json,application/json" required />
      </label>
      <label>
        Name
        <input name="name" required maxLength={100} />
      </label>
      <label>
        Material
        <input name="material_type" required maxLength={50} defaultValue="general" />
      </label>
      <label>
        Description
        <input name="description" maxLength={500} />
      </label>
      <button type="submit">Upload</button>
      {note && <p role="status">{note}</p>}
      {error && <ErrorNote text={error} />}
    </form>
  );
}

const ratio = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(2));

/** Scores one of the user's recordings with a model (a backtest job) and shows the event metrics. */
function Backtest(props: { model: ModelCard; recordings: Recording[] }) {
  const [recordingId, setRecordingId] = useState<number | ''>(props.recordings[0]?.id ?? '');
  const [job, setJob] = useState<TrainingJob | null>(null);
  const [metrics, setMetrics] = useState<BacktestMetrics | null>(null);
  const [error, setError] = useState<string | null>(null);
  const running = job !== null && (job.status === 'queued' || job.status === 'running');
  // A short backtest may have finished before its first poll: poll until the result (or a failure) is in.
  const waiting =
    job !== null && metrics === null && error === null && !['failed', 'cancelled'].includes(job.status);

  useEffect(() => {
    if (!job || !waiting) return;
    const t = setInterval(
      () =>
        void api<{ job: TrainingJob; result: { metrics: BacktestMetrics } | null }>(
          `/models/backtests/${job.id}`,
        ).then(
          (r) => {
            setJob(r.job);
            if (r.result) setMetrics(r.result.metrics);
            if (r.job.error) setError(r.job.error.message);
          },
          (e: unknown) => setError(errorText(e)),
        ),
      700,
    );
    return () => clearInterval(t);
  }, [job?.id, waiting]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setMetrics(null);
    try {
      const r = await api<{ job: TrainingJob }>(`/models/${props.model.id}/backtest`, {
        body: { recording_id: recordingId, points: 0 },
      });
      setJob(r.job);
    } catch (err) {
      setError(errorText(err));
    }
  };

  if (props.recordings.length === 0)
    return <p class="muted small">Backtests score one of your finished recordings: record one first.</p>;
  return (
    <form class="stack" onSubmit={(e) => void submit(e)} aria-label={`Backtest ${props.model.name}`}>
      <label>
        Recording
        <select value={recordingId} onChange={(e) => setRecordingId(Number(e.currentTarget.value))}>
          {props.recordings.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name} ({r.labels.length} labelled segment{r.labels.length === 1 ? '' : 's'})
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={waiting || !recordingId}>
        {waiting ? 'Backtesting…' : 'Run backtest'}
      </button>
      {job && running && (
        <label class="progress">
          Backtest progress{job.stage ? ` · ${job.stage}` : ''}
          <progress max={1} value={job.progress} />
        </label>
      )}
      {metrics && (
        <dl class="counters" data-testid="backtest-metrics">
          <div>
            <dt>Precision</dt>
            <dd>{ratio(metrics.precision)}</dd>
          </div>
          <div>
            <dt>Recall</dt>
            <dd>{ratio(metrics.recall)}</dd>
          </div>
          <div>
            <dt>F1</dt>
            <dd>{ratio(metrics.f1)}</dd>
          </div>
          <div>
            <dt>False alarms</dt>
            <dd>
              {metrics.false_alarms} ({metrics.false_alarms_per_hour.toFixed(1)}/h)
            </dd>
          </div>
          <div>
            <dt>Readings</dt>
            <dd>{metrics.readings}</dd>
          </div>
          {metrics.events !== undefined && (
            <div>
              <dt>Segments found</dt>
              <dd>
                {metrics.detected ?? 0}/{metrics.events}
              </dd>
            </div>
          )}
        </dl>
      )}
      {metrics && metrics.precision === undefined && (
        <p class="muted small">No labelled segment: precision, recall and F1 need one (Recordings page).</p>
      )}
      {error && <ErrorNote text={error} />}
    </form>
  );
}
