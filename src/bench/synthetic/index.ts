/**
 * Synthetic benchmarks: the sensor-fault benchmark (`faults.ts`, `benchmark.ts`) behind
 * `vigil bench synthetic`, event-level scoring, the rolling z-score reference, and the older
 * Arduino trace generator (`generator.ts`) that presets and tests use for normal data.
 * @module
 */
export * from './generator.ts';
export * from './faults.ts';
export * from './evaluate.ts';
export * from './benchmark.ts';
export * from './zscore-baseline.ts';
