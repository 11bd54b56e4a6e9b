import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config/index.ts';
import { AppError } from '../../lib/errors.ts';
import { errors } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import type { AuthService } from './auth.service.ts';
import {
  LoginBody,
  LoginResponse,
  LogoutBody,
  MeSchema,
  ModelCardSchema,
  RefreshBody,
  RefreshResponse,
  RegisterBody,
  RegisterResponse,
  UpdateMeBody,
} from './auth.schemas.ts';

type Limiter = (
  req: FastifyRequest,
) => Promise<{ isAllowed: true } | { isAllowed: false; isExceeded: boolean; ttlInSeconds: number }>;

/**
 * Registers /auth/* and, for the mobile app, the same routes under /api/auth/*.
 * Login and register are rate-limited per client IP and per username.
 */
export async function registerAuthRoutes(api: Api, deps: { auth: AuthService; config: Config }) {
  api.addSchema(ModelCardSchema);
  const { perIp, perUsername, windowSeconds } = deps.config.authRateLimit;
  const timeWindow = windowSeconds * 1000;
  const byIp: Limiter = api.createRateLimit({ max: perIp, timeWindow, keyGenerator: (req) => `auth-ip:${req.ip}` });
  const byName: Limiter = api.createRateLimit({
    max: perUsername,
    timeWindow,
    keyGenerator: (req) => `auth-user:${String((req.body as { username?: unknown }).username ?? '').toLowerCase()}`,
  });
  const limit = (limiter: Limiter) => async (request: FastifyRequest, reply: { header(k: string, v: string): unknown }) => {
    const r = await limiter(request);
    if (!r.isAllowed && r.isExceeded) {
      reply.header('retry-after', String(Math.max(1, r.ttlInSeconds)));
      throw new AppError('rate-limited', `Too many attempts; try again in ${Math.max(1, r.ttlInSeconds)} s.`);
    }
  };

  for (const prefix of ['/auth', '/api/auth']) {
    const tags = prefix === '/auth' ? ['auth'] : ['auth (mobile app aliases)'];

    api.post(
      `${prefix}/register`,
      {
        config: { auth: 'none' },
        onRequest: limit(byIp),
        schema: {
          tags,
          summary: 'Create an account and sign in',
          body: RegisterBody,
          response: { 201: RegisterResponse, ...errors(400, 409, 413, 429) },
        },
      },
      async (request, reply) => reply.status(201).send(await deps.auth.register(request.body)),
    );

    api.post(
      `${prefix}/login`,
      {
        config: { auth: 'none' },
        onRequest: limit(byIp),
        preHandler: limit(byName),
        schema: {
          tags,
          summary: 'Sign in with username (or email) and password',
          body: LoginBody,
          response: { 200: LoginResponse, ...errors(400, 401, 429) },
        },
      },
      async (request) => deps.auth.login(request.body),
    );

    api.post(
      `${prefix}/refresh`,
      {
        config: { auth: 'none' },
        onRequest: limit(byIp),
        schema: {
          tags,
          summary: 'Exchange a refresh token for a new token pair (rotation; reuse revokes the login)',
          body: RefreshBody,
          response: { 200: RefreshResponse, ...errors(400, 401, 429) },
        },
      },
      async (request) => deps.auth.refresh(request.body.refresh_token),
    );

    api.post(
      `${prefix}/logout`,
      {
        schema: {
          tags,
          summary: 'Revoke refresh tokens (this login, or all logins of the user)',
          body: LogoutBody,
          response: { 204: { type: 'null' }, ...errors(400, 401) },
        },
      },
      async (request, reply) => {
        await deps.auth.logout(request.user!.id, request.body?.refresh_token);
        return reply.status(204).send();
      },
    );

    api.get(
      `${prefix}/me`,
      { schema: { tags, summary: 'The signed-in user with counts', response: { 200: MeSchema, ...errors(401) } } },
      async (request) => deps.auth.me(request.user!.id),
    );

    api.patch(
      `${prefix}/me`,
      {
        schema: {
          tags,
          summary: 'Update email, display name, bio or password (password needs current_password)',
          body: UpdateMeBody,
          response: { 200: MeSchema, ...errors(400, 401, 409) },
        },
      },
      async (request) => deps.auth.updateMe(request.user!.id, request.body),
    );
  }
}
