/**
 * Development harness for the synthetic benchmark: same protocol as `vigil bench synthetic`,
 * plus per-kind rows, CPU-time throughput of `score` (the machine may be shared) and
 * optional detector parameters.
 *
 *   node --import tsx bench/synthetic-dev.bench.ts --type ensemble --seeds 5 [--params '{"rcfTrees":20}'] [--from 0]
 */
import { parseArgs } from 'node:util';
import { runSyntheticBenchmark } from '../src/bench/synthetic/index.ts';
import { ANOMALY_KINDS } from '../src/bench/synthetic/generator.ts';
import { createDetector, type Reading } from '../src/detectors/index.ts';

const { values } = parseArgs({
  options: {
    type: { type: 'string', default: 'ensemble' },
    seeds: { type: 'string', default: '5' },
    params: { type: 'string', default: '{}' },
    kinds: { type: 'string' },
  },
});
const params = JSON.parse(values.params) as Record<string, unknown>;
const kinds = values.kinds ? (values.kinds.split(',') as typeof ANOMALY_KINDS[number][]) : ANOMALY_KINDS;
let cpuUs = 0;
let scored = 0;
const result = await runSyntheticBenchmark({
  seeds: Number(values.seeds),
  kinds,
  makeScorer: (seed) => {
    const d = createDetector(values.type, { seed, params });
    return {
      fit: (normal: readonly Reading[]) => d.fit(normal),
      score: (r: Reading) => {
        const c0 = process.cpuUsage();
        const s = d.score(r);
        const c = process.cpuUsage(c0);
        cpuUs += c.user + c.system;
        scored++;
        return s;
      },
    };
  },
});
const f = (x: number, d = 3): string => x.toFixed(d);
for (const k of kinds) {
  const m = result.perKind[k];
  if (m) console.log(`${k.padEnd(12)} R ${f(m.recall)}  det ${m.detected}/${m.events}  FA ${m.falseAlarms}`);
}
const o = result.overall;
console.log(`overall      P ${f(o.precision)} R ${f(o.recall)} F1 ${f(o.f1)} FA/h ${f(o.falseAlarmsPerHour, 2)} (FA ${o.falseAlarms})`);
console.log(`score CPU (incl. cpuUsage overhead): ${Math.round((scored / cpuUs) * 1e6)} readings/s`);
