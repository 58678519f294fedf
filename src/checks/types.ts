import type { Schedule } from '../config/types.js';
import type { FamilyDef, Sample } from '../metrics/types.js';
import type { Dialect } from '../sql/dialect.js';
import type { Queryable } from '../warehouse/types.js';

/** What one run of a check produced. */
export interface CheckResult {
  samples: Sample[];
  /**
   * Series the check could not export, by reason (e.g. `null_value`, `undefined`): exported as
   * mlwatch_check_skipped_samples{check,reason} and listed on the landing page, never as NaN or a fake 0.
   */
  skipped: Record<string, number>;
}

/**
 * A check built from config. It runs inside a read-only transaction on its own schedule; its statements
 * are built once, at load, with identifiers quoted and values bound as parameters.
 */
export interface Check {
  /** Unique, stable across reloads while its config is unchanged: `<kind>:<subject>`. */
  id: string;
  kind: string;
  schedule: Schedule;
  timeoutMs: number;
  /** Families this check emits; families not in the catalog (custom queries) are declared here. */
  families: readonly FamilyDef[];
  /** A fingerprint of the check's definition: a reload keeps cached samples only while it is unchanged. */
  fingerprint: string;
  run(q: Queryable): Promise<CheckResult>;
  /**
   * Takes over what `previous` (the same check before a reload: same id and fingerprint) remembered between
   * runs, e.g. the last schema hash, so a reload is not mistaken for a first run.
   */
  adopt?(previous: Check): void;
}

/** Settings every check kind may read when it is built. */
export interface BuildContext {
  defaultIntervalMs: number;
  defaultTimeoutMs: number;
  /** The warehouse's SQL dialect: every statement a kind builds goes through a builder of this dialect. */
  dialect: Dialect;
  /** The config file's folder: relative paths in config (a schema lock file) start there. */
  baseDir?: string;
  /** The config file as the user named it, for messages that tell them what to run. */
  configFile?: string;
}
