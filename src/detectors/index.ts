/**
 * The anomaly-detection library: pure, deterministic, no I/O.
 * @module
 */
export * from './types.ts';
export { createDetector, describeDetectors, restoreDetector, type DetectorFactory } from './registry.ts';
export { calibrate, confidenceOf, fitCalibration, quantile, type Calibration } from './calibration.ts';
export { validateArtifact, parseArtifact, ARTIFACT_LIMITS, SUPPORTED_ARTIFACT_VERSIONS } from './artifact.ts';
