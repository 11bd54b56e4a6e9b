/**
 * `iforest`: Isolation Forest (Liu, Ting & Zhou, 2008) over window features.
 *
 * `fit` builds the trees on the earlier part of the normal data and calibrates on the later,
 * held-out part. Created without `fit`, the detector buffers `warmup` readings, fits on them
 * synchronously (tree building is fast) and scores every reading after that, so it stays causal.
 */
import { calibrate, isCalibration, type Calibration } from './calibration.ts';
import {
  DEFAULT_FEATURE_WINDOW,
  FEATURE_COUNT,
  FEATURE_NAMES,
  SHAPE_FEATURES,
  WindowFeatures,
  featureRecord,
  isWindowSnapshot,
  signalOfFeature,
  type WindowSnapshot,
} from './features.ts';
import {
  asRecord,
  assertEnoughData,
  finiteNumber,
  fitTailCalibration,
  holdoutSize,
  invalidArtifact,
  makeScore,
  num,
  numberArray,
  readParams,
  throwIfAborted,
  warmingScore,
  yieldToLoop,
  type Params,
} from './ml-shared.ts';
import { Rng } from './random.ts';
import type { DetectorFactory } from './registry.ts';
import type {
  CreateDetectorOptions,
  Detector,
  DetectorArtifact,
  DetectorDescriptor,
  FitOptions,
  FitReport,
  Reading,
  Score,
  WarmupState,
} from './types.ts';

const KIND = 'iforest' as const;
const ARTIFACT_VERSION = 1;
const DEFAULT_TARGET_FAR = 0.001;
const TOP_CONTRIBUTIONS = 3;

const descriptor: DetectorDescriptor = {
  kind: KIND,
  description: 'Isolation Forest over window features (shape, spread, robust z of the last reading, repeat runs, gaps).',
  trainable: true,
  online: true,
  params: [
    { name: 'trees', type: 'integer', default: 100, min: 1, max: 1000, description: 'Number of isolation trees.' },
    { name: 'sampleSize', type: 'integer', default: 256, min: 8, max: 4096, description: 'Sub-sample size per tree.' },
    { name: 'window', type: 'integer', default: DEFAULT_FEATURE_WINDOW, min: 8, max: 2000, description: 'Readings per feature window.' },
    { name: 'warmup', type: 'integer', default: 600, min: 100, max: 100_000, description: 'Readings buffered before an unfitted detector fits itself.' },
    { name: 'levelFeatures', type: 'boolean', default: false, description: 'Also isolate on absolute-level features (mean, median, …); off because slow baseline wander then raises false alarms.' },
  ],
};

const EULER = 0.5772156649015329;

/** Average path length of an unsuccessful BST search among n points. */
export function averagePathLength(n: number): number {
  if (n > 2) return 2 * (Math.log(n - 1) + EULER) - (2 * (n - 1)) / n;
  return n === 2 ? 1 : 0;
}

export interface ForestState {
  featureIndex: number[];
  sampleSize: number;
  roots: number[];
  /** Split feature position in `featureIndex`, or -1 for a leaf. */
  feat: number[];
  split: number[];
  left: number[];
  right: number[];
  /** Points that reached a leaf (0 for internal nodes). */
  size: number[];
}

class Forest {
  /** Feature-vector column of each node's split (featureIndex already applied), -1 for leaves. */
  private readonly column: Int16Array;
  private readonly split: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly leafAdj: Float64Array;
  private readonly roots: Int32Array;
  private readonly cn: number;

  constructor(readonly state: ForestState) {
    this.column = Int16Array.from(state.feat, (f) => (f >= 0 ? (state.featureIndex[f] as number) : -1));
    this.split = Float64Array.from(state.split);
    this.left = Int32Array.from(state.left);
    this.right = Int32Array.from(state.right);
    this.leafAdj = Float64Array.from(state.size, averagePathLength);
    this.roots = Int32Array.from(state.roots);
    this.cn = averagePathLength(Math.min(state.sampleSize, Number.MAX_SAFE_INTEGER));
  }

