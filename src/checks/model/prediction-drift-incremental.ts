import type { Queryable } from '../../warehouse/types.js';
import type { IncrementalOptions } from '../buckets/config.js';
import { keptWindowCounts, shapeKey } from '../buckets/kept-counts.js';
import type { Part } from '../buckets/plan.js';
import type { State } from '../buckets/state.js';
import { toCount } from '../values.js';
import type { ModelContext } from './context.js';
import { partsStatement } from './prediction-drift-sql.js';

/**
 * A model's prediction-drift counts kept per time bucket (the model's `incremental`): a window's count per bin is
 * the sum of its parts' counts, so complete buckets are counted once and kept, and a run counts the windows'
 * edges, the head and the buckets completed since, in one statement grouped by the part. The bins are the
 * reference's: a new reference that moves an edge (a sliding reference does, on every reference_interval) makes
 * every bucket count again; one with the same edges keeps them. Every full_interval every window is counted in
 * full too (the statement without buckets), exported, and compared with the merged counts: on a difference the
 * buckets are dropped and counted again on the next run.
 */

/** Each window's counts per bin (bin 0 first), read in full. */
type WindowCounts = (q: Queryable, m: ModelContext, edges: readonly number[]) => Promise<number[][]>;

/** Each window's counts per bin: merged from the parts, or the full count's when one ran. */
export function keptDriftCounts(
  q: Queryable,
  o: { m: ModelContext; edges: readonly number[]; incremental: IncrementalOptions; state: State },
  full: WindowCounts,
): Promise<number[][]> {
  const { m, edges, incremental } = o;
  return keptWindowCounts(q, {
    dialect: m.dialect,
    state: o.state,
    incremental,
    windowsMs: m.windows.map((w) => w.ms),
    width: edges.length + 1,
    // What the counts are taken over: the reference's edges.
    shape: shapeKey(edges),
    full: () => full(q, m, edges),
    read: (parts) => readParts(q, m, edges, parts, incremental),
  });
}

/** Each part's count per bin, in the order of `parts`. */
async function readParts(
  q: Queryable,
  m: ModelContext,
  edges: readonly number[],
  parts: readonly Part[],
  incremental: IncrementalOptions,
): Promise<number[][]> {
  const out = parts.map(() => new Array<number>(edges.length + 1).fill(0));
  if (parts.length === 0) return out;
  const st = partsStatement(m, edges, parts, incremental.bucketMs);
  for (const r of await q.query(st.text, st.params)) {
    const part = out[Number(r.part)];
    const b = Number(r.b);
    if (part === undefined || !(b >= 0 && b <= edges.length))
      throw new Error(`part ${String(r.part)} bin ${String(r.b)} out of range`);
    part[b] = toCount(r.n, `part ${String(r.part)} bin ${b}`);
  }
  return out;
}
