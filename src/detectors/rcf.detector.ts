/**
 * `rcf`: Random Cut Forest (Guha et al., 2016) over shingled readings, streaming as in the
 * AWS/OpenSearch implementation: each tree keeps a time-decayed reservoir sample of shingles,
 * inserting and deleting points as the stream goes, and a point is scored before it is inserted
 * with the standard RCF anomaly score (expected inverse isolation depth, normalised so that
 * typical points score about 1).
 *
 * Online by nature; `fit` streams the normal data as a warm start and calibrates on the scores
 * of its later part, each of which was computed before that point entered the forest.
 */
import { calibrate, isCalibration, type Calibration } from './calibration.ts';
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
import { Rng, deriveSeed } from './random.ts';
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

const KIND = 'rcf' as const;
const ARTIFACT_VERSION = 1;
const DEFAULT_TARGET_FAR = 0.001;
const MAX_SKIP = 100;
const SKIP_LEAK = 0.25;

const descriptor: DetectorDescriptor = {
  kind: KIND,
  description: 'Streaming Random Cut Forest over shingled readings (reservoir-sampled trees, standard RCF score).',
  trainable: true,
  online: true,
  params: [
    { name: 'trees', type: 'integer', default: 30, min: 1, max: 500, description: 'Number of random cut trees.' },
    { name: 'sampleSize', type: 'integer', default: 256, min: 8, max: 4096, description: 'Reservoir size per tree.' },
    { name: 'shingle', type: 'integer', default: 8, min: 1, max: 64, description: 'Consecutive readings per point.' },
    { name: 'horizon', type: 'integer', default: 2048, min: 16, max: 1_000_000, description: 'Readings after which the reservoir replaces points at a constant rate (time decay).' },
    { name: 'updateEvery', type: 'integer', default: 1, min: 1, max: 64, description: 'Every reading is scored; only every n-th is offered to the reservoirs (overlapping shingles make neighbours near-duplicates).' },
    { name: 'warmup', type: 'integer', default: 600, min: 50, max: 100_000, description: 'Readings streamed before an unfitted detector calibrates itself and starts alarming.' },
  ],
};

/**
 * One random cut tree with a fixed node pool. Leaves hold a point (lo = hi = point) and its
 * multiplicity; internal nodes hold a cut and the bounding box of their subtree.
 */
class RcfTree {
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly parent: Int32Array;
  readonly cutDim: Int16Array;
  readonly cutVal: Float64Array;
  readonly mass: Int32Array;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  private readonly free: Int32Array;
  private freeTop: number;
  root = -1;
  readonly path: Int32Array;
  private readonly widths: Float64Array;

  constructor(
    readonly dim: number,
    capacity: number,
  ) {
    this.left = new Int32Array(capacity).fill(-1);
    this.right = new Int32Array(capacity).fill(-1);
    this.parent = new Int32Array(capacity).fill(-1);
    this.cutDim = new Int16Array(capacity).fill(-1);
    this.cutVal = new Float64Array(capacity);
    this.mass = new Int32Array(capacity);
    this.lo = new Float64Array(capacity * dim);
    this.hi = new Float64Array(capacity * dim);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
    this.path = new Int32Array(capacity);
    this.widths = new Float64Array(dim);
  }

  /** @internal Takes a node from the pool. */
  alloc(): number {
    if (this.freeTop === 0) throw new Error('rcf node pool exhausted');
    const n = this.free[--this.freeTop] as number;
    this.left[n] = -1;
    this.right[n] = -1;
    this.parent[n] = -1;
    this.cutDim[n] = -1;
    this.mass[n] = 0;
    return n;
  }

  private release(n: number): void {
    this.free[this.freeTop++] = n;
  }

  private newLeaf(p: Float64Array): number {
    const n = this.alloc();
    const d = this.dim;
    for (let k = 0; k < d; k++) {
      this.lo[n * d + k] = p[k] as number;
      this.hi[n * d + k] = p[k] as number;
    }
    this.mass[n] = 1;
    return n;
  }