  static build(rows: readonly Float64Array[], featureIndex: number[], trees: number, sampleSize: number, rng: Rng): Forest {
    const psi = Math.min(sampleSize, rows.length);
    const maxDepth = Math.ceil(Math.log2(Math.max(psi, 2)));
    const st: ForestState = { featureIndex, sampleSize: psi, roots: [], feat: [], split: [], left: [], right: [], size: [] };
    const d = featureIndex.length;
    const newNode = (): number => {
      st.feat.push(-1);
      st.split.push(0);
      st.left.push(-1);
      st.right.push(-1);
      st.size.push(0);
      return st.feat.length - 1;
    };
    const grow = (idx: number[], depth: number): number => {
      const node = newNode();
      if (depth >= maxDepth || idx.length <= 1) {
        st.size[node] = idx.length;
        return node;
      }
      for (let attempt = 0; attempt < d; attempt++) {
        const fpos = rng.int(d);
        const f = featureIndex[fpos] as number;
        let lo = Infinity;
        let hi = -Infinity;
        for (const i of idx) {
          const v = (rows[i] as Float64Array)[f] as number;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (!(hi > lo)) continue;
        const cut = rng.uniform(lo, hi);
        const l: number[] = [];
        const r: number[] = [];
        for (const i of idx) {
          if (((rows[i] as Float64Array)[f] as number) < cut) l.push(i);
          else r.push(i);
        }
        st.feat[node] = fpos;
        st.split[node] = cut;
        const ln = grow(l, depth + 1);
        const rn = grow(r, depth + 1);
        st.left[node] = ln;
        st.right[node] = rn;
        return node;
      }
      st.size[node] = idx.length;
      return node;
    };
    const all = rows.map((_, i) => i);
    for (let t = 0; t < trees; t++) {
      for (let i = 0; i < psi; i++) {
        const j = i + rng.int(all.length - i);
        const tmp = all[i] as number;
        all[i] = all[j] as number;
        all[j] = tmp;
      }
      st.roots.push(grow(all.slice(0, psi), 0));
    }
    return new Forest(st);
  }

  /** The isolation score 2^(-E[h(x)] / c(ψ)), in (0, 1]. */
  score(x: Float64Array): number {
    const column = this.column;
    const split = this.split;
    const left = this.left;
    const right = this.right;
    const roots = this.roots;
    let total = 0;
    const nTrees = roots.length;
    for (let t = 0; t < nTrees; t++) {
      let node = roots[t] as number;
      let depth = 0;
      let f = column[node] as number;
      while (f >= 0) {
        node = (x[f] as number) < (split[node] as number) ? (left[node] as number) : (right[node] as number);
        depth++;
        f = column[node] as number;
      }
      total += depth + (this.leafAdj[node] as number);
    }
    return Math.pow(2, -total / nTrees / this.cn);
  }
}

interface Model {
  forest: Forest;
  calibration: Calibration;
  /** Per-feature median and robust scale of the training rows, for contributions. */
  median: number[];
  scale: number[];
}

function robustStats(rows: readonly Float64Array[]): { median: number[]; scale: number[] } {
  const median: number[] = [];
  const scale: number[] = [];
  const col = new Float64Array(rows.length);
  for (let f = 0; f < FEATURE_COUNT; f++) {
    for (let i = 0; i < rows.length; i++) col[i] = (rows[i] as Float64Array)[f] as number;
    col.sort();
    const q = (p: number): number => col[Math.min(col.length - 1, Math.floor(p * (col.length - 1)))] as number;
    const m = q(0.5);
    const iqr = q(0.75) - q(0.25);
    median.push(m);
    scale.push(Math.max(iqr / 1.349, (q(0.99) - q(0.01)) / 4.65, 1e-9 * (1 + Math.abs(m))));
  }
  return { median, scale };
}

function featureIndexFor(levelFeatures: boolean): number[] {
  const names: readonly string[] = levelFeatures ? FEATURE_NAMES.filter((n) => n !== 'cv') : SHAPE_FEATURES;
  return names.map((n) => FEATURE_NAMES.indexOf(n as (typeof FEATURE_NAMES)[number]));
}

export class IForestDetector implements Detector {
  readonly kind = KIND;
  readonly trainable = true;
  readonly minFitSamples: number;
  threshold: number;
  private window: WindowFeatures;
  private model: Model | undefined;
  private warmBuffer: Reading[] = [];
  private metrics: Record<string, number> = {};
  /** True after `fit` / `resume`: the next reading starts a new stream, so the window's older timestamps are moved up to it. */
  private resumeGap = false;
  private readonly row = new Float64Array(FEATURE_COUNT);

  constructor(
    readonly params: Params,
    readonly seed: number,
    threshold: number,
  ) {
    this.threshold = threshold;
    this.window = new WindowFeatures(num(params, 'window'));
    this.minFitSamples = num(params, 'window') + 150;
  }

