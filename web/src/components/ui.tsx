import type { FinalAnalysis } from '../types.ts';

export const fmtTime = (ms: number) =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const fmtDate = (iso: string | number) =>
  new Date(iso).toLocaleString([], {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
export const pct = (x: number) => `${x.toFixed(1)} %`;

export function Loading(props: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Loading {props.what}…
    </p>
  );
}

export function ErrorNote(props: { text: string; retry?: () => void }) {
  return (
    <div class="error" role="alert">
      {props.text}{' '}
      {props.retry && (
        <button type="button" class="link" onClick={props.retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Analysis(props: { a: FinalAnalysis }) {
  const a = props.a;
  return (
    <div class={`analysis ${a.is_anomalous ? 'bad' : 'ok'}`}>
      <p>
        <strong>{a.is_anomalous ? 'Anomalous run' : 'Normal run'}</strong> — {a.summary}
      </p>
      <dl class="counters">
        <div>
          <dt>Readings</dt>
          <dd>{a.total_predictions}</dd>
        </div>
        <div>
          <dt>Anomalies</dt>
          <dd>{a.anomaly_count}</dd>
        </div>
        <div>
          <dt>Share</dt>
          <dd>{pct(a.anomaly_percentage)}</dd>
        </div>
        <div>
          <dt>Confidence</dt>
          <dd>{(a.confidence * 100).toFixed(0)} %</dd>
        </div>
      </dl>
    </div>
  );
}
