/**
 * The recordings' worker-thread tasks (loaded through series-worker.mjs by series-pool.ts), and
 * the same tasks run inline for small inputs. Results hold typed arrays only, moved (transferred)
 * to the main thread rather than copied.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import {
  downsampleColumns,
  formatExportCsv,
  parseStoredSeries,
  prepareUpload,
  summarize,
  type SeriesSummary,
  type UploadOptions,
  type UploadOutcome,
} from './series.ts';

/** A stored file to read (in the thread that runs the task), or the bytes / text themselves. */
export type SeriesInput = { file: string } | { data: Uint8Array | string };

export type SeriesTask =
  /** `store`: where an accepted upload's file is written (its folder is created). */
  | ({ type: 'upload'; input: SeriesInput; store: string } & UploadOptions)
  | { type: 'chart'; input: SeriesInput; points: number }
  | { type: 'export'; input: SeriesInput; segments: Float64Array }
  | { type: 'summary'; input: SeriesInput };

/** An upload's outcome once its file is stored. */
export type StoredUploadOutcome =
  Exclude<UploadOutcome, { ok: true }> | Omit<Extract<UploadOutcome, { ok: true }>, 'file'>;

export type SeriesResult =
  | { type: 'upload'; outcome: StoredUploadOutcome }
  | { type: 'chart'; ts: Float64Array; values: Float64Array }
  | { type: 'export'; csv: Uint8Array }
  | { type: 'summary'; summary: SeriesSummary }
  /** The input file could not be read (missing). */
  | { type: 'unreadable' };

export function textOf(data: Uint8Array | string): string {
  if (typeof data === 'string') return data;
  // Buffer's decoding, as the upload route always did (a BOM is kept for the parser to drop).
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
}

/**
 * Runs one task on its input's text. Pure: no I/O; an accepted upload's file content comes back
 * in `store` for the caller to write to `task.store`.
 */
export function computeSeriesTask(
  task: SeriesTask,
  text: string,
): { result: SeriesResult; store?: Uint8Array } {
  if (task.type === 'upload') {
    const outcome = prepareUpload(text, task);
    if (!outcome.ok) return { result: { type: 'upload', outcome } };
    const { file, ...stored } = outcome;
    return { result: { type: 'upload', outcome: stored }, store: file };
  }
  return { result: computeRead(task, text) };
}

function computeRead(task: Exclude<SeriesTask, { type: 'upload' }>, text: string): SeriesResult {
  switch (task.type) {
    case 'chart': {
      const s = downsampleColumns(parseStoredSeries(text), task.points);
      return { type: 'chart', ts: s.ts, values: s.values };
    }
    case 'export':
      return {
        type: 'export',
        csv: new TextEncoder().encode(formatExportCsv(parseStoredSeries(text), task.segments)),
      };
    case 'summary':
      return { type: 'summary', summary: summarize(parseStoredSeries(text)) };
  }
}

/** Runs one task with its I/O (synchronous: for the worker thread): reads its input file if it names one, stores an accepted upload. */
export function runSeriesTask(task: SeriesTask): SeriesResult {
  let text: string;
  if ('file' in task.input) {
    try {
      text = readFileSync(task.input.file, 'utf8');
    } catch {
      return { type: 'unreadable' };
    }
  } else text = textOf(task.input.data);
  const { result, store } = computeSeriesTask(task, text);
  if (store && task.type === 'upload') {
    mkdirSync(path.dirname(task.store), { recursive: true });
    writeFileSync(task.store, store);
  }
  return result;
}

/** The array buffers a result can hand over instead of copying. */
export function transferablesOf(r: SeriesResult): ArrayBuffer[] {
  const views: ArrayBufferView[] = [];
  if (r.type === 'upload' && r.outcome.ok) views.push(r.outcome.segments);
  else if (r.type === 'chart') views.push(r.ts, r.values);
  else if (r.type === 'export') views.push(r.csv);
  const buffers = new Set<ArrayBuffer>();
  for (const v of views)
    if (v.buffer instanceof ArrayBuffer && v.buffer.byteLength > 0) buffers.add(v.buffer);
  return [...buffers];
}

/** The piscina entry point. */
export default function seriesWorker(task: SeriesTask) {
  const result = runSeriesTask(task);
  return move({ [transferableSymbol]: transferablesOf(result), [valueSymbol]: result });
}
