import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { openDatabase } from '../../src/db/database.ts';
import { loadConfig } from '../../src/config/index.ts';
import { httpClient } from './http.ts';
import { sleep } from './realtime.ts';

/**
 * A device pushing one reading per HTTP request at `hz`, values 0, 1, 2, …: `acked` holds the
 * values the server answered 202 for (accepted and durable), `sent` every value sent, `ackedAt`
 * when each answer came (Date.now()). With `retry`, a refused reading is sent again until it is
 * accepted (a careful device); with `sequential`, a reading is sent only once the previous one is
 * answered (so the server sees them in order; the rate may then fall below `hz`).
 */
export function httpDevice(baseUrl: () => string, deviceId: number, token: string, hz: number, opts: { retry?: boolean; sequential?: boolean } = {}) {
  const t0 = Date.now();
  let running = true;
  const device = pacedDevice(hz, { sequential: opts.sequential }, async (value) => {
    for (;;) {
      try {
        const api = httpClient(baseUrl());
        const r = await api.request('POST', `/devices/${deviceId}/readings`, { body: { readings: [{ value, ts: t0 + value * 10 }] }, headers: { 'x-device-token': token } });
        if (r.status === 202 && r.body.delivered === true) return true;
      } catch {
        /* connection refused or reset: not accepted */
      }
      if (!opts.retry || !running) return false;
      await sleep(100);
    }
  });
  return {
    ...device,
    async stop() {
      running = false;
      await device.stop();
    },
  };
}

/**
 * Sends values 0, 1, 2, … at `hz` through `send` (true: acknowledged), without waiting for the
 * answers unless `sequential`: `acked` holds the acknowledged values, `sent` every value sent,
 * `ackedAt` when each acknowledgement came (Date.now()). `stop` ends the loop and waits for the
 * answers in flight.
 */
function pacedDevice(hz: number, opts: { sequential?: boolean }, send: (value: number) => Promise<boolean>) {
  const acked = new Set<number>();
  const ackedAt = new Map<number, number>();
  const sent = new Set<number>();
  const inflight = new Set<Promise<void>>();
  let next = 0;
  let running = true;
  const loop = (async () => {
    const start = Date.now();
    while (running) {
      const value = next++;
      sent.add(value);
      const p = send(value)
        .then(
          (ok) => {
            if (!ok) return;
            acked.add(value);
            ackedAt.set(value, Date.now());
          },
          () => undefined,
        )
        .finally(() => inflight.delete(p));
      inflight.add(p);
      if (opts.sequential) await p;
      await sleep(Math.max(0, start + (next * 1000) / hz - Date.now()));
    }
  })();
  return {
    acked,
    ackedAt,
    sent,
    /** Stops sending; resolves once every reading in flight got its answer (or gave up). */
    async stop() {
      running = false;
      await loop;
      await Promise.all([...inflight]);
    },
  };
}

/** The session's rows: how many, how many distinct values and sequence numbers, and the values. */
export async function loggedValues(env: Record<string, string>, sessionId: number) {
  const database = openDatabase(loadConfig({ dotenv: false, env }).database);
  try {
    const rows = await database.db.selectFrom('detection_logs').select(['value', 'seq']).where('session_id', '=', sessionId).execute();
    const session = await database.db.selectFrom('detection_sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow();
    return {
      rows: rows.length,
      values: new Set(rows.map((r) => r.value)),
      distinctSeq: new Set(rows.map((r) => Number(r.seq))).size,
      maxSeq: rows.reduce((m, r) => Math.max(m, Number(r.seq)), 0),
      /** Values in sequence-number order (the order the session scored them). */
      inSeqOrder: rows.map((r) => ({ seq: Number(r.seq), value: r.value })).sort((a, b) => a.seq - b.seq).map((r) => r.value),
      status: session.status,
      total: Number(session.total_predictions),
    };
  } finally {
    await database.close();
  }
}

/** Readings the server acknowledged that are missing from the log, and values logged twice. */
export function lossAndDuplicates(acked: Set<number>, logged: { rows: number; values: Set<number> }) {
  const lost = [...acked].filter((v) => !logged.values.has(v)).length;
  return { lost, duplicated: logged.rows - logged.values.size };
}

/**
 * An MQTT device publishing `{value, ts, token}` at `hz` with QoS 1, values 0, 1, 2, …, `ts` the
 * time of publishing: `acked` holds the values the broker acknowledged (PUBACK), `sent` every value
 * published, `ackedAt` when each acknowledgement came (Date.now()).
 */
export async function mqttDevice(url: string, topic: string, token: string, hz: number) {
  const client = await mqtt.connectAsync(url, { clientId: `vigil-test-device-${randomBytes(3).toString('hex')}`, clean: true });
  const device = pacedDevice(hz, {}, async (value) => {
    await client.publishAsync(topic, JSON.stringify({ value, ts: Date.now(), token }), { qos: 1 });
    return true;
  });
  return {
    ...device,
    /** Stops publishing; resolves once every message in flight is acknowledged (or failed). */
    async stop() {
      await device.stop();
      await client.endAsync();
    },
  };
}
