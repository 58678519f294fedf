import { createHash } from 'node:crypto';
import type { Dialect } from '../../sql/dialect.js';
import type { Queryable } from '../../warehouse/types.js';
import type { Check, CheckMemory } from '../types.js';
import { warehouseClockUs } from './clock.js';
import type { IncrementalOptions } from './config.js';
import { persist, recall, rowKey } from './memory.js';
import { type Part, type Plan, planRun } from './plan.js';
import type { State, Sums } from './state.js';

/**
 * Counts kept per complete bucket for the checks whose rows carry no label (a dataset's scan and its drift bins):
 * a bucket is counted once, when complete, and kept as one row of numbers; a run counts the parts it does not keep
 * (the windows' edges, the head, buckets completed since) and merges. The model's incremental check keeps more
 * (versions, bins, label states: ../model/incremental/check.ts) over the same plan, state and store.
 */

/** The key of the one row a bucket holds, in the store's layout of a bucket (state.ts). */
const ROW = rowKey({ v: null, b: 0 });

export function newState(): State {
  return { buckets: new Map(), dirty: new Set(), dropped: new Set(), rewrite: false, unsaved: false };
}

/** Whether this run recomputes in full: the first one, and then every fullIntervalMs. */
export function fullDue(state: State, nowUs: number, o: IncrementalOptions): boolean {
  return state.full === undefined || nowUs - state.full.atUs >= o.fullIntervalMs * 1000;
}

export interface KeptRun {
  /** Part i of the plan's values: kept, or counted on this run. */
  partAt(i: number): readonly number[];
  /**
   * Ends the run: with a full recomputation (`agreed`: whether the merged values equalled it), the buckets stay
   * when they agreed (reconciled now) and are dropped otherwise, to be counted again on the next run.
   */
  commit(nowUs: number, agreed?: boolean): void;
}

/**
 * Counts the plan's parts that `state` does not keep (`read`: each part's values, in order) and returns every
 * part's values. `shape` names what the counts are taken over (columns, bins): kept buckets of another shape are
 * counted afresh. Nothing in `state` changes until commit, so a run that fails half-way leaves it as it was.
 */
export async function countParts(
  state: State,
  plan: Plan,
  shape: string,
  read: (parts: Part[]) => Promise<number[][]>,
): Promise<KeptRun> {
  const buckets = new Map<number, Sums>();
  if (shape === state.shape) {
    for (const p of plan.parts) {
      const kept = p.bucket === undefined ? undefined : state.buckets.get(p.bucket);
      if (kept !== undefined) buckets.set(p.bucket as number, kept);
    }
  }
  const toRead = plan.parts.filter((p) => p.bucket === undefined || !buckets.has(p.bucket));
  const values = await read(toRead);
  const fresh = new Map<number, number[]>();
  toRead.forEach((p, i) => {
    const v = values[i] as number[];
    if (p.bucket === undefined) fresh.set(plan.parts.indexOf(p), v);
    else buckets.set(p.bucket, new Map([[ROW, { v: null, b: 0, sums: v }]]));
  });
  const added = toRead.flatMap((p) => (p.bucket === undefined ? [] : [p.bucket]));
  return {
    partAt(i) {
      const p = plan.parts[i] as Part;
      if (p.bucket === undefined) return fresh.get(i) as number[];
      return (buckets.get(p.bucket) as Sums).get(ROW)?.sums as number[];
    },
    commit(nowUs, agreed) {
      let rewrite = state.rewrite || shape !== state.shape;
      let reconciled = state.reconciledUs;
      if (agreed === true) reconciled = nowUs;
      if (agreed === false) {
        buckets.clear();
        rewrite = true;
      }
      Object.assign(state, {
        buckets,
        shape,
        full: agreed === undefined ? state.full : { atUs: nowUs, values: new Map() },
        reconciledUs: reconciled,
        dirty: new Set([...state.dirty, ...added.filter((b) => buckets.has(b))]),
        dropped: new Set([...state.dropped, ...[...state.buckets.keys()].filter((b) => !buckets.has(b))]),
        rewrite,
        unsaved: true,
      });
    },
  };
}

/**
 * Counts over windows that all end at now(), kept per bucket, for the checks whose values are such counts and
 * nothing else (a dataset's drift bins, a model's prediction drift bins): each window's counts (`width` numbers),
 * merged from the parts of the run's plan (`read`: each part's counts, in order), or counted in full (`full`:
 * every window's, in the order of `windowsMs`) when a full count is due, which the merged counts are then
 * compared with. `shape` names what the counts are taken over (shapeKey): kept buckets of another are counted
 * afresh.
 */
export async function keptWindowCounts(
  q: Queryable,
  o: {
    dialect: Dialect;
    state: State;
    incremental: IncrementalOptions;
    windowsMs: readonly number[];
    width: number;
    shape: string;
    full: () => Promise<number[][]>;
    read: (parts: Part[]) => Promise<number[][]>;
  },
): Promise<number[][]> {
  const nowUs = await warehouseClockUs(q, o.dialect);
  const plan = planRun(nowUs, o.windowsMs, o.incremental);
  const exact = fullDue(o.state, nowUs, o.incremental) ? await o.full() : undefined;
  // A bucket or two and the head: too little for parallel workers to pay off (the full count above keeps them).
  if (o.dialect.serialRest !== undefined) await q.query(o.dialect.serialRest);
  const run = await countParts(o.state, plan, o.shape, o.read);
  const merged = o.windowsMs.map(() => new Array<number>(o.width).fill(0));
  plan.parts.forEach((p, i) => {
    const counts = run.partAt(i);
    plan.starts.forEach((start, wi) => {
      if (p.lo.at < start) return;
      const into = merged[wi] as number[];
      counts.forEach((n, j) => {
        into[j] = (into[j] as number) + n;
      });
    });
  });
  const flat = merged.flat();
  run.commit(nowUs, exact === undefined ? undefined : exact.flat().every((n, j) => n === flat[j]));
  return exact ?? merged;
}

/** A digest of what kept counts are taken over (bins, edges), as the store keeps it with the state. */
export function shapeKey(what: unknown): string {
  return createHash('sha256').update(JSON.stringify(what)).digest('hex');
}

/** What each check remembers, for adopt: a reload that keeps the check's definition keeps its buckets. */
const states = new WeakMap<Check, State>();

/**
 * `check` keeping `state`: carried over a reload that keeps its definition (adopt), read from the state store
 * before each run and saved after, outside the run's read-only transaction (the store may be the warehouse's
 * own PGlite session, as in the demo, and a warehouse transaction should not wait on another database anyway).
 */
export function keepingState(check: Check, state: State): Check {
  const out: Check = {
    ...check,
    adopt(previous: Check) {
      const kept = states.get(previous);
      if (kept !== undefined) Object.assign(state, kept);
    },
    remember(memory: CheckMemory) {
      state.memory = memory;
    },
    beforeRun: () => recall(state, check.id, check.fingerprint),
    afterRun: () => persist(state, check.id, check.fingerprint),
  };
  // Keyed by the check the exporter holds (and hands to the next one's adopt), not by the inner one.
  states.set(out, state);
  return out;
}
