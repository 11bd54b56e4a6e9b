/**
 * The bounded transition memory behind the `context` kind: what followed each recently seen
 * context, as decayed counts of discrete facts, with prediction by back-off blending.
 *
 * A context is the levels of the last few readings (order 1 … `maxOrder`, most recent first); for
 * each context the memory keeps, per fact family, a small table of the facts that came next and
 * how often. A fact's
 * predicted probability blends the longest remembered context with the shorter ones and finally
 * with the fact's overall frequency (the order-0 table), in the manner of prediction by partial
 * matching. Counts decay exponentially (one global weight that grows each step, so no count is
 * touched to decay it), and the memory holds at most `capacity` contexts: when full, the least
 * used tenth (smallest decayed count, which also means least recent) is evicted in one batch.
 * @module
 */

/** Fact families, in the order of every per-family array. */
export const FAMILIES = ['level', 'change', 'position'] as const;
export type Family = (typeof FAMILIES)[number];
export const FAMILY_COUNT = FAMILIES.length;

/** Facts in the order-0 (overall frequency) table, per family. */
export const MARGINAL_FACTS = 256;
/** The global weight is folded back into the counts before it exceeds this. */
const MAX_WEIGHT = 1e60;
/** Prior probability of a fact never seen in any context. */
const UNSEEN_PRIOR = 1 / 512;
/** Families whose facts are ordered (level, change): an unseen fact far from every seen one is less likely. */
const ORDINAL_FAMILIES = 2;

/** Decayed counts of the facts seen in one family after one context; at most `cap` facts. */
export class FactTable {
  facts: number[] = [];
  counts: number[] = [];

  count(fact: number): number {
    const i = this.facts.indexOf(fact);
    return i < 0 ? 0 : (this.counts[i] as number);
  }

  /** Adds `w` to `fact`; when the table is full, the least counted fact makes room. */
  add(fact: number, w: number, cap: number): void {
    const i = this.facts.indexOf(fact);
    if (i >= 0) {
      this.counts[i] = (this.counts[i] as number) + w;
      return;
    }
    if (this.facts.length >= cap) {
      let min = 0;
      for (let k = 1; k < this.counts.length; k++) if ((this.counts[k] as number) < (this.counts[min] as number)) min = k;
      this.facts.splice(min, 1);
      this.counts.splice(min, 1);
    }
    this.facts.push(fact);
    this.counts.push(w);
  }

  scale(f: number): void {
    for (let k = 0; k < this.counts.length; k++) this.counts[k] = (this.counts[k] as number) * f;
  }

  /** [fact, count, fact, count, …]. */
  toJSON(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.facts.length; k++) out.push(this.facts[k] as number, this.counts[k] as number);
    return out;
  }

  static from(flat: readonly number[]): FactTable {
    const t = new FactTable();
    for (let k = 0; k + 1 < flat.length; k += 2) {
      t.facts.push(flat[k] as number);
      t.counts.push(flat[k + 1] as number);
    }
    return t;
  }
}

/** What followed one context. */
export interface ContextEntry {
  /** The context: levels of the previous readings, most recent first. */
  readonly ctx: number[];
  /** Decayed number of times the context was seen (in weighted units). */
  total: number;
  readonly tables: FactTable[];
}

/** Serialized entry: [ctx, total, ...one flat table per family]. */
export type SerializedEntry = [number[], number, ...number[][]];

export interface TransitionMemoryState {
  weight: number;
  entries: SerializedEntry[];
  /** Order-0 tables, one flat table per family. */
  marginal: number[][];
  marginalTotal: number;
}

export interface TransitionMemoryOptions {
  /** Most contexts remembered. */
  capacity: number;
  /** Facts remembered per family after one context. */
  factsPerContext: number;
  /** Longest context, in readings. */
  maxOrder: number;
  /** Pseudo-count given to the shorter context's prediction when blending. */
  blend: number;
  /** Readings over which a count decays by 1/e; 0 keeps counts forever. */
  horizon: number;
  /** Bits of extra surprise per step an unseen level or change lies beyond the nearest seen one. */
  ordinalDecay: number;
}

