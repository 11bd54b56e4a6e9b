import type { Server } from 'socket.io';
import type { AppBus } from '../../events.ts';
import type { DeviceHubImpl } from '../devices/device-hub.ts';
import { plainJson } from './plain-json-encoder.ts';
import { deviceRoom, ownerRoom, seconds, sessionRoom, userRoom, type LatencyRing } from './realtime.rooms.ts';

export interface PushDeps {
  io: Server;
  bus: AppBus;
  hub: DeviceHubImpl;
  followerIds?(userId: number): Promise<number[]>;
  latency: LatencyRing;
  /** From the reading's creation (its timestamp: a device's clock, the simulator's due time) to the emit. */
  sinceCreated?: LatencyRing;
}

/** Turns bus events into pushes to the right rooms; returns the unsubscribers. */
export function subscribePushes(deps: PushDeps): Array<() => void> {
  const { io, bus, hub, latency } = deps;
  const hasListeners = (room: string) => (io.sockets.adapter.rooms.get(room)?.size ?? 0) > 0;
  return [
    bus.on('reading.received', ({ deviceId, reading }) => {
      const room = deviceRoom(deviceId);
      if (!hasListeners(room)) return;
      io.to(room).emit('arduino_raw_data', {
        voltage: reading.value,
        timestamp: seconds(reading.ts),
        device_id: deviceId,
        features: { sample_count: hub.sampleCount(deviceId) },
      });
    }),
    bus.on('device.status', (st) => {
      const room = deviceRoom(st.deviceId);
      if (!hasListeners(room)) return;
      io.to(room).emit('arduino_status', {
        connected: st.connected,
        message: st.message,
        port: st.port,
        device_id: st.deviceId,
        ...(st.error !== undefined && { error: st.error }),
      });
    }),
    bus.on('detection.started', ({ owner, session }) => {
      const body = { type: 'detection_started', running: true, session_id: session.session_id, model_name: session.model_name, model_id: session.model_id, device_id: session.device_id, threshold: session.threshold, message: `Detection started with ${session.model_name}.` };
      io.to(ownerRoom(owner)).emit('detection_status', body);
      io.to(ownerRoom(owner)).emit('detection_started', body);
    }),
    bus.on('detection.scored', (e) => {
      io.to(ownerRoom(e.owner)).emit('arduino_data', plainJson({
        voltage: e.reading.value,
        timestamp: seconds(e.reading.ts),
        prediction: {
          anomaly_score: e.score.anomaly_score,
          is_anomaly: e.score.is_anomaly,
          confidence: e.score.confidence,
          method: e.score.method,
          signal: e.score.signal,
          ...(e.score.features && { features: e.score.features }),
          // Additive: the expected value, the normal band and the channel that fired, when the kind reports them.
          ...(e.score.expected !== undefined && { expected: e.score.expected, lower: e.score.lower, upper: e.score.upper }),
          ...(e.score.channel !== undefined && { channel: e.score.channel }),
        },
        ml_status: { ...e.warmup, method: e.score.method },
        guest_mode: e.owner.userId === null,
        session_id: e.sessionId,
        device_id: e.deviceId,
      }));
      latency.add(performance.now() - e.arrivedAt);
      deps.sinceCreated?.add(Date.now() - e.reading.ts);
    }),
    bus.on('detection.alert', (e) => {
      io.to(ownerRoom(e.owner)).emit('anomaly_alert', {
        session_id: e.sessionId,
        device_id: e.deviceId,
        voltage: e.reading.value,
        timestamp: seconds(e.reading.ts),
        anomaly_score: e.score.anomaly_score,
        confidence: e.score.confidence,
        signal: e.score.signal,
        suppressed: e.suppressed,
        message: `Anomaly (${e.score.signal}) at ${e.reading.value} V, score ${e.score.anomaly_score.toFixed(2)}.`,
      });
    }),
    bus.on('detection.stopped', (e) => {
      const room = ownerRoom(e.owner);
      io.to(room).emit('detection_status', { type: 'detection_stopped', running: false, session_id: e.sessionId, reason: e.reason });
      const auto = e.reason !== 'stopped';
      const message = auto ? `Detection stopped automatically (${e.reason.replace('_', ' ')}).` : 'Detection stopped.';
      io.to(room).emit(auto ? 'detection_auto_stopped' : 'detection_stopped', { message, final_analysis: e.finalAnalysis, session_id: e.sessionId, reason: e.reason });
      io.in(sessionRoom(e.sessionId)).socketsLeave(sessionRoom(e.sessionId));
    }),
    bus.on('training.progressed', (e) => void io.to(userRoom(e.userId)).emit('training_progress', { job_id: e.jobId, status: e.status, progress: e.progress, stage: e.stage })),
    bus.on('training.completed', (e) =>
      void io.to(userRoom(e.userId)).emit('training_completed', { job_id: e.jobId, model_id: e.modelId, model_name: e.modelName, accuracy: e.accuracy, metrics: e.metrics, notes: e.notes }),
    ),
    bus.on('backtest.completed', (e) => void io.to(userRoom(e.userId)).emit('backtest_completed', { job_id: e.jobId, model_id: e.modelId, metrics: e.metrics })),
    bus.on('training.failed', (e) => void io.to(userRoom(e.userId)).emit('training_failed', { job_id: e.jobId, code: e.code, error: e.message })),
    bus.on('post.created', async (e) => {
      if (!deps.followerIds) return;
      const ids = await deps.followerIds(e.authorId);
      if (ids.length > 0) io.to(ids.map(userRoom)).emit('post_created', e.post);
    }),
  ];
}
