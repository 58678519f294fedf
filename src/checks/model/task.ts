import { z } from 'zod';
import type { CatalogEntry } from '../../metrics/family.js';
import type { Check } from '../types.js';
import type { ModelContext } from './context.js';
import type { ModelReference } from './reference.js';

/**
 * What a model task (`models[].task`) is: the prediction columns it reads, the config it refuses, and the checks
 * that judge it. Each task is one object (`binaryClassificationTask` in classification.ts, `regressionTask` in
 * regression.ts, `multiclassTask` in multiclass/) and one line in `modelTasks` (tasks.ts); the model section's
 * schema and its loader are built from that list.
 */

/** A column of the predictions table, as a task declares it. */
export const column = (what: string) => z.string({ error: `expected the ${what} column name` }).min(1);

/** The parts of a parsed `models[]` entry a task looks at (the whole entry, as the section parsed it). */
export interface TaskEntry {
  name: string;
  task: string;
  /** The predictions mapping: the common keys, and the fields each task declares (`predictionFields`). */
  predictions: Readonly<Record<string, unknown>>;
  threshold?: number | undefined;
  reference?: ModelReference | undefined;
  reference_interval?: number | undefined;
  segments?: string[] | undefined;
  /** With `incremental` set: the incremental check's buckets, settle period and full interval, in ms. */
  incremental?: { bucket: number; settle: number; full_interval: number } | undefined;
}

export interface ModelTask {
  /**
   * Keys this task adds to `predictions` (binary classification `score`, regression `prediction`, ...). A model
   * of the task must give each of them and none of another task's (checkTask in tasks.ts): every task's keys
   * are allowed in the mapping, so a key of another task is told apart from a typo.
   */
  predictionFields: z.ZodRawShape;
  /** The message when a model's prediction keys are wrong; `foreign` lists the keys of other tasks it gave. */
  wrongColumns(foreign: string[]): string;
  /** Config problems of a model of this task beyond its prediction keys (options it does not support, ...). */
  refine?(m: TaskEntry, ctx: z.RefinementCtx): void;
  /** The performance check: the metrics of the task, per window (and version), in as few statements as it can. */
  performance(m: ModelContext, entry: TaskEntry): Check;
  /** Metric families only this task exports (the model layer's common ones are in ../families.ts). */
  families?: Readonly<Record<string, CatalogEntry>>;
  /** Checks of the task after the model's prediction drift (if any), e.g. regression's reference errors. */
  moreChecks?(m: ModelContext, entry: TaskEntry, reference: { intervalMs: number }): Check[];
}