const keyOf = (ctx: readonly number[]): string => ctx.join(',');

/**
 * Levels a context may hold for a numeric key: with KEY_BITS bits per level, a context of up to
 * KEY_ORDERS levels in [−KEY_RANGE, KEY_RANGE) packs into a small integer, which the memory's map
 * hashes without building a string (a lookup per order per reading). Other contexts keep the
 * string key; the two never collide (numbers and strings are distinct keys).
 */
const KEY_BITS = 9;
const KEY_BASE = 2 ** KEY_BITS;
const KEY_RANGE = KEY_BASE / 2;
const KEY_ORDERS = 3;

/** The key of the context `prefix` + `level` one reading longer (`prefix` is the key of the first `order` levels of `ctx`; undefined for the empty context). */
function extendKey(prefix: number | string | undefined, level: number, ctx: readonly number[], order: number): number | string {
  if ((prefix === undefined || typeof prefix === 'number') && order < KEY_ORDERS && Number.isInteger(level) && level >= -KEY_RANGE && level < KEY_RANGE) {
    // A leading 1 marks the length: [1] and [0, 1] differ.
    return (prefix ?? 1) * KEY_BASE + (level + KEY_RANGE);
  }
  return keyOf(ctx.slice(0, order + 1));
}

/** One reading's facts, e.g. `[level, change, position]`. */
export type Facts = readonly number[];

/** The per-family predicted probability of the facts that actually came. */
export interface Prediction {
  probabilities: number[];
  /** True for a family whose fact was never seen in any context (order-0 count zero). */
  novel: boolean[];
}

/** Sets `out[o]` to the key of the context of `history`'s first o + 1 levels, for o below `orders`. */
function contextKeys(history: readonly number[], orders: number, out: Array<number | string>): void {
  out.length = orders;
  let key: number | string | undefined;
  for (let o = 0; o < orders; o++) {
    key = extendKey(key, history[o] as number, history, o);
    out[o] = key;
  }
}

/** The memory's key of a whole context. */
function keyFor(ctx: readonly number[]): number | string {
  const keys: Array<number | string> = [];
  contextKeys(ctx, ctx.length, keys);
  return keys[ctx.length - 1] as number | string;
}

export class TransitionMemory {
  private readonly entries = new Map<number | string, ContextEntry>();
  private marginal: FactTable[] = FAMILIES.map(() => new FactTable());
  private marginalTotal = 0;
  /** Each observation adds `weight`; growing it by 1/(1 − 1/horizon) per step decays every older count. */
  private weight = 1;
  private readonly growth: number;
  /** Scratch: entries of the current context, longest first. */
  private readonly found: Array<ContextEntry | undefined> = [];
  /** The levels `found` was looked up for, while no context has been added or removed since (`learn` after `predict` reuses it). */
  private readonly foundFor: number[] = [];
  private foundFresh = false;
  /** Scratch: the keys of the current contexts, shortest first. */
  private readonly keys: Array<number | string> = [];

