import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { uniqueViolation } from '../../db/errors.ts';
import { fromDbTime, toDbTime } from '../../db/time.ts';
import type { AppBus } from '../../events.ts';
import type { ModelCard } from '../models/models.service.ts';
import type { UserCounts, UserRow, UsersRepository } from '../users/users.repository.ts';
import type { PasswordHasher } from './passwords.ts';
import type { RefreshTokensRepository } from './refresh-tokens.repository.ts';
import type { TokenService } from './tokens.ts';

export interface PublicUser {
  id: number;
  username: string;
  email: string;
}

export interface Me extends PublicUser {
  display_name: string | null;
  bio: string | null;
  selected_model_id: number | null;
  created_at: string;
  counts: UserCounts;
}

export interface IssuedTokens {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token: string;
}

export const toPublicUser = (u: UserRow): PublicUser => ({ id: u.id, username: u.username, email: u.email });

export interface AuthServiceDeps {
  users: UsersRepository;
  refreshTokens: RefreshTokensRepository;
  /** The model cards a user may use (their own and the presets), for login's `available_models`. */
  listModelCards(userId: number): Promise<ModelCard[]>;
  passwords: PasswordHasher;
  tokens: TokenService;
  bus: AppBus;
  clock: Clock;
  refreshTtlSeconds: number;
}

export function createAuthService(deps: AuthServiceDeps) {
  const { users, refreshTokens, passwords, tokens, clock } = deps;
  const now = () => toDbTime(clock.now());

  async function issue(user: UserRow, familyId = tokens.newFamilyId()): Promise<IssuedTokens> {
    const access = await tokens.signAccess({ userId: user.id, username: user.username });
    const refresh = tokens.newRefreshToken();
    await refreshTokens.insert({
      userId: user.id,
      familyId,
      tokenHash: refresh.hash,
      expiresAt: toDbTime(clock.now().getTime() + deps.refreshTtlSeconds * 1000),
      now: now(),
    });
    return { access_token: access.token, token_type: 'bearer', expires_in: access.expiresIn, refresh_token: refresh.token };
  }

  async function requireUser(userId: number): Promise<UserRow> {
    const user = await users.findById(userId);
    // A valid token for a deleted account is as good as no token.
    if (!user) throw new AppError('invalid-token', 'The account behind this token no longer exists.');
    return user;
  }

  return {
    async register(input: { username: string; email: string; password: string }) {
      const email = input.email.toLowerCase();
      const taken = await users.existsUsernameOrEmail(input.username, email);
      if (taken.username) throw new AppError('username-taken');
      if (taken.email) throw new AppError('email-taken');
      const passwordHash = await passwords.hash(input.password);
      let id: number;
      try {
        id = await users.insert({ username: input.username, email, passwordHash, now: now() });
      } catch (err) {
        const dup = uniqueViolation(err);
        if (dup) throw new AppError(dup.target.includes('email') ? 'email-taken' : 'username-taken');
        throw err;
      }
      const user = await requireUser(id);
      deps.bus.emit('user.registered', { userId: id, username: user.username });
      return { ...(await issue(user)), user: toPublicUser(user), message: 'Registration successful.' };
    },

    async login(input: { username: string; password: string }) {
      const login = input.username.trim();
      const user = login.includes('@') ? await users.findByEmail(login) : await users.findByUsername(login);
      const ok = user ? await passwords.verify(user.passwordHash, input.password) : await passwords.verifyDummy(input.password);
      if (!user || !ok) throw new AppError('invalid-credentials');
      deps.bus.emit('user.logged_in', { userId: user.id });
      const availableModels = await deps.listModelCards(user.id);
      return {
        ...(await issue(user)),
        user: toPublicUser(user),
        available_models: availableModels,
        message: 'Login successful.',
      };
    },

    async me(userId: number): Promise<Me> {
      const user = await requireUser(userId);
      return {
        ...toPublicUser(user),
        display_name: user.displayName,
        bio: user.bio,
        selected_model_id: user.selectedModelId,
        created_at: fromDbTime(user.createdAt),
        counts: await users.counts(user.id),
      };
    },

    async updateMe(
      userId: number,
      patch: { email?: string; display_name?: string | null; bio?: string | null; password?: string; current_password?: string },
    ): Promise<Me> {
      const user = await requireUser(userId);
      let passwordHash: string | undefined;
      if (patch.password !== undefined) {
        if (!patch.current_password || !(await passwords.verify(user.passwordHash, patch.current_password))) {
          throw new AppError('wrong-password');
        }
        passwordHash = await passwords.hash(patch.password);
      }
      const email = patch.email?.toLowerCase();
      if (email !== undefined && email !== user.email) {
        const other = await users.findByEmail(email);
        if (other && other.id !== userId) throw new AppError('email-taken');
      }
      try {
        await users.update(
          userId,
          {
            ...(email !== undefined && { email }),
            ...(patch.display_name !== undefined && { displayName: patch.display_name }),
            ...(patch.bio !== undefined && { bio: patch.bio }),
            ...(passwordHash !== undefined && { passwordHash }),
          },
          now(),
        );
      } catch (err) {
        if (uniqueViolation(err)) throw new AppError('email-taken');
        throw err;
      }
      if (passwordHash !== undefined) await refreshTokens.revokeAllForUser(userId, now());
      return this.me(userId);
    },

    async refresh(refreshToken: string) {
      const row = await refreshTokens.findByHash(tokens.hashRefreshToken(refreshToken));
      if (!row) throw new AppError('invalid-refresh-token');
      if (row.usedAt !== null || row.revokedAt !== null) {
        // Presenting a spent token means it leaked (or a client raced itself): end the whole login.
        await refreshTokens.revokeFamily(row.familyId, now());
        throw new AppError(row.revokedAt !== null && row.usedAt === null ? 'invalid-refresh-token' : 'refresh-token-reused');
      }
      if (row.expiresAt <= now()) throw new AppError('invalid-refresh-token');
      if (!(await refreshTokens.markUsed(row.id, now()))) {
        await refreshTokens.revokeFamily(row.familyId, now());
        throw new AppError('refresh-token-reused');
      }
      const user = await users.findById(row.userId);
      if (!user) throw new AppError('invalid-refresh-token');
      return { ...(await issue(user, row.familyId)), user: toPublicUser(user) };
    },

    async logout(userId: number, refreshToken?: string): Promise<void> {
      if (refreshToken === undefined) {
        await refreshTokens.revokeAllForUser(userId, now());
        return;
      }
      const row = await refreshTokens.findByHash(tokens.hashRefreshToken(refreshToken));
      if (row && row.userId === userId) await refreshTokens.revokeFamily(row.familyId, now());
    },

    /** Checks the token, then that its account still exists (a deleted user's token is refused everywhere, never a foreign-key error). */
    async verifyAccessToken(token: string) {
      const claims = await tokens.verifyAccess(token);
      if (!(await users.exists(claims.userId))) throw new AppError('invalid-token', 'The account behind this token no longer exists.');
      return claims;
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
