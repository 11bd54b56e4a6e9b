/**
 * Per-kind throughput and memory of the registered detectors.
 *
 *   npm run bench:detectors [-- --readings 200000 --instances 200]
 *
 * Throughput: one fitted detector scores a long synthetic trace on one core, after a warm-up.
 * Memory: growth of heap plus external (typed-array) memory over many live instances, each
 * restored from its own parsed copy of the model and primed with a window of readings,
 * divided by their number; precise only with `node --expose-gc`.
 * Live throughput: the same number of readings scored round-robin over those live instances, one
 * reading each in turn, as a server with that many live sessions scores them: each instance's
 * state is then out of the CPU cache when its next reading comes, which one instance never shows.
 * Event-level accuracy is `vigil bench synthetic`.
 */
import { parseArgs } from 'node:util';
import { generateTrace } from '../src/bench/synthetic/generator.ts';
import { createDetector, describeDetectors, restoreDetector, type Detector, type Reading } from '../src/detectors/index.ts';

const { values } = parseArgs({
  options: {
    readings: { type: 'string', default: '200000' },
    warmup: { type: 'string', default: '20000' },
    instances: { type: 'string', default: '200' },
    kinds: { type: 'string' },
  },
});
const READINGS = Math.max(1, Number(values.readings));
const WARMUP = Math.max(0, Number(values.warmup));
const INSTANCES = Math.max(1, Number(values.instances));
const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  // Typed-array backing stores live outside the JS heap.
  return m.heapUsed + m.external;
}

function stream(seed: number, count: number): Reading[] {
  const hz = 10;
  const durationS = Math.ceil(count / hz) + 400;
  const trace = generateTrace({ seed, durationS, normalS: 300, events: Math.floor(durationS / 300) });
  return trace.readings.slice(0, count);
}

async function fitted(kind: string, normal: readonly Reading[]): Promise<{ detector: Detector; fitMs: number }> {
  const detector = createDetector(kind, { seed: 1 });
  const t0 = performance.now();
  await detector.fit(normal);
  return { detector, fitMs: performance.now() - t0 };
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const normal = generateTrace({ seed: 1, durationS: 300, events: 0 }).readings;
const scored = stream(2, WARMUP + READINGS);
const prime = scored.slice(0, 600);
const wanted = values.kinds?.split(',');
const kinds = describeDetectors()
  .map((d) => d.kind)
  .filter((k) => !wanted || wanted.includes(k));

const rows: string[][] = [];
for (const kind of kinds) {
  process.stderr.write(`${kind}: fitting, scoring ${fmtInt(READINGS)} readings...\n`);
  const { detector, fitMs } = await fitted(kind, normal);
  for (let i = 0; i < WARMUP; i++) detector.score(scored[i] as Reading);
  const t0 = performance.now();
  for (let i = WARMUP; i < scored.length; i++) detector.score(scored[i] as Reading);
  const scoreMs = performance.now() - t0;
  const perSecond = (READINGS / scoreMs) * 1000;

  const artifact = detector.serialize();
  const artifactText = JSON.stringify(artifact);
  const artifactBytes = Buffer.byteLength(artifactText);
  process.stderr.write(`${kind}: measuring ${INSTANCES} live instances...\n`);
  const before = heapUsed();
  const live: Detector[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    // Each instance gets its own parsed copy, as when models are loaded from files or the database.
    const d = restoreDetector(JSON.parse(artifactText) as typeof artifact);
    for (const r of prime) d.score(r);
    live.push(d);
  }
  const after = heapUsed();
  const perInstance = (after - before) / live.length;
  const rounds = Math.max(1, Math.floor(READINGS / live.length));
  const t1 = performance.now();
  for (let k = 0; k < rounds; k++) {
    const r = scored[(prime.length + k) % scored.length] as Reading;
    for (const d of live) d.score(r);
  }
  const liveUs = ((performance.now() - t1) * 1000) / (rounds * live.length);
  live.length = 0;

  rows.push([
    kind,
    fmtInt(perSecond),
    (1e6 / perSecond).toFixed(2),
    liveUs.toFixed(2),
    fmtInt(fitMs),
    (perInstance / 1024).toFixed(1),
    (artifactBytes / 1024).toFixed(1),
  ]);
}

const header = ['kind', 'readings/s', 'µs/reading', `µs/reading, ${INSTANCES} live`, 'fit ms (3000)', 'KiB/instance', 'model KiB'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
console.log(
  `Detector benchmark: ${fmtInt(READINGS)} readings after ${fmtInt(WARMUP)} warm-up, one core; ` +
    `memory over ${INSTANCES} live instances${gc ? '' : ' (approximate: run node with --expose-gc)'}. Node ${process.version}.`,
);
console.log(line(header));
for (const r of rows) console.log(line(r));
if (rows.length === 0) console.log('(no detector kinds are registered)');