  constructor(readonly options: TransitionMemoryOptions) {
    this.growth = options.horizon > 0 ? 1 / (1 - 1 / options.horizon) : 1;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Predicted probability of each family's fact in `facts` after `history` (levels, most recent first). */
  predict(history: readonly number[], facts: Facts): Prediction {
    const orders = Math.min(this.options.maxOrder, history.length);
    this.lookup(history, orders);
    const beta = this.options.blend * this.weight;
    const probabilities: number[] = [];
    const novel: boolean[] = [];
    for (let f = 0; f < FAMILY_COUNT; f++) {
      const fact = facts[f] as number;
      const m = this.marginal[f] as FactTable;
      const m0 = m.count(fact);
      novel.push(m0 === 0);
      let prior = UNSEEN_PRIOR;
      if (m0 === 0 && f < ORDINAL_FAMILIES && m.facts.length > 0) {
        let dist = Infinity;
        for (const v of m.facts) dist = Math.min(dist, Math.abs(v - fact));
        prior *= 2 ** -Math.min(60, this.options.ordinalDecay * (dist - 1));
      }
      let p = (m0 + beta * prior) / (this.marginalTotal + beta);
      for (let o = orders - 1; o >= 0; o--) {
        const e = this.found[o];
        if (!e) continue;
        p = ((e.tables[f] as FactTable).count(fact) + beta * p) / (e.total + beta);
      }
      probabilities.push(p);
    }
    return { probabilities, novel };
  }

  /** Records that `facts` followed `history` (every order up to `maxOrder`, and order 0). */
  learn(history: readonly number[], facts: Facts): void {
    const orders = Math.min(this.options.maxOrder, history.length);
    const w = this.weight;
    const cap = this.options.factsPerContext;
    for (let f = 0; f < FAMILY_COUNT; f++) (this.marginal[f] as FactTable).add(facts[f] as number, w, MARGINAL_FACTS);
    this.marginalTotal += w;
    // Right after `predict` on the same history the contexts' entries are known (and an absent one is still absent).
    let known = this.foundFresh && this.foundFor.length === orders;
    for (let o = 0; known && o < orders; o++) if (this.foundFor[o] !== history[o]) known = false;
    this.foundFresh = false;
    if (!known) contextKeys(history, orders, this.keys);
    for (let o = 0; o < orders; o++) {
      const key = this.keys[o] as number | string;
      let e = known ? this.found[o] : undefined;
      if (!e) {
        e = known ? undefined : this.entries.get(key);
        if (!e) {
          e = { ctx: history.slice(0, o + 1), total: 0, tables: FAMILIES.map(() => new FactTable()) };
          this.entries.set(key, e);
        }
      }
      e.total += w;
      for (let f = 0; f < FAMILY_COUNT; f++) (e.tables[f] as FactTable).add(facts[f] as number, w, cap);
    }
    if (this.entries.size > this.options.capacity) this.evict();
    this.weight *= this.growth;
    if (this.weight > MAX_WEIGHT) this.rescale(1 / this.weight);
  }

  /**
   * Rewrites every remembered level fact through `map` (used when the level bins widen), merging
   * contexts and facts that become equal.
   */
  remapLevels(map: (level: number) => number): void {
    this.foundFresh = false;
    const old = [...this.entries.values()];
    this.entries.clear();
    const cap = this.options.factsPerContext;
    for (const e of old) {
      const ctx = e.ctx.map(map);
      const key = keyFor(ctx);
      let into = this.entries.get(key);
      if (!into) {
        into = { ctx, total: 0, tables: FAMILIES.map(() => new FactTable()) };
        this.entries.set(key, into);
      }
      into.total += e.total;
      for (let f = 0; f < FAMILY_COUNT; f++) {
        const t = e.tables[f] as FactTable;
        for (let k = 0; k < t.facts.length; k++) {
          const fact = f === 0 ? map(t.facts[k] as number) : (t.facts[k] as number);
          (into.tables[f] as FactTable).add(fact, t.counts[k] as number, cap);
        }
      }
    }
    const levels = this.marginal[0] as FactTable;
    const merged = new FactTable();
    for (let k = 0; k < levels.facts.length; k++) merged.add(map(levels.facts[k] as number), levels.counts[k] as number, MARGINAL_FACTS);
    this.marginal[0] = merged;
  }

  private lookup(history: readonly number[], orders: number): void {
    this.found.length = 0;
    this.foundFor.length = 0;
    contextKeys(history, orders, this.keys);
    for (let o = 0; o < orders; o++) {
      this.foundFor.push(history[o] as number);
      this.found.push(this.entries.get(this.keys[o] as number | string));
    }
    this.foundFresh = true;
  }

  /** Drops the least used tenth of the contexts (ties: the longer remembered goes first). */
  private evict(): void {
    const all = [...this.entries.entries()];
    const drop = all.length - this.options.capacity + Math.ceil(this.options.capacity / 10);
    const order = all.map((_, i) => i).sort((a, b) => (all[a]![1].total - all[b]![1].total) || a - b);
    for (let k = 0; k < drop && k < order.length; k++) this.entries.delete(all[order[k]!]![0]);
  }

  private rescale(f: number): void {
    for (const e of this.entries.values()) {
      e.total *= f;
      for (const t of e.tables) t.scale(f);
    }
    for (const t of this.marginal) t.scale(f);
    this.marginalTotal *= f;
    this.weight *= f;
  }

  toJSON(): TransitionMemoryState {
    const entries: SerializedEntry[] = [];
    for (const e of this.entries.values()) entries.push([e.ctx.slice(), e.total, ...e.tables.map((t) => t.toJSON())]);
    return { weight: this.weight, entries, marginal: this.marginal.map((t) => t.toJSON()), marginalTotal: this.marginalTotal };
  }

  /** Loads a state already checked by {@link checkTransitionMemoryState}. */
  load(s: TransitionMemoryState): void {
    this.foundFresh = false;
    this.entries.clear();
    for (const [ctx, total, ...tables] of s.entries) {
      this.entries.set(keyFor(ctx), { ctx: ctx.slice(), total, tables: tables.map((t) => FactTable.from(t)) });
    }
    this.marginal = s.marginal.map((t) => FactTable.from(t));
    this.marginalTotal = s.marginalTotal;
    this.weight = s.weight;
  }
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);

function checkTable(x: unknown, cap: number, what: string): string | undefined {
  if (!Array.isArray(x) || x.length % 2 !== 0 || x.length > 2 * cap) return `${what} must be a flat [fact, count, …] list of at most ${cap} facts`;
  const seen = new Set<number>();
  for (let k = 0; k < x.length; k += 2) {
    const fact: unknown = x[k];
    const count: unknown = x[k + 1];
    if (!isInt(fact) || !isNum(count) || count < 0) return `${what} must hold integer facts and non-negative counts`;
    if (seen.has(fact)) return `${what} lists a fact twice`;
    seen.add(fact);
  }
  return undefined;
}

/**
 * Checks an untrusted serialized memory against the options it will be loaded with; returns the
 * first problem, or undefined when the state is sound.
 */
export function checkTransitionMemoryState(x: unknown, o: TransitionMemoryOptions): string | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return '"memory" must be an object';
  const s = x as Record<string, unknown>;
  if (!isNum(s.weight) || s.weight < 1e-300 || s.weight > MAX_WEIGHT) return '"memory.weight" is out of range';
  if (!isNum(s.marginalTotal) || s.marginalTotal < 0) return '"memory.marginalTotal" must be a non-negative number';
  if (!Array.isArray(s.marginal) || s.marginal.length !== FAMILY_COUNT) return `"memory.marginal" must hold ${FAMILY_COUNT} tables`;
  for (const [f, t] of s.marginal.entries()) {
    const bad = checkTable(t, MARGINAL_FACTS, `"memory.marginal[${f}]"`);
    if (bad) return bad;
  }
  if (!Array.isArray(s.entries) || s.entries.length > o.capacity) return `"memory.entries" must hold at most ${o.capacity} contexts`;
  const keys = new Set<string>();
  for (const [i, e] of s.entries.entries()) {
    const what = `"memory.entries[${i}]"`;
    if (!Array.isArray(e) || e.length !== 2 + FAMILY_COUNT) return `${what} must be [context, total, ${FAMILY_COUNT} tables]`;
    const [ctx, total, ...tables] = e as unknown[];
    if (!Array.isArray(ctx) || ctx.length === 0 || ctx.length > o.maxOrder || !ctx.every(isInt)) {
      return `${what} context must hold the integer levels of 1 to ${o.maxOrder} readings`;
    }
    const key = keyOf(ctx as number[]);
    if (keys.has(key)) return `${what} repeats a context`;
    keys.add(key);
    if (!isNum(total) || total < 0) return `${what} total must be a non-negative number`;
    for (const [f, t] of tables.entries()) {
      const bad = checkTable(t, o.factsPerContext, `${what} table ${f}`);
      if (bad) return bad;
    }
  }
  return undefined;
}
