/**
 * Runs a detector kind over a NAB-layout folder in online mode and scores it with NAB's rules.
 * @module
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createDetector, factoryOf } from '../../detectors/registry.ts';
import { DEFAULT_DETECTOR_KIND, type DetectorKind } from '../../detectors/types.ts';
import { parseTimeseriesCsv, parseTimestamp } from '../../lib/timeseries-csv.ts';
import { renderNabReport } from './report.ts';
import { NAB_SPLIT, splitNabFiles, type NabSplit } from './split.ts';
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

export interface RunNabOptions {
  /** A folder with `data/<category>/<file>.csv` and `labels/combined_windows.json`. */
  dataDir: string;
  /** Detector kind (default: the default kind). */
  kind?: string;
  /**
   * Detector params for experiments (`cli-dev.ts`). `vigil bench nab` never passes any: it builds
   * each file's detector exactly as `vigil detect --type KIND` does, with the kind's defaults.
   */
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

/** Which files a score covers. */
export type NabSubset = NabSplit | 'all';
export const NAB_SUBSETS: readonly NabSubset[] = ['dev', 'heldout', 'all'];

/**
 * Scores under one way of choosing each profile's threshold: `nab` chooses it on the whole corpus
 * (NAB's convention; every published score is measured so), `dev` chooses it on the dev files only
 * and applies it unchanged to the held-out files (the honest number for unseen data is `heldout`).
 */
export interface NabThresholdEvaluation {
  thresholds: Record<NabProfileName, number>;
  subsets: Record<NabSubset, Record<NabProfileName, NabProfileScore>>;
  /** Per category and subset (a subset with no file of the category is absent). */
  categories: Record<string, Partial<Record<NabSubset, Record<NabProfileName, NabProfileScore>>>>;
}

export interface NabResult {
  kind: string;
  /** Params passed to the detector (empty on the default path). */
  params: Record<string, unknown>;
  /** The params the detector actually ran with: its artifact's `params` (defaults filled in). */
  detectorParams: Record<string, unknown>;
  /** Split of each scored file. */
  split: Record<string, NabSplit>;
  evaluations: { nab: NabThresholdEvaluation; dev: NabThresholdEvaluation };
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
  const kind = options.kind ?? DEFAULT_DETECTOR_KIND;
  const params = options.params ?? {};
  const rangeHinted = options.rangeHints === 'file' && (factoryOf(kind as DetectorKind)?.descriptor.params.some((p) => p.name === 'rangeMax') ?? false);
  const started = performance.now();
  const labels = JSON.parse(await readFile(join(options.dataDir, 'labels', 'combined_windows.json'), 'utf8')) as WindowLabels;
  let files = await listCsvFiles(join(options.dataDir, 'data'));
  const ruleSplit = splitNabFiles(files);
  const split: Record<string, NabSplit> = Object.fromEntries(files.map((f) => [f, NAB_SPLIT[f] ?? (ruleSplit[f] as NabSplit)]));
  if (options.only) files = files.filter((f) => options.only?.some((o) => f.includes(o)));

