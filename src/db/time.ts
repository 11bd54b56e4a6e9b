/**
 * Timestamps are stored as UTC strings `YYYY-MM-DD HH:MM:SS.fff` in both dialects (DATETIME(3)
 * in MySQL, TEXT in SQLite): they sort correctly as text and read back identically.
 */
export function toDbTime(d: Date | number): string {
  const ms = Math.trunc(typeof d === 'number' ? d : d.getTime());
  // Every scored reading formats two times: the second's prefix is formatted once and reused.
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond || !Number.isFinite(ms)) {
    const iso = new Date(ms).toISOString();
    lastSecond = second;
    lastPrefix = `${iso.slice(0, 10)} ${iso.slice(11, 20)}`;
  }
  const frac = ms - second * 1000;
  return `${lastPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** The last second `toDbTime` formatted (a one-entry cache: readings arrive in time order). */
let lastSecond = Number.NaN;
let lastPrefix = '';

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
