import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.ts';
import type { LabelRow, RecordingRow, RecordingsRepository } from './recordings.repository.ts';
import { createRecordingsService } from './recordings.service.ts';
import { createSeriesPool, type SeriesPool } from './series-pool.ts';

/** Just enough of the repository for uploads, reads and exports. */
function memoryRepository(): RecordingsRepository {
  const rows = new Map<number, RecordingRow>();
  const labels = new Map<number, LabelRow[]>();
  let nextId = 1;
  const repo: Partial<RecordingsRepository> = {
    async insert(r) {
      const id = nextId++;
      rows.set(id, { ...r, id, error: null, createdAt: r.now, updatedAt: r.now });
      return id;
    },
    async findById(id) {
      return rows.get(id);
    },
    async listByStatus(status) {
      return [...rows.values()].filter((r) => r.status === status);
    },
    async labels(recordingId) {
      return labels.get(recordingId) ?? [];
    },
    async replaceLabels(recordingId, ls) {
      labels.set(
        recordingId,
        ls.map((l, i) => ({ id: i + 1, recordingId, ...l })),
      );
    },
  };
  return repo as RecordingsRepository;
}

const T0 = Date.UTC(2024, 0, 1);
const line = (i: number, value: number | string = (i % 17) / 4) =>
  `${new Date(T0 + i * 100).toISOString()},${value}`;

describe('recordings service through the series worker pool', () => {
  let dataDir: string;
  let pool: SeriesPool;
  let service: ReturnType<typeof createRecordingsService>;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-rec-svc-'));
    // Everything goes to the worker thread, however small.
    pool = createSeriesPool({ threads: 1, inlineBelowBytes: 0 });
    service = createRecordingsService({
      recordings: memoryRepository(),
      dataDir,
      clock: { now: () => new Date(T0) },
      logger: pino({ level: 'silent' }),
      limits: { recordingSamples: 10_000 },
      series: pool,
    });
  });
  afterAll(async () => {
    await pool?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses an upload with bad rows: invalid-csv with the line of each, and stores nothing', async () => {
    const before = pool.counts.worker;
    const rows = Array.from({ length: 200 }, (_, i) => line(i, i === 41 ? 'n/a' : (i % 17) / 4));
    rows[120] = 'yesterday,3';
    const csv = Buffer.from(`timestamp,value\n${rows.join('\n')}\n`);
    const err = await service.upload(1, { name: 'bad', csv }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      code: 'invalid-csv',
      status: 400,
      message: '2 row(s) are not valid; fix them or send skip_bad=true.',
      details: [
        { line: 43, message: 'unparseable value "n/a"' },
        { line: 122, message: 'unparseable timestamp "yesterday"' },
      ],
    });
    expect(pool.counts.worker).toBe(before + 1);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('maps file-level problems as before: no columns → invalid-csv, too many rows → payload-too-large', async () => {
    await expect(service.upload(1, { name: 'x', csv: 'a,b\n1,2\n' })).rejects.toMatchObject({
      code: 'invalid-csv',
      details: undefined,
    });
    const many = `timestamp,value\n${Array.from({ length: 10_001 }, (_, i) => line(i)).join('\n')}\n`;
    await expect(service.upload(1, { name: 'x', csv: many })).rejects.toMatchObject({
      code: 'payload-too-large',
      status: 413,
    });
  });

  it('stores an upload (moving its bytes to the worker), then charts and exports it from the worker', async () => {
    const before = pool.counts.worker;
    const rows = Array.from({ length: 3000 }, (_, i) => `${line(i)},${i >= 100 && i < 110 ? 1 : 0}`);
    const csv = Buffer.from(`timestamp,value,label\n${rows.join('\n')}\n`);
    const rec = await service.upload(1, { name: 'good', csv });
    expect(csv.byteLength).toBe(0); // moved, not copied
    expect(rec).toMatchObject({
      sample_count: 3000,
      first_ts: new Date(T0).toISOString(),
      stats: { min: 0, max: 4, sample_rate_hz: 10 },
    });
    expect(rec.labels).toEqual([
      {
        start: new Date(T0 + 10_000).toISOString(),
        end: new Date(T0 + 10_900).toISOString(),
        note: 'from CSV label column',
      },
    ]);

    const one = await service.get(1, rec.id, 100);
    expect(one.series.length).toBeLessThanOrEqual(100);
    expect(one.series[0]).toEqual([T0, 0]);

    const out = await service.exportCsv(1, rec.id);
    const lines = out.csv.toString('utf8').trimEnd().split('\n');
    expect(out.filename).toBe(`good-${rec.id}.csv`);
    expect(lines).toHaveLength(3001);
    expect(lines.slice(100, 102)).toEqual([`${line(99)},0`, `${line(100)},1`]);
    expect(pool.counts.worker).toBe(before + 3);
  });
});
