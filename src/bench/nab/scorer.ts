/**
 * The Numenta Anomaly Benchmark scoring rules, following NAB's `sweeper.py` (v1.1):
 * per-row sweep scores, a corpus-wide threshold sweep per profile, per-file scoring at that
 * threshold and normalisation against the null and perfect detectors.
 * @module
 */

/** Weights of one NAB application profile. */
export interface NabProfile {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export const NAB_PROFILES = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
} as const satisfies Record<string, NabProfile>;
export type NabProfileName = keyof typeof NAB_PROFILES;
export const NAB_PROFILE_NAMES = Object.keys(NAB_PROFILES) as NabProfileName[];

const PROBATION_PERCENT = 0.15;

/** Rows at the start of a file that are never scored: min(floor(0.15·rows), 0.15·5000). */
export function probationaryLength(rows: number, percent = PROBATION_PERCENT): number {
  return Math.min(Math.floor(percent * rows), percent * 5000);
}

/** NAB's scaled sigmoid: 2/(1+e^{5x}) − 1, and −1 from x ≥ 3 on. */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

/** An anomaly window as inclusive row indices. */
export interface RowWindow {
  start: number;
  end: number;
}

/** Marks for {@link FileSweep.windowOf}. */
const OUTSIDE = -1;
const PROBATION = -2;

/** One file's rows, ready for threshold sweeps. */
export interface FileSweep {
  scores: Float64Array;
  /** Profile-weighted contribution of a detection at each row. */
  sweep: Float64Array;
  /** Window id (index into the file's windows) per row; -1 outside windows, -2 probationary. */
  windowOf: Int32Array;
  /** Windows that own at least one scored row, each starting as a false negative. */
  scoredWindows: number[];
  windowCount: number;
}

/**
 * Converts timestamp windows (as in `combined_windows.json`) to row windows: the first row at or
 * after the start through the last row at or before the end. Windows matching no row are dropped.
 */
export function rowWindows(timestamps: ArrayLike<number>, windows: ReadonlyArray<readonly [number, number]>): RowWindow[] {
  const out: RowWindow[] = [];
  const n = timestamps.length;
  for (const [t1, t2] of [...windows].sort((a, b) => a[0] - b[0])) {
    const start = lowerBound(timestamps, t1);
    let end = lowerBound(timestamps, t2);
    if (end >= n || (timestamps[end] as number) > t2) end -= 1;
    if (start < n && end >= start) out.push({ start, end });
  }
  return out;
}

function lowerBound(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Per-row sweep scores of one file (NAB `Sweeper.calcSweepScore`): inside a window a detection
 * earns tpWeight·σ(−(right−i+1)/width)/σ(−1); outside it costs fpWeight·σ(|i−prevRight|/(prevWidth−1)),
 * or the full fpWeight before the first window.
 */
export function sweepFile(scores: ArrayLike<number>, windows: readonly RowWindow[], profile: NabProfile): FileSweep {
  const n = scores.length;
  const probation = probationaryLength(n);
  const maxTp = scaledSigmoid(-1);
  const sweep = new Float64Array(n);
  const windowOf = new Int32Array(n).fill(OUTSIDE);
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  let w = 0;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    const cur = sorted[w];
    const inside = cur !== undefined && i >= cur.start && i <= cur.end;
    if (inside) {
      const width = cur.end - cur.start + 1;
      sweep[i] = (scaledSigmoid(-(cur.end - i + 1) / width) * profile.tpWeight) / maxTp;
      windowOf[i] = w;
    } else {
      const position = prevRight < 0 ? 3 : prevWidth > 1 ? Math.abs(prevRight - i) / (prevWidth - 1) : 3;
      sweep[i] = scaledSigmoid(position) * profile.fpWeight;
    }
    if (i < probation) windowOf[i] = PROBATION;
    if (inside && i === cur.end) {
      prevRight = i;
      prevWidth = cur.end - cur.start + 1;
      w += 1;
    }
  }
  const scoredWindows = sorted.flatMap((win, id) => (win.end >= probation ? [id] : []));
  return { scores: Float64Array.from(scores), sweep, windowOf, scoredWindows, windowCount: sorted.length };
}

