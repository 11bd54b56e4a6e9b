import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateTrace } from '../bench/synthetic/generator.ts';
import { DEFAULT_DETECTOR_KIND, describeDetectors } from '../detectors/index.ts';

// Every test spawns the CLI; on a loaded shared machine one start can take half a minute.
vi.setConfig({ testTimeout: 120_000 });

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/vigil.js');
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function vigil(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const kind = (describeDetectors().find((d) => d.online) ?? describeDetectors()[0])!.kind;

const nab = (ts: number) => new Date(ts).toISOString().replace('T', ' ').replace('Z', '');

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  const trace = generateTrace({ seed: 11, kinds: ['dropout', 'spike'], events: 2 });
  const train = trace.readings.filter((r) => r.ts < trace.normalUntil);
  const test = trace.readings.filter((r) => r.ts >= trace.normalUntil);
  writeFileSync(join(dir, 'normal.csv'), `timestamp,value\n${train.map((r) => `${nab(r.ts)},${r.value}`).join('\n')}\n`);
  // A 3-second stretch at 0 V in the middle: a gross anomaly any kind should score up.
  const mid = Math.floor(test.length / 2);
  const data = test.map((r, i) => ({ ...r, value: i >= mid && i < mid + 30 ? 0 : r.value }));
  writeFileSync(join(dir, 'data.csv'), `timestamp,value,label\n${data.map((r) => `${r.ts},${r.value},0`).join('\n')}\n`);
  writeFileSync(join(dir, 'fake-model.json'), JSON.stringify({ format: 'vigil-detector', version: 1, kind: 'robust', state: 'nope' }));
  // 400 readings at 1 Hz whose clock steps back 100 s once (after line 201), as NAB's machine_temperature file does.
  const stepTs = Array.from({ length: 400 }, (_, i) => 1_700_000_000_000 + (i < 200 ? i : i - 100) * 1000);
  writeFileSync(join(dir, 'stepback.csv'), `timestamp,value\n${stepTs.map((t, i) => `${nab(t)},${(2 + 0.01 * Math.sin(i / 5)).toFixed(4)}`).join('\n')}\n`);
  writeFileSync(join(dir, 'bad.csv'), 'timestamp,value\n1700000000,1.5\n1700000000.1,oops\n1700000000.2,1.6\n1699999999,1.7\n1700000000.3,1.5\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const tempFilesIn = (d: string) => readdirSync(d).filter((f) => f.endsWith('.tmp'));

describe('vigil train and detect', () => {
  it('trains a model, writes it atomically and prints a summary', async () => {
    const r = await vigil(['train', '--input', 'normal.csv', '--out', 'model.json', '--type', kind as string, '--seed', '7'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Trained ${kind} on 3000 readings`));
    expect(r.stdout).toMatch(/threshold\s+0\.5/);
    const artifact = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    expect(artifact).toMatchObject({ format: 'vigil-detector', kind, seed: 7 });
    expect(tempFilesIn(dir)).toEqual([]);
  });

  it('trains the default kind on 5 minutes of a 1 Hz sensor, with a note that a longer recording teaches it more', async () => {
    const slow = Array.from({ length: 300 }, (_, i) => `${nab(1_700_000_000_000 + i * 1000)},${(2.5 + 0.02 * Math.sin(i / 30) + 0.004 * Math.sin(i * 1.7)).toFixed(4)}`);
    writeFileSync(join(dir, 'short.csv'), `timestamp,value\n${slow.join('\n')}\n`);
    const r = await vigil(['train', '--input', 'short.csv', '--out', 'short.json'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Trained ${DEFAULT_DETECTOR_KIND} on 300 readings`));
    expect(r.stdout).toMatch(/Note: Fitted on a short recording \(300 readings\): 900 or more/);
    expect(existsSync(join(dir, 'short.json'))).toBe(true);
    // A long recording gets no such note.
    const long = await vigil(['train', '--input', 'normal.csv', '--out', 'long.json'], dir);
    expect(long.code).toBe(0);
    expect(long.stdout).not.toMatch(/Note:/);
  });

  it('scores with a trained model: one row per input row, in order, timestamps as read', async () => {
    const r = await vigil(['detect', '--model', 'model.json', '--input', 'data.csv', '--out', 'scores.csv'], dir);
    expect(r.code).toBe(0);
    const input = readFileSync(join(dir, 'data.csv'), 'utf8').trim().split('\n');
    const out = readFileSync(join(dir, 'scores.csv'), 'utf8').trim().split('\n');
    expect(out[0]).toBe('timestamp,value,anomaly_score,is_anomaly');
    expect(out).toHaveLength(input.length);
    const rows = out.slice(1).map((l) => l.split(','));
    expect(rows.map((c) => c[0])).toEqual(input.slice(1).map((l) => l.split(',')[0]));
    expect(rows.every((c) => c[3] === '0' || c[3] === '1')).toBe(true);
    const scores = rows.map((c) => Number(c[2]));
    expect(scores.every((s) => s >= 0 && s <= 1)).toBe(true);
    const mid = Math.floor(rows.length / 2);
    const sorted = [...scores].sort((a, b) => a - b);
    expect(Math.max(...scores.slice(mid, mid + 40))).toBeGreaterThan(sorted[Math.floor(sorted.length / 2)] as number);
    expect(rows.slice(mid, mid + 40).some((c) => c[3] === '1')).toBe(true);
  });

  it('scores online with --type and no model', async () => {
    const r = await vigil(['detect', '--type', kind as string, '--input', 'data.csv', '--out', 'online.csv'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(online\)/);
    const lines = readFileSync(join(dir, 'online.csv'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(readFileSync(join(dir, 'data.csv'), 'utf8').trim().split('\n').length);
  });

  it('scores with the default kind online when given neither --model nor --type', async () => {
    const r = await vigil(['detect', '--input', 'data.csv', '--out', 'default.csv'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`with ${DEFAULT_DETECTOR_KIND} \\(online\\)`));
    expect(readFileSync(join(dir, 'default.csv'), 'utf8').trim().split('\n')).toHaveLength(readFileSync(join(dir, 'data.csv'), 'utf8').trim().split('\n').length);
  });

  it('scores a clock that steps back in file order with a warning: one output row per input row', async () => {
    const r = await vigil(['detect', '--input', 'stepback.csv', '--out', 'stepback-scores.csv'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stepback\.csv: warning: the clock steps back at 1 row\(s\) \(first at line 202\); rows are used in file order/);
    const input = readFileSync(join(dir, 'stepback.csv'), 'utf8').trim().split('\n');
    const out = readFileSync(join(dir, 'stepback-scores.csv'), 'utf8').trim().split('\n');
    expect(out).toHaveLength(input.length);
    expect(out.slice(1).map((l) => l.split(',')[0])).toEqual(input.slice(1).map((l) => l.split(',')[0]));
    expect(out.slice(1).every((l) => Number.isFinite(Number(l.split(',')[2])))).toBe(true);
  });

  it('reports bad rows by line number, exits 2 and writes nothing', async () => {
    const r = await vigil(['detect', '--type', kind as string, '--input', 'bad.csv', '--out', 'bad-scores.csv'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.csv:3: unparseable value "oops"/);
    expect(r.stderr).toMatch(/bad\.csv: warning: the clock steps back at 1 row\(s\) \(first at line 5\)/);
    expect(r.stderr).toMatch(/--skip-bad/);
    expect(existsSync(join(dir, 'bad-scores.csv'))).toBe(false);
    expect(tempFilesIn(dir)).toEqual([]);
  });

  it('skips bad rows with --skip-bad', async () => {
    const r = await vigil(['detect', '--type', kind as string, '--input', 'bad.csv', '--out', 'skipped.csv', '--skip-bad'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/skipped 1 bad row/);
    const lines = readFileSync(join(dir, 'skipped.csv'), 'utf8').trim().split('\n');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['1700000000', '1700000000.2', '1699999999', '1700000000.3']);
  });

  it('refuses a training file with bad rows unless --skip-bad', async () => {
    const r = await vigil(['train', '--input', 'bad.csv', '--out', 'never.json', '--type', kind as string], dir);
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'never.json'))).toBe(false);
  });
});

describe('vigil usage and input errors', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['both --model and --type', ['detect', '--model', 'm.json', '--type', 'iforest', '--input', 'data.csv', '--out', 'x.csv'], /either --model or --type/],
    ['a missing required option', ['train', '--out', 'x.json'], /--input/],
    ['an unknown kind', ['detect', '--type', 'nope', '--input', 'data.csv', '--out', 'x.csv'], /"nope" is not available/],
    ['a retired kind', ['detect', '--type', 'ensemble', '--input', 'data.csv', '--out', 'x.csv'], /"ensemble" was retired.*"auto"/],
    ['a model that is not JSON', ['detect', '--model', 'data.csv', '--input', 'data.csv', '--out', 'x.csv'], /not a usable Vigil model/],
    ['a model that is not an artifact', ['detect', '--model', 'fake-model.json', '--input', 'data.csv', '--out', 'x.csv'], /not a usable Vigil model: .*/],
    ['a missing input file', ['detect', '--type', 'robust', '--input', 'missing.csv', '--out', 'x.csv'], /cannot read missing\.csv: no such file/],
    ['a legacy kind to train', ['train', '--type', 'iforest', '--input', 'data.csv', '--out', 'x.json'], /"iforest" is retired for new models.*keep working/],
    ['a legacy kind to score online', ['detect', '--type', 'rcf', '--input', 'data.csv', '--out', 'x.csv'], /"rcf" is retired for new models/],
    ['a bad seed', ['train', '--input', 'normal.csv', '--out', 'x.json', '--seed', '-1'], /--seed/],
    ['a bad --traces', ['bench', 'synthetic', '--traces', '0'], /--traces/],
    ['an unknown --split', ['bench', 'synthetic', '--split', 'test'], /--split/],
  ];
  for (const [what, args, message] of cases) {
    it(`exits 2 with a clear message for ${what}`, async () => {
      const r = await vigil(args, dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(dir, 'x.csv'))).toBe(false);
    });
  }
});

describe('vigil detectors', () => {
  it('lists kinds with their parameters as JSON', async () => {
    const r = await vigil(['detectors', '--json'], dir);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { default: string; detectors: Array<{ kind: string; params: unknown[] }> };
    expect(parsed.detectors.map((d) => d.kind)).toEqual(describeDetectors().map((d) => d.kind));
    expect(parsed.detectors.every((d) => Array.isArray(d.params))).toBe(true);
    // Legacy kinds are listed (their stored models load) but train nothing new.
    const legacy = parsed.detectors.filter((d) => (d as { legacy?: unknown }).legacy);
    expect(legacy.map((d) => [d.kind, d])).toEqual([
      ['iforest', expect.objectContaining({ trainable: false, online: false, legacy: { successor: 'auto' } })],
      ['rcf', expect.objectContaining({ trainable: false, online: false, legacy: { successor: 'auto' } })],
    ]);
  });

  it('lists kinds and parameters as text', async () => {
    const r = await vigil(['detectors'], dir);
    expect(r.code).toBe(0);
    const d = describeDetectors().find((x) => x.kind === kind);
    expect(r.stdout).toContain(kind as string);
    for (const p of d?.params ?? []) expect(r.stdout).toContain(p.name);
  });
});

describe('vigil bench synthetic', () => {
  it('prints dev, held-out and whole results, the targets and the parameters used, without progress output when piped', async () => {
    const r = await vigil(['bench', 'synthetic', '--type', kind as string, '--traces', '1', '--mode', 'fit'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dev = seeds 1-1 \(1 traces\), heldout = seeds 900001-900001/);
    expect(r.stdout).toMatch(/Targets \(issue 11\): event F1 >= 0.9 at <= 2 false alarms\/h; recall >= 0.8 for every event kind/);
    expect(r.stdout).toContain(`${kind}: ${JSON.stringify(JSON.parse(JSON.stringify((await import('../detectors/index.ts')).createDetector(kind).serialize().params)))}`);
    expect(r.stdout).toMatch(/zscore \(baseline\)/);
    expect(r.stdout).toMatch(new RegExp(`^${kind} \\(fit\\)\\s+\\d\\.\\d{3}\\s+\\d+\\.\\d`, 'm'));
    expect(r.stdout).toMatch(/^kind\s+dev\s+heldout\s+all$/m);
    expect(r.stdout).not.toMatch(/\(online\)/);
    expect(r.stdout + r.stderr).not.toContain('\x1b[');
  });

  it('prints JSON with --json, online and fitted runs of the kind and the baseline', async () => {
    const r = await vigil(['bench', 'synthetic', '--type', kind as string, '--traces', '1', '--split', 'heldout', '--json'], dir);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { splits: Record<string, number[]>; results: Array<{ name: string; mode: string; heldout: { overall: { events: number } } }> };
    expect(parsed.splits).toEqual({ heldout: [900_001] });
    expect(parsed.results.map((x) => `${x.name}/${x.mode}`)).toEqual([`${kind}/fit`, `${kind}/online`, 'zscore (baseline)/fit']);
    expect(parsed.results[0]?.heldout.overall.events).toBeGreaterThanOrEqual(3);
  });
});

describe('vigil bench periodic', () => {
  it('runs the default kind with no --type, prints its parameters and dev / held-out / whole accuracy', async () => {
    const r = await vigil(['bench', 'periodic', '--limit', '1', '--no-anchors'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 development series \(seeds 1001-1001\) and 1 held-out \(seeds 2001-2001\)/);
    expect(r.stdout).toMatch(new RegExp(`^Parameters of ${DEFAULT_DETECTOR_KIND}: `, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${DEFAULT_DETECTOR_KIND} \\(default\\)\\s+\\d\\.\\d{3} \\(\\d/1\\)\\s+\\d\\.\\d{3} \\(\\d/1\\)\\s+\\d\\.\\d{3} \\(\\d/2\\)`, 'm'));
    expect(r.stdout).not.toMatch(/anchor/);
  }, 120_000);

  it('adds the anchors and prints JSON with --json', async () => {
    const r = await vigil(['bench', 'periodic', '--type', 'robust', '--limit', '1', '--json'], dir);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { type: string; params: Record<string, unknown>; results: Array<{ scorer: string; whole: { total: number } }> };
    expect(parsed.type).toBe('robust');
    expect(parsed.results.map((x) => x.scorer)).toEqual(['robust', 'subsequence channel', 'matrix profile discord, one length (anchor)', 'iforest (anchor)']);
    expect(parsed.results.every((x) => x.whole.total === 2)).toBe(true);
  }, 120_000);

  it('exits 2 for an unknown kind', async () => {
    const r = await vigil(['bench', 'periodic', '--type', 'nope', '--limit', '1'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not available/);
  });
});

describe('vigil bench nab', () => {
  it('exits 2 when --data is not a NAB corpus', async () => {
    const r = await vigil(['bench', 'nab', '--data', 'nowhere', '--type', kind ?? 'robust'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a NAB corpus/);
  });

  it('prints the three profile scores and a category table, and writes results', async () => {
    const corpus = join(dir, 'nab');
    const category = 'artificialWithAnomaly';
    mkdirSync(join(corpus, 'data', category), { recursive: true });
    mkdirSync(join(corpus, 'labels'), { recursive: true });
    const start = Date.UTC(2014, 3, 1);
    const lines = ['timestamp,value'];
    for (let i = 0; i < 1500; i++) {
      const v = 50 + 5 * Math.sin(i / 20) + (i >= 1200 && i < 1210 ? 80 : 0);
      lines.push(`${nab(start + i * 300_000).slice(0, 19)},${v.toFixed(3)}`);
    }
    writeFileSync(join(corpus, 'data', category, 'tiny.csv'), `${lines.join('\n')}\n`);
    const win = [nab(start + 1150 * 300_000).slice(0, 19) + '.000000', nab(start + 1250 * 300_000).slice(0, 19) + '.000000'];
    writeFileSync(join(corpus, 'labels', 'combined_windows.json'), JSON.stringify({ [`${category}/tiny.csv`]: [win] }));
    const r = await vigil(['bench', 'nab', '--data', corpus, '--type', kind as string, '--out', 'nab-out'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const p of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']) expect(r.stdout).toMatch(new RegExp(`^${p}\\s+-?\\d+\\.\\d{2}`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${category}\\s`, 'm'));
    expect(r.stdout).toMatch(/range hints: none/);
    expect(r.stdout).toMatch(/Parameters used \(artifact params\): \{/);
    expect(r.stdout).toMatch(/Threshold chosen on dev, applied unchanged to heldout/);
    expect(r.stdout).toMatch(/standard >= 75, reward_low_FP_rate >= 68, reward_low_FN_rate >= 80/);
    expect(r.stdout).toMatch(/ARTime 74\.85 \/ 65\.15 \/ 80\.36, Numenta HTM 70\.10 .* CAD OSE 69\.90/);
    expect(existsSync(join(dir, 'nab-out'))).toBe(true);
    // The bench measures exactly what `vigil detect` gives a user for the same file.
    const d = await vigil(['detect', '--type', kind as string, '--input', join(corpus, 'data', category, 'tiny.csv'), '--out', 'tiny-scores.csv'], dir);
    expect(d.code).toBe(0);
    const detected = readFileSync(join(dir, 'tiny-scores.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[2]);
    const benched = readFileSync(join(dir, 'nab-out', category, `${kind}_tiny.csv`), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[2]);
    expect(benched).toHaveLength(1500);
    expect(benched).toEqual(detected);
  }, 180_000);

  it('runs the default kind when --type is not given', async () => {
    const r = await vigil(['bench', 'nab', '--data', join(dir, 'nab'), '--out', 'nab-default'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^NAB scores for ${DEFAULT_DETECTOR_KIND}:`, 'm'));
  });
});
