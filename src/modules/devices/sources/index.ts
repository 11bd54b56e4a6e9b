import { createHash, timingSafeEqual } from 'node:crypto';
import { createHttpSource, type FollowReadings } from './http.source.ts';
import { createMqttSource } from './mqtt.source.ts';
import type { MqttConnection } from './mqtt-connection.ts';
import { createSerialSource, type SerialPortFactory } from './serial.source.ts';
import { createSimulatorSource } from './simulator.source.ts';
import type { TickScheduler } from './tick-scheduler.ts';
import type { Source, SourceSink } from './source.ts';

export type { Source, SourceSink } from './source.ts';

/** SHA-256 hex of a device token: what the database keeps. */
export const hashDeviceToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function tokenMatches(token: string, hash: string | null): boolean {
  if (!hash) return false;
  const a = Buffer.from(hashDeviceToken(token), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface SourceDevice {
  id: number;
  kind: string;
  config: Record<string, unknown>;
  tokenHash: string | null;
}

export interface SourceFactoryDeps {
  simulatorRateHz: number;
  /** One scheduler for every simulated device (fair to I/O when they need more CPU than there is). */
  ticks: TickScheduler;
  mqtt: MqttConnection;
  mqttTrustBroker: boolean;
  maxBatch: number;
  createSerialPort?: SerialPortFactory;
  defaultBaudRate: number;
  /** With REDIS_URL: HTTP devices follow their Redis Stream. */
  followHttpReadings?: FollowReadings;
  /** With REDIS_URL and MQTT_URL: MQTT devices follow their Redis Stream (filled by the cluster's MQTT intake). */
  followMqttReadings?: FollowReadings;
}

const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

/** Builds the source of a device from its kind and stored settings. */
export function createSourceFactory(deps: SourceFactoryDeps) {
  return (device: SourceDevice, sink: SourceSink): Source => {
    const c = device.config;
    switch (device.kind) {
      case 'simulator':
        return createSimulatorSource(sink, {
          rateHz: num(c.rate_hz, deps.simulatorRateHz),
          level: num(c.level, 3.3),
          noise: num(c.noise, 0.02),
          seed: num(c.seed, device.id),
          ticks: deps.ticks,
        });
      case 'serial':
        return createSerialSource(sink, {
          path: String(c.path),
          baudRate: num(c.baud_rate, deps.defaultBaudRate),
          ...(deps.createSerialPort && { createPort: deps.createSerialPort }),
        });
      case 'mqtt':
        return createMqttSource(sink, {
          connection: deps.mqtt,
          deviceId: device.id,
          verifyToken: (t) => tokenMatches(t, device.tokenHash),
          trustBroker: deps.mqttTrustBroker,
          maxBatch: deps.maxBatch,
          ...(deps.followMqttReadings && { follow: deps.followMqttReadings }),
        });
      case 'http':
        return createHttpSource(sink, { deviceId: device.id, ...(deps.followHttpReadings && { follow: deps.followHttpReadings }) });
      default:
        throw new Error(`unknown device kind ${device.kind}`);
    }
  };
}
