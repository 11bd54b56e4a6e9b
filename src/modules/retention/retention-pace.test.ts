import { describe, expect, it } from 'vitest';
import { gentlePace } from './retention.service.ts';

const config = { batchMs: 5, batchRows: 5000, busyShare: 0.2, pauseMs: 20 };

describe('retention gentle pacing', () => {
  it('sizes the next delete to take batchMs: at most double after a fast one, at most half after a slow one', () => {
    expect(gentlePace(config, 100, 1).batch).toBe(200);
    expect(gentlePace(config, 1000, 4).batch).toBe(1250);
    expect(gentlePace(config, 1000, 5).batch).toBe(1000);
    expect(gentlePace(config, 1000, 8).batch).toBe(625);
    expect(gentlePace(config, 1000, 400).batch).toBe(500);
  });

  it('stays between 100 rows and batchRows', () => {
    expect(gentlePace(config, 100, 50).batch).toBe(100);
    expect(gentlePace(config, 4000, 0).batch).toBe(5000);
    expect(gentlePace({ ...config, batchRows: 300 }, 200, 1).batch).toBe(300);
  });

  it('pauses at least four times as long as the delete took at a busy share of 0.2, and never under pauseMs', () => {
    expect(gentlePace(config, 1000, 5).pauseMs).toBe(20);
    expect(gentlePace(config, 1000, 30).pauseMs).toBeCloseTo(120);
    expect(gentlePace(config, 1000, 1).pauseMs).toBe(20);
    // Deletes take at most a fifth of the time: busy / (busy + pause) <= 0.2.
    for (const ms of [0.5, 3, 12, 250]) {
      const { pauseMs } = gentlePace(config, 1000, ms);
      expect(ms / (ms + pauseMs)).toBeLessThanOrEqual(0.2 + 1e-9);
    }
  });

  it('without a busy share pauses pauseMs only', () => {
    expect(gentlePace({ ...config, busyShare: undefined }, 1000, 300).pauseMs).toBe(20);
  });
});
