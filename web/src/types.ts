export interface ModelCard {
  id: number;
  name: string;
  material_type: string;
  is_preset: boolean;
  accuracy: number | null;
  description: string | null;
  created_at?: string;
  kind?: string;
}

export interface Device {
  id: number;
  name: string;
  kind: 'simulator' | 'serial' | 'mqtt' | 'http';
  owner_id?: number | null;
  shared?: boolean;
  is_default?: boolean;
  config?: Record<string, unknown>;
  status?: { connected?: boolean; state?: string; [k: string]: unknown };
  token?: string;
  [k: string]: unknown;
}

export interface FinalAnalysis {
  is_anomalous: boolean;
  summary: string;
  total_predictions: number;
  anomaly_count: number;
  anomaly_percentage: number;
  confidence: number;
}

export interface SessionSummary {
  id: number;
  session_id: number;
  device_id: number | null;
  model_id: number | null;
  model_name: string | null;
  status: string;
  threshold: number;
  started_at: string;
  ended_at: string | null;
  duration_s: number | null;
  total_predictions: number;
  anomaly_count: number;
  anomaly_percentage: number;
  final_analysis: FinalAnalysis | null;
}

export interface MlStatus {
  window_progress: number;
  window_size: number;
  current_window: number;
  status: string;
  method: string;
}

export interface LiveSession {
  session_id: number;
  device_id: number;
  model_id: number;
  model_name: string;
  threshold: number;
  total_predictions: number;
  anomaly_count: number;
  ml_status: MlStatus;
}

export interface ArduinoData {
  voltage: number;
  timestamp: number;
  session_id: number;
  device_id: number;
  prediction: {
    anomaly_score: number;
    is_anomaly: boolean;
    confidence: number;
    method: string;
    signal?: string | null;
    expected?: number;
    lower?: number;
    upper?: number;
  };
  ml_status: MlStatus;
}

export interface Post {
  id: number;
  content: string;
  author: { id: number; username: string };
  created_at: string;
  like_count: number;
  liked_by_me: boolean;
  comment_count: number;
  session_id: number | null;
  model_id: number | null;
  session: {
    id: number;
    model_id: number | null;
    started_at: string;
    ended_at: string | null;
    final_analysis: FinalAnalysis | null;
  } | null;
  model: ModelCard | null;
}

export interface Recording {
  id: number;
  name: string;
  source: 'upload' | 'device';
  status: 'recording' | 'complete' | 'failed';
  device_id: number | null;
  sample_count: number;
  duration_s: number | null;
  first_ts: string | null;
  last_ts: string | null;
  stats: { min: number; max: number; mean: number; std: number; sample_rate_hz: number } | null;
  labels: { start: string; end: string; note: string | null }[];
  error: string | null;
  started_at: string;
  created_at: string;
  series?: [number, number][];
}

export interface TrainingJob {
  id: number;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: number;
  stage: string | null;
  kind: string;
  model_id: number | null;
  error: { code: string; message: string } | null;
  /** What the fit said about the training data (e.g. a short recording). */
  notes?: string[];
  [k: string]: unknown;
}

/** A backtest's event metrics (`GET /models/backtests/:id`); precision/recall/F1 only with labelled segments. */
export interface BacktestMetrics {
  readings: number;
  normal_readings: number;
  hours: number;
  alarms: number;
  false_alarms: number;
  false_alarm_rate: number;
  false_alarms_per_hour: number;
  events?: number;
  detected?: number;
  precision?: number;
  recall?: number;
  f1?: number;
}
