/**
 * The context memory behind the `context` kind: an independent TypeScript implementation of the
 * Contextual Anomaly Detector idea (Smirnov, "CAD OSE", NAB 2016).
 *
 * Each reading is a small set of facts (one per bit of its quantised value). A context pairs the
 * facts seen at one step (left: sensor facts plus the contexts that fired, as "neuron" facts)
 * with the facts at the next step (right). Contexts count how often their left side matched and
 * how much of their right side then came true; fully confirmed contexts fire and join the next
 * left side, so longer histories become contexts of their own. A reading is anomalous when few
 * of the selected contexts were confirmed and many new contexts had to be memorised.
 *
 * Memory is bounded by `maxContexts`: once full, nothing new is memorised (the statistics of
 * known contexts keep updating).
 */

/** Facts of the quantised value: `SENSOR_BASE + 2·bit + value`. */
const SENSOR_BASE = 65_536;
/** Facts of fired contexts: `NEURON_BASE + context id`. */
const NEURON_BASE = 2 ** 31;

/** Semi-contexts of one side: fact sets, indexed by fact and by their joined key. */
class SemiSide {
  readonly facts: number[][] = [];
  /** Facts of the current step matched by each semi-context (count only; contents recomputed on demand). */
  matched: number[] = [];
  /** Ids with `matched > 0` after the latest crossing, ascending. */
  crossed: number[] = [];
  readonly byKey = new Map<string, number>();
  readonly byFact = new Map<number, number[]>();

  idOf(facts: readonly number[], create: boolean): number {
    const key = facts.join(',');
    const found = this.byKey.get(key);
    if (found !== undefined || !create) return found ?? -1;
    const id = this.facts.length;
    this.facts.push([...facts]);
    this.matched.push(0);
    this.byKey.set(key, id);
    for (const f of facts) {
      const list = this.byFact.get(f);
      if (list) list.push(id);
      else this.byFact.set(f, [id]);
    }
    return id;
  }

  /** Counts, per semi-context, how many of `facts` it holds; records the touched ids in `crossed`. */
  cross(facts: readonly number[]): void {
    const matched = this.matched;
    for (const id of this.crossed) matched[id] = 0;
    let touched = 0;
    for (const f of facts) {
      const list = this.byFact.get(f);
      if (!list) continue;
      touched += list.length;
      for (const id of list) matched[id] = (matched[id] as number) + 1;
    }
    const crossed: number[] = [];
    if (touched > 0) for (let id = 0; id < matched.length; id++) if ((matched[id] as number) > 0) crossed.push(id);
    this.crossed = crossed;
  }

  /** The facts of semi-context `id` that are in `current` (ascending, as `current` is sorted). */
  matchedFacts(id: number, current: ReadonlySet<number>): number[] {
    return (this.facts[id] as number[]).filter((f) => current.has(f));
  }
}

/** Serialized memory; every number is a finite integer except the context statistics. */
export interface ContextMemoryState {
  /** Left semi-contexts' facts. */
  left: number[][];
  /** Right semi-contexts' facts. */
  right: number[][];
  /** Per context: [leftId, rightId, selected, confirmed, fired, zeroLevel]. */
  contexts: number[][];
  /** The current left fact group (sensor facts plus fired contexts). */
  leftGroup: number[];
  /** Facts predicted for the next reading. */
  predicted: number[];
}

export interface ContextMemoryOptions {
  maxLeftSemiContextLength: number;
  maxActiveNeurons: number;
  maxContexts: number;
}

/** One step's outcome. */
export interface ContextStep {
  /** Share of selected contexts whose prediction fully came true (high = familiar). */
  confirmed: number;
  /** Share of candidate contexts that were new (high = novel). */
  novelty: number;
  /** True when at least one of this reading's facts was not predicted. */
  surprised: boolean;
}

export class ContextMemory {
  private readonly left = new SemiSide();
  private readonly right = new SemiSide();
  /** Per left semi-context: right semi-context id → context id. */
  private readonly pairs: Array<Map<number, number>> = [];
  /** The same pairs as parallel lists in creation order, for fast iteration. */
  private readonly pairRight: number[][] = [];
  private readonly pairCtx: number[][] = [];
  private readonly ctxLeft: number[] = [];
  private readonly ctxRight: number[] = [];
  private readonly ctxSelected: number[] = [];
  private readonly ctxConfirmed: number[] = [];
  private readonly ctxFired: number[] = [];
  private readonly ctxZero: number[] = [];
  private leftGroup: number[] = [];
  private leftGroupSet = new Set<number>();
  private predicted = new Set<number>();

  constructor(private readonly o: ContextMemoryOptions) {}

  get size(): number {
    return this.ctxLeft.length;
  }

