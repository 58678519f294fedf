import type { Sample } from '../../metrics/types.js';
import type { Queryable, Row } from '../../warehouse/types.js';
import type { Check, CheckResult } from '../types.js';
import { type ModelContext, modelCheck } from './context.js';
import { modelFamilies } from './families.js';
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
 * every window. PSI is taken here from the handful of counts. A window or reference without a value exports
 * no PSI: skipped `empty_window` or `empty_reference`, never NaN or 0.
 */

/** Floor of the proportions, so that a bin empty on one side keeps PSI finite. */
const PSI_FLOOR = 1e-4;

export interface PredictionDriftOptions {
  /** How often the reference is recomputed, in ms. */
  intervalMs: number;
  /** The clock that ages the cached reference (default Date.now; PGlite's now() follows Date.now). */
  clock?: () => number;
}

interface Reference {
  at: number;
  edges: number[];
  /** Count per bin, bin 0 first (edges.length + 1 bins). */
  counts: number[];
  n: number;
}

function count(v: unknown, what: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a count for ${what}, got ${String(v)}`);
  return n;
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
    counts[b] = count(r.n, `reference bin ${b}`);
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
  const spec = { kind: 'prediction_drift', reference, intervalMs: opts.intervalMs };
  return modelCheck(m, 'prediction_drift', spec, async (q) => {
    if (cached === undefined || clock() - cached.at >= opts.intervalMs) {
      cached = await computeReference(q, refStatement, clock());
    }
    return runCurrent(q, m, cached);
  });
}

async function runCurrent(q: Queryable, m: ModelContext, ref: Reference): Promise<CheckResult> {
  const samples: Sample[] = [];
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  // No reference distribution: nothing to compare with, and no need to scan the windows.
  if (ref.n === 0) {
    for (const _ of m.windows) skip('empty_reference');
    return { samples, skipped };
  }
  const st = currentStatement(m, ref.edges);
  const rows: Row[] = await q.query(st.text, st.params);
  const bins = ref.counts.length;
  const cur = m.windows.map(() => new Array<number>(bins).fill(0));
  for (const r of rows) {
    const b = Number(r.b);
    if (!(b >= 0 && b < bins)) throw new Error(`bin ${String(r.b)} out of range`);
    m.windows.forEach((_, i) => {
      (cur[i] as number[])[b] = count(r[`n${i}`], `bin ${b}`);
    });
  }
  m.windows.forEach((w, i) => {
    const counts = cur[i] as number[];
    if (counts.every((c) => c === 0)) {
      skip('empty_window');
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
