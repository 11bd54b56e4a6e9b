/**
 * Timestamps are stored as UTC strings `YYYY-MM-DD HH:MM:SS.fff` in both dialects (DATETIME(3)
 * in MySQL, TEXT in SQLite): they sort correctly as text and read back identically.
 */
export function toDbTime(d: Date | number): string {
  const iso = (typeof d === 'number' ? new Date(d) : d).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** Converts a stored timestamp back to ISO 8601 (`…Z`). */
export function fromDbTime(s: string): string {
  return `${s.slice(0, 10)}T${s.slice(11, 23).padEnd(12, '.000').slice(0, 12)}Z`;
}

export function dbTimeToMs(s: string): number {
  return Date.parse(fromDbTime(s));
}

/** Booleans are stored as 0/1 (better-sqlite3 binds no booleans; MySQL uses TINYINT(1)). */
export const toDbBool = (b: boolean): number => (b ? 1 : 0);
export const fromDbBool = (v: number | boolean | null | undefined): boolean => v === true || v === 1;
