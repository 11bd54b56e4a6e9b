/**
 * Recording uploads and reads against the real app, and what they cost the event loop that also
 * serves live detection sessions.
 *
 *   npm run bench:recordings [-- --dialect sqlite|mysql --runs 3 --label]
 *
 * The app runs on this process's main thread (composition root `src/app.ts`), so
 * `monitorEventLoopDelay` watches the server's own event loop; the HTTP client runs in a worker
 * thread, so its work (multipart encoding, reading a 25 MB export) is not counted against the
 * server. A seeded 10 Hz CSV as large as RECORDING_MAX_BYTES allows (20 MiB by default: about
 * 650,000 rows) is built before anything is measured, then each run uploads it over real HTTP
 * (multipart), GETs it (the 500-point chart series) and exports it. Per operation: wall time, and
 * the server event loop's max and p99 delay while it ran.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createApp } from '../src/app.ts';
import { freshDatabase } from './support/fresh-database.ts';
import { loadConfig } from '../src/config/index.ts';
import { Rng } from '../src/detectors/random.ts';
import { createLogger } from '../src/logger.ts';
import { createTokenService } from '../src/modules/auth/tokens.ts';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    runs: { type: 'string', default: '3' },
    bytes: { type: 'string', default: String(20 * 1024 * 1024) },
    label: { type: 'boolean', default: false },
    'mysql-url': { type: 'string', default: process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306' },
  },
});
const RUNS = Math.max(1, Number(values.runs));
const MAX_BYTES = Math.max(1024, Number(values.bytes));

/** A `timestamp,value[,label]` CSV of a 10 Hz 10-bit ADC-like signal, as close to `bytes` as whole rows allow. */
function buildCsv(bytes: number, label: boolean): { csv: Uint8Array; rows: number } {
  const rng = new Rng(7);
  const header = label ? 'timestamp,value,label\n' : 'timestamp,value\n';
  const parts: string[] = [header];
  let size = header.length;
  let ts = Date.UTC(2024, 0, 1);
  let rows = 0;
  for (;;) {
    const t = ts / 1000;
    const value = Math.round((512 + 80 * Math.sin(t / 30) + 6 * rng.normal()) * 100) / 100;
    const line = label
      ? `${new Date(ts).toISOString()},${value},${rows % 5000 < 20 ? 1 : 0}\n`
      : `${new Date(ts).toISOString()},${value}\n`;
    if (size + line.length > bytes) break;
    parts.push(line);
    size += line.length;
    ts += 100;
    rows++;
  }
  return { csv: new TextEncoder().encode(parts.join('')), rows };
}


interface Measured<T> {
  ms: number;
  loopMaxMs: number;
  loopP99Ms: number;
  value: T;
}

/** Runs `op` while watching the event loop (1 ms resolution). */
async function measure<T>(op: () => Promise<T>): Promise<Measured<T>> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const value = await op();
  const ms = performance.now() - t0;
  // A stall is recorded when the histogram's timer next fires: let it, before stopping.
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  return { ms, loopMaxMs: h.max / 1e6, loopP99Ms: h.percentile(99) / 1e6, value };
}

