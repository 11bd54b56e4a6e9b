import { randomBytes } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import type { Reading } from '../../detectors/index.ts';
import { fromDbTime, toDbTime } from '../../db/time.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { DeviceHubImpl } from './device-hub.ts';
import type { DeviceRow, DevicesRepository } from './devices.repository.ts';
import { EmptyConfig, SerialConfig, SimulatorConfig, type CreateDeviceInput, type DeviceKind, type UpdateDeviceInput } from './devices.schemas.ts';
import { toReading } from './readings.ts';
import { hashDeviceToken, tokenMatches } from './sources/index.ts';
import { mqttTopic } from './sources/mqtt-connection.ts';
import { listNativeSerialPorts, type SerialPortInfo, type SerialPortLister } from './sources/serial.source.ts';
import type { AnomalyKind, InjectOptions, SimulatorSource } from './sources/simulator.source.ts';

export interface DeviceView {
  id: number;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  is_default: boolean;
  shared: boolean;
  mqtt_topic?: string;
  status: { connected: boolean; message: string; port: string; error?: string } | null;
  created_at: string;
  updated_at: string;
}

/** Who is asking: a signed-in user, or a guest (who may use the server's shared devices only). */
export interface DeviceViewer {
  userId: number | null;
}

export const SYSTEM_SERIAL = 'serial';
export const SYSTEM_SIMULATOR = 'demo-simulator';

const TOKEN_KINDS: readonly string[] = ['mqtt', 'http'];

function configSchema(kind: string) {
  return kind === 'simulator' ? SimulatorConfig : kind === 'serial' ? SerialConfig : EmptyConfig;
}

function validConfig(kind: string, config: Record<string, unknown>): Record<string, unknown> {
  const schema = configSchema(kind);
  // Settings are flat: refuse any nested value before cloning or validating it, which recurse.
  const nested = Object.entries(config).filter(([, v]) => v !== null && typeof v === 'object').map(([k]) => ({ path: `/config/${k}`, message: 'must be a number, string or boolean' }));
  if (nested.length) throw new AppError('validation-failed', `Invalid config for a ${kind} device.`, { details: nested });
  const withDefaults = Value.Default(schema, structuredClone(config)) as Record<string, unknown>;
  const problems = [...Value.Errors(schema, withDefaults)].map((e) => ({ path: `/config${e.path}`, message: e.message }));
  if (problems.length) throw new AppError('validation-failed', `Invalid config for a ${kind} device.`, { details: problems });
  return withDefaults;
}

export interface DevicesServiceDeps {
  devices: DevicesRepository;
  hub: DeviceHubImpl<DeviceRow>;
  clock: Clock;
  serial: { port: string | undefined; baudRate: number };
  httpBatchMax: number;
  /** Lists the server's serial ports (the native lister by default). */
  listSerialPorts?: SerialPortLister;
  /**
   * With REDIS_URL: appends an HTTP batch to the device's stream, which every process with the device
   * open follows (the owner of a session on it among them); resolves once Redis holds it.
   */
  append?(deviceId: number, readings: readonly Reading[]): Promise<unknown>;
  /** Resolves once what the sessions logged so far survives a crash (the log journal is on disk). */
  durable?(): Promise<void>;
}

