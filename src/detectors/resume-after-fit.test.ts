import { describe, expect, it } from 'vitest';
import { Rng } from './random.ts';
import { createDetector, restoreDetector } from './registry.ts';
import type { Reading } from './types.ts';

const LSB = 5 / 1024;
const HOUR = 3_600_000;

function normal(n: number, seed: number, t0: number): Reading[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    ts: t0 + i * 100,
    value: Math.round((2.5 + 0.01 * rng.normal()) / LSB) * LSB,
  }));
}

describe('a fitted robust detector meeting live data', () => {
  it('does not call the pause between training data and the first live reading a dropout', async () => {
    const train = normal(3000, 1, 1_700_000_000_000);
    const live = normal(300, 2, train.at(-1)!.ts + HOUR);
    const fitted = createDetector('robust', { seed: 3 });
    await fitted.fit(train);
    const restored = restoreDetector(JSON.parse(JSON.stringify(fitted.serialize())));
    for (const d of [fitted, restored]) {
      const first = live.slice(0, 20).map((r) => d.score(r));
      expect(first.filter((s) => s.signal === 'dropout')).toEqual([]);
    }
  });

  it('still flags a real gap in the live stream', async () => {
    const train = normal(3000, 4, 1_700_000_000_000);
    const live = normal(400, 5, train.at(-1)!.ts + HOUR);
    const d = createDetector('robust', { seed: 3 });
    await d.fit(train);
    for (const r of live.slice(0, 300)) d.score(r);
    const afterGap = d.score({ ts: live[299]!.ts + 30_000, value: live[300]!.value });
    expect(afterGap.is_anomaly).toBe(true);
    expect(afterGap.signal).toBe('dropout');
  });
});
