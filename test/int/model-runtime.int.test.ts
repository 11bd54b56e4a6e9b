import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('model runtime [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => server?.stop());

  it('installs at least three presets with a material type, description and measured accuracy', async () => {
    const cards = await server.app.services.models.listCards(null);
    expect(cards.length).toBeGreaterThanOrEqual(3);
    for (const c of cards) {
      expect(c).toMatchObject({ is_preset: true, material_type: expect.any(String), description: expect.any(String) });
      expect(c.accuracy).toBeGreaterThan(0);
      expect(c.accuracy).toBeLessThanOrEqual(1);
    }
  });

  it('loads a preset for a guest into a working detector', async () => {
    const runtime = server.app.services.modelRuntime;
    const preset = await runtime.defaultPreset();
    const { model, detector } = await runtime.loadForSession({ userId: null }, preset.id);
    expect(model).toMatchObject({ id: preset.id, is_preset: true, kind: 'auto' });
    const s = detector.score({ ts: Date.now(), value: 2.5 });
    expect(s.anomaly_score).toBeGreaterThanOrEqual(0);
  });

  it('stores a selection that getSelected returns', async () => {
    const u = await registerUser(api);
    const runtime = server.app.services.modelRuntime;
    const preset = await runtime.defaultPreset();
    expect(await runtime.getSelected(u.id)).toBeNull();
    await runtime.select({ userId: u.id }, preset.id);
    expect((await runtime.getSelected(u.id))?.id).toBe(preset.id);
  });

  it('refuses unknown models with model-not-found', async () => {
    await expect(server.app.services.modelRuntime.loadForSession({ userId: null }, 999_999)).rejects.toMatchObject({ code: 'model-not-found' });
  });

  it('fails with model-artifact-invalid, not a crash, when the artifact is corrupt', async () => {
    const runtime = server.app.services.modelRuntime;
    const cards = await server.app.services.models.listCards(null);
    const victim = cards[cards.length - 1]!;
    const row = await server.app.services.models.visibleModel({ userId: null }, victim.id);
    writeFileSync(path.join(server.db.dataDir, row.filePath), '{"format":"vigil-detector"}');
    await expect(runtime.loadForSession({ userId: null }, victim.id)).rejects.toMatchObject({ code: 'model-artifact-invalid' });
    await expect(runtime.select({ userId: null }, victim.id)).rejects.toMatchObject({ code: 'model-artifact-invalid' });
  });
});
