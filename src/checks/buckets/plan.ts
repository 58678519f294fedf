/**
 * How one run of an incremental check cuts its windows into parts (pure: no SQL, no clock of its own).
 *
 * Time is cut into buckets of `bucketMs` from the epoch. A bucket is COMPLETE once it ends at or before
 * now() - settle: rows stamped inside it are no longer expected, so its sums are computed once and kept. Every
 * window [now() - w, now()) is then a union of disjoint parts: the complete buckets inside it, kept between
 * runs, and FRESH parts read on every run: the edge of the window (from its start to the first bucket boundary
 * after it) and the head (from the last complete bucket's end to now()), each split further where another
 * window starts inside it. So a run reads at most about one bucket per window plus the head, whatever the
 * windows' lengths.
 *
 * Points in time are microseconds since the epoch (exact in a double up to the year 2255), the warehouse
 * clock's resolution, so a window start that falls on a bucket boundary is recognized as such.
 */

/** A boundary between parts, and how a statement writes it. */
export interface Cut {
  /** Microseconds since the epoch. */
  at: number;
  /** The start of bucket `bucket`, bound as a timestamp; or now() - agoMs (now() itself for 0). */
  sql: { bucket: number } | { agoMs: number };
}

/** [lo, hi): a complete bucket (`bucket` set: its index) or a fresh part read on every run. */
export interface Part {
  lo: Cut;
  hi: Cut;
  bucket?: number;
}

export interface Plan {
  /** Every part of the widest window, in time order, disjoint and adjacent. */
  parts: Part[];
  /** Each window's start (µs), in the order of the windows given: a part is in window i iff lo.at >= starts[i]. */
  starts: number[];
  /** The first bucket that is not complete: complete buckets have indexes below it. */
  headBucket: number;
}

export interface BucketOptions {
  bucketMs: number;
  settleMs: number;
}

const US_PER_MS = 1000;

/** The parts of every window at `nowUs`, for window lengths `windowsMs` (any order). */
export function planRun(nowUs: number, windowsMs: readonly number[], o: BucketOptions): Plan {
  const bucketUs = o.bucketMs * US_PER_MS;
  const starts = windowsMs.map((w) => nowUs - w * US_PER_MS);
  const widest = Math.min(...starts);
  const headBucket = Math.floor((nowUs - o.settleMs * US_PER_MS) / bucketUs);
  const firstBucket = Math.ceil(widest / bucketUs);
  const cuts = new Map<number, Cut>();
  // Bucket boundaries first: a window start on a boundary is the same cut, bound once as the boundary.
  for (let k = firstBucket; k <= headBucket; k++)
    cuts.set(k * bucketUs, { at: k * bucketUs, sql: { bucket: k } });
  windowsMs.forEach((w, i) => {
    const at = starts[i] as number;
    if (!cuts.has(at)) cuts.set(at, { at, sql: { agoMs: w } });
  });
  if (!cuts.has(nowUs)) cuts.set(nowUs, { at: nowUs, sql: { agoMs: 0 } });
  // Boundaries at or after now() (a settle of 0 on a boundary) bound nothing: the windows end at now().
  const sorted = [...cuts.values()].filter((c) => c.at <= nowUs).sort((a, b) => a.at - b.at);
  const parts: Part[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const lo = sorted[i] as Cut;
    const hi = sorted[i + 1] as Cut;
    const complete =
      'bucket' in lo.sql &&
      'bucket' in hi.sql &&
      hi.sql.bucket === lo.sql.bucket + 1 &&
      hi.sql.bucket <= headBucket;
    parts.push(complete && 'bucket' in lo.sql ? { lo, hi, bucket: lo.sql.bucket } : { lo, hi });
  }
  return { parts, starts, headBucket };
}

/** Parts that touch end to end merged into runs: the ranges a statement's WHERE reads. */
export function runsOf(parts: readonly Part[]): Array<{ lo: Cut; hi: Cut }> {
  const runs: Array<{ lo: Cut; hi: Cut }> = [];
  for (const p of [...parts].sort((a, b) => a.lo.at - b.lo.at)) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.hi.at === p.lo.at) last.hi = p.hi;
    else runs.push({ lo: p.lo, hi: p.hi });
  }
  return runs;
}
