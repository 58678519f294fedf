/**
 * Drift statistics in plain TypeScript, from raw samples: the independent reference ("oracle") the tests
 * compare the drift check against, and the subject of the property tests.
 *
 * NOT used by the check itself. The check (drift.ts, drift-sql.ts) computes edges, bin counts and the
 * Kolmogorov-Smirnov statistic in SQL, and PSI and JS from the bin counts SQL returns. Keeping this module
 * out of that path is the point: a test that compared the SQL path with itself would prove nothing. Do not
 * import it from drift.ts or drift-sql.ts.
 */

/** The floor applied to proportions in PSI, so an empty bin does not make the index infinite. */
export const PSI_FLOOR = 1e-4;

/**
 * Postgres' `percentile_cont(p) WITHIN GROUP (ORDER BY x)` over float8, re-implemented from its definition:
 * position h = p * (n - 1) in the sorted values, linear interpolation between floor(h) and ceil(h) as
 * lo + (h - floor(h)) * (hi - lo). `sorted` must be sorted ascending and non-empty.
 */
export function percentileCont(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentileCont of an empty sample');
  const h = p * (sorted.length - 1);
  const first = Math.floor(h);
  const second = Math.ceil(h);
  const lo = sorted[first] as number;
  if (second === first) return lo;
  const hi = sorted[second] as number;
  return lo + (h - first) * (hi - lo);
}

/** Bin edges e_1..e_(k-1) = percentile_cont(i/k) of the sample, sorted, equal edges collapsed into one. */
export function binEdges(sample: readonly number[], k: number): number[] {
  const sorted = [...sample].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let i = 1; i < k; i++) edges.push(percentileCont(sorted, i / k));
  edges.sort((a, b) => a - b);
  return edges.filter((e, i) => i === 0 || e !== edges[i - 1]);
}

/** The bin of x: how many edges are strictly below it (0..edges.length). Linear on purpose: no cleverness. */
export function binOf(edges: readonly number[], x: number): number {
  let n = 0;
  for (const e of edges) if (e < x) n++;
  return n;
}

/** Counts per bin (length edges.length + 1) of a numeric sample. */
export function numericCounts(edges: readonly number[], sample: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of sample) counts[binOf(edges, x)] = (counts[binOf(edges, x)] as number) + 1;
  return counts;
}

/**
 * The categories of a categorical feature: the `max` most frequent in the reference, ties broken by the
 * value in code-unit order (the check uses COLLATE "C"; both agree on ASCII).
 */
export function topCategories(reference: readonly string[], max: number): string[] {
  const freq = new Map<string, number>();
  for (const v of reference) freq.set(v, (freq.get(v) ?? 0) + 1);
  return [...freq.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, max)
    .map(([v]) => v);
}

/** Counts per bin of a categorical sample: bin 0 is `other`, bin i is categories[i - 1]. */
export function categoricalCounts(categories: readonly string[], sample: readonly string[]): number[] {
  const counts = new Array<number>(categories.length + 1).fill(0);
  for (const v of sample) {
    const i = categories.indexOf(v) + 1;
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
}

function proportions(counts: readonly number[]): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => c / n);
}

/** PSI = sum((p_cur - p_ref) * ln(p_cur / p_ref)), proportions floored at 1e-4. Both samples non-empty. */
export function psi(refCounts: readonly number[], curCounts: readonly number[]): number {
  const r = proportions(refCounts);
  const c = proportions(curCounts);
  let sum = 0;
  r.forEach((pr0, i) => {
    const pr = Math.max(pr0, PSI_FLOOR);
    const pc = Math.max(c[i] as number, PSI_FLOOR);
    sum += (pc - pr) * Math.log(pc / pr);
  });
  return sum;
}

/** Kullback-Leibler divergence in bits, with 0 * log(0 / m) = 0. */
function kl2(p: readonly number[], m: readonly number[]): number {
  let sum = 0;
  p.forEach((pi, i) => {
    if (pi > 0) sum += pi * Math.log2(pi / (m[i] as number));
  });
  return sum;
}

/** Jensen-Shannon distance, base 2: sqrt(JS divergence), on the unfloored proportions. Within [0, 1]. */
export function jsDistance(refCounts: readonly number[], curCounts: readonly number[]): number {
  const p = proportions(refCounts);
  const q = proportions(curCounts);
  const m = p.map((pi, i) => (pi + (q[i] as number)) / 2);
  const div = 0.5 * kl2(p, m) + 0.5 * kl2(q, m);
  // Rounding can leave the divergence a hair outside [0, 1].
  return Math.sqrt(Math.min(1, Math.max(0, div)));
}

/**
 * Exact two-sample Kolmogorov-Smirnov D = max over x of |F_ref(x) - F_cur(x)|, by sorting both samples and
 * walking the distinct values: each ECDF is evaluated after all values equal to x.
 */
export function ksStatistic(reference: readonly number[], current: readonly number[]): number {
  if (reference.some(Number.isNaN) || current.some(Number.isNaN)) throw new Error('ksStatistic of NaN');
  const r = [...reference].sort((a, b) => a - b);
  const c = [...current].sort((a, b) => a - b);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < r.length || j < c.length) {
    const x = Math.min(
      i < r.length ? (r[i] as number) : Infinity,
      j < c.length ? (c[j] as number) : Infinity,
    );
    while (i < r.length && r[i] === x) i++;
    while (j < c.length && c[j] === x) j++;
    d = Math.max(d, Math.abs(i / r.length - j / c.length));
  }
  return d;
}
