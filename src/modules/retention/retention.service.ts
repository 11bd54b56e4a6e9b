import { setTimeout as sleep } from 'node:timers/promises';
import { toDbTime } from '../../db/time.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RetentionRepository } from './retention.repository.ts';
import { prunableRanges } from './retention-ranges.ts';

const DAY = 86_400_000;
/** The smallest per-device `log_retention_days`: sessions younger than this never hold rows to prune. */
const MIN_DAYS = 1;
/** The smallest batch in gentle mode (fewer rows per delete would spend the time on probes). */
const MIN_BATCH = 100;

export interface RetentionConfig {
  /** Raw detection logs are kept this many days (devices may override it with `config.log_retention_days`). */
  logDays: number;
  /** Rollups are kept this many days. */
  rollupDays: number;
  /** Most rows one delete covers (a seq range of this length). */
  batchRows: number;
  /** Readings kept on each side of an anomalous reading (which is always kept). */
  contextReadings: number;
  /** Pause between two batches, so the live path gets the database and the event loop. */
  pauseMs: number;
  /**
   * Gentle mode (the server's timer; decision 0016): each delete should take about this long, so
   * the batch size adapts (from 100 rows up to `batchRows`, halving or at most doubling per batch),
   * and the pause after a batch is at least `(1 / busyShare - 1)` times its duration, so deletes
   * take at most `busyShare` of the time. Unset: fixed batches of `batchRows` (`vigil retention`).
   */
  batchMs?: number;
  busyShare?: number;
  /** A run stops after this long and continues at the next one. */
  maxRunMs: number;
}

export interface RetentionStats {
  dryRun: boolean;
  /** Set when another process holds the retention lock (nothing was done). */
  skipped?: 'locked';
  sessions: number;
  logRows: number;
  rollupRows: number;
  batches: number;
  durationMs: number;
  /** The run hit `maxRunMs` (or was stopped) before visiting everything. */
  partial: boolean;
}

export interface RetentionDeps {
  repo: RetentionRepository;
  clock: Clock;
  config: RetentionConfig;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** With several processes: a shared lock (resolves to its release, or undefined when another process holds it). */
  lock?(ttlMs: number): Promise<(() => Promise<void>) | undefined>;
  /** Told about every finished run (metrics). */
  onRun?(stats: RetentionStats): void;
}

