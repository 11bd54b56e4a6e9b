import { createECDH, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseDotenv } from 'dotenv';

/**
 * Every configuration key Vigil reads, with its default. `.env.example` documents each one.
 * Nothing outside `src/config` reads `process.env`.
 */
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8000 }),
  HOST: Type.String({ default: '0.0.0.0' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^(sqlite:|mysql://)' })),
  DB_HOST: Type.Optional(Type.String({ minLength: 1 })),
  DB_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3306 }),
  DB_USER: Type.String({ default: 'root' }),
  DB_PASSWORD: Type.String({ default: '' }),
  DB_NAME: Type.String({ minLength: 1, default: 'anomaly_detection' }),
  DB_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  JWT_SECRET_KEY: Type.Optional(Type.String({ minLength: 32 })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  ACCESS_TOKEN_TTL: Type.Integer({ minimum: 30, maximum: 30 * 24 * 3600, default: 900 }),
  REFRESH_TOKEN_TTL: Type.Integer({ minimum: 60, maximum: 365 * 24 * 3600, default: 30 * 24 * 3600 }),
  AUTH_RATE_LIMIT_PER_IP: Type.Integer({ minimum: 1, default: 20 }),
  AUTH_RATE_LIMIT_PER_USERNAME: Type.Integer({ minimum: 1, default: 10 }),
  AUTH_RATE_LIMIT_WINDOW: Type.Integer({ minimum: 1, default: 60 }),
  CORS_ORIGINS: Type.String({ default: '*' }),
  BODY_LIMIT: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
  TRUST_PROXY: Type.Boolean({ default: false }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  LOG_PRETTY: Type.Optional(Type.Boolean()),
  SHUTDOWN_TIMEOUT: Type.Integer({ minimum: 1, default: 10 }),
  SERIAL_PORT: Type.Optional(Type.String({ minLength: 1 })),
  BAUD_RATE: Type.Integer({ minimum: 300, maximum: 4_000_000, default: 9600 }),
  MQTT_URL: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?|tcp)://' })),
  MQTT_TRUST_BROKER_AUTH: Type.Boolean({ default: false }),
  SIMULATOR_RATE_HZ: Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 10 }),
  DEVICE_RATE_LIMIT: Type.Integer({ minimum: 1, default: 200 }),
  DEVICE_RATE_BURST: Type.Integer({ minimum: 1, default: 1000 }),
  HTTP_BATCH_MAX: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
  LOG_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
  LOG_FLUSH_MS: Type.Integer({ minimum: 1, default: 250 }),
  LOG_BUFFER_MAX: Type.Integer({ minimum: 100, default: 500_000 }),
  LOG_JOURNAL: Type.Boolean({ default: true }),
  LOG_JOURNAL_FSYNC_MS: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
  SQLITE_LOG_THREAD: Type.Boolean({ default: true }),
  LOG_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 36_500, default: 30 }),
  ROLLUP_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 36_500, default: 400 }),
  RETENTION_INTERVAL: Type.Integer({ minimum: 0, maximum: 7 * 86_400, default: 3600 }),
  RETENTION_BATCH: Type.Integer({ minimum: 100, maximum: 100_000, default: 5000 }),
  RETENTION_BATCH_MS: Type.Integer({ minimum: 1, maximum: 10_000, default: 5 }),
  RETENTION_CONTEXT: Type.Integer({ minimum: 0, maximum: 100_000, default: 50 }),
  ALERT_INTERVAL: Type.Number({ minimum: 0, default: 5 }),
  SESSION_LEASE_MS: Type.Integer({ minimum: 300, maximum: 600_000, default: 5000 }),
  SESSION_CHECKPOINT_MS: Type.Integer({ minimum: 300, maximum: 3_600_000, default: 30_000 }),
  READINGS_STREAM_MAXLEN: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 100_000 }),
  READINGS_STREAM_RETENTION_MS: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 120_000 }),
  TRAINING_WORKERS: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  TRAINING_JOBS_PER_USER: Type.Integer({ minimum: 1, maximum: 100, default: 2 }),
  TRAINING_QUEUE_NAME: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' })),
  REDIS_KEY_PREFIX: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', default: 'vigil' }),
  MQTT_CLIENT_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 60, pattern: '^[A-Za-z0-9_.-]+$' })),
  MQTT_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 64, default: 32 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  RECORDING_MAX_BYTES: Type.Integer({ minimum: 1024, default: 20 * 1024 * 1024 }),
  RECORDING_MAX_SAMPLES: Type.Integer({ minimum: 100, default: 1_000_000 }),
  MODEL_UPLOAD_MAX_BYTES: Type.Integer({ minimum: 1024, default: 10 * 1024 * 1024 }),
  ALARM_RESOLVE_AFTER: Type.Number({ minimum: 1, maximum: 86_400, default: 60 }),
  ALARM_TICK_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  SMTP_FROM: Type.String({ minLength: 3, default: 'Vigil <vigil@localhost>' }),
  NOTIFY_ALLOW_HOSTS: Type.String({ default: '' }),
  NOTIFY_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 20, default: 4 }),
  NOTIFY_RETRY_MS: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 2000 }),
  NOTIFY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
  NOTIFY_USER_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 10_000, default: 30 }),
  NOTIFY_CHANNEL_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 10_000, default: 10 }),
  NOTIFY_QUEUE_NAME: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$', default: 'vigil-notify' }),
  MQTT_OUT_PREFIX: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^#+]+$', default: 'vigil' }),
  MQTT_DISCOVERY_PREFIX: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^#+]+$', default: 'homeassistant' }),
  MQTT_STATE_INTERVAL_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 1000 }),
  VAPID_PUBLIC_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{87}$' })),
  VAPID_PRIVATE_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })),
  VAPID_SUBJECT: Type.String({ pattern: '^(mailto:[^@\\s]+@[^@\\s]+|https://\\S+)$', default: 'mailto:vigil@localhost' }),
});

