/**
 * The thresholds that let `width_bucket(x, thresholds)` (a binary search in C over a float8[]) give the drift
 * check's numeric bin #{e_i < x} directly, with no equality test per row.
 *
 * width_bucket(x, t) counts the thresholds t_j <= x. For float8, e < x holds exactly when nextUp(e) <= x, where
 * nextUp(e) is the smallest float8 above e: nothing lies strictly between them. So with t_j = nextUp(e_j),
 * width_bucket counts exactly the edges strictly below x, ties included (x = e_j is not above e_j).
 *
 * Postgres orders NaN above every float8 (and equal to itself), which gives the special edges:
 * - e = +Infinity: only NaN is above it, so its threshold is NaN (NaN <= x only for x = NaN);
 * - e = NaN: nothing is above it, so it gets no threshold (the bin above it stays empty, as before);
 * - x = NaN: every threshold is <= NaN, so NaN lands in the last bin, as #{e_i < NaN} says.
 */

/** The smallest float8 above x (+0 and -0 alike give the smallest subnormal); NaN for +Infinity and NaN. */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Number.POSITIVE_INFINITY) return Number.NaN;
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  // IEEE 754: for a positive float the next one up has the next bit pattern; for a negative one, the previous.
  view.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

/** width_bucket thresholds for the distinct, sorted edges: nextUp of each, NaN edges dropped, NaN last. */
export function strictThresholds(edges: readonly number[]): number[] {
  const t = edges.filter((e) => !Number.isNaN(e)).map(nextUp);
  const finite = t.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return t.some(Number.isNaN) ? [...finite, Number.NaN] : finite;
}
