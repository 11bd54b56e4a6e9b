/**
 * `autoencoder`: a small dense autoencoder (window → 16 → 4 → 16 → window, tanh hidden layers)
 * over mean-removed windows of the most recent readings; the reconstruction error is the raw
 * score, calibrated on held-out windows.
 *
 * `fit` trains with `@tensorflow/tfjs` on its default pure-JS CPU backend (loaded lazily, so
 * the other kinds never pay for it; `tfjs-node` is not available and the wasm backend would
 * need its binaries located at run time). Seeded initialisers, a seeded per-epoch shuffle and
 * the deterministic CPU kernels make training reproducible for a seed.
 * After training the weights are copied into Float32Arrays and scoring is a plain TypeScript
 * forward pass, so a live instance is cheap and the artifact is plain JSON.
 *
 * Created without `fit`, the detector buffers `warmup` readings and then trains synchronously
 * with a small built-in TypeScript Adam trainer (same architecture), so online mode stays
 * causal and deterministic.
 */
import { calibrate, isCalibration, type Calibration } from './calibration.ts';
import {
  asRecord,
  assertEnoughData,
  finiteNumber,
  fitTailCalibration,
  holdoutSize,
  invalidArtifact,
  MAD_TO_SIGMA,
  makeScore,
  num,
  numberArray,
  readParams,
  throwIfAborted,
  warmingScore,
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
  Signal,
  WarmupState,
} from './types.ts';

const KIND = 'autoencoder' as const;
const ARTIFACT_VERSION = 1;
const DEFAULT_TARGET_FAR = 0.001;
const HIDDEN = 16;
const CODE = 4;

const descriptor: DetectorDescriptor = {
  kind: KIND,
  description: 'Dense autoencoder over mean-removed windows; reconstruction error, calibrated.',
  trainable: true,
  online: true,
  params: [
    { name: 'window', type: 'integer', default: 32, min: 8, max: 256, description: 'Readings per input window.' },
    { name: 'epochs', type: 'integer', default: 20, min: 1, max: 500, description: 'Training epochs.' },
    { name: 'batchSize', type: 'integer', default: 64, min: 1, max: 4096, description: 'Mini-batch size.' },
    { name: 'learningRate', type: 'number', default: 0.003, min: 1e-6, max: 1, description: 'Adam learning rate.' },
    { name: 'warmup', type: 'integer', default: 1200, min: 200, max: 100_000, description: 'Readings buffered before an unfitted detector trains itself.' },
  ],
};

/** One dense layer; `w` is [in][out] row-major, as tfjs stores kernels. */
interface Layer {
  nIn: number;
  nOut: number;
  w: Float32Array;
  b: Float32Array;
  tanh: boolean;
}

function layerShapes(window: number): Array<[number, number, boolean]> {
  return [
    [window, HIDDEN, true],
    [HIDDEN, CODE, false],
    [CODE, HIDDEN, true],
    [HIDDEN, window, false],
  ];
}

function glorotLayers(window: number, rng: Rng): Layer[] {
  return layerShapes(window).map(([nIn, nOut, tanh]) => {
    const limit = Math.sqrt(6 / (nIn + nOut));
    const w = new Float32Array(nIn * nOut);
    for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-limit, limit);
    return { nIn, nOut, w, b: new Float32Array(nOut), tanh };
  });
}

/** Forward pass; fills `acts[l]` with each layer's output and returns the last. */
function forward(layers: readonly Layer[], x: Float32Array, acts: Float32Array[]): Float32Array {
  let input = x;
  for (let l = 0; l < layers.length; l++) {
    const L = layers[l] as Layer;
    const out = acts[l] as Float32Array;
    out.set(L.b);
    for (let i = 0; i < L.nIn; i++) {
      const xi = input[i] as number;
      if (xi === 0) continue;
      const row = i * L.nOut;
      for (let j = 0; j < L.nOut; j++) out[j] = (out[j] as number) + xi * (L.w[row + j] as number);
    }
    if (L.tanh) for (let j = 0; j < L.nOut; j++) out[j] = Math.tanh(out[j] as number);
    input = out;
  }
  return input;
}

function allocActs(layers: readonly Layer[]): Float32Array[] {
  return layers.map((L) => new Float32Array(L.nOut));
}