  async fit(normal: readonly Reading[], options: FitOptions = {}): Promise<FitReport> {
    assertEnoughData(KIND, normal, this.minFitSamples);
    throwIfAborted(options.signal);
    options.onProgress?.(0, 'features');
    await yieldToLoop();
    throwIfAborted(options.signal);
    this.fitSync(normal, options);
    // The window still holds the last training readings; live data follows after a pause.
    this.resume();
    options.onProgress?.(1, 'done');
    return { kind: KIND, samples: normal.length, threshold: this.threshold, metrics: { ...this.metrics } };
  }

  private fitSync(normal: readonly Reading[], options: FitOptions): void {
    const window = new WindowFeatures(num(this.params, 'window'));
    const rows: Float64Array[] = [];
    for (const r of normal) {
      window.push(r);
      if (window.ready) rows.push(window.compute());
    }
    const nHold = holdoutSize(rows.length, options.holdoutFraction);
    const train = rows.slice(0, rows.length - nHold);
    const hold = rows.slice(rows.length - nHold);
    throwIfAborted(options.signal);
    const rng = new Rng(this.seed);
    const forest = Forest.build(train, featureIndexFor(this.params.levelFeatures === true), num(this.params, 'trees'), num(this.params, 'sampleSize'), rng);
    const holdRaw = hold.map((x) => forest.score(x));
    const targetFAR = options.targetFalseAlarmRate ?? DEFAULT_TARGET_FAR;
    const calibration = fitTailCalibration(holdRaw, targetFAR);
    const alarms = holdRaw.filter((s) => calibrate(s, calibration) >= 0.5).length;
    this.model = { forest, calibration, ...robustStats(train) };
    this.window = window;
    this.warmBuffer = [];
    this.metrics = {
      train_rows: train.length,
      holdout_rows: hold.length,
      holdout_false_alarm_rate: alarms / hold.length,
      raw_center: calibration.center,
      nodes: forest.state.feat.length,
    };
  }

  resume(): void {
    this.resumeGap = true;
  }

  score(reading: Reading): Score {
    if (this.resumeGap) {
      // The pause before a resumed stream is no gap (the gap_ratio feature would call it a dropout).
      this.resumeGap = false;
      this.window.rebaseTo(reading.ts);
    }
    if (!this.model) {
      this.warmBuffer.push(reading);
      if (this.warmBuffer.length >= num(this.params, 'warmup')) this.fitSync(this.warmBuffer, {});
      return warmingScore(KIND);
    }
    this.window.push(reading);
    if (!this.window.ready) return warmingScore(KIND);
    const x = this.window.compute(this.row);
    const m = this.model;
    const p = calibrate(m.forest.score(x), m.calibration);
    if (p < this.threshold) return makeScore(p, this.threshold, KIND, 'none');
    const contributions = this.contributions(x, m);
    const top = contributions[0]?.name ?? 'last_z';
    const s = makeScore(p, this.threshold, KIND, signalOfFeature(top));
    s.contributions = contributions;
    s.features = featureRecord(x);
    return s;
  }

  private contributions(x: Float64Array, m: Model): Array<{ name: string; weight: number }> {
    const fi = m.forest.state.featureIndex;
    const all = fi.map((f) => ({ name: FEATURE_NAMES[f] as string, weight: Math.abs(((x[f] as number) - (m.median[f] as number)) / (m.scale[f] as number)) }));
    all.sort((a, b) => b.weight - a.weight);
    const top = all.slice(0, TOP_CONTRIBUTIONS);
    const total = top.reduce((a, c) => a + c.weight, 0) || 1;
    return top.map((c) => ({ name: c.name, weight: c.weight / total }));
  }

  warmup(): WarmupState {
    if (!this.model) {
      const size = num(this.params, 'warmup');
      return { window_progress: this.warmBuffer.length / size, window_size: size, current_window: this.warmBuffer.length, status: 'warming_up' };
    }
    const size = this.window.size;
    const cur = this.window.count;
    return { window_progress: cur / size, window_size: size, current_window: cur, status: this.window.ready ? 'ml_ready' : 'warming_up' };
  }

  serialize(): DetectorArtifact {
    const m = this.model;
    return {
      format: 'vigil-detector',
      version: ARTIFACT_VERSION,
      kind: KIND,
      seed: this.seed,
      threshold: this.threshold,
      params: { ...this.params },
      state: {
        model: m ? { forest: m.forest.state, calibration: m.calibration, median: m.median, scale: m.scale } : null,
        window: this.window.snapshot(),
        warmBuffer: this.warmBuffer.map((r) => [r.ts, r.value]),
        ...(this.resumeGap && { resumeGap: true }),
      },
      metrics: { ...this.metrics },
    };
  }

