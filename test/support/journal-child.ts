// A process that journals `count` rows, reports once `written()` resolved, then waits to be killed
// (log-journal.test.ts): what a crash right after an MQTT PUBACK leaves behind.
import { createLogJournal } from '../../src/modules/detection/log-journal.ts';
import { logRow, quietLogger } from './log-rows.ts';

const [dir, count, fsyncMs] = process.argv.slice(2);
const journal = createLogJournal({ dir: dir!, fsyncMs: Number(fsyncMs), logger: quietLogger });
for (let i = 0; i < Number(count); i++) {
  journal.append(logRow(i));
}
await journal.written();
process.send!({ type: 'written', stats: journal.stats() });
setInterval(() => undefined, 60_000);
