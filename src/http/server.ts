import { randomUUID, timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyError, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { AppError, isAppError, toErrorBody } from '../lib/errors.ts';
import { buildValidator } from './validation.ts';
import { ErrorSchema } from './schemas.ts';
import type { Api, AuthUser } from './types.ts';
import { isBrowserNavigation, type WebApp } from './web-app.ts';

export interface HttpServerDeps {
  config: Config;
  logger: Logger;
  version: string;
  verifyToken(token: string): Promise<AuthUser>;
  database: { dialect: string; ping(): Promise<number> };
  /** Further dependencies `GET /health/ready` checks (Redis when configured), each resolving when it answers. */
  readiness?: Record<string, () => Promise<unknown>>;
  /**
   * Prometheus metrics: HTTP latency is observed for every request; `GET /metrics` is served on
   * this port only when `token` is set (bearer), see also the separate metrics listener.
   */
  metrics?: {
    observeHttp(method: string, route: string, statusCode: number, seconds: number): void;
    text(): Promise<string>;
    contentType: string;
    token: string | undefined;
  };
  /** Registers every feature's routes inside the authenticated API context. */
  registerRoutes(api: Api): Promise<void> | void;
  /** The web dashboard, served at `/` and `/app/…`; browser navigations to unknown paths get it too. */
  webApp?: WebApp;
}

/** Longest a readiness probe waits for one dependency. */
const READY_PROBE_TIMEOUT_MS = 2000;

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new AppError('invalid-token', 'The Authorization header must be "Bearer <token>".');
  return m[1];
}

function toAppError(err: FastifyError): AppError {
  if (isAppError(err)) return err;
  if (err.validation) {
    return new AppError('validation-failed', err.message, {
      details: err.validation.map((v) => ({
        path: `${err.validationContext ?? ''}${v.instancePath}`,
        message: v.message ?? 'is invalid',
        keyword: v.keyword,
        params: v.params,
      })),
    });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload-too-large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported-media-type');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid-json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('validation-failed', 'The Content-Length header does not match the body.');
  }
  if (err instanceof SyntaxError) return new AppError('invalid-json');
  const status = err.statusCode ?? 500;
  if (status === 413) return new AppError('payload-too-large');
  if (status === 415) return new AppError('unsupported-media-type');
  if (status >= 400 && status < 500) return new AppError('validation-failed', err.message, { status });
  return new AppError('internal', undefined, { cause: err });
}

export async function buildHttpServer(deps: HttpServerDeps) {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    schemaController: { compilersFactory: { buildValidator: buildValidator as never } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('user', null);
  app.addSchema(ErrorSchema);
  // Once closing, responses tell keep-alive clients to hang up, so close() need not wait for idle sockets.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });
  const metrics = deps.metrics;
  if (metrics) {
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern (`/posts/:id`), never the raw URL: label values must stay few.
      metrics.observeHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    });
  }

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const appErr = toAppError(err);
    if (appErr.status >= 500) request.log.error({ err: appErr.cause ?? err }, 'request failed');
    else request.log.debug({ code: appErr.code }, appErr.message);
    void reply.status(appErr.status).send(toErrorBody(appErr, request.id));
  });
  app.setNotFoundHandler(async (request, reply) => {
    if (deps.webApp && isBrowserNavigation(request)) return deps.webApp.sendIndex(reply, 404);
    const e = new AppError('route-not-found', `No route ${request.method} ${request.url.split('?')[0]}.`);
    return reply.status(404).send(toErrorBody(e, request.id));
  });

  await app.register(cors, {
    origin: config.corsOrigins === '*' ? true : config.corsOrigins,
    credentials: config.corsOrigins !== '*',
    exposedHeaders: ['x-request-id', 'retry-after'],
  });
  // The API serves JSON only; the docs page needs inline scripts, so no CSP header is sent.
  await app.register(helmet, { contentSecurityPolicy: false, global: true });
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Vigil API',
        description: 'Real-time anomaly detection on sensor streams. Errors are `{ code, message, error }`.',
        version: deps.version,
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  if (deps.webApp) await deps.webApp.register(app);

  app.get(
    '/health',
    {
      schema: {
        tags: ['system'],
        summary: 'Liveness and database reachability',
        response: {
          200: HealthSchema,
          503: HealthSchema,
        },
      },
    },
    async (_request, reply) => {
      const base = { version: deps.version, uptime_s: Math.round(process.uptime()) };
      try {
        const latency = await deps.database.ping();
        return { status: 'ok' as const, ...base, database: { dialect: deps.database.dialect, reachable: true, latency_ms: round(latency) } };
      } catch {
        return reply.status(503).send({ status: 'error', ...base, database: { dialect: deps.database.dialect, reachable: false } });
      }
    },
  );

  app.get(
    '/health/live',
    { schema: { tags: ['system'], summary: 'Liveness: the process answers', response: { 200: LiveSchema } } },
    async () => ({ status: 'ok' as const, version: deps.version, uptime_s: Math.round(process.uptime()) }),
  );

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['system'],
        summary: 'Readiness: the database (and Redis when configured) answer, and the server is not stopping',
        response: { 200: ReadySchema, 503: ReadySchema },
      },
    },
    async (_request, reply) => {
      const checks: Record<string, { ok: boolean; latency_ms?: number; error?: string }> = {};
      const probes = { database: () => deps.database.ping(), ...deps.readiness };
      await Promise.all(
        Object.entries(probes).map(async ([name, probe]) => {
          const t0 = performance.now();
          // A dependency that swallows packets (no reset) must not hold the probe: it counts as down.
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${READY_PROBE_TIMEOUT_MS} ms`)), READY_PROBE_TIMEOUT_MS)))]);
            checks[name] = { ok: true, latency_ms: round(performance.now() - t0) };
          } catch (err) {
            checks[name] = { ok: false, error: err instanceof Error ? err.message : String(err) };
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      if (closing) checks.server = { ok: false, error: 'shutting down' };
      const ok = Object.values(checks).every((c) => c.ok);
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'error', checks });
    },
  );

  if (metrics?.token !== undefined) {
    const expected = Buffer.from(`Bearer ${metrics.token}`);
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new AppError('unauthorized', 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".');
      }
      return reply.type(metrics.contentType).send(await metrics.text());
    });
  }

  await app.register(async (api) => {
    api.addHook('onRoute', (route) => {
      if (route.config?.auth !== 'none' && route.schema) {
        route.schema.security = [{ bearerAuth: [] }];
      }
    });
    api.addHook('onRequest', async (request) => {
      const mode = request.routeOptions.config.auth ?? 'required';
      if (mode === 'none') return;
      const token = bearerToken(request);
      if (token === undefined) {
        if (mode === 'required') throw new AppError('unauthorized');
        return;
      }
      request.user = await deps.verifyToken(token);
    });
    await deps.registerRoutes(api);
  });

  return app;
}

const round = (x: number) => Math.round(x * 100) / 100;

const LiveSchema = Type.Object({ status: Type.Literal('ok'), version: Type.String(), uptime_s: Type.Integer() });

const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  checks: Type.Record(
    Type.String(),
    Type.Object({ ok: Type.Boolean(), latency_ms: Type.Optional(Type.Number()), error: Type.Optional(Type.String()) }),
  ),
});

const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  version: Type.String(),
  uptime_s: Type.Integer(),
  database: Type.Object({
    dialect: Type.String(),
    reachable: Type.Boolean(),
    latency_ms: Type.Optional(Type.Number()),
  }),
});
