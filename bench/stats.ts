/** Figures shared by the benchmarks: medians and p95 of repeated runs, and how to print them. */

export interface Stats {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

export function stats(ms: number[]): Stats {
  const s = [...ms].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
  return {
    n,
    median,
    p95: quantile(s, 0.95),
    min: s[0] as number,
    max: s[n - 1] as number,
    mean: s.reduce((a, b) => a + b, 0) / n,
  };
}

export const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
export const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
export const line = (s: Stats) =>
  `median ${ms(s.median)} ms, p95 ${ms(s.p95)} ms (min ${ms(s.min)}, max ${ms(s.max)})`;

/** A ratio already computed, printed like ratio(). */
export const x = (v: number) => `${v.toFixed(2)}x`;
