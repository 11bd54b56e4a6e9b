/**
 * Recognises a unique-constraint violation from either driver and names the column (or index)
 * involved, so services can turn races into 409s instead of 500s.
 */
export function uniqueViolation(err: unknown): { target: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: string; errno?: number; message?: string };
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: users.email"
    const m = /failed: ([\w.]+)/.exec(e.message ?? '');
    return { target: m?.[1] ?? '' };
  }
  if (e.code === 'ER_DUP_ENTRY' || e.errno === 1062) {
    // "Duplicate entry 'x' for key 'users_email_unique'" (MariaDB) or "'users.users_email_unique'" (MySQL 8)
    const m = /for key '([^']+)'/.exec(e.message ?? '');
    return { target: m?.[1] ?? '' };
  }
  return undefined;
}
