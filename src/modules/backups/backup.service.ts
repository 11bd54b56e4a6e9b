import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Config } from '../../config/index.ts';
import { ensureMysqlDatabase, openDatabase, type Database } from '../../db/database.ts';
import { migrateTo, migrateToLatest } from '../../db/migrate.ts';
import { migrations as knownMigrations } from '../../db/migrations/index.ts';
import { AppError } from '../../lib/errors.ts';
import { backupSqliteFile, createBackupRepository, sqliteFilePaths, type Cell } from './backup.repository.ts';

export const BACKUP_FORMAT = 'vigil-backup';
export const BACKUP_VERSION = 1;

/** `manifest.json` at the top of a backup directory. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  created_at: string;
  vigil_version: string;
  dialect: 'sqlite' | 'mysql';
  /** Migrations applied in the copied database, in order. */
  migrations: string[];
  /** SQLite: one file made by the online backup API. */
  sqlite?: { file: string; size: number; sha256: string };
  /** MySQL/MariaDB: one JSON-lines file per table (a JSON array of cells per line). */
  tables?: Array<{ name: string; columns: string[]; rows: number; file: string; sha256: string }>;
  /** Model artifacts and recordings named by the copied rows, under `files/` at their DATA_DIR paths. */
  files: Array<{ path: string; size: number; sha256: string }>;
  /** Files the rows name that were gone when copied (deleted meanwhile). */
  missing: string[];
}

export interface BackupDeps {
  config: Config;
  version: string;
  now?: () => Date;
  /** Progress lines for the operator (stderr in the CLI). */
  log?: (line: string) => void;
}

const sha256File = async (file: string): Promise<string> => {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
};

function insideDataDir(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  if (!abs.startsWith(path.resolve(root) + path.sep)) throw new AppError('backup-invalid', `The path ${JSON.stringify(rel)} leaves the data folder.`);
  return abs;
}

async function openTarget(config: Config): Promise<Database> {
  if (config.database.dialect === 'mysql') await ensureMysqlDatabase(config.database);
  return openDatabase(config.database);
}

function write(stream: WriteStream, text: string): Promise<void> | void {
  if (!stream.write(text)) return new Promise((resolve) => stream.once('drain', () => resolve()));
}

const end = (stream: WriteStream) => new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));

/**
 * `vigil backup` and `vigil restore`: a directory holding the database (SQLite online backup, or a
 * consistent logical export of MySQL/MariaDB) and the files its rows name, with checksums.
 * Decision 0017 explains the choices.
 */
