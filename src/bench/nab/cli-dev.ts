/**
 * Development loop for tuning: `npx tsx src/bench/nab/cli-dev.ts [DATA_DIR] ['{"param":1}'] [kind] [file|none]`
 * (the last argument is `rangeHints`). Params given here are for experiments only: `vigil bench nab`
 * never passes any. Tune on the dev split (first line); the held-out line is for checking.
 */
import { DEFAULT_DETECTOR_KIND } from '../../detectors/types.ts';
import { runNab } from './run-nab.ts';

const dataDir = process.argv[2] ?? '/work/shared/datasets/nab';
const params = process.argv[3] ? (JSON.parse(process.argv[3]) as Record<string, unknown>) : undefined;
const kind = process.argv[4] ?? DEFAULT_DETECTOR_KIND;
const rangeHints = process.argv[5] === 'file' ? 'file' : 'none';
const r = await runNab({ dataDir, kind, params, rangeHints });
const fmt = (x: number): string => x.toFixed(2);
const d = r.evaluations.dev.subsets;
console.log(
  `dev-threshold  dev std=${fmt(d.dev.standard.normalized)} lowFP=${fmt(d.dev.reward_low_FP_rate.normalized)} lowFN=${fmt(d.dev.reward_low_FN_rate.normalized)}` +
    `  heldout std=${fmt(d.heldout.standard.normalized)} lowFP=${fmt(d.heldout.reward_low_FP_rate.normalized)} lowFN=${fmt(d.heldout.reward_low_FN_rate.normalized)}`,
);
console.log(
  `whole-corpus threshold: ${kind} ${JSON.stringify(r.params)} rangeHints=${r.rangeHints} std=${fmt(r.profiles.standard.normalized)} lowFP=${fmt(r.profiles.reward_low_FP_rate.normalized)} lowFN=${fmt(r.profiles.reward_low_FN_rate.normalized)} ` +
    `windows=${r.profiles.standard.windowsDetected}/${r.profiles.standard.windows} fp=${r.profiles.standard.falsePositives} t=${(r.elapsedMs / 1000).toFixed(1)}s`,
);
for (const [c, s] of Object.entries(r.categories)) console.log(`  ${c.padEnd(24)} ${fmt(s.standard.normalized)}`);
