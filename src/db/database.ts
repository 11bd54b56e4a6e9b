import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, MysqlDialect, SqliteDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import { createConnection } from 'mysql2/promise';
import type { DatabaseConfig } from '../config/index.ts';
import type { DB } from './schema.ts';

export type Dialect = 'sqlite' | 'mysql';

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  /** Round-trips a trivial query; resolves to the latency in ms or rejects. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

/** Creates the MySQL database named in the config if it does not exist yet. */
export async function ensureMysqlDatabase(cfg: Extract<DatabaseConfig, { dialect: 'mysql' }>): Promise<void> {
  const conn = await createConnection({ host: cfg.host, port: cfg.port, user: cfg.user, password: cfg.password });
  try {
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${cfg.database.replace(/`/g, '``')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await conn.end();
  }
}

export function openDatabase(cfg: DatabaseConfig): Database {
  if (cfg.dialect === 'sqlite') {
    if (cfg.file !== ':memory:') mkdirSync(path.dirname(cfg.file), { recursive: true });
    const sqlite = new SQLite(cfg.file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
    const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
    return { db, dialect: 'sqlite', ping: () => timed(db), close: () => db.destroy() };
  }
  const pool = createPool({
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    password: cfg.password,
    database: cfg.database,
    connectionLimit: cfg.poolSize,
    // Timestamps are stored and read as UTC 'YYYY-MM-DD HH:MM:SS.fff' strings on both dialects.
    dateStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    connectTimeout: 5000,
  });
  const db = new Kysely<DB>({ dialect: new MysqlDialect({ pool }) });
  return { db, dialect: 'mysql', ping: () => timed(db), close: () => db.destroy() };
}

async function timed(db: Kysely<DB>): Promise<number> {
  const t0 = performance.now();
  await sql`select 1`.execute(db);
  return performance.now() - t0;
}
