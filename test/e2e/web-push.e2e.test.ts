import { createECDH, createPublicKey, createVerify, randomBytes, type ECDH } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import ece from 'http_ece';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject, warmSession } from '../support/alarms.ts';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { eventually, sleep } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const SUBJECT = 'mailto:ops@example.test';

interface PushRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * A push service on 127.0.0.1 (as a browser vendor's would be): records each request and answers
 * 201, or the status set for its path.
 */
async function pushService() {
  const received: PushRequest[] = [];
  const statusOf = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(statusOf.get(req.url ?? '') ?? 201).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { received, origin, answer: (p: string, status: number) => statusOf.set(p, status), close: () => server.close() };
}

/** What a browser creates when it subscribes: a P-256 key pair and 16 random auth bytes. */
function browserKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, auth, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
}

/**
 * Checks `Authorization: vapid t=<jwt>, k=<key>` as a push service does: the key is the server's,
 * the ES256 signature verifies with it, aud is the endpoint's origin, exp is in the future.
 */
function verifyVapid(r: PushRequest, serverKey: string, origin: string) {
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)$/.exec(String(r.headers.authorization));
  expect(m, String(r.headers.authorization)).not.toBeNull();
  const [, jwt, k] = m!;
  expect(k).toBe(serverKey);
  const [h, p, sig] = jwt!.split('.') as [string, string, string];
  expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toMatchObject({ alg: 'ES256', typ: 'JWT' });
  const raw = Buffer.from(k!, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') }, format: 'jwk' });
  const ok = createVerify('SHA256').update(`${h}.${p}`).verify({ key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
  expect(ok).toBe(true);
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { aud: string; exp: number; sub: string };
  expect(claims.aud).toBe(origin);
  expect(claims.sub).toBe(SUBJECT);
  expect(claims.exp).toBeGreaterThan(Date.now() / 1000);
  expect(claims.exp).toBeLessThanOrEqual(Date.now() / 1000 + 24 * 3600);
}

/** Decrypts an aes128gcm push body with the subscription's private key and auth secret (RFC 8291). */
function decrypt(r: PushRequest, ecdh: ECDH, auth: Buffer): any {
  expect(r.headers['content-encoding']).toBe('aes128gcm');
  expect(r.headers.ttl).toMatch(/^\d+$/);
  return JSON.parse(ece.decrypt(r.body, { version: 'aes128gcm', privateKey: ecdh, authSecret: auth.toString('base64url') }).toString('utf8'));
}

describe.each(testDialects())('Web Push notifications [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;
  let push: Awaited<ReturnType<typeof pushService>>;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    push = await pushService();
    server = await startTestServer(dialect, {
      LOG_BATCH_SIZE: '40',
      LOG_FLUSH_MS: '50',
      ALARM_TICK_MS: '100',
      NOTIFY_ALLOW_HOSTS: '127.0.0.1',
      NOTIFY_RETRY_MS: '100',
      VAPID_SUBJECT: SUBJECT,
    });
    api = httpClient(server.baseUrl);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  afterAll(async () => {
    await server?.stop();
    push?.close();
  });

  it('serves the VAPID public key without sign-in: the key pair generated once in DATA_DIR', async () => {
    const r = await api.get('/notifications/web-push/key');
    expect(r.status).toBe(200);
    expect(r.body.public_key).toMatch(/^[\w-]{87}$/);
    const stored = JSON.parse(readFileSync(path.join(server.db.dataDir, 'vapid-keys.json'), 'utf8'));
    expect(stored.publicKey).toBe(r.body.public_key);
    expect(Buffer.from(stored.privateKey, 'base64url')).toHaveLength(32);
    const docs = (await api.get('/docs/json')).body;
    expect(docs.paths['/notifications/web-push/key'].get.security).toBeUndefined();
    expect(JSON.stringify(docs.paths['/notifications/channels'].post.requestBody)).toContain('web_push');
    expect(docs.paths['/detection/sessions/{id}/feedback'].post.responses['201']).toBeDefined();
  });

  it('refuses invalid subscriptions and private or loopback endpoints that are not allow-listed, with clear codes', async () => {
    const u = await registerUser(api, 'wpbad');
    const { keys } = browserKeys();
    const endpoint = `${push.origin}/push/bad`;
    const offCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
    const cases: Array<[unknown, string]> = [
      [{ kind: 'web_push', name: 'b' }, 'validation-failed'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint } }, 'validation-failed'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint, keys, extra: 1 } }, 'validation-failed'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint: 'not a url', keys } }, 'invalid-subscription'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint: 'ftp://127.0.0.1/x', keys } }, 'invalid-subscription'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint, keys: { ...keys, auth: randomBytes(8).toString('base64url') } } }, 'invalid-subscription'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint, keys: { ...keys, p256dh: randomBytes(33).toString('base64url') } } }, 'invalid-subscription'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint, keys: { ...keys, p256dh: offCurve } } }, 'invalid-subscription'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint, keys: { ...keys, auth: 'not base64!' } } }, 'invalid-subscription'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint: 'http://127.0.0.2:9/push', keys } }, 'destination-not-allowed'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint: 'http://[::1]:9/push', keys } }, 'destination-not-allowed'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint: 'http://169.254.169.254/latest', keys } }, 'destination-not-allowed'],
      [{ kind: 'web_push', name: 'b', subscription: { endpoint: 'https://10.0.0.8/push', keys } }, 'destination-not-allowed'],
    ];
    for (const [body, code] of cases) {
      const r = await api.post('/notifications/channels', body, u.token);
      expect({ body, status: r.status, code: r.body.code }).toEqual({ body, status: 400, code });
      expect(typeof r.body.message).toBe('string');
    }
    expect((await api.get('/notifications/channels', u.token)).body.channels).toEqual([]);
    expect(push.received.filter((r) => r.path === '/push/bad')).toEqual([]);
  });

  it('pushes an alarm opened by a live simulator session: VAPID-signed, encrypted for the subscription, one user only; 410 removes the subscription', async () => {
    const serverKey = (await api.get('/notifications/web-push/key')).body.public_key as string;
    const u = await registerUser(api, 'wpush');
    const other = await registerUser(api, 'wpusho');
    const mine = browserKeys();
    const theirs = browserKeys();
    const endpoint = `${push.origin}/push/${u.id}`;
    const created = await api.post('/notifications/channels', { kind: 'web_push', name: 'this browser', subscription: { endpoint, expirationTime: null, keys: mine.keys } }, u.token);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'web_push', name: 'this browser', endpoint, enabled: true });
    expect(created.body.secret).toBeUndefined();
    // The same browser subscribing again (every page load may) updates its channel.
    const again = await api.post('/notifications/channels', { kind: 'web_push', name: 'renamed', subscription: { endpoint, keys: mine.keys } }, u.token);
    expect(again.body).toMatchObject({ id: created.body.id, name: 'renamed' });
    expect((await api.get('/notifications/channels', u.token)).body.channels).toHaveLength(1);
    const theirEndpoint = `${push.origin}/push/${other.id}`;
    expect((await api.post('/notifications/channels', { kind: 'web_push', name: 'other browser', subscription: { endpoint: theirEndpoint, keys: theirs.keys } }, other.token)).status).toBe(201);

    // "Send a test": one request to this endpoint, signed and encrypted.
    expect((await api.post(`/notifications/channels/${created.body.id}/test`, undefined, u.token)).status).toBe(202);
    const test = (await eventually(() => push.received.find((r) => r.path === `/push/${u.id}`), 10_000))!;
    verifyVapid(test, serverKey, push.origin);
    expect(decrypt(test, mine.ecdh, mine.auth)).toMatchObject({ event: 'test', title: expect.any(String), url: '/app/live' });
    // Only the subscription's own keys open it.
    expect(() => decrypt(test, theirs.ecdh, theirs.auth)).toThrow();

    // The other user can neither see nor use this channel.
    expect((await api.post(`/notifications/channels/${created.body.id}/test`, undefined, other.token)).status).toBe(404);
    expect((await api.get('/notifications/channels', other.token)).body.channels.map((c: any) => c.endpoint)).toEqual([theirEndpoint]);

    // A real alarm: a simulator session with an injected anomaly, over HTTP.
    await api.request('PUT', '/alarms/rules', { body: { resolve_after_s: 2, digest_threshold: 100 }, token: u.token });
    const s = await warmSession(server.baseUrl, api, u);
    sockets.push(s.socket);
    await inject(api, u.token, s.deviceId, 'dropout', 30);
    const opened = await eventually(() => s.seen.alarm_opened![0], 10_000);
    const pushed = (await eventually(
      () => push.received.filter((r) => r.path === `/push/${u.id}`).map((r) => ({ r, p: decrypt(r, mine.ecdh, mine.auth) })).find((x) => x.p.event === 'alarm_opened'),
      15_000,
    ))!;
    verifyVapid(pushed.r, serverKey, push.origin);
    expect(pushed.r.headers.urgency).toBe('high');
    expect(pushed.p).toMatchObject({
      event: 'alarm_opened',
      title: expect.stringContaining(`device ${s.deviceId}`),
      url: `/app/sessions/${s.sessionId}?alarm=${opened.id}`,
      tag: `vigil-alarm-${opened.id}`,
      alarm: { id: opened.id, device_id: s.deviceId, session_id: s.sessionId, signal: opened.signal },
    });
    const log = await eventually(async () => {
      const d = (await api.get(`/alarms/${opened.id}/deliveries`, u.token)).body.deliveries.find((x: any) => x.channel_id === created.body.id && x.event === 'alarm_opened');
      return d?.status === 'sent' ? d : undefined;
    }, 10_000);
    expect(log).toMatchObject({ response_status: 201, attempts: 1 });
    // Nothing of this user's alarm went to the other user's browser.
    await sleep(500);
    expect(push.received.filter((r) => r.path === `/push/${other.id}`)).toEqual([]);
    await api.post('/detection/stop', { session_id: s.sessionId }, u.token);
    await eventually(() => push.received.filter((r) => r.path === `/push/${u.id}`).some((r) => decrypt(r, mine.ecdh, mine.auth).event === 'alarm_resolved'), 10_000);

    // The browser unsubscribed: the push service answers 410 and the channel is removed, not retried.
    push.answer(`/push/${u.id}`, 410);
    const before = push.received.length;
    expect((await api.post(`/notifications/channels/${created.body.id}/test`, undefined, u.token)).status).toBe(202);
    await eventually(async () => ((await api.get('/notifications/channels', u.token)).body.channels.length === 0 ? true : undefined), 10_000);
    await sleep(500);
    expect(push.received.slice(before).filter((r) => r.path === `/push/${u.id}`)).toHaveLength(1);
    expect((await api.post(`/notifications/channels/${created.body.id}/test`, undefined, u.token)).status).toBe(404);
    expect((await api.get('/notifications/channels', other.token)).body.channels).toHaveLength(1);
  }, 90_000);
});