/** A small deterministic Adam trainer for the online mode (mean-squared reconstruction error). */
function trainTs(layers: Layer[], data: readonly Float32Array[], epochs: number, batchSize: number, lr: number, rng: Rng): number {
  const acts = allocActs(layers);
  const deltas = allocActs(layers);
  const gw = layers.map((L) => new Float32Array(L.w.length));
  const gb = layers.map((L) => new Float32Array(L.b.length));
  const mw = layers.map((L) => new Float32Array(L.w.length));
  const vw = layers.map((L) => new Float32Array(L.w.length));
  const mb = layers.map((L) => new Float32Array(L.b.length));
  const vb = layers.map((L) => new Float32Array(L.b.length));
  const b1 = 0.9;
  const b2 = 0.999;
  let t = 0;
  let lossSum = 0;
  const order = data.map((_, i) => i);
  for (let e = 0; e < epochs; e++) {
    shuffle(order, rng);
    lossSum = 0;
    for (let start = 0; start < order.length; start += batchSize) {
      const end = Math.min(order.length, start + batchSize);
      for (const g of gw) g.fill(0);
      for (const g of gb) g.fill(0);
      for (let k = start; k < end; k++) {
        const x = data[order[k] as number] as Float32Array;
        const y = forward(layers, x, acts);
        const dOut = deltas[layers.length - 1] as Float32Array;
        for (let j = 0; j < y.length; j++) {
          const diff = (y[j] as number) - (x[j] as number);
          lossSum += (diff * diff) / y.length;
          dOut[j] = (2 * diff) / y.length;
        }
        for (let l = layers.length - 1; l >= 0; l--) {
          const L = layers[l] as Layer;
          const d = deltas[l] as Float32Array;
          const input = l === 0 ? x : (acts[l - 1] as Float32Array);
          const gW = gw[l] as Float32Array;
          const gB = gb[l] as Float32Array;
          for (let j = 0; j < L.nOut; j++) gB[j] = (gB[j] as number) + (d[j] as number);
          for (let i = 0; i < L.nIn; i++) {
            const xi = input[i] as number;
            const row = i * L.nOut;
            for (let j = 0; j < L.nOut; j++) gW[row + j] = (gW[row + j] as number) + xi * (d[j] as number);
          }
          if (l > 0) {
            const prev = layers[l - 1] as Layer;
            const dp = deltas[l - 1] as Float32Array;
            for (let i = 0; i < L.nIn; i++) {
              let s = 0;
              const row = i * L.nOut;
              for (let j = 0; j < L.nOut; j++) s += (L.w[row + j] as number) * (d[j] as number);
              const a = input[i] as number;
              dp[i] = prev.tanh ? s * (1 - a * a) : s;
            }
          }
        }
      }
      t++;
      const n = end - start;
      const c1 = 1 - Math.pow(b1, t);
      const c2 = 1 - Math.pow(b2, t);
      for (let l = 0; l < layers.length; l++) {
        adam((layers[l] as Layer).w, gw[l] as Float32Array, mw[l] as Float32Array, vw[l] as Float32Array, n, lr, c1, c2);
        adam((layers[l] as Layer).b, gb[l] as Float32Array, mb[l] as Float32Array, vb[l] as Float32Array, n, lr, c1, c2);
      }
    }
  }
  return lossSum / Math.max(1, data.length);
}

function adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, c1: number, c2: number): void {
  for (let i = 0; i < p.length; i++) {
    const gi = (g[i] as number) / n;
    m[i] = 0.9 * (m[i] as number) + 0.1 * gi;
    v[i] = 0.999 * (v[i] as number) + 0.001 * gi * gi;
    p[i] = (p[i] as number) - (lr * ((m[i] as number) / c1)) / (Math.sqrt((v[i] as number) / c2) + 1e-7);
  }
}

function shuffle(a: number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
}

/** Mean-removed, scaled windows of `values` ending at each index from `window - 1` on. */
function windows(values: readonly number[], window: number, scale: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let end = window; end <= values.length; end++) out.push(normalise(values, end - window, window, scale, new Float32Array(window)));
  return out;
}

function normalise(values: ArrayLike<number>, from: number, window: number, scale: number, out: Float32Array): Float32Array {
  let mean = 0;
  for (let i = 0; i < window; i++) mean += values[from + i] as number;
  mean /= window;
  for (let i = 0; i < window; i++) out[i] = ((values[from + i] as number) - mean) / scale;
  return out;
}

