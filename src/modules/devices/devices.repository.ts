import type { Kysely, Selectable } from 'kysely';
import type { DB, DevicesTable } from '../../db/schema.ts';
import { fromDbBool, toDbBool } from '../../db/time.ts';

export interface DeviceRow {
  id: number;
  userId: number | null;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  tokenHash: string | null;
  isDefault: boolean;
  systemKey: string | null;
  createdAt: string;
  updatedAt: string;
}

function parseConfig(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function toDevice(r: Selectable<DevicesTable>): DeviceRow {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    kind: r.kind,
    config: parseConfig(r.config),
    tokenHash: r.token_hash,
    isDefault: fromDbBool(r.is_default),
    systemKey: r.system_key,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function createDevicesRepository(db: Kysely<DB>) {
  return {
    async insert(d: {
      userId: number | null;
      name: string;
      kind: string;
      config: Record<string, unknown>;
      tokenHash: string | null;
      isDefault: boolean;
      systemKey?: string;
      now: string;
    }): Promise<number> {
      const res = await db
        .insertInto('devices')
        .values({
          user_id: d.userId,
          name: d.name,
          kind: d.kind,
          config: JSON.stringify(d.config),
          token_hash: d.tokenHash,
          is_default: toDbBool(d.isDefault),
          system_key: d.systemKey ?? null,
          created_at: d.now,
          updated_at: d.now,
        })
        .executeTakeFirstOrThrow();
      return Number(res.insertId);
    },

    async findById(id: number): Promise<DeviceRow | undefined> {
      const r = await db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toDevice(r);
    },

    async findBySystemKey(key: string): Promise<DeviceRow | undefined> {
      const r = await db.selectFrom('devices').selectAll().where('system_key', '=', key).executeTakeFirst();
      return r && toDevice(r);
    },

    /** The user's devices (default first, then oldest), and the server's shared ones after them. */
    async listVisible(userId: number | null): Promise<DeviceRow[]> {
      const rows = await db
        .selectFrom('devices')
        .selectAll()
        .where((eb) => (userId === null ? eb('user_id', 'is', null) : eb.or([eb('user_id', '=', userId), eb('user_id', 'is', null)])))
        .orderBy('user_id', 'desc')
        .orderBy('is_default', 'desc')
        .orderBy('id', 'asc')
        .execute();
      return rows.map(toDevice);
    },

    async update(
      id: number,
      patch: Partial<{ name: string; config: Record<string, unknown>; tokenHash: string; isDefault: boolean }>,
      now: string,
    ): Promise<void> {
      await db
        .updateTable('devices')
        .set({
          ...(patch.name !== undefined && { name: patch.name }),
          ...(patch.config !== undefined && { config: JSON.stringify(patch.config) }),
          ...(patch.tokenHash !== undefined && { token_hash: patch.tokenHash }),
          ...(patch.isDefault !== undefined && { is_default: toDbBool(patch.isDefault) }),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    },

    /** Clears the default flag on every device of the user except `keepId`. */
    async clearDefault(userId: number, keepId: number, now: string): Promise<void> {
      await db
        .updateTable('devices')
        .set({ is_default: 0, updated_at: now })
        .where('user_id', '=', userId)
        .where('id', '!=', keepId)
        .where('is_default', '=', 1)
        .execute();
    },

    async delete(id: number): Promise<void> {
      await db.deleteFrom('devices').where('id', '=', id).execute();
    },
  };
}

export type DevicesRepository = ReturnType<typeof createDevicesRepository>;
