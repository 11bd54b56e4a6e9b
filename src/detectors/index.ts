/**
 * The anomaly-detection library: pure, deterministic, no I/O.
 * @module
 */
export * from './types.ts';
export { createDetector, describeDetectors, restoreDetector, type DetectorFactory } from './registry.ts';
export { calibrate, confidenceOf, fitCalibration, quantile, type Calibration } from './calibration.ts';
