// A process that journals `count` rows, reports once `written()` resolved, then waits to be killed
// (log-journal.test.ts): what a crash right after an MQTT PUBACK leaves behind.
import { createLogJournal } from '../../src/modules/detection/log-journal.ts';

const [dir, count, fsyncMs] = process.argv.slice(2);
const quiet = { warn() {}, error() {}, info() {} };
const journal = createLogJournal({ dir: dir!, fsyncMs: Number(fsyncMs), logger: quiet });
for (let i = 0; i < Number(count); i++) {
  journal.append({
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
}
await journal.written();
process.send!({ type: 'written', stats: journal.stats() });
setInterval(() => undefined, 60_000);