  /** Inserts `p`; returns the leaf that now holds it. */
  insert(p: Float64Array, rng: Rng): number {
    if (this.root < 0) {
      this.root = this.newLeaf(p);
      return this.root;
    }
    const d = this.dim;
    const lo = this.lo;
    const hi = this.hi;
    const widths = this.widths;
    let node = this.root;
    for (;;) {
      const base = node * d;
      let total = 0;
      for (let k = 0; k < d; k++) {
        const v = p[k] as number;
        const l = lo[base + k] as number;
        const h = hi[base + k] as number;
        const w = (h > v ? h : v) - (l < v ? l : v);
        widths[k] = w;
        total += w;
      }
      if (total === 0) {
        // p equals this leaf's point: count it again.
        for (let n = node; n >= 0; n = this.parent[n] as number) this.mass[n] = (this.mass[n] as number) + 1;
        return node;
      }
      let r = rng.next() * total;
      let dimCut = d - 1;
      for (let k = 0; k < d - 1; k++) {
        const w = widths[k] as number;
        if (r < w) {
          dimCut = k;
          break;
        }
        r -= w;
      }
      const vc = p[dimCut] as number;
      const lc = lo[base + dimCut] as number;
      const cut = (lc < vc ? lc : vc) + Math.min(r, widths[dimCut] as number);
      const pv = p[dimCut] as number;
      const nlo = lo[base + dimCut] as number;
      const nhi = hi[base + dimCut] as number;
      const separates = (pv < nlo && cut < nlo) || (pv > nhi && cut >= nhi);
      if (separates || this.cutDim[node] === -1) {
        const leaf = this.newLeaf(p);
        const inner = this.alloc();
        const up = this.parent[node] as number;
        this.cutDim[inner] = dimCut;
        // A leaf whose point differs from p is always separable; guard the degenerate case anyway.
        this.cutVal[inner] = separates ? cut : pv < nlo ? (pv + nlo) / 2 : (pv + nhi) / 2;
        const pGoesLeft = pv <= (this.cutVal[inner] as number);
        this.left[inner] = pGoesLeft ? leaf : node;
        this.right[inner] = pGoesLeft ? node : leaf;
        this.parent[leaf] = inner;
        this.parent[node] = inner;
        this.parent[inner] = up;
        this.mass[inner] = (this.mass[node] as number) + 1;
        const ib = inner * d;
        for (let k = 0; k < d; k++) {
          lo[ib + k] = Math.min(lo[base + k] as number, p[k] as number);
          hi[ib + k] = Math.max(hi[base + k] as number, p[k] as number);
        }
        if (up < 0) this.root = inner;
        else if (this.left[up] === node) this.left[up] = inner;
        else this.right[up] = inner;
        return leaf;
      }
      this.mass[node] = (this.mass[node] as number) + 1;
      for (let k = 0; k < d; k++) {
        if ((p[k] as number) < (lo[base + k] as number)) lo[base + k] = p[k] as number;
        if ((p[k] as number) > (hi[base + k] as number)) hi[base + k] = p[k] as number;
      }
      node = (p[this.cutDim[node] as number] as number) <= (this.cutVal[node] as number) ? (this.left[node] as number) : (this.right[node] as number);
    }
  }

