import type { Sample } from '../../../metrics/types.js';
import type { Queryable, Row } from '../../../warehouse/types.js';
import { warehouseClockUs } from '../../buckets/clock.js';
import type { IncrementalOptions } from '../../buckets/config.js';
import { fullDue, keepingState, newState } from '../../buckets/kept-counts.js';
import { rowKey } from '../../buckets/memory.js';
import { type Part, type Plan, planRun } from '../../buckets/plan.js';
import type { PartRow, State, Sums } from '../../buckets/state.js';
import type { Check } from '../../types.js';
import { toSampleValue } from '../../values.js';
import { countsKey } from '../classification.js';
import { type ModelContext, modelCheck } from '../context.js';
import { modelFamilies } from '../families.js';
import { type CappedStatement, partsStatement, relabeledStatement, type Summing } from './parts-sql.js';
import type { IncrementalTask } from './task.js';

/**
 * A model's performance check with `incremental` set (the task's part is an IncrementalTask): what a run costs
 * grows with the rows that arrived since the last run, not with the windows' length.
 *
 * The task's metrics are ratios of sums (classification-task.ts, regression-task.ts, multiclass-task.ts), and
 * sums of disjoint rows add up. So the check keeps, per complete time bucket (../../buckets/plan.ts), the sums
 * of the bucket's predictions per version and bin, with the labels stamped before the last run's now() - settle:
 * the KEPT state, the same for every bucket. A run then reads only:
 * - the fresh parts (each window's edge, the head), with every label, as the full statement would;
 * - the buckets that became complete since the last run, with the labels of the kept state;
 * - the predictions of kept buckets whose key got a label stamped since the last kept state: from them, what
 *   the labels stamped since change (moving the kept state forward), and what the labels younger than settle
 *   add on this run only. A late label costs its own prediction, not its bucket.
 * The full statement (what a check without `incremental` runs) runs on its own slower schedule, every
 * `fullIntervalMs`: a classifier's AUC cannot be merged (it ranks every score of the window against every
 * other), so it stays exact and is exported as of that run. That run also reconciles: its sums must equal the
 * merged ones in the same snapshot, else the kept buckets are dropped and summed again on the next run. Rows
 * that change in place, and predictions or labels stamped more than `settle` before they are written, are
 * caught there and nowhere else. A task whose bins are a column's values bounds the rows it keeps
 * (IncrementalTask.rowCap): past that, the check keeps nothing and runs the full statement on every run until
 * `fullIntervalMs` has passed (keepNothing).
 *
 * The buckets live in the check object (kept across a reload that does not change the model: adopt) and, in
 * a running exporter, in the state store (../../buckets/memory.ts, kept-counts.ts's keepingState): a restart,
 * or another replica taking the check over, starts from the last saved buckets instead of summing every window
 * again.
 */

