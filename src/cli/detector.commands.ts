import { createReadStream } from 'node:fs';
import { access, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  createDetector,
  DEFAULT_DETECTOR_KIND,
  describeDetectors,
  DetectorError,
  parseArtifact,
  restoreDetector,
  legacyKindMessage,
  legacySuccessor,
  retiredKindMessage,
  type Detector,
  type DetectorDescriptor,
} from '../detectors/index.ts';
import {
  checkTargets,
  createZScoreBaseline,
  FAULT_FAMILIES,
  FAULT_KINDS,
  runSyntheticBenchmark,
  splitSeeds,
  summarizeRun,
  SYNTHETIC_SPLIT_NAMES,
  SYNTHETIC_TARGETS,
  type CandidateRun,
  type EventMetrics,
  type SyntheticCandidate,
  type SyntheticMode,
  type SyntheticSplit,
  type SyntheticSummary,
} from '../bench/synthetic/index.ts';
import {
  createTimeseriesCsvParser,
  formatScoreCsvRow,
  SCORES_CSV_HEADER,
  TimeseriesCsvError,
  type ParseTimeseriesCsvResult,
} from '../lib/timeseries-csv.ts';

/** A problem with the user's input or flags: one-line message, exit code 2. */
class CliInputError extends Error {
  override name = 'CliInputError';
}

const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;
const EXIT_INTERRUPTED = 130;
const MAX_LISTED_ROW_ERRORS = 20;

type Action<A extends unknown[]> = (...args: A) => Promise<void>;

/** Runs an action, turning errors into a one-line message and an exit code (2 for input problems, 1 otherwise). */
function guarded<A extends unknown[]>(name: string, action: Action<A>): Action<A> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      const input =
        err instanceof CliInputError ||
        err instanceof TimeseriesCsvError ||
        (err instanceof DetectorError && err.code !== 'aborted');
      const aborted = err instanceof Error && (err.name === 'AbortError' || (err instanceof DetectorError && err.code === 'aborted'));
      const message = aborted ? 'interrupted; nothing written.' : err instanceof Error ? err.message : String(err);
      process.stderr.write(`vigil ${name}: ${message}\n`);
      process.exitCode = aborted ? EXIT_INTERRUPTED : input ? EXIT_USAGE : EXIT_FAILURE;
    }
  };
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 0xffffffff) {
    throw new InvalidArgumentError('expected a whole number between 0 and 4294967295.');
  }
  return n;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 1000) throw new InvalidArgumentError('expected a whole number from 1 to 1000.');
  return n;
}

/** Progress on stderr, only when it is a terminal; throttled, and cleared when done. */
function createProgress(label: string) {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(fraction: number, stage = ''): void {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && fraction < 1) return;
      last = now;
      shown = true;
      const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
      process.stderr.write(`\r\x1b[K${label} ${String(pct).padStart(3)}%${stage ? ` ${stage}` : ''}`);
    },
    done(): void {
      if (tty && shown) process.stderr.write('\r\x1b[K');
    },
  };
}

function describeKinds(): string {
  const kinds = describeDetectors().map((d) => d.kind);
  return kinds.length > 0 ? kinds.join(', ') : '(none)';
}

function detectorFor(kind: string, seed: number | undefined): Detector {
  const available = describeDetectors().map((d) => d.kind as string);
  if (!available.includes(kind)) {
    throw new CliInputError(retiredKindMessage(kind) ?? `detector kind "${kind}" is not available; available kinds: ${describeKinds()}.`);
  }
  return createDetector(kind, seed === undefined ? {} : { seed });
}

/** `detectorFor` for a model a user trains or scores online: legacy kinds are refused (benches may still run them). */
function newDetectorFor(kind: string, seed: number | undefined): Detector {
  const legacy = legacyKindMessage(kind);
  if (legacy) throw new CliInputError(legacy);
  return detectorFor(kind, seed);
}