/** A robust scale of the mean-removed windows: median absolute deviation of values from their window mean. */
function detrendedScale(values: readonly number[], window: number): number {
  const devs: number[] = [];
  for (let end = window; end <= values.length; end += Math.max(1, Math.floor(window / 4))) {
    let mean = 0;
    for (let i = end - window; i < end; i++) mean += values[i] as number;
    mean /= window;
    for (let i = end - window; i < end; i++) devs.push(Math.abs((values[i] as number) - mean));
  }
  devs.sort((a, b) => a - b);
  const mad = devs[Math.floor(devs.length / 2)] ?? 0;
  return Math.max(mad * MAD_TO_SIGMA, 1e-6);
}

interface Model {
  layers: Layer[];
  scale: number;
  calibration: Calibration;
}

export class AutoencoderDetector implements Detector {
  readonly kind = KIND;
  readonly trainable = true;
  readonly minFitSamples: number;
  threshold: number;
  private model: Model | undefined;
  private readonly win: number;
  private readonly ring: Float64Array;
  private head = 0;
  private count = 0;
  private readonly x: Float32Array;
  private readonly linear: Float64Array;
  private acts: Float32Array[] = [];
  private warmBuffer: Reading[] = [];
  private metrics: Record<string, number> = {};

  constructor(
    readonly params: Params,
    readonly seed: number,
    threshold: number,
  ) {
    this.threshold = threshold;
    this.win = num(params, 'window');
    this.ring = new Float64Array(this.win);
    this.x = new Float32Array(this.win);
    this.linear = new Float64Array(this.win);
    this.minFitSamples = this.win * 4 + 200;
  }

  async fit(normal: readonly Reading[], options: FitOptions = {}): Promise<FitReport> {
    assertEnoughData(KIND, normal, this.minFitSamples);
    throwIfAborted(options.signal);
    const values = normal.map((r) => r.value);
    const w = this.win;
    const nHold = holdoutSize(values.length, options.holdoutFraction);
    const trainValues = values.slice(0, values.length - nHold);
    const scale = detrendedScale(trainValues, w);
    const train = windows(trainValues, w, scale);
    const hold = windows(values.slice(values.length - nHold - w + 1), w, scale);
    const epochs = num(this.params, 'epochs');
    const tf = await import('@tensorflow/tfjs');
    // Production mode: skips debug checks and the console banner urging tfjs-node (not available here).
    tf.enableProdMode();
    const shapes = layerShapes(w);
    const model = tf.sequential();
    shapes.forEach(([nIn, nOut, tanh], i) => {
      model.add(
        tf.layers.dense({
          units: nOut,
          inputShape: i === 0 ? [nIn] : undefined,
          activation: tanh ? 'tanh' : 'linear',
          kernelInitializer: tf.initializers.glorotUniform({ seed: this.seed * 16 + i }),
          biasInitializer: 'zeros',
        }),
      );
    });
    model.compile({ optimizer: tf.train.adam(num(this.params, 'learningRate')), loss: 'meanSquaredError' });
    const rng = new Rng(this.seed);
    const order = train.map((_, i) => i);
    const flat = new Float32Array(train.length * w);
    let loss = Number.NaN;
    try {
      for (let e = 0; e < epochs; e++) {
        throwIfAborted(options.signal);
        shuffle(order, rng);
        order.forEach((k, i) => flat.set(train[k] as Float32Array, i * w));
        const xs = tf.tensor2d(flat, [train.length, w]);
        try {
          const h = await model.fit(xs, xs, { epochs: 1, batchSize: num(this.params, 'batchSize'), shuffle: false, verbose: 0 });
          loss = Number(h.history.loss?.[0] ?? Number.NaN);
        } finally {
          xs.dispose();
        }
        options.onProgress?.((e + 1) / (epochs + 1), `epoch ${e + 1}/${epochs} loss ${loss.toFixed(4)}`);
      }
      throwIfAborted(options.signal);
      const weights = model.getWeights().map((t) => Float32Array.from(t.dataSync()));
      const layers = shapes.map(([nIn, nOut, tanh], i): Layer => ({ nIn, nOut, tanh, w: weights[2 * i] as Float32Array, b: weights[2 * i + 1] as Float32Array }));
      this.finish(layers, scale, hold, values, options.targetFalseAlarmRate ?? DEFAULT_TARGET_FAR);
    } finally {
      model.dispose();
    }
    this.metrics.final_loss = loss;
    this.metrics.epochs = epochs;
    options.onProgress?.(1, 'done');
    return { kind: KIND, samples: normal.length, threshold: this.threshold, metrics: { ...this.metrics } };
  }

