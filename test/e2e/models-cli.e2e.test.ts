import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';

const BIN = path.resolve('bin/vigil.js');

describe.each(testDialects())('vigil models [%s]', (dialect) => {
  let db: TestDatabase;
  afterAll(async () => db?.drop());

  it('lists presets, shows and exports one, imports it for a user, and refuses a malicious file', async () => {
    db = await createTestDatabase(dialect);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DB_|DATABASE_URL|JWT_|DATA_DIR)/.test(k)) env[k] = v;
    Object.assign(env, { DATABASE_URL: db.url, DATA_DIR: db.dataDir, LOG_PRETTY: 'false', LOG_LEVEL: 'warn' });
    const vigil = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 60_000, input: 'long enough pw\n' });

    const list = vigil('models', 'list', '--json');
    expect(list.stderr).toBe('');
    const models = JSON.parse(list.stdout);
    expect(models.length).toBeGreaterThanOrEqual(3);
    expect(models.every((m: any) => m.is_preset)).toBe(true);

    const show = vigil('models', 'show', String(models[0].id));
    expect(JSON.parse(show.stdout)).toMatchObject({ id: models[0].id, is_preset: true, kind: 'auto', checksum: expect.any(String) });
    expect(vigil('models', 'show', '99999').status).toBe(3);

    const file = path.join(db.dataDir, 'export.json');
    const exp = vigil('models', 'export', String(models[0].id), '-o', file);
    expect(exp.status).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 'vigil-detector', kind: 'auto' });

    expect(vigil('user', 'create', '-u', 'operator', '-e', 'op@example.test', '--password-stdin').status).toBe(0);
    const imp = vigil('models', 'import', file, '-u', 'operator', '-n', 'Imported', '-m', 'metal');
    expect(imp.stderr).toBe('');
    expect(imp.stdout).toMatch(/imported model \d+ \(auto\) for operator/);
    const mine = JSON.parse(vigil('models', 'list', '-u', 'operator', '--json').stdout);
    expect(mine).toEqual([expect.objectContaining({ name: 'Imported', is_preset: false, visibility: 'private' })]);

    const evil = path.join(db.dataDir, 'evil.json');
    writeFileSync(evil, readFileSync(file, 'utf8').replace('{', '{"__proto__":{"admin":true},'));
    const bad = vigil('models', 'import', evil, '-u', 'operator', '-n', 'Evil');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('invalid-model-file');
  }, 180_000);
});
