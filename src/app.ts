import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import { ensureMysqlDatabase, openDatabase, type Database } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { EventMap } from './events.ts';
import { createEventBus } from './lib/event-bus.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { buildHttpServer } from './http/server.ts';
import { createWebApp } from './http/web-app.ts';
import type { Api } from './http/types.ts';
import { createAuthService } from './modules/auth/auth.service.ts';
import { registerAuthRoutes } from './modules/auth/auth.routes.ts';
import { createPasswordHasher } from './modules/auth/passwords.ts';
import { createRefreshTokensRepository } from './modules/auth/refresh-tokens.repository.ts';
import { createTokenService } from './modules/auth/tokens.ts';
import { createModelArtifactStore } from './modules/models/model-artifacts.ts';
import type { ModelRuntime, ModelUsage } from './modules/models/model-runtime.ts';
import { createModelsRepository } from './modules/models/models.repository.ts';
import { createModelsService } from './modules/models/models.service.ts';
import { registerModelsRoutes } from './modules/models/models.routes.ts';
import { createTrainingJobsRepository } from './modules/models/training-jobs.repository.ts';
import { createTrainingPool } from './modules/models/training-pool.ts';
import { createBullmqTrainingQueue } from './modules/models/training-queue.bullmq.ts';
import { createLocalTrainingQueue, type TrainingQueue } from './modules/models/training-queue.ts';
import { createTrainingRunner } from './modules/models/training-runner.ts';
import { registerTrainingRoutes } from './modules/models/training.routes.ts';
import { registerBacktestRoutes } from './modules/models/backtest.routes.ts';
import { createBacktestService } from './modules/models/backtest.service.ts';
import { createSessionData } from './modules/detection/session-data.ts';
import { createTrainingService } from './modules/models/training.service.ts';
import { createFollowsRepository } from './modules/social/follows.repository.ts';
import { createFollowsService } from './modules/social/follows.service.ts';
import { registerPostsRoutes } from './modules/social/posts.routes.ts';
import { createPostsRepository } from './modules/social/posts.repository.ts';
import { createPostsService } from './modules/social/posts.service.ts';
import { registerProfileRoutes } from './modules/social/profiles.routes.ts';
import { createSharesRepository } from './modules/social/shares.repository.ts';
import { createRecordingsRepository } from './modules/recordings/recordings.repository.ts';
import { registerRecordingsRoutes } from './modules/recordings/recordings.routes.ts';
import { createRecordingsService } from './modules/recordings/recordings.service.ts';
import { createSeriesPool } from './modules/recordings/series-pool.ts';
import { createUsersRepository } from './modules/users/users.repository.ts';
import { Server as SocketServer } from 'socket.io';
import { createDeviceHub } from './modules/devices/device-hub.ts';
import { createDevicesRepository } from './modules/devices/devices.repository.ts';
import { registerDevicesRoutes } from './modules/devices/devices.routes.ts';
import { createDevicesService } from './modules/devices/devices.service.ts';
import { createSourceFactory, tokenMatches } from './modules/devices/sources/index.ts';
import { createMqttConnection } from './modules/devices/sources/mqtt-connection.ts';
import { createMqttIntake } from './modules/devices/sources/mqtt-intake.ts';
import type { SerialPortFactory, SerialPortLister } from './modules/devices/sources/serial.source.ts';
import { createDetectionRepository } from './modules/detection/detection.repository.ts';
import { registerDetectionRoutes } from './modules/detection/detection.routes.ts';
import { createDetectionService } from './modules/detection/detection.service.ts';
import { createLogJournal, replayJournals as replayOrphanJournals } from './modules/detection/log-journal.ts';
import { createLogInsertThread } from './modules/detection/log-insert-thread.ts';
import { createLogWriter } from './modules/detection/log-writer.ts';
import { createTickScheduler } from './modules/devices/sources/tick-scheduler.ts';
import { createRetentionRepository } from './modules/retention/retention.repository.ts';
import { createRetention } from './modules/retention/retention.service.ts';
import { createRealtimeGateway, SOCKET_TRANSPORT_MAX_BYTES } from './modules/realtime/realtime.gateway.ts';
import { plainJsonParser } from './modules/realtime/plain-json-encoder.ts';
import { createSessionCluster } from './modules/detection/session-cluster.ts';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createAlarmsRepository } from './modules/alarms/alarms.repository.ts';
import { registerAlarmsRoutes } from './modules/alarms/alarms.routes.ts';
import { createAlarmsService } from './modules/alarms/alarms.service.ts';
import { createFeedbackRepository } from './modules/alarms/feedback.repository.ts';
import { createFeedbackService } from './modules/alarms/feedback.service.ts';
import { createAlarmsGateway } from './modules/realtime/alarms.gateway.ts';
import { createMetrics } from './modules/observability/metrics.ts';
import { createMetricsServer } from './modules/observability/metrics-server.ts';
import { logSessionLifecycle } from './modules/observability/session-log.ts';
import { createChannelsRepository } from './modules/notifications/channels.repository.ts';
import { createDestinationGuard } from './modules/notifications/destination-guard.ts';
import { createEmailSender } from './modules/notifications/email.sender.ts';
import { createMqttOut } from './modules/notifications/mqtt-out.ts';
import { createBullmqNotificationQueue, createLocalNotificationQueue } from './modules/notifications/notification-queue.ts';
import { registerNotificationsRoutes } from './modules/notifications/notifications.routes.ts';
import { createNotificationsService } from './modules/notifications/notifications.service.ts';
import { createWebPushSender } from './modules/notifications/web-push.sender.ts';
import { createLegacyWebhookPoster, createWebhookSender } from './modules/notifications/webhook.sender.ts';
import { createHash, randomBytes } from 'node:crypto';
import type { Reading } from './detectors/index.ts';
import { VERSION } from './version.ts';