type Env = Static<typeof EnvSchema>;

export type DatabaseConfig =
  | { dialect: 'sqlite'; file: string }
  | { dialect: 'mysql'; url: string; host: string; port: number; user: string; password: string; database: string; poolSize: number };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  database: DatabaseConfig;
  jwt: { secret: string; secretSource: 'env' | 'file'; accessTtlSeconds: number; refreshTtlSeconds: number };
  authRateLimit: { perIp: number; perUsername: number; windowSeconds: number };
  corsOrigins: string[] | '*';
  bodyLimit: number;
  trustProxy: boolean;
  log: { level: Env['LOG_LEVEL']; pretty: boolean };
  shutdownTimeoutSeconds: number;
  serial: { port: string | undefined; baudRate: number };
  devices: {
    mqttUrl: string | undefined;
    /** Set: a stable client id with a persistent broker session (the broker keeps QoS 1 messages while Vigil is away). */
    mqttClientId: string | undefined;
    /** MQTT clients the devices' topics are spread over (each acknowledges one message at a time). */
    mqttConnections: number;
    /** Trust Mosquitto's own ACLs instead of a token in each payload. */
    mqttTrustBrokerAuth: boolean;
    simulatorRateHz: number;
    /** Per-device token bucket: sustained readings/s and burst. */
    rateLimit: number;
    rateBurst: number;
    httpBatchMax: number;
  };
  detection: {
    logBatchSize: number;
    logFlushMs: number;
    /** Rows kept in memory while the database is unreachable, before the oldest are dropped. */
    logBufferMax: number;
    /** Write-ahead journal of log rows under `DATA_DIR/journal` (off: a crash loses the unwritten rows). */
    journal: { enabled: boolean; dir: string; fsyncMs: number };
    /** SQLite (file databases): detection-log inserts run in a worker thread on a second connection (off by default: it did not pay in both measured pairs, decision 0015). */
    sqliteLogThread: boolean;
    /** Seconds between two `anomaly_alert`s of one session. */
    alertIntervalSeconds: number;
    /** With REDIS_URL: a session whose process stops renewing its lease this long is taken over. */
    sessionLeaseMs: number;
    /** With REDIS_URL: how often each live session's detector checkpoint is written (staggered, not all at once). */
    sessionCheckpointMs: number;
    /** With REDIS_URL: bounds of each HTTP device's Redis Stream of batches (entries, age in ms). */
    readingsStream: { maxLen: number; retentionMs: number };
  };
  /** Bounded storage (decision 0016): how long raw logs and rollups are kept, and the pruning job. */
  retention: {
    logDays: number;
    rollupDays: number;
    /** Seconds between two retention runs; 0 = no timer (run `vigil retention` instead). */
    intervalSeconds: number;
    batchRows: number;
    /** Target duration of one delete on the server's timer (the batch size adapts to it). */
    batchMs: number;
    /** Readings kept on each side of an anomalous reading. */
    contextReadings: number;
  };
  training: { workers: number; jobsPerUser: number; queueName: string; redisUrl: string | undefined };
  /** Prefix of every Redis key, channel and stream (so deployments can share one Redis). */
  redisKeyPrefix: string;
  limits: { recordingBytes: number; recordingSamples: number; modelUploadBytes: number };
  alarms: {
    /** Default quiet period (s) after which an alarm resolves by itself (users can override it in their rules). */
    resolveAfterSeconds: number;
    /** How often alarm changes are written and pushed, and quiet alarms resolved. */
    tickMs: number;
  };
  /**
   * Prometheus `/metrics`: off unless a bearer token is set (served on the main port) or a port of
   * its own is given (its own listener, also token-protected when the token is set).
   */
  metrics: { token: string | undefined; port: number | undefined };
  notifications: {
    smtpUrl: string | undefined;
    smtpFrom: string;
    /** Host names, addresses and CIDRs webhooks may reach although private/loopback/link-local. */
    allowHosts: string[];
    attempts: number;
    retryMs: number;
    timeoutMs: number;
    perUserPerMinute: number;
    perChannelPerMinute: number;
    queueName: string;
    mqttPrefix: string;
    discoveryPrefix: string;
    stateIntervalMs: number;
    /** Web Push (VAPID): from VAPID_* or, unset, a key pair generated once under DATA_DIR. */
    webPush: { publicKey: string; privateKey: string; subject: string; source: 'env' | 'file' };
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Variables to read; defaults to `.env` (if present) under `process.env`. */
  env?: Record<string, string | undefined>;
  /** Read `.env` from the working directory (default true when `env` is not given). */
  dotenv?: boolean;
  /** Per-key overrides applied after the environment (used by the CLI and tests). */
  overrides?: Partial<Record<keyof Env, string | number | boolean>>;
  isTty?: boolean;
}

