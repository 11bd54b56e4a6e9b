import type { Reading, Score, WarmupState } from '../../detectors/index.ts';

/**
 * Who a live session belongs to: a signed-in user, or one guest socket (guests' sessions live in
 * memory only and are never logged).
 */
export type SessionOwner = { userId: number; guestKey?: undefined } | { userId: null; guestKey: string };

/** Numbers for stored sessions; `guest-<n>` for a guest's in-memory session. */
export type SessionId = number | string;

/** The contract's `final_analysis`. */
export interface FinalAnalysis {
  is_anomalous: boolean;
  summary: string;
  total_predictions: number;
  anomaly_count: number;
  /** 0..100, one decimal. */
  anomaly_percentage: number;
  /** 0..1. */
  confidence: number;
}

export type StopReason = 'stopped' | 'duration' | 'max_readings' | 'device_lost' | 'shutdown' | 'owner_left';

export interface LiveSessionInfo {
  session_id: SessionId;
  device_id: number;
  model_id: number;
  model_name: string;
  threshold: number;
  started_at: string;
  total_predictions: number;
  anomaly_count: number;
  log: boolean;
  paused: boolean;
  ml_status: WarmupState & { method: string };
}

export interface DetectionStartedEvent {
  owner: SessionOwner;
  session: LiveSessionInfo;
}

export interface DetectionScoredEvent {
  owner: SessionOwner;
  sessionId: SessionId;
  deviceId: number;
  reading: Reading;
  score: Score;
  warmup: WarmupState;
  /** `performance.now()` when the reading reached the server. */
  arrivedAt: number;
}

export interface DetectionStoppedEvent {
  owner: SessionOwner;
  sessionId: SessionId;
  deviceId: number;
  reason: StopReason;
  finalAnalysis: FinalAnalysis;
}

export interface DetectionAlertEvent {
  owner: SessionOwner;
  sessionId: SessionId;
  deviceId: number;
  reading: Reading;
  score: Score;
  /** Anomalies seen since the previous alert of this session (rate limiting folds them). */
  suppressed: number;
}

export interface ThresholdChangedEvent {
  owner: SessionOwner;
  sessionId: SessionId;
  threshold: number;
}
