import { createECDH } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'vigil-config-'));

describe('loadConfig', () => {
  it('defaults to port 8000 and SQLite under DATA_DIR', () => {
    const dir = tmp();
    const c = loadConfig({ env: { DATA_DIR: dir } });
    expect(c.port).toBe(8000);
    expect(c.database).toEqual({ dialect: 'sqlite', file: path.join(dir, 'vigil.sqlite') });
  });

  it('lists every invalid key at once', () => {
    const dir = tmp();
    try {
      loadConfig({ env: { DATA_DIR: dir, PORT: 'eighty', BAUD_RATE: '-5', LOG_LEVEL: 'loud', JWT_SECRET_KEY: 'short' } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as ConfigError).message;
      for (const key of ['PORT', 'BAUD_RATE', 'LOG_LEVEL', 'JWT_SECRET_KEY']) expect(msg).toContain(key);
      expect((e as ConfigError).problems.length).toBeGreaterThanOrEqual(4);
    }
  });

  it('runs SQLite log inserts in a thread unless SQLITE_LOG_THREAD=false, and rejects other values', () => {
    expect(loadConfig({ env: { DATA_DIR: tmp() } }).detection.sqliteLogThread).toBe(true);
    expect(loadConfig({ env: { DATA_DIR: tmp(), SQLITE_LOG_THREAD: 'false' } }).detection.sqliteLogThread).toBe(false);
    expect(() => loadConfig({ env: { DATA_DIR: tmp(), SQLITE_LOG_THREAD: 'sometimes' } })).toThrow(/SQLITE_LOG_THREAD/);
  });

  it("uses MySQL from the seed's DB_* keys when DATABASE_URL is not set", () => {
    const c = loadConfig({
      env: { DATA_DIR: tmp(), DB_HOST: 'db.local', DB_USER: 'vigil', DB_PASSWORD: 'p@ss:word', DB_NAME: 'anomaly_detection', DB_PORT: '3307' },
    });
    expect(c.database).toMatchObject({
      dialect: 'mysql',
      host: 'db.local',
      port: 3307,
      user: 'vigil',
      password: 'p@ss:word',
      database: 'anomaly_detection',
    });
  });

  it('prefers DATABASE_URL over the DB_* keys', () => {
    const c = loadConfig({ env: { DATA_DIR: tmp(), DB_HOST: 'ignored', DATABASE_URL: 'sqlite:/tmp/x.sqlite' } });
    expect(c.database).toEqual({ dialect: 'sqlite', file: '/tmp/x.sqlite' });
  });

  it('accepts JWT_SECRET as an alias of JWT_SECRET_KEY', () => {
    const secret = 'x'.repeat(40);
    expect(loadConfig({ env: { DATA_DIR: tmp(), JWT_SECRET: secret } }).jwt).toMatchObject({ secret, secretSource: 'env' });
  });

  it('generates a strong secret on first start, keeps it private in DATA_DIR and reuses it', () => {
    const dir = tmp();
    const first = loadConfig({ env: { DATA_DIR: dir } }).jwt;
    expect(first.secretSource).toBe('file');
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dir, 'jwt-secret');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secret);
    expect(loadConfig({ env: { DATA_DIR: dir } }).jwt.secret).toBe(first.secret);
    expect(loadConfig({ env: { DATA_DIR: tmp() } }).jwt.secret).not.toBe(first.secret);
  });

  it('generates a VAPID key pair once into DATA_DIR (private file) and reuses it; VAPID_* from the environment win', () => {
    const dir = tmp();
    const first = loadConfig({ env: { DATA_DIR: dir } }).notifications.webPush;
    expect(first).toMatchObject({ source: 'file', subject: 'mailto:vigil@localhost', publicKey: expect.stringMatching(/^[\w-]{87}$/) });
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(first.privateKey, 'base64url'));
    expect(ecdh.getPublicKey().toString('base64url')).toBe(first.publicKey);
    const file = path.join(dir, 'vapid-keys.json');
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(loadConfig({ env: { DATA_DIR: dir } }).notifications.webPush.publicKey).toBe(first.publicKey);
    expect(loadConfig({ env: { DATA_DIR: tmp() } }).notifications.webPush.publicKey).not.toBe(first.publicKey);

    const other = loadConfig({ env: { DATA_DIR: tmp() } }).notifications.webPush;
    const fromEnv = loadConfig({ env: { DATA_DIR: tmp(), VAPID_PUBLIC_KEY: other.publicKey, VAPID_PRIVATE_KEY: other.privateKey, VAPID_SUBJECT: 'https://vigil.example.com/contact' } }).notifications.webPush;
    expect(fromEnv).toEqual({ publicKey: other.publicKey, privateKey: other.privateKey, subject: 'https://vigil.example.com/contact', source: 'env' });
  });

  it('reads a VAPID key file whose private key lost its leading zero byte back as 32 bytes', () => {
    // Node's ECDH drops leading zero bytes: about one key in 256 is 31 bytes, which web-push refuses.
    // (Keys from the environment are checked to be 43 characters at boot.)
    let ecdh: ReturnType<typeof createECDH>;
    do {
      ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
    } while (ecdh.getPrivateKey().length === 32);
    const short = { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: ecdh.getPrivateKey().toString('base64url') };
    const dir = tmp();
    writeFileSync(path.join(dir, 'vapid-keys.json'), JSON.stringify(short));
    const webPush = loadConfig({ env: { DATA_DIR: dir } }).notifications.webPush;
    expect(webPush.publicKey).toBe(short.publicKey);
    const raw = Buffer.from(webPush.privateKey, 'base64url');
    expect(raw).toHaveLength(32);
    expect(raw[0]).toBe(0);
    const check = createECDH('prime256v1');
    check.setPrivateKey(raw);
    expect(check.getPublicKey().toString('base64url')).toBe(short.publicKey);
  });

  it('rejects half-set, mismatched or malformed VAPID keys and a subject that is not mailto: or https:', () => {
    const a = loadConfig({ env: { DATA_DIR: tmp() } }).notifications.webPush;
    const b = loadConfig({ env: { DATA_DIR: tmp() } }).notifications.webPush;
    const load = (env: Record<string, string>) => () => loadConfig({ env: { DATA_DIR: tmp(), ...env } });
    expect(load({ VAPID_PUBLIC_KEY: a.publicKey })).toThrow(/set both or neither/);
    expect(load({ VAPID_PUBLIC_KEY: a.publicKey, VAPID_PRIVATE_KEY: b.privateKey })).toThrow(/VAPID_PUBLIC_KEY: is not the public key of VAPID_PRIVATE_KEY/);
    expect(load({ VAPID_PUBLIC_KEY: 'short', VAPID_PRIVATE_KEY: a.privateKey })).toThrow(/VAPID_PUBLIC_KEY/);
    expect(load({ VAPID_SUBJECT: 'http://example.com' })).toThrow(/VAPID_SUBJECT/);
    expect(load({ VAPID_SUBJECT: 'ops@example.com' })).toThrow(/VAPID_SUBJECT/);
  });

  it('checkpoints sessions every 30 s by default and refuses an interval the readings stream would not outlive', () => {
    expect(loadConfig({ env: { DATA_DIR: tmp() } }).detection.sessionCheckpointMs).toBe(30_000);
    const load = (env: Record<string, string>) => () => loadConfig({ env: { DATA_DIR: tmp(), ...env } });
    expect(load({ SESSION_CHECKPOINT_MS: '56000' })).toThrow(/SESSION_CHECKPOINT_MS: 2 x SESSION_CHECKPOINT_MS \+ 2 x SESSION_LEASE_MS must not exceed READINGS_STREAM_RETENTION_MS \(120000\)/);
    expect(loadConfig({ env: { DATA_DIR: tmp(), SESSION_CHECKPOINT_MS: '55000' } }).detection.sessionCheckpointMs).toBe(55_000);
  });

  it('rejects a mysql URL without a database name', () => {
    expect(() => loadConfig({ env: { DATA_DIR: tmp(), DATABASE_URL: 'mysql://root@localhost:3306' } })).toThrow(/must name a database/);
  });
});
