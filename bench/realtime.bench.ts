/**
 * Real-time pipeline benchmark: N devices at 10 Hz, each with a live logged detection session
 * and a Socket.IO subscriber, over the in-process simulator and over MQTT, on SQLite and MariaDB.
 *
 *   npm run bench:realtime [-- --devices 1000 --seconds 20 --dialects sqlite,mysql --sources simulator,mqtt --profile DIR --alloc-profile DIR --alarms 0.1 --mqtt-qos 1 --mqtt-connections N --model preset|trained --sqlite-thread true|false]
 *
 * Reports sustained readings/s scored, end-to-end latency seen by the clients (from the reading's
 * creation — the simulator's due time or the MQTT publisher's clock — to the client's receipt),
 * latency from arrival to the `arduino_data` emit (server side), server CPU (% of one core, this
 * process alone: the clients and the MQTT publisher run in their own processes), the server's
 * event-loop delay (`monitorEventLoopDelay`) and memory, and checks that every scored reading
 * became exactly one log row. `--alloc-profile DIR` writes a sampling heap profile of each measured
 * window (`.heapprofile`, collected objects included) and prints the top allocation sites in bytes per
 * scored reading. `--profile DIR` writes a CPU profile of each measured window
 * (`.cpuprofile`, open in Chrome DevTools) and prints its top functions by self time.
 * `--model trained` runs every session on its user's own model of the default kind (`auto`, fitted
 * on 8 minutes of 10 Hz simulator data and stored per user as training stores it) instead of the
 * default preset.
 * `--alarms SHARE` measures three more windows right after the first, on the same sessions, in
 * which that share of the devices produces anomalies (a 1 V level shift for one second every
 * five): with the alarm service detached (the reading path as it was before alarms: anomalies,
 * `anomaly_alert`, logs), with it attached, so alarms open, update and resolve
 * (ALARM_RESOLVE_AFTER=2), and detached again (the two detached windows bracket the attached one:
 * the shared machine's state drifts). Issue 13 wants the reading path's p99 with alarms within
 * 10 % of the same anomalies without.
 *
 * `--processes 2` (issue 15's headroom with two processes behind Redis): a second Vigil process
 * (`bench/realtime-server.ts`) on the same database and Redis (`--redis-url`, a fresh key prefix)
 * runs the second half of the sessions; each client connects to the process running its session.
 * Server CPU is then the sum of both processes (each shown), latencies and event-loop delay the
 * worse of the two. Not combined with `--alarms` or `--retention-backlog`.
 *
 * `--retention-backlog ROWS` (decision 0016, "the live path's p99 must not move while retention
 * runs"): before the sessions start, ROWS log rows 60 days old are written into old sessions (in
 * SQL, one anomaly per 1,000 rows); after the first window a second one is measured while the
 * retention job deletes that backlog, and a third after it is stopped. `--retention-mode fixed`
 * runs the job as it was before its gentle mode (RETENTION_BATCH rows, 20 ms apart).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createApp } from '../src/app.ts';
import { freshDatabase } from './support/fresh-database.ts';
import { loopDelay } from './support/loop-delay.ts';
import { summariseAllocations, summariseProfile } from './support/profile-summary.ts';
import { loadConfig } from '../src/config/index.ts';
import { createLogger } from '../src/logger.ts';
import { createTokenService } from '../src/modules/auth/tokens.ts';
import { mqttTopic } from '../src/modules/devices/sources/mqtt-connection.ts';
import { createRetentionRepository } from '../src/modules/retention/retention.repository.ts';
import { createRetention } from '../src/modules/retention/retention.service.ts';
import { systemClock } from '../src/lib/clock.ts';
import { createSimulatorSignal, type SimulatorSource } from '../src/modules/devices/sources/simulator.source.ts';
import { createDetector } from '../src/detectors/index.ts';

/** The Node flag `npm start`, the Docker image and the systemd unit give the server (a 64 MB young generation). */
const SERVER_NODE_FLAG = '--max-semi-space-size=64';
if (!process.execArgv.includes(SERVER_NODE_FLAG)) {
  process.stderr.write(`warning: this process runs without ${SERVER_NODE_FLAG}, which the server gets from \`npm start\`; run \`npm run bench:realtime\` to measure what users run\n`);
}

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    dialects: { type: 'string', default: 'sqlite,mysql' },
    sources: { type: 'string', default: 'simulator,mqtt' },
    'mysql-url': { type: 'string', default: process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306' },
    'mqtt-url': { type: 'string', default: process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883' },
    'rate-hz': { type: 'string', default: '10' },
    profile: { type: 'string' },
    // A sampling heap profile of each measured window (every allocation, collected ones included).
    'alloc-profile': { type: 'string' },
    top: { type: 'string', default: '15' },
    // The default path journals every log row (LOG_JOURNAL); `--journal false` measures without it.
    journal: { type: 'string', default: 'true' },
    // SQLite: SQLITE_LOG_THREAD of the server; unset, the server's default (the thread, decision 0015).
    'sqlite-thread': { type: 'string' },
    // Share of devices (0–1) that produce anomalies in a second measured window (alarms firing).
    alarms: { type: 'string' },
    'retention-backlog': { type: 'string', default: '0' },
    // gentle: the server's own job; fixed: batches of RETENTION_BATCH, 20 ms apart (before gentle mode).
    'retention-mode': { type: 'string', default: 'gentle' },
    // QoS the MQTT publisher uses: 1 exercises the acknowledgement path (PUBACK once journaled).
    'mqtt-qos': { type: 'string', default: '1' },
    // preset: sessions use the default preset; trained: each user gets a default-kind (auto) model
    // fitted on 8 minutes of 10 Hz simulator data (stored per user, as training stores it).
    model: { type: 'string', default: 'preset' },
    // MQTT_CONNECTIONS of the server (default: the server's default).
    'mqtt-connections': { type: 'string' },
    // 2: a second server process behind Redis runs half of the sessions.
    processes: { type: 'string', default: '1' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const N = Number(values.devices);
if (values.model !== 'preset' && values.model !== 'trained') throw new Error('--model must be preset or trained');
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const RATE = Number(values['rate-hz']);
const BACKLOG = Number(values['retention-backlog']);
const ALARM_SHARE = values.alarms !== undefined ? Number(values.alarms) : undefined;
const PROCESSES = Number(values.processes);
if (PROCESSES !== 1 && PROCESSES !== 2) throw new Error('--processes must be 1 or 2');
if (PROCESSES === 2 && (ALARM_SHARE !== undefined || BACKLOG > 0)) throw new Error('--processes 2 is not combined with --alarms or --retention-backlog');
/** Each anomalous device shifts its level by 1 V for one second in every such period (staggered). */
const ALARM_PERIOD_MS = 5000;

interface Result {
  dialect: string;
  source: string;
  /** `off`, or the share of devices producing anomalies and the alarms opened / updated / resolved in the window. */
  alarms: string;
  /** '-' (not running), or what the retention job deleted during the window. */
  retention: string;
  devices: number;
  offered: number;
  published_per_s: number | null;
  scored_per_s: number;
  server_p50_ms: number;
  server_p99_ms: number;
  /** From the reading's creation (its timestamp) to the server's emit: arrival lag, scheduling and scoring. */
  created_to_emit_p99_ms: number;
  client_received_per_s: number;
  client_p50_ms: number;
  client_p99_ms: number;
  server_cpu_pct: number;
  /** With two processes: each one's share, e.g. `41 + 39`. */
  server_cpu_detail: string;
  loop_p50_ms: number;
  loop_p99_ms: number;
  loop_max_ms: number;
  rss_mb: number;
  heap_mb: number;
  predictions: number;
  log_rows: number;
  lost_rows: number;
  dropped_by_rate_limit: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


function ask<T>(child: ReturnType<typeof fork>, msg: object, answer: string): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench client exited (${code}) while waiting for ${answer}`)));
    const l = (m: { type: string }) => {
      if (m.type !== answer) return;
      child.off('message', l);
      resolve(m as T);
    };
    child.on('message', l);
    child.send(msg);
  });
}

async function scenario(dialect: string, source: string): Promise<Result[]> {
  const db = await freshDatabase(dialect, values['mysql-url']!);
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: db.dataDir,
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
    SIMULATOR_RATE_HZ: String(RATE),
    MQTT_URL: values['mqtt-url']!,
    ...(values['mqtt-connections'] !== undefined && { MQTT_CONNECTIONS: values['mqtt-connections'] }),
    DB_POOL_SIZE: '10',
    ACCESS_TOKEN_TTL: '3600',
    LOG_JOURNAL: values.journal!,
    ...(values['sqlite-thread'] !== undefined && { SQLITE_LOG_THREAD: values['sqlite-thread'] }),
    // Retention runs only when the benchmark starts it (--retention-backlog).
    RETENTION_INTERVAL: '0',
    // Alarms resolve after 2 quiet seconds, so a measured window sees them open, update and resolve.
    ...(ALARM_SHARE !== undefined && { ALARM_RESOLVE_AFTER: '2' }),
    ...(PROCESSES === 2 && { REDIS_URL: values['redis-url']!, REDIS_KEY_PREFIX: `vigil-bench-${randomBytes(4).toString('hex')}` }),
  };
  const config = loadConfig({ dotenv: false, env });
  const app = await createApp({ config, logger: createLogger(config.log) });
  const baseUrl = await app.listen(0, '127.0.0.1');
  // The second process starts after the first, which installed the preset models.
  const second = PROCESSES === 2 ? fork(new URL('./realtime-server.ts', import.meta.url), { execArgv: [SERVER_NODE_FLAG, '--import', 'tsx'] }) : undefined;
  const secondUrl = second ? (await ask<{ baseUrl: string }>(second, { type: 'start', env }, 'started')).baseUrl : undefined;
  /** Users from this index on run their sessions (and connect their clients) on the second process. */
  const split = second ? Math.ceil(N / 2) : N;
  const tokens = createTokenService({ secret: config.jwt.secret, accessTtlSeconds: 3600 });
  const { devices, detection, hub, gateway, logWriter } = app.realtime;
  const now = new Date().toISOString().replace('T', ' ').slice(0, 23);

  const phase = (m: string) => process.stderr.write(`  ${new Date().toISOString().slice(11, 19)} ${m}\n`);
  phase('app started; creating users and devices');
  // Users are inserted directly: hashing 1,000 passwords would only measure argon2.
  const users: Array<{ id: number; token: string; deviceId: number; deviceToken?: string }> = [];
  for (let i = 0; i < N; i++) {
    const username = `bench${i}`;
    const r = await app.database.db
      .insertInto('users')
      .values({ username, username_key: username, email: `${username}@bench.test`, password_hash: 'x', created_at: now, updated_at: now })
      .executeTakeFirstOrThrow();
    const id = Number(r.insertId);
    const dev = await devices.create(id, source === 'mqtt' ? { name: 'mqtt', kind: 'mqtt' } : { name: 'sim', kind: 'simulator', config: { seed: i + 1 } });
    users.push({ id, token: (await tokens.signAccess({ userId: id, username })).token, deviceId: dev.id, ...(dev.token && { deviceToken: dev.token }) });
  }

  const oldSessions = BACKLOG > 0 ? await writeBacklog(app, dialect, users[0]!.id, BACKLOG) : [];

  phase('connecting sockets');
  // Socket clients and the MQTT publisher run in their own processes, so the server's CPU is its own.
  const child = fork(new URL('./realtime-clients.ts', import.meta.url), { execArgv: ['--import', 'tsx'] });
  await ask(child, { type: 'connect', setup: { baseUrl, tokens: users.map((u) => u.token), ...(secondUrl && { baseUrls: users.map((_, i) => (i < split ? baseUrl : secondUrl)) }) } }, 'connected');
  const publisher =
    source === 'mqtt' ? fork(new URL('./realtime-clients.ts', import.meta.url), { execArgv: ['--import', 'tsx'] }) : undefined;
  if (publisher) {
    const devicesForMqtt = users.map((u) => ({ topic: mqttTopic(u.deviceId), token: u.deviceToken! }));
    await ask(publisher, { type: 'connect', setup: { baseUrl, tokens: [], mqtt: { url: values['mqtt-url'], rateHz: RATE, qos: Number(values['mqtt-qos']), devices: devicesForMqtt } } }, 'connected');
  }

  let modelIds: number[] | undefined;
  if (values.model === 'trained') {
    phase('fitting one auto model on 8 minutes of 10 Hz data, stored as each user\'s own model');
    const signal = createSimulatorSignal({ rateHz: RATE, level: 3.3, noise: 0.02, seed: 424_242 });
    const t0 = Date.now() - 8 * 60_000;
    const normal = Array.from({ length: 8 * 60 * RATE }, (_, i) => ({ ts: t0 + (i * 1000) / RATE, value: signal.next() }));
    const detector = createDetector('auto');
    const fitStart = performance.now();
    await detector.fit(normal);
    phase(`fitted in ${Math.round(performance.now() - fitStart)} ms`);
    const artifactText = JSON.stringify(detector.serialize());
    modelIds = [];
    for (const u of users) {
      const m = await app.services.models.storeUserArtifact(u.id, { artifactText, name: 'bench auto', materialType: 'voltage', description: null, origin: 'trained' });
      modelIds.push(m.id);
    }
  }

  phase('starting sessions');
  // In waves of 25: one by one, 1,000 starts (model load, rows, subscriptions) took minutes on a busy machine.
  const onSecond = second
    ? ask(second, { type: 'sessions', sessions: users.slice(split).map((u, k) => ({ userId: u.id, deviceId: u.deviceId, ...(modelIds && { modelId: modelIds[split + k] }) })) }, 'sessions')
    : undefined;
  for (let i = 0; i < split; i += 25) {
    await Promise.all(users.slice(i, Math.min(split, i + 25)).map((u, k) => detection.start({ userId: u.id }, { device_id: u.deviceId, log: true, ...(modelIds && { model_id: modelIds[i + k] }) })));
  }
  await onSecond;
  // MQTT devices start publishing once every session listens (a live stream during 1,000 sequential
  // broker subscriptions delays the SUBACKs behind the readings).
  if (publisher) await ask(publisher, { type: 'publish' }, 'publishing');
  phase('warming up');
  await sleep(WARMUP * 1000);

  const alarmCounts = { opened: 0, updated: 0, resolved: 0 };
  app.bus.on('alarm.opened', () => void alarmCounts.opened++);
  app.bus.on('alarm.updated', () => void alarmCounts.updated++);
  app.bus.on('alarm.resolved', () => void alarmCounts.resolved++);

  /** One measured window: counters, latencies, CPU, event-loop delay and (with --profile) a CPU profile. */
  async function measure(label: string) {
    const before = hub.stats();
    const alarms0 = { ...alarmCounts };
    gateway.resetLatency();
    await ask(child, { type: 'reset' }, 'reset');
    if (publisher) await ask(publisher, { type: 'reset' }, 'reset');
    if (second) await ask(second, { type: 'measure' }, 'measure');
    const profiler = values.profile ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    /** The measured window's profile file name (without extension). */
    const windowName = `realtime-${dialect}-${source}-${N}${label === 'off' ? '' : `-${label.replace(/[^a-z0-9]+/gi, '-')}`}`;
    const heapProfiler = values['alloc-profile'] ? new Session() : undefined;
    if (heapProfiler) {
      heapProfiler.connect();
      await heapProfiler.post('HeapProfiler.enable');
      // Collected objects too: what the reading path allocates, not only what it keeps.
      await heapProfiler.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
    }
    const scored0 = hub.stats().readings;
    const loopWindow = loopDelay();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const loop = loopWindow.stop();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      mkdirSync(values.profile!, { recursive: true });
      const file = path.join(values.profile!, `${windowName}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      process.stderr.write(`  CPU profile: ${file}\n${summariseProfile(profile, Number(values.top))}\n`);
    }
    if (heapProfiler) {
      const { profile } = await heapProfiler.post('HeapProfiler.stopSampling');
      heapProfiler.disconnect();
      mkdirSync(values['alloc-profile']!, { recursive: true });
      const file = path.join(values['alloc-profile']!, `${windowName}.heapprofile`);
      writeFileSync(file, JSON.stringify(profile));
      process.stderr.write(`  heap profile: ${file}\n${summariseAllocations(profile, hub.stats().readings - scored0, Number(values.top))}\n`);
    }
    const after = hub.stats();
    const lat = gateway.latency();
    const created = gateway.createdLatency();
    // Both asked at once: a client process that lags answers late, and its counts then run long.
    const [client, pub, other] = await Promise.all([
      ask<{ received: number; published: number; p50: number; p99: number }>(child, { type: 'report' }, 'report'),
      publisher ? ask<{ published: number }>(publisher, { type: 'report' }, 'report') : undefined,
      second ? ask<SecondReport>(second, { type: 'report' }, 'report') : undefined,
    ]);
    const mem = process.memoryUsage();
    const scored = after.readings - before.readings + (other?.scored ?? 0);
    const cpuPct = ((cpu.user + cpu.system) / 1e6 / elapsed) * 100;
    const worse = (mine: number, key: 'server_p50_ms' | 'server_p99_ms' | 'created_to_emit_p99_ms' | 'loop_p50_ms' | 'loop_p99_ms' | 'loop_max_ms') => Math.max(mine, other?.[key] ?? 0);
    const fired = { opened: alarmCounts.opened - alarms0.opened, updated: alarmCounts.updated - alarms0.updated, resolved: alarmCounts.resolved - alarms0.resolved };
    return {
      dialect,
      source,
      alarms: label === 'off' ? 'off' : `${label}: ${fired.opened} / ${fired.updated} / ${fired.resolved}`,
      devices: N,
      offered: N * RATE,
      published_per_s: pub ? Math.round(pub.published / elapsed) : null,
      scored_per_s: Math.round(scored / elapsed),
      server_p50_ms: round(worse(lat.p50, 'server_p50_ms')),
      server_p99_ms: round(worse(lat.p99, 'server_p99_ms')),
      created_to_emit_p99_ms: round(worse(created.p99, 'created_to_emit_p99_ms')),
      client_received_per_s: Math.round(client.received / elapsed),
      client_p50_ms: round(client.p50),
      client_p99_ms: round(client.p99),
      server_cpu_pct: Math.round(cpuPct + (other?.cpu_pct ?? 0)),
      server_cpu_detail: other ? ` (${Math.round(cpuPct)} + ${Math.round(other.cpu_pct)})` : '',
      loop_p50_ms: round(worse(loop.p50, 'loop_p50_ms')),
      loop_p99_ms: round(worse(loop.p99, 'loop_p99_ms')),
      loop_max_ms: round(worse(loop.max, 'loop_max_ms')),
      rss_mb: Math.round(mem.rss / 2 ** 20 + (other?.rss_mb ?? 0)),
      heap_mb: Math.round(mem.heapUsed / 2 ** 20 + (other?.heap_mb ?? 0)),
      dropped_by_rate_limit: after.dropped - before.dropped + (other?.dropped ?? 0),
    };
  }

  const windows = [{ ...(await measure('off')), retention: '-' }];
  if (ALARM_SHARE !== undefined) {
    const share = `${Math.round(ALARM_SHARE * 100)} % of devices`;
    phase(`anomalies on ${share}; warming up`);
    const anomalous = users.slice(0, Math.round(ALARM_SHARE * N));
    let injector: NodeJS.Timeout | undefined;
    if (publisher) {
      await ask(publisher, { type: 'anomalies', devices: anomalous.length, periodMs: ALARM_PERIOD_MS }, 'anomalies');
    } else {
      // Each anomalous simulator shifts by 1 V for one second (10 readings) once per period, staggered.
      const t0 = performance.now();
      const due = anomalous.map((_, i) => (i * ALARM_PERIOD_MS) / Math.max(1, anomalous.length));
      injector = setInterval(() => {
        const t = performance.now() - t0;
        anomalous.forEach((u, i) => {
          if (due[i]! > t) return;
          due[i]! += ALARM_PERIOD_MS;
          (hub.source(u.deviceId) as SimulatorSource | undefined)?.inject('level_shift', { magnitude: 1, readings: RATE });
        });
      }, 50);
    }
    const settle = () => sleep(Math.max(WARMUP, 3) * 1000);
    const alarmService = app.services.alarms;
    await alarmService.stop();
    await settle();
    const before = await measure(`${share}, alarms detached`);
    await alarmService.start({ closeOrphans: false });
    await settle();
    const on = await measure(share);
    await alarmService.stop();
    await settle();
    const after = await measure(`${share}, alarms detached (after)`);
    await alarmService.start({ closeOrphans: false });
    for (const w of [before, on, after]) windows.push({ ...w, retention: '-' });
    if (injector) clearInterval(injector);
    const change = (a: number, b: number) => `${a} → ${b} ms (${a > 0 ? `${b >= a ? '+' : ''}${Math.round(((b - a) / a) * 100)} %` : 'n/a'})`;
    const mean = (a: number, b: number) => round((a + b) / 2);
    comparisons.push(
      `  ${dialect} / ${source}: e2e p99 ${change(mean(before.client_p99_ms, after.client_p99_ms), on.client_p99_ms)}, arrival → emit p99 ${change(mean(before.server_p99_ms, after.server_p99_ms), on.server_p99_ms)}, created → emit p99 ${change(mean(before.created_to_emit_p99_ms, after.created_to_emit_p99_ms), on.created_to_emit_p99_ms)}; detached before / after: e2e p99 ${before.client_p99_ms} / ${after.client_p99_ms} ms`,
    );
  }

  if (BACKLOG > 0) {
    phase('measuring again while retention deletes the backlog');
    const backlogRows = async () => Number((await app.database.db.selectFrom('detection_logs').select((eb) => eb.fn.countAll<number>().as('n')).where('session_id', 'in', oldSessions).executeTakeFirstOrThrow()).n);
    const rowsBefore = await backlogRows();
    const t0 = performance.now();
    let finishedAt: number | undefined;
    const job =
      values['retention-mode'] === 'fixed'
        ? createRetention({ repo: createRetentionRepository(app.database.db), clock: systemClock, logger: createLogger(config.log), config: { ...config.retention, batchMs: undefined, pauseMs: 20, maxRunMs: 10 * 60_000 } })
        : app.retention;
    const run = job.runOnce().finally(() => (finishedAt = performance.now()));
    windows.push({ ...(await measure('off')), retention: finishedAt === undefined ? 'running' : `finished after ${((finishedAt - t0) / 1000).toFixed(1)} s` });
    await job.stop();
    const stats = await run;
    const deleted = rowsBefore - (await backlogRows());
    windows[windows.length - 1]!.retention = `${values['retention-mode']}, ${windows[windows.length - 1]!.retention}: ${deleted} rows deleted in ${stats.batches} batches (${Math.round(deleted / SECONDS)}/s)`;
    // A third window without retention brackets the second: the shared machine's state drifts.
    phase('measuring again after retention');
    windows.push({ ...(await measure('off')), retention: '- (after)' });
  }

  phase('measured; stopping');
  await ask(child, { type: 'close' }, 'closed');
  if (publisher) await ask(publisher, { type: 'close' }, 'closed');
  await detection.stopAll('stopped');
  await logWriter.flush();
  if (second) await ask(second, { type: 'stop' }, 'stopped');
  // The backlog's sessions are not the live ones.
  const notOld = oldSessions.length > 0 ? oldSessions : [0];
  const predictions = await app.database.db
    .selectFrom('detection_sessions')
    .select((eb) => eb.fn.sum<number>('total_predictions').as('n'))
    .where('id', 'not in', notOld)
    .executeTakeFirstOrThrow();
  const rows = await app.database.db.selectFrom('detection_logs').select((eb) => eb.fn.countAll<number>().as('n')).where('session_id', 'not in', notOld).executeTakeFirstOrThrow();
  await app.stop();
  await db.drop();
  // Rows are counted over the whole run (both windows).
  return windows.map((w) => ({ ...w, predictions: Number(predictions.n), log_rows: Number(rows.n), lost_rows: Number(predictions.n) - Number(rows.n) }));
}

/**
 * `rows` log rows, 60 days old, spread over sessions of 100,000 rows, written in SQL (a recursive
 * counter) so a backlog of millions takes seconds: normal rows with one anomaly per 1,000.
 */
async function writeBacklog(app: Awaited<ReturnType<typeof createApp>>, dialect: string, userId: number, rows: number): Promise<number[]> {
  process.stderr.write(`  ${new Date().toISOString().slice(11, 19)} writing a backlog of ${rows} old log rows\n`);
  const db = app.database.db;
  const start = Date.now() - 60 * 86_400_000;
  const ids: number[] = [];
  const PER_SESSION = 100_000;
  // MariaDB stops a recursive CTE at max_recursive_iterations (1,000 by default here).
  const CHUNK = dialect === 'sqlite' ? 50_000 : 1000;
  for (let done = 0; done < rows; done += PER_SESSION) {
    const n = Math.min(PER_SESSION, rows - done);
    const t = new Date(start + done * 100).toISOString().replace('T', ' ').slice(0, 23);
    const s = await db
      .insertInto('detection_sessions')
      .values({ user_id: userId, model_id: null, device_id: null, status: 'stopped', threshold: 0.5, started_at: t, ended_at: t, total_predictions: n, anomaly_count: Math.floor(n / 1000), created_at: t })
      .executeTakeFirstOrThrow();
    const id = Number(s.insertId);
    ids.push(id);
    const t0 = (start + done * 100) / 1000;
    for (let lo = 1; lo <= n; lo += CHUNK) {
      const hi = Math.min(n, lo + CHUNK - 1);
      const ts = dialect === 'sqlite' ? sql`strftime('%Y-%m-%d %H:%M:%f', ${t0} + x / 10.0, 'unixepoch')` : sql`from_unixtime(${t0} + x / 10.0)`;
      await sql`insert into detection_logs (session_id, seq, ${sql.ref('timestamp')}, value, anomaly_score, is_anomaly, confidence, ${sql.ref('signal')}, explanation)
        with recursive c(x) as (select ${lo} union all select x + 1 from c where x < ${hi})
        select ${id}, x, ${ts}, 3.3, 0.1, case when x % 1000 = 0 then 1 else 0 end, 0.9, 'normal', case when x % 1000 = 0 then '{}' else null end from c`.execute(db);
    }
  }
  // The bulk insert left a large WAL: checkpoint it now, not at the first commit of a measured window.
  if (dialect === 'sqlite') await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
  return ids;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** What the second process reports for a window (`bench/realtime-server.ts`). */
interface SecondReport {
  scored: number;
  dropped: number;
  cpu_pct: number;
  rss_mb: number;
  heap_mb: number;
  server_p50_ms: number;
  server_p99_ms: number;
  created_to_emit_p99_ms: number;
  loop_p50_ms: number;
  loop_p99_ms: number;
  loop_max_ms: number;
}
/** What the servers above ran with for SQLITE_LOG_THREAD (the flag, or the server's default). */
const config0 = loadConfig({ dotenv: false, env: { DATA_DIR: os.tmpdir(), ...(values['sqlite-thread'] !== undefined && { SQLITE_LOG_THREAD: values['sqlite-thread'] }) } });

const results: Result[] = [];
/** With --alarms: one line per scenario comparing the attached window with the detached ones. */
const comparisons: string[] = [];
for (const dialect of values.dialects!.split(',')) {
  for (const source of values.sources!.split(',')) {
    process.stderr.write(`${dialect} / ${source}: ${N} devices at ${RATE} Hz for ${SECONDS} s…\n`);
    for (const r of await scenario(dialect.trim(), source.trim())) {
      results.push(r);
      process.stderr.write(`${JSON.stringify(r)}\n`);
    }
  }
}
console.log(`\nrealtime benchmark: ${N} devices × ${RATE} Hz, ${PROCESSES === 2 ? 'two server processes behind Redis (half the sessions each; clients on their session\'s process), ' : ''}${values.model === 'trained' ? "each session on its user's own trained auto model" : 'sessions on the default preset'}, ${SECONDS} s measured after ${WARMUP} s warm-up, SQLite log thread ${config0.detection.sqliteLogThread}, young generation ${process.execArgv.includes(SERVER_NODE_FLAG) ? SERVER_NODE_FLAG : 'Node default'}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, Node ${process.version}`);
console.log('targets: e2e p99 < 20 ms, server CPU ≤ 35 % of one core, event-loop delay p99 < 10 ms, 0 lost rows\n');
console.log('| db | source | anomalies: alarms opened / updated / resolved | retention | offered/s | scored/s | e2e p50 / p99 ms | server CPU | event-loop p99 / max ms | arrival → emit p99 ms | created → emit p99 ms | clients recv/s | RSS MB | lost rows |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.dialect} | ${r.source} | ${r.alarms} | ${r.retention} | ${r.offered}${r.published_per_s !== null ? ` (published ${r.published_per_s})` : ''} | ${r.scored_per_s} | ${r.client_p50_ms} / ${r.client_p99_ms} | ${r.server_cpu_pct} %${r.server_cpu_detail} | ${r.loop_p99_ms} / ${r.loop_max_ms} | ${r.server_p99_ms} | ${r.created_to_emit_p99_ms} | ${r.client_received_per_s} | ${r.rss_mb} | ${r.lost_rows} of ${r.predictions} |`,
  );
}
if (comparisons.length > 0) {
  console.log('\nthe same anomalies with the alarm service attached vs detached (mean of the windows before and after; issue 13: within 10 %):');
  for (const line of comparisons) console.log(line);
}
process.exit(results.every((r) => r.lost_rows === 0) ? 0 : 1);
