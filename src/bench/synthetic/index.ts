/**
 * The synthetic benchmark: seeded Arduino-like traces with labelled events, event-level
 * scoring, and the rolling z-score reference.
 * @module
 */
export * from './generator.ts';
export * from './evaluate.ts';
export * from './benchmark.ts';
export * from './zscore-baseline.ts';