export interface AppOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Run migrations before serving (default true). */
  migrate?: boolean;
  /** The serial hardware boundary (tests pass `SerialPortMock`); default the native port. */
  createSerialPort?: SerialPortFactory;
  /** Lists the server's serial ports (tests pass a fixed list); default `SerialPort.list()`. */
  listSerialPorts?: SerialPortLister;
  /** The built dashboard (default `dist-web/` of this checkout). */
  webDistDir?: string;
  /** Start the retention timer (default true; RETENTION_INTERVAL=0 also turns it off). */
  startRetention?: boolean;
}

/** Opens the configured database, creating the MySQL database itself when it is missing. */
export async function connectDatabase(config: Config): Promise<Database> {
  if (config.database.dialect === 'mysql') await ensureMysqlDatabase(config.database);
  return openDatabase(config.database);
}

/**
 * The composition root: builds every repository, service and adapter from explicit arguments,
 * and owns their start and orderly stop.
 */
export async function createApp(options: AppOptions) {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const database = await connectDatabase(config);
  if (options.migrate !== false) {
    const r = await migrateToLatest(database);
    if (r.applied.length > 0) logger.info({ migrations: r.applied }, 'database migrated');
  }
  const bus = createEventBus<EventMap>(logger);
  // Prometheus metrics on a registry of this app's own; sources are attached once they exist.
  const metrics = createMetrics();

  const users = createUsersRepository(database.db);
  const models = createModelsRepository(database.db);
  const refreshTokens = createRefreshTokensRepository(database.db);
  const tokens = createTokenService({ secret: config.jwt.secret, accessTtlSeconds: config.jwt.accessTtlSeconds });
  const auth = createAuthService({
    users,
    refreshTokens,
    // Late-bound: the models service is built further down.
    listModelCards: (userId) => modelsService.listCards(userId),
    passwords: createPasswordHasher(),
    tokens,
    bus,
    clock,
    refreshTtlSeconds: config.jwt.refreshTtlSeconds,
  });
  const shares = createSharesRepository(database.db);
  const posts = createPostsService({ posts: createPostsRepository(database.db), shares, users, bus, clock });
  const follows = createFollowsService({ follows: createFollowsRepository(database.db), users, shares, clock });

  // Late-bound: the realtime feature assigns `modelUsage.current` once its sessions exist.
  const modelUsage: { current: ModelUsage } = { current: { isModelInUse: () => false } };
  const trainingJobs = createTrainingJobsRepository(database.db);
  const modelsService = createModelsService({
    models,
    jobs: trainingJobs,
    artifacts: createModelArtifactStore(config.dataDir),
    bus,
    clock,
    logger,
    usage: { isModelInUse: (id) => modelUsage.current.isModelInUse(id) },
  });
  const presets = await modelsService.ensurePresets();
  if (presets.created.length + presets.repaired.length > 0) logger.info(presets, 'preset models installed');
  const modelRuntime: ModelRuntime = modelsService.runtime;
  // Device recording is enabled with `recordings.setDevices(...)` once the devices feature is built.
  // Big CSVs are parsed, checked and downsampled in the recordings' own worker threads.
  const recordingSeries = createSeriesPool();
  const recordings = createRecordingsService({
    recordings: createRecordingsRepository(database.db),
    dataDir: config.dataDir,
    clock,
    logger,
    limits: config.limits,
    series: recordingSeries,
    // With REDIS_URL other processes record into the same database: only silent recordings are dead.
    staleAfterMs: config.training.redisUrl ? 30_000 : 0,
  });
  const interruptedRecordings = await recordings.recoverInterrupted();
  recordings.startSweeper();
  if (interruptedRecordings > 0) logger.warn({ count: interruptedRecordings }, 'recordings interrupted by a restart were closed');
  const trainingPool = createTrainingPool({ threads: config.training.workers });
  const trainingRunner = createTrainingRunner({
    jobs: trainingJobs,
    models: modelsService,
    data: recordings,
    // Late-bound: session data needs the detection repository, built further down.
    sessions: { forBacktest: (userId, sessionId) => sessionData.forBacktest(userId, sessionId) },
    feedback: { forTraining: (userId, modelId) => feedback.forTraining(userId, modelId) },
    pool: trainingPool,
    bus,
    clock,
    logger,
    runnerId: `${hostname()}:${process.pid}`,
  });
  const trainingQueue: TrainingQueue = config.training.redisUrl
    ? createBullmqTrainingQueue({
        runner: trainingRunner,
        concurrency: config.training.workers,
        redisUrl: config.training.redisUrl,
        queueName: config.training.queueName,
        logger,
      })
    : createLocalTrainingQueue({ runner: trainingRunner, concurrency: config.training.workers, logger });
  const training = createTrainingService({
    jobs: trainingJobs,
    models: modelsService,
    recordings,
    queue: trainingQueue,
    runner: trainingRunner,
    bus,
    clock,
    logger,
    jobsPerUser: config.training.jobsPerUser,
    onStop: () => trainingPool.close(),
  });
  await training.start();
  const backtests = createBacktestService({
    models: modelsService,
    jobs: trainingJobs,
    training,
    runner: trainingRunner,
    pool: trainingPool,
    recordings,
    sessions: { count: (userId, sessionId) => sessionData.count(userId, sessionId) },
  });

  // Devices and ingestion: one hub fans every source out to sessions and sockets.
  const devicesRepo = createDevicesRepository(database.db);
  const mqtt = createMqttConnection({ url: config.devices.mqttUrl, logger, clientId: config.devices.mqttClientId, connections: config.devices.mqttConnections, persisted: () => logWriter.written() });
  // With REDIS_URL, several processes share sessions: leases, checkpoints and takeover (decision 0008).
  const namespace = createHash('sha256').update(config.database.dialect === 'sqlite' ? config.database.file : config.database.url).digest('hex').slice(0, 12);
  const cluster = config.training.redisUrl
    ? createSessionCluster({
        redisUrl: config.training.redisUrl,
        prefix: config.redisKeyPrefix,
        namespace,
        instanceId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
        leaseMs: config.detection.sessionLeaseMs,
        checkpointMs: config.detection.sessionCheckpointMs,
        stream: { maxLen: config.detection.readingsStream.maxLen, retentionMs: config.detection.readingsStream.retentionMs },
        logger,
      })
    : undefined;
  const hub = createDeviceHub({
    lookup: (id) => devicesRepo.findById(id),
    openSource: createSourceFactory({
      simulatorRateHz: config.devices.simulatorRateHz,
      ticks: createTickScheduler(),
      mqtt,
      mqttTrustBroker: config.devices.mqttTrustBrokerAuth,
      maxBatch: config.devices.httpBatchMax,
      defaultBaudRate: config.serial.baudRate,
      ...(options.createSerialPort && { createSerialPort: options.createSerialPort }),
      // With REDIS_URL, HTTP batches go through a Redis Stream per device (kept between session owners).
      ...(cluster && { followHttpReadings: cluster.followReadings }),
      // With MQTT_URL too, MQTT readings go through the same streams, filled by the MQTT intake below.
      ...(cluster && config.devices.mqttUrl && { followMqttReadings: cluster.followReadings }),
    }),
    bus,
    logger,
    rate: { limit: config.devices.rateLimit, burst: config.devices.rateBurst },
  });
  const devices = createDevicesService({
    devices: devicesRepo,
    hub,
    clock,
    serial: config.serial,
    httpBatchMax: config.devices.httpBatchMax,
    ...(options.listSerialPorts && { listSerialPorts: options.listSerialPorts }),
    ...(cluster && { append: (deviceId: number, readings: readonly Reading[]) => cluster.appendReadings(deviceId, readings) }),
    durable: () => logWriter.durable(),
  });
  await devices.ensureSystemDevices();
  // In a cluster, one process at a time takes every MQTT reading from the deployment's persistent
  // broker session into the device streams; the broker keeps them while the intake changes hands.
  const mqttIntake =
    cluster && config.devices.mqttUrl
      ? createMqttIntake({
          url: config.devices.mqttUrl,
          ...cluster.mqttIntake,
          lookup: (id) => devicesRepo.findById(id),
          tokenMatches,
          trustBroker: config.devices.mqttTrustBrokerAuth,
          maxBatch: config.devices.httpBatchMax,
          invalid: (deviceId, n) => hub.countInvalid(deviceId, 'mqtt', n),
          logger,
        })
      : undefined;

  // Outgoing webhooks never reach private, loopback, link-local or metadata addresses unless allow-listed.
  const notifyGuard = createDestinationGuard(config.notifications.allowHosts);

  // Detection sessions, with batched log writes.
  const detectionRepo = createDetectionRepository(database.db);
  const retentionRepo = createRetentionRepository(database.db);
  // A session's labels are the user's alarm feedback on it (late-bound: built just below).
  const sessionData = createSessionData({ repo: detectionRepo, labels: (userId, sessionId) => feedback.anomalousSegments(userId, sessionId) });
  const feedback = createFeedbackService({
    repo: createFeedbackRepository(database.db),
    sessions: {
      async find(userId, sessionId) {
        const s = await detectionRepo.findSession(sessionId);
        return s && s.userId === userId ? s : undefined;
      },
      between: (userId, sessionId, from, to) => sessionData.between(userId, sessionId, from, to),
    },
    clock,
    logger,
  });
  await feedback.start();
  // Rows a crashed process accepted but never wrote come back from its journal before anything counts logs.
  const journalDir = config.detection.journal.dir;
  // Before a takeover too, but never this process's own live journal (its directory appears on the first write).
  const journal = config.detection.journal.enabled ? createLogJournal({ dir: journalDir, fsyncMs: config.detection.journal.fsyncMs, logger }) : undefined;
  // On a SQLite file, log inserts run in a worker thread on a second connection, off the event loop
  // (decision 0015). A `:memory:` database cannot be opened twice: its inserts stay on this thread.
  const dbConfig = config.database;
  const logThread =
    dbConfig.dialect === 'sqlite' && dbConfig.file !== ':memory:' && config.detection.sqliteLogThread
      ? createLogInsertThread({ file: dbConfig.file, fallback: detectionRepo.insertLogs, pruneFallback: retentionRepo.pruneBatch, logger })
      : undefined;
  const insertLogs = logThread ? logThread.insert : detectionRepo.insertLogs;
  const replayJournals = () => replayOrphanJournals(journalDir, (rows) => insertLogs(rows, { fresh: false }), logger, journal?.dir);
  await replayJournals();
  // MariaDB inserts and the SQLite log thread wait off the event loop, so their batches can be
  // large: up to 8x LOG_BATCH_SIZE (at most 5,000 rows), written every LOG_FLUSH_MS. Fewer, larger
  // transactions cost less per row (measured at 1,000 devices x 10 Hz: the SQLite thread 50 -> 22 %
  // of a core, mariadbd 31 -> 17 %; decision 0015). A lagging writer also catches up in them: with the
  // thread, 500-row batches fell 500,000 rows behind within a minute, each reply waiting for a turn
  // of the busy event loop. On the main thread a larger batch is a longer stall, so it stays small.
  const offLoopBatch = config.database.dialect === 'mysql' || logThread ? Math.min(5000, 8 * config.detection.logBatchSize) : undefined;
  const logWriter = createLogWriter({
    ...(journal && { journal }),
    insert: metrics.timeFlush(insertLogs),
    // A backlog is caught up in batches of the same size.
    batchSize: offLoopBatch ?? config.detection.logBatchSize,
    flushMs: config.detection.logFlushMs,
    maxBuffer: config.detection.logBufferMax,
    logger,
  });
  const detection = createDetectionService({
    repo: detectionRepo,
    writer: logWriter,
    hub,
    models: modelRuntime,
    resolveDevice: async (owner, deviceId) => (deviceId !== undefined ? devices.usable(owner, deviceId) : devices.resolveDefault(owner)),
    bus,
    clock,
    logger,
    alertIntervalMs: config.detection.alertIntervalSeconds * 1000,
    // The seed-era per-user webhook goes through the same destination guard as webhook channels.
    postWebhook: createLegacyWebhookPoster({ guard: notifyGuard, timeoutMs: config.notifications.timeoutMs, attempts: 3, backoffMs: 1000 }),
    replayJournals,
    ...(cluster && { cluster: cluster.hooks }),
  });
  modelUsage.current = detection;
  // Alarms listen on the bus (scored readings); their rows and notifications are written off the reading path.
  const alarms = createAlarmsService({
    feedback: feedback.hooks,
    repo: createAlarmsRepository(database.db),
    bus,
    clock,
    logger,
    resolveAfterSeconds: config.alarms.resolveAfterSeconds,
    tickMs: config.alarms.tickMs,
    deviceUsable: async (userId, deviceId) => void (await devices.usable({ userId }, deviceId)),
  });
  await alarms.start({ closeOrphans: !cluster });
  // Notification channels: deliveries go through a queue (BullMQ with REDIS_URL) with retries; webhooks pass the destination guard.
  const nc = config.notifications;
  const guard = notifyGuard;
  const queueOptions = { attempts: nc.attempts, backoffMs: nc.retryMs, concurrency: 4, logger };
  // An alarm that opens early in a session (or right after a flush) has its readings still in the
  // log buffer: the mail writes them first, so "readings around the peak" has the peak. Best effort:
  // a failing database leaves the mail without readings rather than holding it back.
  const nearPeak = async (a: Parameters<typeof alarms.readingsNearPeak>[0]) => {
    await logWriter.flush(1).catch(() => undefined);
    return alarms.readingsNearPeak(a);
  };
  const emailSender = nc.smtpUrl ? createEmailSender({ smtpUrl: nc.smtpUrl, from: nc.smtpFrom, readings: nearPeak }) : undefined;
  const notifications = createNotificationsService({
    repo: createChannelsRepository(database.db),
    queue: config.training.redisUrl
      ? createBullmqNotificationQueue({
          ...queueOptions,
          redisUrl: config.training.redisUrl,
          // Processes share deliveries only when they share a database (the job names a channel row).
          queueName: `${nc.queueName}-${createHash('sha256').update(config.database.dialect === 'sqlite' ? config.database.file : config.database.url).digest('hex').slice(0, 12)}`,
        })
      : createLocalNotificationQueue(queueOptions),
    bus,
    clock,
    logger,
    guard,
    senders: {
      webhook: createWebhookSender({ guard, timeoutMs: nc.timeoutMs }),
      ...(emailSender && { email: emailSender }),
      // Browser push: the request web-push builds goes through the same guarded client as webhooks.
      webPush: createWebPushSender({ guard, timeoutMs: nc.timeoutMs, vapid: nc.webPush }),
    },
    vapidPublicKey: nc.webPush.publicKey,
    ...(config.devices.mqttUrl && {
      mqtt: createMqttOut({ url: config.devices.mqttUrl, prefix: nc.mqttPrefix, discoveryPrefix: nc.discoveryPrefix, stateIntervalMs: nc.stateIntervalMs, logger }),
      mqttTopics: { prefix: nc.mqttPrefix, discoveryPrefix: nc.discoveryPrefix },
    }),
    digestRules: (userId, deviceId) => alarms.rulesFor(userId, deviceId),
    limits: { perUserPerMinute: nc.perUserPerMinute, perChannelPerMinute: nc.perChannelPerMinute },
  });
  await notifications.start();
  recordings.setDevices({ hub, assertUsable: async (userId, deviceId) => void (await devices.usable({ userId }, deviceId)) });
  if (cluster) {
    await detection.warmUp().catch((err: unknown) => logger.warn({ err }, 'detector warm-up before joining the cluster failed'));
    await cluster.start(detection);
    await mqttIntake?.start();
  } else {
    const orphans = await detection.closeOrphans();
    if (orphans > 0) logger.warn({ count: orphans }, 'detection sessions interrupted by a restart were closed');
  }

  const http = await buildHttpServer({
    config,
    logger,
    version: VERSION,
    database,
    ...(cluster && { readiness: { redis: () => cluster.ping() } }),
    metrics: { observeHttp: metrics.observeHttp, text: metrics.text, contentType: metrics.contentType, token: config.metrics.port === undefined ? config.metrics.token : undefined },
    webApp: createWebApp(options.webDistDir),
    verifyToken: async (token) => {
      const claims = await auth.verifyAccessToken(token);
      return { id: claims.userId, username: claims.username };
    },
    registerRoutes: async (api: Api) => {
      await registerAuthRoutes(api, { auth, config });
      await registerDevicesRoutes(api, { devices, bodyLimit: config.bodyLimit });
      await registerDetectionRoutes(api, { detection });
      await registerPostsRoutes(api, { posts });
      await registerProfileRoutes(api, { posts, follows });
      await registerModelsRoutes(api, { models: modelsService, config });
      await registerRecordingsRoutes(api, { recordings, config });
      await registerTrainingRoutes(api, { training });
      await registerBacktestRoutes(api, { backtests });
      await registerAlarmsRoutes(api, { alarms, feedback });
      await registerNotificationsRoutes(api, { notifications });
    },
  });

  // Socket.IO on the same HTTP server and port as the REST API.
  const io = new SocketServer(http.server, {
    cors: { origin: config.corsOrigins === '*' ? true : config.corsOrigins, credentials: config.corsOrigins !== '*' },
    transports: ['polling', 'websocket'],
    maxHttpBufferSize: SOCKET_TRANSPORT_MAX_BYTES,
    // The stock wire format; hot pushes marked as plain JSON skip the binary search (plain-json-encoder.ts).
    parser: plainJsonParser,
  });
  const adapterClients = await cluster?.adapterClients();
  if (adapterClients) {
    const { pub, sub, key, sharded } = adapterClients;
    io.adapter(sharded ? createShardedAdapter(pub, sub, { channelPrefix: key }) : createAdapter(pub, sub, { key }));
    logger.info({ sharded }, 'Socket.IO Redis adapter');
  }
  const gateway = createRealtimeGateway({
    io,
    bus,
    auth,
    models: { runtime: modelRuntime, listCards: (userId) => modelsService.listCards(userId) },
    devices,
    hub,
    detection,
    followerIds: (userId) => follows.followerIds(userId),
    loginLimit: { perUsername: config.authRateLimit.perUsername, perAddress: config.authRateLimit.perIp, windowSeconds: config.authRateLimit.windowSeconds },
    logger,
  });
  const alarmsGateway = createAlarmsGateway({ io, bus, alarms });

  const unwatch = metrics.watch({
    bus,
    hub,
    detection,
    logWriter,
    socketClients: () => io.engine.clientsCount,
    trainingJobsByState: () => trainingJobs.countByStatus(),
  });
  const unlogSessions = logSessionLifecycle(bus, logger);

  // Bounded storage: raw logs and rollups past retention are pruned in batches off the hot path
  // (decision 0016). On SQLite it is gentle: deletes sized to RETENTION_BATCH_MS, taking at most a
  // fifth of the time (on the log thread when there is one, else on the event loop). MariaDB's full batches left the live
  // p99 where it was (bench:realtime --retention-backlog); gentle pacing cut its rate 60-fold or more.
  const gentle = config.database.dialect === 'sqlite' ? { batchMs: config.retention.batchMs, busyShare: 0.2 } : { batchMs: undefined };
  const retention = createRetention({
    // On SQLite with the log thread its deletes run there, off the event loop (decision 0016).
    repo: logThread ? { ...retentionRepo, pruneBatch: logThread.prune } : retentionRepo,
    clock,
    logger,
    config: { ...config.retention, ...gentle, pauseMs: 20, maxRunMs: 10 * 60_000 },
    ...(cluster && { lock: (ttlMs: number) => cluster.tryLock('retention', ttlMs) }),
    onRun: (r) => metrics.observeRetention(r),
  });
  if (options.startRetention !== false && config.retention.intervalSeconds > 0) retention.start(config.retention.intervalSeconds * 1000);
  const metricsServer = config.metrics.port !== undefined ? createMetricsServer({ metrics, token: config.metrics.token, logger }) : undefined;

  let stopping: Promise<void> | undefined;
  return {
    config,
    http,
    database,
    bus,
    services: { auth, posts, follows, models: modelsService, modelRuntime, recordings, recordingSeries, training, backtests, alarms, feedback, notifications },
    /** The realtime feature sets `modelUsage.current` so model deletion can ask whether a live session uses a model. */
    modelUsage,
    /** Devices, detection and the Socket.IO gateway (also used by the realtime benchmark). */
    realtime: { hub, devices, detection, logWriter, logThread, gateway, io },
    /** The retention job (its timer runs when RETENTION_INTERVAL > 0). */
    retention,
    /** The Prometheus registry and its hooks. */
    metrics,
    /** Address of the `METRICS_PORT` listener once listening. */
    metricsUrl: undefined as string | undefined,
    /** Listens on the configured (or given) port, and on `METRICS_PORT` when set; resolves to the bound address. */
    async listen(port = config.port, host = config.host): Promise<string> {
      const url = await http.listen({ port, host });
      if (metricsServer && config.metrics.port !== undefined) this.metricsUrl = await metricsServer.listen(config.metrics.port, host);
      return url;
    },
    /** Stops intake, lets in-flight requests finish, then closes the database. Idempotent. */
    stop(): Promise<void> {
      stopping ??= (async () => {
        // Intake first (no new readings), then every session ends with its logs flushed,
        // then sockets, and only then HTTP and the database.
        // In a cluster the sessions are handed over to the other processes instead of ending, first
        // of all: every millisecond until the release is a pause in their scoring (decision 0008).
        if (cluster) {
          const stoppedAt = Date.now();
          // The MQTT intake changes hands meanwhile (the broker keeps the messages): not waited for here.
          const intakeStopped = mqttIntake?.stop();
          await cluster.quiesce();
          await cluster.handOver(await detection.detachAll(stoppedAt));
          await intakeStopped;
        }
        await hub.closeAll();
        await retention.stop();
        if (!cluster) await detection.stopAll('shutdown');
        await logWriter.close().catch((err: unknown) => logger.error({ err }, 'detection logs not fully flushed'));
        await logThread?.close();
        await alarms.stop();
        feedback.stop();
        alarmsGateway.close();
        await notifications.stop();
        emailSender?.close();
        await gateway.close();
        unwatch();
        unlogSessions();
        await metricsServer?.close();
        await mqtt.close();
        await cluster?.close();
        adapterClients?.pub.disconnect();
        adapterClients?.sub.disconnect();
        await http.close();
        await recordings.stopAll();
        await recordingSeries.close();
        await training.stop();
        await database.close();
      })();
      return stopping;
    },
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;
