import type { Sample } from '../../../metrics/types.js';
import type { Queryable, Row } from '../../../warehouse/types.js';
import type { Check, CheckMemory } from '../../types.js';
import { toSampleValue } from '../../values.js';
import { type Counts, classificationResult, countsKey, countsOf } from '../classification.js';
import { classificationStatement } from '../classification-sql.js';
import { type ModelContext, modelCheck } from '../context.js';
import { modelFamilies } from '../families.js';
import { persist, recall, rowKey } from './memory.js';
import { PART_SUMS, partsStatement, relabeledStatement } from './parts-sql.js';
import { type BucketOptions, type Part, type Plan, planRun } from './plan.js';
import type { PartRow, State, Sums } from './state.js';

/**
 * The performance check of a binary classifier with `incremental` set: what a run costs grows with the rows
 * that arrived since the last run, not with the windows' length.
 *
 * Every metric but the AUC is a ratio of sums (classificationSums), and sums of disjoint rows add up. So the
 * check keeps, per complete time bucket (plan.ts), the sums of the bucket's predictions per version and
 * calibration bin, with the labels stamped before the last run's now() - settle: the KEPT state, the same for
 * every bucket. A run then reads only:
 * - the fresh parts (each window's edge, the head), with every label, as the full statement would;
 * - the buckets that became complete since the last run, with the labels of the kept state;
 * - the predictions of kept buckets whose key got a label stamped since the last kept state: from them, what
 *   the labels stamped since change (moving the kept state forward), and what the labels younger than settle
 *   add on this run only. A late label costs its own prediction, not its bucket.
 * The AUC cannot be merged (it ranks every score of the window against every other), so it stays exact: the
 * full statement (classificationStatement, what a check without `incremental` runs) runs on its own slower
 * schedule, every `fullIntervalMs`, and the AUC and its standard error are exported as of that run. That run
 * also reconciles: its sums must equal the merged ones in the same snapshot, else the kept buckets are dropped
 * and summed again on the next run. Rows that change in place, and predictions or labels stamped more than
 * `settle` before they are written, are caught there and nowhere else.
 *
 * The buckets live in the check object (kept across a reload that does not change the model: adopt) and, in
 * a running exporter, in the state store (memory.ts): a restart, or another replica taking the check over,
 * starts from the last saved buckets instead of summing every window again.
 */

export interface IncrementalOptions extends BucketOptions {
  /** How often every window is recomputed in full: the AUC's schedule and the reconciliation's. */
  fullIntervalMs: number;
}

/** What each check remembers, for adopt: a reload that keeps the model's definition keeps its buckets. */
const states = new WeakMap<Check, State>();

/** Relative tolerance of the reconciliation: sums of the same rows in another order differ in the last bits. */
const TOLERANCE = 1e-9;

