import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateDown, migrateToLatest, migrationStatus } from '../../src/db/migrate.ts';
import { migrations } from '../../src/db/migrations/index.ts';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';

const SEED_TABLES = ['users', 'posts', 'follows', 'ml_models', 'detection_sessions', 'detection_logs'];

describe.each(testDialects())('migrations [%s]', (dialect) => {
  let tdb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    database = openDatabase(loadConfig({ env: { DATABASE_URL: tdb.url, DATA_DIR: tdb.dataDir } }).database);
  });
  afterAll(async () => {
    await database?.close();
    await tdb?.drop();
  });

  const tables = async () => (await database.db.introspection.getTables()).map((t) => t.name);

  it('applies a lower-numbered migration that arrives after higher ones ran (branches merged out of order)', async () => {
    const names = Object.keys(migrations);
    const late = names.find((n) => n.startsWith('0015'));
    expect(late).toBeDefined();
    const early = Object.fromEntries(Object.entries(migrations).filter(([n]) => n !== late));
    const first = await new Migrator({ db: database.db, provider: { getMigrations: () => Promise.resolve(early) }, migrationTableName: 'vigil_migrations', migrationLockTableName: 'vigil_migrations_lock', allowUnorderedMigrations: true }).migrateToLatest();
    expect(first.error).toBeUndefined();
    const up = await migrateToLatest(database);
    expect(up.applied).toEqual([late]);
    await migrateDown(database, names.length);
  });

  it("creates the seed's tables, rolls every migration back and re-applies them", async () => {
    const up = await migrateToLatest(database);
    expect(up.applied).toEqual(Object.keys(migrations));
    expect(await tables()).toEqual(expect.arrayContaining(SEED_TABLES));

    expect((await migrateToLatest(database)).applied).toEqual([]);
    expect((await migrationStatus(database)).every((m) => m.executedAt !== null)).toBe(true);

    const down = await migrateDown(database, Object.keys(migrations).length);
    expect(down.applied).toEqual(Object.keys(migrations).reverse());
    const left = await tables();
    for (const t of SEED_TABLES) expect(left).not.toContain(t);

    expect((await migrateToLatest(database)).applied).toEqual(Object.keys(migrations));
  });

  it('enforces foreign keys (a post needs an existing user)', async () => {
    const now = '2026-01-01 00:00:00.000';
    await expect(
      database.db.insertInto('posts').values({ user_id: 999_999, content: 'x', created_at: now, updated_at: now }).execute(),
    ).rejects.toThrow();
  });
});
