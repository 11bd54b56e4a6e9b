import { Redis } from 'ioredis';
import type { Reading } from '../../detectors/index.ts';
import type { SessionRow } from './detection.repository.ts';
import { createDeviceStreams } from './device-streams.ts';
import type { ClusterOp, SessionCheckpoint, SessionCluster, TakeoverTiming } from './live-session.ts';

/** The parts of the detection service the cluster drives. */
export interface ClusterMember {
  /** Sessions this process owns and checkpoints (logged, with an owner, not stopping). */
  checkpointedIds(): number[];
  /** Checkpoints of the given sessions (all of them without `ids`); ids no longer live are skipped. */
  checkpoints(ids?: Iterable<number>): SessionCheckpoint[];
  isLive(sessionId: number): boolean;
  /** Resolves false when the process does not take the session after all (it runs it, or is closing). */
  adopt(row: SessionRow, checkpoint: SessionCheckpoint | undefined, timing?: TakeoverTiming): Promise<boolean>;
  runningElsewhere(): Promise<SessionRow[]>;
  /** The session's row while it is `running`. */
  runningRow(sessionId: number): Promise<SessionRow | undefined>;
  /** Runs a command another process sent for a session this process owns. */
  command(sessionId: number, op: ClusterOp): Promise<unknown>;
  abandon(sessionId: number): void;
}

export interface SessionClusterDeps {
  redisUrl: string;
  /** REDIS_KEY_PREFIX: deployments sharing one Redis use different prefixes. */
  prefix: string;
  /** Keys and channels are prefixed with it: processes sharing a database share a namespace. */
  namespace: string;
  instanceId: string;
  /** A session whose owner stops renewing for this long is taken over by another process. */
  leaseMs: number;
  /**
   * How old a session's checkpoint may get (default 30 s). Written apart from the lease renewal:
   * serialising a detector costs milliseconds, so checkpoints are spread over the interval.
   */
  checkpointMs?: number;
  /** Bounds of each device's stream of HTTP readings (entries, and age in ms). */
  stream: { maxLen: number; retentionMs: number };
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

const CHECKPOINT_TTL_MS = 24 * 3600 * 1000;
/** Checkpoints are written on this tick, a few sessions at a time. */
const CHECKPOINT_TICK_MS = 100;
/** Time one tick may spend serialising detectors beyond the sessions it must write to keep up. */
const CHECKPOINT_BUDGET_MS = 4;
/** How long a command waits for the owner's answer. */
const COMMAND_TIMEOUT_MS = 3000;
/** A process younger than this leaves handed-over sessions to older ones for `YOUNG_CLAIM_DELAY_MS`. */
const YOUNG_MS = 20_000;
const YOUNG_CLAIM_DELAY_MS = 150;
/** A status question waits less: a dead owner's session is then reported from the database. */
const INFO_TIMEOUT_MS = 500;

/** Renews (PEXPIRE) or deletes a key only while this instance holds it. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** Takes a key that is free or held by ARGV[1] (a holder known to be gone). */
const TAKE = `local v = redis.call('get', KEYS[1]) if (not v) or (ARGV[1] ~= '' and v == ARGV[1]) then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0`;

/**
 * Session ownership across Vigil processes sharing one Redis (see docs/decisions/0008):
 * each live session is leased to exactly one process, which renews the lease and writes a
 * detector checkpoint every `leaseMs / 3`; a process that finds a running session without a
 * lease takes it over from its checkpoint. Commands (stop, status, threshold, pause) reach the
 * owner over Redis pub/sub; HTTP readings go through a Redis Stream per device (device-streams.ts).
 */
export function createSessionCluster(deps: SessionClusterDeps) {
  const { instanceId, leaseMs, logger } = deps;
  const checkpointMs = deps.checkpointMs ?? 30_000;
  /** When this process joined the cluster (start). */
  let bornAt = Date.now();
  const ns = `${deps.prefix}:${deps.namespace}`;
  const leaseKey = (id: number) => `${ns}:session:${id}:lease`;
  const checkpointKey = (id: number) => `${ns}:session:${id}:checkpoint`;
  const COMMANDS = `${ns}:sessions:commands`;
  const REPLIES = `${ns}:sessions:replies`;
  /** A process that handed sessions over on a graceful stop says so: the others sweep at once. */
  const RELEASED = `${ns}:sessions:released`;
  const redis = new Redis(deps.redisUrl, { maxRetriesPerRequest: 2 });
  const sub = redis.duplicate();
  const streams = createDeviceStreams({ redis, reader: redis.duplicate(), keyPrefix: ns, maxLen: deps.stream.maxLen, retentionMs: deps.stream.retentionMs, logger });
  const pending = new Map<string, (result: unknown) => void>();
  let requestSeq = 0;
  const timers: NodeJS.Timeout[] = [];
  let member: ClusterMember | undefined;
  let closed = false;
  let sweeping: Promise<void> | undefined;
  /** Hand-overs being taken (a stopping process waits for them before it hands its own sessions over). */
  const taking = new Set<Promise<void>>();

  sub.on('error', (err: unknown) => logger.warn({ err }, 'session cluster subscriber error'));
  sub.on('message', (channel, text) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (channel === COMMANDS && typeof msg.requestId === 'string' && typeof msg.sessionId === 'number' && typeof msg.op === 'object' && msg.op !== null) {
      const id = msg.sessionId;
      const requestId = msg.requestId;
      if (!member?.isLive(id)) return;
      const op = msg.op as ClusterOp;
      if (op.type === 'stop') logger.info({ sessionId: id }, 'stopping a session on request of another process');
      void member
        .command(id, op)
        .then((result) => redis.publish(REPLIES, JSON.stringify({ requestId, result: result ?? null })))
        .catch((err: unknown) => logger.error({ err, sessionId: id, op: op.type }, 'command from another process failed'));
    } else if (channel === REPLIES && typeof msg.requestId === 'string') {
      pending.get(msg.requestId)?.(msg.result ?? undefined);
    } else if (channel === RELEASED && msg.from !== instanceId) {
      const noticedAt = Date.now();
      const handed = Array.isArray(msg.sessions) ? msg.sessions.filter((x): x is number => typeof x === 'number') : [];
      const p = takeHandedOver(handed, noticedAt)
        .catch((err: unknown) => logger.warn({ err }, 'taking over handed-over sessions failed'))
        .finally(() => taking.delete(p));
      taking.add(p);
    }
  });