export function buildIncrementalClassificationCheck(m: ModelContext, o: IncrementalOptions): Check {
  const full = classificationStatement(m);
  const state: State = {
    buckets: new Map(),
    dirty: new Set(),
    dropped: new Set(),
    rewrite: false,
    unsaved: false,
  };
  const windowsMs = m.windows.map((w) => w.ms);
  const spec = { kind: 'classification', incremental: o, sql: full.text };
  const check = modelCheck(m, 'performance', spec, async (q) => {
    const nowUs = await clockOf(q, m);
    const plan = planRun(nowUs, windowsMs, o);
    const keptMs = Math.floor((nowUs - o.settleMs * 1000) / 1000);
    // The next kept state, built aside: a run that fails half-way leaves the last one as it was.
    const buckets = keptBuckets(state, plan, keptMs);
    const fresh = await sumFresh(q, m, o, plan);
    const added = await sumNewBuckets(q, m, o, plan, buckets, keptMs);
    const moved = new Set<number>();
    const young = await applyRelabeled(q, m, o, plan, {
      buckets,
      added,
      moved,
      keptMs,
      beforeMs: state.keptMs,
    });
    // What the store's copy lacks: buckets summed or moved on this run; everything after starting afresh.
    let rewrite = state.rewrite || (buckets.size === 0 && state.buckets.size > 0);
    const merged = mergeWindows(m, plan, buckets, young, fresh);
    let reconciled = state.reconciledUs;
    let counts = merged.counts;
    let versions = merged.versions;
    let lastFull = state.full;
    if (lastFull === undefined || nowUs - lastFull.atUs >= o.fullIntervalMs * 1000) {
      const exact = fullCounts(m, await q.query(full.text, full.params));
      if (agree(merged.counts, exact.counts)) reconciled = nowUs;
      else {
        buckets.clear();
        rewrite = true;
      }
      lastFull = { atUs: nowUs, counts: exact.counts };
      counts = exact.counts;
      versions = exact.versions;
    }
    const dirty = new Set([...state.dirty, ...added, ...moved]);
    const dropped = new Set([...state.dropped, ...[...state.buckets.keys()].filter((b) => !buckets.has(b))]);
    Object.assign(state, {
      buckets,
      keptMs,
      full: lastFull,
      reconciledUs: reconciled,
      dirty,
      dropped,
      rewrite,
    });
    state.unsaved = true;
    const result = classificationResult(m, counts, versions, lastFull.counts);
    return { samples: [...result.samples, ...timestamps(m, state)], skipped: result.skipped };
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
    // Outside the run's read-only transaction: the store may be the warehouse's own PGlite session (the demo),
    // and a warehouse transaction should not wait on another database anyway.
    beforeRun: () => recall(state, check.id, check.fingerprint),
    afterRun: () => persist(state, check.id, check.fingerprint),
  };
  // Keyed by the check the exporter holds (and hands to the next one's adopt), not by the inner one.
  states.set(incremental, state);
  return incremental;
}

/** The warehouse clock of this run's transaction, in µs: every statement of the run sees the same now(). */
async function clockOf(q: Queryable, m: ModelContext): Promise<number> {
  const rows = await q.query(`SELECT ${m.dialect.nowMicros} AS now_us`);
  const us = Number(rows[0]?.now_us);
  if (!Number.isSafeInteger(us))
    throw new Error(`expected the warehouse clock in µs, got ${String(rows[0]?.now_us)}`);
  return us;
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
  m: ModelContext,
  o: IncrementalOptions,
  plan: Plan,
): Promise<Map<number, Sums>> {
  const parts = plan.parts.filter((p) => p.bucket === undefined);
  const byPart = await sumParts(q, m, o, parts);
  return new Map(parts.map((p, i) => [plan.parts.indexOf(p), byPart[i] as Sums]));
}

/** Sums the complete buckets not kept yet (new, or all of them on a first run) in the kept state; returns them. */
async function sumNewBuckets(
  q: Queryable,
  m: ModelContext,
  o: IncrementalOptions,
  plan: Plan,
  buckets: Map<number, Sums>,
  keptMs: number,
): Promise<Set<number>> {
  const parts = plan.parts.filter((p) => p.bucket !== undefined && !buckets.has(p.bucket));
  const byPart = await sumParts(q, m, o, parts, keptMs);
  parts.forEach((p, i) => {
    buckets.set(p.bucket as number, byPart[i] as Sums);
  });
  return new Set(parts.map((p) => p.bucket as number));
}

async function sumParts(
  q: Queryable,
  m: ModelContext,
  o: IncrementalOptions,
  parts: Part[],
  labelsBeforeMs?: number,
): Promise<Sums[]> {
  const out = parts.map((): Sums => new Map());
  if (parts.length === 0) return out;
  const st = partsStatement(m, parts, o.bucketMs, labelsBeforeMs);
  for (const row of await q.query(st.text, st.params)) add(out[Number(row.part)] as Sums, partRow(row), 1);
  return out;
}

/**
 * Labels stamped since the kept state (or, on a first run, since this run's): moves each kept bucket from the
 * last kept state to this run's (adding `kept` less `before`; a bucket summed on this run is there already) and
 * returns what the labels younger than settle add to each complete bucket on this run only (`all` less `kept`).
 */
async function applyRelabeled(
  q: Queryable,
  m: ModelContext,
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
  const st = relabeledStatement(m, range, o.bucketMs, labelsMs);
  for (const row of await q.query(st.text, st.params)) {
    const bucket = Number(row.bucket);
    const r = partRow(row);
    const into = (map: Map<number, Sums>) => {
      if (!map.has(bucket)) map.set(bucket, new Map());
      return map.get(bucket) as Sums;
    };
    const kept = s.buckets.get(bucket);
    const moves = kept !== undefined && !s.added.has(bucket);
    if (moves && row.state !== 'all') s.moved.add(bucket);
    if (row.state === 'before' && moves) add(kept, r, -1);
    if (row.state === 'kept') {
      if (moves) add(kept, r, 1);
      add(into(young), r, -1);
    }
    if (row.state === 'all') add(into(young), r, 1);
  }
  return young;
}

function partRow(row: Row): PartRow {
  return {
    v: row.v === null || row.v === undefined ? null : String(row.v),
    b: row.b === null || row.b === undefined ? null : Number(row.b),
    sums: PART_SUMS.map((name) => toSampleValue(row[name], name) ?? 0),
  };
}

/** Adds `sign` times a row's sums into the rows of its version and bin. */
function add(into: Sums, r: PartRow, sign: 1 | -1): void {
  const key = rowKey(r);
  const row = into.get(key) ?? { v: r.v, b: r.b, sums: PART_SUMS.map(() => 0) };
  r.sums.forEach((x, j) => {
    row.sums[j] = (row.sums[j] as number) + sign * x;
  });
  into.set(key, row);
}

/**
 * Each window's Counts per version from the parts inside it: the sums over the scored rows' bins, and the
 * calibration numerator, sum over bins of |sum of scores - positives|, as the full statement takes it. The AUC
 * numerator stays 0: the AUC comes from the last full recomputation.
 */
function mergeWindows(
  m: ModelContext,
  plan: Plan,
  buckets: Map<number, Sums>,
  young: Map<number, Sums>,
  fresh: Map<number, Sums>,
): { counts: Map<string, Counts>; versions: Set<string> } {
  const byVersion = m.predictions.versionSql !== undefined;
  const versions = new Set<string>(byVersion ? [] : ['']);
  const counts = new Map<string, Counts>();
  const nPos = PART_SUMS.indexOf('n_pos');
  const scoreSum = PART_SUMS.indexOf('score_sum');
  plan.starts.forEach((start, wi) => {
    // version -> bin -> sums
    const bins = new Map<string, Map<number, number[]>>();
    plan.parts.forEach((part, i) => {
      if (part.lo.at < start) return;
      const sources =
        part.bucket === undefined ? [fresh.get(i)] : [buckets.get(part.bucket), young.get(part.bucket)];
      for (const source of sources) {
        for (const r of source?.values() ?? []) {
          const version = byVersion ? (r.v ?? '') : '';
          versions.add(version);
          if (!bins.has(version)) bins.set(version, new Map());
          if (r.b === null) continue;
          const into = bins.get(version) as Map<number, number[]>;
          const sums = into.get(r.b) ?? PART_SUMS.map(() => 0);
          r.sums.forEach((x, j) => {
            sums[j] = (sums[j] as number) + x;
          });
          into.set(r.b, sums);
        }
      }
    });
    for (const [version, perBin] of bins) {
      const total = PART_SUMS.map((_, j) => [...perBin.values()].reduce((a, s) => a + (s[j] as number), 0));
      let calibrationNum = 0;
      for (const s of perBin.values())
        calibrationNum += Math.abs((s[scoreSum] as number) - (s[nPos] as number));
      const row: Row = Object.fromEntries(PART_SUMS.map((name, j) => [name, total[j]]));
      counts.set(countsKey(wi, version), countsOf({ ...row, auc_num: 0, calibration_num: calibrationNum }));
    }
  });
  return { counts, versions };
}

/** The full statement's rows as Counts per (window, version), and the versions it saw. */
function fullCounts(m: ModelContext, rows: Row[]): { counts: Map<string, Counts>; versions: Set<string> } {
  const byVersion = m.predictions.versionSql !== undefined;
  const counts = new Map<string, Counts>();
  const versions = new Set<string>(byVersion ? [] : ['']);
  for (const row of rows) {
    const version = byVersion && row.v !== null && row.v !== undefined ? String(row.v) : '';
    versions.add(version);
    counts.set(countsKey(Number(row.wi), version), countsOf(row));
  }
  return { counts, versions };
}

/** Whether the merged buckets and the full recomputation agree on every sum but the AUC's (which is not kept). */
function agree(merged: Map<string, Counts>, full: Map<string, Counts>): boolean {
  const keys = new Set([...merged.keys(), ...full.keys()]);
  for (const key of keys) {
    const a = merged.get(key);
    const b = full.get(key);
    // A (window, version) with no scored rows is a zero row in the full statement and absent from the merge.
    const fields = Object.keys(a ?? b ?? {}) as Array<keyof Counts>;
    for (const f of fields) {
      if (f === 'aucNum') continue;
      const x = a?.[f] ?? 0;
      const y = b?.[f] ?? 0;
      if (Math.abs(x - y) > TOLERANCE * Math.max(1, Math.abs(x), Math.abs(y))) return false;
    }
  }
  return true;
}

function timestamps(m: ModelContext, state: State): Sample[] {
  const at = (us: number | undefined, name: string): Sample[] =>
    us === undefined ? [] : [{ name, labels: { model: m.name }, value: us / 1e6 }];
  return [
    ...at(state.full?.atUs, modelFamilies.modelRecomputed.name),
    ...at(state.reconciledUs, modelFamilies.modelReconciled.name),
  ];
}
