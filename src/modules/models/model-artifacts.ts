import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DETECTOR_KINDS,
  DetectorError,
  describeDetectors,
  restoreDetector,
  retiredKindMessage,
  validateArtifact,
  type Detector,
  type DetectorArtifact,
} from '../../detectors/index.ts';
import { AppError } from '../../lib/errors.ts';

/** Artifact format versions this build reads. */
const SUPPORTED_VERSIONS = new Set([1]);
/** Limits applied to untrusted artifacts before any detector code sees them. */
const MAX_DEPTH = 12;
const MAX_ARRAY_LENGTH = 2_000_000;
const MAX_KEYS = 10_000;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface StoredFile {
  /** Relative to DATA_DIR, with forward slashes (what `ml_models.file_path` holds). */
  filePath: string;
  size: number;
  checksum: string;
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * Model artifacts on disk: `DATA_DIR/models/preset/<key>[-<checksum>].json` and
 * `DATA_DIR/models/user/<user_id>/<uuid>.json` (the seed's layout), written atomically, read
 * back only when size and SHA-256 match what the database recorded.
 */
export function createModelArtifactStore(dataDir: string) {
  const root = path.resolve(dataDir);
  const absolute = (filePath: string): string => {
    const abs = path.resolve(root, filePath);
    if (!abs.startsWith(root + path.sep)) throw new AppError('model-artifact-invalid', 'The model file path is outside the data folder.');
    return abs;
  };

  async function write(filePath: string, text: string): Promise<StoredFile> {
    const abs = absolute(filePath);
    await mkdir(path.dirname(abs), { recursive: true });
    const tmp = `${abs}.${randomUUID()}.tmp`;
    await writeFile(tmp, text, { mode: 0o640 });
    await rename(tmp, abs);
    const bytes = Buffer.byteLength(text);
    return { filePath, size: bytes, checksum: sha256(text) };
  }

  return {
    /** A preset's file; a rebuilt preset's file carries its checksum, so the file an older row names stays intact. */
    presetPath: (key: string, checksum?: string) => (checksum ? `models/preset/${key}-${checksum.slice(0, 16)}.json` : `models/preset/${key}.json`),
    userPath: (userId: number) => `models/user/${userId}/${randomUUID()}.json`,
    absolute,
    write,
    /** Reads an artifact and checks it against the stored size and checksum. */
    async read(file: { filePath: string; size: number; checksum: string }): Promise<string> {
      let data: Buffer;
      try {
        data = await readFile(absolute(file.filePath));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new AppError('model-artifact-invalid', code === 'ENOENT' ? "The model's file is missing." : "The model's file cannot be read.", {
          cause: err,
        });
      }
      if (data.length !== file.size || sha256(data) !== file.checksum) {
        throw new AppError('model-artifact-invalid', "The model's file does not match its checksum; it may be corrupt.");
      }
      return data.toString('utf8');
    },
    async remove(filePath: string): Promise<void> {
      await rm(absolute(filePath), { force: true });
    },
  };
}

export type ModelArtifactStore = ReturnType<typeof createModelArtifactStore>;

/** Checks the structure of parsed JSON: depth, array lengths, key counts and forbidden keys. */
function checkShape(value: unknown, depth: number, budget: { keys: number }): void {
  if (depth > MAX_DEPTH) throw new AppError('invalid-model-file', 'The model file is nested too deeply.');
  if (Array.isArray(value)) {
    if (value.length > MAX_ARRAY_LENGTH) throw new AppError('invalid-model-file', 'The model file holds an array that is too large.');
    for (const v of value) if (typeof v === 'object' && v !== null) checkShape(v, depth + 1, budget);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw new AppError('invalid-model-file', `The model file contains the forbidden key "${key}".`);
      if (++budget.keys > MAX_KEYS) throw new AppError('invalid-model-file', 'The model file has too many keys.');
      const v = (value as Record<string, unknown>)[key];
      if (typeof v === 'object' && v !== null) checkShape(v, depth + 1, budget);
    }
  }
}

/**
 * Parses and fully validates an artifact from an untrusted source (an upload, an import):
 * JSON, structure limits, no prototype-pollution keys, format, version, an available kind, and
 * the kind's own state checks (by restoring it). Throws AppError `invalid-model-file`.
 */
export function parseUntrustedArtifact(text: string): { artifact: DetectorArtifact; detector: Detector } {
  let raw: unknown;
  try {
    // A reviver sees every key, including `__proto__`, which JSON.parse keeps as an own property.
    raw = JSON.parse(text, function (key, value: unknown) {
      if (FORBIDDEN_KEYS.has(key)) throw new AppError('invalid-model-file', `The model file contains the forbidden key "${key}".`);
      return value;
    });
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('invalid-model-file', 'The model file is not valid JSON.');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AppError('invalid-model-file', 'The model file must be a JSON object.');
  checkShape(raw, 0, { keys: 0 });
  const a = raw as Record<string, unknown>;
  if (a.format !== 'vigil-detector') throw new AppError('invalid-model-file', 'The model file is not a Vigil detector artifact (format).');
  if (typeof a.version !== 'number' || !SUPPORTED_VERSIONS.has(a.version)) {
    throw new AppError('invalid-model-file', `Unsupported artifact version ${JSON.stringify(a.version)}.`);
  }
  const retired = typeof a.kind === 'string' ? retiredKindMessage(a.kind) : undefined;
  if (retired) throw new AppError('invalid-model-file', retired);
  if (typeof a.kind !== 'string' || !(DETECTOR_KINDS as readonly string[]).includes(a.kind)) {
    throw new AppError('invalid-model-file', `Unknown detector kind ${JSON.stringify(a.kind)}.`);
  }
  if (!describeDetectors().some((d) => d.kind === a.kind)) {
    throw new AppError('invalid-model-file', `Detector kind "${a.kind}" is not available in this build.`);
  }
  if (typeof a.seed !== 'number' || !Number.isInteger(a.seed)) throw new AppError('invalid-model-file', 'The artifact seed must be an integer.');
  if (typeof a.threshold !== 'number' || !(a.threshold >= 0 && a.threshold <= 1)) {
    throw new AppError('invalid-model-file', 'The artifact threshold must be a number in [0, 1].');
  }
  if (typeof a.params !== 'object' || a.params === null || Array.isArray(a.params)) {
    throw new AppError('invalid-model-file', 'The artifact params must be an object.');
  }
  if (a.metrics !== undefined) {
    if (typeof a.metrics !== 'object' || a.metrics === null || Array.isArray(a.metrics)) {
      throw new AppError('invalid-model-file', 'The artifact metrics must be an object.');
    }
    for (const v of Object.values(a.metrics)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new AppError('invalid-model-file', 'The artifact metrics must be numbers.');
    }
  }
  try {
    // The detectors library's own checks: plain finite JSON within its limits, and the kind's state.
    const artifact = validateArtifact(raw);
    return { artifact, detector: restoreDetector(artifact) };
  } catch (err) {
    if (err instanceof DetectorError) throw new AppError('invalid-model-file', err.message);
    throw new AppError('invalid-model-file', 'The model file could not be loaded.');
  }
}

/** Restores a stored (checksum-verified) artifact; a failure is a corrupt file, not the caller's fault. */
export function restoreStoredArtifact(text: string): { artifact: DetectorArtifact; detector: Detector } {
  try {
    return parseUntrustedArtifact(text);
  } catch (err) {
    if (err instanceof AppError) throw new AppError('model-artifact-invalid', `The model's file cannot be loaded: ${err.message}`);
    throw err;
  }
}
