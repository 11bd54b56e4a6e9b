import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { warmSession } from '../support/alarms.ts';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { eventually, sleep } from '../support/realtime.ts';
import { traceCsv, uploadRecording } from '../support/recordings.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const BIN = path.resolve('bin/vigil.js');

function cli(db: TestDatabase) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DB_|DATABASE_URL|JWT_|DATA_DIR)/.test(k)) env[k] = v;
  Object.assign(env, { DATABASE_URL: db.url, DATA_DIR: db.dataDir, LOG_PRETTY: 'false', LOG_LEVEL: 'warn', JWT_SECRET: 'x'.repeat(40) });
  return (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
}

/** Every table's rows in a stable order (what a round trip must keep identical). */
async function dump(url: string, dataDir: string): Promise<Record<string, unknown[]>> {
  const database = openDatabase(loadConfig({ dotenv: false, env: { DATABASE_URL: url, DATA_DIR: dataDir } }).database);
  try {
    const db = database.db as unknown as Kysely<any>;
    const out: Record<string, unknown[]> = {};
    for (const t of await db.introspection.getTables()) {
      if (t.name.startsWith('vigil_migrations')) continue;
      const cols = t.columns.map((c) => c.name);
      let q = db.selectFrom(t.name).selectAll();
      for (const c of cols) q = q.orderBy(c);
      out[t.name] = await q.execute();
    }
    return out;
  } finally {
    await database.close();
  }
}

describe.each(testDialects())('vigil backup / restore [%s]', (dialect) => {
  let server: TestServer | undefined;
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    await server?.stop();
    for (const d of dbs) await d.drop();
  });

  it('round-trips users, models, recordings and session logs with their files, refuses a non-empty target without --force, and the restored server loads the model', async () => {
    server = await startTestServer(dialect, { LOG_BATCH_SIZE: '40', LOG_FLUSH_MS: '50' });
    const api = httpClient(server.baseUrl);
    const u = await registerUser(api, 'backup');
    const rec = await uploadRecording(server.baseUrl, u.token, traceCsv({ seed: 3, durationS: 60 }), { name: 'bench' });
    expect(rec.status).toBe(201);
    const preset = (await api.get('/api/models', u.token)).body.find((m: any) => m.is_preset);
    const artifact = await api.get(`/models/${preset.id}/download`, u.token);
    const mine = await server.app.services.models.upload(u.id, { artifactText: JSON.stringify(artifact.body), name: 'Mine', materialType: 'steel', description: null });
    const s = await warmSession(server.baseUrl, api, u, { seed: 5 });
    await sleep(500);
    expect((await api.post('/detection/stop', { session_id: s.sessionId }, u.token)).status).toBe(200);
    s.socket.disconnect();
    await server.app.services.alarms.drain();
    const logs = await eventually(async () => {
      const r = await api.get(`/detection/sessions/${s.sessionId}/logs?limit=10`, u.token);
      return r.body.logs?.length > 0 ? r : undefined;
    });
    expect(logs!.status).toBe(200);

    // Online: the server keeps running while the backup is taken.
    const out = path.join(server.db.dataDir, `vigil-backup-test-${randomBytes(4).toString('hex')}`);
    const backup = cli(server.db)('backup', '--out', out);
    expect(backup.stderr).not.toMatch(/error/i);
    expect(backup.status).toBe(0);
    expect(backup.stdout).toContain(`backup written to ${out}`);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'vigil-backup', version: 1, dialect, missing: [] });
    expect(manifest.files.map((f: any) => f.path)).toEqual(expect.arrayContaining([expect.stringMatching(/^models\/user\//), expect.stringMatching(/^recordings\//)]));
    expect(cli(server.db)('backup', '--out', out).status).toBe(2);

    const before = await dump(server.db.url, server.db.dataDir);
    await server.app.stop();

    const fresh = await createTestDatabase(dialect);
    dbs.push(fresh);
    const restore = cli(fresh)('restore', out);
    expect(restore.stderr).not.toMatch(/Error/);
    expect(restore.status).toBe(0);
    const after = await dump(fresh.url, fresh.dataDir);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const t of Object.keys(before)) expect({ t, rows: after[t] }).toEqual({ t, rows: before[t] });
    expect(after.detection_logs!.length).toBeGreaterThan(0);
    expect(after.users!.length).toBe(1);
    for (const f of manifest.files) expect(readFileSync(path.join(fresh.dataDir, f.path))).toEqual(readFileSync(path.join(server.db.dataDir, f.path)));

    // A second restore into the now non-empty target is refused; --force replaces it.
    const again = cli(fresh)('restore', out);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('restore-target-not-empty');
    expect(again.stderr).toMatch(/table users: 1 row/);
    writeFileSync(path.join(fresh.dataDir, manifest.files[0].path), 'tampered');
    const forced = cli(fresh)('restore', out, '--force');
    expect(forced.status).toBe(0);
    expect(await dump(fresh.url, fresh.dataDir)).toEqual(before);
    expect(readFileSync(path.join(fresh.dataDir, manifest.files[0].path))).toEqual(readFileSync(path.join(out, 'files', manifest.files[0].path)));

    // A corrupt backup is refused before anything is touched.
    writeFileSync(path.join(out, 'files', manifest.files[0].path), 'corrupt');
    const corrupt = cli(fresh)('restore', out, '--force');
    expect(corrupt.status).toBe(2);
    expect(corrupt.stderr).toContain('backup-invalid');

    // The restored server signs the user in and loads the model from its restored artifact.
    const config = loadConfig({ dotenv: false, env: { DATABASE_URL: fresh.url, DATA_DIR: fresh.dataDir, JWT_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0' } });
    const restored = await createApp({ config, logger: createLogger(config.log) });
    try {
      const r = httpClient(await restored.listen(0, '127.0.0.1'));
      const login = await r.post('/auth/login', { username: u.username, password: u.password });
      expect(login.status).toBe(200);
      const token = login.body.access_token as string;
      const sel = await r.post(`/models/${mine.id}/select`, undefined, token);
      expect(sel.status).toBe(200);
      const dl = await r.get(`/models/${mine.id}/download`, token);
      expect(dl.status).toBe(200);
      expect(dl.headers.get('x-checksum-sha256')).toBe(before.ml_models!.map((m: any) => m).find((m: any) => m.id === mine.id)!.checksum);
      expect((await r.get(`/detection/sessions/${s.sessionId}/logs?limit=5`, token)).body.logs.length).toBe(5);
    } finally {
      await restored.stop();
    }
  }, 240_000);
});