  /** Removes one copy of the point held by `leaf`. */
  remove(leaf: number): void {
    this.mass[leaf] = (this.mass[leaf] as number) - 1;
    if ((this.mass[leaf] as number) > 0) {
      for (let n = this.parent[leaf] as number; n >= 0; n = this.parent[n] as number) this.mass[n] = (this.mass[n] as number) - 1;
      return;
    }
    const par = this.parent[leaf] as number;
    this.release(leaf);
    if (par < 0) {
      this.root = -1;
      return;
    }
    const sib = this.left[par] === leaf ? (this.right[par] as number) : (this.left[par] as number);
    const gp = this.parent[par] as number;
    this.parent[sib] = gp;
    this.release(par);
    if (gp < 0) {
      this.root = sib;
      return;
    }
    if (this.left[gp] === par) this.left[gp] = sib;
    else this.right[gp] = sib;
    const d = this.dim;
    const lo = this.lo;
    const hi = this.hi;
    let boxes = true;
    for (let n = gp; n >= 0; n = this.parent[n] as number) {
      this.mass[n] = (this.mass[n] as number) - 1;
      if (!boxes) continue;
      const a = (this.left[n] as number) * d;
      const b = (this.right[n] as number) * d;
      const c = n * d;
      let changed = false;
      for (let k = 0; k < d; k++) {
        const l = Math.min(lo[a + k] as number, lo[b + k] as number);
        const h = Math.max(hi[a + k] as number, hi[b + k] as number);
        if (l !== lo[c + k] || h !== hi[c + k]) {
          lo[c + k] = l;
          hi[c + k] = h;
          changed = true;
        }
      }
      // An unchanged box leaves every ancestor's box unchanged too.
      boxes = changed;
    }
  }

  /** The standard RCF anomaly score of q (not inserted), and the dimension that most separated it. */
  score(q: Float64Array, dimWeight: Float64Array): number {
    if (this.root < 0) return 0;
    const d = this.dim;
    const lo = this.lo;
    const hi = this.hi;
    const path = this.path;
    const cutDim = this.cutDim;
    const cutVal = this.cutVal;
    const left = this.left;
    const right = this.right;
    let depth = 0;
    let node = this.root;
    path[0] = node;
    let cd = cutDim[node] as number;
    while (cd !== -1) {
      node = (q[cd] as number) <= (cutVal[node] as number) ? (left[node] as number) : (right[node] as number);
      path[++depth] = node;
      cd = cutDim[node] as number;
    }
    const treeMass = this.mass[this.root] as number;
    const leafBase = node * d;
    let same = true;
    for (let k = 0; k < d; k++) if (lo[leafBase + k] !== q[k]) same = false;
    let score: number;
    if (same) {
      const m = this.mass[node] as number;
      score = (1 - m / (2 * treeMass)) / (depth + Math.log2(m + 1));
    } else {
      score = 1 / (depth + 1);
      for (let k = 0; k < d; k++) dimWeight[k] = (dimWeight[k] as number) + Math.abs((q[k] as number) - (lo[leafBase + k] as number)) / (depth + 1);
    }
    for (let i = depth - 1; i >= 0; i--) {
      const n = path[i] as number;
      const base = n * d;
      let span = 0;
      let grow = 0;
      for (let k = 0; k < d; k++) {
        const l = lo[base + k] as number;
        const h = hi[base + k] as number;
        const v = q[k] as number;
        const g = v < l ? l - v : v > h ? v - h : 0;
        span += h - l;
        grow += g;
      }
      // Ancestors' boxes contain this one: once q is inside, no higher node can separate it.
      if (grow === 0) break;
      const pSep = grow / (span + grow);
      score = (1 - pSep) * score + pSep / (i + 1);
    }
    return score * Math.log2(1 + treeMass);
  }
}

interface TreeSlot {
  tree: RcfTree;
  rng: Rng;
  /** Leaf of each reservoir entry. */
  sample: Int32Array;
  size: number;
}

export class RcfDetector implements Detector {
  readonly kind = KIND;
  readonly trainable = true;
  readonly minFitSamples: number;
  threshold: number;
  private slots: TreeSlot[] = [];
  private readonly shingleSize: number;
  private readonly sampleSize: number;
  private readonly updateEvery: number;
  private readonly shingle: Float64Array;
  private readonly point: Float64Array;
  private readonly dimWeight: Float64Array;
  private seen = 0;
  private skipRun = 0;
  private learnLeft = 0;
  private calibration: Calibration | undefined;
  private warmRaw: number[] = [];
  private lastTs = Number.NaN;
  private metrics: Record<string, number> = {};

