import { describe, expect, it } from 'vitest';
import type { Score } from '../../detectors/index.ts';
import type { Live } from './live-session.ts';
import { logRow } from './session-logging.ts';

const session = { id: 5, seq: 12, owner: { userId: 9 }, model: { id: 3 } } as unknown as Live & { id: number; owner: { userId: number } };
const score = (is_anomaly: boolean): Score =>
  ({
    anomaly_score: is_anomaly ? 0.97 : 0.1,
    is_anomaly,
    confidence: 0.8,
    method: 'auto',
    signal: is_anomaly ? 'spike' : 'none',
    contributions: [
      { name: 'point', weight: 0.7 },
      { name: 'drift', weight: 0.2 },
      { name: 'shape', weight: 0.05 },
      { name: 'novelty', weight: 0.05 },
    ],
  }) as unknown as Score;

describe('logRow', () => {
  it("keeps an anomaly's first three contributions and a normal reading's signal alone", () => {
    const reading = { ts: Date.UTC(2026, 0, 1, 10), value: 3.3 };
    const now = new Date(Date.UTC(2026, 0, 1, 10, 0, 1));
    const anomaly = logRow(session, reading, score(true), now);
    expect(JSON.parse(anomaly.explanation!)).toEqual({ signal: 'spike', method: 'auto', contributions: score(true).contributions!.slice(0, 3) });
    expect(anomaly).toMatchObject({ session_id: 5, seq: 12, user_id: 9, model_id: 3, value: 3.3, is_anomaly: 1, anomaly_score: 0.97 });
    const normal = logRow(session, reading, score(false), now);
    expect(JSON.parse(normal.explanation!)).toEqual({ signal: 'none', method: 'auto' });
  });
});