  private finish(layers: Layer[], scale: number, hold: readonly Float32Array[], values: readonly number[], far: number): void {
    const acts = allocActs(layers);
    const raw = hold.map((x) => reconstructionError(layers, x, acts));
    const calibration = fitTailCalibration(raw, far);
    this.model = { layers, scale, calibration };
    this.acts = acts;
    const alarms = raw.filter((r) => calibrate(r, calibration) >= 0.5).length;
    this.metrics = { holdout_windows: raw.length, holdout_false_alarm_rate: alarms / Math.max(1, raw.length), raw_center: calibration.center, scale };
    this.head = 0;
    this.count = 0;
    for (const v of values.slice(-this.win)) this.push(v);
    this.warmBuffer = [];
  }

  /** Online mode: trains on the warm-up buffer with the TypeScript trainer. */
  private fitOnline(): void {
    const values = this.warmBuffer.map((r) => r.value);
    const w = this.win;
    const nHold = holdoutSize(values.length, 0.25);
    const trainValues = values.slice(0, values.length - nHold);
    const scale = detrendedScale(trainValues, w);
    const rng = new Rng(this.seed);
    const layers = glorotLayers(w, rng);
    const loss = trainTs(layers, windows(trainValues, w, scale), num(this.params, 'epochs'), num(this.params, 'batchSize'), num(this.params, 'learningRate'), rng);
    this.finish(layers, scale, windows(values.slice(values.length - nHold - w + 1), w, scale), values, DEFAULT_TARGET_FAR);
    this.metrics.final_loss = loss;
  }

  private push(v: number): void {
    this.ring[this.head] = v;
    this.head = (this.head + 1) % this.win;
    if (this.count < this.win) this.count++;
  }

  score(reading: Reading): Score {
    if (!this.model) {
      this.warmBuffer.push(reading);
      if (this.warmBuffer.length >= num(this.params, 'warmup')) this.fitOnline();
      return warmingScore(KIND);
    }
    this.push(reading.value);
    if (this.count < this.win) return warmingScore(KIND);
    const w = this.win;
    for (let i = 0; i < w; i++) this.linear[i] = this.ring[(this.head + i) % w] as number;
    const m = this.model;
    normalise(this.linear, 0, w, m.scale, this.x);
    const err = reconstructionError(m.layers, this.x, this.acts);
    const p = calibrate(err, m.calibration);
    const s = makeScore(p, this.threshold, KIND, 'pattern');
    if (s.is_anomaly) {
      const out = this.acts[this.acts.length - 1] as Float32Array;
      const lastErr = Math.abs((out[w - 1] as number) - (this.x[w - 1] as number));
      s.contributions = [{ name: 'reconstruction_error', weight: err }, { name: 'last_reading_error', weight: lastErr }];
      s.signal = signalOf(this.x, out);
    }
    return s;
  }

  warmup(): WarmupState {
    if (!this.model) {
      const size = num(this.params, 'warmup');
      return { window_progress: this.warmBuffer.length / size, window_size: size, current_window: this.warmBuffer.length, status: 'warming_up' };
    }
    return { window_progress: this.count / this.win, window_size: this.win, current_window: this.count, status: this.count >= this.win ? 'ml_ready' : 'warming_up' };
  }

  serialize(): DetectorArtifact {
    const m = this.model;
    const recent: number[] = [];
    for (let i = 0; i < this.count; i++) recent.push(this.ring[(this.head - this.count + i + this.win) % this.win] as number);
    return {
      format: 'vigil-detector',
      version: ARTIFACT_VERSION,
      kind: KIND,
      seed: this.seed,
      threshold: this.threshold,
      params: { ...this.params },
      state: {
        model: m ? { scale: m.scale, calibration: m.calibration, layers: m.layers.map((L) => ({ w: Array.from(L.w), b: Array.from(L.b) })) } : null,
        recent,
        warmBuffer: this.warmBuffer.map((r) => [r.ts, r.value]),
      },
      metrics: { ...this.metrics },
    };
  }

