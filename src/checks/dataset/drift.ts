import { z } from 'zod';
import { parseDuration } from '../../config/duration.js';
import { duration, window } from '../../config/types.js';
import type { Sample } from '../../metrics/types.js';
import type { Statement } from '../../sql/builder.js';
import type { Dialect } from '../../sql/dialect.js';
import { quoteIdent, quoteQualified } from '../../sql/identifiers.js';
import type { Queryable, Row } from '../../warehouse/types.js';
import type { IncrementalOptions } from '../buckets/config.js';
import { keepingState, newState } from '../buckets/kept-counts.js';
import type { Check, CheckResult } from '../types.js';
import { readColumns } from './columns.js';
import { type DatasetContext, datasetCheck } from './context.js';
import { keptBinCounts } from './drift-incremental.js';
import { buildKsCheck } from './drift-ks.js';
import {
  type BinnedFeature,
  binCountsStatement,
  categoriesStatement,
  edgesStatement,
  type FeatureKind,
  NUMERIC_TYPES,
  type Source,
} from './drift-sql.js';
import { datasetFamilies } from './families.js';
import { reconciledAt } from './reconciled.js';

/**
 * Drift of feature distributions: the current window of a dataset against a reference sample (an earlier
 * window, a fixed range, or another table such as the training set). Per feature: PSI and Jensen-Shannon
 * distance on bins fixed by the reference, and for numeric features the exact two-sample KS statistic.
 *
 * Reference bins (edges / top categories and their counts) are computed on their own, slower schedule
 * (`reference_interval`) and cached in the check object. Each run of `dataset:<name>:drift` is then one scan
 * of the current window for the bin counts of every feature. KS of the numeric features reads the raw
 * reference (it cannot be computed from bins) and sorts both samples, so it is a check of its own,
 * `dataset:<name>:drift_ks`, on its own slower schedule (`ks_interval`; drift-ks.ts). docs/drift.md has the
 * definitions and costs.
 *
 * PSI and JS are computed here, in TypeScript, from the bin counts SQL returns; test/helpers/drift-math.ts is the tests'
 * independent oracle and is deliberately not used by this module.
 */

const column = z.string({ error: 'expected a column name' }).min(1);

/**
 * A message for a value of the wrong type (a number where a mapping belongs); every other issue (missing key,
 * unknown key, too few entries) keeps the config's own YAML-speaking message.
 */
const onlyWrongType = (message: string) => (iss: { code?: string; input?: unknown }) =>
  iss.code === 'invalid_type' && iss.input !== undefined ? message : undefined;

const feature = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  z.strictObject(
    {
      name: column,
      kind: z.enum(['numeric', 'categorical'], { error: "expected 'numeric' or 'categorical'" }).optional(),
    },
    { error: onlyWrongType('expected a column name, or a mapping {name, kind: numeric | categorical}') },
  ),
);

/** A duration that may be 0 (`0s`): an offset. */
const offset = z.string({ error: 'expected an offset like 0s, 1d or 7d' }).transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `'${text}' is not an offset: write it like 0s, 6h, 1d or 7d` });
    return z.NEVER;
  }
  return ms;
});

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

const parseTimestamp = (s: string) => Date.parse(s.replace(' ', 'T'));

const timestamp = z
  .string({ error: 'expected an ISO timestamp like 2024-05-01T00:00:00Z' })
  .refine((s) => ISO_TIMESTAMP.test(s) && !Number.isNaN(parseTimestamp(s)), {
    error: (iss) => `'${String(iss.input)}' is not an ISO timestamp like 2024-05-01 or 2024-05-01T00:00:00Z`,
  });

