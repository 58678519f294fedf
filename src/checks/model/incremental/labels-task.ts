import type { Row } from '../../../warehouse/types.js';
import { toSampleValue } from '../../values.js';
import { countsKey } from '../classification.js';
import type { ModelContext } from '../context.js';
import { labelsResult, labelsStatement } from '../labels.js';
import { close, type IncrementalTask, predictedValue } from './task.js';

/**
 * A model's labels check with `incremental` set: predictions, labeled predictions and leaked labels are counts,
 * and each version's first prediction a minimum, so they are kept per bucket and merged as the performance
 * check's sums are, the latest label of a prediction moving its bucket when it changes (check.ts). The label
 * delay percentiles are not counts: an exact percentile needs every delay in order (a histogram would give
 * one within its bin width, not the value numpy and the full statement give), so they are exported as of the
 * last full run, every full_interval, as a classifier's AUC is.
 */

/** One (window, version)'s counts; over all versions (ALL), the delay percentiles too. */
export interface LabelCounts {
  n: number;
  labeled: number;
  leak: number;
  /** Unix seconds of the version's first prediction in the window; null for none. */
  firstPt: number | null;
  d50?: number | null;
  d95?: number | null;
}

/** The version key of the all-versions figures: no version's name (countsKey's versions are texts). */
const ALL = '\u0000all';
const NAMES = ['n', 'labeled', 'leak', 'first_pt'] as const;
const FIRST = NAMES.indexOf('first_pt');
const EMPTY: LabelCounts = { n: 0, labeled: 0, leak: 0, firstPt: null };

export function labelsIncremental(m: ModelContext): IncrementalTask<LabelCounts> {
  const byVersion = m.predictions.versionSql !== undefined;
  const windows = m.windows.map((_, i) => i);
  return {
    kind: 'labels',
    part: 'labels',
    names: NAMES,
    // The predicted value, as the full statement's join tells predictions apart by it; the timestamp, for leakage.
    predicted: [...predictedValue(m), [`p.${m.predictions.timestampSql}`, 'pt']],
    rows: (_, from, keep) => `SELECT ${keep.join(', ')}, pt, lt, y FROM ${from}`,
    // A NULL label is no label (the full statement's rule): not labeled, not leaked.
    sums: () => [
      ['n', 'count(*)::float8'],
      ['labeled', 'count(y)::float8'],
      ['leak', 'count(*) FILTER (WHERE y IS NOT NULL AND lt < pt)::float8'],
      ['first_pt', m.dialect.epochSeconds('min(pt)')],
    ],
    bin: '0',
    empty: NAMES.map((_, j) => (j === FIRST ? Number.POSITIVE_INFINITY : 0)),
    combine(into, x, sign) {
      x.forEach((v, j) => {
        // A relabeled prediction is in its bucket already: its time cannot move the minimum, either way.
        into[j] = j === FIRST ? Math.min(into[j] as number, v) : (into[j] as number) + sign * v;
      });
    },
    value(bins) {
      const s = bins.get(0);
      if (s === undefined) return { ...EMPTY };
      const first = s[FIRST] as number;
      return {
        n: s[0] as number,
        labeled: s[1] as number,
        leak: s[2] as number,
        firstPt: Number.isFinite(first) ? first : null,
      };
    },
    full: labelsStatement(m),
    fullValues(rows) {
      const values = new Map<string, LabelCounts>();
      const versions = new Set<string>(byVersion ? [] : ['']);
      const num = (row: Row, col: string) => toSampleValue(row[col], col);
      for (const row of rows) {
        const overall = Number(row.all_versions) === 1;
        const version = row.v === null || row.v === undefined ? '' : String(row.v);
        if (!overall || !byVersion) versions.add(version);
        for (const i of windows) {
          const c: LabelCounts = {
            n: num(row, `n_${i}`) ?? 0,
            labeled: num(row, `labeled_${i}`) ?? 0,
            leak: num(row, `leak_${i}`) ?? 0,
            // The statement's first prediction is the widest window's (window 0) only.
            firstPt: i === 0 ? num(row, 'first_pt') : null,
          };
          if (!overall || !byVersion) values.set(countsKey(i, version), c);
          if (overall)
            values.set(countsKey(i, ALL), { ...c, d50: num(row, `d50_${i}`), d95: num(row, `d95_${i}`) });
        }
      }
      return { values, versions };
    },
    agree(merged, exact) {
      for (const [key, b] of exact) {
        if (key.endsWith(ALL)) continue;
        const a = merged.get(key) ?? EMPTY;
        if (!close(a.n, b.n) || !close(a.labeled, b.labeled) || !close(a.leak, b.leak)) return false;
        if (b.n > 0 && b.firstPt !== null && a.firstPt !== b.firstPt) return false;
      }
      return true;
    },
    result(values, versions, lastFull) {
      // The rows labelsStatement returns, from the counts: per version, and over all versions with the delay
      // percentiles of the last full run.
      const rows: Row[] = [];
      const counts = (row: Row, get: (i: number) => LabelCounts) => {
        for (const i of windows) {
          const c = get(i);
          Object.assign(row, { [`n_${i}`]: c.n, [`labeled_${i}`]: c.labeled, [`leak_${i}`]: c.leak });
        }
      };
      const delays = (row: Row) => {
        for (const i of windows) {
          const d = lastFull.get(countsKey(i, ALL));
          Object.assign(row, { [`d50_${i}`]: d?.d50 ?? null, [`d95_${i}`]: d?.d95 ?? null });
        }
      };
      for (const version of versions) {
        const row: Row = { all_versions: byVersion ? 0 : 1, v: version === '' ? null : version };
        counts(row, (i) => values.get(countsKey(i, version)) ?? EMPTY);
        row.first_pt = values.get(countsKey(0, version))?.firstPt ?? null;
        if (!byVersion) delays(row);
        rows.push(row);
      }
      if (byVersion) {
        const row: Row = { all_versions: 1, v: null, first_pt: null };
        counts(row, (i) => {
          const total = { ...EMPTY };
          for (const version of versions) {
            const c = values.get(countsKey(i, version)) ?? EMPTY;
            total.n += c.n;
            total.labeled += c.labeled;
            total.leak += c.leak;
          }
          return total;
        });
        delays(row);
        rows.push(row);
      }
      return labelsResult(m, rows);
    },
  };
}
