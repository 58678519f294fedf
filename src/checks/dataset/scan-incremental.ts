import type { Sample } from '../../metrics/types.js';
import type { Queryable } from '../../warehouse/types.js';
import { warehouseClockUs } from '../buckets/clock.js';
import type { IncrementalOptions } from '../buckets/config.js';
import { persist, recall, rowKey } from '../buckets/memory.js';
import { type Part, type Plan, planRun } from '../buckets/plan.js';
import type { State, Sums } from '../buckets/state.js';
import type { Check, CheckMemory } from '../types.js';
import { toSampleValue } from '../values.js';
import { type DatasetContext, datasetCheck } from './context.js';
import { datasetFamilies } from './families.js';
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

/** What each check remembers, for adopt: a reload that keeps the dataset's definition keeps its buckets. */
const states = new WeakMap<Check, State>();

/** The key of the one row a dataset's bucket holds, in the store's layout of a bucket (../buckets/state.ts). */
const ROW = rowKey({ v: null, b: 0 });

export function buildIncrementalScanCheck(
  ds: DatasetContext,
  specs: ScanSpecs,
  o: IncrementalOptions,
): Check {
  const state: State = {
    buckets: new Map(),
    dirty: new Set(),
    dropped: new Set(),
    rewrite: false,
    unsaved: false,
  };
  const check = datasetCheck(ds, 'scan', { specs, incremental: o }, async (q) => {
    const nowUs = await warehouseClockUs(q, ds.dialect);
    // now() is the transaction's start, before this mark: the age exported can be late, never early (scan.ts).
    const measuredAt = performance.now();
    const shape: ScanShape = { nullColumns: await nullColumnsOf(q, ds, specs), specs };
    // The counts kept are per column: another set of columns (`nulls: all` after a migration) counts afresh.
    const shapeKey = JSON.stringify(shape.nullColumns);
    const plan = planRun(nowUs, windowedSpans(specs), o);
    const due = state.full === undefined || nowUs - state.full.atUs >= o.fullIntervalMs * 1000;
    const exact = due ? await fullScan(q, ds, specs, [...shape.nullColumns]) : undefined;
    // The next kept state, built aside: a run that fails half-way leaves the last one as it was.
    const buckets = shapeKey === state.shape ? keptBuckets(state, plan) : new Map<number, Sums>();
    // A bucket or two and the head: too little for parallel workers to pay off (the full scan above keeps them).
    if (ds.dialect.serialRest !== undefined) await q.query(ds.dialect.serialRest);
    const toRead = plan.parts.filter((p) => p.bucket === undefined || !buckets.has(p.bucket));
    const read = await countParts(q, ds, shape, toRead, o.bucketMs, nowUs);
    const fresh = new Map<number, number[]>();
    toRead.forEach((p, i) => {
      const values = read[i] as number[];
      if (p.bucket === undefined) fresh.set(plan.parts.indexOf(p), values);
      else buckets.set(p.bucket, new Map([[ROW, { v: null, b: 0, sums: values }]]));
    });
    const partAt = (i: number) => {
      const p = plan.parts[i] as Part;
      return p.bucket === undefined
        ? (fresh.get(i) as number[])
        : ((buckets.get(p.bucket) as Sums).get(ROW)?.sums ?? emptyPart(shape));
    };
    let row = mergeScan(shape, plan.parts, partAt, nowUs);
    if (specs.freshness && row.last_update === undefined) row = { ...row, ...(await newestRow(q, ds)) };
    let rewrite = state.rewrite || shapeKey !== state.shape;
    let reconciled = state.reconciledUs;
    if (exact !== undefined) {
      if (sameScan(row, exact.row)) reconciled = nowUs;
      else {
        buckets.clear();
        rewrite = true;
      }
    }
    const added = toRead.flatMap((p) => (p.bucket !== undefined && buckets.has(p.bucket) ? [p.bucket] : []));
    Object.assign(state, {
      buckets,
      shape: shapeKey,
      full: exact === undefined ? state.full : { atUs: nowUs, values: new Map() },
      reconciledUs: reconciled,
      dirty: new Set([...state.dirty, ...added]),
      dropped: new Set([...state.dropped, ...[...state.buckets.keys()].filter((b) => !buckets.has(b))]),
      rewrite,
      unsaved: true,
    });
    const result = exact
      ? scanResult(ds, specs, [...shape.nullColumns], exact.row, exact.measuredAt)
      : scanResult(ds, specs, [...shape.nullColumns], row, measuredAt);
    return { samples: [...result.samples, ...reconciledAt(ds, state)], skipped: result.skipped };
  });
  const incremental: Check = {
    ...check,
    adopt(previous: Check) {
      const kept = states.get(previous);
      if (kept !== undefined) Object.assign(state, kept);
    },
    remember(memory: CheckMemory) {
      state.memory = memory;
    },
    // Outside the run's read-only transaction, as the model's incremental check does (its check.ts says why).
    beforeRun: () => recall(state, check.id, check.fingerprint),
    afterRun: () => persist(state, check.id, check.fingerprint),
  };
  states.set(incremental, state);
  return incremental;
}

/** The kept buckets this run's plan still holds as complete buckets. */
function keptBuckets(state: State, plan: Plan): Map<number, Sums> {
  const out = new Map<number, Sums>();
  for (const p of plan.parts) {
    const kept = p.bucket === undefined ? undefined : state.buckets.get(p.bucket);
    if (kept !== undefined) out.set(p.bucket as number, kept);
  }
  return out;
}

/** Each part's values, in the order of `parts` (a part without rows: emptyPart). */
async function countParts(
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

function reconciledAt(ds: DatasetContext, state: State): Sample[] {
  if (state.reconciledUs === undefined) return [];
  return [
    {
      name: datasetFamilies.datasetReconciled.name,
      labels: { dataset: ds.name },
      value: state.reconciledUs / 1e6,
    },
  ];
}
