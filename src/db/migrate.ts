import { Migrator, type MigrationResultSet } from 'kysely';
import type { Database } from './database.ts';
import { migrations } from './migrations/index.ts';

export interface MigrationOutcome {
  applied: string[];
  direction: 'up' | 'down';
}

function outcome(set: MigrationResultSet, direction: 'up' | 'down'): MigrationOutcome {
  if (set.error) {
    const failed = set.results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Migration ${failed ?? ''} failed: ${(set.error as Error).message}`, { cause: set.error });
  }
  return { applied: (set.results ?? []).map((r) => r.migrationName), direction };
}

function migrator(database: Database): Migrator {
  return new Migrator({
    db: database.db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
    migrationTableName: 'vigil_migrations',
    migrationLockTableName: 'vigil_migrations_lock',
    // Parallel branches numbered their migrations in ranges (0005 after 0010, 0015–0017 after
    // 0020/0021 landed): a database that ran a higher number first still gets the lower ones.
    // Each touches its own tables or columns, so the order between ranges does not matter.
    allowUnorderedMigrations: true,
  });
}

/** The one migrate used by the CLI, the server's start-up and the tests. */
export async function migrateToLatest(database: Database): Promise<MigrationOutcome> {
  return outcome(await migrator(database).migrateToLatest(), 'up');
}

export async function migrateDown(database: Database, steps = 1): Promise<MigrationOutcome> {
  const m = migrator(database);
  const applied: string[] = [];
  for (let i = 0; i < steps; i++) {
    const r = outcome(await m.migrateDown(), 'down');
    if (r.applied.length === 0) break;
    applied.push(...r.applied);
  }
  return { applied, direction: 'down' };
}

export async function migrationStatus(database: Database) {
  return (await migrator(database).getMigrations()).map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}

/** Applies (or rolls back) migrations until `name` is the last one applied (restores use it). */
export async function migrateTo(database: Database, name: string): Promise<MigrationOutcome> {
  return outcome(await migrator(database).migrateTo(name), 'up');
}
