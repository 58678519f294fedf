import type { Sample } from '../../metrics/types.js';
import type { Queryable } from '../../warehouse/types.js';
import type { IncrementalOptions } from '../buckets/config.js';
import { keepingState, newState } from '../buckets/kept-counts.js';
import type { State } from '../buckets/state.js';
import type { Check, CheckResult } from '../types.js';
import { toCount } from '../values.js';
import { type ModelContext, modelCheck } from './context.js';
import { modelFamilies } from './families.js';
import { incrementalStamps } from './incremental/check.js';
import { keptDriftCounts } from './prediction-drift-incremental.js';
import { currentStatement, referenceStatement } from './prediction-drift-sql.js';
import { type ModelReference, referenceSource } from './reference.js';

/**
 * Prediction drift of a model: PSI of the distribution of its scores (classification) or predicted values
 * (regression) in each of its windows against a reference, over all versions. Bins come from the reference
 * (edges at its 10th..90th percentiles, equal edges collapsed; x goes to bin #{e_i < x}); proportions are
 * floored at 1e-4; PSI = sum over bins of (p_cur - p_ref) ln(p_cur / p_ref). docs/drift.md, "Prediction drift".
 *
 * The reference (edges and counts, one statement) is computed on the first run and every `intervalMs`
 * after, and cached in the check object; every run is then one scan of the widest window for the counts of
 * every window, or, with the model's `incremental` set, counts kept per time bucket
 * (prediction-drift-incremental.ts). PSI is taken here from the handful of counts. A window or reference without
 * a value exports no PSI: skipped `empty_window` or `empty_reference`, never NaN or 0.
 */

/** Floor of the proportions, so that a bin empty on one side keeps PSI finite. */
const PSI_FLOOR = 1e-4;

export interface PredictionDriftOptions {
  /** How often the reference is recomputed, in ms. */
  intervalMs: number;
  /** The clock that ages the cached reference (default Date.now; PGlite's now() follows Date.now). */
  clock?: () => number;
  /** The model's `incremental`: the windows' counts kept per time bucket. */
  incremental?: IncrementalOptions | undefined;
}

interface Reference {
  at: number;
  edges: number[];
  /** Count per bin, bin 0 first (edges.length + 1 bins). */
  counts: number[];
  n: number;
}

function edgesOf(v: unknown): number[] {
  if (!Array.isArray(v)) throw new Error(`expected the reference edges as float8[], got ${String(v)}`);
  return v.map(Number);
}

async function computeReference(q: Queryable, st: { text: string; params: unknown[] }, at: number) {
  const rows = await q.query(st.text, st.params);
  const edges = edgesOf(rows[0]?.edges ?? []);
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const r of rows) {
    if (r.b === null || r.b === undefined) continue;
    const b = Number(r.b);
    if (!(b >= 0 && b < counts.length)) throw new Error(`reference bin ${String(r.b)} out of range`);
    counts[b] = toCount(r.n, `reference bin ${b}`);
  }
  return { at, edges, counts, n: counts.reduce((a, c) => a + c, 0) } satisfies Reference;
}

/** PSI of two histograms over the same bins; both hold at least one value. */
export function psi(ref: readonly number[], cur: readonly number[]): number {
  const nRef = ref.reduce((a, c) => a + c, 0);
  const nCur = cur.reduce((a, c) => a + c, 0);
  let sum = 0;
  for (let i = 0; i < ref.length; i++) {
    const pr = Math.max((ref[i] as number) / nRef, PSI_FLOOR);
    const pc = Math.max((cur[i] as number) / nCur, PSI_FLOOR);
    sum += (pc - pr) * Math.log(pc / pr);
  }
  return sum;
}

export function buildPredictionDriftCheck(
  m: ModelContext,
  reference: ModelReference,
  opts: PredictionDriftOptions,
): Check {
  const clock = opts.clock ?? Date.now;
  const refStatement = referenceStatement(referenceSource(m, reference), m.dialect);
  let cached: Reference | undefined;
  const incremental = opts.incremental;
  const state: State = newState();
  const spec = { kind: 'prediction_drift', reference, intervalMs: opts.intervalMs, incremental };
  const check = modelCheck(m, 'prediction_drift', spec, async (q) => {
    if (cached === undefined || clock() - cached.at >= opts.intervalMs) {
      cached = await computeReference(q, refStatement, clock());
    }
    // No reference distribution: nothing to compare with, and no need to read the windows.
    if (cached.n === 0) {
      const skipped: Record<string, number> = {};
      skipped.empty_reference = m.windows.length;
      return { samples: [], skipped };
    }
    const ref = cached;
    if (incremental === undefined) return psiResult(m, ref, await windowCounts(q, m, ref.edges));
    const counts = await keptDriftCounts(q, { m, edges: ref.edges, incremental, state }, windowCounts);
    const result = psiResult(m, ref, counts);
    return { ...result, samples: [...result.samples, ...incrementalStamps(m, check.id, state)] };
  });
  return incremental === undefined ? check : keepingState(check, state);
}

/** Each window's count per bin of the reference's `edges` (bin 0 first), from one scan of the widest window. */
async function windowCounts(q: Queryable, m: ModelContext, edges: readonly number[]): Promise<number[][]> {
  const st = currentStatement(m, edges);
  const bins = edges.length + 1;
  const cur = m.windows.map(() => new Array<number>(bins).fill(0));
  for (const r of await q.query(st.text, st.params)) {
    const b = Number(r.b);
    if (!(b >= 0 && b < bins)) throw new Error(`bin ${String(r.b)} out of range`);
    m.windows.forEach((_, i) => {
      (cur[i] as number[])[b] = toCount(r[`n${i}`], `bin ${b}`);
    });
  }
  return cur;
}

/** PSI of each window's counts against the reference's; a window without a value is skipped. */
function psiResult(m: ModelContext, ref: Reference, cur: number[][]): CheckResult {
  const samples: Sample[] = [];
  const skipped: Record<string, number> = {};
  m.windows.forEach((w, i) => {
    const counts = cur[i] as number[];
    if (counts.every((c) => c === 0)) {
      skipped.empty_window = (skipped.empty_window ?? 0) + 1;
      return;
    }
    samples.push({
      name: modelFamilies.modelPredictionPsi.name,
      labels: { model: m.name, window: w.label },
      value: psi(ref.counts, counts),
    });
  });
  return { samples, skipped };
}
