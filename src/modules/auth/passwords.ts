import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

/** OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane. */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the same time as a real verification, for unknown users (no user enumeration by timing). */
  verifyDummy(password: string): Promise<false>;
}

export function createPasswordHasher(): PasswordHasher {
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => argon2.hash(password, OPTIONS),
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
    async verifyDummy(password) {
      dummy ??= argon2.hash(randomBytes(16).toString('hex'), OPTIONS);
      await argon2.verify(await dummy, password).catch(() => false);
      return false;
    },
  };
}
