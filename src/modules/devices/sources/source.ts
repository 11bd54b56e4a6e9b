import type { Reading } from '../../../detectors/index.ts';

/** Where a source delivers what it reads. Values are validated by the hub, not trusted here. */
export interface SourceSink {
  /** `cursor`: the stream entry the reading came in, for sources that read a stream. */
  reading(reading: Reading, cursor?: string): void;
  status(s: { connected: boolean; message: string; error?: string }): void;
  /** A line or message that was not a reading (counted; logged at debug). */
  invalid(detail: string): void;
}

/**
 * One ingestion source (simulator, serial, mqtt, http). `start` opens it and keeps it running
 * (reconnecting where that makes sense) until `signal` aborts or `stop` is called; a source never
 * throws into the hub: failures become `status` reports.
 */
export interface Source {
  /** Serial path, MQTT topic, `simulator` or `http`: the contract's `port`. */
  readonly port: string;
  start(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
