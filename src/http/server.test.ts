import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.ts';
import { AppError } from '../lib/errors.ts';
import { buildHttpServer } from './server.ts';

const config = loadConfig({ env: { DATA_DIR: os.tmpdir(), JWT_SECRET: randomBytes(32).toString('hex') } });
let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

async function serve(ping: () => Promise<number>, routes: Parameters<typeof buildHttpServer>[0]['registerRoutes'] = () => {}) {
  const app = await buildHttpServer({
    config,
    logger: pino({ level: 'silent' }),
    version: 'test',
    database: { dialect: 'sqlite', ping },
    verifyToken: () => Promise.reject(new AppError('invalid-token')),
    registerRoutes: routes,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  close = () => app.close();
  return url;
}

describe('HTTP server', () => {
  it('answers /health with 503 and reachable: false when the database does not answer', async () => {
    const url = await serve(() => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.1:3306')));
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'error', database: { reachable: false } });
  });

  it('hides internals of unexpected errors behind a 500 with a request id', async () => {
    const url = await serve(
      () => Promise.resolve(1),
      (api) => {
        api.get('/boom', { config: { auth: 'none' } }, async () => {
          throw new Error('SELECT * FROM secret_table failed at /srv/vigil/src/x.ts:12');
        });
      },
    );
    const res = await fetch(`${url}/boom`);
    expect(res.status).toBe(500);
    const body: any = await res.json();
    expect(body.code).toBe('internal');
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    expect(JSON.stringify(body)).not.toMatch(/secret_table|srv|\.ts/);
  });

  it('sends security headers and requires a bearer token on API routes by default', async () => {
    const url = await serve(
      () => Promise.resolve(1),
      (api) => {
        api.get('/private', async () => ({ ok: true }));
      },
    );
    const res = await fetch(`${url}/private`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).code).toBe('unauthorized');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const malformed = await fetch(`${url}/private`, { headers: { authorization: 'Basic abc' } });
    expect(((await malformed.json()) as any).code).toBe('invalid-token');
  });

  it('lets an in-flight request finish while closing, and refuses new connections after', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const app = await buildHttpServer({
      config,
      logger: pino({ level: 'silent' }),
      version: 'test',
      database: { dialect: 'sqlite', ping: () => Promise.resolve(1) },
      verifyToken: () => Promise.reject(new AppError('invalid-token')),
      registerRoutes: (api) => {
        api.get('/slow', { config: { auth: 'none' } }, async () => {
          entered();
          await new Promise((r) => setTimeout(r, 300));
          return { done: true };
        });
      },
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const pending = fetch(`${url}/slow`);
    await inHandler;
    const closed = app.close();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await closed;
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});
