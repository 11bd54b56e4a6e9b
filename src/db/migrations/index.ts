import type { Migration } from 'kysely';
import * as m0001 from './0001-initial.ts';
import * as m0002 from './0002-social.ts';
import * as m0003 from './0003-devices.ts';
import * as m0004 from './0004-models.ts';
import * as m0005 from './0005-log-seq.ts';
import * as m0010 from './0010-alarms.ts';
import * as m0015 from './0015-rollups.ts';
import * as m0016 from './0016-compact-logs.ts';
import * as m0017 from './0017-log-pruned-rows.ts';
import * as m0020 from './0020-backtests.ts';
import * as m0021 from './0021-feedback-labels.ts';
import * as m0022 from './0022-training-notes.ts';

/** Every migration, in order. Append new ones; never edit or reorder a released one. */
export const migrations: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-social': m0002,
  '0003-devices': m0003,
  '0004-models': m0004,
  '0005-log-seq': m0005,
  '0010-alarms': m0010,
  '0015-rollups': m0015,
  '0016-compact-logs': m0016,
  '0017-log-pruned-rows': m0017,
  '0020-backtests': m0020,
  '0021-feedback-labels': m0021,
  '0022-training-notes': m0022,
};
