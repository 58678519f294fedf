import { SqlBuilder, type Statement } from '../../sql/builder.js';
import { quoteIdent } from '../../sql/identifiers.js';
import type { Row } from '../../warehouse/types.js';
import { partsSql } from '../buckets/cuts-sql.js';
import type { Part } from '../buckets/plan.js';
import { toSampleValue } from '../values.js';
import type { DatasetContext } from './context.js';
import { outOfRange, type ScanSpecs } from './scan.js';

/**
 * The incremental scan's counts per part of time (scan-incremental.ts), and how the parts of each window add up
 * to the row the full scan returns (scan.ts, fullScan): the same values, so the same samples.
 *
 * A part's values, in order: its rows, each nulls column's NULLs, each validity column's non-NULL values and
 * those out of range (the sums: they add up over parts), then its newest row (last_update as the full scan
 * reads it, and its instant in µs on the warehouse clock: the maxima). The newest row is kept as an instant, not
 * an age, so a bucket kept for days gives the age as of each run's now().
 */

/** What a part's counts are taken over: the columns the nulls check counts, resolved, and validity's rules. */
export interface ScanShape {
  nullColumns: readonly string[];
  specs: ScanSpecs;
}

/** How many of a part's values are sums; the two after them are maxima. */
function sumCount(shape: ScanShape): number {
  return 1 + shape.nullColumns.length + 2 * Object.keys(shape.specs.validity?.columns ?? {}).length;
}

/** A part without rows. */
export function emptyPart(shape: ScanShape): number[] {
  return [...new Array<number>(sumCount(shape)).fill(0), -Infinity, -Infinity];
}

/** Adds part `x` into `into`. */
export function addPart(into: number[], x: readonly number[]): void {
  const n = into.length - 2;
  for (let j = 0; j < n; j++) (into[j] as number) += x[j] as number;
  for (let j = n; j < into.length; j++) into[j] = Math.max(into[j] as number, x[j] as number);
}

/**
 * The counts of every part in `parts` (disjoint), one row per part that holds rows: column part (its index in
 * `parts`), then n_rows, null_<i>, valid_n_<i>, valid_bad_<i>, last_update and age (now() less the newest row).
 */
export function scanPartsStatement(
  ds: DatasetContext,
  shape: ScanShape,
  parts: readonly Part[],
  bucketMs: number,
): Statement {
  const b = new SqlBuilder(ds.dialect);
  const t = ds.timestampSql;
  const placed = partsSql(b, t, parts, bucketMs);
  const counts = [
    'count(*) AS n_rows',
    // NULL counts as a FILTER, as the full scan counts them: one pass, no CASE per column.
    ...shape.nullColumns.map((c, i) => `count(*) FILTER (WHERE ${quoteIdent(c)} IS NULL) AS null_${i}`),
    ...Object.entries(shape.specs.validity?.columns ?? {}).flatMap(([c, r], i) => [
      `count(${quoteIdent(c)}) AS valid_n_${i}`,
      `count(*) FILTER (WHERE ${outOfRange(b, c, r)}) AS valid_bad_${i}`,
    ]),
    `extract(epoch FROM max(${t}))::float8 AS last_update`,
    `extract(epoch FROM now() - max(${t}))::float8 AS age`,
  ];
  // Grouped by the slot, mapped to the part once per group: a CASE of one branch per part (336 for 14 days of
  // hourly buckets) evaluated per row made a first run 30 times the full scan.
  return b.statement(
    `SELECT ${placed.part(placed.slot)} AS part,\n  ${counts.join(',\n  ')}\nFROM ${ds.tableSql}\nWHERE ${placed.where}\nGROUP BY ${placed.slot}`,
  );
}

/** A row of scanPartsStatement as a part's values, at the run's clock `nowUs`. */
export function partValues(shape: ScanShape, row: Row, nowUs: number): number[] {
  const out = emptyPart(shape);
  const n = sumCount(shape);
  const names = Object.keys(row).filter((k) => k !== 'part' && k !== 'last_update' && k !== 'age');
  if (names.length !== n) throw new Error(`expected ${n} counts per part, got ${names.length}`);
  names.forEach((name, j) => {
    out[j] = toSampleValue(row[name], name) ?? 0;
  });
  const last = toSampleValue(row.last_update, 'last_update');
  const age = toSampleValue(row.age, 'age');
  if (last !== null && age !== null) {
    out[n] = last;
    out[n + 1] = nowUs - Math.round(age * 1e6);
  }
  return out;
}

/**
 * The row fullScan would return at `nowUs`, from each part's values (`partAt(i)`: part i of `parts`): a window's
 * counts are the sums over the parts that start inside it. The newest row over every part; when no part holds
 * one, last_update and age are left out (the caller reads the table's newest row, as the full scan does then).
 */
export function mergeScan(
  shape: ScanShape,
  parts: readonly Part[],
  partAt: (i: number) => readonly number[],
  nowUs: number,
): Row {
  const within = (ms: number) => {
    const total = emptyPart(shape);
    parts.forEach((p, i) => {
      if (p.lo.at >= nowUs - ms * 1000) addPart(total, partAt(i));
    });
    return total;
  };
  const specs = shape.specs;
  const row: Row = {};
  const n = sumCount(shape);
  const all = within(Number.POSITIVE_INFINITY);
  if (specs.freshness && Number.isFinite(all[n])) {
    row.last_update = all[n];
    row.age = (nowUs - (all[n + 1] as number)) / 1e6;
  }
  if (specs.volume) {
    const w = specs.volume.window.ms;
    row.vol_rows = within(w)[0];
    row.vol_base = (within(2 * w)[0] as number) - (row.vol_rows as number);
  }
  if (specs.nulls) {
    const counts = within(specs.nulls.window.ms);
    row.null_rows = counts[0];
    shape.nullColumns.forEach((_, i) => {
      row[`null_${i}`] = counts[1 + i];
    });
  }
  if (specs.validity) {
    const counts = within(specs.validity.window.ms);
    const first = 1 + shape.nullColumns.length;
    Object.keys(specs.validity.columns).forEach((_, i) => {
      row[`valid_n_${i}`] = counts[first + 2 * i];
      row[`valid_bad_${i}`] = counts[first + 2 * i + 1];
    });
  }
  return row;
}

/** Whether the merged row equals the full scan's (the counts exactly; the age is now() less the same row). */
export function sameScan(merged: Row, full: Row): boolean {
  return Object.keys(full).every((k) => {
    if (k === 'age') return true;
    const f = toSampleValue(full[k], k);
    const m = toSampleValue(merged[k], k);
    return f === m || (f === null && m === 0);
  });
}
