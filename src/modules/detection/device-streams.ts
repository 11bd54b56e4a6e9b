import type { Redis } from 'ioredis';
import type { Reading } from '../../detectors/index.ts';

/** One HTTP batch or MQTT message as stored in a device's stream: its entry id (the cursor) and its readings. */
export interface StreamEntry {
  id: string;
  readings: Reading[];
}

export interface DeviceStreamsDeps {
  /** Commands (XADD, XRANGE). */
  redis: Redis;
  /** A connection of its own for the blocking XREAD. */
  reader: Redis;
  /** Keys are `<keyPrefix>:device:<id>:readings`. */
  keyPrefix: string;
  /** Longest a stream grows (entries, approximately: `MAXLEN ~`). */
  maxLen: number;
  /** Entries older than this are trimmed (`MINID ~`), and an idle device's stream expires after twice this. */
  retentionMs: number;
  logger: { warn(obj: object, msg: string): void };
}

/** Creates a device's stream (empty) when it does not exist, and renews its expiry. */
const KEEP = `if redis.call('exists', KEYS[1]) == 0 then redis.call('xadd', KEYS[1], '*', 'k', '1'); redis.call('xtrim', KEYS[1], 'MAXLEN', 0) end return redis.call('pexpire', KEYS[1], ARGV[1])`;

/** Orders two stream entry ids (`<ms>-<n>`): negative when a comes first. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('-').map(Number);
  const [bm = 0, bn = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : an - bn;
}

type RawEntry = [id: string, fields: string[]];

function toEntry([id, fields]: RawEntry): StreamEntry {
  const i = fields.indexOf('r');
  const pairs = i >= 0 ? (JSON.parse(fields[i + 1] ?? '[]') as Array<[number, number]>) : [];
  return { id, readings: pairs.map(([ts, value]) => ({ ts, value })) };
}

const XREAD_BLOCK_MS = 200;
/** Marks of the last appended MQTT messages kept: more than a broker has in flight to one client. */
const MARKS = 256;
const PAGE = 1000;

/**
 * With REDIS_URL, HTTP readings (and MQTT readings, with MQTT_URL) travel through a Redis Stream per
 * device instead of pub/sub: the process that receives a batch or message appends it (and answers
 * 202, or acknowledges the MQTT message, once Redis has it), every process with
 * the device open follows the stream, and a process that takes a session over reads what arrived
 * since the dead or stopping owner's last checkpoint (decision 0005). Nothing arriving between two
 * owners is lost, within the stream's bounds.
 */
