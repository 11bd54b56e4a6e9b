import { describe, expect, it } from 'vitest';
import { finalAnalysis } from './final-analysis.ts';

describe('finalAnalysis', () => {
  it('reports counts, a one-decimal percentage and the mean confidence', () => {
    expect(finalAnalysis(600, 13, 540)).toEqual({
      is_anomalous: true,
      summary: '13 of 600 readings (2.2%) were anomalous: the run looks anomalous.',
      total_predictions: 600,
      anomaly_count: 13,
      anomaly_percentage: 2.2,
      confidence: 0.9,
    });
  });
  it('calls a run with a couple of stray anomalies normal', () => {
    expect(finalAnalysis(1000, 2, 950)).toMatchObject({ is_anomalous: false, anomaly_percentage: 0.2 });
    expect(finalAnalysis(50, 2, 40)).toMatchObject({ is_anomalous: false, anomaly_percentage: 4 });
  });
  it('handles an empty run', () => {
    expect(finalAnalysis(0, 0, 0)).toMatchObject({ is_anomalous: false, total_predictions: 0, anomaly_percentage: 0, confidence: 0 });
  });
});
