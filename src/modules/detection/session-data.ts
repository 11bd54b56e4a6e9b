import { dbTimeToMs } from '../../db/time.ts';
import { AppError } from '../../lib/errors.ts';
import type { DetectionRepository } from './detection.repository.ts';

const PAGE = 5000;

/**
 * A finished or running session's logged readings as arrays (for backtests and retraining), read
 * page by page; `labels` adds the user's anomalous segments of the session (alarm feedback).
 */
export function createSessionData(deps: {
  repo: Pick<DetectionRepository, 'findSession' | 'listLogs' | 'countLogs'>;
  labels?: (userId: number, sessionId: number) => Promise<Array<{ start: number; end: number }>>;
}) {
  async function owned(userId: number, sessionId: number) {
    const s = await deps.repo.findSession(sessionId);
    if (!s || s.userId !== userId) throw new AppError('session-not-found');
    return s;
  }

  async function readings(sessionId: number, range?: { from: number; to: number }): Promise<{ ts: Float64Array; values: Float64Array }> {
    let ts = new Float64Array(PAGE);
    let values = new Float64Array(PAGE);
    let n = 0;
    let afterSeq: number | undefined;
    for (;;) {
      const page = await deps.repo.listLogs(sessionId, { limit: PAGE, ...(afterSeq !== undefined && { afterSeq }) });
      for (const r of page) {
        const t = dbTimeToMs(r.timestamp);
        if (range && (t < range.from || t > range.to)) continue;
        if (n === ts.length) {
          const grow = (a: Float64Array) => {
            const b = new Float64Array(a.length * 2);
            b.set(a);
            return b;
          };
          ts = grow(ts);
          values = grow(values);
        }
        ts[n] = t;
        values[n] = r.value;
        n++;
      }
      if (page.length < PAGE) break;
      afterSeq = page.at(-1)!.seq;
    }
    return { ts: ts.slice(0, n), values: values.slice(0, n) };
  }

  return {
    async count(userId: number, sessionId: number): Promise<number> {
      await owned(userId, sessionId);
      return deps.repo.countLogs(sessionId);
    },

    async forBacktest(userId: number, sessionId: number) {
      await owned(userId, sessionId);
      return { readings: await readings(sessionId), labels: (await deps.labels?.(userId, sessionId)) ?? [] };
    },

    /** Readings of the user's session between two times (epoch ms, inclusive). */
    async between(userId: number, sessionId: number, from: number, to: number) {
      await owned(userId, sessionId);
      return readings(sessionId, { from, to });
    },
  };
}

export type SessionData = ReturnType<typeof createSessionData>;