  /** @internal Used by `restore`. */
  load(state: ValidState, metrics: Record<string, number> | undefined): void {
    if (state.model) {
      const layers = layerShapes(this.win).map(([nIn, nOut, tanh], i): Layer => {
        const L = (state.model as ValidModel).layers[i] as { w: number[]; b: number[] };
        return { nIn, nOut, tanh, w: Float32Array.from(L.w), b: Float32Array.from(L.b) };
      });
      this.model = { layers, scale: state.model.scale, calibration: state.model.calibration };
      this.acts = allocActs(layers);
    }
    for (const v of state.recent) this.push(v);
    this.warmBuffer = state.warmBuffer.map(([ts, value]) => ({ ts, value }));
    this.metrics = { ...(metrics ?? {}) };
  }
}

function reconstructionError(layers: readonly Layer[], x: Float32Array, acts: Float32Array[]): number {
  const y = forward(layers, x, acts);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const d = (y[i] as number) - (x[i] as number);
    s += d * d;
  }
  return s / x.length;
}

function signalOf(x: Float32Array, y: Float32Array): Signal {
  const w = x.length;
  let total = 0;
  let lastPart = 0;
  for (let i = 0; i < w; i++) {
    const d = Math.abs((y[i] as number) - (x[i] as number));
    total += d;
    if (i >= w - 3) lastPart += d;
  }
  return lastPart > 0.5 * total ? 'spike' : 'pattern';
}

interface ValidModel {
  scale: number;
  calibration: Calibration;
  layers: Array<{ w: number[]; b: number[] }>;
}

interface ValidState {
  model: ValidModel | null;
  recent: number[];
  warmBuffer: Array<[number, number]>;
}

function validateState(state: unknown, window?: number): ValidState {
  const s = asRecord(KIND, state, 'state');
  const recent = numberArray(KIND, s.recent, 'state.recent');
  if (window !== undefined && recent.length > window) throw invalidArtifact(KIND, 'state.recent is longer than the window');
  if (!Array.isArray(s.warmBuffer) || !s.warmBuffer.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
    throw invalidArtifact(KIND, 'state.warmBuffer must be [ts, value] pairs');
  }
  let model: ValidModel | null = null;
  if (s.model !== null) {
    const m = asRecord(KIND, s.model, 'state.model');
    const scale = finiteNumber(KIND, m.scale, 'state.model.scale');
    if (!(scale > 0)) throw invalidArtifact(KIND, 'state.model.scale must be positive');
    if (!isCalibration(m.calibration)) throw invalidArtifact(KIND, 'state.model.calibration is malformed');
    if (!Array.isArray(m.layers) || m.layers.length !== 4) throw invalidArtifact(KIND, 'state.model.layers must hold 4 layers');
    const shapes = window !== undefined ? layerShapes(window) : undefined;
    const layers = m.layers.map((x: unknown, i) => {
      const L = asRecord(KIND, x, `layer ${i}`);
      const shape = shapes?.[i];
      return {
        w: numberArray(KIND, L.w, `layer ${i} weights`, shape ? shape[0] * shape[1] : undefined),
        b: numberArray(KIND, L.b, `layer ${i} biases`, shape ? shape[1] : undefined),
      };
    });
    model = { scale, calibration: m.calibration, layers };
  }
  return { model, recent, warmBuffer: s.warmBuffer as Array<[number, number]> };
}

export const autoencoderFactory: DetectorFactory & { validateState(state: unknown, artifact?: DetectorArtifact): void } = {
  descriptor,
  create(options: CreateDetectorOptions): AutoencoderDetector {
    return new AutoencoderDetector(readParams(KIND, descriptor.params, options.params), options.seed ?? 1, options.threshold ?? 0.5);
  },
  restore(artifact: DetectorArtifact): AutoencoderDetector {
    const params = readParams(KIND, descriptor.params, artifact.params);
    const state = validateState(artifact.state, num(params, 'window'));
    const d = new AutoencoderDetector(params, artifact.seed, artifact.threshold);
    d.load(state, artifact.metrics);
    return d;
  },
  validateState(state: unknown, artifact?: DetectorArtifact): void {
    if (artifact) validateState(state, num(readParams(KIND, descriptor.params, artifact.params), 'window'));
    else validateState(state);
  },
};

