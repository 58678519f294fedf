import { quoteIdent } from '../../../sql/identifiers.js';
import type { Row } from '../../../warehouse/types.js';
import type { ModelContext } from '../context.js';
import { type SegmentTable, segmentKey, segmentsResult, segmentTable } from '../segments.js';
import { NULL_SEGMENT, OTHER_SEGMENT, type SegmentSpec, segmentsStatement } from '../segments-sql.js';
import { close, type IncrementalTask, predictedValue } from './task.js';

/**
 * One (window, version)'s figures for the incremental segments check: `kept`, the sums per (column, value) of
 * every value (merged from kept rows; bin `<column index>:<value>`), or `reported`, the full statement's rows
 * per (column, reported value), the top values and `other` (key `<column index>\0<value>`). Plain arrays: the
 * last full run's are saved in the state store as JSON.
 */
export type SegmentValues =
  | { kept: Array<[string, number[]]> }
  | { reported: Array<[string, Record<string, number>]> };

/**
 * The cap on kept rows (IncrementalTask.rowCap): a statement over n parts or buckets may return at most
 * n x (segment columns) x this many rows, one per (version, column, value) of a part. So on a steady run, which
 * reads a bucket or two and the fresh parts, one hour with more than that many (version, value) pairs over its
 * columns trips it. Segments are meant for a handful of values (a channel, a region, a country): at the cap the
 * kept rows of 14 days of 1-hour buckets and two columns would be 672,000 rows of 6 numbers. Past it the check
 * recomputes in full on every run for full_interval, as without `incremental`, then tries keeping again.
 */
export const KEPT_VALUES_PER_PART = 1000;

/** What a classifier keeps per (column, value): the full statement's counts but the AUC's numerator. */
const CLASSIFIER_KEPT = ['n_all', 'n_lab', 'n_pos', 'n_neg', 'tp', 'fp'] as const;
/** What a regression model keeps: counts and the sums of absolute and squared errors. */
const REGRESSION_KEPT = ['n_all', 'n_lab', 'n', 'ae', 'se'] as const;
/** What the reconciliation compares: what is exported of a regression model's kept sums. */
const REGRESSION_COMPARED = ['n_all', 'n_lab', 'n', 'mae', 'rmse'] as const;

/**
 * A model's segments check with `incremental` set: the counts of every (column, value) are sums, kept per time
 * bucket and version like the performance check's (check.ts), and the top max_segments values are ranked from
 * the merged counts of the widest window, as the full statement ranks them. The AUC per segment ranks the
 * segment's scores and is not kept: it is exported as of the last full recomputation. A column with too many
 * values to keep (KEPT_VALUES_PER_PART) makes the check recompute in full instead.
 */
export function segmentsIncremental(m: ModelContext, spec: SegmentSpec): IncrementalTask<SegmentValues> {
  const regression = m.task === 'regression';
  const names: readonly string[] = regression ? REGRESSION_KEPT : CLASSIFIER_KEPT;
  const compared: readonly string[] = regression ? REGRESSION_COMPARED : CLASSIFIER_KEPT;
  const full = segmentsStatement(m, spec);
  const perColumn = spec.columns.map((_, i) => `(${i}, g${i})`).join(', ');
  const tableOf = (values: ReadonlyMap<string, SegmentValues>) => segmentsTable(m, spec, values);
  return {
    kind: 'segments',
    part: 'segments',
    definition: spec,
    names,
    // The same expressions as the full statement's `joined` (joinedCte), so that both tell the same rows apart.
    predicted: [
      ...predictedValue(m),
      ...spec.columns.map((c, i): [string, string] => [`p.${quoteIdent(c)}::text`, `g${i}`]),
    ],
    // One row per prediction and column; a NaN score is no score for a classifier, as in the full statement.
    rows: (_, from, keep) => `SELECT ${keep.join(', ')}, x.si, coalesce(x.val, '${NULL_SEGMENT}') AS val,
       ${regression ? 's' : "nullif(s, 'NaN'::float8) AS s"}, y
FROM ${from} CROSS JOIN LATERAL (VALUES ${perColumn}) AS x(si, val)`,
    sums: (b) => {
      if (regression) {
        return [
          ['n_all', 'count(*)::float8'],
          ['n_lab', 'count(y)::float8'],
          ['n', 'count(s) FILTER (WHERE y IS NOT NULL)::float8'],
          ['ae', 'coalesce(sum(abs(s - y)), 0)'],
          ['se', 'coalesce(sum((s - y) * (s - y)), 0)'],
        ];
      }
      const t = b.add(m.threshold, 'float8');
      return [
        ['n_all', 'count(*)::float8'],
        ['n_lab', 'count(y)::float8'],
        ['n_pos', 'count(*) FILTER (WHERE y = 1 AND s IS NOT NULL)::float8'],
        ['n_neg', 'count(*) FILTER (WHERE y = 0 AND s IS NOT NULL)::float8'],
        ['tp', `count(*) FILTER (WHERE y = 1 AND s >= ${t})::float8`],
        ['fp', `count(*) FILTER (WHERE y = 0 AND s >= ${t})::float8`],
      ];
    },
    bin: `si::text || ':' || val`,
    textBins: true,
    rowCap: (parts) => parts * spec.columns.length * KEPT_VALUES_PER_PART,
    empty: names.map(() => 0),
    combine(into, x, sign) {
      x.forEach((v, j) => {
        into[j] = (into[j] as number) + sign * v;
      });
    },
    value: (bins) => ({ kept: [...bins].map(([bin, x]): [string, number[]] => [String(bin), [...x]]) }),
    full,
    fullValues(rows) {
      const table = segmentTable(rows);
      const values = new Map<string, SegmentValues>();
      for (const [key, row] of table.rows) {
        const [wi, si, g] = key.split('\u0000') as [string, string, string];
        const at = `${wi}\u0000`;
        const v = values.get(at) ?? { reported: [] };
        if ('reported' in v) v.reported.push([`${si}\u0000${g}`, numbers(row)]);
        values.set(at, v);
      }
      return { values, versions: new Set(['']) };
    },
    agree(merged, exact) {
      const a = tableOf(merged);
      const b = tableOf(exact);
      for (const key of new Set([...a.rows.keys(), ...b.rows.keys()])) {
        const x = a.rows.get(key);
        const y = b.rows.get(key);
        for (const f of compared) if (!close(num(x, f), num(y, f))) return false;
      }
      return true;
    },
    result: (values, _versions, lastFull) => segmentsResult(m, spec, tableOf(values), tableOf(lastFull)),
  };
}

