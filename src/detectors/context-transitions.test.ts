import { describe, expect, it } from 'vitest';
import { TransitionMemory, type TransitionMemoryOptions } from './context-transitions.ts';

const options = (maxOrder: number, capacity = 10_000): TransitionMemoryOptions => ({ capacity, factsPerContext: 4, maxOrder, blend: 1, horizon: 0, ordinalDecay: 1 });

describe('transition memory keys', () => {
  it('keeps every distinct context apart, whatever its levels and length', () => {
    // Levels at and beyond the edges of the packed numeric keys (±256), negative ones, a fraction
    // (never a level, but [0.5, -256] would pack as [0, 0] does), and contexts longer than a
    // packed key holds: none may share an entry with another.
    const levels = [-100_000, -257, -256, -1, 0, 0.5, 1, 255, 256, 511, 1_000_000];
    const memory = new TransitionMemory(options(5));
    const contexts = new Set<string>();
    const histories: number[][] = [];
    for (const a of levels) for (const b of levels) histories.push([a, b, 0, 1, -1], [b, a], [a]);
    for (const h of histories) {
      memory.learn(h, [0, 0, 0]);
      for (let o = 1; o <= Math.min(5, h.length); o++) contexts.add(h.slice(0, o).join(','));
    }
    expect(memory.size).toBe(contexts.size);
    // Every context serializes once, as learned.
    const saved = memory.toJSON().entries.map(([ctx]) => ctx.join(','));
    expect(new Set(saved)).toEqual(contexts);
    expect(saved).toHaveLength(contexts.size);
  });

  it('predicts from the context a fact followed, on either side of the packed keys\' range', () => {
    for (const [a, b] of [
      [255, 256],
      [-256, -257],
      [0, 1_000_000],
      [-1, 511],
    ] as const) {
      const memory = new TransitionMemory(options(3));
      for (let i = 0; i < 50; i++) {
        memory.learn([a, 4, 4], [1, 0, 0]);
        memory.learn([b, 4, 4], [2, 0, 0]);
      }
      expect(memory.predict([a, 4, 4], [1, 0, 0]).probabilities[0]).toBeGreaterThan(0.9);
      expect(memory.predict([b, 4, 4], [2, 0, 0]).probabilities[0]).toBeGreaterThan(0.9);
      expect(memory.predict([a, 4, 4], [2, 0, 0]).probabilities[0]).toBeLessThan(0.1);
    }
  });

  it('predicts the same after toJSON → load', () => {
    const memory = new TransitionMemory(options(4, 64));
    let x = 1;
    const next = (): number => {
      x = (x * 48271) % 2147483647;
      return x;
    };
    const history: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const level = (next() % 40) - 20 + (next() % 50 === 0 ? 400 : 0);
      memory.learn(history, [level, next() % 5, next() % 3]);
      history.unshift(level);
      if (history.length > 4) history.pop();
    }
    const copy = new TransitionMemory(options(4, 64));
    copy.load(memory.toJSON());
    expect(copy.toJSON()).toEqual(memory.toJSON());
    for (const h of [history, [400, 3], [-20, -19, 0, 5], [1]]) expect(copy.predict(h, [3, 1, 2])).toEqual(memory.predict(h, [3, 1, 2]));
  });
});
