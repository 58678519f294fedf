import type { Queryable } from '../../warehouse/types.js';
import type { IncrementalOptions } from '../buckets/config.js';
import { cutBound } from '../buckets/cuts-sql.js';
import { keptWindowCounts, shapeKey } from '../buckets/kept-counts.js';
import type { Part } from '../buckets/plan.js';
import type { State } from '../buckets/state.js';
import type { DatasetContext } from './context.js';
import type { BinnedFeature, Source } from './drift-sql.js';

/**
 * The drift check's current-window bin counts kept per time bucket (datasets[].incremental): a feature's count
 * per bin over a window is the sum of its counts over the window's parts, so complete buckets are counted once
 * and kept, and a run counts the window's edge, the head and the buckets completed since (one statement per part,
 * each a range of the timestamp). The bins are the reference's: when a new reference moves them (a sliding
 * reference window does, on every reference_interval), the kept counts no longer fit and every bucket is counted
 * again. Every full_interval the whole window is counted too, exported, and compared with the merged counts.
 */

/** The bin counts of `features` over `src` (drift.ts's binCounts), per feature, bin 0 first. */
type CountBins = (src: Source, features: BinnedFeature[]) => Promise<number[][]>;

/** The current window's counts per feature: merged from the parts, or the full count's when one ran. */
export async function keptBinCounts(
  q: Queryable,
  o: {
    ds: DatasetContext;
    current: Source;
    currentMs: number;
    incremental: IncrementalOptions;
    state: State;
  },
  features: BinnedFeature[],
  countBins: CountBins,
): Promise<number[][]> {
  const { ds, current, incremental } = o;
  const [counts] = await keptWindowCounts(q, {
    dialect: ds.dialect,
    state: o.state,
    incremental,
    windowsMs: [o.currentMs],
    width: features.reduce((n, f) => n + width(f), 0),
    shape: binsKey(features),
    full: async () => [(await countBins(current, features)).flat()],
    read: async (parts: Part[]) => {
      const out: number[][] = [];
      for (const p of parts) {
        const src = {
          ...current,
          from: cutBound(p.lo, incremental.bucketMs),
          to: cutBound(p.hi, incremental.bucketMs),
        };
        out.push((await countBins(src, features)).flat());
      }
      return out;
    },
  });
  return unflatten(counts as number[], features);
}

/** A feature's bins: one per edge or category, and one more (above the last edge; categories off the list). */
function width(f: BinnedFeature): number {
  return (f.kind === 'numeric' ? f.edges.length : f.categories.length) + 1;
}

function unflatten(flat: number[], features: BinnedFeature[]): number[][] {
  let at = 0;
  return features.map((f) => {
    const part = flat.slice(at, at + width(f));
    at += width(f);
    return part;
  });
}

/**
 * What the counts are taken over: the features' bins, nothing else (the reference's own counts change on every
 * reference_interval without moving a bin). A digest, as the store keeps it with the state.
 */
function binsKey(features: BinnedFeature[]): string {
  return shapeKey(features.map((f) => [f.name, f.kind === 'numeric' ? f.edges : f.categories]));
}
