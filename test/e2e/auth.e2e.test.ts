import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/db.ts';
import { httpClient, newUserInput, registerUser } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('accounts over HTTP [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => server?.stop());

  describe('GET /health', () => {
    it('reports ok and a reachable database of the configured dialect', async () => {
      const res = await api.get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', database: { dialect, reachable: true } });
      expect(res.headers.get('x-request-id')).toBeTruthy();
    });
  });

  describe('POST /auth/register', () => {
    it('creates the account and answers 201 with a bearer token and the user', async () => {
      const input = newUserInput();
      const res = await api.post('/auth/register', input);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        token_type: 'bearer',
        user: { username: input.username, email: input.email },
        message: expect.any(String),
      });
      expect(res.body.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(res.body.user).not.toHaveProperty('password_hash');
      const me = await api.get('/auth/me', res.body.access_token);
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(res.body.user.id);
    });

    it('is also served under /api/auth for the mobile app', async () => {
      const res = await api.post('/api/auth/register', newUserInput('app'));
      expect(res.status).toBe(201);
      expect(res.body.token_type).toBe('bearer');
    });

    it('answers 409 username-taken for a duplicate username, whatever its case', async () => {
      const u = await registerUser(api);
      const res = await api.post('/auth/register', { ...newUserInput(), username: u.username.toUpperCase() });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'username-taken', message: expect.any(String), error: expect.any(String) });
    });

    it('answers 409 email-taken for a duplicate email', async () => {
      const u = await registerUser(api);
      const res = await api.post('/auth/register', { ...newUserInput(), email: u.email.toUpperCase() });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('email-taken');
    });

    it.each([
      ['a too-short username', { username: 'ab' }],
      ['a too-long username', { username: 'a'.repeat(33) }],
      ['a username with spaces', { username: 'has space' }],
      ['an invalid email', { email: 'not-an-email' }],
      ['a short password', { password: 'short' }],
      ['a number where a string belongs', { username: 12345 }],
      ['an unknown field', { is_admin: true }],
      ['an over-long password', { password: 'x'.repeat(5000) }],
    ])('answers 400 validation-failed for %s', async (_label, patch) => {
      const res = await api.post('/auth/register', { ...newUserInput(), ...patch });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation-failed');
      expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.any(String) })]));
    });

    it('answers 400 invalid-json for malformed JSON', async () => {
      const res = await api.request('POST', '/auth/register', { rawBody: '{"username": "x",' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid-json');
    });

    it('answers 413 payload-too-large for a body over the limit', async () => {
      const res = await api.request('POST', '/auth/register', {
        rawBody: JSON.stringify({ ...newUserInput(), padding: 'x'.repeat(1_100_000) }),
      });
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('payload-too-large');
    });
  });

  describe('POST /auth/login', () => {
    it('signs in by username or email and lists available models', async () => {
      const u = await registerUser(api);
      for (const login of [u.username, u.email]) {
        const res = await api.post('/auth/login', { username: login, password: u.password });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({
          token_type: 'bearer',
          user: { id: u.id, username: u.username, email: u.email },
          expires_in: expect.any(Number),
          refresh_token: expect.any(String),
        });
        expect(Array.isArray(res.body.available_models)).toBe(true);
      }
      const viaApp = await api.post('/api/auth/login', { username: u.username, password: u.password });
      expect(viaApp.status).toBe(200);
    });

    it('gives the same 401 for an unknown user and a wrong password', async () => {
      const u = await registerUser(api);
      const wrong = await api.post('/auth/login', { username: u.username, password: 'wrong password!' });
      const unknown = await api.post('/auth/login', { username: 'nobody_here_at_all', password: 'wrong password!' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body.code).toBe('invalid-credentials');
      expect(unknown.body).toMatchObject({ code: wrong.body.code, message: wrong.body.message });
    });
  });

  describe('GET /auth/me', () => {
    it('returns the user with created_at and counts', async () => {
      const u = await registerUser(api);
      const res = await api.get('/auth/me', u.token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: u.id,
        username: u.username,
        counts: { followers: 0, following: 0, posts: 0, models: 0 },
      });
      expect(new Date(res.body.created_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
    });

    it('answers 401 unauthorized without a token and invalid-token with a bad one', async () => {
      expect((await api.get('/auth/me')).body.code).toBe('unauthorized');
      const bad = await api.get('/auth/me', 'not.a.jwt');
      expect(bad.status).toBe(401);
      expect(bad.body.code).toBe('invalid-token');
    });

    it('refuses tokens signed with alg "none" or another algorithm or key', async () => {
      const u = await registerUser(api);
      const [header, payload] = u.token.split('.');
      const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      expect((await api.get('/auth/me', `${noneHeader}.${payload}.`)).status).toBe(401);
      const forged = await new SignJWT({ username: u.username })
        .setProtectedHeader({ alg: 'HS512' })
        .setSubject(String(u.id))
        .setIssuer('vigil')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('some other secret that is long enough!!'));
      expect((await api.get('/auth/me', forged)).status).toBe(401);
      expect(header).toBeTruthy();
    });
  });

  describe('PATCH /auth/me', () => {
    it('updates the profile and changes the password only with the current one', async () => {
      const u = await registerUser(api);
      const res = await api.patch('/auth/me', { display_name: 'Alice', bio: 'sensors <b>rock</b>' }, u.token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ display_name: 'Alice', bio: 'sensors <b>rock</b>' });

      const refused = await api.patch('/auth/me', { password: 'a new password', current_password: 'nope nope' }, u.token);
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('wrong-password');

      const ok = await api.patch('/auth/me', { password: 'a new password', current_password: u.password }, u.token);
      expect(ok.status).toBe(200);
      expect((await api.post('/auth/login', { username: u.username, password: u.password })).status).toBe(401);
      expect((await api.post('/auth/login', { username: u.username, password: 'a new password' })).status).toBe(200);
    });
  });

  describe('POST /auth/refresh', () => {
    it('rotates the refresh token', async () => {
      const u = await registerUser(api);
      const res = await api.post('/auth/refresh', { refresh_token: u.refresh });
      expect(res.status).toBe(200);
      expect(res.body.refresh_token).not.toBe(u.refresh);
      expect((await api.get('/auth/me', res.body.access_token)).status).toBe(200);
    });

    it('revokes the whole family when an already-used refresh token is presented again', async () => {
      const u = await registerUser(api);
      const first = await api.post('/auth/refresh', { refresh_token: u.refresh });
      expect(first.status).toBe(200);
      const reuse = await api.post('/auth/refresh', { refresh_token: u.refresh });
      expect(reuse.status).toBe(401);
      expect(reuse.body.code).toBe('refresh-token-reused');
      // The token issued by the legitimate rotation is now dead too.
      const next = await api.post('/auth/refresh', { refresh_token: first.body.refresh_token });
      expect(next.status).toBe(401);
    });

    it('answers 401 invalid-refresh-token for an unknown token', async () => {
      const res = await api.post('/auth/refresh', { refresh_token: 'nonsense' });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid-refresh-token');
    });
  });

  describe('POST /auth/logout', () => {
    it('revokes the refresh token of that login', async () => {
      const u = await registerUser(api);
      const res = await api.post('/auth/logout', { refresh_token: u.refresh }, u.token);
      expect(res.status).toBe(204);
      expect((await api.post('/auth/refresh', { refresh_token: u.refresh })).status).toBe(401);
    });

    it("cannot revoke another user's login", async () => {
      const a = await registerUser(api);
      const b = await registerUser(api);
      expect((await api.post('/auth/logout', { refresh_token: b.refresh }, a.token)).status).toBe(204);
      expect((await api.post('/auth/refresh', { refresh_token: b.refresh })).status).toBe(200);
    });
  });

  describe('isolation between users', () => {
    it("never returns or changes another user's private data", async () => {
      const a = await registerUser(api);
      const b = await registerUser(api);
      const meA = await api.get('/auth/me', a.token);
      expect(meA.body.email).toBe(a.email);
      expect(JSON.stringify(meA.body)).not.toContain(b.email);
      await api.patch('/auth/me', { bio: 'only mine' }, a.token);
      expect((await api.get('/auth/me', b.token)).body.bio).toBeNull();
      const steal = await api.patch('/auth/me', { email: b.email }, a.token);
      expect(steal.status).toBe(409);
    });
  });

  it('answers 404 route-not-found with a code for unknown routes', async () => {
    const res = await api.get('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('route-not-found');
  });

  it('serves the OpenAPI document listing the auth routes', async () => {
    const res = await api.get('/docs/json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/auth/register', '/auth/login', '/auth/me', '/api/auth/login']));
    expect((await fetch(`${server.baseUrl}/docs`)).status).toBe(200);
  });
});

describe.each(testDialects())('auth rate limits [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;
  beforeAll(async () => {
    server = await startTestServer(dialect, { AUTH_RATE_LIMIT_PER_USERNAME: '3', AUTH_RATE_LIMIT_PER_IP: '8' });
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => server?.stop());

  it('answers 429 with retry-after after too many logins for one username, then per IP', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await api.post('/auth/login', { username: 'victim', password: 'guess number ' + i });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(last!.body.code).toBe('rate-limited');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);

    const other: number[] = [];
    for (let i = 0; i < 5; i++) other.push((await api.post('/auth/login', { username: `other${i}`, password: 'x' })).status);
    expect(other.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(other[4]).toBe(429);
  });
});
