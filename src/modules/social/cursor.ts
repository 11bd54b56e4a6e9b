import { AppError } from '../../lib/errors.ts';
import { MAX_PAGE_SIZE } from './social.schemas.ts';

/**
 * A keyset position: the sort key (a stored UTC timestamp) and the row id breaking ties. Pages
 * continue strictly after it, so rows inserted meanwhile never shift a page (no duplicates, no gaps).
 */
export interface Cursor {
  at: string;
  id: number;
}

const DB_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id])).toString('base64url');
}

/** Parses an opaque cursor; anything not produced by `encodeCursor` is `invalid-cursor` (400). */
export function decodeCursor(s: string | undefined): Cursor | undefined {
  if (s === undefined) return undefined;
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw new AppError('invalid-cursor');
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== 'string' ||
    !DB_TIME.test(value[0]) ||
    !Number.isSafeInteger(value[1]) ||
    (value[1] as number) < 1
  ) {
    throw new AppError('invalid-cursor');
  }
  return { at: value[0], id: value[1] as number };
}

export function pageSize(limit: number | undefined): number {
  return Math.min(Math.max(1, Math.trunc(limit ?? 20)), MAX_PAGE_SIZE);
}

/** Splits the `limit + 1` rows a repository returned into one page and the cursor after it. */
export function toPage<R, V>(
  rows: R[],
  limit: number,
  key: (row: R) => Cursor,
  view: (row: R) => V,
): { items: V[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return { items: page.map(view), next_cursor: more && last ? encodeCursor(key(last)) : null };
}