/** A device's own `log_retention_days`, when its config sets a valid one. */
export function deviceRetentionDays(config: string | null): number | undefined {
  if (!config) return undefined;
  try {
    const d = (JSON.parse(config) as { log_retention_days?: unknown }).log_retention_days;
    return typeof d === 'number' && Number.isInteger(d) && d >= MIN_DAYS ? d : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gentle mode's pacing after a delete of `batch` rows that took `ms`: the next batch is sized to
 * take `batchMs` (halved at most, doubled at most, between MIN_BATCH and `batchRows` rows), and the
 * pause keeps deletes to `busyShare` of the time (never under `pauseMs`).
 */
export function gentlePace(config: Pick<RetentionConfig, 'batchMs' | 'batchRows' | 'busyShare' | 'pauseMs'>, batch: number, ms: number): { batch: number; pauseMs: number } {
  const factor = Math.min(2, Math.max(0.5, (config.batchMs ?? ms) / Math.max(ms, 0.1)));
  const share = config.busyShare ?? 1;
  return {
    batch: Math.max(MIN_BATCH, Math.min(config.batchRows, Math.round(batch * factor))),
    pauseMs: Math.max(config.pauseMs, share < 1 ? (ms * (1 - share)) / share : 0),
  };
}

/**
 * Bounded storage: deletes raw detection logs older than their retention (keeping anomalous
 * readings and `contextReadings` on each side of them) and rollups older than theirs, in batches of
 * at most `batchRows` rows by seq range, pausing between batches. Each session's progress is a
 * watermark (`logs_pruned_seq`), so a pass never rescans what it pruned. Sessions, alarms and the
 * anomalous rows stay. Runs on a timer (`start`) and from `vigil retention`.
 */
export function createRetention(deps: RetentionDeps) {
  const { repo, clock, config, logger } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<RetentionStats> | undefined;
  let stopping = false;

  async function pass(dryRun: boolean): Promise<RetentionStats> {
    const t0 = performance.now();
    const stats: RetentionStats = { dryRun, sessions: 0, logRows: 0, rollupRows: 0, batches: 0, durationMs: 0, partial: false };
    const outOfTime = () => stopping || performance.now() - t0 > config.maxRunMs;
    const now = clock.now().getTime();
    const gentle = config.batchMs !== undefined && config.batchMs > 0;
    let batch = gentle ? Math.min(config.batchRows, MIN_BATCH) : config.batchRows;
    /** The pause after a batch that took `ms`; in gentle mode the next batch is sized to take `batchMs`. */
    const pace = (ms: number): number => {
      if (!gentle) return config.pauseMs;
      const next = gentlePace(config, batch, ms);
      batch = next.batch;
      return next.pauseMs;
    };

    for (const s of await repo.sessionsStartedBefore(toDbTime(now - MIN_DAYS * DAY))) {
      if (outOfTime()) return { ...stats, partial: true };
      const days = deviceRetentionDays(s.deviceConfig) ?? config.logDays;
      const cutoff = toDbTime(now - days * DAY);
      const boundary = await repo.lastSeqBefore(s.id, cutoff);
      if (boundary === undefined || boundary <= s.prunedSeq) continue;
      stats.sessions++;
      for (let lo = (await repo.firstSeqAfter(s.id, s.prunedSeq)) ?? boundary + 1; lo <= boundary; ) {
        if (outOfTime()) return { ...stats, partial: true };
        const hi = Math.min(lo + batch - 1, boundary);
        const k = config.contextReadings;
        const t = performance.now();
        const anomalies = await repo.anomalySeqs(s.id, lo - k, hi + k);
        const ranges = prunableRanges(lo, hi, anomalies, k);
        stats.logRows += dryRun ? await repo.pruneRanges(s.id, cutoff, ranges, true) : await repo.pruneBatch(s.id, cutoff, ranges, hi);
        stats.batches++;
        lo = (await repo.firstSeqAfter(s.id, hi)) ?? boundary + 1;
        await sleep(pace(performance.now() - t));
      }
    }

    const rollupCutoff = toDbTime(now - config.rollupDays * DAY);
    for (const s of await repo.sessionsStartedBefore(rollupCutoff)) {
      if (outOfTime()) return { ...stats, partial: true };
      const n = await repo.pruneRollups(s.id, rollupCutoff, dryRun);
      if (n > 0) {
        stats.rollupRows += n;
        stats.batches++;
        await sleep(config.pauseMs);
      }
    }
    return stats;
  }

  async function run(opts: { dryRun?: boolean } = {}): Promise<RetentionStats> {
    const dryRun = opts.dryRun ?? false;
    const t0 = performance.now();
    const release = deps.lock ? await deps.lock(config.maxRunMs * 2) : async () => {};
    if (!release) return { dryRun, skipped: 'locked', sessions: 0, logRows: 0, rollupRows: 0, batches: 0, durationMs: 0, partial: false };
    try {
      const stats = await pass(dryRun);
      stats.durationMs = Math.round(performance.now() - t0);
      deps.onRun?.(stats);
      if (stats.logRows + stats.rollupRows > 0 || stats.partial) logger.info({ retention: stats }, dryRun ? 'retention dry run' : 'retention pruned old detection data');
      return stats;
    } finally {
      await release();
    }
  }

  return {
    /** One pass now (the timer's passes and this one never overlap). */
    runOnce(opts: { dryRun?: boolean } = {}): Promise<RetentionStats> {
      if (running) return running;
      running = run(opts).finally(() => {
        running = undefined;
      });
      return running;
    },

    /** Runs a pass every `intervalMs` (the first one after a minute, off the start-up path). */
    start(intervalMs: number, firstAfterMs = Math.min(60_000, intervalMs)): void {
      const tick = (ms: number) => {
        timer = setTimeout(() => {
          void this.runOnce()
            .catch((err: unknown) => logger.error({ err }, 'retention run failed'))
            .finally(() => {
              if (!stopping) tick(intervalMs);
            });
        }, ms);
        timer.unref();
      };
      tick(firstAfterMs);
    },

    /** Stops the timer; a running pass ends after its current batch. */
    async stop(): Promise<void> {
      stopping = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

export type Retention = ReturnType<typeof createRetention>;