export function createDeviceStreams(deps: DeviceStreamsDeps) {
  const { redis, reader, logger } = deps;
  const key = (deviceId: number) => `${deps.keyPrefix}:device:${deviceId}:readings`;
  interface Follower {
    deviceId: number;
    cursor: string;
    deliver(entry: StreamEntry): void;
  }
  const following = new Map<string, Follower>();
  let loop: Promise<void> | undefined;
  let closed = false;
  let keptAt = Date.now();

  async function readLoop(): Promise<void> {
    while (!closed && following.size > 0) {
      const keys = [...following.keys()];
      // A followed stream stays (MQTT appends only go to streams that exist, and do not extend them).
      if (Date.now() - keptAt > deps.retentionMs / 2) {
        keptAt = Date.now();
        const p = redis.pipeline();
        for (const k of keys) p.eval(KEEP, 1, k, deps.retentionMs * 2);
        await p.exec().catch((err: unknown) => logger.warn({ err }, 'renewing device streams failed'));
      }
      let res: Array<[string, RawEntry[]]> | null;
      try {
        res = (await reader.call('XREAD', 'COUNT', PAGE, 'BLOCK', XREAD_BLOCK_MS, 'STREAMS', ...keys, ...keys.map((k) => following.get(k)!.cursor))) as Array<[string, RawEntry[]]> | null;
      } catch (err) {
        if (closed) return;
        logger.warn({ err }, 'reading device streams failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const [k, raw] of res ?? []) {
        const f = following.get(k);
        if (!f) continue;
        for (const r of raw) {
          // A device closed and reopened during the read starts at a later cursor.
          if (compareStreamIds(r[0], f.cursor) <= 0) continue;
          f.cursor = r[0];
          f.deliver(toEntry(r));
        }
      }
    }
  }

  function kick() {
    loop ??= readLoop().finally(() => {
      loop = undefined;
      if (!closed && following.size > 0) kick();
    });
  }

  /** Makes sure the stream exists (and stays for a while), and returns its last entry's id. */
  async function keepAndLastId(deviceId: number): Promise<string> {
    const k = key(deviceId);
    const [[keepErr] = [], [err, r] = []] = (await redis.pipeline().eval(KEEP, 1, k, deps.retentionMs * 2).xrevrange(k, '+', '-', 'COUNT', 1).exec()) ?? [];
    if (keepErr) throw keepErr;
    if (err) throw err;
    return (r as RawEntry[])[0]?.[0] ?? '0-0';
  }

  return {
    /** Appends one batch; resolves with its entry id once Redis holds it. */
    async append(deviceId: number, readings: readonly Reading[]): Promise<string> {
      const k = key(deviceId);
      const res = await redis
        .multi()
        .xadd(k, 'MAXLEN', '~', deps.maxLen, '*', 'r', JSON.stringify(readings.map((r) => [r.ts, r.value])))
        .xtrim(k, 'MINID', '~', Date.now() - deps.retentionMs)
        .pexpire(k, deps.retentionMs * 2)
        .exec();
      const [err, id] = res?.[0] ?? [new Error('no reply from Redis')];
      if (err) throw err;
      return id as string;
    },

    /**
     * Appends one MQTT message's readings, but only to a stream that exists: one some process
     * follows, or followed within twice the retention (a session between owners). Readings of a
     * device nobody follows are not kept. `mark` joins the list of the last marks (`MARKS`) in the
     * same transaction. Resolves with the entry id, or undefined when not kept.
     */
    async appendIfFollowed(deviceId: number, readings: readonly Reading[], mark?: { key: string; value: string }): Promise<string | undefined> {
      const k = key(deviceId);
      const tx = redis
        .multi()
        .xadd(k, 'NOMKSTREAM', 'MAXLEN', '~', deps.maxLen, '*', 'r', JSON.stringify(readings.map((r) => [r.ts, r.value])))
        .xtrim(k, 'MINID', '~', Date.now() - deps.retentionMs);
      if (mark) tx.lpush(mark.key, mark.value).ltrim(mark.key, 0, MARKS - 1).pexpire(mark.key, deps.retentionMs * 2);
      const res = await tx.exec();
      const [err, id] = res?.[0] ?? [new Error('no reply from Redis')];
      if (err) throw err;
      return (id as string | null) ?? undefined;
    },

    /**
     * Follows a device's stream from its current end: each new entry goes to `deliver`, in order.
     * Resolves (with the function that stops following) once the starting point is fixed.
     */
    async follow(deviceId: number, deliver: (entry: StreamEntry) => void): Promise<() => void> {
      const k = key(deviceId);
      const f: Follower = { deviceId, cursor: await keepAndLastId(deviceId), deliver };
      following.set(k, f);
      kick();
      return () => {
        if (following.get(k) === f) following.delete(k);
      };
    },

    /** Whether `value` is among the last marks appended with `appendIfFollowed`. */
    async hasMark(markKey: string, value: string): Promise<boolean> {
      return (await redis.lpos(markKey, value)) !== null;
    },

    /** The id of the last entry handed on for a followed device (undefined when not followed here). */
    cursor(deviceId: number): string | undefined {
      return following.get(key(deviceId))?.cursor;
    },

    /** Every entry after `after`, oldest first; `trimmed` when entries after it may have been trimmed away. */
    async since(deviceId: number, after: string): Promise<{ entries: StreamEntry[]; trimmed: boolean }> {
      const k = key(deviceId);
      // The stream's oldest entry and the first page in one round trip.
      const replies = (await redis.pipeline().xrange(k, '-', '+', 'COUNT', 1).xrange(k, `(${after}`, '+', 'COUNT', PAGE).exec()) ?? [];
      const [oldest, firstPage] = replies.map(([err, r]) => {
        if (err) throw err;
        return r as RawEntry[];
      });
      const trimmed = after !== '0-0' && oldest?.[0] !== undefined && compareStreamIds(oldest[0][0], after) > 0;
      const entries: StreamEntry[] = [];
      let page = firstPage ?? [];
      for (;;) {
        for (const r of page) entries.push(toEntry(r));
        if (page.length < PAGE) break;
        page = (await redis.xrange(k, `(${page[page.length - 1]![0]}`, '+', 'COUNT', PAGE)) as RawEntry[];
      }
      return { entries, trimmed };
    },

    close(): void {
      closed = true;
      following.clear();
      reader.disconnect();
    },
  };
}

export type DeviceStreams = ReturnType<typeof createDeviceStreams>;
