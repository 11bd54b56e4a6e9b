/**
 * Training in the worker pool, per kind: wall time, and the main thread's event-loop delay
 * while the worker trains (what an HTTP request waiting during training would feel).
 *
 *   npm run bench:training [-- --minutes 8 --kinds robust,auto]
 *
 * The data is a seeded synthetic Arduino trace at 10 Hz (the size of the tests' recordings by
 * default), written to a temporary CSV exactly as a recording is stored.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { generateTrace } from '../src/bench/synthetic/generator.ts';
import { describeDetectors } from '../src/detectors/index.ts';
import { createTrainingPool } from '../src/modules/models/training-pool.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '8' }, kinds: { type: 'string' } } });
const minutes = Math.max(1, Number(values.minutes));
const kinds = values.kinds ? values.kinds.split(',') : describeDetectors().map((d) => d.kind);

const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-training-'));
const file = path.join(dir, 'normal.csv');
const trace = generateTrace({ seed: 11, durationS: minutes * 60, normalS: minutes * 60, events: 0 });
writeFileSync(file, `timestamp,value\n${trace.readings.map((r) => `${new Date(r.ts).toISOString()},${r.value}`).join('\n')}\n`);

const pool = createTrainingPool({ threads: 1 });
// Start the worker thread (and its TypeScript loader) before measuring.
await pool.run({ jobId: 0, kind: 'robust', params: {}, seed: 1, sources: [{ recordingId: 1, file, labels: [] }], holdoutFraction: 0.2 }, () => {});

console.log(`${trace.readings.length} readings (${minutes} min at 10 Hz)\n`);
console.log(['kind', 'train ms', 'accuracy', 'loop p50 ms', 'loop p99 ms', 'loop max ms'].join('\t'));
{
  // Baseline: the same measurement with nothing training, to separate machine load from training.
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  await new Promise((r) => setTimeout(r, 2000));
  h.disable();
  const f = (ns: number) => (ns / 1e6).toFixed(1);
  console.log(['(idle 2 s)', '-', '-', f(h.percentile(50)), f(h.percentile(99)), f(h.max)].join('\t'));
}
for (const kind of kinds) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t0 = performance.now();
  const r = await pool.run({ jobId: 1, kind, params: {}, seed: 1, sources: [{ recordingId: 1, file, labels: [] }], holdoutFraction: 0.2 }, () => {});
  const ms = Math.round(performance.now() - t0);
  h.disable();
  const f = (ns: number) => (ns / 1e6).toFixed(1);
  const acc = r.type === 'result' ? String(r.accuracy) : `error: ${r.message}`;
  console.log([kind, ms, acc, f(h.percentile(50)), f(h.percentile(99)), f(h.max)].join('\t'));
}
await pool.close();
rmSync(dir, { recursive: true, force: true });
