import type { TestProject } from 'vitest/node';
import { createConnection } from 'mysql2/promise';

/**
 * Decides once which databases the suite runs against. MySQL/MariaDB comes from TEST_MYSQL_URL
 * (default mysql://root@127.0.0.1:3306). With CI set, an unreachable MySQL fails the run; on a
 * developer machine the MySQL half is skipped with a loud warning. VIGIL_TEST_DBS=sqlite|mysql
 * narrows the matrix explicitly.
 */
export default async function setup(project: TestProject) {
  const url = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
  const wanted = (process.env.VIGIL_TEST_DBS ?? 'sqlite,mysql').split(',').map((s) => s.trim());
  const dbs: string[] = [];
  if (wanted.includes('sqlite')) dbs.push('sqlite');
  if (wanted.includes('mysql')) {
    try {
      const u = new URL(url);
      const conn = await createConnection({
        host: u.hostname,
        port: Number(u.port || 3306),
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
        connectTimeout: 3000,
      });
      await conn.end();
      dbs.push('mysql');
    } catch (err) {
      const msg = `MySQL/MariaDB is not reachable at ${url}: ${(err as Error).message}`;
      if (process.env.CI) throw new Error(`${msg}. CI requires it (set TEST_MYSQL_URL or start MariaDB).`);
      console.warn(`\n\u26a0  ${msg}\n\u26a0  Skipping the MySQL half of the suite. Start MariaDB to run it.\n`);
    }
  }
  project.provide('testDbs', dbs);
  project.provide('mysqlUrl', url);
}

declare module 'vitest' {
  export interface ProvidedContext {
    testDbs: string[];
    mysqlUrl: string;
  }
}
