/** REST client: bearer auth from the stored login, one transparent refresh on an expired token. */

export interface User {
  id: number;
  username: string;
  email?: string;
}

export interface Auth {
  access_token: string;
  refresh_token?: string;
  user: User;
  guest?: false;
}

const KEY = 'vigil.auth';

function load(): Auth | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Auth) : null;
  } catch {
    return null;
  }
}

let current: Auth | null = load();
const listeners = new Set<(a: Auth | null) => void>();

export const getAuth = () => current;

export function setAuth(next: Auth | null) {
  current = next;
  if (next) localStorage.setItem(KEY, JSON.stringify(next));
  else localStorage.removeItem(KEY);
  for (const l of listeners) l(next);
}

export function onAuthChange(l: (a: Auth | null) => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  form?: FormData;
  /** Return the Response itself (downloads). */
  raw?: boolean;
  auth?: boolean;
}

let refreshing: Promise<boolean> | null = null;

/** Trades the refresh token for a new pair; false (and signed out) when it is spent or revoked. */
export function refreshTokens(): Promise<boolean> {
  const a = current;
  if (!a?.refresh_token) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const res = await fetch('/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ refresh_token: a.refresh_token }),
      });
      if (!res.ok) {
        if (res.status === 401 || res.status === 403) setAuth(null);
        return false;
      }
      const body = (await res.json()) as Auth;
      setAuth({ ...a, ...body, user: body.user ?? a.user });
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function send(path: string, o: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (o.auth !== false && current) headers.authorization = `Bearer ${current.access_token}`;
  let body: BodyInit | undefined;
  if (o.form) body = o.form;
  else if (o.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.body);
  }
  return fetch(path, { method: o.method ?? (body ? 'POST' : 'GET'), headers, body });
}

export async function api<T = unknown>(path: string, o: RequestOptions = {}): Promise<T> {
  let res: Response;
  try {
    res = await send(path, o);
    if (res.status === 401 && current && o.auth !== false && (await refreshTokens()))
      res = await send(path, o);
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection.');
  }
  if (!res.ok) {
    let code = 'http-' + res.status;
    let message = res.statusText || 'Request failed';
    let details: unknown;
    try {
      const b = (await res.json()) as { code?: string; message?: string; details?: unknown };
      code = b.code ?? code;
      message = b.message ?? message;
      details = b.details;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, code, message, details);
  }
  if (o.raw) return res as unknown as T;
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Fetches an authenticated file and hands it to the browser as a download. */
export async function download(path: string, fallbackName: string) {
  const res = await api<Response>(path, { raw: true });
  const blob = await res.blob();
  const cd = res.headers.get('content-disposition') ?? '';
  const name = /filename="?([^";]+)"?/.exec(cd)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