export function buildIncrementalCheck<V>(
  m: ModelContext,
  o: IncrementalOptions,
  task: IncrementalTask<V>,
): Check {
  const full = task.full;
  const state = newState();
  const windowsMs = m.windows.map((w) => w.ms);
  const spec = {
    kind: task.kind,
    incremental: o,
    sql: full.text,
    ...(task.definition === undefined ? {} : { definition: task.definition }),
  };
  const check = modelCheck(m, task.part ?? 'performance', spec, async (q) => {
    const nowUs = await warehouseClockUs(q, m.dialect);
    if (state.overCapUs !== undefined && nowUs - state.overCapUs < o.fullIntervalMs * 1000) {
      return keepNothing(task.fullValues(await q.query(full.text, full.params)), nowUs, state.overCapUs);
    }
    const plan = planRun(nowUs, windowsMs, o);
    const keptMs = Math.floor((nowUs - o.settleMs * 1000) / 1000);
    let lastFull = state.full as { atUs: number; values: Map<string, V> } | undefined;
    // The full run first when due: where the task keeps its sums about an offset, a check with no buckets yet
    // takes it from this run.
    let exact: { values: Map<string, V>; versions: Set<string> } | undefined;
    if (fullDue(state, nowUs, o)) exact = task.fullValues(await q.query(full.text, full.params));
    let shift = state.shift;
    // The next kept state, built aside: a run that fails half-way leaves the last one as it was.
    let buckets = keptBuckets(state, plan, keptMs);
    if (task.shiftFrom !== undefined && shift === undefined) {
      // No offset yet: no kept bucket either (they are kept about one). Summed afresh below.
      shift = exact === undefined ? 0 : task.shiftFrom(exact.values);
      buckets = new Map();
    }
    const sum: Summing = { m, task: task as IncrementalTask<unknown>, shift: shift ?? 0 };
    // What follows reads a bucket or two and the predictions relabeled since the last run: too little for the
    // parallel workers a planner may choose to start to pay off (the full statement above keeps them).
    if (m.dialect.serialRest !== undefined) await q.query(m.dialect.serialRest);
    const moved = new Set<number>();
    let fresh: Map<number, Sums>;
    let added: Set<number>;
    let young: Map<number, Sums>;
    try {
      fresh = await sumFresh(q, sum, o, plan);
      added = await sumNewBuckets(q, sum, o, plan, buckets, keptMs);
      young = await applyRelabeled(q, sum, o, plan, {
        buckets,
        added,
        moved,
        keptMs,
        beforeMs: state.keptMs,
      });
    } catch (e) {
      if (!(e instanceof OverCap)) throw e;
      if (exact === undefined && m.dialect.parallelAgain !== undefined)
        await q.query(m.dialect.parallelAgain);
      return keepNothing(exact ?? task.fullValues(await q.query(full.text, full.params)), nowUs, nowUs);
    }
    // What the store's copy lacks: buckets summed or moved on this run; everything after starting afresh.
    let rewrite = state.rewrite || (buckets.size === 0 && state.buckets.size > 0) || shift !== state.shift;
    const merged = mergeWindows(m, task, plan, { buckets, young, fresh }, shift ?? 0);
    let reconciled = state.reconciledUs;
    let values = merged.values;
    let versions = merged.versions;
    if (exact !== undefined) {
      if (task.agree(merged.values, exact.values)) reconciled = nowUs;
      else {
        buckets.clear();
        rewrite = true;
        // Summed again on the next run, about this run's offset: the labels may have moved away from the last.
        if (task.shiftFrom !== undefined) shift = task.shiftFrom(exact.values);
      }
      lastFull = { atUs: nowUs, values: exact.values };
      values = exact.values;
      versions = exact.versions;
    }
    const dirty = new Set([...state.dirty, ...added, ...moved]);
    const dropped = new Set([...state.dropped, ...[...state.buckets.keys()].filter((b) => !buckets.has(b))]);
    Object.assign(state, {
      buckets,
      keptMs,
      overCapUs: undefined,
      full: lastFull,
      reconciledUs: reconciled,
      shift,
      dirty,
      dropped,
      rewrite,
    });
    state.unsaved = true;
    const result = task.result(values, versions, (lastFull as { values: Map<string, V> }).values);
    return {
      samples: [...result.samples, ...incrementalStamps(m, check.id, state)],
      skipped: result.skipped,
    };
  });
  /**
   * A run past the task's cap (IncrementalTask.rowCap) keeps nothing and exports the full statement's values,
   * which agree with themselves: reconciled now, so no mismatch alert for values that are exact. `since`: when
   * the cap was last passed; keeping is tried again fullIntervalMs after it.
   */
  function keepNothing(
    exact: { values: Map<string, V>; versions: Set<string> },
    nowUs: number,
    since: number,
  ) {
    Object.assign(state, {
      buckets: new Map(),
      keptMs: undefined,
      full: { atUs: nowUs, values: exact.values },
      reconciledUs: nowUs,
      overCapUs: since,
      dirty: new Set(),
      dropped: new Set(),
      rewrite: true,
      unsaved: true,
    });
    const result = task.result(exact.values, exact.versions, exact.values);
    return {
      samples: [...result.samples, ...incrementalStamps(m, check.id, state)],
      skipped: result.skipped,
    };
  }
  return keepingState(check, state);
}

/** A statement returned more rows than the task keeps (IncrementalTask.rowCap). */
class OverCap extends Error {}

