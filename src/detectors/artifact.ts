/**
 * Checks for untrusted detector artifacts (uploaded files, database rows) before any detector
 * code reads them.
 */
import { factoryOf } from './registry.ts';
import { DETECTOR_KINDS, DetectorError, retiredKindMessage, type DetectorArtifact, type DetectorKind } from './types.ts';

/** Artifact format versions this build reads for kinds that declare none of their own (`DetectorFactory.artifactVersions`). */
export const SUPPORTED_ARTIFACT_VERSIONS: readonly number[] = [1];

/** Bounds on an artifact's JSON shape. */
export const ARTIFACT_LIMITS = {
  /** Nesting depth of objects and arrays. */
  maxDepth: 32,
  /** Numbers anywhere in the artifact. */
  maxNumbers: 5_000_000,
  /** Elements of any one array. */
  maxArrayLength: 5_000_000,
  /** Objects, arrays and values in total. */
  maxNodes: 6_000_000,
  /** Characters of any one string. */
  maxStringLength: 10_000,
  /** Keys of any one object. */
  maxKeys: 10_000,
  /** Default size limit of `parseArtifact` input (64 MiB). */
  maxBytes: 64 * 1024 * 1024,
} as const;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function invalid(message: string): never {
  throw new DetectorError('invalid-artifact', message);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Walks the whole value iteratively (no recursion, so hostile depth cannot overflow the stack). */
function checkShape(root: unknown): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: '$', depth: 0 }];
  let numbers = 0;
  let nodes = 0;
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (++nodes > ARTIFACT_LIMITS.maxNodes) invalid(`Artifact has more than ${ARTIFACT_LIMITS.maxNodes} values.`);
    switch (typeof value) {
      case 'number':
        if (!Number.isFinite(value)) invalid(`Artifact value at ${path} is not a finite number.`);
        if (++numbers > ARTIFACT_LIMITS.maxNumbers) invalid(`Artifact has more than ${ARTIFACT_LIMITS.maxNumbers} numbers.`);
        continue;
      case 'string':
        if (value.length > ARTIFACT_LIMITS.maxStringLength) invalid(`Artifact string at ${path} is longer than ${ARTIFACT_LIMITS.maxStringLength} characters.`);
        continue;
      case 'boolean':
        continue;
      case 'object':
        break;
      default:
        invalid(`Artifact value at ${path} has unsupported type ${typeof value}.`);
    }
    if (value === null) continue;
    if (depth >= ARTIFACT_LIMITS.maxDepth) invalid(`Artifact is nested deeper than ${ARTIFACT_LIMITS.maxDepth} levels at ${path}.`);
    if (Array.isArray(value)) {
      if (value.length > ARTIFACT_LIMITS.maxArrayLength) invalid(`Artifact array at ${path} has more than ${ARTIFACT_LIMITS.maxArrayLength} elements.`);
      for (let i = 0; i < value.length; i++) stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    if (!isPlainObject(value)) invalid(`Artifact value at ${path} is not plain JSON.`);
    const keys = Reflect.ownKeys(value);
    if (keys.length > ARTIFACT_LIMITS.maxKeys) invalid(`Artifact object at ${path} has more than ${ARTIFACT_LIMITS.maxKeys} keys.`);
    for (const key of keys) {
      if (typeof key !== 'string') invalid(`Artifact object at ${path} has a symbol key.`);
      if (FORBIDDEN_KEYS.has(key)) invalid(`Artifact contains the forbidden key "${key}" at ${path}.`);
      const desc = Object.getOwnPropertyDescriptor(value, key);
      if (!desc || !('value' in desc)) invalid(`Artifact property ${path}.${key} is an accessor, not data.`);
      stack.push({ value: desc.value, path: `${path}.${key}`, depth: depth + 1 });
    }
  }
}

/**
 * Fully checks an untrusted, already-parsed artifact: envelope fields, supported version, known
 * kind, plain finite JSON within {@link ARTIFACT_LIMITS}, no prototype-polluting keys, then the
 * kind's own `validateState`.
 * @throws {DetectorError} `invalid-artifact` with a message naming the first problem found.
 */
export function validateArtifact(x: unknown): DetectorArtifact {
  if (!isPlainObject(x)) invalid('Artifact must be a JSON object.');
  checkShape(x);
  if (x.format !== 'vigil-detector') invalid(`Artifact "format" must be "vigil-detector" (got ${JSON.stringify(x.format) ?? 'nothing'}).`);
  const retired = typeof x.kind === 'string' ? retiredKindMessage(x.kind) : undefined;
  if (retired) invalid(retired);
  if (typeof x.kind !== 'string' || !(DETECTOR_KINDS as readonly string[]).includes(x.kind)) {
    invalid(`Artifact "kind" must be one of ${DETECTOR_KINDS.join(', ')} (got ${JSON.stringify(x.kind) ?? 'nothing'}).`);
  }
  const versions = factoryOf(x.kind as DetectorKind)?.artifactVersions ?? SUPPORTED_ARTIFACT_VERSIONS;
  if (typeof x.version !== 'number' || !versions.includes(x.version)) {
    invalid(`Artifact "version" ${JSON.stringify(x.version) ?? 'is missing'}${typeof x.version === 'number' ? ' is not supported' : ''}; supported for ${x.kind}: ${versions.join(', ')}.`);
  }
  if (typeof x.seed !== 'number' || !Number.isInteger(x.seed)) invalid('Artifact "seed" must be an integer.');
  if (typeof x.threshold !== 'number' || x.threshold < 0 || x.threshold > 1) invalid('Artifact "threshold" must be a number in [0, 1].');
  if (!isPlainObject(x.params)) invalid('Artifact "params" must be an object.');
  if (!('state' in x) || x.state === undefined) invalid('Artifact "state" is missing.');
  if (x.metrics !== undefined) {
    if (!isPlainObject(x.metrics) || !Object.values(x.metrics).every((v) => typeof v === 'number')) invalid('Artifact "metrics" must map names to numbers.');
  }
  if (x.created_at !== undefined && typeof x.created_at !== 'string') invalid('Artifact "created_at" must be a string.');
  const artifact = x as unknown as DetectorArtifact;
  const factory = factoryOf(artifact.kind as DetectorKind);
  if (!factory) invalid(`Detector kind "${artifact.kind}" is not available in this build.`);
  try {
    factory.validateState?.(artifact.state, artifact);
  } catch (e) {
    if (e instanceof DetectorError && e.code === 'invalid-artifact') throw e;
    invalid(`Artifact for kind "${artifact.kind}" is invalid: ${e instanceof Error ? e.message : String(e)}`);
  }
  return artifact;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Parses and validates artifact JSON text of at most `maxBytes` UTF-8 bytes.
 * @throws {DetectorError} `invalid-artifact` when too large, not JSON, or not a valid artifact.
 */
export function parseArtifact(text: string, maxBytes: number = ARTIFACT_LIMITS.maxBytes): DetectorArtifact {
  if (text.length > maxBytes || utf8Length(text) > maxBytes) invalid(`Artifact is larger than ${maxBytes} bytes.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    invalid(`Artifact is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return validateArtifact(parsed);
}
