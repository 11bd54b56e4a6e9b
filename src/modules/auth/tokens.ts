import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AppError } from '../../lib/errors.ts';

export interface AccessClaims {
  userId: number;
  username: string;
}

export interface TokenService {
  signAccess(claims: AccessClaims): Promise<{ token: string; expiresIn: number }>;
  /** Verifies signature, algorithm (HS256 only), expiry (required) and issuer; throws `invalid-token`. */
  verifyAccess(token: string): Promise<AccessClaims>;
  newRefreshToken(): { token: string; hash: string };
  hashRefreshToken(token: string): string;
  newFamilyId(): string;
}

const ISSUER = 'vigil';
const ALG = 'HS256';

export function createTokenService(opts: { secret: string; accessTtlSeconds: number }): TokenService {
  const key = new TextEncoder().encode(opts.secret);
  const hashRefreshToken = (token: string) => createHash('sha256').update(token).digest('hex');
  return {
    async signAccess({ userId, username }) {
      const token = await new SignJWT({ username })
        .setProtectedHeader({ alg: ALG, typ: 'JWT' })
        .setSubject(String(userId))
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime(`${opts.accessTtlSeconds}s`)
        .sign(key);
      return { token, expiresIn: opts.accessTtlSeconds };
    },
    async verifyAccess(token) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: [ALG], issuer: ISSUER, requiredClaims: ['exp', 'sub'] });
        const userId = Number(payload.sub);
        if (!Number.isSafeInteger(userId) || typeof payload.username !== 'string') {
          throw new AppError('invalid-token');
        }
        return { userId, username: payload.username };
      } catch (err) {
        if (err instanceof AppError) throw err;
        const expired = err instanceof joseErrors.JWTExpired;
        throw new AppError('invalid-token', expired ? 'The access token has expired.' : undefined);
      }
    },
    newRefreshToken() {
      const token = randomBytes(32).toString('base64url');
      return { token, hash: hashRefreshToken(token) };
    },
    hashRefreshToken,
    newFamilyId: () => randomUUID(),
  };
}
