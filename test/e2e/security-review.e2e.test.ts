import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, nextEvent, record, request, sleep } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Sends a raw body with the given content type (fetch would build a valid multipart body itself). */
async function rawPost(baseUrl: string, path: string, token: string, contentType: string, body: string | Buffer) {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, body: parsed };
}

const BOUNDARY = '----vigilTestBoundary42';
const part = (name: string, value: string, filename?: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n${filename ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n${value}\r\n`;

describe.each(testDialects())('security review fixes [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => server?.stop());

  describe('malformed multipart bodies', () => {
    const routes = [
      ['/recordings/upload', 'file'],
      ['/api/models/upload', 'model_file'],
    ] as const;
    for (const [route, field] of routes) {
      it(`answers 400 invalid-multipart on ${route} for no boundary, a truncated body and garbage`, async () => {
        const u = await registerUser(api);
        const cases: [string, string][] = [
          ['multipart/form-data', part(field, 'timestamp,value\n1,2\n', 'a.csv') + `--${BOUNDARY}--\r\n`],
          [`multipart/form-data; boundary=${BOUNDARY}`, part('name', 'x') + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="a.csv"\r\n\r\ntimestamp,val`],
          [`multipart/form-data; boundary=${BOUNDARY}`, '\u0000\u0001garbage that is not multipart at all \r\n\r\n--x'],
        ];
        for (const [type, body] of cases) {
          const res = await rawPost(server.baseUrl, route, u.token, type, body);
          expect({ body: body.slice(0, 40), status: res.status, code: res.body?.code }).toEqual({ body: body.slice(0, 40), status: 400, code: 'invalid-multipart' });
          expect(res.body.message).toEqual(expect.any(String));
        }
        // The server is still fine afterwards.
        expect((await api.get('/auth/me', u.token)).status).toBe(200);
      });
    }
  });

  describe('device config depth', () => {
    it('answers 400 for a config nested 2,000 deep, on create and update', async () => {
      const u = await registerUser(api);
      let deep: unknown = 1;
      for (let i = 0; i < 2000; i++) deep = { a: deep };
      const created = await api.post('/devices', { name: 'Deep', kind: 'http', config: { nested: deep } }, u.token);
      expect(created.status).toBe(400);
      expect(created.body.code).toBe('validation-failed');
      const ok = await api.post('/devices', { name: 'Flat', kind: 'http' }, u.token);
      expect(ok.status).toBe(201);
      const patched = await api.patch(`/devices/${ok.body.id}`, { config: { nested: deep } }, u.token);
      expect(patched.status).toBe(400);
      expect(patched.body.code).toBe('validation-failed');
      const deeper = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
      const arrays = await api.request('POST', '/devices', { token: u.token, rawBody: `{"name":"Deeper","kind":"http","config":{"nested":${deeper}}}` });
      expect(arrays.status).toBe(400);
    });
  });

  describe('tokens', () => {
    it("answers 401 everywhere with a valid token of a user whose row is gone", async () => {
      const u = await registerUser(api);
      await server.app.database.db.deleteFrom('users').where('id', '=', u.id).execute();
      const calls = [
        api.get('/auth/me', u.token),
        api.get('/devices', u.token),
        api.post('/devices', { name: 'Ghost', kind: 'http' }, u.token),
        api.post('/posts', { content: 'ghost post' }, u.token),
        api.get('/api/models', u.token),
        api.get('/detection/sessions', u.token),
      ];
      for (const res of await Promise.all(calls)) {
        expect({ status: res.status, code: res.body?.code }).toEqual({ status: 401, code: 'invalid-token' });
      }
      const socket = await connectSocket(server.baseUrl, { token: u.token });
      const confirmed = await nextEvent(socket, 'connection_confirmed');
      expect(confirmed.server_info.is_guest_mode).toBe(true);
      socket.close();
    });

    it('refuses a signed token without exp', async () => {
      const u = await registerUser(api);
      const key = new TextEncoder().encode(server.app.config.jwt.secret);
      const token = await new SignJWT({ username: u.username })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(String(u.id))
        .setIssuer('vigil')
        .setIssuedAt()
        .setJti(randomUUID())
        .sign(key);
      const res = await api.get('/auth/me', token);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'invalid-token' });
      expect((await api.get('/auth/me', u.token)).status).toBe(200);
    });
  });

  describe('Socket.IO', () => {
    it('answers an oversize message with an error event and keeps the connection', async () => {
      const u = await registerUser(api);
      const socket = await connectSocket(server.baseUrl, { token: u.token });
      await nextEvent(socket, 'connection_confirmed');
      const seen = record(socket, 'disconnect');
      const err = await request(socket, 'get_status', { timestamp: 'x'.repeat(200 * 1024) }, 'error');
      expect(err).toMatchObject({ code: 'payload-too-large', event: 'get_status' });
      await sleep(100);
      expect(seen.disconnect).toEqual([]);
      expect(socket.connected).toBe(true);
      const pong = await request(socket, 'ping', {}, 'pong');
      expect(pong).toHaveProperty('timestamp');
      socket.close();
    });

    it('accepts numeric-string model ids and answers every ws_select_model / select_model failure on its answer event', async () => {
      const u = await registerUser(api);
      const socket = await connectSocket(server.baseUrl, { token: u.token });
      await nextEvent(socket, 'connection_confirmed');
      const presets = (await api.get('/api/models', u.token)).body as { id: number; is_preset: boolean }[];
      const preset = presets.find((m) => m.is_preset)!;
      const selected = await request(socket, 'ws_select_model', { model_id: String(preset.id), timestamp: Date.now() }, 'model_selected');
      expect(selected.model).toMatchObject({ id: preset.id });
      const result = await request(socket, 'select_model', { model_id: String(preset.id) }, 'model_selection_result');
      expect(result).toMatchObject({ success: true, model: { id: preset.id } });

      for (const bad of [{ model_id: 'abc' }, { model_id: '' }, {}, { model_id: -3 }, 'not an object']) {
        const e1 = await request(socket, 'ws_select_model', bad, 'model_error');
        expect(e1).toMatchObject({ error: expect.any(String), code: 'invalid-payload' });
        const e2 = await request(socket, 'select_model', bad, 'model_selection_result');
        expect(e2).toMatchObject({ success: false, error: expect.any(String), code: 'invalid-payload' });
      }
      const missing = await request(socket, 'ws_select_model', { model_id: '99999999' }, 'model_error');
      expect(missing.code).toBe('model-not-found');

      const started = await request(socket, 'start_detection', { model_id: String(preset.id) }, 'detection_status');
      expect(started.error ?? '').not.toMatch(/payload/i);
      socket.close();
    });
  });
});
