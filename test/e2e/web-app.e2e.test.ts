import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { SerialPortMock } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serialPortLister } from '../../src/modules/devices/sources/serial.source.ts';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const dialect = testDialects()[0] ?? 'sqlite';

describe(`web dashboard serving and GET /devices/serial-ports [${dialect}]`, () => {
  let server: TestServer;
  const dist = mkdtempSync(path.join(os.tmpdir(), 'vigil-web-'));
  const js = 'console.log("dashboard")';

  beforeAll(async () => {
    mkdirSync(path.join(dist, 'assets'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>Vigil</title><div id="root"></div>');
    writeFileSync(path.join(dist, 'assets/index-abc123.js'), js);
    writeFileSync(path.join(dist, 'assets/index-abc123.js.gz'), gzipSync(js));
    SerialPortMock.binding.reset();
    SerialPortMock.binding.createPort('/dev/ttyWEBMOCK0');
    server = await startTestServer(dialect, {}, { webDistDir: dist, listSerialPorts: serialPortLister(() => SerialPortMock.list()) });
  });
  afterAll(async () => {
    await server?.stop();
    SerialPortMock.binding.reset();
  });

  const get = (p: string, headers: Record<string, string> = {}) => fetch(`${server.baseUrl}${p}`, { headers });

  it('serves index.html at / and under /app, never cached', async () => {
    for (const p of ['/', '/app', '/app/live', '/app/sessions/12']) {
      const res = await get(p, { accept: 'text/html' });
      expect(res.status, p).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<div id="root">');
    }
  });

  it('serves hashed assets with an immutable year-long cache, precompressed', async () => {
    const res = await get('/assets/index-abc123.js', { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(res.headers.get('cache-control')).toContain('max-age=31536000');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(await res.text()).toBe(js);
  });

  it('answers a browser navigation to an unknown path with the app (404), and API calls with JSON', async () => {
    const page = await get('/no/such/page', { accept: 'text/html,application/xhtml+xml' });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toContain('text/html');
    const apiMiss = await get('/no/such/page', { accept: 'application/json' });
    expect(apiMiss.status).toBe(404);
    expect(await apiMiss.json()).toMatchObject({ code: 'route-not-found' });
    const post = await fetch(`${server.baseUrl}/no/such/page`, { method: 'POST', headers: { accept: 'text/html' } });
    expect(post.status).toBe(404);
    expect(await post.json()).toMatchObject({ code: 'route-not-found' });
    const missingAsset = await get('/assets/nope.js', { accept: '*/*' });
    expect(missingAsset.status).toBe(404);
  });

  it('keeps every API route where it was, even for a browser asking for HTML', async () => {
    const devices = await get('/devices', { accept: 'text/html' });
    expect(devices.status).toBe(401);
    expect(await devices.json()).toMatchObject({ code: 'unauthorized' });
    const health = await get('/health', { accept: 'text/html' });
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const docs: any = await (await get('/docs/json')).json();
    expect(docs.paths['/devices/serial-ports']).toBeDefined();
    expect(Object.keys(docs.paths).filter((p) => p.startsWith('/app') || p.startsWith('/assets') || p === '/')).toEqual([]);
  });

  it("lists the server's serial ports to signed-in users only", async () => {
    const api = httpClient(server.baseUrl);
    expect((await api.get('/devices/serial-ports')).status).toBe(401);
    const { token } = await registerUser(api);
    const res = await api.get('/devices/serial-ports', token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([expect.objectContaining({ path: '/dev/ttyWEBMOCK0' })]);
  });
});