const reference = z
  .strictObject(
    {
      window: window('a reference window').optional(),
      offset: offset.optional(),
      from: timestamp.optional(),
      to: timestamp.optional(),
      table: z.string({ error: 'expected a table name like schema.table' }).min(1).optional(),
      timestamp: column.optional(),
    },
    {
      error: onlyWrongType(
        'expected a mapping: {window, offset}, {from, to}, or {table} (optionally with timestamp and a range)',
      ),
    },
  )
  .superRefine((r, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const ranged = r.window !== undefined || r.from !== undefined || r.to !== undefined;
    if (!ranged && r.table === undefined && r.offset === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'give window (and offset), from and to, or table (another table, e.g. the training set)',
      });
    }
    if (r.offset !== undefined && r.window === undefined) issue('offset', 'offset needs a window');
    if (r.window !== undefined && (r.from !== undefined || r.to !== undefined))
      issue('window', 'give window (and offset) or from and to, not both');
    if ((r.from === undefined) !== (r.to === undefined))
      issue(r.from === undefined ? 'to' : 'from', 'give both from and to');
    if (r.from !== undefined && r.to !== undefined && parseTimestamp(r.from) >= parseTimestamp(r.to))
      issue('to', 'to must be later than from');
    if (r.table !== undefined) {
      try {
        quoteQualified(r.table);
      } catch (e) {
        issue('table', (e as Error).message);
      }
      if (ranged && r.timestamp === undefined)
        issue('timestamp', `a range on table ${r.table} needs its timestamp column: add timestamp`);
    } else if (r.timestamp !== undefined) {
      issue('timestamp', "timestamp names another table's timestamp column; give table too (or remove it)");
    }
  });

export const driftSpec = z
  .strictObject({
    features: z.array(feature, { error: onlyWrongType('expected a list of column names') }).min(1),
    current: window('a current window').default({ label: '1d', ms: 86_400_000 }),
    reference,
    bins: z
      .int({ error: 'expected a whole number of bins' })
      .min(2, { error: 'at least 2 bins' })
      .max(100, { error: 'at most 100 bins' })
      .default(10),
    max_categories: z
      .int({ error: 'expected a whole number of categories' })
      .min(1, { error: 'at least 1 category' })
      .max(1000, { error: 'at most 1000 categories' })
      .default(50),
    reference_interval: duration('an interval').default(3_600_000),
    // KS reads the raw reference and sorts both samples: its own check on a slower schedule (docs/drift.md).
    ks_interval: duration('an interval').default(3_600_000),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.features.forEach((f, i) => {
      if (seen.has(f.name))
        ctx.addIssue({
          code: 'custom',
          path: ['features', i],
          message: `feature '${f.name}' is listed twice`,
        });
      seen.add(f.name);
    });
  });

export type DriftSpec = z.output<typeof driftSpec>;

/** The reference sample as a source: the dataset's table or another one, with an optional range. */
function referenceSource(ds: DatasetContext, spec: DriftSpec): Source {
  const r = spec.reference;
  const other = r.table !== undefined;
  const src: Source = {
    tableSql: other ? quoteQualified(r.table as string) : ds.tableSql,
    timestampSql: other ? (r.timestamp !== undefined ? quoteIdent(r.timestamp) : undefined) : ds.timestampSql,
  };
  if (r.window !== undefined) {
    // Without an offset the reference ends where the current window starts.
    const end = r.offset ?? spec.current.ms;
    return { ...src, from: { agoMs: end + r.window.ms }, to: { agoMs: end } };
  }
  if (r.from !== undefined && r.to !== undefined) return { ...src, from: { at: r.from }, to: { at: r.to } };
  // Another table, all rows; with its timestamp column, the rows not in the future.
  return src.timestampSql !== undefined ? { ...src, to: { agoMs: 0 } } : src;
}

/** One feature's reference: its kind, its bins, and the reference's count per bin (bin 0 first). */
type RefFeature = BinnedFeature & { counts: number[]; n: number };

interface Reference {
  /** The clock when the computation started. */
  at: number;
  features: RefFeature[];
}

async function run(q: Queryable, st: Statement): Promise<Row[]> {
  return q.query(st.text, st.params);
}

function count(v: unknown): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`expected a count, got ${String(v)}`);
  return n;
}

function floatArray(v: unknown): number[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) throw new Error(`expected a float8[] of bin edges, got ${String(v)}`);
  return v.map((x) => (typeof x === 'number' ? x : Number(x)));
}