function readEnv(options: LoadConfigOptions): Record<string, unknown> {
  const base: Record<string, unknown> = {};
  if (options.env === undefined && options.dotenv !== false && existsSync('.env')) {
    Object.assign(base, parseDotenv(readFileSync('.env')));
  }
  const env = options.env ?? process.env;
  for (const key of Object.keys(EnvSchema.properties)) {
    const v = env[key];
    if (v !== undefined && v !== '') base[key] = v;
    else if (v === '' && key === 'DB_PASSWORD') base[key] = v;
  }
  for (const [k, v] of Object.entries(options.overrides ?? {})) if (v !== undefined) base[k] = v;
  return base;
}

function databaseFrom(env: Env, dataDir: string, problems: string[]): DatabaseConfig {
  const url = env.DATABASE_URL ?? (env.DB_HOST ? mysqlUrl(env) : `sqlite:${path.join(dataDir, 'vigil.sqlite')}`);
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) problems.push('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./data/vigil.sqlite');
    return { dialect: 'sqlite', file: file === ':memory:' ? file : path.resolve(file) };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push('DATABASE_URL: not a valid mysql:// URL');
    return { dialect: 'sqlite', file: ':memory:' };
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) problems.push('DATABASE_URL: the mysql URL must name a database, e.g. mysql://root@127.0.0.1:3306/vigil');
  return {
    dialect: 'mysql',
    url,
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    poolSize: env.DB_POOL_SIZE,
  };
}

function mysqlUrl(env: Env): string {
  const auth = `${encodeURIComponent(env.DB_USER)}${env.DB_PASSWORD ? `:${encodeURIComponent(env.DB_PASSWORD)}` : ''}`;
  return `mysql://${auth}@${env.DB_HOST}:${env.DB_PORT}/${encodeURIComponent(env.DB_NAME)}`;
}

/** Reads the JWT secret from DATA_DIR, creating a strong random one on first start. */
function jwtSecretFromFile(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return secret;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/** The uncompressed P-256 public key (base64url) of a VAPID private key, or undefined if it is not one. */
function vapidPublicOf(privateKey: string): string | undefined {
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
    return ecdh.getPublicKey().toString('base64url');
  } catch {
    return undefined;
  }
}

