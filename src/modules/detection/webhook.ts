/**
 * Posts JSON to a user's alert webhook: 5 s timeout per attempt, retried with backoff on network
 * errors and 5xx/429 answers; other 4xx answers are final.
 */
export function createWebhookPoster(opts: { attempts?: number; initialDelayMs?: number; timeoutMs?: number } = {}) {
  const attempts = opts.attempts ?? 3;
  const initial = opts.initialDelayMs ?? 1000;
  const timeout = opts.timeoutMs ?? 5000;
  return async (url: string, body: unknown): Promise<void> => {
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, initial * 2 ** (i - 1)));
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'vigil-alerts' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeout),
        });
        if (res.ok) return;
        last = new Error(`webhook answered ${res.status}`);
        if (res.status < 500 && res.status !== 429) break;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
}
