import type { Kysely, Selectable } from 'kysely';
import type { AlarmsTable, DB } from '../../db/schema.ts';

export type AlarmRow = Selectable<AlarmsTable>;

export interface AlarmInsert {
  user_id: number;
  device_id: number;
  session_id: number;
  model_id: number | null;
  signal: string;
  severity: string;
  opened_at: string;
  last_seen_at: string;
  peak_score: number;
  peak_value: number;
  peak_expected: number | null;
  peak_at: string;
  anomaly_count: number;
  silenced: string | null;
}

export interface AlarmProgress {
  severity: string;
  last_seen_at: string;
  peak_score: number;
  peak_value: number;
  peak_expected: number | null;
  peak_at: string;
  anomaly_count: number;
}

export interface AlarmFilter {
  state?: 'open' | 'acknowledged' | 'resolved' | 'active';
  deviceId?: number;
  sessionId?: number;
  since?: string;
  before?: { at: string; id: number };
  limit: number;
}

/** Alarms and per-device alarm rules: the only code touching their tables. */
export function createAlarmsRepository(db: Kysely<DB>) {
  return {
    async insert(a: AlarmInsert, now: string): Promise<AlarmRow> {
      const values = { ...a, state: 'open', created_at: now, updated_at: now };
      const r = await db.insertInto('alarms').values(values).executeTakeFirstOrThrow();
      const id = Number(r.insertId);
      return (await this.find(id))!;
    },

    /** Writes the running counters of an alarm that is not resolved; false when it was resolved meanwhile. */
    async progress(id: number, p: AlarmProgress, now: string): Promise<boolean> {
      const r = await db
        .updateTable('alarms')
        .set({ ...p, updated_at: now })
        .where('id', '=', id)
        .where('state', '!=', 'resolved')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    /** Resolves an alarm that is not resolved yet; false when it already was. */
    async resolve(id: number, by: 'auto' | 'user' | 'session', now: string, extra: { note?: string } = {}): Promise<boolean> {
      const r = await db
        .updateTable('alarms')
        .set({ state: 'resolved', resolved_at: now, resolved_by: by, updated_at: now, ...(extra.note !== undefined && { note: extra.note }) })
        .where('id', '=', id)
        .where('state', '!=', 'resolved')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async acknowledge(id: number, userId: number, note: string | undefined, now: string): Promise<boolean> {
      const r = await db
        .updateTable('alarms')
        .set({ state: 'acknowledged', acknowledged_by: userId, acknowledged_at: now, updated_at: now, ...(note !== undefined && { note }) })
        .where('id', '=', id)
        .where('state', '=', 'open')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async setFeedback(id: number, feedback: string, note: string | undefined, now: string): Promise<void> {
      await db
        .updateTable('alarms')
        .set({ feedback, updated_at: now, ...(note !== undefined && { note }) })
        .where('id', '=', id)
        .execute();
    },

    async find(id: number): Promise<AlarmRow | undefined> {
      return db.selectFrom('alarms').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** The user's alarms, newest first, keyset-paged by (opened_at, id). */
    async list(userId: number, f: AlarmFilter): Promise<AlarmRow[]> {
      let q = db.selectFrom('alarms').selectAll().where('user_id', '=', userId);
      if (f.state === 'active') q = q.where('state', 'in', ['open', 'acknowledged']);
      else if (f.state) q = q.where('state', '=', f.state);
      if (f.deviceId !== undefined) q = q.where('device_id', '=', f.deviceId);
      if (f.sessionId !== undefined) q = q.where('session_id', '=', f.sessionId);
      if (f.since !== undefined) q = q.where('opened_at', '>=', f.since);
      if (f.before) {
        const b = f.before;
        q = q.where((eb) => eb.or([eb('opened_at', '<', b.at), eb.and([eb('opened_at', '=', b.at), eb('id', '<', b.id)])]));
      }
      return q.orderBy('opened_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
    },

    /** Alarms left open by a process that stopped (their sessions no longer run). */
    async listUnresolved(): Promise<AlarmRow[]> {
      return db.selectFrom('alarms').selectAll().where('state', '!=', 'resolved').execute();
    },

    /** The session's readings between two stored times (at most `limit`), oldest first. */
    async readingsAround(sessionId: number, from: string, to: string, limit: number) {
      const rows = await db
        .selectFrom('detection_logs')
        .select(['timestamp', 'value', 'anomaly_score', 'is_anomaly'])
        .where('session_id', '=', sessionId)
        .where('timestamp', '>=', from)
        .where('timestamp', '<=', to)
        .orderBy('id', 'asc')
        .limit(limit)
        .execute();
      return rows;
    },

    async getRules(userId: number, deviceId: number): Promise<string | undefined> {
      const r = await db.selectFrom('alarm_rules').select('rules').where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst();
      return r?.rules;
    },

    async putRules(userId: number, deviceId: number, rules: string, now: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const r = await trx.updateTable('alarm_rules').set({ rules, updated_at: now }).where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) await trx.insertInto('alarm_rules').values({ user_id: userId, device_id: deviceId, rules, created_at: now, updated_at: now }).execute();
      });
    },

    async deleteRules(userId: number, deviceId: number): Promise<boolean> {
      const r = await db.deleteFrom('alarm_rules').where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}

export type AlarmsRepository = ReturnType<typeof createAlarmsRepository>;
