import type { Logger } from 'pino';
import type { AppBus } from '../../events.ts';

/**
 * Logs every detection session's start and stop at info, through a child logger carrying
 * `session_id`, `device_id` and `user_id` (takeovers are logged by the session cluster the same way).
 */
export function logSessionLifecycle(bus: AppBus, logger: Logger): () => void {
  const offs = [
    bus.on('detection.started', ({ owner, session }) => {
      logger
        .child({ session_id: session.session_id, device_id: session.device_id, user_id: owner.userId })
        .info({ model_id: session.model_id, model_name: session.model_name, threshold: session.threshold, log: session.log }, 'detection session started');
    }),
    bus.on('detection.stopped', (e) => {
      logger
        .child({ session_id: e.sessionId, device_id: e.deviceId, user_id: e.owner.userId })
        .info(
          { reason: e.reason, total_predictions: e.finalAnalysis.total_predictions, anomaly_count: e.finalAnalysis.anomaly_count },
          'detection session stopped',
        );
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
