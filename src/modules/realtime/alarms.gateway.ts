import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Server, Socket } from 'socket.io';
import type { AppBus } from '../../events.ts';
import { AppError, isAppError, toErrorBody } from '../../lib/errors.ts';
import { FeedbackBody } from '../alarms/alarms.schemas.ts';
import type { AlarmsService } from '../alarms/alarms.service.ts';
import { socketState, userRoom } from './realtime.rooms.ts';

const AlarmId = Type.Integer({ minimum: 1 });
const Stamp = { timestamp: Type.Optional(Type.Unknown()) };

const Payloads = {
  get_alarms: Type.Object({ ...Stamp, state: Type.Optional(Type.Union(['open', 'acknowledged', 'resolved', 'active'].map((s) => Type.Literal(s)))), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }),
  alarm_ack: Type.Object({ ...Stamp, alarm_id: AlarmId, note: Type.Optional(Type.String({ maxLength: 500 })) }),
  alarm_resolve: Type.Object({ ...Stamp, alarm_id: AlarmId, note: Type.Optional(Type.String({ maxLength: 500 })) }),
  alarm_feedback: Type.Composite([Type.Object({ ...Stamp, alarm_id: AlarmId }), FeedbackBody]),
} satisfies Record<string, TSchema>;
type AlarmClientEvent = keyof typeof Payloads;
const checkers = Object.fromEntries(Object.entries(Payloads).map(([k, s]) => [k, TypeCompiler.Compile(s)])) as { [E in AlarmClientEvent]: ReturnType<typeof TypeCompiler.Compile<(typeof Payloads)[E]>> };

/**
 * The Socket.IO side of alarms: pushes `alarm_opened`, `alarm_updated` and `alarm_resolved` to the
 * owner's sockets, and takes `get_alarms`, `alarm_ack`, `alarm_resolve` and `alarm_feedback`
 * (answered with `alarms_list` / `alarm_action_result`). Identity is the socket's signed-in user.
 */
export function createAlarmsGateway(deps: { io: Server; bus: AppBus; alarms: AlarmsService }) {
  const { io, bus, alarms } = deps;
  const userOf = (socket: Socket) => socketState(socket).user;

  async function handle(socket: Socket, event: AlarmClientEvent, raw: unknown) {
    const value = raw === undefined || raw === null ? {} : raw;
    if (!checkers[event].Check(value)) {
      const problems = [...checkers[event].Errors(value)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
      throw new AppError('invalid-payload', `Invalid ${event} payload: ${problems.join('; ')}`);
    }
    const user = userOf(socket);
    if (!user) throw new AppError('unauthorized', 'Sign in to see and act on alarms.');
    switch (event) {
      case 'get_alarms': {
        const p = value as Static<(typeof Payloads)['get_alarms']>;
        const page = await alarms.list(user.id, { ...(p.state && { state: p.state as 'active' }), limit: p.limit ?? 20 });
        socket.emit('alarms_list', page);
        return;
      }
      case 'alarm_ack': {
        const p = value as Static<(typeof Payloads)['alarm_ack']>;
        socket.emit('alarm_action_result', { event, success: true, alarm: await alarms.acknowledge(user.id, p.alarm_id, p.note) });
        return;
      }
      case 'alarm_resolve': {
        const p = value as Static<(typeof Payloads)['alarm_resolve']>;
        socket.emit('alarm_action_result', { event, success: true, alarm: await alarms.resolve(user.id, p.alarm_id, p.note) });
        return;
      }
      case 'alarm_feedback': {
        const { alarm_id, timestamp: _t, ...input } = value as Static<(typeof Payloads)['alarm_feedback']>;
        socket.emit('alarm_action_result', { event, success: true, alarm: await alarms.feedback(user.id, alarm_id, input) });
        return;
      }
    }
  }

  const onConnection = (socket: Socket) => {
    for (const event of Object.keys(Payloads) as AlarmClientEvent[]) {
      socket.on(event, (raw: unknown) => {
        handle(socket, event, raw).catch((err: unknown) => {
          const body = toErrorBody(isAppError(err) ? err : new AppError('internal', undefined, { cause: err }));
          socket.emit('alarm_action_result', { event, success: false, code: body.code, error: body.message });
        });
      });
    }
  };
  io.on('connection', onConnection);

  const room = userRoom;
  const unsubs = [
    bus.on('alarm.opened', (e) => void io.to(room(e.userId)).emit('alarm_opened', e.alarm)),
    bus.on('alarm.updated', (e) => void io.to(room(e.userId)).emit('alarm_updated', e.alarm)),
    bus.on('alarm.resolved', (e) => void io.to(room(e.userId)).emit('alarm_resolved', e.alarm)),
  ];

  return {
    close() {
      io.off('connection', onConnection);
      for (const u of unsubs) u();
    },
  };
}