  /** Sensor facts of quantised value `level` (0 ≤ level < 2^bits). */
  static sensorFacts(level: number, bits: number): number[] {
    const out: number[] = [];
    for (let b = 0; b < bits; b++) out.push(SENSOR_BASE + 2 * b + ((level >> b) & 1));
    return out;
  }

  /** Learns from the next reading's sensor facts (ascending) and reports how expected they were. */
  step(sensor: readonly number[]): ContextStep {
    let surprised = false;
    for (const f of sensor) if (!this.predicted.has(f)) surprised = true;

    const candidates = new Set<string>();
    let newZeroId = -1;
    let newZero = false;
    if (this.leftGroup.length > 0 && sensor.length > 0) {
      candidates.add(`${this.leftGroup.join(',')}|${sensor.join(',')}`);
      const r = this.contextOf(this.leftGroup, sensor, true);
      if (r.created) {
        newZero = true;
        newZeroId = r.id;
      } else if (r.id >= 0) this.ctxZero[r.id] = 1;
    }

    this.right.cross(sensor);
    const sensorSet = new Set(sensor);
    const active: number[] = [];
    let selected = 0;
    const potential: Array<[number[], number[]]> = [];
    const maxLen = this.o.maxLeftSemiContextLength;
    for (const lid of this.left.crossed) {
      const lMatched = this.left.matched[lid] as number;
      const full = lMatched === (this.left.facts[lid] as number[]).length;
      if (!full && !newZero) continue;
      const rids = this.pairRight[lid] as number[];
      const cids = this.pairCtx[lid] as number[];
      for (let k = 0; k < cids.length; k++) {
        const cid = cids[k] as number;
        const rid = rids[k] as number;
        if (cid === newZeroId) continue;
        const rLen = (this.right.facts[rid] as number[]).length;
        const rMatched = this.right.matched[rid] as number;
        const spawn = this.ctxZero[cid] === 1 && newZero && rMatched > 0 && lMatched <= maxLen;
        if (full) {
          selected += 1;
          this.ctxSelected[cid] = (this.ctxSelected[cid] as number) + rLen;
          if (rMatched > 0) {
            this.ctxConfirmed[cid] = (this.ctxConfirmed[cid] as number) + rMatched;
            if (rMatched === rLen) {
              this.ctxFired[cid] = (this.ctxFired[cid] as number) + 1;
              active.push(cid);
            } else if (spawn) potential.push([this.left.matchedFacts(lid, this.leftGroupSet), this.right.matchedFacts(rid, sensorSet)]);
          }
        } else if (spawn) potential.push([this.left.matchedFacts(lid, this.leftGroupSet), this.right.matchedFacts(rid, sensorSet)]);
      }
    }
    for (const [l, r] of potential) candidates.add(`${l.join(',')}|${r.join(',')}`);
    const confirmed = selected > 0 ? active.length / selected : 0;

    active.sort((a, b) => (this.ctxFired[a] as number) - (this.ctxFired[b] as number) || a - b);
    const neurons = active.slice(-this.o.maxActiveNeurons).sort((a, b) => a - b);
    this.leftGroup = [...sensor, ...neurons.map((id) => NEURON_BASE + id)];
    this.leftGroupSet = new Set(this.leftGroup);

    let added = 0;
    for (const [l, r] of potential) if (this.contextOf(l, r, false).created) added += 1;
    if (newZero) added += 1;
    const novelty = newZero && candidates.size > 0 ? added / candidates.size : 0;

    this.left.cross(this.leftGroup);
    this.predicted = this.predict();
    return { confirmed, novelty, surprised };
  }

  /** Union of the right sides of the fully matched contexts with the best confirmation rate. */
  private predict(): Set<number> {
    let best = 0;
    let winners: number[] = [];
    for (const lid of this.left.crossed) {
      if (this.left.matched[lid] !== (this.left.facts[lid] as number[]).length) continue;
      for (const cid of this.pairCtx[lid] as number[]) {
        const sel = this.ctxSelected[cid] as number;
        const w = sel > 0 ? (this.ctxConfirmed[cid] as number) / sel : 0;
        if (w > best) {
          best = w;
          winners = [cid];
        } else if (w === best) winners.push(cid);
      }
    }
    const out = new Set<number>();
    for (const cid of winners) for (const f of this.right.facts[this.ctxRight[cid] as number] as number[]) out.add(f);
    return out;
  }