  /** When each live session's checkpoint was last written here (absent: not yet: due at once). */
  const checkpointedAt = new Map<number, number>();

  /** Renews the leases of every session this process owns (cheap: no detector is serialised). */
  async function heartbeat() {
    if (!member || closed) return;
    const ids = member.checkpointedIds();
    if (ids.length === 0) return;
    const p = redis.pipeline();
    for (const id of ids) p.eval(RENEW, 1, leaseKey(id), instanceId, String(leaseMs));
    const res = (await p.exec()) ?? [];
    ids.forEach((id, i) => {
      // Another process holds the lease now (this one stalled past it): stop scoring here.
      if (res[i]?.[1] === 0) {
        logger.warn({ sessionId: id, reply: res[i] }, 'session lease lost');
        checkpointedAt.delete(id);
        member?.abandon(id);
      }
    });
  }

  /**
   * Writes the checkpoints that are due: a session new here at once, then each every
   * `checkpointMs`, oldest first. Serialising a detector costs 1-3 ms, so one tick writes at
   * least its share of the live sessions (n x tick / interval) and more only within a small time
   * budget: the event loop never stalls for all of them at once (at 100 sessions a process every
   * lease / 3 used to cost more CPU than scoring them, issue 15).
   */
  let writing = false;
  async function writeCheckpoints() {
    if (!member || closed || writing) return;
    writing = true;
    try {
      await writeDueCheckpoints(member);
    } finally {
      writing = false;
    }
  }