export async function resolveKinds(
  q: Queryable,
  ds: DatasetContext,
  features: DriftSpec['features'],
): Promise<{ name: string; kind: FeatureKind }[]> {
  const unknown = features.filter((f) => f.kind === undefined).map((f) => f.name);
  const types = new Map<string, string>();
  if (unknown.length > 0) {
    for (const c of await readColumns(q, ds)) types.set(c.name, c.dataType);
  }
  return features.map((f) => {
    if (f.kind !== undefined) return { name: f.name, kind: f.kind };
    const type = types.get(f.name);
    if (type === undefined)
      throw new Error(`feature '${f.name}' is not a column of ${ds.table} (or the table does not exist)`);
    return { name: f.name, kind: NUMERIC_TYPES.has(type) ? 'numeric' : 'categorical' };
  });
}

/** Counts per bin, indexed like the features handed to binCountsStatement. */
async function binCounts(
  q: Queryable,
  src: Source,
  features: BinnedFeature[],
  dialect: Dialect,
): Promise<number[][]> {
  const counts = features.map((f) =>
    new Array<number>((f.kind === 'numeric' ? f.edges.length : f.categories.length) + 1).fill(0),
  );
  for (const r of await run(q, binCountsStatement(src, features, dialect))) {
    const bins = counts[Number(r.f)];
    const b = Number(r.b);
    if (bins === undefined || b < 0 || b >= bins.length)
      throw new Error(`bin ${b} of feature ${r.f} out of range`);
    bins[b] = count(r.n);
  }
  return counts;
}

async function computeReference(
  q: Queryable,
  ds: DatasetContext,
  spec: DriftSpec,
  src: Source,
  at: number,
): Promise<Reference> {
  const kinds = await resolveKinds(q, ds, spec.features);
  const numeric = kinds.filter((f) => f.kind === 'numeric').map((f) => f.name);
  const categorical = kinds.filter((f) => f.kind === 'categorical').map((f) => f.name);

  const edges = new Map<string, number[]>();
  if (numeric.length > 0) {
    const [row] = await run(q, edgesStatement(src, numeric, spec.bins, ds.dialect));
    numeric.forEach((name, i) => {
      // Sorted, equal edges collapsed; an empty reference has no edges.
      const e = (floatArray(row?.[`e${i}`]) ?? []).sort((a, b) => a - b);
      edges.set(
        name,
        e.filter((x, j) => j === 0 || x !== e[j - 1]),
      );
    });
  }
  const categories = new Map<string, string[]>(categorical.map((name) => [name, []]));
  if (categorical.length > 0) {
    for (const r of await run(q, categoriesStatement(src, categorical, spec.max_categories, ds.dialect))) {
      categories.get(categorical[Number(r.f)] as string)?.push(String(r.x));
    }
  }
  const binned: BinnedFeature[] = kinds.map((f) =>
    f.kind === 'numeric'
      ? { name: f.name, kind: 'numeric', edges: edges.get(f.name) ?? [] }
      : { name: f.name, kind: 'categorical', categories: categories.get(f.name) ?? [] },
  );
  const counts = await binCounts(q, src, binned, ds.dialect);
  return {
    at,
    features: binned.map((f, i) => {
      const c = counts[i] as number[];
      return { ...f, counts: c, n: c.reduce((a, b) => a + b, 0) };
    }),
  };
}

/** Floor of the proportions in PSI, so that an empty bin does not make the index infinite. */
const PSI_FLOOR = 1e-4;

/**
 * PSI (proportions floored at 1e-4) and Jensen-Shannon distance (base 2, unfloored proportions) of two
 * histograms over the same bins. Both must hold at least one value.
 */