/** The score of one file at one threshold, with NAB's row counts. */
export interface FileScore {
  score: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** Windows with at least one detection. */
  windowsDetected: number;
  windowsScored: number;
}

/** Scores one file: detections are scored rows with `score >= threshold` (NAB `scoreDataSet`). */
export function scoreFile(file: FileSweep, threshold: number, profile: NabProfile): FileScore {
  const best = new Map<number, number>(file.scoredWindows.map((id) => [id, -profile.fnWeight]));
  let fpSum = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < file.scores.length; i++) {
    const win = file.windowOf[i] as number;
    if (win === PROBATION) continue;
    const detected = (file.scores[i] as number) >= threshold;
    if (win === OUTSIDE) {
      if (detected) {
        fp += 1;
        fpSum += file.sweep[i] as number;
      } else tn += 1;
    } else if (detected) {
      tp += 1;
      best.set(win, Math.max(best.get(win) as number, file.sweep[i] as number));
    } else fn += 1;
  }
  let score = fpSum;
  let windowsDetected = 0;
  for (const v of best.values()) {
    score += v;
    if (v > -profile.fnWeight) windowsDetected += 1;
  }
  return { score, tp, fp, fn, tn, windowsDetected, windowsScored: best.size };
}

export interface ThresholdScore {
  threshold: number;
  score: number;
}

/**
 * NAB `calcScoreByThreshold` over a whole corpus: the total score for every distinct anomaly
 * score used as threshold (plus 1.1, which detects nothing), highest threshold first.
 * O(R log R) in the number of scored rows.
 */
export function sweepThresholds(files: readonly FileSweep[], profile: NabProfile): ThresholdScore[] {
  let total = 0;
  const windowBase: number[] = [];
  for (const f of files) {
    windowBase.push(total);
    total += f.windowCount;
  }
  const best = new Float64Array(total).fill(Number.NaN);
  let current = 0;
  for (const [k, f] of files.entries()) {
    for (const id of f.scoredWindows) {
      best[(windowBase[k] as number) + id] = -profile.fnWeight;
      current -= profile.fnWeight;
    }
  }
  let rows = 0;
  for (const f of files) for (let i = 0; i < f.windowOf.length; i++) if ((f.windowOf[i] as number) !== PROBATION) rows += 1;
  const score = new Float64Array(rows);
  const sweep = new Float64Array(rows);
  const win = new Int32Array(rows);
  let r = 0;
  for (const [k, f] of files.entries()) {
    for (let i = 0; i < f.windowOf.length; i++) {
      const w = f.windowOf[i] as number;
      if (w === PROBATION) continue;
      score[r] = f.scores[i] as number;
      sweep[r] = f.sweep[i] as number;
      win[r] = w === OUTSIDE ? OUTSIDE : (windowBase[k] as number) + w;
      r += 1;
    }
  }
  const order = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;
  order.sort((a, b) => (score[b] as number) - (score[a] as number) || a - b);
  const out: ThresholdScore[] = [];
  let threshold = 1.1;
  for (let j = 0; j < rows; j++) {
    const i = order[j] as number;
    const s = score[i] as number;
    if (s !== threshold) {
      out.push({ threshold, score: current });
      threshold = s;
    }
    const w = win[i] as number;
    if (w === OUTSIDE) current += sweep[i] as number;
    else {
      const prev = best[w] as number;
      const next = Math.max(prev, sweep[i] as number);
      if (next !== prev) {
        best[w] = next;
        current += next - prev;
      }
    }
  }
  out.push({ threshold, score: current });
  return out;
}

/** The best threshold for a profile (ties go to the highest threshold, as NAB's stable sort does). */
export function optimizeThreshold(files: readonly FileSweep[], profile: NabProfile): ThresholdScore {
  let best: ThresholdScore = { threshold: 1.1, score: Number.NEGATIVE_INFINITY };
  for (const t of sweepThresholds(files, profile)) if (t.score > best.score) best = t;
  return best;
}

/** NAB normalisation: 100·(raw − null)/(perfect − null). */
export function normalizeScore(raw: number, nullScore: number, perfectScore: number): number {
  return (100 * (raw - nullScore)) / (perfectScore - nullScore);
}
