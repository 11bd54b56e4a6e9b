// A detection-log row and a silent logger for the log journal and writer tests.
import type { LogInsert } from '../../src/modules/detection/detection.repository.ts';

/** Row `i` of session 1 (seq i + 1, value i). */
export const logRow = (i: number): LogInsert => ({
  session_id: 1,
  seq: i + 1,
  user_id: 1,
  model_id: 1,
  timestamp: '2026-01-01 00:00:00.000',
  value: i,
  anomaly_score: 0,
  is_anomaly: 0,
  confidence: 1,
  explanation: null,
  created_at: '2026-01-01 00:00:00.000',
});

export const quietLogger = { warn() {}, error() {}, info() {} };