  constructor(
    readonly params: Params,
    readonly seed: number,
    threshold: number,
  ) {
    this.threshold = threshold;
    this.shingleSize = num(params, 'shingle');
    this.sampleSize = num(params, 'sampleSize');
    this.updateEvery = num(params, 'updateEvery');
    this.shingle = new Float64Array(this.shingleSize);
    this.point = new Float64Array(this.shingleSize);
    this.dimWeight = new Float64Array(this.shingleSize);
    this.minFitSamples = 2 * this.sampleSize + this.shingleSize + 100;
    const trees = num(params, 'trees');
    for (let t = 0; t < trees; t++) {
      this.slots.push({ tree: new RcfTree(this.shingleSize, 2 * this.sampleSize), rng: new Rng(deriveSeed(seed, t)), sample: new Int32Array(this.sampleSize), size: 0 });
    }
  }

  /** Readings seen so far (including those given to `fit`). */
  get count(): number {
    return this.seen;
  }

  async fit(normal: readonly Reading[], options: FitOptions = {}): Promise<FitReport> {
    assertEnoughData(KIND, normal, this.minFitSamples);
    const n = normal.length;
    const calFrom = Math.min(n - holdoutSize(n, options.holdoutFraction), 2 * this.sampleSize + this.shingleSize);
    const raw: number[] = [];
    const chunk = 500;
    for (let i = 0; i < n; i++) {
      if (i % chunk === 0) {
        throwIfAborted(options.signal);
        options.onProgress?.(i / n, 'streaming');
        await yieldToLoop();
        throwIfAborted(options.signal);
      }
      const r = this.update(normal[i] as Reading);
      if (i >= calFrom && r >= 0) raw.push(r);
    }
    this.calibration = fitTailCalibration(raw, options.targetFalseAlarmRate ?? DEFAULT_TARGET_FAR);
    this.warmRaw = [];
    const alarms = raw.filter((s) => calibrate(s, this.calibration as Calibration) >= 0.5).length;
    this.metrics = { calibration_points: raw.length, holdout_false_alarm_rate: alarms / Math.max(1, raw.length), raw_center: this.calibration.center };
    options.onProgress?.(1, 'done');
    return { kind: KIND, samples: n, threshold: this.threshold, metrics: { ...this.metrics } };
  }

  /** Scores the reading's shingle (before insertion), then inserts it; -1 while the shingle fills. */
  private update(reading: Reading): number {
    const s = this.shingle;
    const len = this.shingleSize;
    s.copyWithin(0, 1);
    s[len - 1] = reading.value;
    this.seen++;
    this.lastTs = reading.ts;
    if (this.seen < len) return -1;
    const p = this.point;
    p.set(s);
    const w = this.dimWeight;
    w.fill(0);
    let total = 0;
    for (const slot of this.slots) total += slot.tree.score(p, w);
    const raw = total / this.slots.length;
    // Keep clear anomalies out of the sample so they do not mask the next ones (RCF's known
    // weakness after a dropout). A leaky count of skipped readings bounds this: once alarms
    // are frequent for long, the next MAX_SKIP readings are learned whatever they score, so a
    // lasting change (or wander) is absorbed instead of alarming forever.
    if (this.learnLeft > 0) {
      this.learnLeft--;
    } else if (this.calibration && raw >= this.calibration.center) {
      this.skipRun++;
      if (this.skipRun >= MAX_SKIP) {
        this.skipRun = 0;
        this.learnLeft = MAX_SKIP;
      }
      return raw;
    } else {
      this.skipRun = Math.max(0, this.skipRun - SKIP_LEAK);
    }
    const every = this.updateEvery;
    const ready = this.seen < len + this.sampleSize / 4 ? -1 : raw;
    if ((this.seen - len) % every !== 0) return ready;
    const offered = Math.floor((this.seen - len) / every) + 1;
    const accept = this.sampleSize / Math.min(Math.max(offered, this.sampleSize), Math.max(1, Math.floor(num(this.params, 'horizon') / every)));
    for (const slot of this.slots) {
      if (slot.size < this.sampleSize) {
        slot.sample[slot.size++] = slot.tree.insert(p, slot.rng);
      } else if (slot.rng.next() < accept) {
        const j = slot.rng.int(this.sampleSize);
        slot.tree.remove(slot.sample[j] as number);
        slot.sample[j] = slot.tree.insert(p, slot.rng);
      }
    }
    return ready;
  }