/**
 * A VAPID private key as the 32 bytes RFC 8292 and `web-push` require. Node's ECDH gives the key
 * as an integer without leading zero bytes, so about one key in 256 came out 31 bytes long, and
 * every push with it failed (`web-push`: "should be 32 bytes long").
 */
function vapidPrivate32(privateKey: string): string {
  const raw = Buffer.from(privateKey, 'base64url');
  if (raw.length >= 32) return privateKey;
  return Buffer.concat([Buffer.alloc(32 - raw.length), raw]).toString('base64url');
}

/** Reads the VAPID key pair from DATA_DIR, creating one on first start (like the JWT secret). */
function vapidKeysFromFile(dataDir: string): { publicKey: string; privateKey: string } {
  const file = path.join(dataDir, 'vapid-keys.json');
  if (existsSync(file)) {
    try {
      const k = JSON.parse(readFileSync(file, 'utf8')) as { publicKey?: string; privateKey?: string };
      if (k.privateKey && k.publicKey && vapidPublicOf(k.privateKey) === k.publicKey) return { publicKey: k.publicKey, privateKey: vapidPrivate32(k.privateKey) };
    } catch {
      // unreadable: replaced below (browsers subscribed with the old key subscribe again)
    }
  }
  mkdirSync(dataDir, { recursive: true });
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const keys = { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: vapidPrivate32(ecdh.getPrivateKey().toString('base64url')) };
  writeFileSync(file, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return keys;
}

/** Loads and validates the whole configuration, listing every problem at once. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const raw = readEnv(options);
  const withDefaults = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw)) as Env;
  const problems: string[] = [];
  for (const err of Value.Errors(EnvSchema, withDefaults)) {
    const key = err.path.replace(/^\//, '');
    problems.push(`${key}: ${err.message} (got ${JSON.stringify(raw[key])})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const env = withDefaults;
  const dataDir = path.resolve(env.DATA_DIR);
  const database = databaseFrom(env, dataDir, problems);
  if (env.ROLLUP_RETENTION_DAYS < env.LOG_RETENTION_DAYS) {
    problems.push(`ROLLUP_RETENTION_DAYS: must be at least LOG_RETENTION_DAYS (${env.LOG_RETENTION_DAYS}) (got ${env.ROLLUP_RETENTION_DAYS})`);
  }
  // A takeover scores a streamed device from its checkpoint's cursor: the stream must still hold
  // it (a checkpoint is at most two intervals old when the next owner reads it, plus the lease).
  if (2 * env.SESSION_CHECKPOINT_MS + 2 * env.SESSION_LEASE_MS > env.READINGS_STREAM_RETENTION_MS) {
    problems.push(
      `SESSION_CHECKPOINT_MS: 2 x SESSION_CHECKPOINT_MS + 2 x SESSION_LEASE_MS must not exceed READINGS_STREAM_RETENTION_MS (${env.READINGS_STREAM_RETENTION_MS}), or a takeover may find the readings after the checkpoint gone (got ${env.SESSION_CHECKPOINT_MS}, lease ${env.SESSION_LEASE_MS})`,
    );
  }
  if ((env.VAPID_PUBLIC_KEY === undefined) !== (env.VAPID_PRIVATE_KEY === undefined)) {
    problems.push('VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY: set both or neither (neither: a key pair is generated once in DATA_DIR)');
  } else if (env.VAPID_PRIVATE_KEY !== undefined && vapidPublicOf(env.VAPID_PRIVATE_KEY) !== env.VAPID_PUBLIC_KEY) {
    problems.push('VAPID_PUBLIC_KEY: is not the public key of VAPID_PRIVATE_KEY (both are base64url P-256 keys, e.g. from `npx web-push generate-vapid-keys`)');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const envSecret = env.JWT_SECRET_KEY ?? env.JWT_SECRET;
  const corsOrigins =
    env.CORS_ORIGINS.trim() === '*'
      ? '*'
      : env.CORS_ORIGINS.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  return {
    port: env.PORT,
    host: env.HOST,
    dataDir,
    database,
    jwt: {
      secret: envSecret ?? jwtSecretFromFile(dataDir),
      secretSource: envSecret ? 'env' : 'file',
      accessTtlSeconds: env.ACCESS_TOKEN_TTL,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL,
    },
    authRateLimit: {
      perIp: env.AUTH_RATE_LIMIT_PER_IP,
      perUsername: env.AUTH_RATE_LIMIT_PER_USERNAME,
      windowSeconds: env.AUTH_RATE_LIMIT_WINDOW,
    },
    corsOrigins,
    bodyLimit: env.BODY_LIMIT,
    trustProxy: env.TRUST_PROXY,
    log: { level: env.LOG_LEVEL, pretty: env.LOG_PRETTY ?? options.isTty ?? Boolean(process.stdout.isTTY) },
    shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT,
    serial: { port: env.SERIAL_PORT, baudRate: env.BAUD_RATE },
    devices: {
      mqttUrl: env.MQTT_URL,
      mqttClientId: env.MQTT_CLIENT_ID,
      mqttConnections: env.MQTT_CONNECTIONS,
      mqttTrustBrokerAuth: env.MQTT_TRUST_BROKER_AUTH,
      simulatorRateHz: env.SIMULATOR_RATE_HZ,
      rateLimit: env.DEVICE_RATE_LIMIT,
      rateBurst: env.DEVICE_RATE_BURST,
      httpBatchMax: env.HTTP_BATCH_MAX,
    },
    detection: {
      logBatchSize: env.LOG_BATCH_SIZE,
      logFlushMs: env.LOG_FLUSH_MS,
      logBufferMax: env.LOG_BUFFER_MAX,
      journal: { enabled: env.LOG_JOURNAL, dir: path.join(dataDir, 'journal'), fsyncMs: env.LOG_JOURNAL_FSYNC_MS },
      sqliteLogThread: env.SQLITE_LOG_THREAD,
      alertIntervalSeconds: env.ALERT_INTERVAL,
      sessionLeaseMs: env.SESSION_LEASE_MS,
      sessionCheckpointMs: env.SESSION_CHECKPOINT_MS,
      readingsStream: { maxLen: env.READINGS_STREAM_MAXLEN, retentionMs: env.READINGS_STREAM_RETENTION_MS },
    },
    retention: {
      logDays: env.LOG_RETENTION_DAYS,
      rollupDays: env.ROLLUP_RETENTION_DAYS,
      intervalSeconds: env.RETENTION_INTERVAL,
      batchRows: env.RETENTION_BATCH,
      batchMs: env.RETENTION_BATCH_MS,
      contextReadings: env.RETENTION_CONTEXT,
    },
    training: {
      // Default: leave one core to the event loop, at most four training threads.
      workers: env.TRAINING_WORKERS ?? Math.max(1, Math.min(4, availableParallelism() - 1)),
      jobsPerUser: env.TRAINING_JOBS_PER_USER,
      queueName: env.TRAINING_QUEUE_NAME ?? `${env.REDIS_KEY_PREFIX}-training`,
      redisUrl: env.REDIS_URL,
    },
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    limits: {
      recordingBytes: env.RECORDING_MAX_BYTES,
      recordingSamples: env.RECORDING_MAX_SAMPLES,
      modelUploadBytes: env.MODEL_UPLOAD_MAX_BYTES,
    },
    alarms: {
      resolveAfterSeconds: env.ALARM_RESOLVE_AFTER,
      tickMs: env.ALARM_TICK_MS,
    },
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT },
    notifications: {
      smtpUrl: env.SMTP_URL,
      smtpFrom: env.SMTP_FROM,
      allowHosts: env.NOTIFY_ALLOW_HOSTS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      attempts: env.NOTIFY_ATTEMPTS,
      retryMs: env.NOTIFY_RETRY_MS,
      timeoutMs: env.NOTIFY_TIMEOUT_MS,
      perUserPerMinute: env.NOTIFY_USER_PER_MINUTE,
      perChannelPerMinute: env.NOTIFY_CHANNEL_PER_MINUTE,
      queueName: env.NOTIFY_QUEUE_NAME,
      mqttPrefix: env.MQTT_OUT_PREFIX,
      discoveryPrefix: env.MQTT_DISCOVERY_PREFIX,
      stateIntervalMs: env.MQTT_STATE_INTERVAL_MS,
      webPush: {
        ...(env.VAPID_PUBLIC_KEY && env.VAPID_PRIVATE_KEY ? { publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY } : vapidKeysFromFile(dataDir)),
        subject: env.VAPID_SUBJECT,
        source: env.VAPID_PRIVATE_KEY ? 'env' : 'file',
      },
    },
  };
}

/** Names of every key, for docs and `vigil config`. */
export const CONFIG_KEYS = Object.keys(EnvSchema.properties);
