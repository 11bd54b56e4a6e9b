import type { Migration } from 'kysely';
import * as m0001 from './0001-initial.ts';

/** Every migration, in order. Append new ones; never edit or reorder a released one. */
export const migrations: Record<string, Migration> = {
  '0001-initial': m0001,
};