export function createDevicesService(deps: DevicesServiceDeps) {
  const { devices, hub, clock } = deps;
  const now = () => toDbTime(clock.now());

  function view(d: DeviceRow): DeviceView {
    const s = hub.status(d.id);
    return {
      id: d.id,
      name: d.name,
      kind: d.kind,
      config: d.config,
      is_default: d.isDefault,
      shared: d.userId === null,
      ...(d.kind === 'mqtt' && { mqtt_topic: mqttTopic(d.id) }),
      status: s ? { connected: s.connected, message: s.message, port: s.port, ...(s.error !== undefined && { error: s.error }) } : null,
      created_at: fromDbTime(d.createdAt),
      updated_at: fromDbTime(d.updatedAt),
    };
  }

  /** A device the viewer may use (own or shared); 404 otherwise, so ids of others do not leak. */
  async function usable(viewer: DeviceViewer, id: number): Promise<DeviceRow> {
    const d = await devices.findById(id);
    if (!d || (d.userId !== null && d.userId !== viewer.userId)) throw new AppError('device-not-found');
    return d;
  }

  async function owned(userId: number, id: number): Promise<DeviceRow> {
    const d = await devices.findById(id);
    if (!d || d.userId !== userId) {
      if (d && d.userId === null) throw new AppError('not-owner', 'Shared server devices cannot be changed.');
      throw new AppError('device-not-found');
    }
    return d;
  }

  const newToken = () => `vgd_${randomBytes(24).toString('base64url')}`;

  return {
    view,
    usable,

    /** The serial ports the server sees, for a new `serial` device's path; empty when listing fails. */
    async serialPorts(): Promise<SerialPortInfo[]> {
      try {
        return await (deps.listSerialPorts ?? listNativeSerialPorts)();
      } catch {
        return [];
      }
    },

    /** Creates (or updates) the server's shared devices: the SERIAL_PORT Arduino and the demo simulator. */
    async ensureSystemDevices(): Promise<void> {
      const sim = await devices.findBySystemKey(SYSTEM_SIMULATOR);
      if (!sim) {
        await devices.insert({ userId: null, name: 'Demo simulator', kind: 'simulator', config: {}, tokenHash: null, isDefault: false, systemKey: SYSTEM_SIMULATOR, now: now() });
      }
      const serial = await devices.findBySystemKey(SYSTEM_SERIAL);
      if (deps.serial.port) {
        const config = { path: deps.serial.port, baud_rate: deps.serial.baudRate };
        if (!serial) {
          await devices.insert({ userId: null, name: `Arduino on ${deps.serial.port}`, kind: 'serial', config, tokenHash: null, isDefault: false, systemKey: SYSTEM_SERIAL, now: now() });
        } else if (serial.config.path !== config.path || serial.config.baud_rate !== config.baud_rate) {
          await devices.update(serial.id, { config, name: `Arduino on ${deps.serial.port}` }, now());
        }
      } else if (serial) {
        await devices.delete(serial.id);
      }
    },

    /** Whether the server has a shared serial Arduino (the seed's `serial_connected`). */
    hasServerSerial: () => deps.serial.port !== undefined,

    async list(userId: number): Promise<DeviceView[]> {
      return (await devices.listVisible(userId)).map(view);
    },

    async get(viewer: DeviceViewer, id: number): Promise<DeviceView> {
      return view(await usable(viewer, id));
    },

    async create(userId: number, input: CreateDeviceInput): Promise<DeviceView & { token?: string }> {
      const config = validConfig(input.kind, input.config ?? {});
      const token = TOKEN_KINDS.includes(input.kind) ? newToken() : undefined;
      const id = await devices.insert({
        userId,
        name: input.name,
        kind: input.kind,
        config,
        tokenHash: token ? hashDeviceToken(token) : null,
        isDefault: input.is_default ?? false,
        now: now(),
      });
      if (input.is_default) await devices.clearDefault(userId, id, now());
      const d = (await devices.findById(id))!;
      return { ...view(d), ...(token && { token }) };
    },

    async update(userId: number, id: number, patch: UpdateDeviceInput): Promise<DeviceView & { token?: string }> {
      const d = await owned(userId, id);
      const config = patch.config !== undefined ? validConfig(d.kind, patch.config) : undefined;
      let token: string | undefined;
      if (patch.rotate_token) {
        if (!TOKEN_KINDS.includes(d.kind)) throw new AppError('device-kind-invalid', 'Only mqtt and http devices have tokens.');
        token = newToken();
      }
      await devices.update(
        id,
        {
          ...(patch.name !== undefined && { name: patch.name }),
          ...(config !== undefined && { config }),
          ...(patch.is_default !== undefined && { isDefault: patch.is_default }),
          ...(token !== undefined && { tokenHash: hashDeviceToken(token) }),
        },
        now(),
      );
      if (patch.is_default) await devices.clearDefault(userId, id, now());
      // A new configuration or token takes effect by reopening the source.
      if (config !== undefined || token !== undefined) await hub.evict(id, 'Device settings changed; reconnect.');
      return { ...view((await devices.findById(id))!), ...(token && { token }) };
    },

    async remove(userId: number, id: number): Promise<void> {
      await owned(userId, id);
      await hub.evict(id, 'Device deleted.');
      await devices.delete(id);
    },

    /**
     * The device `arduino_connect` and `/detection/start` use when none is named: the user's
     * default (or first) device, else the server's Arduino (SERIAL_PORT), else a simulator —
     * the user's own (created on first use) or, for a guest, the shared demo simulator.
     */
    async resolveDefault(viewer: DeviceViewer): Promise<DeviceRow> {
      const visible = await devices.listVisible(viewer.userId);
      const own = visible.filter((d) => d.userId !== null);
      const pick = own.find((d) => d.isDefault) ?? own[0];
      if (pick) return pick;
      const serial = visible.find((d) => d.systemKey === SYSTEM_SERIAL);
      if (serial && deps.serial.port) return serial;
      if (viewer.userId === null) {
        const demo = visible.find((d) => d.systemKey === SYSTEM_SIMULATOR);
        if (demo) return demo;
        throw new AppError('device-not-found', 'No shared device is available.');
      }
      const id = await devices.insert({ userId: viewer.userId, name: 'Simulator', kind: 'simulator', config: {}, tokenHash: null, isDefault: true, now: now() });
      return (await devices.findById(id))!;
    },

    /** HTTP ingestion: checks the device token, validates each reading and hands the batch to the hub. */
    async ingest(id: number, token: string | undefined, batch: readonly { value: number; ts?: number | string }[]) {
      const d = await devices.findById(id);
      if (!d || d.kind !== 'http' || token === undefined || !tokenMatches(token, d.tokenHash)) throw new AppError('device-token-invalid');
      if (batch.length > deps.httpBatchMax) throw new AppError('batch-too-large', `At most ${deps.httpBatchMax} readings per batch.`);
      const t = clock.now().getTime();
      const readings: Reading[] = [];
      let invalid = 0;
      for (const item of batch) {
        const r = toReading(item.value, item.ts, t);
        if (r) readings.push(r);
        else invalid++;
      }
      hub.countInvalid(id, d.kind, invalid);
      if (deps.append) {
        // Kept in the stream: scored by the session's owner, or by the process that takes it over.
        if (readings.length > 0) {
          await deps.append(id, readings).catch((err: unknown) => {
            throw new AppError('readings-unavailable', undefined, { cause: err });
          });
        }
        return { received: batch.length, accepted: readings.length, invalid, rate_limited: 0, delivered: true };
      }
      const pushed = hub.push(id, readings);
      // 202 only once the batch's scored rows are durable: a crash after it loses nothing.
      if (deps.durable && pushed.delivered) {
        await deps.durable().catch((err: unknown) => {
          throw new AppError('journal-unavailable', undefined, { cause: err });
        });
      }
      return { received: batch.length, accepted: pushed.accepted, invalid, rate_limited: pushed.dropped, delivered: pushed.delivered };
    },

    /** Injects an anomaly into a running simulator the viewer may use. */
    async inject(viewer: DeviceViewer, id: number, kind: AnomalyKind, options: InjectOptions = {}): Promise<void> {
      const d = await usable(viewer, id);
      if (d.kind !== 'simulator') throw new AppError('device-kind-invalid', 'Anomalies can be injected into simulators only.');
      if (d.userId === null) throw new AppError('not-owner', 'Only your own simulators accept injected anomalies.');
      const source = hub.source(id) as SimulatorSource | undefined;
      if (!source) throw new AppError('device-not-connected', 'The simulator is not running; connect to it or start a session first.');
      source.inject(kind, options);
    },
  };
}

export type DevicesService = ReturnType<typeof createDevicesService>;
export type { DeviceKind };
