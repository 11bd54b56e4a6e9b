import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, errorText, getAuth } from '../api.ts';
import { ErrorNote, Loading, fmtDate, pct } from '../components/ui.tsx';
import { BASE, Link } from '../router.tsx';
import { useSocketEvent } from '../socket.ts';
import type { Post } from '../types.ts';

interface Comment {
  id: number;
  content: string;
  author: { id: number; username: string };
  created_at: string;
}

function PostCard(props: { post: Post; onChange: (p: Post) => void }) {
  const p = props.post;
  const me = getAuth();
  const [comments, setComments] = useState<Comment[] | null>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);

  const like = async () => {
    try {
      const r = await api<{ liked: boolean; like_count: number }>(`/posts/${p.id}/like`, {
        method: p.liked_by_me ? 'DELETE' : 'POST',
      });
      props.onChange({ ...p, liked_by_me: r.liked, like_count: r.like_count });
    } catch (e) {
      setError(errorText(e));
    }
  };
  const toggleComments = async () => {
    if (comments) return setComments(null);
    try {
      setComments((await api<{ comments: Comment[] }>(`/posts/${p.id}/comments?limit=100`)).comments);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const comment = async (e: Event) => {
    e.preventDefault();
    try {
      const c = await api<Comment>(`/posts/${p.id}/comments`, { body: { content: text } });
      setComments((cs) => [...(cs ?? []), c]);
      setText('');
      props.onChange({ ...p, comment_count: p.comment_count + 1 });
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <article class="card post" aria-label={`Post by ${p.author.username}`}>
      <p class="meta">
        <Link href={`${BASE}/users/${encodeURIComponent(p.author.username)}`}>{p.author.username}</Link> ·{' '}
        {fmtDate(p.created_at)}
      </p>
      <p class="content">{p.content}</p>
      {p.session && (
        <div class="analysis small">
          Shared session #{p.session.id} · {fmtDate(p.session.started_at)}
          {p.session.final_analysis && (
            <>
              {' '}
              · {p.session.final_analysis.total_predictions} readings ·{' '}
              {p.session.final_analysis.anomaly_count} anomalies (
              {pct(p.session.final_analysis.anomaly_percentage)}) — {p.session.final_analysis.summary}
            </>
          )}
        </div>
      )}
      {p.model && (
        <div class="analysis small">
          Shared model: <strong>{p.model.name}</strong> ({p.model.material_type})
          {p.model.accuracy != null && ` · accuracy ${(p.model.accuracy * 100).toFixed(0)} %`}
        </div>
      )}
      <div class="row">
        <button type="button" aria-pressed={p.liked_by_me} onClick={() => void like()} disabled={!me}>
          {p.liked_by_me ? '♥ Liked' : '♡ Like'} ({p.like_count})
        </button>
        <button type="button" aria-expanded={comments !== null} onClick={() => void toggleComments()}>
          Comments ({p.comment_count})
        </button>
      </div>
      {error && <ErrorNote text={error} />}
      {comments && (
        <div>
          <ul class="alarms">
            {comments.map((c) => (
              <li key={c.id}>
                <strong>{c.author.username}</strong>: {c.content}
              </li>
            ))}
          </ul>
          {me && (
            <form class="row" onSubmit={(e) => void comment(e)}>
              <label class="grow">
                Your comment
                <input
                  value={text}
                  onInput={(e) => setText(e.currentTarget.value)}
                  required
                  maxLength={1000}
                />
              </label>
              <button type="submit">Comment</button>
            </form>
          )}
        </div>
      )}
    </article>
  );
}

function PostList(props: { url: string; empty: string; live?: boolean }) {
  const [posts, setPosts] = useState<Post[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    async (after?: string) => {
      setError(null);
      try {
        const sep = props.url.includes('?') ? '&' : '?';
        const r = await api<{ posts: Post[]; next_cursor: string | null }>(
          `${props.url}${after ? `${sep}cursor=${encodeURIComponent(after)}` : ''}`,
        );
        setPosts((ps) => (after && ps ? [...ps, ...r.posts] : r.posts));
        setCursor(r.next_cursor);
      } catch (e) {
        setError(errorText(e));
      }
    },
    [props.url],
  );
  useEffect(() => void load(), [load]);
  useSocketEvent<Post>(
    'post_created',
    useCallback(
      (p) => {
        if (props.live) setPosts((ps) => (ps && !ps.some((x) => x.id === p.id) ? [p, ...ps] : ps));
      },
      [props.live],
    ),
  );
  const update = (p: Post) => setPosts((ps) => ps?.map((x) => (x.id === p.id ? p : x)) ?? null);
  return (
    <div>
      {error && <ErrorNote text={error} retry={() => void load()} />}
      {posts === null && !error && <Loading what="posts" />}
      {posts?.length === 0 && <p class="empty">{props.empty}</p>}
      {posts?.map((p) => (
        <PostCard key={p.id} post={p} onChange={update} />
      ))}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </div>
  );
}

export function FeedPage() {
  const me = getAuth();
  const [tab, setTab] = useState<'all' | 'following'>('all');
  const [text, setText] = useState('');
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const post = async (e: Event) => {
    e.preventDefault();
    try {
      await api('/posts', { body: { content: text } });
      setText('');
      setVersion((v) => v + 1);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section aria-labelledby="feed-h">
      <h1 id="feed-h">Feed</h1>
      {me && (
        <form class="card stack" onSubmit={(e) => void post(e)} aria-label="New post">
          <label>
            What are you measuring?
            <textarea
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
              required
              maxLength={2000}
              rows={2}
            />
          </label>
          <div>
            <button type="submit" class="primary">
              Post
            </button>
          </div>
          {error && <ErrorNote text={error} />}
        </form>
      )}
      <div class="tabs" role="tablist" aria-label="Posts">
        <button type="button" role="tab" aria-selected={tab === 'all'} onClick={() => setTab('all')}>
          Everyone
        </button>
        {me && (
          <button
            type="button"
            role="tab"
            aria-selected={tab === 'following'}
            onClick={() => setTab('following')}
          >
            Following
          </button>
        )}
      </div>
      <PostList
        key={`${tab}-${version}`}
        url={tab === 'all' ? '/posts?limit=20' : '/feed?limit=20'}
        empty={tab === 'all' ? 'Nobody has posted yet.' : 'Follow people to see their posts here.'}
        live
      />
    </section>
  );
}

interface Profile {
  id: number;
  username: string;
  display_name: string | null;
  bio: string | null;
  joined: string;
  counts: { followers: number; following: number; posts: number; public_models: number };
  followed_by_me: boolean;
  models: { id: number; name: string; material_type: string; accuracy: number | null }[];
}

export function ProfilePage(props: { username: string }) {
  const me = getAuth();
  const [profile, setProfile] = useState<Profile | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setProfile(null);
    api<Profile>(`/users/${encodeURIComponent(props.username)}`).then(setProfile, (e: unknown) =>
      setError(errorText(e)),
    );
  }, [props.username]);
  const follow = async () => {
    if (!profile) return;
    try {
      const r = await api<{ following: boolean; follower_count: number }>(
        `/users/${encodeURIComponent(profile.username)}/follow`,
        {
          method: profile.followed_by_me ? 'DELETE' : 'POST',
        },
      );
      setProfile({
        ...profile,
        followed_by_me: r.following,
        counts: { ...profile.counts, followers: r.follower_count },
      });
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section aria-labelledby="profile-h">
      <h1 id="profile-h">{profile?.display_name || props.username}</h1>
      {error && <ErrorNote text={error} />}
      {!profile && !error && <Loading what="the profile" />}
      {profile && (
        <>
          <p class="muted">
            @{profile.username} · joined {fmtDate(profile.joined)}
          </p>
          {profile.bio && <p>{profile.bio}</p>}
          <dl class="counters">
            <div>
              <dt>Followers</dt>
              <dd>{profile.counts.followers}</dd>
            </div>
            <div>
              <dt>Following</dt>
              <dd>{profile.counts.following}</dd>
            </div>
            <div>
              <dt>Posts</dt>
              <dd>{profile.counts.posts}</dd>
            </div>
            <div>
              <dt>Public models</dt>
              <dd>{profile.counts.public_models}</dd>
            </div>
          </dl>
          {me && me.user.username !== profile.username && (
            <button
              type="button"
              class={profile.followed_by_me ? '' : 'primary'}
              onClick={() => void follow()}
            >
              {profile.followed_by_me ? 'Unfollow' : 'Follow'}
            </button>
          )}
          {profile.models.length > 0 && (
            <>
              <h2>Public models</h2>
              <ul>
                {profile.models.map((m) => (
                  <li key={m.id}>
                    {m.name} ({m.material_type})
                    {m.accuracy != null && ` · accuracy ${(m.accuracy * 100).toFixed(0)} %`}
                  </li>
                ))}
              </ul>
            </>
          )}
          <h2>Posts</h2>
          <PostList
            url={`/users/${encodeURIComponent(profile.username)}/posts?limit=20`}
            empty="No posts yet."
          />
        </>
      )}
    </section>
  );
}