  /** Finds or (memory permitting) creates the context `left → right`. */
  private contextOf(left: readonly number[], right: readonly number[], zero: boolean): { id: number; created: boolean } {
    const room = this.ctxLeft.length < this.o.maxContexts;
    const lid = this.left.idOf(left, room);
    const rid = this.right.idOf(right, room);
    if (lid < 0 || rid < 0) return { id: -1, created: false };
    const found = this.pairs[lid]?.get(rid);
    if (found !== undefined) return { id: found, created: false };
    if (!room) return { id: -1, created: false };
    const id = this.ctxLeft.length;
    this.pair(lid, rid, id);
    this.ctxLeft.push(lid);
    this.ctxRight.push(rid);
    this.ctxSelected.push(0);
    this.ctxConfirmed.push(0);
    this.ctxFired.push(0);
    this.ctxZero.push(zero ? 1 : 0);
    return { id, created: true };
  }

  private pair(lid: number, rid: number, cid: number): void {
    while (this.pairs.length <= lid) {
      this.pairs.push(new Map());
      this.pairRight.push([]);
      this.pairCtx.push([]);
    }
    (this.pairs[lid] as Map<number, number>).set(rid, cid);
    (this.pairRight[lid] as number[]).push(rid);
    (this.pairCtx[lid] as number[]).push(cid);
  }

  toJSON(): ContextMemoryState {
    return {
      left: this.left.facts.map((f) => [...f]),
      right: this.right.facts.map((f) => [...f]),
      contexts: this.ctxLeft.map((l, i) => [
        l,
        this.ctxRight[i] as number,
        this.ctxSelected[i] as number,
        this.ctxConfirmed[i] as number,
        this.ctxFired[i] as number,
        this.ctxZero[i] as number,
      ]),
      leftGroup: [...this.leftGroup],
      predicted: [...this.predicted].sort((a, b) => a - b),
    };
  }

  /** Rebuilds a memory from a state already checked by {@link checkContextMemoryState}. */
  static from(o: ContextMemoryOptions, s: ContextMemoryState): ContextMemory {
    const m = new ContextMemory(o);
    for (const f of s.left) m.left.idOf(f, true);
    for (const f of s.right) m.right.idOf(f, true);
    for (const c of s.contexts) {
      const [lid, rid, sel, conf, fired, zero] = c as [number, number, number, number, number, number];
      m.pair(lid, rid, m.ctxLeft.length);
      m.ctxLeft.push(lid);
      m.ctxRight.push(rid);
      m.ctxSelected.push(sel);
      m.ctxConfirmed.push(conf);
      m.ctxFired.push(fired);
      m.ctxZero.push(zero);
    }
    m.leftGroup = [...s.leftGroup];
    m.leftGroupSet = new Set(m.leftGroup);
    m.left.cross(m.leftGroup);
    m.predicted = new Set(s.predicted);
    return m;
  }
}

const isIndex = (x: unknown, below: number): boolean => Number.isInteger(x) && (x as number) >= 0 && (x as number) < below;
const isFact = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 0 && (x as number) < 2 ** 53;
const isCount = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/** Returns the first problem with an untrusted memory state, or undefined when it is sound. */
export function checkContextMemoryState(x: unknown, maxContexts: number): string | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return 'memory must be an object';
  const s = x as Record<string, unknown>;
  const factSets = (v: unknown): v is number[][] => Array.isArray(v) && v.every((f) => Array.isArray(f) && f.length > 0 && f.every(isFact));
  if (!factSets(s.left) || !factSets(s.right)) return '"left" and "right" must be lists of non-empty fact lists';
  const keys = (sets: number[][]): boolean => new Set(sets.map((f) => f.join(','))).size === sets.length;
  if (!keys(s.left) || !keys(s.right)) return 'semi-contexts must be distinct';
  if (!Array.isArray(s.contexts) || s.contexts.length > maxContexts) return `"contexts" must be a list of at most ${maxContexts}`;
  const seen = new Set<string>();
  for (const c of s.contexts as unknown[]) {
    if (!Array.isArray(c) || c.length !== 6) return 'each context must be [leftId, rightId, selected, confirmed, fired, zeroLevel]';
    if (!isIndex(c[0], s.left.length) || !isIndex(c[1], s.right.length)) return 'context semi-context ids out of range';
    if (!isCount(c[2]) || !isCount(c[3]) || !isCount(c[4]) || (c[5] !== 0 && c[5] !== 1)) return 'context statistics out of range';
    const key = `${c[0]}:${c[1]}`;
    if (seen.has(key)) return 'contexts must be distinct';
    seen.add(key);
  }
  const n = s.contexts.length;
  if (!Array.isArray(s.leftGroup) || !s.leftGroup.every(isFact)) return '"leftGroup" must be a fact list';
  for (const f of s.leftGroup as number[]) if (f >= NEURON_BASE && f - NEURON_BASE >= n) return '"leftGroup" names an unknown context';
  if (!Array.isArray(s.predicted) || !s.predicted.every(isFact)) return '"predicted" must be a fact list';
  return undefined;
}
