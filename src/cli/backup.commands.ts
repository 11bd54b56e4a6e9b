import type { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { isAppError } from '../lib/errors.ts';
import { createBackupService } from '../modules/backups/backup.service.ts';
import { VERSION } from '../version.ts';

async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!isAppError(err) || !err.expose) throw err;
    process.stderr.write(`vigil: ${err.message} (${err.code})\n`);
    process.exitCode = 2;
  }
}

/** `vigil backup` and `vigil restore`: the database plus the model artifacts and recordings its rows name. */
export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('Copy the database (consistent, while the server runs) and the model artifacts and recordings into a new backup directory')
    .option('-o, --out <dir>', 'backup directory to create (default: ./vigil-backup-<UTC time>)')
    .action(async (opts: { out?: string }) =>
      run(async () => {
        const config = loadConfig();
        const log = (line: string) => process.stderr.write(`${line}\n`);
        const { dir, manifest } = await createBackupService({ config, version: VERSION, log }).backup(opts.out);
        const rows = manifest.tables?.reduce((a, t) => a + t.rows, 0);
        for (const m of manifest.missing) log(`warning: ${m} was named by the database but is gone (deleted meanwhile?)`);
        console.log(`backup written to ${dir} (${manifest.dialect}${rows !== undefined ? `, ${rows} rows` : ''}, ${manifest.files.length} files)`);
      }),
    );

  program
    .command('restore')
    .description('Restore a backup directory into the configured database and DATA_DIR (stop the server first)')
    .argument('<dir>', 'a directory written by `vigil backup`')
    .option('--force', 'replace a database or data folder that already holds data')
    .action(async (dir: string, opts: { force?: boolean }) =>
      run(async () => {
        const config = loadConfig();
        const log = (line: string) => process.stderr.write(`${line}\n`);
        const r = await createBackupService({ config, version: VERSION, log }).restore(dir, { force: opts.force ?? false });
        console.log(`restored the backup of ${r.manifest.created_at} (${r.manifest.dialect}${r.manifest.dialect === 'mysql' ? `, ${r.rows} rows` : ''}, ${r.files} files)`);
      }),
    );
}
