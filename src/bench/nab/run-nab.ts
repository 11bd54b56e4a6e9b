/**
 * Runs a detector kind over a NAB-layout folder in online mode and scores it with NAB's rules.
 * @module
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createDetector, factoryOf } from '../../detectors/registry.ts';
import type { DetectorKind } from '../../detectors/types.ts';
import { parseTimeseriesCsv, parseTimestamp } from '../../lib/timeseries-csv.ts';
import { renderNabReport } from './report.ts';
import {
  NAB_PROFILES,
  NAB_PROFILE_NAMES,
  normalizeScore,
  optimizeThreshold,
  rowWindows,
  scoreFile,
  sweepFile,
  type FileScore,
  type FileSweep,
  type NabProfileName,
  type RowWindow,
} from './scorer.ts';

/**
 * The one parameter set used for `robust` on NAB when none is given: surprises re-expressed as
 * rarity within each stream (NAB picks one threshold for streams of very different noise), a
 * longer baseline window and a lower hold-off trigger on that rarity scale.
 */
export const NAB_ROBUST_PARAMS: Readonly<Record<string, unknown>> = { window: 512, horizon: 1000, rarityHorizon: 100_000, alarmSurprise: 2, holdoffMargin: 1, holdoffFactor: 0, absoluteZScale: 0 };

/**
 * The one parameter set used for `context` on NAB when none is given (tuned on the whole corpus,
 * the same set with and without range hints): coarser level bins than the live default, a wider
 * learned range, a lower alarm surprise (NAB runs without `fit`, so nothing calibrates it) and
 * almost no floor under the spread of the raw scores (NAB's threshold sweep sets the sensitivity).
 */
export const NAB_CONTEXT_PARAMS: Readonly<Record<string, unknown>> = { levels: 8, rangePad: 0.2, alarmSurprise: 5, minSpread: 0.001 };

const NAB_DEFAULT_PARAMS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = { robust: NAB_ROBUST_PARAMS, context: NAB_CONTEXT_PARAMS };

export interface RunNabOptions {
  /** A folder with `data/<category>/<file>.csv` and `labels/combined_windows.json`. */
  dataDir: string;
  /** Detector kind (default `robust`). */
  kind?: string;
  /** Detector params; defaults to {@link NAB_ROBUST_PARAMS} for `robust` and {@link NAB_CONTEXT_PARAMS} for `context`. */
  params?: Record<string, unknown>;
  /**
   * `file` gives kinds with `rangeMin`/`rangeMax` params each file's value range, as NAB gives its
   * detectors `inputMin`/`inputMax` (a stand-in for a device's known measurement range, but a
   * look at the whole file); `none` (default) leaves them to learn the range online.
   */
  rangeHints?: 'file' | 'none';
  /** Only files whose relative path contains one of these strings (all files when absent). */
  only?: readonly string[];
  onProgress?: (done: number, total: number, file: string) => void;
}

/** One file's detector output and its score per profile. */
export interface NabFileResult {
  /** Path relative to `data/`, e.g. `realKnownCause/nyc_taxi.csv`. */
  file: string;
  category: string;
  rows: number;
  windows: RowWindow[];
  timestamps: string[];
  values: Float64Array;
  anomalyScores: Float64Array;
  scores: Record<NabProfileName, FileScore>;
}

/** Corpus (or category) totals for one profile. */
export interface NabProfileScore {
  threshold: number;
  raw: number;
  null: number;
  perfect: number;
  /** 100·(raw − null)/(perfect − null). */
  normalized: number;
  windowsDetected: number;
  windows: number;
  falsePositives: number;
}

export interface NabResult {
  kind: string;
  params: Record<string, unknown>;
  /** Whether the kind was given each file's value range (see {@link RunNabOptions.rangeHints}). */
  rangeHints: 'file' | 'none';
  rows: number;
  elapsedMs: number;
  profiles: Record<NabProfileName, NabProfileScore>;
  categories: Record<string, Record<NabProfileName, NabProfileScore>>;
  files: NabFileResult[];
}

type WindowLabels = Record<string, Array<[string, string]>>;

async function listCsvFiles(dataRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (const category of (await readdir(dataRoot, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const f of (await readdir(join(dataRoot, category))).filter((x) => x.endsWith('.csv')).sort()) out.push(`${category}/${f}`);
  }
  return out;
}

function toMs(text: string): number {
  const t = parseTimestamp(text);
  if (t === undefined) throw new Error(`Unreadable window timestamp "${text}" in combined_windows.json.`);
  return t;
}

function emptyProfileScore(threshold: number): NabProfileScore {
  return { threshold, raw: 0, null: 0, perfect: 0, normalized: 0, windowsDetected: 0, windows: 0, falsePositives: 0 };
}

function finish(s: NabProfileScore): NabProfileScore {
  return { ...s, normalized: s.perfect === s.null ? 0 : normalizeScore(s.raw, s.null, s.perfect) };
}

/** `rangeMin`/`rangeMax` of a file's values (a span of 1 when the file is constant). */
function valueRange(rows: ReadonlyArray<{ value: number }>): { rangeMin: number; rangeMax: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    lo = Math.min(lo, r.value);
    hi = Math.max(hi, r.value);
  }
  return { rangeMin: lo, rangeMax: hi > lo ? hi : lo + 1 };
}

/**
 * Runs a fresh detector per file (no prior training: the probationary period is its warm-up),
 * chooses one threshold per profile over the whole corpus and scores every file at it.
 */
