import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { histogramDivergences } from '../src/checks/dataset/drift.js';
import {
  binEdges,
  binOf,
  categoricalCounts,
  jsDistance,
  ksStatistic,
  numericCounts,
  percentileCont,
  psi,
  topCategories,
} from './helpers/drift-math.js';

// Pure TypeScript, no database: the oracle in drift-math.ts, and the check's own PSI/JS from bin counts.

const value = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }),
);
const sample = fc.array(value, { minLength: 1, maxLength: 60 });
const bins = fc.integer({ min: 2, max: 12 });
const category = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g');
const categorical = fc.array(category, { minLength: 1, maxLength: 60 });

/** Two histograms over the same bins, each holding at least one value. */
const histograms = fc
  .integer({ min: 1, max: 12 })
  .chain((k) =>
    fc.tuple(
      fc.array(fc.nat({ max: 1000 }), { minLength: k, maxLength: k }),
      fc.array(fc.nat({ max: 1000 }), { minLength: k, maxLength: k }),
    ),
  )
  .filter(([a, b]) => a.some((x) => x > 0) && b.some((x) => x > 0));

/** Numeric reference and current samples binned on the reference's edges. */
const binnedPair = fc.tuple(sample, sample, bins).map(([ref, cur, k]) => {
  const edges = binEdges(ref, k);
  return { ref, cur, edges, rc: numericCounts(edges, ref), cc: numericCounts(edges, cur) };
});

const close = (a: number, b: number, rel = 1e-12) =>
  a === b || Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);

describe('drift statistics (properties)', () => {
  it('PSI, JS and KS are 0 on identical samples', () => {
    fc.assert(
      fc.property(sample, bins, (s, k) => {
        const edges = binEdges(s, k);
        const c = numericCounts(edges, s);
        expect(psi(c, c)).toBe(0);
        expect(jsDistance(c, c)).toBe(0);
        expect(ksStatistic(s, s)).toBe(0);
        expect(ksStatistic(s, [...s].reverse())).toBe(0);
        expect(histogramDivergences(c, c)).toEqual({ psi: 0, js: 0 });
      }),
    );
    fc.assert(
      fc.property(categorical, fc.integer({ min: 1, max: 8 }), (s, max) => {
        const c = categoricalCounts(topCategories(s, max), s);
        expect(psi(c, c)).toBe(0);
        expect(jsDistance(c, c)).toBe(0);
      }),
    );
  });

  it('PSI >= 0; JS within [0, 1] and symmetric', () => {
    fc.assert(
      fc.property(histograms, ([a, b]) => {
        expect(psi(a, b)).toBeGreaterThanOrEqual(0);
        const js = jsDistance(a, b);
        expect(js).toBeGreaterThanOrEqual(0);
        expect(js).toBeLessThanOrEqual(1);
        expect(close(js, jsDistance(b, a))).toBe(true);
      }),
    );
    fc.assert(
      fc.property(binnedPair, ({ rc, cc }) => {
        expect(psi(rc, cc)).toBeGreaterThanOrEqual(0);
        expect(jsDistance(rc, cc)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('JS is 1 on disjoint histograms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (x, y) => {
        expect(close(jsDistance([x, 0], [0, y]), 1)).toBe(true);
      }),
    );
  });

  it('KS within [0, 1], symmetric, and equal to the definition evaluated at every value', () => {
    const ecdf = (s: readonly number[], x: number) => s.filter((v) => v <= x).length / s.length;
    fc.assert(
      fc.property(sample, sample, (r, c) => {
        const d = ksStatistic(r, c);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(1);
        expect(ksStatistic(c, r)).toBe(d);
        const brute = Math.max(...[...r, ...c].map((x) => Math.abs(ecdf(r, x) - ecdf(c, x))));
        expect(close(d, brute)).toBe(true);
      }),
    );
  });

  it("the check's PSI and JS from bin counts agree with the oracle", () => {
    fc.assert(
      fc.property(histograms, ([a, b]) => {
        const got = histogramDivergences(a, b);
        expect(close(got.psi, psi(a, b))).toBe(true);
        expect(close(got.js, jsDistance(a, b))).toBe(true);
      }),
    );
  });

  it('edges: sorted and distinct, at most k - 1; bins hold every value, bin = #{e < x}', () => {
    fc.assert(
      fc.property(binnedPair, ({ ref, cur, edges, rc, cc }) => {
        expect(edges.length).toBeGreaterThanOrEqual(1);
        for (let i = 1; i < edges.length; i++) expect(edges[i]).toBeGreaterThan(edges[i - 1] as number);
        expect(rc.reduce((x, y) => x + y, 0)).toBe(ref.length);
        expect(cc.reduce((x, y) => x + y, 0)).toBe(cur.length);
        expect(binOf(edges, Math.min(...ref))).toBe(0);
        expect(binOf(edges, Number.POSITIVE_INFINITY)).toBe(edges.length);
      }),
    );
  });

  it('percentile_cont: p = 0 is the minimum, p = 1 the maximum, monotone in p', () => {
    fc.assert(
      fc.property(
        sample,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (s, p, q) => {
          const sorted = [...s].sort((x, y) => x - y);
          expect(percentileCont(sorted, 0)).toBe(sorted[0]);
          expect(percentileCont(sorted, 1)).toBe(sorted[sorted.length - 1]);
          const [lo, hi] = p <= q ? [p, q] : [q, p];
          expect(percentileCont(sorted, lo)).toBeLessThanOrEqual(percentileCont(sorted, hi));
        },
      ),
    );
  });
});
