/**
 * Development harness for the sensor-fault benchmark: same traces and scoring as
 * `vigil bench synthetic`, plus optional detector parameters (for experiments only: what users
 * get, and what `vigil bench synthetic` measures, is the default parameter set).
 * Tune on `--split dev`; look at `heldout` only to check.
 *
 *   node --import tsx bench/synthetic-dev.bench.ts --type robust [--split dev] [--mode fit|online] [--traces 48] [--params '{"window":200}']
 */
import { parseArgs } from 'node:util';
import { FAULT_FAMILIES, FAULT_KINDS, runSyntheticBenchmark, splitSeeds, summarizeRun, type SyntheticMode, type SyntheticSplit } from '../src/bench/synthetic/index.ts';
import { createDetector } from '../src/detectors/index.ts';

const { values } = parseArgs({
  options: {
    type: { type: 'string', default: 'robust' },
    split: { type: 'string', default: 'dev' },
    mode: { type: 'string', default: 'fit' },
    traces: { type: 'string' },
    params: { type: 'string', default: '{}' },
    // A wider development set, FIRST:COUNT (e.g. 100001:192); replaces --split. Never the held-out seeds.
    seeds: { type: 'string' },
  },
});
function seedRange(spec: string): number[] {
  const [first, count] = spec.split(':').map(Number);
  if (!Number.isInteger(first) || !Number.isInteger(count)) throw new Error('--seeds FIRST:COUNT');
  const seeds = Array.from({ length: count as number }, (_, i) => (first as number) + i);
  const held = new Set(splitSeeds('heldout'));
  if (seeds.some((s) => held.has(s))) throw new Error('--seeds overlaps the held-out split');
  return seeds;
}
const params = JSON.parse(values.params) as Record<string, unknown>;
const split = values.split as SyntheticSplit | 'all';
const t0 = performance.now();
const [run] = await runSyntheticBenchmark({
  candidates: [{ name: values.type, mode: values.mode as SyntheticMode, make: () => createDetector(values.type, { params }) }],
  splits: split === 'all' ? undefined : [split],
  ...(values.traces ? { traces: Number(values.traces) } : {}),
  ...(values.seeds ? { seeds: seedRange(values.seeds) } : {}),
});
if (!run) throw new Error('no run');
const s = summarizeRun(run);
const f = (x: number, d = 3): string => x.toFixed(d);
for (const k of FAULT_KINDS) {
  const m = s.perKind[k];
  if (m) console.log(`${k.padEnd(17)} R ${f(m.recall)}  det ${m.detected}/${m.events}`);
}
for (const fam of FAULT_FAMILIES) {
  const m = s.perFamily[fam];
  if (m) console.log(`${fam.padEnd(17)} F1 ${f(m.f1)}  FA/h ${f(m.falseAlarmsPerHour, 1)}`);
}
const o = s.overall;
console.log(`overall (${values.split}, ${values.mode}) P ${f(o.precision)} R ${f(o.recall)} F1 ${f(o.f1)} FA/h ${f(o.falseAlarmsPerHour, 2)} (FA ${o.falseAlarms}) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
