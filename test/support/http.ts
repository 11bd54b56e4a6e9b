/** A small JSON client over real HTTP (global fetch). */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export function httpClient(baseUrl: string) {
  async function request<T = any>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<JsonResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }
  return {
    request,
    get: <T = any>(path: string, token?: string) => request<T>('GET', path, { token }),
    post: <T = any>(path: string, body?: unknown, token?: string) => request<T>('POST', path, { body, token }),
    patch: <T = any>(path: string, body?: unknown, token?: string) => request<T>('PATCH', path, { body, token }),
    delete: <T = any>(path: string, token?: string) => request<T>('DELETE', path, { token }),
  };
}

let counter = 0;
/** A unique, valid username/email/password for a test user. */
export function newUserInput(prefix = 'user') {
  const n = `${prefix}${process.pid}_${Date.now().toString(36)}_${counter++}`.slice(0, 32);
  return { username: n, email: `${n}@example.test`, password: 'correct horse battery' };
}

/** Registers a user and returns its token and id. */
export async function registerUser(client: ReturnType<typeof httpClient>, prefix?: string) {
  const input = newUserInput(prefix);
  const res = await client.post('/auth/register', input);
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...input, id: res.body.user.id as number, token: res.body.access_token as string, refresh: res.body.refresh_token as string };
}
