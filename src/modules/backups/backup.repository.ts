import SQLite from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';

/** Kysely's own bookkeeping: the migrator fills these on restore, they are never copied. */
export const MIGRATION_TABLES = new Set(['vigil_migrations', 'vigil_migrations_lock']);

/** Rows that a freshly migrated and started Vigil has by itself: they do not make a database "in use". */
const BUILT_IN: Record<string, [column: string, op: '=' | 'is not', value: number | null]> = {
  ml_models: ['is_preset', '=', 0],
  devices: ['user_id', 'is not', null],
};

/** Any table, any column: backups handle tables by name, whatever later migrations add. */
type AnyDB = Record<string, Record<string, unknown>>;

/** A JSON-safe cell: buffers travel as base64 (no Vigil table has one today). */
export type Cell = string | number | null | { $base64: string };

const encodeCell = (v: unknown): Cell => {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return { $base64: v.toString('base64') };
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  return v as string | number;
};
const decodeCell = (v: Cell): unknown => (v !== null && typeof v === 'object' ? Buffer.from(v.$base64, 'base64') : v);

/**
 * The SQL a backup and a restore need, for any table (tables added by later migrations included):
 * list them, count what users put in them, copy rows out inside one consistent snapshot, and load
 * them back with foreign-key checks off. The only backup code touching the database.
 */
export function createBackupRepository(db: Kysely<DB>) {
  const anyDb = db as unknown as Kysely<AnyDB>;

  async function tables(): Promise<string[]> {
    return (await anyDb.introspection.getTables()).map((t) => t.name).sort();
  }

  return {
    tables,

    /** Data tables with rows a user or the operator created (preset models and server devices excluded). */
    async userContent(): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      // Users first: the most telling line of a refusal.
      for (const t of (await tables()).sort((a, b) => Number(b === 'users') - Number(a === 'users'))) {
        if (MIGRATION_TABLES.has(t)) continue;
        let q = anyDb.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n'));
        const only = BUILT_IN[t];
        if (only) q = q.where(only[0], only[1], only[2]);
        const n = Number((await q.executeTakeFirst())?.n ?? 0);
        if (n > 0) out[t] = n;
      }
      return out;
    },

    /** Names of the migrations applied, in order (empty when the table does not exist). */
    async appliedMigrations(): Promise<string[]> {
      if (!(await tables()).includes('vigil_migrations')) return [];
      const rows = await anyDb.selectFrom('vigil_migrations').select('name').orderBy('name').execute();
      return rows.map((r) => String(r.name));
    },

    /**
     * MySQL/MariaDB: every data table read inside ONE `START TRANSACTION WITH CONSISTENT SNAPSHOT,
     * READ ONLY` on one connection (REPEATABLE READ), streamed row by row to `onRow`, so the copy
     * is a single point in time while the server keeps writing.
     */
    async exportSnapshot(handlers: {
      table(name: string, columns: string[]): Promise<void>;
      row(values: Cell[]): Promise<void> | void;
      endTable(name: string, rows: number): Promise<void>;
      /** Called inside the snapshot with the files the copied rows name. */
      files(paths: string[]): Promise<void>;
    }): Promise<{ migrations: string[] }> {
      const meta = (await anyDb.introspection.getTables()).filter((t) => !MIGRATION_TABLES.has(t.name)).sort((a, b) => a.name.localeCompare(b.name));
      return db.connection().execute(async (conn) => {
        const c = conn as unknown as Kysely<AnyDB>;
        await sql`SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ`.execute(c);
        await sql`START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY`.execute(c);
        try {
          const migrations = (await c.selectFrom('vigil_migrations').select('name').orderBy('name').execute()).map((r) => String(r.name));
          for (const { name: t, columns: cols } of meta) {
            const columns = cols.map((col) => col.name);
            await handlers.table(t, columns);
            let n = 0;
            for await (const r of c.selectFrom(t).selectAll().stream(2000)) {
              await handlers.row(columns.map((col) => encodeCell((r as Record<string, unknown>)[col])));
              n++;
            }
            await handlers.endTable(t, n);
          }
          await handlers.files(await filePaths(c));
          await sql`COMMIT`.execute(c);
          return { migrations };
        } catch (err) {
          await sql`ROLLBACK`.execute(c).catch(() => undefined);
          throw err;
        }
      });
    },

    /** Drops every table (MySQL restore with --force). */
    async dropAll(): Promise<void> {
      await db.connection().execute(async (conn) => {
        const c = conn as unknown as Kysely<AnyDB>;
        await sql`SET FOREIGN_KEY_CHECKS = 0`.execute(c);
        try {
          for (const t of await tables()) await c.schema.dropTable(t).ifExists().execute();
        } finally {
          await sql`SET FOREIGN_KEY_CHECKS = 1`.execute(c);
        }
      });
    },

    /**
     * MySQL/MariaDB: loads rows into freshly migrated tables in one transaction, foreign-key checks
     * off (tables arrive in name order, not dependency order). `source` yields batches per table.
     */
    async importRows(source: AsyncIterable<{ table: string; columns: string[]; rows: Cell[][] }>): Promise<number> {
      return db.connection().execute(async (conn) => {
        const c = conn as unknown as Kysely<AnyDB>;
        await sql`SET FOREIGN_KEY_CHECKS = 0`.execute(c);
        await sql`START TRANSACTION`.execute(c);
        let total = 0;
        try {
          const cleared = new Set<string>();
          for await (const batch of source) {
            if (!cleared.has(batch.table)) {
              // A migration may seed rows; the backup's rows replace them.
              await c.deleteFrom(batch.table).execute();
              cleared.add(batch.table);
            }
            if (batch.rows.length === 0) continue;
            const values = batch.rows.map((r) => Object.fromEntries(batch.columns.map((col, i) => [col, decodeCell(r[i] ?? null)])));
            await c.insertInto(batch.table).values(values).execute();
            total += values.length;
          }
          await sql`COMMIT`.execute(c);
          return total;
        } catch (err) {
          await sql`ROLLBACK`.execute(c).catch(() => undefined);
          throw err;
        } finally {
          await sql`SET FOREIGN_KEY_CHECKS = 1`.execute(c).catch(() => undefined);
        }
      });
    },

    /** Every data file the rows name (model artifacts and recordings), relative to DATA_DIR. */
    filePaths: () => filePaths(anyDb),
  };
}

