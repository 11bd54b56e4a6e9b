import { SerialPort } from 'serialport';
import { parseSerialLine } from '../readings.ts';
import type { Source, SourceSink } from './source.ts';

export interface SerialOptions {
  path: string;
  baudRate: number;
  /** Opens the port object: the native `SerialPort` by default, `SerialPortMock` in tests. */
  createPort?: SerialPortFactory;
  now?: () => number;
  /** First and longest reconnect delay in ms. */
  backoff?: { initialMs: number; maxMs: number };
}

/** The hardware boundary: what the source needs from a serialport stream. */
export interface SerialPortLike {
  readonly isOpen: boolean;
  open(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): void;
  on(event: 'data', l: (chunk: Buffer) => void): unknown;
  on(event: 'error', l: (err: Error) => void): unknown;
  on(event: 'close', l: (err: Error | null) => void): unknown;
}
export type SerialPortFactory = (o: { path: string; baudRate: number; autoOpen: false }) => SerialPortLike;

export const nativeSerialPort: SerialPortFactory = (o) => new SerialPort(o) as unknown as SerialPortLike;

/** A serial port the server can see (for picking a `serial` device's path). */
export interface SerialPortInfo {
  path: string;
  manufacturer: string | null;
  serial_number: string | null;
  vendor_id: string | null;
  product_id: string | null;
}
export type SerialPortLister = () => Promise<SerialPortInfo[]>;

type PortList = () => Promise<{ path: string; manufacturer?: string; serialNumber?: string; vendorId?: string; productId?: string }[]>;

/** Maps a serialport `list()` (native, or `SerialPortMock.list` in tests) to the API's shape. */
export const serialPortLister =
  (list: PortList): SerialPortLister =>
  async () =>
    (await list()).map((p) => ({
      path: p.path,
      manufacturer: p.manufacturer ?? null,
      serial_number: p.serialNumber ?? null,
      vendor_id: p.vendorId ?? null,
      product_id: p.productId ?? null,
    }));

/** The hardware boundary's listing side: the native `SerialPort.list()`. */
export const listNativeSerialPorts = serialPortLister(() => SerialPort.list());

/** Longest line kept while waiting for its end; anything longer is garbage from a wrong baud rate. */
const MAX_LINE = 256;

/**
 * An Arduino on a serial port: one value per line (CR, LF or CRLF), partial lines joined,
 * garbage counted and skipped; reopens with exponential backoff when the port fails or the board
 * is unplugged, reporting each change as a status.
 */
export function createSerialSource(sink: SourceSink, opts: SerialOptions): Source & { readonly stats: { lines: number; garbage: number } } {
  const now = opts.now ?? Date.now;
  const backoff = opts.backoff ?? { initialMs: 500, maxMs: 10_000 };
  const stats = { lines: 0, garbage: 0 };
  let port: SerialPortLike | undefined;
  const createPort = opts.createPort ?? nativeSerialPort;
  let stopped = true;
  let retry: NodeJS.Timeout | undefined;
  let delay = backoff.initialMs;
  let partial = '';

  function onData(chunk: Buffer) {
    partial += chunk.toString('latin1');
    const lines = partial.split(/\r\n|\r|\n/);
    partial = lines.pop() ?? '';
    if (partial.length > MAX_LINE) {
      stats.garbage++;
      sink.invalid('over-long line');
      partial = '';
    }
    for (const line of lines) {
      if (line.trim() === '') continue;
      stats.lines++;
      const v = parseSerialLine(line);
      if (v === undefined) {
        stats.garbage++;
        sink.invalid(`not a reading: ${JSON.stringify(line.slice(0, 40))}`);
      } else {
        sink.reading({ ts: now(), value: v });
      }
    }
  }

  function scheduleReopen(error: string) {
    if (stopped) return;
    sink.status({ connected: false, message: `Serial port ${opts.path} unavailable; retrying in ${Math.round(delay / 100) / 10} s`, error });
    retry = setTimeout(open, delay);
    delay = Math.min(backoff.maxMs, delay * 2);
  }

  function open() {
    retry = undefined;
    if (stopped) return;
    partial = '';
    let p: SerialPortLike;
    try {
      p = createPort({ path: opts.path, baudRate: opts.baudRate, autoOpen: false });
    } catch (err) {
      scheduleReopen((err as Error).message);
      return;
    }
    port = p;
    p.on('data', onData);
    p.on('error', () => undefined);
    p.on('close', (err: Error | null) => {
      if (port !== p) return;
      port = undefined;
      scheduleReopen(err?.message ?? 'port closed');
    });
    p.open((err) => {
      if (err) {
        if (port === p) port = undefined;
        scheduleReopen(err.message);
        return;
      }
      if (stopped) {
        p.close();
        return;
      }
      delay = backoff.initialMs;
      sink.status({ connected: true, message: `Arduino connected on ${opts.path} at ${opts.baudRate} baud` });
    });
  }

  const source = {
    port: opts.path,
    stats,
    async start(signal: AbortSignal) {
      if (!stopped) return;
      stopped = false;
      signal.addEventListener('abort', () => void source.stop(), { once: true });
      open();
    },
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      retry = undefined;
      const p = port;
      port = undefined;
      if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
    },
  };
  return source;
}
