/**
 * The SQLite log-insert thread (loaded through log-insert-worker.mjs by log-insert-thread.ts): its
 * own better-sqlite3 connection to the app's database file runs the detection repository's
 * `insertLogs` and the retention repository's `pruneBatch`, so the synchronous statements run here
 * instead of on the event loop.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { DB } from '../../db/schema.ts';
import { createRetentionRepository } from '../retention/retention.repository.ts';
import { createDetectionRepository } from './detection.repository.ts';
import type { LogInsertToMain, LogInsertWorkerData, MainToLogInsert } from './log-insert.messages.ts';

const data = workerData as LogInsertWorkerData;
const port = parentPort!;
const sqlite = new SQLite(data.file);
// The same settings as the main connection (db/database.ts).
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('foreign_keys = ON');
sqlite.pragma(`busy_timeout = ${Math.max(0, Math.floor(data.busyTimeoutMs))}`);
sqlite.pragma('synchronous = NORMAL');
const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
const repo = createDetectionRepository(db);
const retention = createRetentionRepository(db);

// One request at a time, in arrival order (the connection is single anyway).
let queue: Promise<void> = Promise.resolve();

port.on('message', (m: MainToLogInsert) => {
  queue = queue.then(() => handle(m));
});

async function handle(m: MainToLogInsert): Promise<void> {
  if (m.type === 'close') {
    await db.destroy();
    port.close();
    return;
  }
  let reply: LogInsertToMain;
  try {
    if (m.type === 'prune') reply = { type: 'pruned', id: m.id, rows: await retention.pruneBatch(m.sessionId, m.cutoff, m.ranges, m.hi) };
    else {
      await repo.insertLogs(m.rows, { fresh: m.fresh });
      reply = { type: 'inserted', id: m.id, rows: m.rows.length };
    }
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown };
    reply = {
      type: 'failed',
      id: m.id,
      message: String(e.message ?? err),
      ...(typeof e.code === 'string' && { code: e.code }),
    };
  }
  port.postMessage(reply);
}
