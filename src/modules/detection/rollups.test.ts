import { describe, expect, it } from 'vitest';
import { bucketStart, rollUp } from './rollups.ts';

const row = (session_id: number, timestamp: string, value: number, anomaly_score = 0.1, is_anomaly = 0) => ({ session_id, timestamp, value, anomaly_score, is_anomaly });

describe('rollUp', () => {
  it('folds a batch into one delta per session, resolution and bucket', () => {
    const d = rollUp([
      row(1, '2026-01-01 10:00:01.000', 2),
      row(1, '2026-01-01 10:00:59.999', 5, 0.9, 1),
      row(1, '2026-01-01 10:01:00.000', -1),
      row(2, '2026-01-01 10:00:30.000', 7),
    ]);
    const minute = d.filter((x) => x.bucket_s === 60);
    const hour = d.filter((x) => x.bucket_s === 3600);
    expect(minute).toHaveLength(3);
    expect(hour).toHaveLength(2);
    expect(minute.find((x) => x.session_id === 1 && x.bucket_start === '2026-01-01 10:00:00.000')).toEqual({
      session_id: 1,
      bucket_s: 60,
      bucket_start: '2026-01-01 10:00:00.000',
      n: 2,
      value_sum: 7,
      value_min: 2,
      value_max: 5,
      anomaly_count: 1,
      max_score: 0.9,
    });
    expect(hour.find((x) => x.session_id === 1)).toMatchObject({ bucket_start: '2026-01-01 10:00:00.000', n: 3, value_min: -1, value_max: 5, anomaly_count: 1 });
  });

  it('buckets by the minute and the hour of the stored time', () => {
    expect(bucketStart('2026-03-04 05:06:07.890', 60)).toBe('2026-03-04 05:06:00.000');
    expect(bucketStart('2026-03-04 05:06:07.890', 3600)).toBe('2026-03-04 05:00:00.000');
  });
});
