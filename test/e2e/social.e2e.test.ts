import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDbTime } from '../../src/db/time.ts';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { connectSocket, nextEvent, sleep } from '../support/realtime.ts';

type Api = ReturnType<typeof httpClient>;
type User = Awaited<ReturnType<typeof registerUser>>;

describe.each(testDialects())('social layer over HTTP [%s]', (dialect) => {
  let server: TestServer;
  let api: Api;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => server?.stop());

  const db = () => server.app.database.db;

  async function post(user: User, content = 'hello', extra: Record<string, unknown> = {}) {
    const res = await api.post('/posts', { content, ...extra }, user.token);
    if (res.status !== 201) throw new Error(`post failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { id: number; [k: string]: any };
  }

  async function insertModel(
    userId: number | null,
    opts: { visibility?: 'public' | 'private'; name?: string } = {},
  ) {
    const now = toDbTime(new Date());
    const r = await db()
      .insertInto('ml_models')
      .values({
        user_id: userId,
        name: opts.name ?? `model-${Math.random().toString(36).slice(2, 8)}`,
        material_type: 'steel',
        description: 'a test model',
        kind: 'iforest',
        is_preset: userId === null ? 1 : 0,
        visibility: opts.visibility ?? 'private',
        accuracy: 0.93,
        threshold: 0.5,
        params: '{"secret":"weights"}',
        metrics: '{}',
        file_path: '/srv/artifacts/secret-model.bin',
        file_size: 123,
        checksum: 'c'.repeat(64),
        created_at: now,
        updated_at: now,
      })
      .executeTakeFirstOrThrow();
    return Number(r.insertId);
  }

  async function insertSession(
    userId: number,
    opts: { ended?: boolean; finalAnalysis?: object | null } = {},
  ) {
    const now = toDbTime(new Date());
    const ended = opts.ended ?? true;
    const r = await db()
      .insertInto('detection_sessions')
      .values({
        user_id: userId,
        model_id: null,
        device_id: null,
        status: ended ? 'completed' : 'running',
        threshold: 0.5,
        started_at: now,
        ended_at: ended ? now : null,
        total_predictions: 200,
        anomaly_count: 10,
        final_analysis: opts.finalAnalysis === null ? null : JSON.stringify(opts.finalAnalysis ?? analysis),
        created_at: now,
      })
      .executeTakeFirstOrThrow();
    return Number(r.insertId);
  }

  const analysis = {
    is_anomalous: true,
    summary: 'Anomalies in 5.0% of readings.',
    total_predictions: 200,
    anomaly_count: 10,
    anomaly_percentage: 5,
    confidence: 0.8,
  };

  /** Follows every `next_cursor` of a list, running `between` after each page; returns every id seen. */
  async function collect(
    path: string,
    token: string | undefined,
    limit: number,
    between?: (page: number) => Promise<void>,
  ) {
    const ids: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 500; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const url: string = `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await api.get(url, token);
      expect(res.status).toBe(200);
      const items = (res.body.posts ?? res.body.comments ?? res.body.users) as { id: number }[];
      expect(items.length).toBeLessThanOrEqual(limit);
      ids.push(...items.map((i) => i.id));
      cursor = res.body.next_cursor;
      if (!cursor) return ids;
      await between?.(page);
    }
    throw new Error('pagination did not end');
  }

  /** Posts are ordered by (created_at, id), newest first; concurrent writers may commit ids out of time order. */
  function expectNewestFirst(posts: { id: number; created_at: string }[]) {
    for (let i = 1; i < posts.length; i++) {
      const [a, b] = [posts[i - 1]!, posts[i]!];
      expect(a.created_at > b.created_at || (a.created_at === b.created_at && a.id > b.id)).toBe(true);
    }
  }

  describe('POST /posts', () => {
    it('creates a post with trimmed content, its author and zero counts', async () => {
      const u = await registerUser(api);
      const res = await api.post('/posts', { content: '  first light on the sensor  ' }, u.token);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.any(Number),
        content: 'first light on the sensor',
        author: { id: u.id, username: u.username },
        like_count: 0,
        liked_by_me: false,
        comment_count: 0,
        session: null,
        model: null,
      });
      expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);
      const again = await api.get(`/posts/${res.body.id}`);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(res.body);
    });

    it('stores HTML and script as text and returns it unchanged', async () => {
      const u = await registerUser(api);
      const content = '<script>alert("x")</script> <b>bold</b> & "quotes"';
      const p = await post(u, content);
      expect(p.content).toBe(content);
      const res = await api.get(`/posts/${p.id}`);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body.content).toBe(content);
    });

    it('accepts exactly 2000 characters, counting an emoji as one', async () => {
      const u = await registerUser(api);
      const p = await post(u, 'x'.repeat(2000));
      expect(p.content).toHaveLength(2000);
      const emoji = '\u{1F6A8}'.repeat(2000);
      const e = await post(u, emoji);
      expect((await api.get(`/posts/${e.id}`)).body.content).toBe(emoji);
      const tooMany = await api.post('/posts', { content: `${emoji}!` }, u.token);
      expect(tooMany.status).toBe(400);
    });

    it.each([
      ['too long content', { content: 'x'.repeat(2001) }],
      ['content empty after trimming', { content: '   \n\t ' }],
      ['empty content', { content: '' }],
      ['missing content', {}],
      ['a number as content', { content: 42 }],
      ['an unknown field', { content: 'hi', user_id: 1 }],
      ['a non-integer session id', { content: 'hi', session_id: 'abc' }],
    ])('answers 400 validation-failed for %s', async (_label, body) => {
      const u = await registerUser(api);
      const res = await api.post('/posts', body, u.token);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation-failed');
    });

    it('answers 401 for an anonymous caller', async () => {
      const res = await api.post('/posts', { content: 'hi' });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('unauthorized');
    });

    it("embeds the summary of the caller's own finished session", async () => {
      const u = await registerUser(api);
      const sessionId = await insertSession(u.id);
      const p = await post(u, 'look at this run', { session_id: sessionId });
      expect(p.session_id).toBe(sessionId);
      expect(p.session).toMatchObject({ id: sessionId, final_analysis: analysis });
      expect((await api.get(`/posts/${p.id}`)).body.session.final_analysis).toEqual(analysis);
    });

    it('rebuilds a missing final analysis from the session counters', async () => {
      const u = await registerUser(api);
      const sessionId = await insertSession(u.id, { finalAnalysis: null });
      const p = await post(u, 'run', { session_id: sessionId });
      expect(p.session.final_analysis).toMatchObject({
        total_predictions: 200,
        anomaly_count: 10,
        anomaly_percentage: 5,
      });
    });

    it("answers 403 not-owner for another user's session, 409 for a running one, 404 for an unknown one", async () => {
      const owner = await registerUser(api);
      const other = await registerUser(api);
      const finished = await insertSession(owner.id);
      const running = await insertSession(other.id, { ended: false });
      const stolen = await api.post('/posts', { content: 'mine now', session_id: finished }, other.token);
      expect(stolen.status).toBe(403);
      expect(stolen.body.code).toBe('not-owner');
      const live = await api.post('/posts', { content: 'live', session_id: running }, other.token);
      expect(live.status).toBe(409);
      expect(live.body.code).toBe('session-not-finished');
      const unknown = await api.post('/posts', { content: 'ghost', session_id: 999_999 }, other.token);
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('session-not-found');
    });

    it('shares the card of an own private model or a preset, never its artifact', async () => {
      const u = await registerUser(api);
      const privateModel = await insertModel(u.id, { visibility: 'private', name: 'my secret model' });
      const preset = await insertModel(null, { name: 'preset steel' });
      const p = await post(u, 'my model', { model_id: privateModel });
      expect(p.model).toEqual({
        id: privateModel,
        name: 'my secret model',
        material_type: 'steel',
        is_preset: false,
        accuracy: 0.93,
        description: 'a test model',
        created_at: expect.any(String),
      });
      const viewed = await api.get(`/posts/${p.id}`);
      const text = JSON.stringify(viewed.body);
      expect(text).not.toContain('secret-model.bin');
      expect(text).not.toContain('weights');
      expect(text).not.toContain('c'.repeat(64));
      const withPreset = await post(u, 'preset', { model_id: preset });
      expect(withPreset.model).toMatchObject({ id: preset, is_preset: true });
    });

    it("answers 403 not-owner for another user's model (even a public one) and 404 for an unknown one", async () => {
      const owner = await registerUser(api);
      const other = await registerUser(api);
      for (const visibility of ['private', 'public'] as const) {
        const modelId = await insertModel(owner.id, { visibility });
        const res = await api.post('/posts', { content: 'x', model_id: modelId }, other.token);
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('not-owner');
      }
      const unknown = await api.post('/posts', { content: 'x', model_id: 999_999 }, other.token);
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('model-not-found');
    });

    it('emits post.created on the bus with the post', async () => {
      const u = await registerUser(api);
      const seen: { postId: number; authorId: number; post: { content: string } }[] = [];
      const off = server.app.bus.on('post.created', (e) => void seen.push(e));
      try {
        const p = await post(u, 'announce me');
        expect(seen).toEqual([
          {
            postId: p.id,
            authorId: u.id,
            post: expect.objectContaining({ id: p.id, content: 'announce me' }),
          },
        ]);
      } finally {
        off();
      }
      const refused = await api.post('/posts', { content: ' ' }, u.token);
      expect(refused.status).toBe(400);
      expect(seen).toHaveLength(1);
    });
  });

  describe('GET /posts', () => {
    it('lists posts newest first, public, with author and counts', async () => {
      const u = await registerUser(api);
      const a = await post(u, 'older');
      const b = await post(u, 'newer');
      const res = await api.get('/posts?limit=100');
      expect(res.status).toBe(200);
      const ids = res.body.posts.map((p: { id: number }) => p.id);
      expect(ids.indexOf(b.id)).toBeGreaterThanOrEqual(0);
      expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
      expect(res.body.posts[ids.indexOf(a.id)]).toMatchObject({ author: { id: u.id, username: u.username } });
    });

    it('pages with an opaque cursor, including posts with identical timestamps', async () => {
      const u = await registerUser(api);
      const at = toDbTime(new Date(Date.now() - 3_600_000));
      const inserted: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await db()
          .insertInto('posts')
          .values({
            user_id: u.id,
            content: `same ms ${i}`,
            session_id: null,
            model_id: null,
            created_at: at,
            updated_at: at,
          })
          .executeTakeFirstOrThrow();
        inserted.push(Number(r.insertId));
      }
      const ids = await collect(`/users/${u.username}/posts`, undefined, 2);
      expect(ids).toEqual([...inserted].reverse());
      const all = await collect('/posts', undefined, 7);
      expect(new Set(all).size).toBe(all.length);
      expect(all.filter((id) => inserted.includes(id))).toEqual([...inserted].reverse());
    });

    it('caps the page size at 100', async () => {
      const u = await registerUser(api);
      const now = toDbTime(new Date());
      await db()
        .insertInto('posts')
        .values(
          Array.from({ length: 105 }, (_, i) => ({
            user_id: u.id,
            content: `bulk ${i}`,
            session_id: null,
            model_id: null,
            created_at: now,
            updated_at: now,
          })),
        )
        .execute();
      const res = await api.get('/posts?limit=1000');
      expect(res.status).toBe(200);
      expect(res.body.posts).toHaveLength(100);
      expect(res.body.next_cursor).toEqual(expect.any(String));
    });

    it.each([
      ['garbage', 'not a cursor!'],
      ['base64 of nonsense', Buffer.from('hello').toString('base64url')],
      ['a cursor with a bad timestamp', Buffer.from(JSON.stringify(['yesterday', 3])).toString('base64url')],
      [
        'a cursor with a negative id',
        Buffer.from(JSON.stringify(['2024-01-01 00:00:00.000', -1])).toString('base64url'),
      ],
    ])('answers 400 invalid-cursor for %s', async (_label, cursor) => {
      const res = await api.get(`/posts?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid-cursor');
    });

    it.each([['limit=0'], ['limit=-5'], ['limit=abc'], ['cursor='], ['sort=asc']])(
      'answers 400 for ?%s',
      async (query) => {
        const res = await api.get(`/posts?${query}`);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('validation-failed');
      },
    );

    it('never duplicates or skips a post while new posts arrive between pages', async () => {
      const writer = await registerUser(api);
      const before: number[] = [];
      for (let i = 0; i < 9; i++) before.push((await post(writer, `before ${i}`)).id);
      const added: number[] = [];
      const ids = await collect('/posts', undefined, 4, async () => {
        const fresh = await Promise.all([post(writer, 'during a'), post(writer, 'during b')]);
        added.push(...fresh.map((p) => p.id));
      });
      expect(new Set(ids).size).toBe(ids.length);
      const seenOfBefore = ids.filter((id) => before.includes(id));
      expect(seenOfBefore).toEqual([...before].reverse());
      expect(ids.filter((id) => added.includes(id))).toEqual([]);
    });
  });

  describe('GET /posts/:id', () => {
    it('answers 404 post-not-found for an unknown post and 400 for a non-numeric id', async () => {
      const missing = await api.get('/posts/987654');
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('post-not-found');
      const bad = await api.get('/posts/abc');
      expect(bad.status).toBe(400);
    });
  });

  describe('PATCH and DELETE /posts/:id', () => {
    it('lets the author edit; another user gets 403 not-owner; anonymous 401; unknown 404', async () => {
      const owner = await registerUser(api);
      const other = await registerUser(api);
      const p = await post(owner, 'draft');

      const byOther = await api.patch(`/posts/${p.id}`, { content: 'hijacked' }, other.token);
      expect(byOther.status).toBe(403);
      expect(byOther.body.code).toBe('not-owner');
      const anonymous = await api.patch(`/posts/${p.id}`, { content: 'hijacked' });
      expect(anonymous.status).toBe(401);
      const unknown = await api.patch('/posts/987654', { content: 'x' }, owner.token);
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('post-not-found');
      expect((await api.get(`/posts/${p.id}`)).body.content).toBe('draft');

      const ok = await api.patch(`/posts/${p.id}`, { content: '  final  ' }, owner.token);
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ id: p.id, content: 'final', created_at: p.created_at });
      expect(Date.parse(ok.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(p.updated_at));
    });

    it('adds and removes a shared model, and refuses bad edits', async () => {
      const owner = await registerUser(api);
      const other = await registerUser(api);
      const p = await post(owner, 'plain');
      const mine = await insertModel(owner.id);
      const theirs = await insertModel(other.id, { visibility: 'public' });
      const withModel = await api.patch(`/posts/${p.id}`, { model_id: mine }, owner.token);
      expect(withModel.status).toBe(200);
      expect(withModel.body.model).toMatchObject({ id: mine });
      const stolen = await api.patch(`/posts/${p.id}`, { model_id: theirs }, owner.token);
      expect(stolen.status).toBe(403);
      expect(stolen.body.code).toBe('not-owner');
      const removed = await api.patch(`/posts/${p.id}`, { model_id: null }, owner.token);
      expect(removed.body).toMatchObject({ model_id: null, model: null, content: 'plain' });
      for (const body of [{}, { content: '   ' }, { content: 'y'.repeat(2001) }, { author: 'x' }]) {
        const res = await api.patch(`/posts/${p.id}`, body, owner.token);
        expect(res.status).toBe(400);
      }
    });

    it('lets only the author delete, and the post with its likes and comments is gone', async () => {
      const owner = await registerUser(api);
      const other = await registerUser(api);
      const p = await post(owner, 'short-lived');
      await api.post(`/posts/${p.id}/like`, undefined, other.token);
      await api.post(`/posts/${p.id}/comments`, { content: 'nice' }, other.token);

      expect((await api.delete(`/posts/${p.id}`)).status).toBe(401);
      const byOther = await api.delete(`/posts/${p.id}`, other.token);
      expect(byOther.status).toBe(403);
      expect(byOther.body.code).toBe('not-owner');
      expect((await api.get(`/posts/${p.id}`)).status).toBe(200);

      expect((await api.delete(`/posts/${p.id}`, owner.token)).status).toBe(204);
      expect((await api.get(`/posts/${p.id}`)).body.code).toBe('post-not-found');
      expect((await api.delete(`/posts/${p.id}`, owner.token)).status).toBe(404);
      expect((await api.get(`/posts/${p.id}/comments`)).status).toBe(404);
      const likes = await db().selectFrom('likes').select('user_id').where('post_id', '=', p.id).execute();
      const comments = await db().selectFrom('comments').select('id').where('post_id', '=', p.id).execute();
      expect(likes).toEqual([]);
      expect(comments).toEqual([]);
    });
  });

  describe('likes', () => {
    it('POST and DELETE /posts/:id/like are idempotent and show in liked_by_me', async () => {
      const author = await registerUser(api);
      const fan = await registerUser(api);
      const p = await post(author, 'like me');
      for (let i = 0; i < 2; i++) {
        const res = await api.post(`/posts/${p.id}/like`, undefined, fan.token);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ post_id: p.id, liked: true, like_count: 1 });
      }
      await Promise.all([1, 2, 3].map(() => api.post(`/posts/${p.id}/like`, undefined, fan.token)));
      expect((await api.get(`/posts/${p.id}`, fan.token)).body).toMatchObject({
        like_count: 1,
        liked_by_me: true,
      });
      expect((await api.get(`/posts/${p.id}`, author.token)).body).toMatchObject({
        like_count: 1,
        liked_by_me: false,
      });
      expect((await api.get(`/posts/${p.id}`)).body).toMatchObject({ like_count: 1, liked_by_me: false });
      const listed = (await api.get('/posts?limit=100', fan.token)).body.posts.find(
        (x: { id: number }) => x.id === p.id,
      );
      expect(listed).toMatchObject({ liked_by_me: true, like_count: 1 });

      await api.post(`/posts/${p.id}/like`, undefined, author.token);
      expect((await api.get(`/posts/${p.id}`)).body.like_count).toBe(2);
      for (let i = 0; i < 2; i++) {
        const res = await api.delete(`/posts/${p.id}/like`, fan.token);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ post_id: p.id, liked: false, like_count: 1 });
      }
      expect((await api.get(`/posts/${p.id}`, fan.token)).body.liked_by_me).toBe(false);
    });

    it('answers 401 anonymously and 404 post-not-found for an unknown post', async () => {
      const u = await registerUser(api);
      const p = await post(u);
      expect((await api.post(`/posts/${p.id}/like`)).status).toBe(401);
      expect((await api.delete(`/posts/${p.id}/like`)).status).toBe(401);
      const missing = await api.post('/posts/987654/like', undefined, u.token);
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('post-not-found');
      expect((await api.delete('/posts/987654/like', u.token)).status).toBe(404);
    });
  });

  describe('comments', () => {
    it('adds comments, lists them oldest first with pagination, and counts them on the post', async () => {
      const author = await registerUser(api);
      const reader = await registerUser(api);
      const p = await post(author, 'discuss');
      const created: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await api.post(
          `/posts/${p.id}/comments`,
          { content: ` <i>c${i}</i> ` },
          i % 2 ? author.token : reader.token,
        );
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ post_id: p.id, content: `<i>c${i}</i>` });
        created.push(res.body.id);
      }
      expect(await collect(`/posts/${p.id}/comments`, undefined, 2)).toEqual(created);
      const first = await api.get(`/posts/${p.id}/comments?limit=1`);
      expect(first.body.comments[0]).toMatchObject({ author: { id: reader.id, username: reader.username } });
      expect((await api.get(`/posts/${p.id}`)).body.comment_count).toBe(5);
    });

    it('enforces the authorization matrix for writing and deleting comments', async () => {
      const author = await registerUser(api);
      const commenter = await registerUser(api);
      const p = await post(author, 'matrix');
      const c = (await api.post(`/posts/${p.id}/comments`, { content: 'mine' }, commenter.token)).body;

      expect((await api.post(`/posts/${p.id}/comments`, { content: 'anon' })).status).toBe(401);
      expect((await api.delete(`/posts/${p.id}/comments/${c.id}`)).status).toBe(401);
      const byPostAuthor = await api.delete(`/posts/${p.id}/comments/${c.id}`, author.token);
      expect(byPostAuthor.status).toBe(403);
      expect(byPostAuthor.body.code).toBe('not-owner');

      const other = await post(author, 'another post');
      const wrongPost = await api.delete(`/posts/${other.id}/comments/${c.id}`, commenter.token);
      expect(wrongPost.status).toBe(404);
      expect(wrongPost.body.code).toBe('comment-not-found');

      expect((await api.delete(`/posts/${p.id}/comments/${c.id}`, commenter.token)).status).toBe(204);
      const gone = await api.delete(`/posts/${p.id}/comments/${c.id}`, commenter.token);
      expect(gone.status).toBe(404);
      expect(gone.body.code).toBe('comment-not-found');
      expect((await api.get(`/posts/${p.id}/comments`)).body.comments).toEqual([]);
    });

    it('refuses empty, too long or unknown-field comments and unknown posts', async () => {
      const u = await registerUser(api);
      const p = await post(u);
      for (const body of [{ content: '  ' }, { content: 'z'.repeat(1001) }, { content: 'ok', extra: 1 }]) {
        const res = await api.post(`/posts/${p.id}/comments`, body, u.token);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('validation-failed');
      }
      const missing = await api.post('/posts/987654/comments', { content: 'hi' }, u.token);
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('post-not-found');
      expect((await api.get('/posts/987654/comments')).body.code).toBe('post-not-found');
    });
  });

  describe('follows', () => {
    it('POST and DELETE /users/:username/follow are idempotent and update the lists', async () => {
      const alice = await registerUser(api);
      const bob = await registerUser(api);
      for (let i = 0; i < 2; i++) {
        const res = await api.post(`/users/${bob.username}/follow`, undefined, alice.token);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ username: bob.username, following: true, follower_count: 1 });
      }
      const followers = await api.get(`/users/${bob.username}/followers`);
      expect(followers.status).toBe(200);
      expect(followers.body).toMatchObject({
        users: [{ id: alice.id, username: alice.username }],
        next_cursor: null,
      });
      const following = await api.get(`/users/${alice.username}/following`, bob.token);
      expect(following.body.users.map((x: { id: number }) => x.id)).toEqual([bob.id]);
      expect(await server.app.services.follows.followerIds(bob.id)).toEqual([alice.id]);

      for (let i = 0; i < 2; i++) {
        const res = await api.delete(`/users/${bob.username}/follow`, alice.token);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ username: bob.username, following: false, follower_count: 0 });
      }
      expect((await api.get(`/users/${bob.username}/followers`)).body.users).toEqual([]);
      expect(await server.app.services.follows.followerIds(bob.id)).toEqual([]);
    });

    it('answers 400 cannot-follow-self, 404 user-not-found and 401 anonymously', async () => {
      const u = await registerUser(api);
      const self = await api.post(`/users/${u.username}/follow`, undefined, u.token);
      expect(self.status).toBe(400);
      expect(self.body.code).toBe('cannot-follow-self');
      const unknown = await api.post('/users/nobody_at_all_here/follow', undefined, u.token);
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('user-not-found');
      expect((await api.post(`/users/${u.username}/follow`)).status).toBe(401);
      expect((await api.get('/users/nobody_at_all_here/followers')).body.code).toBe('user-not-found');
      expect((await api.get('/users/nobody_at_all_here/following')).body.code).toBe('user-not-found');
    });

    it('pages followers newest first without duplicates', async () => {
      const star = await registerUser(api);
      const fans: User[] = [];
      for (let i = 0; i < 5; i++) {
        const fan = await registerUser(api);
        await api.post(`/users/${star.username}/follow`, undefined, fan.token);
        fans.push(fan);
      }
      const ids = await collect(`/users/${star.username}/followers`, undefined, 2);
      expect(ids).toEqual(fans.map((f) => f.id).reverse());
      const bad = await api.get(`/users/${star.username}/followers?cursor=zzz`);
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('invalid-cursor');
    });
  });

  describe('GET /feed', () => {
    it('shows my posts and those of people I follow, newest first, and nobody else', async () => {
      const me = await registerUser(api);
      const friend = await registerUser(api);
      const stranger = await registerUser(api);
      await api.post(`/users/${friend.username}/follow`, undefined, me.token);
      const a = await post(friend, 'friend 1');
      const b = await post(stranger, 'stranger');
      const c = await post(me, 'me');
      const d = await post(friend, 'friend 2');
      const feed = await api.get('/feed', me.token);
      expect(feed.status).toBe(200);
      expect(feed.body.posts.map((p: { id: number }) => p.id)).toEqual([d.id, c.id, a.id]);
      expect(feed.body.posts.map((p: { id: number }) => p.id)).not.toContain(b.id);

      await api.delete(`/users/${friend.username}/follow`, me.token);
      expect((await api.get('/feed', me.token)).body.posts.map((p: { id: number }) => p.id)).toEqual([c.id]);
      expect((await api.get('/feed')).status).toBe(401);
    });

    it('keeps a stable cursor: no duplicates or gaps while followed users keep posting', async () => {
      const me = await registerUser(api);
      const friends = [await registerUser(api), await registerUser(api)];
      for (const f of friends) await api.post(`/users/${f.username}/follow`, undefined, me.token);
      const existing: number[] = [];
      for (let i = 0; i < 12; i++) existing.push((await post(friends[i % 2]!, `old ${i}`)).id);

      const added: number[] = [];
      const ids = await collect('/feed', me.token, 5, async (page) => {
        const fresh = await Promise.all([
          post(friends[0]!, `new ${page}`),
          post(friends[1]!, `new ${page}`),
          post(me, 'mine'),
        ]);
        added.push(...fresh.map((p) => p.id));
      });
      expect(ids).toEqual([...existing].reverse());
      expect(added.length).toBeGreaterThan(0);

      const fresh = (await api.get('/feed?limit=100', me.token)).body.posts;
      expectNewestFirst(fresh);
      expect(fresh.map((p: { id: number }) => p.id).sort()).toEqual([...added, ...existing].sort());
    });
  });

  describe('post_created over Socket.IO', () => {
    it("reaches the sockets of the author's followers, and nobody else's", async () => {
      const author = await registerUser(api);
      const follower = await registerUser(api);
      const stranger = await registerUser(api);
      await api.post(`/users/${author.username}/follow`, undefined, follower.token);
      const sockets = await Promise.all(
        [follower, stranger].map(async (u) => {
          const socket = await connectSocket(server.baseUrl, { token: u.token });
          await nextEvent(socket, 'connection_confirmed');
          return socket;
        }),
      );
      const [followerSocket, strangerSocket] = sockets as [
        (typeof sockets)[number],
        (typeof sockets)[number],
      ];
      try {
        const strangerSaw: unknown[] = [];
        strangerSocket.on('post_created', (p: unknown) => strangerSaw.push(p));
        const received = nextEvent(followerSocket, 'post_created');
        const p = await post(author, 'fresh news');
        expect(await received).toMatchObject({ id: p.id, content: 'fresh news', author: { id: author.id } });
        await sleep(200);
        expect(strangerSaw).toEqual([]);
      } finally {
        for (const socket of sockets) socket.close();
      }
    });
  });

  describe('pagination under concurrent writes', () => {
    it('pages the feed exactly once while a writer posts at the same time', async () => {
      const me = await registerUser(api);
      const friend = await registerUser(api);
      await api.post(`/users/${friend.username}/follow`, undefined, me.token);
      const existing: number[] = [];
      for (let i = 0; i < 15; i++) existing.push((await post(i % 3 ? friend : me, `old ${i}`)).id);

      let paging = true;
      const written: number[] = [];
      const writer = (async () => {
        while (paging) written.push((await post(written.length % 2 ? friend : me, 'concurrent')).id);
      })();
      const ids = await collect('/feed', me.token, 2).finally(() => {
        paging = false;
      });
      await writer;

      expect(written.length).toBeGreaterThan(0);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.filter((id) => existing.includes(id))).toEqual([...existing].reverse());
      const next = (await api.get('/feed?limit=100', me.token)).body.posts;
      expectNewestFirst(next);
      expect(next.map((p: { id: number }) => p.id).sort()).toEqual([...written, ...existing].sort());
    });
  });

  describe('profiles', () => {
    it('GET /users/:username shows counts and public models only, and no private data', async () => {
      const owner = await registerUser(api);
      const viewer = await registerUser(api);
      await api.patch('/auth/me', { display_name: 'Owner', bio: '<b>hi</b>' }, owner.token);
      const publicModel = await insertModel(owner.id, { visibility: 'public', name: 'shared model' });
      await insertModel(owner.id, { visibility: 'private', name: 'hidden model' });
      await insertModel(null, { name: 'a preset' });
      await post(owner, 'one');
      await post(owner, 'two');
      await api.post(`/users/${owner.username}/follow`, undefined, viewer.token);

      const res = await api.get(`/users/${owner.username.toUpperCase()}`, viewer.token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: owner.id,
        username: owner.username,
        display_name: 'Owner',
        bio: '<b>hi</b>',
        joined: expect.any(String),
        counts: { followers: 1, following: 0, posts: 2, public_models: 1 },
        followed_by_me: true,
      });
      expect(res.body.models.map((m: { id: number }) => m.id)).toEqual([publicModel]);
      const text = JSON.stringify(res.body);
      for (const secret of [owner.email, 'hidden model', 'a preset', 'secret-model.bin', 'password']) {
        expect(text).not.toContain(secret);
      }
      expect((await api.get(`/users/${owner.username}`)).body.followed_by_me).toBe(false);
    });

    it('GET /users/:username/posts lists only that user’s posts; unknown users are 404', async () => {
      const a = await registerUser(api);
      const b = await registerUser(api);
      const pa = await post(a, 'by a');
      await post(b, 'by b');
      const res = await api.get(`/users/${a.username}/posts`);
      expect(res.status).toBe(200);
      expect(res.body.posts.map((p: { id: number }) => p.id)).toEqual([pa.id]);
      const missing = await api.get('/users/nobody_at_all_here');
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('user-not-found');
      expect((await api.get('/users/nobody_at_all_here/posts')).body.code).toBe('user-not-found');
    });
  });

  it('serves every social route in the OpenAPI document', async () => {
    const res = await api.get('/docs/json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/posts',
        '/posts/{id}',
        '/posts/{id}/like',
        '/posts/{id}/comments',
        '/posts/{id}/comments/{commentId}',
        '/feed',
        '/users/{username}',
        '/users/{username}/posts',
        '/users/{username}/follow',
        '/users/{username}/followers',
        '/users/{username}/following',
      ]),
    );
  });
});