export async function runNab(options: RunNabOptions): Promise<NabResult> {
  const kind = options.kind ?? 'robust';
  const params = options.params ?? { ...NAB_DEFAULT_PARAMS[kind] };
  const rangeHinted = options.rangeHints === 'file' && (factoryOf(kind as DetectorKind)?.descriptor.params.some((p) => p.name === 'rangeMax') ?? false);
  const started = performance.now();
  const labels = JSON.parse(await readFile(join(options.dataDir, 'labels', 'combined_windows.json'), 'utf8')) as WindowLabels;
  let files = await listCsvFiles(join(options.dataDir, 'data'));
  if (options.only) files = files.filter((f) => options.only?.some((o) => f.includes(o)));

  const results: Omit<NabFileResult, 'scores'>[] = [];
  let rows = 0;
  for (const [k, file] of files.entries()) {
    const parsed = parseTimeseriesCsv(await readFile(join(options.dataDir, 'data', file), 'utf8'), { skipBad: true });
    const n = parsed.rows.length;
    const detector = createDetector(kind, { params: rangeHinted ? { ...params, ...valueRange(parsed.rows) } : params });
    const anomalyScores = new Float64Array(n);
    const values = new Float64Array(n);
    const ts = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const row = parsed.rows[i]!;
      ts[i] = row.ts;
      values[i] = row.value;
      anomalyScores[i] = detector.score({ ts: row.ts, value: row.value }).anomaly_score;
    }
    const windows = rowWindows(ts, (labels[file] ?? []).map(([a, b]) => [toMs(a), toMs(b)] as const));
    results.push({
      file,
      category: file.split('/')[0] ?? '',
      rows: n,
      windows,
      timestamps: parsed.rows.map((r) => r.timestamp),
      values,
      anomalyScores,
    });
    rows += n;
    options.onProgress?.(k + 1, files.length, file);
  }

  const totalWindows = Object.entries(labels)
    .filter(([f]) => files.includes(f))
    .reduce((acc, [, w]) => acc + w.length, 0);
  const profiles = {} as Record<NabProfileName, NabProfileScore>;
  const categories: Record<string, Record<NabProfileName, NabProfileScore>> = {};
  const fileScores = results.map(() => ({}) as Record<NabProfileName, FileScore>);
  for (const name of NAB_PROFILE_NAMES) {
    const profile = NAB_PROFILES[name];
    const sweeps: FileSweep[] = results.map((r) => sweepFile(r.anomalyScores, r.windows, profile));
    const { threshold } = optimizeThreshold(sweeps, profile);
    const total = emptyProfileScore(threshold);
    for (const [k, r] of results.entries()) {
      const fs = scoreFile(sweeps[k]!, threshold, profile);
      fileScores[k]![name] = fs;
      const cat = (categories[r.category] ??= {} as Record<NabProfileName, NabProfileScore>);
      const c = (cat[name] ??= emptyProfileScore(threshold));
      for (const acc of [total, c]) {
        acc.raw += fs.score;
        acc.null -= profile.fnWeight * fs.windowsScored;
        acc.windowsDetected += fs.windowsDetected;
        acc.windows += r.windows.length;
        acc.falsePositives += fs.fp;
      }
      c.perfect += profile.tpWeight * (labels[r.file]?.length ?? 0);
    }
    total.perfect = profile.tpWeight * totalWindows;
    profiles[name] = finish(total);
    for (const cat of Object.values(categories)) cat[name] = finish(cat[name]!);
  }
  return {
    kind,
    params,
    rangeHints: rangeHinted ? 'file' : 'none',
    rows,
    elapsedMs: performance.now() - started,
    profiles,
    categories,
    files: results.map((r, k) => ({ ...r, scores: fileScores[k]! })),
  };
}

/** A JSON-friendly summary of a run (no per-row data). */
export function summarizeNab(result: NabResult): Record<string, unknown> {
  return {
    kind: result.kind,
    params: result.params,
    range_hints: result.rangeHints,
    rows: result.rows,
    elapsed_ms: Math.round(result.elapsedMs),
    profiles: result.profiles,
    categories: result.categories,
    files: result.files.map((f) => ({ file: f.file, rows: f.rows, windows: f.windows.length, scores: f.scores })),
  };
}

/**
 * Writes `<category>/<kind>_<file>.csv` per file (NAB results layout:
 * `timestamp,value,anomaly_score,label`), `summary.json` and a self-contained `report.html`.
 */
export async function writeNabResults(result: NabResult, outDir: string): Promise<void> {
  for (const f of result.files) {
    const [category, name] = f.file.split('/');
    const path = join(outDir, category ?? '', `${result.kind}_${name ?? f.file}`);
    await mkdir(dirname(path), { recursive: true });
    const label = new Uint8Array(f.rows);
    for (const w of f.windows) label.fill(1, w.start, w.end + 1);
    const lines = ['timestamp,value,anomaly_score,label'];
    for (let i = 0; i < f.rows; i++) lines.push(`${f.timestamps[i]},${f.values[i]},${Number((f.anomalyScores[i] as number).toFixed(6))},${label[i]}`);
    await writeFile(path, `${lines.join('\n')}\n`);
  }
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'summary.json'), `${JSON.stringify(summarizeNab(result), null, 2)}\n`);
  await writeFile(join(outDir, 'report.html'), renderNabReport(result));
}