/** The statement's rows; throws OverCap past its cap. */
async function readCapped(q: Queryable, st: CappedStatement): Promise<Row[]> {
  const rows = await q.query(st.text, st.params);
  if (st.cap !== undefined && rows.length > st.cap) throw new OverCap(`more than ${st.cap} rows`);
  return rows;
}

/**
 * The kept buckets this run starts from: those a window still reaches, each copied (the run changes them).
 * None when the clock went back past the kept state: the labels between would be counted twice.
 */
function keptBuckets(state: State, plan: Plan, keptMs: number): Map<number, Sums> {
  const out = new Map<number, Sums>();
  if (state.keptMs !== undefined && keptMs < state.keptMs) return out;
  for (const p of plan.parts) {
    const kept = p.bucket === undefined ? undefined : state.buckets.get(p.bucket);
    if (kept !== undefined)
      out.set(p.bucket as number, new Map([...kept].map(([k, r]) => [k, { ...r, sums: [...r.sums] }])));
  }
  return out;
}

/** The fresh parts' sums, with every label, by index in plan.parts. */
async function sumFresh(
  q: Queryable,
  sum: Summing,
  o: IncrementalOptions,
  plan: Plan,
): Promise<Map<number, Sums>> {
  const parts = plan.parts.filter((p) => p.bucket === undefined);
  const byPart = await sumParts(q, sum, o, parts);
  return new Map(parts.map((p, i) => [plan.parts.indexOf(p), byPart[i] as Sums]));
}

/** Sums the complete buckets not kept yet (new, or all of them on a first run) in the kept state; returns them. */
async function sumNewBuckets(
  q: Queryable,
  sum: Summing,
  o: IncrementalOptions,
  plan: Plan,
  buckets: Map<number, Sums>,
  keptMs: number,
): Promise<Set<number>> {
  const parts = plan.parts.filter((p) => p.bucket !== undefined && !buckets.has(p.bucket));
  const byPart = await sumParts(q, sum, o, parts, keptMs);
  parts.forEach((p, i) => {
    buckets.set(p.bucket as number, byPart[i] as Sums);
  });
  return new Set(parts.map((p) => p.bucket as number));
}

async function sumParts(
  q: Queryable,
  sum: Summing,
  o: IncrementalOptions,
  parts: Part[],
  labelsBeforeMs?: number,
): Promise<Sums[]> {
  const out = parts.map((): Sums => new Map());
  if (parts.length === 0) return out;
  const st = partsStatement(sum, parts, o.bucketMs, labelsBeforeMs);
  for (const row of await readCapped(q, st))
    add(sum.task, out[Number(row.part)] as Sums, partRow(sum.task, row), 1);
  return out;
}

/**
 * Labels stamped since the kept state (or, on a first run, since this run's): moves each kept bucket from the
 * last kept state to this run's (adding `kept` less `before`; a bucket summed on this run is there already) and
 * returns what the labels younger than settle add to each complete bucket on this run only (`all` less `kept`).
 */
async function applyRelabeled(
  q: Queryable,
  sum: Summing,
  o: IncrementalOptions,
  plan: Plan,
  s: {
    buckets: Map<number, Sums>;
    added: Set<number>;
    /** Filled with the kept buckets this run moved. */
    moved: Set<number>;
    keptMs: number;
    beforeMs: number | undefined;
  },
): Promise<Map<number, Sums>> {
  const young = new Map<number, Sums>();
  const complete = plan.parts.flatMap((p) => (p.bucket === undefined ? [] : [p.bucket]));
  if (complete.length === 0) return young;
  const range = { first: Math.min(...complete), end: Math.max(...complete) + 1 };
  const labelsMs = {
    // From the older of the two states: after the clock went back, the buckets are all summed anew at keptMs,
    // and what the labels since then add must still reach this run.
    sinceMs: Math.min(s.beforeMs ?? s.keptMs, s.keptMs),
    ...(s.beforeMs === undefined ? {} : { beforeMs: s.beforeMs }),
    keptMs: s.keptMs,
  };
  const st = relabeledStatement(sum, range, o.bucketMs, labelsMs);
  for (const row of await readCapped(q, st)) {
    const bucket = Number(row.bucket);
    const r = partRow(sum.task, row);
    const into = (map: Map<number, Sums>) => {
      if (!map.has(bucket)) map.set(bucket, new Map());
      return map.get(bucket) as Sums;
    };
    const kept = s.buckets.get(bucket);
    const moves = kept !== undefined && !s.added.has(bucket);
    if (moves && row.state !== 'all') s.moved.add(bucket);
    if (row.state === 'before' && moves) add(sum.task, kept, r, -1);
    if (row.state === 'kept') {
      if (moves) add(sum.task, kept, r, 1);
      add(sum.task, into(young), r, -1);
    }
    if (row.state === 'all') add(sum.task, into(young), r, 1);
  }
  return young;
}

