import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createApp, connectDatabase } from '../app.ts';
import { loadConfig, type Config } from '../config/index.ts';
import { migrateDown, migrateToLatest, migrationStatus } from '../db/migrate.ts';
import { isAppError } from '../lib/errors.ts';
import { createLogger } from '../logger.ts';
import { createBodyValidator } from '../http/validation.ts';
import { RegisterBody } from '../modules/auth/auth.schemas.ts';
import { systemClock } from '../lib/clock.ts';
import { createRetentionRepository } from '../modules/retention/retention.repository.ts';
import { createRetention } from '../modules/retention/retention.service.ts';
import { installPresets } from './models.commands.ts';

function describeDb(config: Config): string {
  const d = config.database;
  return d.dialect === 'sqlite' ? `SQLite ${d.file}` : `MySQL ${d.host}:${d.port}/${d.database}`;
}

export function registerServerCommands(program: Command) {
  program
    .command('serve')
    .description('Start the HTTP + Socket.IO server (migrates the database first)')
    .option('-p, --port <port>', 'port to listen on (default: PORT or 8000)')
    .option('-H, --host <host>', 'address to bind (default: HOST or 0.0.0.0)')
    .action(async (opts: { port?: string; host?: string }) => {
      const config = loadConfig({ overrides: { ...(opts.port && { PORT: opts.port }), ...(opts.host && { HOST: opts.host }) } });
      const logger = createLogger(config.log);
      const app = await createApp({ config, logger });
      const address = await app.listen();
      logger.info(
        // Node's own flags (`npm start` passes --max-semi-space-size=64: a larger young generation, README).
        { database: describeDb(config), docs: `${address}/docs`, jwtSecret: config.jwt.secretSource, nodeFlags: process.execArgv },
        `Vigil listening on ${address}`,
      );
      let signals = 0;
      const shutdown = (signal: string) => {
        if (++signals > 1) {
          logger.warn('second signal: exiting now');
          process.exit(1);
        }
        logger.info({ signal }, 'shutting down');
        const timer = setTimeout(() => {
          logger.error('shutdown timed out');
          process.exit(1);
        }, config.shutdownTimeoutSeconds * 1000);
        timer.unref();
        app.stop().then(
          () => {
            logger.info('stopped');
            process.exitCode = 0;
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exitCode = 1;
          },
        );
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    });

  program
    .command('migrate')
    .description('Apply database migrations (or roll back with --down)')
    .option('--down [steps]', 'roll back this many migrations (default 1)')
    .option('--status', 'list migrations and whether they ran')
    .action(async (opts: { down?: string | boolean; status?: boolean }) => {
      const config = loadConfig();
      const database = await connectDatabase(config);
      try {
        if (opts.status) {
          for (const m of await migrationStatus(database)) {
            console.log(`${m.executedAt ? 'applied' : 'pending'}  ${m.name}${m.executedAt ? `  ${m.executedAt.toISOString()}` : ''}`);
          }
        } else if (opts.down !== undefined) {
          const steps = opts.down === true ? 1 : Number(opts.down);
          if (!Number.isInteger(steps) || steps < 1) throw new Error('--down takes a positive whole number');
          const r = await migrateDown(database, steps);
          console.log(r.applied.length ? `Rolled back: ${r.applied.join(', ')}` : 'Nothing to roll back.');
        } else {
          const r = await migrateToLatest(database);
          console.log(
            `${describeDb(config)}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'already up to date'}`,
          );
          const presets = await installPresets(database, config);
          if (presets.created.length + presets.repaired.length + presets.updated.length > 0) {
            console.log(`Preset models: ${[...presets.created, ...presets.repaired, ...presets.updated].join(', ')}`);
          }
        }
      } finally {
        await database.close();
      }
    });

  program
    .command('retention')
    .description('Prune detection logs and rollups past retention now (LOG_RETENTION_DAYS, ROLLUP_RETENTION_DAYS)')
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { dryRun?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const database = await connectDatabase(config);
      try {
        await migrateToLatest(database);
        const retention = createRetention({
          repo: createRetentionRepository(database.db),
          clock: systemClock,
          logger: createLogger({ ...config.log, level: 'warn' }),
          config: { ...config.retention, batchMs: undefined, pauseMs: 0, maxRunMs: Number.POSITIVE_INFINITY },
        });
        const r = await retention.runOnce({ dryRun: opts.dryRun ?? false });
        if (opts.json) console.log(JSON.stringify(r));
        else {
          console.log(
            `${describeDb(config)}: ${r.dryRun ? 'would delete' : 'deleted'} ${r.logRows} detection log rows (${r.sessions} sessions, logs kept ${config.retention.logDays} days unless a device says otherwise) and ${r.rollupRows} rollup rows (kept ${config.retention.rollupDays} days) in ${r.durationMs} ms`,
          );
        }
      } finally {
        await database.close();
      }
    });

  const user = program.command('user').description('Manage user accounts');
  user
    .command('create')
    .description('Create a user account')
    .requiredOption('-u, --username <name>', '3–32 letters, digits, _ . -')
    .requiredOption('-e, --email <email>', 'email address')
    .option('-p, --password <password>', 'password (at least 8 characters); prefer --password-stdin')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (opts: { username: string; email: string; password?: string; passwordStdin?: boolean }) => {
      const password = opts.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : opts.password;
      if (password === undefined) throw new Error('give --password or --password-stdin');
      const body = { username: opts.username, email: opts.email, password };
      const checked = createBodyValidator<typeof body>(RegisterBody)(body);
      if (!checked.ok) {
        console.error(`Invalid input:\n  ${checked.problems.join('\n  ')}`);
        process.exitCode = 2;
        return;
      }
      const config = loadConfig();
      const app = await createApp({ config, logger: createLogger({ ...config.log, level: 'warn' }) });
      try {
        const r = await app.services.auth.register(body);
        console.log(`Created user #${r.user.id} ${r.user.username} <${r.user.email}>`);
      } catch (err) {
        if (!isAppError(err)) throw err;
        console.error(`${err.code}: ${err.message}`);
        process.exitCode = 2;
      } finally {
        await app.stop();
      }
    });
}
