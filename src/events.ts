import type { EventBus } from './lib/event-bus.ts';
import type { PostView } from './modules/social/social.schemas.ts';
import type { Reading } from './detectors/index.ts';
import type { AlarmView } from './modules/alarms/alarms.schemas.ts';
import type { DeviceStatus } from './modules/devices/device-hub.ts';
import type {
  DetectionAlertEvent,
  DetectionScoredEvent,
  DetectionStartedEvent,
  DetectionStoppedEvent,
  ThresholdChangedEvent,
} from './modules/detection/detection.types.ts';

/**
 * Every event on Vigil's in-process bus and its payload. Features append their events here;
 * adapters (Socket.IO gateway, ingestion sources, persistence) subscribe to them.
 */
export interface EventMap {
  'user.registered': { userId: number; username: string };
  'user.logged_in': { userId: number };
  /** A new post; the realtime gateway pushes `post` as `post_created` to the author's followers (see `followerIds`). */
  'post.created': { postId: number; authorId: number; post: PostView };
  /** A training job moved: progress in [0, 1] with a short stage message. Pushed as `training_progress`. */
  'training.progressed': { jobId: number; userId: number; status: 'queued' | 'running'; progress: number; stage: string };
  /** A training job produced a model. Pushed as `training_completed`. */
  'training.completed': {
    jobId: number;
    userId: number;
    modelId: number;
    modelName: string;
    accuracy: number | null;
    metrics: Record<string, number>;
    /** What the fit said about the training data (e.g. a short recording); empty when nothing. */
    notes: string[];
  };
  /** A training job failed or was cancelled (`code` = `training-cancelled`). Pushed as `training_failed`. */
  'training.failed': { jobId: number; userId: number; code: string; message: string };
  /** A backtest job finished (its result is stored on the job). Pushed as `backtest_completed`. */
  'backtest.completed': { jobId: number; userId: number; modelId: number; metrics: Record<string, number> };
  /** A model was deleted; sessions and selections using it should let go. */
  'model.deleted': { userId: number | null; modelId: number };
  /** A validated reading from any source; `arrivedAt` is `performance.now()` at arrival. */
  'reading.received': { deviceId: number; reading: Reading; arrivedAt: number };
  'device.status': DeviceStatus;
  'detection.started': DetectionStartedEvent;
  'detection.scored': DetectionScoredEvent;
  'detection.stopped': DetectionStoppedEvent;
  'detection.alert': DetectionAlertEvent;
  'detection.threshold_changed': ThresholdChangedEvent;
  /** An alarm opened (its row is written). Pushed as `alarm_opened`; notified unless `alarm.silenced`. */
  'alarm.opened': AlarmEvent;
  /** An open alarm changed (more anomalies, acknowledged, feedback). Pushed as `alarm_updated`. */
  'alarm.updated': AlarmEvent;
  /** An alarm resolved (quiet period, by hand, or its session ended). Pushed as `alarm_resolved`. */
  'alarm.resolved': AlarmEvent;
  /** An open alarm is still unacknowledged after the rules' re-notify interval. */
  'alarm.renotify': AlarmEvent;
}

/** An alarm and its owner. */
export interface AlarmEvent {
  userId: number;
  alarm: AlarmView;
}

export type AppBus = EventBus<EventMap>;