  async function writeDueCheckpoints(member: ClusterMember) {
    const ids = member.checkpointedIds();
    const now = Date.now();
    const liveIds = new Set(ids);
    for (const id of checkpointedAt.keys()) if (!liveIds.has(id)) checkpointedAt.delete(id);
    const due = ids.filter((id) => (checkpointedAt.get(id) ?? -Infinity) + checkpointMs <= now).sort((a, b) => (checkpointedAt.get(a) ?? -Infinity) - (checkpointedAt.get(b) ?? -Infinity));
    if (due.length === 0) return;
    const share = Math.ceil((ids.length * CHECKPOINT_TICK_MS) / checkpointMs);
    const t0 = performance.now();
    const p = redis.pipeline();
    let n = 0;
    for (const id of due) {
      if (n >= share && performance.now() - t0 >= CHECKPOINT_BUDGET_MS) break;
      const [c] = member.checkpoints([id]);
      if (!c) continue;
      p.set(checkpointKey(id), JSON.stringify(c), 'PX', CHECKPOINT_TTL_MS);
      checkpointedAt.set(id, now);
      n++;
    }
    if (n > 0) await p.exec();
  }

  function sweep(): Promise<void> {
    if (!member || closed) return Promise.resolve();
    sweeping ??= runSweep().finally(() => (sweeping = undefined));
    return sweeping;
  }

  /**
   * Takes a session over: the lease (`SET NX`) and the checkpoint in one round trip, then the
   * detector restored and the stream caught up. False when another process (or this one) got the
   * lease first.
   */
  async function take(id: number, row: SessionRow | (() => Promise<SessionRow | undefined>), noticedAt: number): Promise<boolean> {
    // A stopping process takes nothing over (it would exit holding the lease).
    if (!member || closed || member.isLive(id)) return false;
    // The row is read meanwhile (one hop less on the hand-over's path).
    const rowRead = typeof row === 'function' ? row() : Promise.resolve(row);
    rowRead.catch(() => undefined);
    const [[setErr, set] = [], [getErr, text] = []] = (await redis.pipeline().set(leaseKey(id), instanceId, 'PX', leaseMs, 'NX').get(checkpointKey(id)).exec()) ?? [];
    if (setErr) throw setErr;
    if (set !== 'OK') return false;
    const timing: TakeoverTiming = { noticedAt, claimedAt: Date.now() };
    try {
      if (getErr) throw getErr;
      const cp = typeof text === 'string' ? (JSON.parse(text) as SessionCheckpoint) : undefined;
      // Its counters are exact only for the first owner after the hand-over: should this process die
      // before its first heartbeat, the next one counts from the log.
      if (cp?.handedOver) void redis.set(checkpointKey(id), JSON.stringify({ ...cp, handedOver: undefined }), 'PX', CHECKPOINT_TTL_MS).catch(() => undefined);
      const r = await rowRead;
      if (!r || !(await member.adopt(r, cp, timing))) {
        await redis.eval(RELEASE, 1, leaseKey(id), instanceId);
        return false;
      }
      const h = cp?.handedOver;
      logger.info(
        {
          session_id: r.id,
          user_id: r.userId,
          device_id: r.deviceId,
          fromCheckpoint: cp !== undefined,
          handed_over: h !== undefined,
          // Phases in ms. Across hosts the first two include the clocks' difference.
          ...(h && {
            handover_ms: (timing.caughtUpAt ?? timing.claimedAt) - h.stoppedAt,
            stop_to_release_ms: h.releasedAt - h.stoppedAt,
            release_to_notice_ms: noticedAt - h.releasedAt,
          }),
          notice_to_claim_ms: timing.claimedAt - noticedAt,
          claim_to_restore_ms: (timing.restoredAt ?? timing.claimedAt) - timing.claimedAt,
          catch_up_ms: (timing.caughtUpAt ?? timing.claimedAt) - (timing.restoredAt ?? timing.claimedAt),
          ...(timing.subscribedAt !== undefined && timing.readAt !== undefined && timing.restoredAt !== undefined && timing.caughtUpAt !== undefined && {
            catch_up_phases_ms: { subscribe: timing.subscribedAt - timing.restoredAt, read: timing.readAt - timing.subscribedAt, score: timing.caughtUpAt - timing.readAt },
          }),
          caught_up: timing.caughtUp ?? 0,
        },
        'detection session taken over',
      );
      return true;
    } catch (err) {
      logger.error({ err, sessionId: id }, 'session takeover failed');
      await redis.eval(RELEASE, 1, leaseKey(id), instanceId);
      return false;
    }
  }