export function histogramDivergences(
  ref: readonly number[],
  cur: readonly number[],
): { psi: number; js: number } {
  const nRef = ref.reduce((a, b) => a + b, 0);
  const nCur = cur.reduce((a, b) => a + b, 0);
  let psi = 0;
  let jsd = 0;
  for (let i = 0; i < ref.length; i++) {
    const p = (ref[i] as number) / nRef;
    const q = (cur[i] as number) / nCur;
    const pf = Math.max(p, PSI_FLOOR);
    const qf = Math.max(q, PSI_FLOOR);
    psi += (qf - pf) * Math.log(qf / pf);
    const m = (p + q) / 2;
    // 0 * log(0) = 0.
    if (p > 0) jsd += 0.5 * p * Math.log2(p / m);
    if (q > 0) jsd += 0.5 * q * Math.log2(q / m);
  }
  return { psi, js: Math.sqrt(Math.min(1, Math.max(0, jsd))) };
}

export interface DriftOptions {
  /**
   * The clock that ages the cached reference (default Date.now). Tests pass their own: PGlite's now() follows
   * Date.now, so mocking Date.now would move the warehouse clock too.
   */
  clock?: () => number;
  /** The dataset's `incremental`: the current window's bin counts kept per time bucket (drift-incremental.ts). */
  incremental?: IncrementalOptions | undefined;
}

export function buildDriftChecks(ds: DatasetContext, spec: DriftSpec, opts: DriftOptions = {}): Check[] {
  const clock = opts.clock ?? Date.now;
  const current: Source = {
    tableSql: ds.tableSql,
    timestampSql: ds.timestampSql,
    from: { agoMs: spec.current.ms },
    to: { agoMs: 0 },
  };
  const refSource = referenceSource(ds, spec);
  let cached: Reference | undefined;
  const incremental = opts.incremental;
  const state = newState();
  const drift = datasetCheck(ds, 'drift', incremental ? { spec, incremental } : spec, async (q) => {
    if (cached === undefined || clock() - cached.at >= spec.reference_interval) {
      cached = await computeReference(q, ds, spec, refSource, clock());
    }
    const counts = (src: Source, features: BinnedFeature[]) => binCounts(q, src, features, ds.dialect);
    if (incremental === undefined)
      return driftResult(ds, spec, cached, await counts(current, cached.features));
    const o = { ds, current, currentMs: spec.current.ms, incremental, state };
    const kept = await keptBinCounts(q, o, cached.features, counts);
    const result = driftResult(ds, spec, cached, kept);
    return { ...result, samples: [...result.samples, ...reconciledAt(drift.id, ds, state)] };
  });
  return [
    incremental === undefined ? drift : keepingState(drift, state),
    // KS uses the kinds of the cached reference when there is one (read with it, every reference_interval), so
    // that its runs send the KS statement only.
    buildKsCheck(ds, spec, refSource, current, async (q) =>
      cached !== undefined ? cached.features : resolveKinds(q, ds, spec.features),
    ),
  ];
}

/** PSI and JS of each feature's current counts (`curCounts`, indexed like ref.features) against the reference. */
function driftResult(
  ds: DatasetContext,
  spec: DriftSpec,
  ref: Reference,
  curCounts: number[][],
): CheckResult {
  const nCur = curCounts.map((c) => c.reduce((a, b) => a + b, 0));

  const samples: Sample[] = [];
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  const dataset = ds.name;
  const w = spec.current.label;
  ref.features.forEach((f, i) => {
    const n = nCur[i] as number;
    const labels = { dataset, feature: f.name, window: w };
    samples.push({
      name: datasetFamilies.featureSampleRows.name,
      labels: { dataset, feature: f.name, sample: 'current' },
      value: n,
    });
    samples.push({
      name: datasetFamilies.featureSampleRows.name,
      labels: { dataset, feature: f.name, sample: 'reference' },
      value: f.n,
    });
    const stats = 2;
    // No distribution to compare on one side: no statistic, rather than NaN or a fake 0.
    if (n === 0 || f.n === 0) {
      for (let s = 0; s < stats; s++) skip('empty_window');
      return;
    }
    const { psi, js } = histogramDivergences(f.counts, curCounts[i] as number[]);
    samples.push({ name: datasetFamilies.featurePsi.name, labels, value: psi });
    samples.push({ name: datasetFamilies.featureJsDistance.name, labels, value: js });
  });
  return { samples, skipped };
}