export function createBackupService(deps: BackupDeps) {
  const { config } = deps;
  const log = deps.log ?? (() => undefined);
  const root = path.resolve(config.dataDir);

  async function copyFiles(paths: string[], into: string): Promise<{ files: BackupManifest['files']; missing: string[] }> {
    const files: BackupManifest['files'] = [];
    const missing: string[] = [];
    for (const rel of paths) {
      const from = insideDataDir(root, rel);
      const to = path.join(into, 'files', rel);
      await mkdir(path.dirname(to), { recursive: true });
      try {
        await copyFile(from, to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          missing.push(rel);
          continue;
        }
        throw err;
      }
      files.push({ path: rel, size: (await stat(to)).size, sha256: await sha256File(to) });
    }
    return { files, missing };
  }

  return {
    /** Writes a backup directory at `out` (default `vigil-backup-<UTC time>`); refuses an existing path. */
    async backup(out?: string): Promise<{ dir: string; manifest: BackupManifest }> {
      const createdAt = (deps.now?.() ?? new Date()).toISOString();
      const dir = path.resolve(out ?? `vigil-backup-${createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`);
      if (existsSync(dir)) throw new AppError('backup-exists', `${dir} already exists; choose another --out.`);
      const tmp = `${dir}.partial-${randomBytes(4).toString('hex')}`;
      await mkdir(tmp, { recursive: true });
      try {
        const base = { format: BACKUP_FORMAT, version: BACKUP_VERSION, created_at: createdAt, vigil_version: deps.version } as const;
        let manifest: BackupManifest;
        if (config.database.dialect === 'sqlite') {
          if (!existsSync(config.database.file)) throw new AppError('backup-invalid', `There is no database at ${config.database.file}.`);
          const file = path.join(tmp, 'database.sqlite');
          log(`copying SQLite ${config.database.file} (online backup API)`);
          await backupSqliteFile(config.database.file, file);
          const named = sqliteFilePaths(file);
          log(`copying ${named.files.length} data file(s)`);
          const copied = await copyFiles(named.files, tmp);
          manifest = { ...base, dialect: 'sqlite', migrations: named.migrations, sqlite: { file: 'database.sqlite', size: (await stat(file)).size, sha256: await sha256File(file) }, ...copied };
        } else {
          const database = openDatabase(config.database);
          try {
            const repo = createBackupRepository(database.db);
            await mkdir(path.join(tmp, 'tables'));
            const tables: NonNullable<BackupManifest['tables']> = [];
            let current: { name: string; columns: string[]; stream: WriteStream } | undefined;
            let copied: { files: BackupManifest['files']; missing: string[] } = { files: [], missing: [] };
            log(`exporting ${config.database.host}:${config.database.port}/${config.database.database} in one consistent snapshot`);
            const { migrations } = await repo.exportSnapshot({
              table: async (name, columns) => {
                current = { name, columns, stream: createWriteStream(path.join(tmp, 'tables', `${name}.jsonl`)) };
              },
              row: (values) => write(current!.stream, `${JSON.stringify(values)}\n`),
              endTable: async (name, rows) => {
                await end(current!.stream);
                const file = `tables/${name}.jsonl`;
                tables.push({ name, columns: current!.columns, rows, file, sha256: await sha256File(path.join(tmp, file)) });
                log(`  ${name}: ${rows} row(s)`);
              },
              // Inside the snapshot, so a model deleted meanwhile still has its file here.
              files: async (paths) => {
                log(`copying ${paths.length} data file(s)`);
                copied = await copyFiles(paths, tmp);
              },
            });
            manifest = { ...base, dialect: 'mysql', migrations, tables, ...copied };
          } finally {
            await database.close();
          }
        }
        await writeFile(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
        await rename(tmp, dir);
        return { dir, manifest };
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
    },

    /**
     * Restores a backup directory into the configured database and DATA_DIR. Everything is checked
     * first (format, checksums, migrations this build knows); a target holding users' data is
     * refused unless `force`. Run it with the server stopped.
     */
    async restore(dirArg: string, opts: { force?: boolean } = {}): Promise<{ manifest: BackupManifest; rows: number; files: number }> {
      const dir = path.resolve(dirArg);
      let manifest: BackupManifest;
      try {
        manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
      } catch {
        throw new AppError('backup-invalid', `${dir} is not a Vigil backup (no readable manifest.json).`);
      }
      if (manifest.format !== BACKUP_FORMAT || manifest.version !== BACKUP_VERSION) throw new AppError('backup-invalid', `${dir} is not a version ${BACKUP_VERSION} Vigil backup.`);
      if (manifest.dialect !== config.database.dialect) {
        throw new AppError('backup-invalid', `This is a ${manifest.dialect === 'sqlite' ? 'SQLite' : 'MySQL/MariaDB'} backup; the configured database is ${config.database.dialect === 'sqlite' ? 'SQLite' : 'MySQL/MariaDB'}.`);
      }
      const unknown = manifest.migrations.filter((m) => !(m in knownMigrations));
      if (unknown.length > 0) throw new AppError('backup-invalid', `The backup comes from a newer Vigil (migrations ${unknown.join(', ')}); upgrade first.`);
      const lastMigration = manifest.migrations.at(-1);
      if (!lastMigration) throw new AppError('backup-invalid', 'The backup records no migrations.');

      log('verifying checksums');
      const checks: Array<{ file: string; sha256: string }> = [
        ...(manifest.sqlite ? [manifest.sqlite] : []),
        ...(manifest.tables ?? []),
        ...manifest.files.map((f) => ({ file: path.join('files', f.path), sha256: f.sha256 })),
      ];
      for (const c of checks) {
        const abs = path.resolve(dir, c.file);
        if (!abs.startsWith(dir + path.sep)) throw new AppError('backup-invalid', `The manifest names ${c.file}, outside the backup.`);
        const actual = await sha256File(abs).catch(() => undefined);
        if (actual !== c.sha256) throw new AppError('backup-invalid', `${c.file} is ${actual ? 'corrupt (checksum mismatch)' : 'missing'}; the backup cannot be restored.`);
      }
      for (const f of manifest.files) insideDataDir(root, f.path);

      // What would be overwritten.
      const conflicts: string[] = [];
      const sqliteTarget = config.database.dialect === 'sqlite' ? config.database.file : undefined;
      if (!sqliteTarget || existsSync(sqliteTarget)) {
        const database = await openTarget(config);
        try {
          const content = await createBackupRepository(database.db).userContent();
          for (const [t, n] of Object.entries(content)) conflicts.push(`table ${t}: ${n} row(s)`);
        } finally {
          await database.close();
        }
      }
      for (const f of manifest.files) {
        const target = insideDataDir(root, f.path);
        if (existsSync(target) && (await sha256File(target)) !== f.sha256) conflicts.push(`file ${f.path} differs`);
      }
      if (conflicts.length > 0 && !opts.force) {
        throw new AppError('restore-target-not-empty', `The target already holds data (${conflicts.slice(0, 5).join('; ')}${conflicts.length > 5 ? `; ${conflicts.length - 5} more` : ''}). Restore into an empty database and data folder, or pass --force to replace it.`, {
          details: conflicts,
        });
      }

      let rows = 0;
      if (sqliteTarget) {
        log(`writing ${sqliteTarget}`);
        await mkdir(path.dirname(sqliteTarget), { recursive: true });
        for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(`${sqliteTarget}${suffix}`, { force: true });
        const tmp = `${sqliteTarget}.restore-${randomBytes(4).toString('hex')}`;
        await copyFile(path.join(dir, manifest.sqlite!.file), tmp);
        await rename(tmp, sqliteTarget);
      }
      const database = await openTarget(config);
      try {
        if (!sqliteTarget) {
          const repo = createBackupRepository(database.db);
          if (opts.force) await repo.dropAll();
          log(`creating the tables (up to migration ${lastMigration})`);
          await migrateTo(database, lastMigration);
          log('loading rows');
          rows = await repo.importRows(readTables(dir, manifest.tables ?? []));
        }
        const upgraded = await migrateToLatest(database);
        if (upgraded.applied.length > 0) log(`applied newer migrations: ${upgraded.applied.join(', ')}`);
      } finally {
        await database.close();
      }

      log(`restoring ${manifest.files.length} data file(s) into ${root}`);
      for (const f of manifest.files) {
        const target = insideDataDir(root, f.path);
        await mkdir(path.dirname(target), { recursive: true });
        const tmp = `${target}.restore-${randomBytes(4).toString('hex')}`;
        await copyFile(path.join(dir, 'files', f.path), tmp);
        await rename(tmp, target);
      }
      return { manifest, rows, files: manifest.files.length };
    },
  };
}

/** Yields each table's rows in batches (an empty first batch clears the table even when it has none). */
async function* readTables(dir: string, tables: NonNullable<BackupManifest['tables']>): AsyncIterable<{ table: string; columns: string[]; rows: Cell[][] }> {
  for (const t of tables) {
    yield { table: t.name, columns: t.columns, rows: [] };
    let batch: Cell[][] = [];
    const lines = createInterface({ input: createReadStream(path.join(dir, t.file), 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line === '') continue;
      batch.push(JSON.parse(line) as Cell[]);
      if (batch.length >= 500) {
        yield { table: t.name, columns: t.columns, rows: batch };
        batch = [];
      }
    }
    if (batch.length > 0) yield { table: t.name, columns: t.columns, rows: batch };
  }
}

export type BackupService = ReturnType<typeof createBackupService>;
