import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

async function uploadModel(baseUrl: string, token: string | undefined, fields: Record<string, string>, file?: string | Blob) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file !== undefined) form.append('model_file', typeof file === 'string' ? new Blob([file], { type: 'application/json' }) : file, 'model.json');
  const res = await fetch(`${baseUrl}/api/models/upload`, {
    method: 'POST',
    body: form,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe.each(testDialects())('model registry over HTTP [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;
  let presetId: number;
  let presetArtifact: string;

  beforeAll(async () => {
    server = await startTestServer(dialect, { MODEL_UPLOAD_MAX_BYTES: String(200 * 1024) });
    api = httpClient(server.baseUrl);
    const guest = await api.get('/api/guest/models');
    presetId = guest.body[0].id;
    presetArtifact = JSON.stringify((await api.get(`/models/${presetId}/download`)).body);
  });
  afterAll(async () => server?.stop());

  describe('GET /api/guest/models', () => {
    it('lists the presets without sign-in, with created_at', async () => {
      const res = await api.get('/api/guest/models');
      expect(res.status).toBe(200);
      expect(res.body.length).toBeGreaterThanOrEqual(3);
      for (const card of res.body) {
        expect(card).toEqual({
          id: expect.any(Number),
          name: expect.any(String),
          material_type: expect.any(String),
          is_preset: true,
          accuracy: expect.any(Number),
          description: expect.any(String),
          created_at: expect.stringMatching(/Z$/),
        });
      }
    });
  });

  describe('GET /models/user and /api/models', () => {
    it("answer the user's models and the presets, and 401 without a token", async () => {
      const u = await registerUser(api);
      const a = await api.get('/models/user', u.token);
      const b = await api.get('/api/models', u.token);
      expect(a.status).toBe(200);
      expect(b.body).toEqual(a.body);
      expect(a.body.every((c: any) => c.is_preset)).toBe(true);
      expect((await api.get('/api/models')).status).toBe(401);
    });
  });

  describe('presets', () => {
    it('are readable by guests and editable by no one', async () => {
      const u = await registerUser(api);
      const detail = await api.get(`/models/${presetId}`);
      expect(detail.status).toBe(200);
      expect(detail.body).toMatchObject({ id: presetId, is_preset: true, kind: 'auto', owner_id: null, origin: 'preset' });
      expect(detail.body.metrics.evaluation).toMatchObject({ f1: expect.any(Number), false_alarm_rate: expect.any(Number) });
      const patch = await api.patch(`/models/${presetId}`, { name: 'mine now' }, u.token);
      expect(patch.status).toBe(403);
      expect(patch.body.code).toBe('model-read-only');
      expect((await api.delete(`/models/${presetId}`, u.token)).body.code).toBe('model-read-only');
    });

    it('can be selected by a guest (not stored) and by a user (stored)', async () => {
      const guest = await api.post(`/models/${presetId}/select`);
      expect(guest.status).toBe(200);
      expect(guest.body.model).toMatchObject({ id: presetId, is_preset: true });
      const u = await registerUser(api);
      expect((await api.post(`/models/${presetId}/select`, undefined, u.token)).status).toBe(200);
      expect((await api.get('/auth/me', u.token)).body.selected_model_id).toBe(presetId);
      expect((await api.get(`/models/${presetId}`, u.token)).body.selected).toBe(true);
    });
  });

  describe('POST /api/models/upload', () => {
    it('stores a valid artifact as the user’s private model, downloadable byte for byte', async () => {
      const u = await registerUser(api);
      const res = await uploadModel(server.baseUrl, u.token, { name: 'Copy', material_type: 'metal', description: 'from a preset' }, presetArtifact);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ id: expect.any(Number), name: 'Copy', material_type: 'metal', kind: 'auto', message: expect.any(String) });
      expect(res.body.file_path).toMatch(new RegExp(`^models/user/${u.id}/`));
      const list = await api.get('/api/models', u.token);
      expect(list.body.find((c: any) => c.id === res.body.id)).toMatchObject({ is_preset: false, name: 'Copy' });
      const dl = await api.get(`/models/${res.body.id}/download`, u.token);
      expect(dl.status).toBe(200);
      expect(dl.headers.get('content-disposition')).toMatch(/attachment/);
      expect(JSON.stringify(dl.body)).toBe(presetArtifact);
    });

    it.each([
      ['not JSON', 'this is not json'],
      ['a JSON array', '[1,2,3]'],
      ['another format', JSON.stringify({ format: 'pickle', version: 1 })],
      ['an unknown kind', () => JSON.stringify({ ...JSON.parse(presetArtifact), kind: 'neural-magic' })],
      ['a future version', () => JSON.stringify({ ...JSON.parse(presetArtifact), version: 99 })],
      ['a __proto__ key', () => presetArtifact.replace('{', '{"__proto__":{"polluted":true},')],
      ['a constructor key', () => presetArtifact.replace('"params":{', '"params":{"constructor":{"prototype":{"x":1}},')],
      ['a malformed state', () => JSON.stringify({ ...JSON.parse(presetArtifact), state: { nonsense: [1, 2] } })],
      ['a huge array', () => JSON.stringify({ ...JSON.parse(presetArtifact), state: new Array(3_000_000).fill(0) })],
      ['deep nesting', () => JSON.stringify({ ...JSON.parse(presetArtifact), state: JSON.parse('['.repeat(50) + ']'.repeat(50)) })],
    ])('rejects %s with 400 before storing anything', async (_label, content) => {
      const u = await registerUser(api);
      const text = typeof content === 'function' ? content() : content;
      const res = await uploadModel(server.baseUrl, u.token, { name: 'Bad', material_type: 'x' }, text);
      expect([400, 413]).toContain(res.status);
      if (text.length < 200 * 1024) {
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('invalid-model-file');
      }
      expect(({} as any).polluted).toBeUndefined();
      const list = await api.get('/api/models', u.token);
      expect(list.body.filter((c: any) => !c.is_preset)).toEqual([]);
    });

    it('answers 413 for a file over MODEL_UPLOAD_MAX_BYTES', async () => {
      const u = await registerUser(api);
      const res = await uploadModel(server.baseUrl, u.token, { name: 'Big', material_type: 'x' }, 'x'.repeat(300 * 1024));
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('payload-too-large');
    });

    it('answers 400 without the file or with missing fields, and 401 without a token', async () => {
      const u = await registerUser(api);
      expect((await uploadModel(server.baseUrl, u.token, { name: 'x', material_type: 'y' })).status).toBe(400);
      expect((await uploadModel(server.baseUrl, u.token, { name: 'x' }, presetArtifact)).status).toBe(400);
      expect((await uploadModel(server.baseUrl, undefined, { name: 'x', material_type: 'y' }, presetArtifact)).status).toBe(401);
    });
  });

  describe('authorization matrix on a user model', () => {
    it('owner edits and deletes; others see 404 unless public (then read-only); guests see 404', async () => {
      const owner = await registerUser(api, 'owner');
      const other = await registerUser(api, 'other');
      const up = await uploadModel(server.baseUrl, owner.token, { name: 'Mine', material_type: 'wood' }, presetArtifact);
      const id = up.body.id as number;

      expect((await api.get(`/models/${id}`, owner.token)).status).toBe(200);
      for (const [token, status] of [[other.token, 404], [undefined, 404]] as const) {
        expect((await api.get(`/models/${id}`, token)).status).toBe(status);
        expect((await api.get(`/models/${id}/download`, token)).status).toBe(status);
      }
      expect((await api.patch(`/models/${id}`, { name: 'x' }, other.token)).status).toBe(404);
      expect((await api.delete(`/models/${id}`, other.token)).status).toBe(404);
      expect((await api.post(`/models/${id}/select`, undefined, other.token)).status).toBe(404);
      const guestSelect = await api.post(`/models/${id}/select`);
      expect(guestSelect.status).toBe(403);
      expect(guestSelect.body.code).toBe('guest-not-allowed');
      expect((await api.patch(`/models/${id}`, { name: 'x' })).status).toBe(401);

      const pub = await api.patch(`/models/${id}`, { visibility: 'public', threshold: 0.7, description: 'shared' }, owner.token);
      expect(pub.status).toBe(200);
      expect(pub.body).toMatchObject({ visibility: 'public', threshold: 0.7, description: 'shared' });
      expect((await api.get(`/models/${id}`, other.token)).status).toBe(200);
      expect((await api.post(`/models/${id}/select`, undefined, other.token)).status).toBe(200);
      const otherPatch = await api.patch(`/models/${id}`, { name: 'x' }, other.token);
      expect(otherPatch.status).toBe(403);
      expect(otherPatch.body.code).toBe('not-owner');
      expect((await api.get(`/models/${id}`)).status).toBe(404);

      expect((await api.delete(`/models/${id}`, other.token)).status).toBe(403);
      expect((await api.delete(`/models/${id}`, owner.token)).status).toBe(204);
      expect((await api.get(`/models/${id}`, owner.token)).status).toBe(404);
      expect((await api.get('/auth/me', other.token)).body.selected_model_id).toBeNull();
    });

    it('refuses deletion with 409 model-in-use while a live session uses the model', async () => {
      const owner = await registerUser(api);
      const up = await uploadModel(server.baseUrl, owner.token, { name: 'Busy', material_type: 'wood' }, presetArtifact);
      const previous = server.app.modelUsage.current;
      server.app.modelUsage.current = { isModelInUse: (id) => id === up.body.id };
      try {
        const res = await api.delete(`/models/${up.body.id}`, owner.token);
        expect(res.status).toBe(409);
        expect(res.body.code).toBe('model-in-use');
      } finally {
        server.app.modelUsage.current = previous;
      }
      expect((await api.delete(`/models/${up.body.id}`, owner.token)).status).toBe(204);
    });

    it('validates PATCH bodies', async () => {
      const owner = await registerUser(api);
      const up = await uploadModel(server.baseUrl, owner.token, { name: 'V', material_type: 'wood' }, presetArtifact);
      for (const body of [{}, { threshold: 2 }, { visibility: 'everyone' }, { kind: 'iforest' }]) {
        expect((await api.patch(`/models/${up.body.id}`, body, owner.token)).status).toBe(400);
      }
    });
  });
});
