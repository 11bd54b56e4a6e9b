import { childServerEnv } from '../support/server.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';
import { httpDevice, loggedValues, lossAndDuplicates } from '../support/durability.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, eventually, nextEvent, serve, sleep } from '../support/realtime.ts';

// No skip: without Redis these tests fail (the scale-out they cover needs it).
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
type Server = Awaited<ReturnType<typeof serve>>;
/** Graceful stops per database in the hand-over loop. */
const HANDOVER_STOPS = Number(process.env.VIGIL_HANDOVER_STOPS ?? 6);

function clusterEnv(db: TestDatabase) {
  return {
    ...childServerEnv(db),
    REDIS_URL,
    // A deployment of its own in the shared Redis (keys, channels, queue).
    REDIS_KEY_PREFIX: `vigil-test-${randomBytes(4).toString('hex')}`,
    SESSION_LEASE_MS: '3000',
    LOG_BATCH_SIZE: '40',
    LOG_FLUSH_MS: '200',
  };
}

/** The session's counters as the given process reports them (`live`: it, or the process it asked, runs the session). */
async function statusOf(api: ReturnType<typeof httpClient>, token: string, id: number) {
  const t0 = Date.now();
  const r = await api.get('/detection/status', token);
  const s = (r.body.sessions as any[]).find((x) => x.session_id === id);
  return { ms: Date.now() - t0, total: (s?.total_predictions ?? 0) as number, live: s !== undefined && s.ml_status.method !== 'restoring' };
}