  score(reading: Reading): Score {
    const raw = this.update(reading);
    if (!this.calibration) {
      const warm = num(this.params, 'warmup');
      if (raw >= 0 && this.seen > warm / 2) this.warmRaw.push(raw);
      if (this.seen >= warm && this.warmRaw.length > 0) {
        this.calibration = fitTailCalibration(this.warmRaw, DEFAULT_TARGET_FAR);
        this.warmRaw = [];
      }
      return warmingScore(KIND);
    }
    if (raw < 0) return warmingScore(KIND);
    const p = calibrate(raw, this.calibration);
    const s = makeScore(p, this.threshold, KIND, 'none');
    if (s.is_anomaly) {
      s.signal = this.signal();
      s.contributions = this.contributions();
    }
    return s;
  }

  /** Which shingle positions (lag 0 = this reading) separated the point most. */
  private contributions(): Array<{ name: string; weight: number }> {
    const w = this.dimWeight;
    const len = this.shingleSize;
    let total = 0;
    for (let k = 0; k < len; k++) total += w[k] as number;
    const all = Array.from(w, (v, k) => ({ name: `lag_${len - 1 - k}`, weight: total > 0 ? v / total : 0 }));
    all.sort((a, b) => b.weight - a.weight);
    return all.slice(0, 3);
  }

  private signal(): Signal {
    const s = this.shingle;
    const len = this.shingleSize;
    const last = s[len - 1] as number;
    let allSame = len > 2;
    for (let k = 0; k < len; k++) if (s[k] !== last) allSame = false;
    if (allSame) return 'stuck';
    const w = this.dimWeight;
    let top = 0;
    for (let k = 1; k < len; k++) if ((w[k] as number) > (w[top] as number)) top = k;
    return top === len - 1 ? 'spike' : 'pattern';
  }

  warmup(): WarmupState {
    const size = this.calibration ? this.shingleSize + Math.ceil(this.sampleSize / 4) : num(this.params, 'warmup');
    const cur = Math.min(this.seen, size);
    const ready = this.calibration !== undefined && this.seen >= this.shingleSize + this.sampleSize / 4;
    return { window_progress: cur / size, window_size: size, current_window: cur, status: ready ? 'ml_ready' : 'warming_up' };
  }

  /** Approximate bytes held by the forest's typed arrays. */
  memoryBytes(): number {
    let b = 0;
    for (const s of this.slots) {
      const t = s.tree;
      b += t.left.byteLength * 3 + t.cutDim.byteLength + t.cutVal.byteLength + t.mass.byteLength + t.lo.byteLength * 2 + t.path.byteLength * 2 + s.sample.byteLength;
    }
    return b;
  }

  serialize(): DetectorArtifact {
    return {
      format: 'vigil-detector',
      version: ARTIFACT_VERSION,
      kind: KIND,
      seed: this.seed,
      threshold: this.threshold,
      params: { ...this.params },
      state: {
        seen: this.seen,
        skipRun: this.skipRun,
        learnLeft: this.learnLeft,
        lastTs: Number.isFinite(this.lastTs) ? this.lastTs : null,
        shingle: Array.from(this.shingle),
        calibration: this.calibration ?? null,
        warmRaw: [...this.warmRaw],
        trees: this.slots.map((s) => serializeTree(s)),
      },
      metrics: { ...this.metrics },
    };
  }

  /** @internal Used by `restore`. */
  load(state: ValidState, metrics: Record<string, number> | undefined): void {
    this.seen = state.seen;
    this.skipRun = state.skipRun;
    this.learnLeft = state.learnLeft;
    this.lastTs = state.lastTs ?? Number.NaN;
    this.shingle.set(state.shingle);
    this.calibration = state.calibration ?? undefined;
    this.warmRaw = [...state.warmRaw];
    state.trees.forEach((t, i) => loadTree(this.slots[i] as TreeSlot, t));
    this.metrics = { ...(metrics ?? {}) };
  }
}

