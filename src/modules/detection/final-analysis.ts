import type { FinalAnalysis } from './detection.types.ts';

/** A run counts as anomalous when at least this share of its readings were anomalies… */
export const ANOMALOUS_RUN_PERCENT = 2;
/** …and at least this many (one stray spike does not condemn a material). */
export const ANOMALOUS_RUN_MIN_COUNT = 3;

/**
 * The contract's `final_analysis`: counts, the anomaly percentage with one decimal, a verdict on
 * the run as a whole, and the mean per-reading confidence.
 */
export function finalAnalysis(total: number, anomalies: number, confidenceSum: number): FinalAnalysis {
  const pct = total > 0 ? Math.round((anomalies / total) * 1000) / 10 : 0;
  const isAnomalous = anomalies >= ANOMALOUS_RUN_MIN_COUNT && (anomalies / Math.max(1, total)) * 100 >= ANOMALOUS_RUN_PERCENT;
  const confidence = total > 0 ? Math.round((confidenceSum / total) * 1000) / 1000 : 0;
  const summary =
    total === 0
      ? 'No readings were analysed.'
      : `${anomalies} of ${total} readings (${pct}%) were anomalous: ${isAnomalous ? 'the run looks anomalous' : 'the run looks normal'}.`;
  return {
    is_anomalous: isAnomalous,
    summary,
    total_predictions: total,
    anomaly_count: anomalies,
    anomaly_percentage: pct,
    confidence: Math.min(1, Math.max(0, confidence)),
  };
}
