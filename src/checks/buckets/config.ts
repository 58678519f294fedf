import { z } from 'zod';
import { duration } from '../../config/types.js';
import type { BucketOptions } from './plan.js';

/**
 * `incremental:` as config writes it, for every check that keeps time buckets (a model's performance and labels
 * checks, a dataset's scan and drift bins): the same fields everywhere; only how often the full recomputation
 * runs by default differs.
 */
export function incrementalSpec(fullIntervalDefaultMs: number) {
  return z.strictObject({
    // Buckets of this length are summed once complete, and kept.
    bucket: duration('a bucket length').default(3_600_000),
    // How late a row may be stamped before it is written and still be counted on the next run.
    settle: duration('a settle period').default(300_000),
    // How often every window is recomputed in full: the reconciliation of the buckets (and a model's exact AUC).
    full_interval: duration('an interval').default(fullIntervalDefaultMs),
  });
}

export interface IncrementalOptions extends BucketOptions {
  /** How often every window is recomputed in full. */
  fullIntervalMs: number;
}

/** An `incremental` entry (durations in ms, defaults applied by the schema) as options. */
export function incrementalOptions(i: {
  bucket: number;
  settle: number;
  full_interval: number;
}): IncrementalOptions {
  return { bucketMs: i.bucket, settleMs: i.settle, fullIntervalMs: i.full_interval };
}