async function readSeries(path: string, skipBad: boolean): Promise<ParseTimeseriesCsvResult> {
  const parser = createTimeseriesCsvParser({ skipBad, maxErrors: MAX_LISTED_ROW_ERRORS });
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliInputError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) parser.line(line);
  } catch (err) {
    if (err instanceof TimeseriesCsvError) throw new CliInputError(`${path}: ${err.message}`);
    throw err;
  } finally {
    stream.destroy();
  }
  let result: ParseTimeseriesCsvResult;
  try {
    result = parser.finish();
  } catch (err) {
    if (err instanceof TimeseriesCsvError) throw new CliInputError(`${path}: ${err.message}`);
    throw err;
  }
  if (result.warningCount > 0) {
    const first = result.warnings[0];
    process.stderr.write(
      `${path}: warning: the clock steps back at ${result.warningCount} row(s)${first ? ` (first at line ${first.line})` : ''}; rows are used in file order.\n`,
    );
  }
  if (result.errorCount > 0) {
    for (const e of result.errors) process.stderr.write(`${path}:${e.line}: ${e.reason}\n`);
    if (result.errorCount > result.errors.length) {
      process.stderr.write(`${path}: ... and ${result.errorCount - result.errors.length} more bad rows\n`);
    }
    if (!skipBad) {
      throw new CliInputError(`${path}: ${result.errorCount} bad row(s); fix them or pass --skip-bad.`);
    }
    process.stderr.write(`${path}: skipped ${result.errorCount} bad row(s)\n`);
  }
  if (result.rows.length === 0) throw new CliInputError(`${path}: no data rows.`);
  return result;
}