interface TreeState {
  rng: number;
  /** Per reachable node, in depth-first order: [cutDim, cutVal, left, right, mass]; leaves have cutDim -1 and no children. */
  nodes: number[];
  /** Leaf points, dim numbers per leaf, in node order. */
  points: number[];
  /** Reservoir entries as node positions. */
  sample: number[];
}

function serializeTree(slot: TreeSlot): TreeState {
  const t = slot.tree;
  const order: number[] = [];
  const pos = new Map<number, number>();
  const stack = t.root >= 0 ? [t.root] : [];
  while (stack.length > 0) {
    const n = stack.pop() as number;
    pos.set(n, order.length);
    order.push(n);
    if (t.cutDim[n] !== -1) stack.push(t.right[n] as number, t.left[n] as number);
  }
  const nodes: number[] = [];
  const points: number[] = [];
  for (const n of order) {
    const leaf = t.cutDim[n] === -1;
    nodes.push(t.cutDim[n] as number, leaf ? 0 : (t.cutVal[n] as number), leaf ? -1 : (pos.get(t.left[n] as number) as number), leaf ? -1 : (pos.get(t.right[n] as number) as number), t.mass[n] as number);
    if (leaf) for (let k = 0; k < t.dim; k++) points.push(t.lo[n * t.dim + k] as number);
  }
  return { rng: slot.rng.state, nodes, points, sample: Array.from(slot.sample.subarray(0, slot.size), (n) => pos.get(n) as number) };
}

function loadTree(slot: TreeSlot, s: TreeState): void {
  const t = slot.tree;
  const count = s.nodes.length / 5;
  // Fresh pool: allocate ids 0..count-1 in order by popping the free stack.
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(t.alloc());
  let leafIdx = 0;
  const d = t.dim;
  for (let i = 0; i < count; i++) {
    const n = ids[i] as number;
    const cd = s.nodes[i * 5] as number;
    t.cutDim[n] = cd;
    t.cutVal[n] = s.nodes[i * 5 + 1] as number;
    t.mass[n] = s.nodes[i * 5 + 4] as number;
    if (cd === -1) {
      for (let k = 0; k < d; k++) {
        const v = s.points[leafIdx * d + k] as number;
        t.lo[n * d + k] = v;
        t.hi[n * d + k] = v;
      }
      leafIdx++;
    } else {
      const l = ids[s.nodes[i * 5 + 2] as number] as number;
      const r = ids[s.nodes[i * 5 + 3] as number] as number;
      t.left[n] = l;
      t.right[n] = r;
      t.parent[l] = n;
      t.parent[r] = n;
    }
  }
  // Children come after parents in depth-first order, so a reverse pass builds boxes bottom-up.
  for (let i = count - 1; i >= 0; i--) {
    const n = ids[i] as number;
    if (t.cutDim[n] === -1) continue;
    const a = (t.left[n] as number) * d;
    const b = (t.right[n] as number) * d;
    for (let k = 0; k < d; k++) {
      t.lo[n * d + k] = Math.min(t.lo[a + k] as number, t.lo[b + k] as number);
      t.hi[n * d + k] = Math.max(t.hi[a + k] as number, t.hi[b + k] as number);
    }
  }
  t.root = count > 0 ? (ids[0] as number) : -1;
  if (count > 0) t.parent[t.root] = -1;
  slot.rng.state = s.rng;
  slot.size = s.sample.length;
  s.sample.forEach((p, i) => (slot.sample[i] = ids[p] as number));
}

interface ValidState {
  seen: number;
  skipRun: number;
  learnLeft: number;
  lastTs: number | null;
  shingle: number[];
  calibration: Calibration | null;
  warmRaw: number[];
  trees: TreeState[];
}

