/**
 * Checks shared by the channels' saved states (`toJSON` / `fromJSON`): a state is a plain object
 * of finite numbers, and a time that is not set (NaN or ±Infinity in memory) is saved as null.
 * @module
 */

/** A finite number (not NaN, not ±Infinity). */
export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A saved state as a plain object; throws `must be an object` otherwise. */
export function stateRecord(x: unknown): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new Error('must be an object');
  return x as Record<string, unknown>;
}

/** A number for saving: itself when finite, else null (an unset time). */
export const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** A saved number or null: null when it is, true when it is a finite number, false otherwise. */
export const isFiniteOrNull = (v: unknown): v is number | null => v === null || isFiniteNumber(v);