/** Writes via a temporary file in the same directory, then renames, so readers never see a partial file. */
async function writeAtomically(path: string, write: (chunk: (text: string) => Promise<void>) => Promise<void>): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let handle;
  try {
    handle = await open(temp, 'w');
  } catch (err) {
    throw new CliInputError(`cannot write ${path}: ${(err as Error).message}`);
  }
  try {
    const h = handle;
    await write(async (text) => {
      await h.write(text);
    });
    await h.close();
    handle = undefined;
    await rename(temp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

async function loadModel(path: string): Promise<Detector> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliInputError(`cannot read model ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    return restoreDetector(parseArtifact(text));
  } catch (err) {
    if (err instanceof DetectorError) throw new CliInputError(`${path} is not a usable Vigil model: ${err.message}`);
    throw err;
  }
}

function fmt(n: number, digits = 3): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function metricsRow(name: string, m: EventMetrics): string[] {
  return [
    name,
    String(m.events),
    String(m.detected),
    String(m.falseAlarms),
    fmt(m.precision),
    fmt(m.recall),
    fmt(m.f1),
    fmt(m.falseAlarmsPerHour, 1),
    Number.isFinite(m.medianDelayMs) ? fmt(m.medianDelayMs / 1000, 1) : '-',
  ];
}

const METRICS_HEADER = ['', 'events', 'detected', 'false', 'precision', 'recall', 'F1', 'FA/h', 'delay s'];

interface TrainOptions {
  input: string;
  out: string;
  type: string;
  seed?: number;
  skipBad?: boolean;
}

interface DetectOptions {
  model?: string;
  type?: string;
  input: string;
  out: string;
  skipBad?: boolean;
}

async function train(opts: TrainOptions): Promise<void> {
  const detector = newDetectorFor(opts.type, opts.seed);
  const { rows } = await readSeries(opts.input, opts.skipBad === true);
  const progress = createProgress(`training ${detector.kind}`);
  const readings = rows.map((r) => ({ ts: r.ts, value: r.value }));
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  let report;
  try {
    report = await detector.fit(readings, { onProgress: (p, stage) => progress.update(p, stage), signal: controller.signal });
  } finally {
    process.off('SIGINT', interrupt);
    progress.done();
  }
  const artifact = detector.serialize();
  await writeAtomically(opts.out, (write) => write(`${JSON.stringify(artifact)}\n`));
  const lines = [
    `Trained ${report.kind} on ${report.samples} readings from ${opts.input}`,
    `  threshold  ${fmt(report.threshold)}`,
    ...Object.entries(report.metrics).map(([k, v]) => `  ${k}  ${Number.isInteger(v) ? v : fmt(v, 6)}`),
    ...(report.notes ?? []).map((n) => `Note: ${n}`),
    `Model written to ${opts.out}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function detect(opts: DetectOptions): Promise<void> {
  if (opts.model && opts.type) throw new CliInputError('pass either --model or --type, not both.');
  let detector: Detector;
  if (opts.model) detector = await loadModel(opts.model);
  else {
    // Without a model: the kind (default: the default kind) scores online, learning as it goes.
    const kind = opts.type ?? DEFAULT_DETECTOR_KIND;
    detector = newDetectorFor(kind, undefined);
    const descriptor = describeDetectors().find((d) => d.kind === kind);
    if (descriptor && !descriptor.online) {
      throw new CliInputError(`detector kind "${kind}" cannot score without training; train a model with "vigil train" first.`);
    }
  }
  const { rows } = await readSeries(opts.input, opts.skipBad === true);
  const progress = createProgress(`scoring with ${detector.kind}`);
  let anomalies = 0;
  try {
    await writeAtomically(opts.out, async (write) => {
      const chunk: string[] = [SCORES_CSV_HEADER];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i] as (typeof rows)[number];
        const s = detector.score({ ts: row.ts, value: row.value });
        if (s.is_anomaly) anomalies++;
        chunk.push(formatScoreCsvRow({ timestamp: row.timestamp, value: row.value, anomaly_score: s.anomaly_score, is_anomaly: s.is_anomaly }));
        if (chunk.length >= 10_000) {
          await write(`${chunk.join('\n')}\n`);
          chunk.length = 0;
          progress.update(i / rows.length);
        }
      }
      if (chunk.length > 0) await write(`${chunk.join('\n')}\n`);
    });
  } finally {
    progress.done();
  }
  const pct = rows.length > 0 ? (100 * anomalies) / rows.length : 0;
  process.stdout.write(
    `Scored ${rows.length} readings with ${detector.kind}${opts.model ? ` (model ${opts.model})` : ' (online)'}: ` +
      `${anomalies} anomalous (${pct.toFixed(2)}%). Scores written to ${opts.out}\n`,
  );
}

function detectorsList(opts: { json?: boolean }): Promise<void> {
  // A legacy kind still loads its stored models but trains nothing new: not trainable, not online.
  const descriptors = describeDetectors().map((d) => {
    const successor = legacySuccessor(d.kind);
    return successor ? { ...d, trainable: false, online: false, legacy: { successor } } : d;
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ default: DEFAULT_DETECTOR_KIND, detectors: descriptors }, null, 2)}\n`);
    return Promise.resolve();
  }
  if (descriptors.length === 0) {
    process.stdout.write('No detector kinds are available in this build.\n');
    return Promise.resolve();
  }
  const blocks = descriptors.map((d: DetectorDescriptor & { legacy?: { successor: string } }) => {
    const flags = [
      d.trainable ? 'trainable' : '',
      d.online ? 'online' : '',
      d.kind === DEFAULT_DETECTOR_KIND ? 'default' : '',
      d.legacy ? `legacy: stored models still load; train ${d.legacy.successor} instead` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const params = d.params.map((p) => {
      const range = p.min !== undefined || p.max !== undefined ? ` [${p.min ?? ''}..${p.max ?? ''}]` : '';
      return `    ${p.name} (${p.type}, default ${String(p.default)}${range}): ${p.description}`;
    });
    return [`${d.kind}${flags ? ` (${flags})` : ''}`, `  ${d.description}`, ...params].join('\n');
  });
  process.stdout.write(`${blocks.join('\n\n')}\n`);
  return Promise.resolve();
}

interface SyntheticOptions {
  type: string;
  mode: 'fit' | 'online' | 'both';
  split: 'dev' | 'heldout' | 'all';
  traces?: number;
  json?: boolean;
}

/** The parameters a fresh detector of `kind` runs with (its artifact's `params`). */
function detectorParams(kind: string): Record<string, unknown> {
  return createDetector(kind).serialize().params;
}

async function benchSynthetic(opts: SyntheticOptions): Promise<void> {
  const descriptors = describeDetectors();
  const available = descriptors.map((d) => d.kind as string);
  const kinds = opts.type === 'all' ? available : [opts.type];
  for (const k of kinds) {
    if (!available.includes(k)) throw new CliInputError(`detector kind "${k}" is not available; available kinds: ${describeKinds()}.`);
  }
  const modes: SyntheticMode[] = opts.mode === 'both' ? ['fit', 'online'] : [opts.mode];
  const candidates: SyntheticCandidate[] = [];
  for (const kind of kinds) {
    const online = descriptors.find((d) => d.kind === kind)?.online === true;
    for (const mode of modes) {
      if (mode === 'online' && !online) continue;
      // Exactly what `vigil train --type KIND` (then `vigil detect --model`) and `vigil detect --type KIND` build.
      candidates.push({ name: kind, mode, make: () => createDetector(kind) });
    }
  }
  candidates.push({ name: 'zscore (baseline)', mode: 'fit', make: () => createZScoreBaseline() });
  const splits: SyntheticSplit[] = opts.split === 'all' ? SYNTHETIC_SPLIT_NAMES : [opts.split];
  const progress = createProgress('synthetic');
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  let runs: CandidateRun[];
  try {
    runs = await runSyntheticBenchmark({
      candidates,
      splits,
      ...(opts.traces === undefined ? {} : { traces: opts.traces }),
      signal: controller.signal,
      onProgress: (done, total) => progress.update(done / total),
    });
  } finally {
    process.off('SIGINT', interrupt);
    progress.done();
  }
  const columns: Array<SyntheticSplit | 'all'> = splits.length > 1 ? [...splits, 'all'] : splits;
  const params = Object.fromEntries(kinds.map((k) => [k, detectorParams(k)]));
  if (opts.json) {
    const out = runs.map((r) => ({
      name: r.name,
      mode: r.mode,
      readings_scored: r.readingsScored,
      score_ms: Math.round(r.scoreMs),
      fit_ms: Math.round(r.fitMs),
      ...Object.fromEntries(columns.map((c) => [c, summarizeRun(r, c)])),
    }));
    process.stdout.write(`${JSON.stringify({ splits: Object.fromEntries(splits.map((s) => [s, splitSeeds(s, opts.traces)])), targets: SYNTHETIC_TARGETS, params, results: out }, null, 2)}\n`);
    return;
  }
  const seedText = splits.map((s) => {
    const seeds = splitSeeds(s, opts.traces);
    return `${s} = seeds ${seeds[0]}-${seeds.at(-1)} (${seeds.length} traces)`;
  });
  const label = (r: CandidateRun): string => (r.name.startsWith('zscore') ? r.name : `${r.name} ${r.mode === 'fit' ? '(fit)' : '(online)'}`);
  const sections = [
    `Sensor-fault benchmark: ${seedText.join(', ')}. Each trace: 5 min (at least 1,200 readings) of normal training data, ` +
      `then 10 min (at least 1,200 readings) scored with 4-6 labelled events; 7 families of normal signal, 1-100 Hz, 0-24 V.\n` +
      `fit = fitted on the training part as "vigil train" does; online = never fitted, scores the training part as warm-up, as "vigil detect --type" does.\n` +
      `An event counts as detected by an alarm inside it or up to max(3 s, 5 readings) after; other alarms are false alarms, merged within max(2 s, 5 readings).\n` +
      `Targets (issue 11): event F1 >= ${SYNTHETIC_TARGETS.f1} at <= ${SYNTHETIC_TARGETS.maxFalseAlarmsPerHour} false alarms/h; recall >= ${SYNTHETIC_TARGETS.minKindRecall} for every event kind.`,
    `Parameters used (artifact params of a fresh detector; fit learns the rest from each trace):\n${kinds.map((k) => `  ${k}: ${JSON.stringify(params[k])}`).join('\n')}`,
  ];
  sections.push(
    `Summary\n${table(
      ['', ...columns.flatMap((c) => [`${c} F1`, `${c} FA/h`]), 'P', 'R', 'targets', 'readings/s'],
      runs.map((r) => {
        const sums = columns.map((c) => summarizeRun(r, c));
        const whole = sums.at(-1) as SyntheticSummary;
        const t = checkTargets(whole);
        const met = t.f1 && t.falseAlarms && t.weakKinds.length === 0 ? 'met' : `missed${t.f1 ? '' : ' F1'}${t.falseAlarms ? '' : ' FA/h'}${t.weakKinds.length > 0 ? ` ${t.weakKinds.length} kind(s)` : ''}`;
        return [
          label(r),
          ...sums.flatMap((s) => [fmt(s.overall.f1), fmt(s.overall.falseAlarmsPerHour, 1)]),
          fmt(whole.overall.precision),
          fmt(whole.overall.recall),
          met,
          r.scoreMs > 0 ? String(Math.round((r.readingsScored / r.scoreMs) * 1000)) : '-',
        ];
      }),
    )}`,
  );
  for (const r of runs) {
    const sums = columns.map((c) => summarizeRun(r, c));
    const whole = sums.at(-1) as SyntheticSummary;
    const kindRows = FAULT_KINDS.flatMap((k) =>
      whole.perKind[k] ? [[k, ...sums.map((s) => (s.perKind[k] ? `${fmt(s.perKind[k].recall, 2)} (${s.perKind[k].detected}/${s.perKind[k].events})` : '-'))]] : [],
    );
    const familyRows = FAULT_FAMILIES.flatMap((f) =>
      whole.perFamily[f] ? [[f, ...sums.map((s) => (s.perFamily[f] ? `${fmt(s.perFamily[f].f1, 2)} / ${fmt(s.perFamily[f].falseAlarmsPerHour, 1)}` : '-'))]] : [],
    );
    sections.push(
      `${label(r)}: recall per event kind (detected/events)\n${table(['kind', ...columns], kindRows)}\n\n` +
        `${label(r)}: per family, F1 / false alarms per hour\n${table(['family', ...columns], familyRows)}\n\n` +
        `${label(r)}: whole, ${metricsRow('overall', whole.overall).slice(1).join(' ')} (${METRICS_HEADER.slice(1).join(' ')})`,
    );
  }
  process.stdout.write(`${sections.join('\n\n')}\n`);
}

interface PeriodicOptions {
  type: string;
  anchors: boolean;
  limit?: number;
  json?: boolean;
}

async function benchPeriodic(opts: PeriodicOptions): Promise<void> {
  detectorFor(opts.type, undefined);
  const bench = await import('../bench/periodic/index.ts');
  const params = describeDetectors().find((d) => d.kind === opts.type)?.params ?? [];
  const scorers = [
    bench.detectorScorer(opts.type === DEFAULT_DETECTOR_KIND ? `${opts.type} (default)` : opts.type, () => createDetector(opts.type)),
    ...(opts.anchors
      ? [bench.subsequenceScorer(), bench.matrixProfileScorer(), bench.detectorScorer('iforest (anchor)', () => createDetector('iforest'))]
      : []),
  ];
  const results = [];
  for (const scorer of scorers) {
    const progress = createProgress(`periodic ${scorer.name}`);
    try {
      results.push(await bench.runPeriodicBenchmark(scorer, { limit: opts.limit, onProgress: (done, total) => progress.update(done / total) }));
    } finally {
      progress.done();
    }
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ type: opts.type, params: Object.fromEntries(params.map((p) => [p.name, p.default])), results }, null, 2)}\n`);
    return;
  }
  const acc = (a: { correct: number; total: number; accuracy: number }) => `${fmt(a.accuracy)} (${a.correct}/${a.total})`;
  const dev = bench.PERIODIC_DEV_SEEDS.slice(0, opts.limit);
  const held = bench.PERIODIC_HELDOUT_SEEDS.slice(0, opts.limit);
  const sections = [
    `Periodic shape-anomaly benchmark: ${dev.length} development series (seeds ${dev[0]}-${dev.at(-1)}) and ${held.length} held-out ` +
      `(seeds ${held[0]}-${held.at(-1)}); each fits on its anomaly-free training part and scores its test part one reading per second; ` +
      `correct when the highest test score lies within ±${bench.UCR_SLACK} samples of the one labelled anomaly (UCR / KDD Cup 2021 rule).`,
    `Parameters of ${opts.type}: ${params.length > 0 ? params.map((p) => `${p.name}=${String(p.default)}`).join(', ') : '(none)'}`,
    table(
      ['scorer', 'dev', 'held-out', 'whole', 'readings/s'],
      results.map((r) => [r.scorer, acc(r.dev), acc(r.heldout), acc(r.whole), r.ms > 0 ? String(Math.round((r.readings / r.ms) * 1000)) : '-']),
    ),
    `Per anomaly kind (whole)\n${table(
      ['scorer', ...bench.SHAPE_ANOMALIES],
      results.map((r) => [r.scorer, ...bench.SHAPE_ANOMALIES.map((k) => fmt(r.perAnomaly[k]?.accuracy ?? Number.NaN, 2))]),
    )}`,
    `Per family (whole)\n${table(
      ['scorer', ...bench.PERIODIC_FAMILIES],
      results.map((r) => [r.scorer, ...bench.PERIODIC_FAMILIES.map((f) => fmt(r.perFamily[f]?.accuracy ?? Number.NaN, 2))]),
    )}`,
  ];
  process.stdout.write(`${sections.join('\n\n')}\n`);
}

