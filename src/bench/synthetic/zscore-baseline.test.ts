import { describe, expect, it } from 'vitest';
import { createZScoreBaseline } from './zscore-baseline.ts';

const series = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => ({ ts: i * 100, value: f(i) }));

describe('createZScoreBaseline', () => {
  it('flags a reading far from the trailing window and not one inside it', async () => {
    const z = createZScoreBaseline({ window: 50, threshold: 4 });
    await z.fit(series(200, (i) => 1 + 0.01 * Math.sin(i)));
    expect(z.score({ ts: 20_000, value: 1.005 }).is_anomaly).toBe(false);
    expect(z.score({ ts: 20_100, value: 1.5 }).is_anomaly).toBe(true);
  });

  it('calibrates its threshold on the normal data when none is given', async () => {
    const z = createZScoreBaseline({ window: 50 });
    await z.fit(series(5000, (i) => Math.sin(i * 1.7) + (i % 997 === 0 ? 5 : 0)));
    expect(z.threshold).toBeGreaterThan(1.4);
    expect(z.threshold).toBeLessThan(8);
  });
});
