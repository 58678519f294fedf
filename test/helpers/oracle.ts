import { expect } from 'vitest';
import { type Parsed, series } from './exposition.js';

/**
 * The frame of the brute-force oracles that check tests compare an exposition with: the value every series
 * should have, keyed by its name and labels, and how many samples the check should count as skipped, by reason.
 */

/** A series' identity for comparing maps of values: its name and its labels, sorted. */
export const seriesKey = (name: string, labels: Record<string, string>) =>
  `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;

export interface Expected {
  values: Map<string, number>;
  skipped: Record<string, number>;
}

/** An empty Expected, with put (a series' value) and skip (n skipped samples for a reason) to fill it. */
export function expectation(): Expected & {
  put: (name: string, labels: Record<string, string>, v: number) => void;
  skip: (why: string, n?: number) => void;
} {
  const values = new Map<string, number>();
  const skipped: Record<string, number> = {};
  return {
    values,
    skipped,
    put: (name, labels, v) => void values.set(seriesKey(name, labels), v),
    skip: (why, n = 1) => {
      skipped[why] = (skipped[why] ?? 0) + n;
    },
  };
}

/**
 * The latest label of each key (`keyOf`, the `key` field by default): the one with the smallest age (labels
 * later in time supersede earlier ones).
 */
export function latestByKey<L extends { age: number }, K = string>(
  labels: readonly L[],
  keyOf: (l: L) => K = (l) => (l as unknown as { key: K }).key,
): Map<K, L> {
  const latest = new Map<K, L>();
  for (const l of labels) {
    const cur = latest.get(keyOf(l));
    if (cur === undefined || l.age < cur.age) latest.set(keyOf(l), l);
  }
  return latest;
}

/** A value computed in SQL against its brute-force value: equal within 1e-9, relative (absolute near 0). */
export function closeTo(actual: number, want: number): void {
  const tol = 1e-9 * Math.max(Math.abs(want), 1e-6);
  if (!(Math.abs(actual - want) <= tol)) throw new Error(`expected ${actual} to be within ${tol} of ${want}`);
}

/** Every exported series of `families` whose labels match `match`, by seriesKey. */
export function seriesValues(
  m: Parsed,
  families: readonly string[],
  match: Record<string, string>,
): Map<string, number> {
  const got = new Map<string, number>();
  for (const name of families) {
    for (const s of series(m, name, match)) got.set(seriesKey(s.name, s.labels), s.value);
  }
  return got;
}

/** The value of every mlwatch_check_skipped_samples series of check `check`, by reason. */
export function skippedByReason(m: Parsed, check: string): Record<string, number> {
  const got: Record<string, number> = {};
  for (const s of series(m, 'mlwatch_check_skipped_samples', { check }))
    got[s.labels.reason as string] = s.value;
  return got;
}

/** AUC by brute force: over every (positive, negative) pair, a win for the higher score, half for a tie. */
export function bruteAuc(xs: { s: number; y: number }[]): number {
  const pos = xs.filter((x) => x.y === 1);
  const neg = xs.filter((x) => x.y === 0);
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p.s > q.s ? 1 : p.s === q.s ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/** `got` holds exactly the series of `want`, each finite and within 1e-9 of its brute-force value. */
export function expectValuesWithin1e9(got: Map<string, number>, want: Map<string, number>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, v] of want) {
    const g = got.get(k) as number;
    expect(Number.isFinite(g), k).toBe(true);
    expect(Math.abs(g - v), `${k}: got ${g}, want ${v}`).toBeLessThan(1e-9);
  }
}
