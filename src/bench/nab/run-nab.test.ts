import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetector } from '../../detectors/registry.ts';
import { DEFAULT_DETECTOR_KIND } from '../../detectors/types.ts';
import { runNab } from './run-nab.ts';
import { NAB_PROFILE_NAMES } from './scorer.ts';
import { NAB_SPLIT, splitNabFiles } from './split.ts';

const stamp = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

describe('NAB split', () => {
  it('is the sorted alternation rule, and halves every category', () => {
    const files = Object.keys(NAB_SPLIT);
    expect(files).toHaveLength(58);
    expect(splitNabFiles([...files].reverse())).toEqual(NAB_SPLIT);
    const byCat = new Map<string, { dev: number; heldout: number }>();
    for (const [f, s] of Object.entries(NAB_SPLIT)) {
      const c = byCat.get(f.split('/')[0]!) ?? { dev: 0, heldout: 0 };
      c[s]++;
      byCat.set(f.split('/')[0]!, c);
    }
    expect(byCat.size).toBe(7);
    for (const c of byCat.values()) expect(Math.abs(c.dev - c.heldout)).toBeLessThanOrEqual(1);
    expect(Object.values(NAB_SPLIT).filter((s) => s === 'dev')).toHaveLength(29);
  });

  it('does not depend on the order files are listed in', () => {
    const a = splitNabFiles(['b/2.csv', 'a/1.csv', 'b/1.csv', 'a/2.csv']);
    expect(a).toEqual({ 'a/1.csv': 'dev', 'a/2.csv': 'heldout', 'b/1.csv': 'dev', 'b/2.csv': 'heldout' });
  });
});

describe('runNab', () => {
  let corpus: string;
  const start = Date.UTC(2014, 3, 1);

  beforeAll(() => {
    corpus = mkdtempSync(join(tmpdir(), 'vigil-nab-'));
    mkdirSync(join(corpus, 'labels'), { recursive: true });
    const labels: Record<string, Array<[string, string]>> = {};
    for (const cat of ['artificialWithAnomaly', 'realKnownCause']) {
      mkdirSync(join(corpus, 'data', cat), { recursive: true });
      for (const [k, name] of ['one.csv', 'two.csv', 'three.csv'].entries()) {
        const at = 1100 + 50 * k;
        const lines = ['timestamp,value'];
        for (let i = 0; i < 1500; i++) {
          // The second file's clock steps back 10 rows once (kept in file order).
          const t = start + (k === 1 && i >= 600 ? i - 10 : i) * 300_000;
          lines.push(`${stamp(t)},${(50 + 5 * Math.sin(i / 20) + (i >= at && i < at + 10 ? 80 : 0)).toFixed(3)}`);
        }
        writeFileSync(join(corpus, 'data', cat, name), `${lines.join('\n')}\n`);
        labels[`${cat}/${name}`] = [[stamp(start + (at - 50) * 300_000), stamp(start + (at + 50) * 300_000)]];
      }
    }
    writeFileSync(join(corpus, 'labels', 'combined_windows.json'), JSON.stringify(labels));
  });

  afterAll(() => rmSync(corpus, { recursive: true, force: true }));

  it('runs the default kind with its default params, every row of every file, split by the rule', async () => {
    const r = await runNab({ dataDir: corpus });
    expect(r.kind).toBe(DEFAULT_DETECTOR_KIND);
    expect(r.params).toEqual({});
    expect(r.detectorParams).toEqual(createDetector(DEFAULT_DETECTOR_KIND).serialize().params);
    expect(r.rangeHints).toBe('none');
    expect(r.files.map((f) => f.rows)).toEqual(Array(6).fill(1500));
    expect(r.split).toEqual({
      'artificialWithAnomaly/one.csv': 'dev',
      'artificialWithAnomaly/three.csv': 'heldout',
      'artificialWithAnomaly/two.csv': 'dev',
      'realKnownCause/one.csv': 'heldout',
      'realKnownCause/three.csv': 'dev',
      'realKnownCause/two.csv': 'heldout',
    });
  });

  it('chooses thresholds on the whole corpus (NAB) and on dev only, and scores dev, heldout and all under each', async () => {
    const r = await runNab({ dataDir: corpus, kind: 'robust' });
    const { nab, dev } = r.evaluations;
    expect(nab.subsets.all).toEqual(r.profiles);
    for (const p of NAB_PROFILE_NAMES) {
      // Each threshold is the best for the files it was chosen on.
      expect(dev.subsets.dev[p].raw).toBeGreaterThanOrEqual(nab.subsets.dev[p].raw - 1e-9);
      expect(nab.subsets.all[p].raw).toBeGreaterThanOrEqual(dev.subsets.all[p].raw - 1e-9);
      expect(dev.subsets.dev[p].windows + dev.subsets.heldout[p].windows).toBe(6);
      expect(nab.subsets.dev[p].raw + nab.subsets.heldout[p].raw).toBeCloseTo(nab.subsets.all[p].raw, 9);
      expect(dev.categories.realKnownCause?.heldout?.[p].windows).toBe(2);
      expect(dev.categories.realKnownCause?.dev?.[p].windows).toBe(1);
    }
  });

  it("gives kinds with range params each file's range only when rangeHints is file", async () => {
    const hinted = await runNab({ dataDir: corpus, kind: 'context', rangeHints: 'file', only: ['one.csv'] });
    expect(hinted.rangeHints).toBe('file');
    const robust = await runNab({ dataDir: corpus, kind: 'robust', rangeHints: 'file', only: ['one.csv'] });
    expect(robust.rangeHints).toBe('none');
  });
});