/** The HTTP client, in its own thread: plain JavaScript, answers each request with its result. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { baseUrl, token, files } = workerData;
const auth = { authorization: 'Bearer ' + token };
const blobs = files.map((f) => new Blob([f], { type: 'text/csv' }));
parentPort.on('message', async ({ seq, op, id, file }) => {
  try {
    let result;
    if (op === 'upload') {
      const form = new FormData();
      form.append('name', 'bench');
      form.append('file', blobs[file], 'bench.csv');
      const res = await fetch(baseUrl + '/recordings/upload', { method: 'POST', body: form, headers: auth });
      const body = await res.json();
      if (res.status !== 201) throw new Error('upload answered ' + res.status + ': ' + JSON.stringify(body));
      result = { id: body.id, count: body.sample_count };
    } else if (op === 'get') {
      const res = await fetch(baseUrl + '/recordings/' + id, { headers: auth });
      const body = await res.json();
      if (res.status !== 200) throw new Error('GET answered ' + res.status);
      result = { count: body.series.length };
    } else {
      const res = await fetch(baseUrl + '/recordings/' + id + '/export', { headers: auth });
      const size = (await res.arrayBuffer()).byteLength;
      if (res.status !== 200) throw new Error('export answered ' + res.status);
      result = { count: size };
    }
    parentPort.postMessage({ seq, result });
  } catch (err) {
    parentPort.postMessage({ seq, error: String(err && err.stack || err) });
  }
});
`;

const { csv, rows } = buildCsv(MAX_BYTES, values.label!);
const csvBytes = csv.byteLength;
const files = [buildCsv(1024 * 1024, values.label!).csv, csv];

const db = await freshDatabase(values.dialect!, values['mysql-url']!, 'vigil-bench-rec-');
const config = loadConfig({
  dotenv: false,
  env: {
    DATABASE_URL: db.url,
    DATA_DIR: db.dataDir,
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
    RECORDING_MAX_BYTES: String(MAX_BYTES),
  },
});
const app = await createApp({ config, logger: createLogger(config.log) });
const baseUrl = await app.listen(0, '127.0.0.1');
let client: Worker | undefined;
try {
  // The user is inserted directly: the benchmark is about recordings, not argon2.
  const now = new Date().toISOString().replace('T', ' ').slice(0, 23);
  const ins = await app.database.db
    .insertInto('users')
    .values({
      username: 'bench',
      username_key: 'bench',
      email: 'bench@bench.test',
      password_hash: 'x',
      created_at: now,
      updated_at: now,
    })
    .executeTakeFirstOrThrow();
  const tokens = createTokenService({ secret: config.jwt.secret, accessTtlSeconds: 3600 });
  const token = (await tokens.signAccess({ userId: Number(ins.insertId), username: 'bench' })).token;
  client = new Worker(CLIENT, {
    eval: true,
    workerData: { baseUrl, token, files },
    transferList: files.map((f) => f.buffer as ArrayBuffer),
  });
  const waiting = new Map<
    number,
    { resolve: (r: { id: number; count: number }) => void; reject: (e: Error) => void }
  >();
  client.on('message', (m: { seq: number; result?: { id: number; count: number }; error?: string }) => {
    const w = waiting.get(m.seq);
    waiting.delete(m.seq);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.result!);
  });
  let seq = 0;
  const ask = (msg: { op: 'upload'; file: number } | { op: 'get' | 'export'; id: number }) =>
    new Promise<{ id: number; count: number }>((resolve, reject) => {
      waiting.set(++seq, { resolve, reject });
      client!.postMessage({ seq, ...msg });
    });
  const upload = (file: number) => ask({ op: 'upload', file });
  const get = async (id: number) => (await ask({ op: 'get', id })).count;
  const exportCsv = async (id: number) => (await ask({ op: 'export', id })).count;

  // Warm-up (JIT, and any worker threads the app starts on demand), then an idle baseline.
  const warm = await upload(0);
  await get(warm.id);
  await exportCsv(warm.id);
  // The benchmark's own garbage (building the CSV) is collected now, not during a measurement.
  (globalThis as { gc?: () => void }).gc?.();
  const idle = await measure(() => new Promise((r) => setTimeout(r, 1000)));

  const f = (x: number) => x.toFixed(1);
  console.log(
    `\nrecordings benchmark: ${rows.toLocaleString('en')} rows, ${(csvBytes / 2 ** 20).toFixed(1)} MiB CSV${values.label ? ' with a label column' : ''}, ${values.dialect}, ${os.cpus().length} CPUs, Node ${process.version}\n`,
  );
  console.log('| run | operation | wall ms | event loop max ms | event loop p99 ms |');
  console.log('|---|---|---|---|---|');
  console.log(`| – | idle 1 s | – | ${f(idle.loopMaxMs)} | ${f(idle.loopP99Ms)} |`);
  const worst = { upload: 0, get: 0, export: 0 };
  for (let run = 1; run <= RUNS; run++) {
    const up = await measure(() => upload(1));
    if (up.value.count !== rows) throw new Error(`stored ${up.value.count} of ${rows} rows`);
    const one = await measure(() => get(up.value.id));
    const ex = await measure(() => exportCsv(up.value.id));
    console.log(
      `| ${run} | POST /recordings/upload | ${Math.round(up.ms)} | ${f(up.loopMaxMs)} | ${f(up.loopP99Ms)} |`,
    );
    console.log(
      `| ${run} | GET /recordings/:id (${one.value} points) | ${Math.round(one.ms)} | ${f(one.loopMaxMs)} | ${f(one.loopP99Ms)} |`,
    );
    console.log(
      `| ${run} | GET /recordings/:id/export | ${Math.round(ex.ms)} | ${f(ex.loopMaxMs)} | ${f(ex.loopP99Ms)} |`,
    );
    worst.upload = Math.max(worst.upload, up.loopMaxMs);
    worst.get = Math.max(worst.get, one.loopMaxMs);
    worst.export = Math.max(worst.export, ex.loopMaxMs);
  }
  console.log(
    `\nworst event-loop stall: upload ${f(worst.upload)} ms, GET ${f(worst.get)} ms, export ${f(worst.export)} ms`,
  );
  const { worker, inline } = app.services.recordingSeries.counts;
  console.log(`recordings series tasks: ${worker} in the worker thread, ${inline} inline`);
} finally {
  await client?.terminate();
  await app.stop();
  await db.drop();
}