function validateTree(x: unknown, dim: number, sampleSize: number | undefined): TreeState {
  const t = asRecord(KIND, x, 'tree');
  const rng = finiteNumber(KIND, t.rng, 'tree.rng');
  const nodes = numberArray(KIND, t.nodes, 'tree.nodes');
  const points = numberArray(KIND, t.points, 'tree.points');
  const sample = numberArray(KIND, t.sample, 'tree.sample');
  if (nodes.length % 5 !== 0) throw invalidArtifact(KIND, 'tree.nodes length must be a multiple of 5');
  const count = nodes.length / 5;
  if (sampleSize !== undefined && count > 2 * sampleSize - 1) throw invalidArtifact(KIND, 'tree has more nodes than its pool');
  let leaves = 0;
  for (let i = 0; i < count; i++) {
    const cd = nodes[i * 5] as number;
    const l = nodes[i * 5 + 2] as number;
    const r = nodes[i * 5 + 3] as number;
    if (!Number.isInteger(nodes[i * 5 + 4]) || (nodes[i * 5 + 4] as number) < 1) throw invalidArtifact(KIND, 'tree node mass must be a positive integer');
    if (cd === -1) {
      leaves++;
      continue;
    }
    if (!Number.isInteger(cd) || cd < 0 || cd >= dim) throw invalidArtifact(KIND, 'tree cut dimension out of range');
    if (!Number.isInteger(l) || !Number.isInteger(r) || l <= i || r <= i || l >= count || r >= count) throw invalidArtifact(KIND, 'tree children out of range');
  }
  if (points.length !== leaves * dim) throw invalidArtifact(KIND, 'tree.points does not match its leaves');
  if ((sampleSize !== undefined && sample.length > sampleSize) || !sample.every((p) => Number.isInteger(p) && p >= 0 && p < count && nodes[p * 5] === -1)) {
    throw invalidArtifact(KIND, 'tree.sample must reference leaves');
  }
  return { rng, nodes, points, sample };
}

function validateState(state: unknown, params?: Params): ValidState {
  const s = asRecord(KIND, state, 'state');
  const seen = finiteNumber(KIND, s.seen, 'state.seen');
  const skipRun = finiteNumber(KIND, s.skipRun, 'state.skipRun');
  const learnLeft = finiteNumber(KIND, s.learnLeft, 'state.learnLeft');
  const shingle = numberArray(KIND, s.shingle, 'state.shingle', params ? num(params, 'shingle') : undefined);
  const lastTs = s.lastTs === null ? null : finiteNumber(KIND, s.lastTs, 'state.lastTs');
  if (s.calibration !== null && !isCalibration(s.calibration)) throw invalidArtifact(KIND, 'state.calibration is malformed');
  const warmRaw = numberArray(KIND, s.warmRaw, 'state.warmRaw');
  if (!Array.isArray(s.trees)) throw invalidArtifact(KIND, 'state.trees must be an array');
  if (params && s.trees.length !== num(params, 'trees')) throw invalidArtifact(KIND, 'state.trees does not match params.trees');
  const trees = s.trees.map((t) => validateTree(t, shingle.length, params ? num(params, 'sampleSize') : undefined));
  return { seen, skipRun, learnLeft, lastTs, shingle, calibration: s.calibration, warmRaw, trees };
}

export const rcfFactory: DetectorFactory & { validateState(state: unknown, artifact?: DetectorArtifact): void } = {
  descriptor,
  create(options: CreateDetectorOptions): RcfDetector {
    return new RcfDetector(readParams(KIND, descriptor.params, options.params), options.seed ?? 1, options.threshold ?? 0.5);
  },
  restore(artifact: DetectorArtifact): RcfDetector {
    const params = readParams(KIND, descriptor.params, artifact.params);
    const state = validateState(artifact.state, params);
    const d = new RcfDetector(params, artifact.seed, artifact.threshold);
    d.load(state, artifact.metrics);
    return d;
  },
  validateState(state: unknown, artifact?: DetectorArtifact): void {
    validateState(state, artifact ? readParams(KIND, descriptor.params, artifact.params) : undefined);
  },
};
