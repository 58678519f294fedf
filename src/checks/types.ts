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
  /**
   * Hands the check the state store's memory, where it keeps what it remembers between runs so that a restart
   * or another replica starts from it (the incremental classification check's buckets). Without it (`once`, a
   * store that is not ready) the check remembers in the process only.
   */
  remember?(memory: CheckMemory): void;
  /** Called before the run's transaction opens (e.g. to read the memory); never throws. */
  beforeRun?(): Promise<void>;
  /** Called after a successful run's transaction closed (e.g. to save the memory); never throws. */
  afterRun?(): Promise<void>;
}

/** What a check saved: a small header and numbered parts (e.g. time buckets), each JSON. */
export interface SavedMemory {
  /** Increases with every save: a check that knows it has nothing to read. */
  revision: number;
  header: unknown;
  parts: Map<number, unknown>;
}

/** A save: the header, the parts that changed, and which parts to drop. */
export interface MemoryWrite {
  /** The revision this state was loaded or saved as; undefined writes every part anew, whatever is stored. */
  base: number | undefined;
  header: unknown;
  /** Parts written (replacing a stored part of the same number). With `base` undefined, every part. */
  parts: Map<number, unknown>;
  /** Stored parts to delete (e.g. buckets that left every window). */
  drop: number[];
}

/**
 * A check's memory in the state store, per check id and fingerprint (a changed definition starts afresh).
 * Writes are atomic: what a later load returns is always one whole save.
 */
export interface CheckMemory {
  /** The saved state, 'unchanged' when it is still `known`, undefined when none (or another definition's). */
  load(
    id: string,
    fingerprint: string,
    known: number | undefined,
  ): Promise<SavedMemory | 'unchanged' | undefined>;
  /** Saves; the new revision, or 'conflict' when another writer saved since `base` (load again next run). */
  save(id: string, fingerprint: string, w: MemoryWrite): Promise<number | 'conflict'>;
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
