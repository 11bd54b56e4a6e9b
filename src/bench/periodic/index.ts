/**
 * The periodic shape-anomaly benchmark: seeded periodic series with one anomalous cycle each,
 * scored with the UCR anomaly archive's rule, plus its anchors.
 * @module
 */
export * from './generator.ts';
export * from './benchmark.ts';
