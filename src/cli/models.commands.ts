import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { connectDatabase } from '../app.ts';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config/index.ts';
import type { Database } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import type { EventMap } from '../events.ts';
import { systemClock } from '../lib/clock.ts';
import { createEventBus } from '../lib/event-bus.ts';
import { isAppError } from '../lib/errors.ts';
import { createLogger } from '../logger.ts';
import { createModelArtifactStore } from '../modules/models/model-artifacts.ts';
import { createModelsRepository, type ModelRow, type ModelsRepository } from '../modules/models/models.repository.ts';
import { createModelsService, type ModelsService } from '../modules/models/models.service.ts';
import { createTrainingJobsRepository } from '../modules/models/training-jobs.repository.ts';
import { createUsersRepository, type UsersRepository } from '../modules/users/users.repository.ts';

interface Context {
  database: Database;
  models: ModelsService;
  repo: ReturnType<typeof createModelsRepository>;
  users: UsersRepository;
}

function buildModelsService(database: Database, config: Config, logger: Logger): { models: ModelsService; repo: ModelsRepository } {
  const repo = createModelsRepository(database.db);
  const models = createModelsService({
    models: repo,
    jobs: createTrainingJobsRepository(database.db),
    artifacts: createModelArtifactStore(config.dataDir),
    bus: createEventBus<EventMap>(logger),
    clock: systemClock,
    logger,
    // The CLI runs no detection sessions; a running server refuses deletion itself.
    usage: { isModelInUse: () => false },
  });
  return { models, repo };
}

/** Creates (or repairs, or updates) the preset models: `vigil migrate` runs it after the migrations. */
export async function installPresets(database: Database, config: Config): Promise<{ created: string[]; repaired: string[]; updated: string[]; skipped: string[] }> {
  const logger = createLogger({ ...config.log, level: 'warn' });
  return buildModelsService(database, config, logger).models.ensurePresets();
}

/** Opens the configured database and builds the same models service the server uses. */
async function withModels(action: (ctx: Context) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ ...config.log, level: config.log.level === 'info' ? 'warn' : config.log.level });
  const database = await connectDatabase(config);
  try {
    await migrateToLatest(database);
    const { models, repo } = buildModelsService(database, config, logger);
    await models.ensurePresets();
    await action({ database, models, repo, users: createUsersRepository(database.db) });
  } catch (err) {
    if (isAppError(err) && err.expose) {
      process.stderr.write(`vigil models: ${err.message} (${err.code})\n`);
      process.exitCode = err.status === 404 ? 3 : 2;
    } else throw err;
  } finally {
    await database.close();
  }
}

async function modelOrFail(ctx: Context, idText: string): Promise<ModelRow> {
  const id = Number(idText);
  const m = Number.isInteger(id) && id > 0 ? await ctx.repo.findById(id) : undefined;
  if (!m) {
    process.stderr.write(`vigil models: no model with id ${idText}\n`);
    process.exitCode = 3;
    throw new Error('handled');
  }
  return m;
}

const handled = (err: unknown) => {
  if (!(err instanceof Error && err.message === 'handled')) throw err;
};

/** `vigil models list|show|export|import`: the operator's view of the model registry. */
export function registerModelsCommands(program: Command): void {
  const models = program.command('models').description('List, inspect, export and import models (presets and users’ models)');

  models
    .command('list')
    .description('List models: presets first, then users’ models')
    .option('-u, --user <username>', "only this user's models")
    .option('--json', 'print JSON')
    .action(async (opts: { user?: string; json?: boolean }) =>
      withModels(async (ctx) => {
        let userId: number | undefined;
        if (opts.user) {
          const u = await ctx.users.findByUsername(opts.user);
          if (!u) {
            process.stderr.write(`vigil models: no user ${opts.user}\n`);
            process.exitCode = 3;
            return;
          }
          userId = u.id;
        }
        const rows = await ctx.repo.listAll(userId === undefined ? {} : { userId });
        if (opts.json) {
          console.log(JSON.stringify(rows.map((r) => ({ id: r.id, name: r.name, kind: r.kind, material_type: r.materialType, is_preset: r.isPreset, owner_id: r.userId, visibility: r.visibility, accuracy: r.accuracy, file_size: r.fileSize })), null, 2));
          return;
        }
        console.log(['id', 'kind', 'owner', 'visibility', 'accuracy', 'name'].join('\t'));
        for (const r of rows) {
          console.log([r.id, r.kind, r.isPreset ? 'preset' : r.userId, r.visibility, r.accuracy ?? '-', r.name].join('\t'));
        }
      }),
    );

  models
    .command('show')
    .description('Show one model: card, kind, params, threshold, metrics and job history (JSON)')
    .argument('<id>', 'model id')
    .action(async (id: string) =>
      withModels(async (ctx) => {
        const m = await modelOrFail(ctx, id).catch(handled);
        if (!m) return;
        console.log(JSON.stringify(await ctx.models.get({ userId: m.userId }, m.id), null, 2));
      }),
    );

  models
    .command('export')
    .description('Write a model artifact (checksum verified) to a file, or to stdout')
    .argument('<id>', 'model id')
    .option('-o, --output <file>', 'file to write (default: stdout)')
    .action(async (id: string, opts: { output?: string }) =>
      withModels(async (ctx) => {
        const m = await modelOrFail(ctx, id).catch(handled);
        if (!m) return;
        const file = await ctx.models.download({ userId: m.userId }, m.id);
        if (opts.output) {
          await writeFile(opts.output, file.text);
          process.stderr.write(`wrote ${opts.output} (${file.text.length} bytes, sha256 ${m.checksum})\n`);
        } else process.stdout.write(file.text);
      }),
    );

  models
    .command('import')
    .description("Validate an artifact fully and store it as a user's private model")
    .argument('<file>', 'artifact JSON file (as exported or downloaded)')
    .requiredOption('-u, --user <username>', 'owner of the imported model')
    .requiredOption('-n, --name <name>', 'model name')
    .option('-m, --material-type <type>', 'material type', 'general')
    .option('-d, --description <text>', 'description')
    .action(async (file: string, opts: { user: string; name: string; materialType: string; description?: string }) =>
      withModels(async (ctx) => {
        const u = await ctx.users.findByUsername(opts.user);
        if (!u) {
          process.stderr.write(`vigil models: no user ${opts.user}\n`);
          process.exitCode = 3;
          return;
        }
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch {
          process.stderr.write(`vigil models: cannot read ${file}\n`);
          process.exitCode = 2;
          return;
        }
        const m = await ctx.models.upload(u.id, { artifactText: text, name: opts.name, materialType: opts.materialType, description: opts.description ?? null });
        console.log(`imported model ${m.id} (${m.kind}) for ${u.username}`);
      }),
    );
}