  /** @internal Used by `restore`. */
  load(state: ValidState, metrics: Record<string, number> | undefined): void {
    if (state.model) {
      this.model = {
        forest: new Forest(state.model.forest),
        calibration: state.model.calibration,
        median: state.model.median,
        scale: state.model.scale,
      };
    }
    this.window.restore(state.window);
    this.warmBuffer = state.warmBuffer.map(([ts, value]) => ({ ts, value }));
    this.resumeGap = state.resumeGap;
    this.metrics = { ...(metrics ?? {}) };
  }
}

interface ValidState {
  model: { forest: ForestState; calibration: Calibration; median: number[]; scale: number[] } | null;
  window: WindowSnapshot;
  warmBuffer: Array<[number, number]>;
  resumeGap: boolean;
}

function validateForest(x: unknown): ForestState {
  const f = asRecord(KIND, x, 'state.model.forest');
  const featureIndex = numberArray(KIND, f.featureIndex, 'forest.featureIndex');
  if (!featureIndex.every((i) => Number.isInteger(i) && i >= 0 && i < FEATURE_COUNT)) throw invalidArtifact(KIND, 'forest.featureIndex out of range');
  const featArr = numberArray(KIND, f.feat, 'forest.feat');
  const n = featArr.length;
  const split = numberArray(KIND, f.split, 'forest.split', n);
  const left = numberArray(KIND, f.left, 'forest.left', n);
  const right = numberArray(KIND, f.right, 'forest.right', n);
  const size = numberArray(KIND, f.size, 'forest.size', n);
  const roots = numberArray(KIND, f.roots, 'forest.roots');
  const sampleSize = finiteNumber(KIND, f.sampleSize, 'forest.sampleSize');
  const inRange = (i: number): boolean => Number.isInteger(i) && i >= 0 && i < n;
  if (roots.length === 0 || !roots.every(inRange)) throw invalidArtifact(KIND, 'forest.roots out of range');
  for (let i = 0; i < n; i++) {
    const fp = featArr[i] as number;
    if (fp === -1) continue;
    if (!Number.isInteger(fp) || fp < 0 || fp >= featureIndex.length) throw invalidArtifact(KIND, 'forest.feat out of range');
    // Children always come after their parent, which also rules out cycles.
    const l = left[i] as number;
    const r = right[i] as number;
    if (!inRange(l) || !inRange(r) || l <= i || r <= i) throw invalidArtifact(KIND, 'forest children out of range');
  }
  return { featureIndex, sampleSize, roots, feat: featArr, split, left, right, size };
}

function validateState(state: unknown): ValidState {
  const s = asRecord(KIND, state, 'state');
  if (!isWindowSnapshot(s.window)) throw invalidArtifact(KIND, 'state.window is malformed');
  if (!Array.isArray(s.warmBuffer) || !s.warmBuffer.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
    throw invalidArtifact(KIND, 'state.warmBuffer must be [ts, value] pairs');
  }
  if (s.resumeGap !== undefined && typeof s.resumeGap !== 'boolean') throw invalidArtifact(KIND, 'state.resumeGap must be a boolean');
  let model: ValidState['model'] = null;
  if (s.model !== null) {
    const m = asRecord(KIND, s.model, 'state.model');
    if (!isCalibration(m.calibration)) throw invalidArtifact(KIND, 'state.model.calibration is malformed');
    model = {
      forest: validateForest(m.forest),
      calibration: m.calibration,
      median: numberArray(KIND, m.median, 'state.model.median', FEATURE_COUNT),
      scale: numberArray(KIND, m.scale, 'state.model.scale', FEATURE_COUNT),
    };
  }
  return { model, window: s.window, warmBuffer: s.warmBuffer as Array<[number, number]>, resumeGap: s.resumeGap === true };
}

export const iforestFactory: DetectorFactory & { validateState(state: unknown): void } = {
  descriptor,
  create(options: CreateDetectorOptions): Detector {
    return new IForestDetector(readParams(KIND, descriptor.params, options.params), options.seed ?? 1, options.threshold ?? 0.5);
  },
  restore(artifact: DetectorArtifact): Detector {
    const state = validateState(artifact.state);
    const d = new IForestDetector(readParams(KIND, descriptor.params, artifact.params), artifact.seed, artifact.threshold);
    d.load(state, artifact.metrics);
    return d;
  },
  validateState(state: unknown): void {
    validateState(state);
  },
};