function partRow(task: IncrementalTask<unknown>, row: Row): PartRow {
  return {
    v: row.v === null || row.v === undefined ? null : String(row.v),
    b: row.b === null || row.b === undefined ? null : task.textBins ? String(row.b) : Number(row.b),
    // NULL: an aggregate over no rows (a minimum, say), which is the task's empty value.
    sums: task.names.map((name, j) => toSampleValue(row[name], name) ?? (task.empty[j] as number)),
  };
}

/** Adds (sign 1) or takes away (-1) a row's sums into the row of its version and bin. */
function add(task: IncrementalTask<unknown>, into: Sums, r: PartRow, sign: 1 | -1): void {
  const key = rowKey(r);
  const row = into.get(key) ?? { v: r.v, b: r.b, sums: [...task.empty] };
  task.combine(row.sums, r.sums, sign);
  into.set(key, row);
}

/**
 * Each window's values per version (the task's), from the parts inside it: the kept rows of every bin with a
 * value (rows of bin NULL only say that their version is there) combined over the parts, then task.value.
 */
function mergeWindows<V>(
  m: ModelContext,
  task: IncrementalTask<V>,
  plan: Plan,
  kept: { buckets: Map<number, Sums>; young: Map<number, Sums>; fresh: Map<number, Sums> },
  shift: number,
): { values: Map<string, V>; versions: Set<string> } {
  const byVersion = m.predictions.versionSql !== undefined;
  const versions = new Set<string>(byVersion ? [] : ['']);
  const values = new Map<string, V>();
  plan.starts.forEach((start, wi) => {
    // version -> bin -> sums
    const bins = new Map<string, Map<number | string, number[]>>();
    plan.parts.forEach((part, i) => {
      if (part.lo.at < start) return;
      const sources =
        part.bucket === undefined
          ? [kept.fresh.get(i)]
          : [kept.buckets.get(part.bucket), kept.young.get(part.bucket)];
      for (const source of sources) {
        for (const r of source?.values() ?? []) {
          const version = byVersion ? (r.v ?? '') : '';
          versions.add(version);
          if (!bins.has(version)) bins.set(version, new Map());
          if (r.b === null) continue;
          const into = bins.get(version) as Map<number | string, number[]>;
          const sums = into.get(r.b) ?? [...task.empty];
          task.combine(sums, r.sums, 1);
          into.set(r.b, sums);
        }
      }
    });
    for (const [version, perBin] of bins) values.set(countsKey(wi, version), task.value(perBin, shift));
  });
  return { values, versions };
}

/**
 * When the check last recomputed in full, and last agreed with it, and how many buckets it keeps: one series per
 * incremental check of the model
 * (this one's, the labels check's, the prediction drift's: prediction-drift-incremental.ts).
 */
export function incrementalStamps(m: ModelContext, check: string, state: State): Sample[] {
  const at = (us: number | undefined, name: string): Sample[] =>
    us === undefined ? [] : [{ name, labels: { model: m.name, check }, value: us / 1e6 }];
  return [
    ...at(state.full?.atUs, modelFamilies.modelRecomputed.name),
    ...at(state.reconciledUs, modelFamilies.modelReconciled.name),
    {
      name: modelFamilies.modelKeptBuckets.name,
      labels: { model: m.name, check },
      value: state.buckets.size,
    },
  ];
}
