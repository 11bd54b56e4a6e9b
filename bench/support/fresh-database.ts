import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';

export interface FreshDatabase {
  url: string;
  dataDir: string;
  /** Drops the MySQL schema (if any) and removes the data folder. */
  drop(): Promise<void>;
}

/** A new SQLite file, or a new schema on the MySQL server at `mysqlUrl`, plus a data folder, for one benchmark run. */
export async function freshDatabase(dialect: string, mysqlUrl: string, prefix = 'vigil-bench-'): Promise<FreshDatabase> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), prefix));
  if (dialect === 'sqlite') return { url: `sqlite:${path.join(dataDir, 'bench.sqlite')}`, dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  const base = new URL(mysqlUrl);
  const name = `vigil_bench_${randomBytes(4).toString('hex')}`;
  const conn = () => createConnection({ host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) });
  const c = await conn();
  await c.query(`CREATE DATABASE \`${name}\``);
  await c.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir,
    async drop() {
      const d = await conn();
      await d.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await d.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
