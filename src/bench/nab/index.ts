/**
 * The Numenta Anomaly Benchmark: run a detector kind over a NAB-layout folder, score it with
 * NAB's rules and write results.
 * @module
 */
export { runNab, writeNabResults, summarizeNab, NAB_ROBUST_PARAMS, NAB_CONTEXT_PARAMS, type RunNabOptions, type NabResult, type NabFileResult, type NabProfileScore } from './run-nab.ts';
export { NAB_PROFILES, NAB_PROFILE_NAMES, type NabProfile, type NabProfileName } from './scorer.ts';
