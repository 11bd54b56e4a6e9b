import type { Reading } from '../../detectors/index.ts';

/**
 * The fan-out point of ingestion: a device's source is opened once, on the first subscriber,
 * and closed when the last one leaves. Detection sessions, recordings and raw-data sockets all
 * subscribe here.
 */
export interface DeviceStatus {
  deviceId: number;
  connected: boolean;
  message: string;
  /** Serial path, MQTT topic, `simulator` or `http`. */
  port: string;
  error?: string;
}

export interface DeviceSubscriber {
  onReading(reading: Reading): void;
  onStatus?(status: DeviceStatus): void;
}

export interface DeviceHub {
  /** Opens the device's source if needed; resolves to the function that unsubscribes. */
  subscribe(deviceId: number, subscriber: DeviceSubscriber): Promise<() => void>;
  status(deviceId: number): DeviceStatus | undefined;
}
