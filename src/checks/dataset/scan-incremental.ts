import type { Queryable } from '../../warehouse/types.js';
import { warehouseClockUs } from '../buckets/clock.js';
import type { IncrementalOptions } from '../buckets/config.js';
import { countParts, fullDue, keepingState, newState } from '../buckets/kept-counts.js';
import { type Part, planRun } from '../buckets/plan.js';
import type { Check } from '../types.js';
import { toSampleValue } from '../values.js';
import { type DatasetContext, datasetCheck } from './context.js';
import { reconciledAt } from './reconciled.js';
import { fullScan, nullColumnsOf, type ScanSpecs, scanResult, windowedSpans } from './scan.js';
import {
  emptyPart,
  mergeScan,
  partValues,
  type ScanShape,
  sameScan,
  scanPartsStatement,
} from './scan-parts.js';

/**
 * A dataset's scan with `incremental` set: freshness, volume, nulls and validity from counts kept per time
 * bucket, so a run reads the rows that arrived since the last one (and each window's edge), not the windows.
 *
 * Every value of the scan is a count over the rows of a window, or the newest row: both add up over disjoint
 * parts of time (scan-parts.ts). The windows are cut into parts as the model's incremental check cuts them
 * (../buckets/plan.ts): complete buckets, counted once and kept, and fresh parts read on every run. A row stamped
 * inside a complete bucket after it was counted (more than `settle` late), or changed in place, is missed until
 * the full scan, which runs every `fullIntervalMs` (daily by default) and reconciles: its values are exported,
 * and when the kept counts differ from them the buckets are dropped and counted again on the next run.
 * `mlwatch_dataset_reconciled_timestamp_seconds` says when they last agreed.
 *
 * The buckets live in the check (kept across a reload that keeps the dataset's definition: adopt) and, in a
 * running exporter, in the state store, so a restart starts from them.
 */

export function buildIncrementalScanCheck(
  ds: DatasetContext,
  specs: ScanSpecs,
  o: IncrementalOptions,
): Check {
  const state = newState();
  const check = datasetCheck(ds, 'scan', { specs, incremental: o }, async (q) => {
    const nowUs = await warehouseClockUs(q, ds.dialect);
    // now() is the transaction's start, before this mark: the age exported can be late, never early (scan.ts).
    const measuredAt = performance.now();
    const shape: ScanShape = { nullColumns: await nullColumnsOf(q, ds, specs), specs };
    const plan = planRun(nowUs, windowedSpans(specs), o);
    const exact = fullDue(state, nowUs, o) ? await fullScan(q, ds, specs, [...shape.nullColumns]) : undefined;
    // A bucket or two and the head: too little for parallel workers to pay off (the full scan above keeps them).
    if (ds.dialect.serialRest !== undefined) await q.query(ds.dialect.serialRest);
    // The counts kept are per column: another set of columns (`nulls: all` after a migration) counts afresh.
    const run = await countParts(state, plan, JSON.stringify(shape.nullColumns), (parts) =>
      readParts(q, ds, shape, parts, o.bucketMs, nowUs),
    );
    let row = mergeScan(shape, plan.parts, run.partAt, nowUs);
    if (specs.freshness && row.last_update === undefined) row = { ...row, ...(await newestRow(q, ds)) };
    run.commit(nowUs, exact === undefined ? undefined : sameScan(row, exact.row));
    const result = exact
      ? scanResult(ds, specs, [...shape.nullColumns], exact.row, exact.measuredAt)
      : scanResult(ds, specs, [...shape.nullColumns], row, measuredAt);
    return { samples: [...result.samples, ...reconciledAt(check.id, ds, state)], skipped: result.skipped };
  });
  return keepingState(check, state);
}

/** Each part's values, in the order of `parts` (a part without rows: emptyPart). */
async function readParts(
  q: Queryable,
  ds: DatasetContext,
  shape: ScanShape,
  parts: readonly Part[],
  bucketMs: number,
  nowUs: number,
): Promise<number[][]> {
  const out = parts.map(() => emptyPart(shape));
  if (parts.length === 0) return out;
  const st = scanPartsStatement(ds, shape, parts, bucketMs);
  for (const row of await q.query(st.text, st.params)) out[Number(row.part)] = partValues(shape, row, nowUs);
  return out;
}

/** The newest row not in the future when no window holds one: what the full scan's InitPlan reads then. */
async function newestRow(q: Queryable, ds: DatasetContext): Promise<{ last_update?: number; age?: number }> {
  const t = ds.timestampSql;
  const [row] = await q.query(
    `SELECT extract(epoch FROM max(${t}))::float8 AS last_update, extract(epoch FROM now() - max(${t}))::float8 AS age FROM ${ds.tableSql} WHERE ${t} < now()`,
  );
  const last = toSampleValue(row?.last_update, 'last_update');
  const age = toSampleValue(row?.age, 'age');
  return last === null || age === null ? {} : { last_update: last, age };
}
