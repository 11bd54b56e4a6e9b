import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAB_CONTEXT_PARAMS, runNab } from './run-nab.ts';

const stamp = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

describe('runNab range hints', () => {
  let corpus: string;

  beforeAll(() => {
    corpus = mkdtempSync(join(tmpdir(), 'vigil-nab-'));
    mkdirSync(join(corpus, 'data', 'artificialWithAnomaly'), { recursive: true });
    mkdirSync(join(corpus, 'labels'), { recursive: true });
    const start = Date.UTC(2014, 3, 1);
    const lines = ['timestamp,value'];
    for (let i = 0; i < 1500; i++) lines.push(`${stamp(start + i * 300_000)},${(50 + 5 * Math.sin(i / 20) + (i >= 1200 && i < 1210 ? 80 : 0)).toFixed(3)}`);
    writeFileSync(join(corpus, 'data', 'artificialWithAnomaly', 'tiny.csv'), `${lines.join('\n')}\n`);
    const win = [stamp(start + 1150 * 300_000), stamp(start + 1250 * 300_000)];
    writeFileSync(join(corpus, 'labels', 'combined_windows.json'), JSON.stringify({ 'artificialWithAnomaly/tiny.csv': [win] }));
  });

  afterAll(() => rmSync(corpus, { recursive: true, force: true }));

  it('learns the range online by default and uses the NAB preset for context', async () => {
    const r = await runNab({ dataDir: corpus, kind: 'context' });
    expect(r.rangeHints).toBe('none');
    expect(r.params).toEqual(NAB_CONTEXT_PARAMS);
    expect(r.profiles.standard.windowsDetected).toBe(1);
  });

  it("gives kinds with range params each file's range when rangeHints is file", async () => {
    const hinted = await runNab({ dataDir: corpus, kind: 'context', rangeHints: 'file' });
    expect(hinted.rangeHints).toBe('file');
    expect(hinted.profiles.standard.windowsDetected).toBe(1);
    const robust = await runNab({ dataDir: corpus, kind: 'robust', rangeHints: 'file' });
    expect(robust.rangeHints).toBe('none');
  });
});
