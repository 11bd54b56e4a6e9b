import { describe, expect, it } from 'vitest';
import type { AlarmView } from '../alarms/alarms.schemas.ts';
import { pushPayload } from './web-push.sender.ts';

const alarm = (id: number): AlarmView => ({
  id,
  device_id: 7,
  session_id: 3,
  model_id: 1,
  signal: 'level_shift',
  severity: 'critical',
  state: 'open',
  opened_at: '2026-01-01T00:00:00.000Z',
  last_seen_at: '2026-01-01T00:00:05.000Z',
  resolved_at: null,
  resolved_by: null,
  peak_score: 0.97,
  peak_value: 12.5,
  peak_expected: 3.3,
  peak_at: '2026-01-01T00:00:02.000Z',
  anomaly_count: 40,
  silenced: null,
  acknowledged_by: null,
  acknowledged_at: null,
  note: null,
  feedback: null,
});

describe('pushPayload', () => {
  it("names the alarm and links to its session, one tag per alarm so a later push replaces the earlier notification", () => {
    const p = pushPayload({ event: 'alarm_opened', alarm: alarm(9) }, 1);
    expect(p).toMatchObject({ event: 'alarm_opened', url: '/app/sessions/3?alarm=9', tag: 'vigil-alarm-9', alarm: { id: 9, device_id: 7, session_id: 3, signal: 'level_shift', severity: 'critical', state: 'open' } });
    expect(p.title).toBe('Alarm: critical level_shift on device 7');
    expect(pushPayload({ event: 'alarm_resolved', alarm: alarm(9) }, 2).tag).toBe('vigil-alarm-9');
  });

  it('keeps a digest of many alarms under the 4 KB a push may carry', () => {
    const p = pushPayload({ event: 'alarm_digest', alarms: Array.from({ length: 500 }, (_, i) => alarm(100_000 + i)) }, 5);
    expect(p.title).toBe('500 alarms opened at once');
    expect(p.alarm_ids).toHaveLength(50);
    // 4,096 bytes of record minus the aes128gcm header (86), padding delimiter (1) and tag (16).
    expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThan(3993);
  });
});
