import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import { ensureMysqlDatabase, openDatabase, type Database } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { EventMap } from './events.ts';
import { createEventBus } from './lib/event-bus.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { buildHttpServer } from './http/server.ts';
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
import { createUsersRepository } from './modules/users/users.repository.ts';
import { VERSION } from './version.ts';

export interface AppOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Run migrations before serving (default true). */
  migrate?: boolean;
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

  const users = createUsersRepository(database.db);
  const models = createModelsRepository(database.db);
  const refreshTokens = createRefreshTokensRepository(database.db);
  const tokens = createTokenService({ secret: config.jwt.secret, accessTtlSeconds: config.jwt.accessTtlSeconds });
  const auth = createAuthService({
    users,
    refreshTokens,
    models,
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
  const recordings = createRecordingsService({
    recordings: createRecordingsRepository(database.db),
    dataDir: config.dataDir,
    clock,
    logger,
    limits: config.limits,
  });
  const interruptedRecordings = await recordings.recoverInterrupted();
  if (interruptedRecordings > 0) logger.warn({ count: interruptedRecordings }, 'recordings interrupted by a restart were closed');

  const http = await buildHttpServer({
    config,
    logger,
    version: VERSION,
    database,
    verifyToken: async (token) => {
      const claims = await tokens.verifyAccess(token);
      return { id: claims.userId, username: claims.username };
    },
    registerRoutes: async (api: Api) => {
      await registerAuthRoutes(api, { auth, config });
      await registerPostsRoutes(api, { posts });
      await registerProfileRoutes(api, { posts, follows });
      await registerModelsRoutes(api, { models: modelsService, config });
      await registerRecordingsRoutes(api, { recordings, config });
    },
  });

  let stopping: Promise<void> | undefined;
  return {
    config,
    http,
    database,
    bus,
    services: { auth, posts, follows, models: modelsService, modelRuntime, recordings },
    /** The realtime feature sets `modelUsage.current` so model deletion can ask whether a live session uses a model. */
    modelUsage,
    /** Listens on the configured (or given) port; resolves to the bound address. */
    async listen(port = config.port, host = config.host): Promise<string> {
      return http.listen({ port, host });
    },
    /** Stops intake, lets in-flight requests finish, then closes the database. Idempotent. */
    stop(): Promise<void> {
      stopping ??= (async () => {
        await http.close();
        await recordings.stopAll();
        await database.close();
      })();
      return stopping;
    },
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;
