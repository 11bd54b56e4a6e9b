import {
  DEFAULT_DETECTOR_KIND,
  DETECTOR_KINDS,
  DetectorError,
  retiredKindMessage,
  type CreateDetectorOptions,
  type Detector,
  type DetectorArtifact,
  type DetectorDescriptor,
  type DetectorKind,
} from './types.ts';
import { autoFactory } from './auto.detector.ts';
import { autoencoderFactory } from './autoencoder.detector.ts';
import { contextFactory } from './context.detector.ts';
import { iforestFactory } from './iforest.detector.ts';
import { rcfFactory } from './rcf.detector.ts';
import { robustFactory } from './robust.detector.ts';

/** What each kind module exports. */
export interface DetectorFactory {
  descriptor: DetectorDescriptor;
  create(options: CreateDetectorOptions): Detector;
  /** Rebuilds a detector from an artifact already checked by `validateArtifact`. */
  restore(artifact: DetectorArtifact): Detector;
  /** Artifact versions this kind reads (default: `SUPPORTED_ARTIFACT_VERSIONS`); a kind bumps its own when its state format changes. */
  artifactVersions?: readonly number[];
  /** Kind-specific checks of an untrusted artifact's `state` (and `params`); throws `DetectorError('invalid-artifact')`. */
  validateState?(state: unknown, artifact: DetectorArtifact): void;
}

const factories: Partial<Record<DetectorKind, DetectorFactory>> = {
  auto: autoFactory,
  iforest: iforestFactory,
  autoencoder: autoencoderFactory,
  rcf: rcfFactory,
  robust: robustFactory,
  context: contextFactory,
};

function factoryFor(kind: string): DetectorFactory {
  const retired = retiredKindMessage(kind);
  if (retired) throw new DetectorError('invalid-params', retired);
  if (!(DETECTOR_KINDS as readonly string[]).includes(kind)) {
    throw new DetectorError('invalid-params', `Unknown detector kind "${kind}". Known kinds: ${DETECTOR_KINDS.join(', ')}.`);
  }
  const factory = factories[kind as DetectorKind];
  if (!factory) throw new DetectorError('invalid-params', `Detector kind "${kind}" is not available in this build.`);
  return factory;
}

export function createDetector(kind: string = DEFAULT_DETECTOR_KIND, options: CreateDetectorOptions = {}): Detector {
  return factoryFor(kind).create(options);
}

export function describeDetectors(): DetectorDescriptor[] {
  return DETECTOR_KINDS.flatMap((k) => (factories[k] ? [factories[k].descriptor] : []));
}

/** The factory registered for `kind`, if this build has one. */
export function factoryOf(kind: DetectorKind): DetectorFactory | undefined {
  return factories[kind];
}

export function restoreDetector(artifact: DetectorArtifact): Detector {
  return factoryFor(artifact.kind).restore(artifact);
}
