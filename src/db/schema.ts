import type { Generated } from 'kysely';

/**
 * Row types of every table. Ids are auto-increment integers (as in the seed's MySQL schema);
 * timestamps are UTC strings (see time.ts); booleans are 0/1; JSON is stored as text.
 */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  /** Lower-cased username: uniqueness is case-insensitive on both dialects. */
  username_key: string;
  email: string;
  password_hash: string;
  display_name: string | null;
  bio: string | null;
  selected_model_id: number | null;
  created_at: string;
  updated_at: string;
}

export interface RefreshTokensTable {
  id: Generated<number>;
  user_id: number;
  family_id: string;
  token_hash: string;
  expires_at: string;
  used_at: string | null;
  revoked_at: string | null;
  created_at: string;
}

export interface PostsTable {
  id: Generated<number>;
  user_id: number;
  content: string;
  session_id: number | null;
  model_id: number | null;
  created_at: string;
  updated_at: string;
}

export interface FollowsTable {
  follower_id: number;
  followed_id: number;
  created_at: string;
}

export interface MlModelsTable {
  id: Generated<number>;
  /** Null for preset models. */
  user_id: number | null;
  name: string;
  material_type: string;
  description: string | null;
  kind: string;
  is_preset: number;
  visibility: string;
  accuracy: number | null;
  threshold: number;
  params: string;
  metrics: string;
  file_path: string;
  file_size: number;
  checksum: string;
  created_at: string;
  updated_at: string;
  /** Stable key of a preset (null for other models); added by 0004-models. */
  preset_key: string | null;
  /** `preset`, `trained` or `uploaded`. */
  origin: Generated<string>;
}

export interface DetectionSessionsTable {
  id: Generated<number>;
  user_id: number;
  model_id: number | null;
  device_id: number | null;
  status: string;
  threshold: number;
  started_at: string;
  ended_at: string | null;
  total_predictions: number;
  anomaly_count: number;
  final_analysis: string | null;
  created_at: string;
  /** Retention watermark: raw logs up to this sequence number were pruned (0015-rollups). */
  logs_pruned_seq: Generated<number>;
  /** Raw log rows retention deleted (0017-log-pruned-rows): added to counts taken from the logs. */
  logs_pruned_rows: Generated<number>;
}

/** Per-session rollups of the logs (0015-rollups); see `src/modules/detection/rollups.ts`. */
export interface DetectionRollupsTable {
  session_id: number;
  /** 60 or 3600. */
  bucket_s: number;
  bucket_start: string;
  n: number;
  value_sum: number;
  value_min: number;
  value_max: number;
  anomaly_count: number;
  max_score: number;
}

export interface DetectionLogsTable {
  id: Generated<number>;
  session_id: number;
  /** The reading's sequence number in its session (1, 2, …); unique with `session_id`. */
  seq: number;
  timestamp: string;
  value: number;
  anomaly_score: number;
  is_anomaly: number;
  confidence: number;
  /** The score's dominant signal (0016-compact-logs). */
  signal: string;
  /** The score's explanation JSON, for anomalous readings only (0016-compact-logs). */
  explanation: string | null;
}

export interface DevicesTable {
  id: Generated<number>;
  /** Null for the server's shared devices. */
  user_id: number | null;
  name: string;
  /** `simulator`, `serial`, `mqtt` or `http`. */
  kind: string;
  /** Kind-specific settings as JSON text. */
  config: string;
  /** SHA-256 of the device token (http, mqtt); the token itself is shown once. */
  token_hash: string | null;
  is_default: number;
  /** Stable key of a server-created device (`serial`, `demo-simulator`). */
  system_key: string | null;
  created_at: string;
  updated_at: string;
}

export interface AlertWebhooksTable {
  user_id: number;
  url: string;
  created_at: string;
  updated_at: string;
}

