import type { Reading, Score } from '../../detectors/index.ts';
import { toDbTime } from '../../db/time.ts';
import type { LogInsert } from './detection.repository.ts';
import type { Live } from './live-session.ts';

/** Explanations without contributions, by signal and method: the same few strings on every reading. */
const plain = new Map<string, Map<string, string>>();

/**
 * The row's explanation. Only an anomaly's row keeps its channels' contributions (the repository
 * stores a normal row's signal alone), so a normal reading's is one of the cached strings, not a
 * `JSON.stringify` per reading (3 % of the main thread at 1,000 devices).
 */
function explanation(score: Score): string {
  if (score.contributions && score.is_anomaly) return JSON.stringify({ signal: score.signal, method: score.method, contributions: score.contributions.slice(0, 3) });
  let bySignal = plain.get(score.signal);
  if (!bySignal) plain.set(score.signal, (bySignal = new Map()));
  let e = bySignal.get(score.method);
  if (e === undefined) {
    e = JSON.stringify({ signal: score.signal, method: score.method });
    if (bySignal.size < 256) bySignal.set(score.method, e);
  }
  return e;
}

/** Whether a session's scored readings go to `detection_logs` (stored sessions of signed-in users that asked for it). */
export function logs(s: Live): s is Live & { id: number; owner: { userId: number } } {
  return s.log && typeof s.id === 'number' && s.owner.userId !== null;
}

/** The `detection_logs` row of one scored reading. */
export function logRow(s: Live & { id: number; owner: { userId: number } }, reading: Reading, score: Score, now: Date): LogInsert {
  return {
    session_id: s.id,
    seq: s.seq,
    user_id: s.owner.userId,
    model_id: s.model.id,
    timestamp: toDbTime(reading.ts),
    value: reading.value,
    anomaly_score: score.anomaly_score,
    is_anomaly: score.is_anomaly ? 1 : 0,
    confidence: score.confidence,
    explanation: explanation(score),
    created_at: toDbTime(now),
  };
}