async function filePaths(c: Kysely<AnyDB>): Promise<string[]> {
  const models = await c.selectFrom('ml_models').select('file_path').execute();
  const recs = await c.selectFrom('recordings').select('file_path').execute();
  return [...new Set([...models, ...recs].map((r) => String(r.file_path)))].sort();
}

/**
 * SQLite's online backup API (better-sqlite3 `backup()`): a consistent copy of a live database,
 * WAL included, taken page by page while other connections keep writing.
 */
export async function backupSqliteFile(source: string, destination: string): Promise<void> {
  const conn = new SQLite(source, { readonly: true, fileMustExist: true });
  try {
    await conn.backup(destination);
  } finally {
    conn.close();
  }
}

/** The files a SQLite database file's rows name, read without opening it for writing. */
export function sqliteFilePaths(file: string): { files: string[]; migrations: string[] } {
  const conn = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const rows = conn.prepare('SELECT file_path FROM ml_models UNION SELECT file_path FROM recordings').all() as Array<{ file_path: string }>;
    const migrations = conn.prepare('SELECT name FROM vigil_migrations ORDER BY name').all() as Array<{ name: string }>;
    return { files: rows.map((r) => r.file_path).sort(), migrations: migrations.map((m) => m.name) };
  } finally {
    conn.close();
  }
}

export type BackupRepository = ReturnType<typeof createBackupRepository>;
