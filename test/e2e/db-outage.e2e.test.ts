import { childServerEnv } from '../support/server.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects } from '../support/db.ts';
import { loggedValues } from '../support/durability.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, eventually, nextEvent, record, serve, sleep } from '../support/realtime.ts';
import { tcpProxy } from '../support/tcp-proxy.ts';

const OUTAGE_MS = 30_000;

// MariaDB only: the outage is a network cut between Vigil and its database server.
describe.each(testDialects().filter((d) => d === 'mysql'))('a 30 s MariaDB outage during a logged session [%s]', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('keeps scoring, reports not ready, and loses no row: they wait in memory and the journal, then are written', async () => {
    const db = await createTestDatabase('mysql');
    cleanup.push(() => db.drop());
    const real = new URL(db.url);
    // The proxy runs before the server, which reaches MariaDB only through it.
    const proxy = await tcpProxy({ host: real.hostname, port: Number(real.port || 3306) });
    cleanup.push(() => proxy.close());
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const env = {
      ...childServerEnv(db),
      DATABASE_URL: viaProxy.toString(),
      SIMULATOR_RATE_HZ: '50',
      LOG_BATCH_SIZE: '50',
      LOG_FLUSH_MS: '200',
    };
    const server = await serve(env);
    cleanup.push(async () => server.child.exitCode === null && server.child.kill('SIGKILL'));
    const api = httpClient(server.baseUrl);
    const u = await registerUser(api, 'outage');
    const socket = await connectSocket(server.baseUrl, { token: u.token });
    cleanup.push(async () => socket.disconnect());
    await nextEvent(socket, 'connection_confirmed');
    const seen = record(socket, 'arduino_data');
    const started = await api.post('/detection/start', {}, u.token);
    expect(started.status).toBe(201);
    const id = started.body.session_id as number;
    await eventually(() => seen.arduino_data!.length >= 100, 20_000);
    expect((await api.get('/health/ready')).status).toBe(200);

    proxy.cut();
    const cutAt = Date.now();
    const atCut = seen.arduino_data!.length;
    // Not ready while the database is unreachable (a load balancer takes the process out).
    const notReady = await eventually(async () => {
      const r = await api.get('/health/ready');
      return r.status === 503 ? r.body : undefined;
    }, 10_000, 250);
    expect(notReady.checks.database.ok).toBe(false);
    const notReadyAfterMs = Date.now() - cutAt;
    await sleep(cutAt + OUTAGE_MS - Date.now());
    const duringOutage = seen.arduino_data!.length - atCut;
    expect((await api.get('/health/ready')).status).toBe(503);
    proxy.restore();
    const restoredAt = Date.now();
    // The pool opens new connections by itself.
    await eventually(async () => (await api.get('/health/ready')).status === 200, 20_000, 250);
    const readyAfterMs = Date.now() - restoredAt;
    // The server kept scoring through the outage (50 Hz for 30 s).
    expect(duringOutage).toBeGreaterThan(1000);

    const stopped = await api.post('/detection/stop', { session_id: id }, u.token);
    expect(stopped.status).toBe(200);
    const fa = stopped.body.final_analysis as { total_predictions: number };
    const logged = await loggedValues({ ...env, DATABASE_URL: db.url }, id);
    // Every scored reading is one row: sequence numbers 1..total, none missing, none twice.
    expect({ rows: logged.rows, distinctSeq: logged.distinctSeq, maxSeq: logged.maxSeq, total: logged.total, status: logged.status }).toEqual({
      rows: fa.total_predictions,
      distinctSeq: fa.total_predictions,
      maxSeq: fa.total_predictions,
      total: fa.total_predictions,
      status: 'stopped',
    });
    expect(fa.total_predictions).toBeGreaterThanOrEqual(atCut + duringOutage);
    console.log(
      `[mysql] ${OUTAGE_MS / 1000} s database outage: scored ${fa.total_predictions} (${duringOutage} pushed during the outage), logged ${logged.rows}, lost 0, duplicated 0; not ready ${notReadyAfterMs} ms after the cut, ready again ${readyAfterMs} ms after the network came back`,
    );
    socket.disconnect();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 300_000);
});