  /**
   * Sessions a stopping process just released: taken at once, however young, without a sweep. A
   * process that joined the cluster less than `YOUNG_MS` ago (in a rolling restart, the one that replaces the
   * stopping process) lets older ones claim first: its catch-up ran 3-10 times slower on a loaded
   * machine (its code still interpreted, not yet optimised by V8).
   */
  async function takeHandedOver(ids: readonly number[], noticedAt: number): Promise<void> {
    if (Date.now() - bornAt < YOUNG_MS) await new Promise((r) => setTimeout(r, YOUNG_CLAIM_DELAY_MS));
    for (const id of ids) await take(id, () => member!.runningRow(id), noticedAt);
  }

  async function runSweep() {
    if (!member || closed) return;
    const noticedAt = Date.now();
    for (const row of await member.runningElsewhere()) {
      // A session just started elsewhere may not hold its lease yet.
      if (Date.now() - Date.parse(`${row.startedAt.replace(' ', 'T')}Z`) < leaseMs) continue;
      if (closed) return;
      await take(row.id, row, noticedAt);
    }
  }

  const hooks: SessionCluster = {
    async claim(id) {
      await redis.set(leaseKey(id), instanceId, 'PX', leaseMs);
    },
    async release(id) {
      await redis.eval(RELEASE, 1, leaseKey(id), instanceId);
      await redis.del(checkpointKey(id));
    },
    async ask(id, op) {
      // No lease, or one its holder stopped renewing (renewals come every leaseMs / 3): no process
      // answers for the session right now (it ended, or is between owners).
      const ttl = await redis.pttl(leaseKey(id));
      if (ttl < leaseMs / 2) return undefined;
      const requestId = `${instanceId}:${++requestSeq}`;
      return new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => finish(undefined), op.type === 'info' ? INFO_TIMEOUT_MS : COMMAND_TIMEOUT_MS);
        const finish = (result: unknown) => {
          clearTimeout(timer);
          pending.delete(requestId);
          resolve(result);
        };
        pending.set(requestId, finish);
        redis.publish(COMMANDS, JSON.stringify({ requestId, sessionId: id, op })).catch(() => finish(undefined));
      });
    },
    cursor: (deviceId) => streams.cursor(deviceId),
    readingsSince: (deviceId, after) => streams.since(deviceId, after),
  };

  return {
    hooks,
    /** Starts heartbeats and takeover sweeps for the given detection service. */
    async start(m: ClusterMember): Promise<void> {
      member = m;
      bornAt = Date.now();
      // Subscribing before the connection is ready races ioredis's ready check (INFO), which Redis
      // refuses on a subscribed connection: the connection drops and the subscription is lost.
      if (sub.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`Redis at REDIS_URL did not become ready within 10 s`)), 10_000);
          sub.once('ready', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await sub.subscribe(COMMANDS, REPLIES, RELEASED);
      const guard = (f: () => Promise<void>, what: string) => () => void f().catch((err: unknown) => logger.warn({ err }, `${what} failed`));
      timers.push(setInterval(guard(heartbeat, 'session heartbeat'), Math.max(100, Math.floor(leaseMs / 3))));
      timers.push(setInterval(guard(writeCheckpoints, 'session checkpoints'), Math.min(CHECKPOINT_TICK_MS, checkpointMs)));
      timers.push(setInterval(guard(() => sweep(), 'session takeover sweep'), Math.max(100, Math.floor(leaseMs / 2))));
    },
    /** Appends an HTTP batch to its device's stream; resolves once Redis holds it. */
    appendReadings: (deviceId: number, readings: readonly Reading[]) => streams.append(deviceId, readings),
    /**
     * The cluster's MQTT intake (mqtt-intake.ts): its lease, its broker session's client id and
     * control topic, and appends to the device streams marked with the message they came in.
     */
    mqttIntake: {
      clientId: `vigil-${deps.prefix}-${deps.namespace}-intake`,
      controlTopic: `vigil-cluster/${deps.prefix}-${deps.namespace}/intake`,
      lease: {
        holder: instanceId,
        acquire: async (from?: string) => (await redis.eval(TAKE, 1, `${ns}:mqtt-intake:lease`, from ?? '', instanceId, String(leaseMs))) === 1,
        renew: async () => (await redis.eval(RENEW, 1, `${ns}:mqtt-intake:lease`, instanceId, String(leaseMs))) === 1,
        release: async () => {
          await redis.eval(RELEASE, 1, `${ns}:mqtt-intake:lease`, instanceId);
        },
      },
      append: (deviceId: number, readings: readonly Reading[], mark: string) => streams.appendIfFollowed(deviceId, readings, { key: `${ns}:mqtt-intake:marks`, value: mark }),
      appended: (mark: string) => streams.hasMark(`${ns}:mqtt-intake:marks`, mark),
      checkMs: Math.max(100, Math.floor(leaseMs / 3)),
    },
    /** Follows a device's stream from its end (the source of an HTTP or MQTT device in a cluster). */
    followReadings: streams.follow,
    /**
     * First step of a graceful stop: no more heartbeats or takeovers here (a sweep in flight is
     * awaited), so this process cannot take back a lease it is about to release.
     */
    async quiesce(): Promise<void> {
      closed = true;
      for (const t of timers) clearInterval(t);
      timers.length = 0;
      await Promise.all([sweeping?.catch(() => undefined), ...taking]);
    },
    /** Final checkpoints of sessions handed over on a graceful stop; their leases are freed at once and the others told. */
    async handOver(cps: SessionCheckpoint[]): Promise<void> {
      if (cps.length === 0) return;
      const p = redis.pipeline();
      const releasedAt = Date.now();
      for (const c of cps) {
        const cp = c.handedOver ? { ...c, handedOver: { ...c.handedOver, releasedAt } } : c;
        p.set(checkpointKey(c.sessionId), JSON.stringify(cp), 'PX', CHECKPOINT_TTL_MS);
        p.eval(RELEASE, 1, leaseKey(c.sessionId), instanceId);
      }
      p.publish(RELEASED, JSON.stringify({ from: instanceId, sessions: cps.map((c) => c.sessionId) }));
      await p.exec();
    },
    async close(): Promise<void> {
      closed = true;
      for (const t of timers) clearInterval(t);
      streams.close();
      sub.disconnect();
      await redis.quit().catch(() => undefined);
    },
    /** Resolves when Redis answers a PING within `timeoutMs` (readiness). */
    /**
     * A lock shared by every process on this database (`SET NX PX`): resolves to its release, or
     * undefined when another process holds it. It expires after `ttlMs` if its holder dies.
     */
    async tryLock(name: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
      const key = `${ns}:lock:${name}`;
      if ((await redis.set(key, instanceId, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;
      return async () => {
        await redis.eval(RELEASE, 1, key, instanceId);
      };
    },

    async ping(timeoutMs = 1000): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          redis.ping(),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('redis ping timed out')), timeoutMs))),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    /**
     * Redis clients and channel prefix for the Socket.IO adapter. The adapter publishes every room
     * broadcast (each `arduino_data`): auto-pipelining sends the publishes of one event-loop turn
     * in one socket write instead of one each (the writes were 12 % of a process's CPU in the
     * two-process bench). `sharded` (Redis 7+): the sharded adapter's per-room channels, so a
     * process receives only broadcasts to rooms it has sockets in, instead of decoding every one.
     */
    adapterClients: async () => {
      const info = await redis.info('server').catch(() => '');
      const major = Number(/redis_version:(\d+)/.exec(info)?.[1] ?? 0);
      return { pub: redis.duplicate({ enableAutoPipelining: true }), sub: redis.duplicate(), key: `${ns}:socket.io`, sharded: major >= 7 };
    },
  };
}

export type SessionClusterImpl = ReturnType<typeof createSessionCluster>;