/** A row's numeric columns (the window, column and value are in its key). */
function numbers(row: Row): Record<string, number> {
  const out: Record<string, number> = {};
  // NULL (an MAE without labeled predictions) stays absent: read as no value, as from the row itself.
  for (const [k, v] of Object.entries(row)) {
    if (k !== 'wi' && k !== 'si' && k !== 'g' && v !== null && v !== undefined) out[k] = Number(v);
  }
  return out;
}

function num(row: Row | undefined, col: string): number {
  const v = row?.[col];
  return v === undefined || v === null ? 0 : Number(v);
}

/**
 * The table the segments check exports (segments.ts) from values keyed by countsKey(window, version): the full
 * statement's rows as they are, or kept counts summed over the versions and grouped as the full statement groups
 * them: per column, the values ranked by predictions in the widest window, most first, ties in byte order (as
 * COLLATE "C"); the first max_segments keep their own row, the rest are `other`.
 */
export function segmentsTable(
  m: ModelContext,
  spec: SegmentSpec,
  values: ReadonlyMap<string, SegmentValues>,
): SegmentTable {
  const table: SegmentTable = { values: new Map(), rows: new Map() };
  const windowOf = (key: string) => Number(key.slice(0, key.indexOf('\u0000')));
  // window -> bin -> sums over the versions
  const kept = new Map<number, Map<string, number[]>>();
  for (const [key, v] of values) {
    const wi = windowOf(key);
    if ('reported' in v) {
      for (const [at, row] of v.reported) {
        const [si, g] = at.split('\u0000') as [string, string];
        table.rows.set(segmentKey(wi, Number(si), g), row);
        if (wi === 0) addValue(table, Number(si), g);
      }
      continue;
    }
    const bins = kept.get(wi) ?? new Map<string, number[]>();
    for (const [bin, x] of v.kept) {
      addInto(bins, bin, x);
    }
    kept.set(wi, bins);
  }
  if (kept.size === 0) return table;
  const reported = reportedValues(spec, kept.get(0) ?? new Map());
  for (const [bin, g] of reported) addValue(table, Number(bin.slice(0, bin.indexOf(':'))), g);
  for (const [wi, bins] of kept) {
    const grouped = new Map<string, number[]>();
    for (const [bin, x] of bins) {
      const si = Number(bin.slice(0, bin.indexOf(':')));
      // Every value of a narrower window is in the widest (the windows are nested).
      addInto(grouped, segmentKey(wi, si, reported.get(bin) as string), x);
    }
    for (const [key, x] of grouped)
      table.rows.set(key, m.task === 'regression' ? regressionRow(x) : classifierRow(x));
  }
  return table;
}

/** Adds `x` into the sums under `key`. */
function addInto(map: Map<string, number[]>, key: string, x: readonly number[]): void {
  const into = map.get(key);
  if (into === undefined) map.set(key, [...x]);
  else {
    x.forEach((n, j) => {
      into[j] = (into[j] as number) + n;
    });
  }
}

function addValue(table: SegmentTable, si: number, g: string): void {
  const set = table.values.get(si) ?? new Set<string>();
  set.add(g);
  table.values.set(si, set);
}

/** Each bin (`<column index>:<value>`) of the widest window and the value it is reported as. */
function reportedValues(spec: SegmentSpec, widest: ReadonlyMap<string, number[]>): Map<string, string> {
  const out = new Map<string, string>();
  spec.columns.forEach((_, si) => {
    const prefix = `${si}:`;
    const ranked = [...widest]
      .filter(([bin]) => bin.startsWith(prefix))
      .map(([bin, x]) => ({ bin, value: bin.slice(prefix.length), n: x[0] as number }))
      .sort((a, b) => b.n - a.n || Buffer.compare(Buffer.from(a.value), Buffer.from(b.value)));
    // A real value spelled 'other' among the top takes a place and is reported as the rest are: one series.
    ranked.forEach(({ bin, value }, r) => {
      out.set(bin, r < spec.maxSegments ? value : OTHER_SEGMENT);
    });
  });
  return out;
}

function classifierRow(x: number[]): Row {
  return Object.fromEntries(CLASSIFIER_KEPT.map((name, j) => [name, x[j]]));
}

/** MAE and RMSE as the full statement takes them: NULL without a labeled prediction, NaN from a NaN error. */
function regressionRow(x: number[]): Row {
  const [nAll, nLab, n, ae, se] = x as [number, number, number, number, number];
  return {
    n_all: nAll,
    n_lab: nLab,
    n,
    mae: n === 0 ? null : ae / n,
    rmse: n === 0 ? null : Math.sqrt(se / n),
  };
}
