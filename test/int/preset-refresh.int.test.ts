import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetector, type DetectorArtifact } from '../../src/detectors/index.ts';
import { generateTrace } from '../../src/bench/synthetic/index.ts';
import { sha256 } from '../../src/modules/models/model-artifacts.ts';
import { buildPreset, PRESETS } from '../../src/modules/models/presets.ts';
import { testDialects } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('preset refresh on start and migrate [%s]', (dialect) => {
  let server: TestServer;
  const spec = PRESETS[0]!;

  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => server?.stop());

  const row = () => server.app.database.db.selectFrom('ml_models').selectAll().where('preset_key', '=', spec.key).executeTakeFirstOrThrow();

  /** Puts an artifact of an older build (no adaptLevel) in place, as a database migrated before the change holds. */
  async function installOldBuild(): Promise<void> {
    const training = generateTrace({ seed: spec.seed, durationS: 600, normalS: 600, events: 0 });
    const old = createDetector(spec.kind, { params: {}, seed: spec.seed, threshold: spec.threshold });
    await old.fit(training.readings, { targetFalseAlarmRate: spec.targetFalseAlarmRate });
    const text = JSON.stringify(old.serialize());
    const r = await row();
    writeFileSync(path.join(server.db.dataDir, r.file_path), text);
    await server.app.database.db
      .updateTable('ml_models')
      .set({ checksum: sha256(text), file_size: Buffer.byteLength(text), params: JSON.stringify(old.serialize().params), accuracy: 0.29 })
      .where('id', '=', r.id)
      .execute();
  }

  it('leaves current presets alone', async () => {
    const before = await row();
    expect(await server.app.services.models.ensurePresets()).toEqual({ created: [], repaired: [], updated: [], skipped: [] });
    expect(await row()).toEqual(before);
  });

  it('rebuilds a preset whose stored artifact an older build made, keeping its id', async () => {
    await installOldBuild();
    const before = await row();
    const result = await server.app.services.models.ensurePresets();
    expect(result.updated).toEqual([spec.key]);
    const after = await row();
    expect(after.id).toBe(before.id);
    const text = readFileSync(path.join(server.db.dataDir, after.file_path), 'utf8');
    expect(after.checksum).toBe(sha256(text));
    expect(after.checksum).not.toBe(before.checksum);
    // The new artifact went to a new file: the file the old row names is intact for a process still holding that row.
    expect(after.file_path).not.toBe(before.file_path);
    expect(sha256(readFileSync(path.join(server.db.dataDir, before.file_path), 'utf8'))).toBe(before.checksum);
    const artifact = JSON.parse(text) as DetectorArtifact;
    expect(artifact.params).toMatchObject(spec.params);
    expect(JSON.parse(after.params)).toEqual(artifact.params);
    expect(after.accuracy).toBe((await buildPreset(spec)).accuracy);
    // Done once: the next start finds it current.
    expect((await server.app.services.models.ensurePresets()).updated).toEqual([]);
  });

  it('rebuilds a preset whose row no longer matches its spec (name, description, threshold)', async () => {
    const r = await row();
    await server.app.database.db.updateTable('ml_models').set({ description: 'old words', threshold: 0.3 }).where('id', '=', r.id).execute();
    expect((await server.app.services.models.ensurePresets()).updated).toEqual([spec.key]);
    expect(await row()).toMatchObject({ description: spec.description, threshold: spec.threshold });
  });
});
