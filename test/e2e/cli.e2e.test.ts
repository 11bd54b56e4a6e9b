import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { describe, expect, inject, it } from 'vitest';
import { testDialects } from '../support/db.ts';

const BIN = path.resolve('bin/vigil.js');
const baseEnv = (dataDir: string, extra: Record<string, string> = {}) => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(DB_|DATABASE_URL|JWT_|PORT|HOST|DATA_DIR)/.test(k)) env[k] = v;
  }
  return { ...env, DATA_DIR: dataDir, LOG_PRETTY: 'false', ...extra };
};
const vigil = (args: string[], env: Record<string, string>, input?: string) =>
  spawnSync(process.execPath, [BIN, ...args], { env, input, encoding: 'utf8', timeout: 60_000 });

describe('vigil CLI', () => {
  it('prints help listing its commands', () => {
    const r = vigil(['--help'], baseEnv(os.tmpdir()));
    expect(r.status).toBe(0);
    for (const cmd of ['serve', 'migrate', 'user']) expect(r.stdout).toContain(cmd);
  });

  it('fails with exit code 2 and every problem listed on invalid configuration', () => {
    const r = vigil(['migrate'], baseEnv(mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-')), { PORT: 'x', LOG_LEVEL: 'loud' }));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).toContain('LOG_LEVEL');
  });

  it('creates a user from the command line, refusing a duplicate with its code', () => {
    const env = baseEnv(mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-')));
    const ok = vigil(['user', 'create', '-u', 'operator', '-e', 'op@example.test', '--password-stdin'], env, 'long enough pw\n');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/Created user #1 operator/);
    const dup = vigil(['user', 'create', '-u', 'Operator', '-e', 'other@example.test', '--password', 'long enough pw'], env);
    expect(dup.status).toBe(2);
    expect(dup.stderr).toContain('username-taken');
    const bad = vigil(['user', 'create', '-u', 'x', '-e', 'nope', '--password', 'short'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/username/);
    // Three CLI processes, each migrating a fresh SQLite file: ~36 s on a loaded 2-core machine.
  }, 90_000);

  it('serves on the embedded default and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1'], { env: baseEnv(dataDir) });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
      child.stdout.on('data', () => {
        const m = /Vigil listening on (http:\/\/[\d.:]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const health = await (await fetch(`${address}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', database: { dialect: 'sqlite', reachable: true } });
    const docs: any = await (await fetch(`${address}/docs/json`)).json();
    expect(docs.paths['/auth/login']).toBeDefined();

    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(out).toContain('"msg":"stopped"');
  });
});

describe.runIf(testDialects().includes('mysql'))("vigil migrate with the seed's .env keys", () => {
  it('creates the MySQL database and the seed tables', async () => {
    const base = new URL(inject('mysqlUrl'));
    const name = `vigil_seedkeys_${randomBytes(4).toString('hex')}`;
    const env = baseEnv(mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-')), {
      DB_HOST: base.hostname,
      DB_PORT: base.port || '3306',
      DB_USER: decodeURIComponent(base.username),
      DB_PASSWORD: decodeURIComponent(base.password),
      DB_NAME: name,
    });
    const r = vigil(['migrate'], env);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`MySQL ${base.hostname}`);
    const conn = await createConnection({
      host: base.hostname,
      port: Number(base.port || 3306),
      user: decodeURIComponent(base.username),
      password: decodeURIComponent(base.password),
    });
    try {
      const [rows] = await conn.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ?', [name]);
      const tables = (rows as Array<{ t: string }>).map((x) => x.t);
      expect(tables).toEqual(expect.arrayContaining(['users', 'posts', 'follows', 'ml_models', 'detection_sessions', 'detection_logs']));
    } finally {
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    }
  });
});
