/**
 * The Numenta Anomaly Benchmark: run a detector kind over a NAB-layout folder, score it with
 * NAB's rules on the whole corpus and on its development / held-out split, and write results.
 * @module
 */
export { runNab, writeNabResults, summarizeNab, NAB_SUBSETS, type RunNabOptions, type NabResult, type NabFileResult, type NabProfileScore, type NabSubset, type NabThresholdEvaluation } from './run-nab.ts';
export { NAB_PROFILES, NAB_PROFILE_NAMES, type NabProfile, type NabProfileName } from './scorer.ts';
export { NAB_SPLIT, NAB_SPLIT_NAMES, splitNabFiles, type NabSplit } from './split.ts';

/** The targets on NAB (default path, online, no range hints). */
export const NAB_TARGETS = { standard: 75, reward_low_FP_rate: 68, reward_low_FN_rate: 80 } as const;

/** Published scores (NAB's results/final_results.json; range hints from each file, threshold on the whole corpus). */
export const NAB_ANCHORS = [
  { name: 'ARTime', standard: 74.85, reward_low_FP_rate: 65.15, reward_low_FN_rate: 80.36 },
  { name: 'Numenta HTM', standard: 70.1, reward_low_FP_rate: 63.12, reward_low_FN_rate: 74.32 },
  { name: 'CAD OSE', standard: 69.9, reward_low_FP_rate: 66.98, reward_low_FN_rate: 73.18 },
] as const;