describe.each(testDialects())('sessions between owners, with Redis [%s]', (dialect) => {
  const dbs: TestDatabase[] = [];
  const children: Server[] = [];
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    for (const d of dbs) await d.drop().catch(() => undefined);
  });

  it('kill -9 of the owner while a device posts to the other process: after the takeover 0 lost, 0 duplicated, the gap scored in order', async () => {
    const db = await createTestDatabase(dialect);
    dbs.push(db);
    const env = clusterEnv(db);
    const a = await serve(env);
    children.push(a);
    const b = await serve(env);
    children.push(b);
    const apiA = httpClient(a.baseUrl);
    const apiB = httpClient(b.baseUrl);
    const u = await registerUser(apiA, 'gap');
    const dev = (await apiA.post('/devices', { name: 'Press', kind: 'http' }, u.token)).body;
    const started = await apiB.post('/detection/start', { device_id: dev.id }, u.token);
    expect(started.status).toBe(201);
    const id = started.body.session_id as number;

    // The device only ever talks to A, which does not run the session; one reading at a time, in order.
    const device = httpDevice(() => a.baseUrl, dev.id, dev.token, 100, { sequential: true });
    await eventually(async () => (await statusOf(apiB, u.token, id)).total >= 150, 30_000, 100);

    b.child.kill('SIGKILL');
    const killedAt = Date.now();
    await b.exited;
    // Status on A answers at once while B's lease is still live (B cannot answer any more).
    const statusMs: number[] = [];
    const takenOverAt = await eventually(
      async () => {
        const s = await statusOf(apiA, u.token, id);
        statusMs.push(s.ms);
        return s.live ? Date.now() : 0;
      },
      30_000,
      200,
    );
    await sleep(2000);
    await device.stop();
    const acked = device.acked.size;
    // Everything acknowledged is scored (the catch-up included) before the session is stopped.
    await eventually(async () => (await statusOf(apiA, u.token, id)).total >= acked, 20_000, 100);
    const stopped = await apiA.post('/detection/stop', { session_id: id }, u.token);
    expect(stopped.status).toBe(200);
    const fa = stopped.body.final_analysis as { total_predictions: number };

    const logged = await loggedValues(env, id);
    expect(lossAndDuplicates(device.acked, logged)).toEqual({ lost: 0, duplicated: 0 });
    expect(logged.distinctSeq).toBe(logged.rows);
    expect({ rows: logged.rows, maxSeq: logged.maxSeq, total: logged.total }).toEqual({ rows: fa.total_predictions, maxSeq: fa.total_predictions, total: fa.total_predictions });
    // Nothing the device did not send (every reading it sent was acknowledged: Redis held it).
    expect(device.acked.size).toBe(device.sent.size);
    expect(logged.rows).toBe(device.acked.size);
    // In order: the session scored the values in the order the device sent them.
    expect(logged.inSeqOrder).toEqual([...logged.inSeqOrder].sort((x, y) => x - y));
    const inGap = [...device.ackedAt.values()].filter((t) => t >= killedAt && t < takenOverAt).length;
    expect(inGap).toBeGreaterThan(50);
    // A dead owner is waited for 0.5 s; a loaded machine adds to it, but never the seconds of a command timeout.
    expect(Math.max(...statusMs)).toBeLessThan(2000);
    console.log(
      `[${dialect}] kill -9 of the owner: takeover after ${takenOverAt - killedAt} ms; sent ${device.sent.size}, acknowledged ${acked} (${inGap} between the kill and the takeover), logged ${logged.rows}, lost 0, duplicated 0; GET /detection/status on the survivor meanwhile: max ${Math.max(...statusMs)} ms over ${statusMs.length} calls`,
    );
  }, 240_000);

  it(`SIGTERM hands a session over in under 0.5 s (median, server-side; none waits for the lease) with nothing unscored, ${HANDOVER_STOPS} stops in a row; sockets on the survivor stay connected`, async () => {
    const db = await createTestDatabase(dialect);
    dbs.push(db);
    // A long lease: a hand-over that waited for it (instead of being taken at once) shows plainly.
    const env = { ...clusterEnv(db), SESSION_LEASE_MS: '10000' };
    const a = await serve(env);
    children.push(a);
    const apiA = httpClient(a.baseUrl);
    const u = await registerUser(apiA, 'handover');
    const dev = (await apiA.post('/devices', { name: 'Line', kind: 'http' }, u.token)).body;
    const socket = await connectSocket(a.baseUrl, { token: u.token });
    await nextEvent(socket, 'connection_confirmed');
    const disconnects: string[] = [];
    socket.on('disconnect', (reason) => disconnects.push(reason));
    const arrivals = new Map<number, number[]>();
    socket.on('arduino_data', (d: { session_id: number }) => {
      const list = arrivals.get(d.session_id) ?? [];
      list.push(performance.now());
      arrivals.set(d.session_id, list);
    });

    const handOverMs: number[] = [];
    const pushGapMs: number[] = [];
    const phases: string[] = [];
    let nextB = serve(env);
    for (let round = 1; round <= HANDOVER_STOPS; round++) {
      const b = await nextB;
      children.push(b);
      const apiB = httpClient(b.baseUrl);
      const started = await apiB.post('/detection/start', { device_id: dev.id }, u.token);
      expect(started.status).toBe(201);
      const id = started.body.session_id as number;
      const device = httpDevice(() => a.baseUrl, dev.id, dev.token, 100);
      await eventually(async () => (await statusOf(apiB, u.token, id)).total >= 50, 30_000, 100);
      // The next process starts while this one runs (as in a rolling restart), not inside the measured
      // gap; the survivors (A and it) race for the session.
      const survivors = [a];
      if (round < HANDOVER_STOPS) {
        nextB = serve(env);
        survivors.push(await nextB);
      }

      const termAt = performance.now();
      b.child.kill('SIGTERM');
      expect(await b.exited).toBe(0);
      // The survivor's own account of the hand-over (server-side clocks, not this test's event loop).
      const taken = (await eventually(() => survivors.flatMap((x) => x.logs).find((l) => l.msg === 'detection session taken over' && l.session_id === id), 10_000, 20))!;
      expect(taken.handed_over).toBe(true);
      await sleep(500);
      await device.stop();
      await eventually(async () => (await statusOf(apiA, u.token, id)).total >= device.acked.size, 10_000, 100);
      const stopped = await apiA.post('/detection/stop', { session_id: id }, u.token);
      expect(stopped.status).toBe(200);
      expect(stopped.body.final_analysis.total_predictions).toBe(device.acked.size);

      handOverMs.push(taken.handover_ms as number);
      const cu = taken.catch_up_phases_ms as { subscribe: number; read: number; score: number } | undefined;
      phases.push(
        `${taken.handover_ms} (${taken.stop_to_release_ms}+${taken.release_to_notice_ms}+${taken.notice_to_claim_ms}+${taken.claim_to_restore_ms}+${taken.catch_up_ms}${cu ? ` [${cu.subscribe}/${cu.read}/${cu.score}]` : ''}, ${taken.caught_up} caught up${taken.pid === a.child.pid ? '' : ', new process'})`,
      );
      // For comparison: the longest pause in the session's pushes as this test's socket saw them.
      const times = (arrivals.get(id) ?? []).filter((t) => t >= termAt - 1000);
      let gap = 0;
      for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
      pushGapMs.push(Math.round(gap));
      const logged = await loggedValues(env, id);
      expect(lossAndDuplicates(device.acked, logged)).toEqual({ lost: 0, duplicated: 0 });
      expect(logged.rows).toBe(device.acked.size);
      expect({ distinctSeq: logged.distinctSeq, maxSeq: logged.maxSeq, total: logged.total }).toEqual({ distinctSeq: logged.rows, maxSeq: logged.rows, total: logged.rows });
    }
    const sorted = [...handOverMs].sort((x, y) => x - y);
    const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1]!;
    console.log(
      `[${dialect}] SIGTERM hand-over, ${handOverMs.length} stops, server-side (stop began -> survivor caught up) ms: ${phases.join('; ')}; p50 ${sorted[Math.floor(sorted.length / 2)]}, p95 ${p95}, max ${sorted[sorted.length - 1]}; longest pause in pushes at the test's socket: ${pushGapMs.join(', ')} ms`,
    );
    // The target is 0.5 s. Asserted for the median; p95 and max are printed (README): on the shared
    // 2-core machine at load average 10-15 single stops took up to 0.66 s in a warm survivor. No stop
    // may wait for a sweep or the lease (10 s here): max < 3 s.
    expect(sorted[Math.floor((sorted.length - 1) / 2)]).toBeLessThan(500);
    expect(Math.max(...handOverMs)).toBeLessThan(3000);
    expect(disconnects).toEqual([]);
    expect(socket.connected).toBe(true);
    socket.disconnect();
  }, 900_000);
});