export interface RecordingsTable {
  id: Generated<number>;
  user_id: number;
  device_id: number | null;
  name: string;
  /** `upload` or `device`. */
  source: string;
  /** `recording`, `complete` or `failed`. */
  status: string;
  sample_count: number;
  max_samples: number | null;
  duration_s: number | null;
  first_ts: string | null;
  last_ts: string | null;
  /** JSON: min, max, mean, std of the values. */
  stats: string;
  /** Relative to DATA_DIR. */
  file_path: string;
  file_size: number;
  error: string | null;
  started_at: string;
  ended_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface RecordingLabelsTable {
  id: Generated<number>;
  recording_id: number;
  start_at: string;
  end_at: string;
  note: string | null;
  created_at: string;
}

export interface TrainingJobsTable {
  id: Generated<number>;
  user_id: number;
  /** The model the job produced (set when it succeeds). */
  model_id: number | null;
  /** The model a retrain started from. */
  base_model_id: number | null;
  name: string;
  material_type: string;
  description: string | null;
  kind: string;
  params: string;
  /** JSON array of recording ids. */
  recording_ids: string;
  evaluation_recording_id: number | null;
  /** `queued`, `running`, `succeeded`, `failed` or `cancelled`. */
  status: string;
  progress: number;
  stage: string;
  /** `local` (in-process queue) or `bullmq`. */
  queue: string;
  runner: string | null;
  error_code: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  /** `train` or `backtest` (added by 0020-backtests). */
  type: Generated<string>;
  /** The session a backtest scores. */
  session_id: number | null;
  /** A backtest's threshold override. */
  threshold: number | null;
  /** 1: a retrain also learns from the user's alarm feedback. */
  include_feedback: Generated<number>;
  /** A finished backtest's result (JSON). */
  result: string | null;
  /** A finished training job's notes on its data (JSON array of strings; added by 0022-training-notes). */
  notes: string | null;
}

export interface LikesTable {
  post_id: number;
  user_id: number;
  created_at: string;
}

export interface CommentsTable {
  id: Generated<number>;
  post_id: number;
  user_id: number;
  content: string;
  created_at: string;
}

export interface AlarmsTable {
  id: Generated<number>;
  user_id: number;
  device_id: number;
  session_id: number;
  model_id: number | null;
  signal: string;
  /** `minor`, `major` or `critical`. */
  severity: string;
  /** `open`, `acknowledged` or `resolved`. */
  state: string;
  opened_at: string;
  last_seen_at: string;
  resolved_at: string | null;
  /** `auto` (quiet period), `user` or `session` (the session ended). */
  resolved_by: string | null;
  peak_score: number;
  peak_value: number;
  peak_expected: number | null;
  peak_at: string;
  anomaly_count: number;
  /** Why nobody was notified: `quiet_hours` or `maintenance` (null = notified). */
  silenced: string | null;
  acknowledged_by: number | null;
  acknowledged_at: string | null;
  note: string | null;
  /** `not_anomaly`, `confirmed` or null. */
  feedback: string | null;
  created_at: string;
  updated_at: string;
}

export interface AlarmRulesTable {
  id: Generated<number>;
  user_id: number;
  /** 0 = the user's defaults. */
  device_id: number;
  /** JSON: the rule fields set at this level. */
  rules: string;
  created_at: string;
  updated_at: string;
}

export interface NotificationChannelsTable {
  id: Generated<number>;
  user_id: number;
  /** `webhook`, `email`, `mqtt` or `web_push`. */
  kind: string;
  name: string;
  /** Kind-specific settings as JSON text. */
  config: string;
  /** Webhook signing secret (shown once). */
  secret: string | null;
  enabled: number;
  created_at: string;
  updated_at: string;
}

export interface AlarmDeliveriesTable {
  id: Generated<number>;
  user_id: number;
  alarm_id: number | null;
  channel_id: number;
  event: string;
  /** `sent`, `failed`, `rate_limited` or `pending`. */
  status: string;
  attempts: number;
  response_status: number | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface FeedbackLabelsTable {
  id: Generated<number>;
  user_id: number;
  session_id: number;
  device_id: number | null;
  /** The model the session ran (feedback on it improves that model). */
  model_id: number | null;
  alarm_id: number | null;
  /** `normal` or `anomalous`. */
  kind: string;
  /** `not_anomaly`, `confirmed` or `missed`. */
  source: string;
  signal: string | null;
  start_at: string;
  end_at: string;
  note: string | null;
  created_at: string;
}

export interface AlarmSuppressionsTable {
  id: Generated<number>;
  user_id: number;
  device_id: number;
  signal: string;
  /** Deviations from the expected value up to this are not alarmed (null: use `max_score`). */
  max_deviation: number | null;
  max_score: number;
  alarm_id: number | null;
  created_at: string;
}

export interface DB {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  posts: PostsTable;
  follows: FollowsTable;
  ml_models: MlModelsTable;
  detection_sessions: DetectionSessionsTable;
  detection_logs: DetectionLogsTable;
  detection_rollups: DetectionRollupsTable;
  likes: LikesTable;
  comments: CommentsTable;
  recordings: RecordingsTable;
  recording_labels: RecordingLabelsTable;
  training_jobs: TrainingJobsTable;
  devices: DevicesTable;
  alert_webhooks: AlertWebhooksTable;
  alarms: AlarmsTable;
  alarm_rules: AlarmRulesTable;
  notification_channels: NotificationChannelsTable;
  alarm_deliveries: AlarmDeliveriesTable;
  feedback_labels: FeedbackLabelsTable;
  alarm_suppressions: AlarmSuppressionsTable;
}