async function benchNab(opts: { data: string; type: string; out?: string; rangeHints?: 'none' | 'file' }): Promise<void> {
  detectorFor(opts.type, undefined);
  for (const required of ['data', join('labels', 'combined_windows.json')]) {
    try {
      await access(join(opts.data, required));
    } catch {
      throw new CliInputError(`${opts.data} is not a NAB corpus: ${join(opts.data, required)} is missing.`);
    }
  }
  // Loaded on demand: the NAB runner is only needed by this command.
  const { NAB_ANCHORS, NAB_PROFILE_NAMES, NAB_TARGETS, runNab, writeNabResults } = await import('../bench/nab/index.ts');
  const outDir = opts.out ?? join('bench-results', `nab-${opts.type}${opts.rangeHints === 'file' ? '-range-hints' : ''}`);
  const progress = createProgress(`NAB ${opts.type}`);
  let result;
  try {
    result = await runNab({
      dataDir: opts.data,
      kind: opts.type,
      rangeHints: opts.rangeHints ?? 'none',
      onProgress: (done, total, file) => progress.update(total > 0 ? done / total : 0, file),
    });
  } finally {
    progress.done();
  }
  await writeNabResults(result, outDir);
  const score = (x: { normalized: number; windows: number } | undefined): string => (x && x.windows > 0 ? fmt(x.normalized, 2) : '-');
  const { nab, dev } = result.evaluations;
  const fileCount = (split: string) => Object.values(result.split).filter((s) => s === split).length;
  const honest = table(
    ['profile', 'threshold', 'dev', 'heldout', 'all', 'target'],
    NAB_PROFILE_NAMES.map((p) => [p, fmt(dev.thresholds[p], 4), score(dev.subsets.dev[p]), score(dev.subsets.heldout[p]), score(dev.subsets.all[p]), String(NAB_TARGETS[p])]),
  );
  const convention = table(
    ['profile', 'threshold', 'dev', 'heldout', 'all', 'windows', 'false pos.', 'target'],
    NAB_PROFILE_NAMES.map((p) => {
      const s = nab.subsets.all[p];
      return [p, fmt(nab.thresholds[p], 4), score(nab.subsets.dev[p]), score(nab.subsets.heldout[p]), fmt(s.normalized, 2), `${s.windowsDetected}/${s.windows}`, String(s.falsePositives), String(NAB_TARGETS[p])];
    }),
  );
  const categoryTables = NAB_PROFILE_NAMES.map((p) => {
    const rows = Object.entries(nab.categories).map(([name, c]) => [
      name,
      score(dev.categories[name]?.heldout?.[p]),
      score(c.dev?.[p]),
      score(c.heldout?.[p]),
      score(c.all?.[p]),
    ]);
    return `${p} by category\n${table(['category', 'heldout (dev thr.)', 'dev', 'heldout', 'all'], rows)}`;
  });
  const anchors = NAB_ANCHORS.map((a) => `${a.name} ${a.standard.toFixed(2)} / ${a.reward_low_FP_rate.toFixed(2)} / ${a.reward_low_FN_rate.toFixed(2)}`).join(', ');
  const sections = [
    `NAB scores for ${opts.type}: ${result.files.length} files, ${result.rows} rows (data ${opts.data}). ` +
      `Online: a fresh detector per file, never fitted, exactly as "vigil detect --type ${opts.type} --input FILE --out OUT" scores it; ` +
      (result.rangeHints === 'file'
        ? `range hints: FILE (each file's min and max given to the detector: a comparison only, not the default path).`
        : `range hints: none.`),
    `Parameters used (artifact params): ${JSON.stringify(result.detectorParams)}${Object.keys(result.params).length > 0 ? `; passed: ${JSON.stringify(result.params)}` : ''}`,
    `Split: dev = ${fileCount('dev')} files, heldout = ${fileCount('heldout')} files (all file paths sorted, alternately dev and heldout; listed in src/bench/nab/split.ts).\n` +
      `Targets (issue 11): standard >= ${NAB_TARGETS.standard}, reward_low_FP_rate >= ${NAB_TARGETS.reward_low_FP_rate}, reward_low_FN_rate >= ${NAB_TARGETS.reward_low_FN_rate}. ` +
      `Published (standard / low FP / low FN; file range hints, threshold on the whole corpus): ${anchors}.`,
    `Threshold chosen on dev, applied unchanged to heldout (honest: heldout is unseen)\n${honest}`,
    `NAB's convention: threshold chosen on the whole corpus (as published scores are)\n${convention}`,
    ...categoryTables,
    `Results written to ${outDir}`,
  ];
  process.stdout.write(`${sections.join('\n\n')}\n`);
}

