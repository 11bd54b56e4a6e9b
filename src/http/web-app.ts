import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from '../lib/errors.ts';

/** Where `npm run build:web` (run by `npm ci` through `prepare`) writes the dashboard. */
export const WEB_DIST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist-web');

/** The dashboard's client-side routes live under this prefix, so they never shadow an API route. */
export const WEB_APP_PREFIX = '/app';

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Vigil</title>
<body style="font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>Vigil is running</h1><p>The web dashboard has not been built in this checkout. Run
<code>npm run build:web</code> (or <code>npm ci</code>, which builds it) and reload. The API is up:
see <a href="/docs">/docs</a>.</p></body></html>`;

/** A browser navigation: GET/HEAD asking for HTML (fetch/XHR API calls ask for JSON or anything). */
export function isBrowserNavigation(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html');
}

/**
 * Serves the single-page dashboard: hashed assets under /assets/ with a year-long immutable cache
 * and their precompressed .br/.gz twins, index.html (never cached) at `/`, under `/app/…` and
 * for any other browser navigation to an unknown path, and the service worker at `/sw.js` (never
 * cached for long). API 404s stay JSON.
 */
export function createWebApp(distDir = WEB_DIST_DIR) {
  const indexFile = path.join(distDir, 'index.html');

  async function sendIndex(reply: FastifyReply, status = 200) {
    let html: string;
    try {
      html = await readFile(indexFile, 'utf8');
    } catch {
      html = NOT_BUILT;
    }
    return reply
      .status(status)
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(html);
  }

  return {
    built: () => existsSync(indexFile),
    sendIndex,
    async register(
      app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>,
    ) {
      await app.register(async (scope) => {
        await scope.register(fastifyStatic, {
          root: path.join(distDir, 'assets'),
          prefix: '/assets/',
          preCompressed: true,
          immutable: true,
          maxAge: '365d',
          decorateReply: false,
          index: false,
          schemaHide: true,
        });
      });
      // The service worker (browser notifications) sits at the root so its scope covers the dashboard,
      // and is revalidated on every visit so a new version is never stuck behind a long cache.
      app.get('/sw.js', { schema: { hide: true } }, async (_request, reply) => {
        let js: string;
        try {
          js = await readFile(path.join(distDir, 'sw.js'), 'utf8');
        } catch {
          throw new AppError('route-not-found', 'The dashboard (and its service worker) is not built.');
        }
        return reply.header('cache-control', 'no-cache').header('service-worker-allowed', '/').type('text/javascript; charset=utf-8').send(js);
      });
      app.get('/', { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));
      app.get(WEB_APP_PREFIX, { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));
      app.get(`${WEB_APP_PREFIX}/*`, { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));
    },
  };
}

export type WebApp = ReturnType<typeof createWebApp>;
