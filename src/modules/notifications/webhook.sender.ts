import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isAppError } from '../../lib/errors.ts';
import type { DestinationGuard } from './destination-guard.ts';
import { DeliveryError, type ChannelSender } from './notification.types.ts';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the channel secret>`. */
export function signature(secret: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * POSTs a body through the destination guard: the URL is checked first, and the socket's own lookup
 * checks again, so only checked addresses are connected to; redirects are not followed.
 * Resolves with the answer's status; a refused destination is a final DeliveryError.
 * Web Push requests go through here too, so every outgoing notification passes the same guard.
 */
export async function guardedPost(guard: DestinationGuard, url: string, body: string | Buffer, headers: Record<string, string>, timeoutMs: number, what?: string): Promise<number> {
  let target: URL;
  try {
    target = await guard.checkUrl(url, what);
  } catch (err) {
    throw new DeliveryError(isAppError(err) ? err.message : String(err), true);
  }
  const mod = target.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = mod.request(
      target,
      {
        method: 'POST',
        lookup: guard.lookup as never,
        timeout: timeoutMs,
        headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  }).catch((err: unknown) => {
    if (isAppError(err)) throw new DeliveryError(err.message, true);
    throw new DeliveryError(err instanceof Error ? err.message : String(err), false);
  });
}

/** POSTs JSON through the destination guard (see `guardedPost`). */
export function postJson(guard: DestinationGuard, url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  return guardedPost(guard, url, body, { 'content-type': 'application/json', 'user-agent': 'vigil-alarms', ...headers }, timeoutMs);
}

const failed = (status: number) => new DeliveryError(`webhook answered ${status}`, status < 500 && status !== 429 && status !== 408, status);

/** Delivers notifications to webhook channels as signed JSON (`X-Vigil-Signature`). */
export function createWebhookSender(deps: { guard: DestinationGuard; timeoutMs: number; now?: () => number }): ChannelSender {
  return {
    async send(channel, n, deliveryId) {
      const body = JSON.stringify({ ...n, delivery_id: deliveryId, sent_at: new Date().toISOString() });
      const t = Math.floor((deps.now?.() ?? Date.now()) / 1000);
      const status = await postJson(
        deps.guard,
        String(channel.config.url ?? ''),
        body,
        { 'x-vigil-event': n.event, 'x-vigil-delivery': String(deliveryId), 'x-vigil-signature': signature(channel.secret ?? '', body, t) },
        deps.timeoutMs,
      );
      if (status >= 200 && status < 300) return { status };
      throw failed(status);
    },
  };
}

/**
 * The seed-era per-user alert webhook (`PUT /detection/webhook`), now through the same destination
 * guard: retried with backoff on network errors and 5xx/429, refused destinations are final.
 */
export function createLegacyWebhookPoster(deps: { guard: DestinationGuard; timeoutMs: number; attempts: number; backoffMs: number }) {
  return async (url: string, body: unknown): Promise<void> => {
    const text = JSON.stringify(body);
    let last: unknown;
    for (let i = 0; i < deps.attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, deps.backoffMs * 2 ** (i - 1)));
      try {
        const status = await postJson(deps.guard, url, text, { 'user-agent': 'vigil-alerts' }, deps.timeoutMs);
        if (status >= 200 && status < 300) return;
        last = failed(status);
        if ((last as DeliveryError).final) break;
      } catch (err) {
        last = err;
        if (err instanceof DeliveryError && err.final) break;
      }
    }
    throw last;
  };
}
