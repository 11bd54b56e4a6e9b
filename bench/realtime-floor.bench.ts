/**
 * What the parts of issue 15's reading path cost on their own, at 1,000 devices x 10 Hz, so the
 * `bench:realtime` numbers can be read against a floor (decision 0019, addendum 2026-12-06).
 *
 *   npm run bench:realtime-floor [-- --devices 1000 --seconds 10 --batch 2500]  (node --max-semi-space-size=64, as the server runs)
 *
 * Each part is measured alone, in this process, and printed as % of one core at devices x 10
 * readings/s:
 * - Socket.IO: a stock Socket.IO server (websocket only, the app's plain-JSON encoder) emitting one
 *   `arduino_data`-sized event per reading to a room with one client socket per device; the
 *   clients run in a child process. Nothing else runs: no detection, no logging.
 * - SQLite log rows: the detection repository's `insertLogs` on a fresh migrated database file (WAL,
 *   as the log thread opens it), the devices' sessions interleaved, `--batch` rows per transaction
 *   (2,500: what the log thread gets at 10,000 rows/s every 250 ms).
 * - Detector: the default preset's detector (`General purpose`, `auto`), one live instance per
 *   device, scored round-robin as live sessions are (each instance's state out of the CPU cache).
 * The sum is a floor for one process at that load: the reading path also journals each row, builds
 * it, schedules the simulator and runs the bus, sessions and alarms, which this does not count.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { generateTrace } from '../src/bench/synthetic/generator.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import type { DB } from '../src/db/schema.ts';
import { restoreDetector, type Reading } from '../src/detectors/index.ts';
import { createDetectionRepository, type LogInsert } from '../src/modules/detection/detection.repository.ts';
import { fitPreset, PRESETS } from '../src/modules/models/presets.ts';
import { plainJson, plainJsonParser } from '../src/modules/realtime/plain-json-encoder.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    batch: { type: 'string', default: '2500' },
    clients: { type: 'string' },
  },
});
const N = Math.max(1, Number(values.devices));
const SECONDS = Math.max(1, Number(values.seconds));
const RATE = 10;
const PER_S = N * RATE;

if (values.clients) {
  // Child: one client socket per device, each joining its device's room; counts what arrives.
  const sockets: Socket[] = [];
  let received = 0;
  for (let i = 0; i < N; i++) {
    const s = connect(values.clients, { transports: ['websocket'], query: { device: String(i) } });
    s.on('arduino_data', () => void received++);
    sockets.push(s);
  }
  process.on('message', (m: string) => {
    if (m === 'count') process.send!(received);
    if (m === 'exit') process.exit(0);
  });
} else {
  await main();
}

function cpuPct(c: NodeJS.CpuUsage, seconds: number): number {
  return ((c.user + c.system) / 1e6 / seconds) * 100;
}

async function socketIoFloor(): Promise<{ pct: number; received: number; emitted: number }> {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { transports: ['websocket'], parser: plainJsonParser });
  let connected = 0;
  io.on('connection', (s) => {
    void s.join(`device:${String(s.handshake.query.device)}`);
    connected++;
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  const { port } = httpServer.address() as { port: number };
  const child = fork(new URL(import.meta.url).pathname, ['--clients', `http://127.0.0.1:${port}`, '--devices', String(N)], { execArgv: ['--import', 'tsx'] });
  while (connected < N) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1000));
  let emitted = 0;
  let device = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  // Every 3 ms (the simulator scheduler's turn), the readings due by then, devices round-robin.
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * PER_S);
    for (; emitted < due; emitted++) {
      const d = device++ % N;
      io.to(`device:${d}`).emit(
        'arduino_data',
        plainJson({
          voltage: 2.5 + Math.random() * 0.1,
          timestamp: Date.now() / 1000,
          prediction: { anomaly_score: 0.12, is_anomaly: false, confidence: 0.88, method: 'auto', signal: 'none', expected: 2.51, lower: 2.3, upper: 2.7 },
          ml_status: { ready: true, method: 'auto' },
          guest_mode: false,
          session_id: d + 1,
          device_id: d + 1,
        }),
      );
    }
  }, 3);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  clearInterval(timer);
  const pct = cpuPct(process.cpuUsage(c0), (performance.now() - t0) / 1000);
  await new Promise((r) => setTimeout(r, 500));
  const received = await new Promise<number>((r) => {
    child.once('message', (m) => r(Number(m)));
    child.send('count');
  });
  child.send('exit');
  await io.close();
  return { pct, received, emitted };
}

async function sqliteFloor(batch: number): Promise<{ usPerRow: number; pct: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-floor-'));
  const sqlite = new SQLite(path.join(dir, 'floor.sqlite'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrateToLatest({ db, dialect: 'sqlite', ping: async () => 0, close: async () => undefined });
    const now = new Date().toISOString().replace('T', ' ').slice(0, 23);
    await db.insertInto('users').values({ id: 1, username: 'floor', username_key: 'floor', email: 'floor@bench.test', password_hash: 'x', created_at: now, updated_at: now }).execute();
    for (let i = 1; i <= N; i++) {
      await db.insertInto('detection_sessions').values({ id: i, user_id: 1, status: 'running', threshold: 0.5, started_at: now, created_at: now, total_predictions: 0, anomaly_count: 0 }).execute();
    }
    // The log thread's connection checks foreign keys, as here.
    sqlite.pragma('foreign_keys = ON');
    const repo = createDetectionRepository(db);
    const seqs = new Array<number>(N + 1).fill(0);
    const t0 = Date.now();
    let next = 0;
    const rowsOf = (n: number): LogInsert[] => {
      const rows: LogInsert[] = [];
      for (let k = 0; k < n; k++) {
        const s = 1 + (next++ % N);
        const seq = ++seqs[s]!;
        const ts = new Date(t0 + seq * 100).toISOString().replace('T', ' ').slice(0, 23);
        rows.push({ session_id: s, seq, user_id: 1, model_id: null, timestamp: ts, value: 2.5 + Math.random() * 0.1, anomaly_score: 0.1, is_anomaly: 0, confidence: 0.9, explanation: '{"signal":"none"}', created_at: ts });
      }
      return rows;
    };
    const total = PER_S * SECONDS;
    let cpu = 0;
    for (let n = 0; n < total; n += batch) {
      const rows = rowsOf(batch);
      const c0 = process.cpuUsage();
      await repo.insertLogs(rows, { fresh: true });
      const c = process.cpuUsage(c0);
      cpu += c.user + c.system;
    }
    const usPerRow = cpu / total;
    return { usPerRow, pct: (usPerRow * PER_S) / 1e4 };
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function detectorFloor(): Promise<{ usPerReading: number; pct: number }> {
  const spec = PRESETS[0]!;
  const { artifact } = await fitPreset(spec);
  const text = JSON.stringify(artifact);
  const trace = generateTrace({ seed: 2, durationS: 3000, normalS: 300, events: 10 }).readings;
  const live = Array.from({ length: N }, () => restoreDetector(JSON.parse(text) as typeof artifact));
  for (const d of live) for (let i = 0; i < 600; i++) d.score(trace[i] as Reading);
  const rounds = Math.max(20, Math.floor((PER_S * SECONDS) / N / 4));
  const t0 = performance.now();
  for (let k = 0; k < rounds; k++) {
    const r = trace[600 + (k % (trace.length - 600))] as Reading;
    for (const d of live) d.score(r);
  }
  const usPerReading = ((performance.now() - t0) * 1000) / (rounds * N);
  return { usPerReading, pct: (usPerReading * PER_S) / 1e4 };
}

async function main() {
  const batch = Math.max(1, Number(values.batch));
  process.stderr.write(`Socket.IO: ${N} client sockets, ${PER_S} events/s for ${SECONDS} s...\n`);
  const sio = await socketIoFloor();
  process.stderr.write(`SQLite log rows: ${PER_S * SECONDS} rows in ${batch}-row transactions over ${N} sessions...\n`);
  const lite = await sqliteFloor(batch);
  process.stderr.write(`detector: the default preset, ${N} live instances...\n`);
  const det = await detectorFloor();
  const sum = sio.pct + lite.pct + det.pct;
  console.log(`\nreading-path floor: ${N} devices x ${RATE} Hz (${PER_S} readings/s), each part alone, ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, Node ${process.version}\n`);
  console.log('| part | cost | % of one core at this rate |');
  console.log('|---|---|---|');
  console.log(`| Socket.IO: one \`arduino_data\` per reading to its device's socket (${sio.received} of ${sio.emitted} received) | ${((sio.pct * 1e4) / PER_S).toFixed(1)} µs per event | ${sio.pct.toFixed(1)} % |`);
  console.log(`| SQLite: one log row per reading (${batch}-row transactions) | ${lite.usPerRow.toFixed(1)} µs per row | ${lite.pct.toFixed(1)} % |`);
  console.log(`| detector: the default preset, ${N} live instances | ${det.usPerReading.toFixed(1)} µs per reading | ${det.pct.toFixed(1)} % |`);
  console.log(`| sum (issue 15's target for the whole server: 35 %) | | ${sum.toFixed(1)} % |`);
  process.exit(0);
}
