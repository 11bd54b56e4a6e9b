import { randomBytes } from 'node:crypto';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase, type TestDialect } from './db.ts';

export interface TestServer {
  app: App;
  db: TestDatabase;
  baseUrl: string;
  stop(): Promise<void>;
}

/** Starts the real server on an ephemeral port over a fresh database. */
export async function startTestServer(
  dialect: TestDialect,
  env: Record<string, string> = {},
  options: Pick<AppOptions, 'createSerialPort' | 'listSerialPorts' | 'webDistDir'> = {},
): Promise<TestServer> {
  const db = await createTestDatabase(dialect);
  const config = loadConfig({
    dotenv: false,
    env: {
      DATABASE_URL: db.url,
      DATA_DIR: db.dataDir,
      JWT_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'silent',
      LOG_PRETTY: 'false',
      HOST: '127.0.0.1',
      PORT: '0',
      AUTH_RATE_LIMIT_PER_IP: '1000',
      AUTH_RATE_LIMIT_PER_USERNAME: '1000',
      ...env,
    },
  });
  const app = await createApp({ config, logger: createLogger(config.log), ...options });
  const baseUrl = await app.listen(0, '127.0.0.1');
  return {
    app,
    db,
    baseUrl,
    async stop() {
      await app.stop();
      await db.drop();
    },
  };
}

/**
 * The environment every spawned (child-process) test server starts from: its database and data
 * folder, a fresh JWT secret, any free port on loopback and JSON logs at info (tests read them).
 */
export function childServerEnv(db: Pick<TestDatabase, 'url' | 'dataDir'>): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    DATA_DIR: db.dataDir,
    JWT_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    LOG_PRETTY: 'false',
  };
}
