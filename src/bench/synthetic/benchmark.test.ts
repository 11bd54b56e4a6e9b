import { describe, expect, it } from 'vitest';
import { checkTargets, runSyntheticBenchmark, splitSeeds, summarizeRun, SYNTHETIC_SPLITS } from './benchmark.ts';
import { createZScoreBaseline } from './zscore-baseline.ts';
import { generateFaultTrace } from './faults.ts';

const silent = () => ({ fit: () => Promise.resolve(), score: () => ({ is_anomaly: false }) });
const always = () => ({ fit: () => Promise.resolve(), score: () => ({ is_anomaly: true }) });

describe('seed splits', () => {
  it('are fixed, disjoint and of the documented size', () => {
    const dev = splitSeeds('dev');
    const heldout = splitSeeds('heldout');
    expect(dev).toHaveLength(SYNTHETIC_SPLITS.dev.traces);
    expect(dev.slice(0, 3)).toEqual([1, 2, 3]);
    expect(heldout[0]).toBe(900_001);
    expect(dev.filter((s) => heldout.includes(s))).toEqual([]);
    expect(splitSeeds('dev')).toEqual(dev);
    expect(splitSeeds('heldout', 2)).toEqual([900_001, 900_002]);
  });
});

describe('runSyntheticBenchmark', () => {
  it('scores a silent detector as recall 0 with no false alarms, per split', async () => {
    const [run] = await runSyntheticBenchmark({ candidates: [{ name: 'silent', mode: 'fit', make: silent }], traces: 2 });
    const all = summarizeRun(run!);
    expect(all.traces).toBe(4);
    expect(all.overall.detected).toBe(0);
    expect(all.overall.falseAlarms).toBe(0);
    expect(all.overall.events).toBeGreaterThanOrEqual(4 * 3);
    const dev = summarizeRun(run!, 'dev');
    const heldout = summarizeRun(run!, 'heldout');
    expect(dev.overall.events + heldout.overall.events).toBe(all.overall.events);
    expect(run!.traces.filter((t) => t.split === 'dev').map((t) => t.seed)).toEqual([1, 2]);
    const expected = [1, 2, 900_001, 900_002].reduce((s, seed) => s + generateFaultTrace(seed).test.length, 0);
    expect(run!.readingsScored).toBe(expected);
  });

  it('charges an always-alarming detector false alarms and credits every event', async () => {
    const [run] = await runSyntheticBenchmark({ candidates: [{ name: 'always', mode: 'online', make: always }], splits: ['dev'], traces: 2 });
    const s = summarizeRun(run!);
    expect(s.overall.recall).toBe(1);
    expect(s.overall.falseAlarms).toBeGreaterThanOrEqual(s.overall.events);
    expect(s.overall.precision).toBeLessThan(0.6);
    expect(checkTargets(s).f1).toBe(false);
  });

  it('fits in fit mode and never in online mode', async () => {
    let fits = 0;
    const counting = () => ({ fit: () => Promise.resolve(void fits++), score: () => ({ is_anomaly: false }) });
    await runSyntheticBenchmark({
      candidates: [
        { name: 'a', mode: 'fit', make: counting },
        { name: 'b', mode: 'online', make: counting },
      ],
      splits: ['dev'],
      traces: 2,
    });
    expect(fits).toBe(2);
  });

  it('is reproducible', async () => {
    const run = async () => summarizeRun((await runSyntheticBenchmark({ candidates: [{ name: 'z', mode: 'fit', make: () => createZScoreBaseline() }], splits: ['heldout'], traces: 2 }))[0]!);
    expect(await run()).toEqual(await run());
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(runSyntheticBenchmark({ candidates: [{ name: 's', mode: 'fit', make: silent }], signal: controller.signal })).rejects.toThrow();
  });
});
