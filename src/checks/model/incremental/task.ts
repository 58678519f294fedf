import type { SqlBuilder, Statement } from '../../../sql/builder.js';
import type { Row } from '../../../warehouse/types.js';
import type { CheckResult } from '../../types.js';
import type { ModelContext } from '../context.js';

/**
 * What the incremental check (check.ts) needs to know of a model task: which values it keeps per time bucket,
 * how they add up, and how they become the task's metrics. The buckets, the label states, the store and the
 * reconciliation are the same for every task; classification-task.ts and regression-task.ts fill this in.
 *
 * A kept row is one (part or bucket, version, bin) with one number per name in `sums`. `V` is what the task's
 * metrics are taken from for one (window, version) (classification's Counts, regression's RegressionSums),
 * keyed by countsKey, whether merged from kept rows or read from the full statement.
 */
export interface IncrementalTask<V> {
  /** The task, for the check's fingerprint. */
  kind: string;
  /**
   * What else defines the task, for the fingerprint, where the model and the full statement's text do not
   * (segments' max_segments is a bound parameter): a change starts the kept state afresh.
   */
  definition?: unknown;
  /** The check's part of its id, model:<name>:<part>: `performance` unless given (the labels check's `labels`). */
  part?: string;
  /** The names of a kept row's values, in order: the names `sums` gives them. */
  names: readonly string[];
  /**
   * What the joined rows carry of a prediction besides its version: each an expression over the predictions
   * table `p` and the name the rows read it by. With the version, the identity the latest-label join tells
   * predictions apart by.
   */
  predicted: ReadonlyArray<readonly [string, string]>;
  /**
   * The rows the sums are taken over, as a SELECT from `from` (a FROM item: a CTE's name, or a subquery with its
   * alias), whose rows carry the columns `keep`, the `predicted` ones, y (the latest label or NULL) and lt (its
   * timestamp): `keep`
   * first, then what `sums` and `bin` read. Values are bound on `b`.
   */
  rows(b: SqlBuilder, from: string, keep: readonly string[]): string;
  /**
   * Each kept value's name and its aggregate over the rows of `rows`, in a fixed order; values are bound on
   * `b`, `shift` included where the task keeps its sums about an offset (shiftFrom).
   */
  sums(b: SqlBuilder, shift: number): Array<[string, string]>;
  /** The bin a row is kept under: NULL for a row that counts in no metric but says its version is there. */
  bin: string;
  /** Whether `bin` is text (a segment column's value, segments-task.ts); a number otherwise. */
  textBins?: boolean;
  /**
   * At most how many rows a statement over `parts` parts or buckets may return. Where the bins are values of a
   * column, what is kept grows with the values, not the rows: past the cap the check keeps nothing and
   * recomputes in full (check.ts). Unbounded unless given.
   */
  rowCap?(parts: number): number;
  /** Each value of a row that holds nothing yet. */
  empty: readonly number[];
  /** Adds `x` into `into` (sign 1), or takes it away (-1): the rows of predictions whose label changed. */
  combine(into: number[], x: readonly number[], sign: 1 | -1): void;
  /** One (window, version)'s value from its rows per bin, each already combined over the window's parts. */
  value(bins: ReadonlyMap<number | string, readonly number[]>, shift: number): V;
  /** The full statement: what the check without `incremental` runs, every window in full. */
  full: Statement;
  fullValues(rows: Row[]): { values: Map<string, V>; versions: Set<string> };
  /** Whether the merged values equal the full statement's, within rounding (what it keeps only). */
  agree(merged: ReadonlyMap<string, V>, full: ReadonlyMap<string, V>): boolean;
  /**
   * The offset the kept sums take their labels from, from a full run's values (regression: the labels' mean,
   * so that the sum of squares about it keeps its precision), or undefined where none is needed.
   */
  shiftFrom?(full: ReadonlyMap<string, V>): number;
  /** The samples from this run's values and the last full run's (classification's AUC is as of then). */
  result(
    values: ReadonlyMap<string, V>,
    versions: ReadonlySet<string>,
    lastFull: ReadonlyMap<string, V>,
  ): CheckResult;
}

/** The predicted value of a one-column task (a binary classifier's score, a regression model's value) as `s`. */
export function predictedValue(m: ModelContext): Array<[string, string]> {
  const p = m.predictions;
  return [[p.valueSql ? `p.${p.valueSql}::float8` : 'NULL::float8', 's']];
}

/** Relative tolerance of the reconciliation: sums of the same rows in another order differ in the last bits. */
const TOLERANCE = 1e-9;

/** Whether two sums of the same rows are equal but for rounding. */
export function close(x: number, y: number): boolean {
  // NaN in both: a NaN value or label in the rows, which the two sums share.
  if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return true;
  return Math.abs(x - y) <= TOLERANCE * Math.max(1, Math.abs(x), Math.abs(y));
}
