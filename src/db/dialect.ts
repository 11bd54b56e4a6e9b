import { MysqlAdapter, sql, type InsertQueryBuilder, type Kysely } from 'kysely';

/**
 * The few statements SQLite and MySQL/MariaDB spell differently, in one place so repositories
 * stay portable.
 */
export const isMysql = <T>(db: Kysely<T>): boolean => db.getExecutor().adapter instanceof MysqlAdapter;

/**
 * Makes an INSERT skip rows whose unique key already exists (idempotent writes: replays insert
 * each row once). SQLite: `ON CONFLICT DO NOTHING`; MySQL: `ON DUPLICATE KEY UPDATE col = col`,
 * a no-op update (unlike `INSERT IGNORE`, it does not also swallow other errors).
 * `noopColumn` is any column of the table.
 */
export function skipDuplicates<T, DB, TB extends keyof DB, O>(db: Kysely<T>, q: InsertQueryBuilder<DB, TB, O>, noopColumn: string): InsertQueryBuilder<DB, TB, O> {
  if (isMysql(db)) return q.onDuplicateKeyUpdate({ [noopColumn]: sql.ref(noopColumn) } as never);
  return q.onConflict((oc) => oc.doNothing());
}