  const results: Omit<NabFileResult, 'scores'>[] = [];
  let rows = 0;
  let detectorParams: Record<string, unknown> = createDetector(kind, Object.keys(params).length > 0 ? { params } : {}).serialize().params;
  for (const [k, file] of files.entries()) {
    // Rows are scored in file order, as `vigil detect` does; a clock that steps back is kept.
    const parsed = parseTimeseriesCsv(await readFile(join(options.dataDir, 'data', file), 'utf8'), { skipBad: true });
    const n = parsed.rows.length;
    const hinted = rangeHinted ? { ...params, ...valueRange(parsed.rows) } : params;
    // With no params this is what `vigil detect --type KIND` builds: createDetector(kind, {}).
    const detector = createDetector(kind, Object.keys(hinted).length > 0 ? { params: hinted } : {});
    if (k === 0) detectorParams = detector.serialize().params;
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

  const sweeps = {} as Record<NabProfileName, FileSweep[]>;
  for (const name of NAB_PROFILE_NAMES) sweeps[name] = results.map((r) => sweepFile(r.anomalyScores, r.windows, NAB_PROFILES[name]));
  const inSubset = (subset: NabSubset) => (file: string) => subset === 'all' || split[file] === subset;
  const evaluate = (choose: NabSubset): NabThresholdEvaluation => {
    const thresholds = {} as Record<NabProfileName, number>;
    for (const name of NAB_PROFILE_NAMES) {
      const chosen = sweeps[name].filter((_, k) => inSubset(choose)(results[k]!.file));
      thresholds[name] = optimizeThreshold(chosen, NAB_PROFILES[name]).threshold;
    }
    const subsets = {} as Record<NabSubset, Record<NabProfileName, NabProfileScore>>;
    const categories: NabThresholdEvaluation['categories'] = {};
    for (const subset of NAB_SUBSETS) {
      subsets[subset] = {} as Record<NabProfileName, NabProfileScore>;
      for (const name of NAB_PROFILE_NAMES) {
        const profile = NAB_PROFILES[name];
        const total = emptyProfileScore(thresholds[name]);
        const perCat = new Map<string, NabProfileScore>();
        for (const [k, r] of results.entries()) {
          if (!inSubset(subset)(r.file)) continue;
          const fs = scoreFile(sweeps[name][k]!, thresholds[name], profile);
          const c = perCat.get(r.category) ?? emptyProfileScore(thresholds[name]);
          perCat.set(r.category, c);
          for (const acc of [total, c]) addFile(acc, fs, profile, labels[r.file]?.length ?? 0, r.windows.length);
        }
        subsets[subset][name] = finish(total);
        for (const [cat, c] of perCat) ((categories[cat] ??= {})[subset] ??= {} as Record<NabProfileName, NabProfileScore>)[name] = finish(c);
      }
    }
    return { thresholds, subsets, categories };
  };
  const nab = evaluate('all');
  const dev = evaluate('dev');
  const fileScores = results.map((r, k) => {
    const out = {} as Record<NabProfileName, FileScore>;
    for (const name of NAB_PROFILE_NAMES) out[name] = scoreFile(sweeps[name][k]!, nab.thresholds[name], NAB_PROFILES[name]);
    return out;
  });
  const categories: Record<string, Record<NabProfileName, NabProfileScore>> = {};
  for (const [cat, c] of Object.entries(nab.categories)) if (c.all) categories[cat] = c.all;
  return {
    kind,
    params,
    detectorParams,
    split: Object.fromEntries(results.map((r) => [r.file, split[r.file] as NabSplit])),
    evaluations: { nab, dev },
    rangeHints: rangeHinted ? 'file' : 'none',
    rows,
    elapsedMs: performance.now() - started,
    profiles: nab.subsets.all,
    categories,
    files: results.map((r, k) => ({ ...r, scores: fileScores[k]! })),
  };
}

function addFile(acc: NabProfileScore, fs: FileScore, profile: (typeof NAB_PROFILES)[NabProfileName], labelledWindows: number, windows: number): void {
  acc.raw += fs.score;
  acc.null -= profile.fnWeight * fs.windowsScored;
  acc.perfect += profile.tpWeight * labelledWindows;
  acc.windowsDetected += fs.windowsDetected;
  acc.windows += windows;
  acc.falsePositives += fs.fp;
}

/** A JSON-friendly summary of a run (no per-row data). */
export function summarizeNab(result: NabResult): Record<string, unknown> {
  return {
    kind: result.kind,
    params: result.params,
    detector_params: result.detectorParams,
    range_hints: result.rangeHints,
    split: result.split,
    threshold_on_whole_corpus: result.evaluations.nab,
    threshold_on_dev: result.evaluations.dev,
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
