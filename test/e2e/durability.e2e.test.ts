import { childServerEnv } from '../support/server.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';
import { httpDevice, loggedValues, lossAndDuplicates } from '../support/durability.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { serve, sleep } from '../support/realtime.ts';

describe.each(testDialects())('kill -9 during a logged session [%s]', (dialect) => {
  const dbs: TestDatabase[] = [];
  const children: Array<Awaited<ReturnType<typeof serve>>> = [];
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    for (const d of dbs) await d.drop();
  });

  it('loses no acknowledged reading and duplicates none: the restart replays the journal', async () => {
    const db = await createTestDatabase(dialect);
    dbs.push(db);
    const env = {
      ...childServerEnv(db),
      // Some rows reach the database before the kill (batches of 40), the rest only the journal:
      // the replay re-inserts the written ones too, which the (session_id, seq) key must absorb.
      LOG_BATCH_SIZE: '40',
      LOG_FLUSH_MS: '600000',
    };
    const first = await serve(env);
    children.push(first);
    const api = httpClient(first.baseUrl);
    const u = await registerUser(api, 'crash');
    const dev = (await api.post('/devices', { name: 'Press', kind: 'http' }, u.token)).body;
    const started = await api.post('/detection/start', { device_id: dev.id }, u.token);
    expect(started.status).toBe(201);
    const id = started.body.session_id as number;

    const device = httpDevice(() => first.baseUrl, dev.id, dev.token, 100);
    for (let i = 0; i < 200 && device.acked.size < 250; i++) await sleep(50);
    first.child.kill('SIGKILL');
    await first.exited;
    await device.stop();
    expect(device.acked.size).toBeGreaterThanOrEqual(100);

    // The restart replays the dead process's journal before closing its session.
    const second = await serve(env);
    children.push(second);
    const logged = await loggedValues(env, id);
    expect(lossAndDuplicates(device.acked, logged)).toEqual({ lost: 0, duplicated: 0 });
    expect(logged.distinctSeq).toBe(logged.rows);
    // Nothing the client did not send, and the session's counts are the log's.
    expect([...logged.values].every((v) => device.sent.has(v))).toBe(true);
    expect({ status: logged.status, total: logged.total }).toEqual({ status: 'interrupted', total: logged.rows });
    console.log(`[${dialect}] kill -9 at 100 Hz: sent ${device.sent.size}, acknowledged ${device.acked.size}, logged ${logged.rows}, lost 0, duplicated 0`);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 480_000);
});
