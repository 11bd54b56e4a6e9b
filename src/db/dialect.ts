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

/** How an upsert merges a new value into the stored one. */
export type Merge = 'add' | 'min' | 'max';

/**
 * Inserts rows, or merges them into the row with the same `key` (one statement per batch):
 * SQLite `ON CONFLICT (key) DO UPDATE SET c = c + excluded.c`, MySQL `ON DUPLICATE KEY UPDATE
 * c = c + VALUES(c)` (`least`/`greatest` for min/max).
 */
export function upsertMerging<T, DB, TB extends keyof DB, O>(db: Kysely<T>, q: InsertQueryBuilder<DB, TB, O>, key: string[], merges: Record<string, Merge>): InsertQueryBuilder<DB, TB, O> {
  const mysql = isMysql(db);
  const set: Record<string, unknown> = {};
  for (const [col, how] of Object.entries(merges)) {
    const cur = sql.ref(col);
    const inc = mysql ? sql`values(${sql.ref(col)})` : sql.ref(`excluded.${col}`);
    if (how === 'add') set[col] = sql`${cur} + ${inc}`;
    else if (mysql) set[col] = how === 'min' ? sql`least(${cur}, ${inc})` : sql`greatest(${cur}, ${inc})`;
    else set[col] = sql`${sql.raw(how)}(${cur}, ${inc})`;
  }
  if (mysql) return q.onDuplicateKeyUpdate(set as never);
  return q.onConflict((oc) => oc.columns(key as never).doUpdateSet(set as never));
}

/**
 * The bucket index `floor((column - from) / widthMs)` of a stored-time column, as an integer SQL
 * expression (for downsampling in SQL). SQLite: from Julian days; MySQL: `TIMESTAMPDIFF`.
 */
export function bucketIndex<T>(db: Kysely<T>, column: string, from: string, widthMs: number) {
  const w = sql.lit(Math.max(1, Math.floor(widthMs)));
  if (isMysql(db)) return sql<number>`floor(timestampdiff(microsecond, ${from}, ${sql.ref(column)}) / (1000 * ${w}))`;
  return sql<number>`cast(round((julianday(${sql.ref(column)}) - julianday(${from})) * 86400000.0) as integer) / ${w}`;
}
