import { createHash } from 'node:crypto';
import type { Schedule } from '../config/types.js';
import type { FamilyDef } from '../metrics/types.js';
import type { Check } from './types.js';

export interface CheckDefinition {
  /** `<kind>:<subject>[:<part>]`: unique, and stable while the config is unchanged. */
  id: string;
  kind: string;
  schedule: Schedule;
  timeoutMs: number;
  /** Families the catalog does not hold (custom queries declare theirs). */
  families?: readonly FamilyDef[];
  /**
   * Everything that decides what the check computes (its config entry, its statements): a reload keeps the
   * check's cached samples only while this, the schedule and the timeout are unchanged.
   */
  definition: unknown;
  run: Check['run'];
}

/** The one way a kind makes a Check: its id, schedule and fingerprint computed the same for every kind. */
export function defineCheck(d: CheckDefinition): Check {
  return {
    id: d.id,
    kind: d.kind,
    schedule: d.schedule,
    timeoutMs: d.timeoutMs,
    families: d.families ?? [],
    fingerprint: createHash('sha256')
      .update(JSON.stringify([d.definition, d.schedule, d.timeoutMs]))
      .digest('hex'),
    run: d.run,
  };
}
