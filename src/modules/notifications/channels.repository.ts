import type { Kysely, Selectable } from 'kysely';
import type { AlarmDeliveriesTable, DB, NotificationChannelsTable } from '../../db/schema.ts';

export type ChannelRow = Selectable<NotificationChannelsTable>;
export type DeliveryRow = Selectable<AlarmDeliveriesTable>;

/** Notification channels and their delivery log. */
export function createChannelsRepository(db: Kysely<DB>) {
  return {
    async insert(c: { user_id: number; kind: string; name: string; config: string; secret: string | null; enabled: boolean }, now: string): Promise<ChannelRow> {
      const r = await db
        .insertInto('notification_channels')
        .values({ ...c, enabled: c.enabled ? 1 : 0, created_at: now, updated_at: now })
        .executeTakeFirstOrThrow();
      return (await this.find(Number(r.insertId)))!;
    },
    find(id: number): Promise<ChannelRow | undefined> {
      return db.selectFrom('notification_channels').selectAll().where('id', '=', id).executeTakeFirst();
    },
    listByUser(userId: number): Promise<ChannelRow[]> {
      return db.selectFrom('notification_channels').selectAll().where('user_id', '=', userId).orderBy('id', 'asc').execute();
    },
    /** Users with an enabled channel of a kind (for MQTT state publishing). */
    async usersWithKind(kind: string): Promise<number[]> {
      const rows = await db.selectFrom('notification_channels').select('user_id').where('kind', '=', kind).where('enabled', '=', 1).distinct().execute();
      return rows.map((r) => r.user_id);
    },
    async update(id: number, set: { name?: string; config?: string; enabled?: boolean; secret?: string }, now: string): Promise<void> {
      await db
        .updateTable('notification_channels')
        .set({
          updated_at: now,
          ...(set.name !== undefined && { name: set.name }),
          ...(set.config !== undefined && { config: set.config }),
          ...(set.enabled !== undefined && { enabled: set.enabled ? 1 : 0 }),
          ...(set.secret !== undefined && { secret: set.secret }),
        })
        .where('id', '=', id)
        .execute();
    },
    async delete(id: number): Promise<void> {
      await db.deleteFrom('notification_channels').where('id', '=', id).execute();
    },

    async insertDelivery(d: { user_id: number; alarm_id: number | null; channel_id: number; event: string; status: string; error?: string }, now: string): Promise<number> {
      const r = await db
        .insertInto('alarm_deliveries')
        .values({ ...d, error: d.error ?? null, attempts: 0, response_status: null, created_at: now, updated_at: now })
        .executeTakeFirstOrThrow();
      return Number(r.insertId);
    },
    async updateDelivery(id: number, set: { status: string; attempts: number; response_status: number | null; error: string | null }, now: string): Promise<void> {
      await db.updateTable('alarm_deliveries').set({ ...set, updated_at: now }).where('id', '=', id).execute();
    },
    listDeliveries(f: { userId: number; alarmId?: number; channelId?: number; limit: number }): Promise<DeliveryRow[]> {
      let q = db.selectFrom('alarm_deliveries').selectAll().where('user_id', '=', f.userId);
      if (f.alarmId !== undefined) q = q.where('alarm_id', '=', f.alarmId);
      if (f.channelId !== undefined) q = q.where('channel_id', '=', f.channelId);
      return q.orderBy('id', 'desc').limit(f.limit).execute();
    },
  };
}

export type ChannelsRepository = ReturnType<typeof createChannelsRepository>;