/**
 * Adds `train`, `detect`, `detectors` and `bench {nab,synthetic}` to the `vigil` program.
 * Input and usage errors exit with code 2, unexpected failures with 1; progress goes to
 * stderr only when it is a terminal.
 */
export function registerDetectorCommands(program: Command): void {
  const typeOption = () =>
    new Option('-t, --type <kind>', 'detector kind (see "vigil detectors")').default(DEFAULT_DETECTOR_KIND);

  program
    .command('train')
    .description('Train a detector on normal data and write the model file')
    .requiredOption('-i, --input <csv>', 'normal data: CSV with timestamp,value columns')
    .requiredOption('-o, --out <model>', 'where to write the model (JSON)')
    .addOption(typeOption())
    .option('--seed <n>', 'random seed', parseSeed)
    .option('--skip-bad', 'skip bad rows instead of failing')
    .action(guarded('train', (opts: TrainOptions) => train(opts)));

  program
    .command('detect')
    .description('Score a CSV with a trained model (--model), or online without training (--type, default: the default kind)')
    .option('-m, --model <model>', 'model file written by "vigil train"')
    .option('-t, --type <kind>', `detector kind, scored online without training (default ${DEFAULT_DETECTOR_KIND} when no --model)`)
    .requiredOption('-i, --input <csv>', 'data: CSV with timestamp,value columns')
    .requiredOption('-o, --out <csv>', 'where to write timestamp,value,anomaly_score,is_anomaly')
    .option('--skip-bad', 'skip bad rows instead of failing')
    .action(guarded('detect', (opts: DetectOptions) => detect(opts)));

  program
    .command('detectors')
    .description('List the available detector kinds and their parameters')
    .option('--json', 'print JSON')
    .action(guarded('detectors', (opts: { json?: boolean }) => detectorsList(opts)));

  const bench = program.command('bench').description('Run detector benchmarks');
  bench
    .command('nab')
    .description('Score a detector on the Numenta Anomaly Benchmark')
    .requiredOption('-d, --data <dir>', 'NAB checkout or its data directory')
    .addOption(typeOption())
    .option('-o, --out <dir>', 'results directory (default: bench-results/nab-<kind>/)')
    .addOption(new Option('--range-hints <mode>', "none (default: what a user gets) or file (comparison only: give range-aware kinds each file's min and max, as NAB's harness does)").choices(['none', 'file']).default('none'))
    .action(guarded('bench nab', (opts: { data: string; type: string; out?: string; rangeHints: 'none' | 'file' }) => benchNab(opts)));
  bench
    .command('synthetic')
    .description('Event-level precision, recall, F1 and false alarms per hour on seeded sensor-fault traces (dev and held-out seeds)')
    .option('-t, --type <kind>', 'detector kind, or "all"', DEFAULT_DETECTOR_KIND)
    .addOption(new Option('--mode <mode>', 'fit on the training part (as "vigil train"), score online without fitting (as "vigil detect --type"), or both').choices(['fit', 'online', 'both']).default('both'))
    .addOption(new Option('--split <split>', 'seed split to run').choices(['dev', 'heldout', 'all']).default('all'))
    .option('--traces <n>', 'traces per split (default: the split size, 48)', parsePositiveInt)
    .option('--json', 'print JSON')
    .action(guarded('bench synthetic', (opts: SyntheticOptions) => benchSynthetic(opts)));
  bench
    .command('periodic')
    .description('Shape anomalies in periodic series, UCR-style accuracy on development and held-out seeds, with anchors')
    .addOption(typeOption())
    .option('--no-anchors', 'skip the subsequence-channel, matrix-profile and isolation-forest anchors')
    .option('--limit <n>', 'series per split (default: all 84)', parsePositiveInt)
    .option('--json', 'print JSON')
    .action(guarded('bench periodic', (opts: PeriodicOptions) => benchPeriodic(opts)));
}
