import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { inject } from 'vitest';

export type TestDialect = 'sqlite' | 'mysql';

/** The databases this run covers (see global-setup.ts). */
export function testDialects(): TestDialect[] {
  return inject('testDbs') as TestDialect[];
}

export interface TestDatabase {
  dialect: TestDialect;
  /** A DATABASE_URL for a fresh, empty database. */
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

/** Creates a throw-away database (a temp SQLite file, or a new MySQL schema) and a temp DATA_DIR. */
export async function createTestDatabase(dialect: TestDialect): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-test-'));
  if (dialect === 'sqlite') {
    return {
      dialect,
      url: `sqlite:${path.join(dataDir, 'test.sqlite')}`,
      dataDir,
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const base = new URL(inject('mysqlUrl'));
  const name = `vigil_test_${randomBytes(6).toString('hex')}`;
  const connect = () =>
    createConnection({
      host: base.hostname,
      port: Number(base.port || 3306),
      user: decodeURIComponent(base.username),
      password: decodeURIComponent(base.password),
    });
  const conn = await connect();
  await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await conn.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.toString(),
    dataDir,
    async drop() {
      const c = await connect();
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
