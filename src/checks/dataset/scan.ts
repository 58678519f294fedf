import { z } from 'zod';
import { type Window, window } from '../../config/types.js';
import type { Sample } from '../../metrics/types.js';
import { SqlBuilder, type Statement } from '../../sql/builder.js';
import { quoteIdent } from '../../sql/identifiers.js';
import type { Queryable, Row } from '../../warehouse/types.js';
import type { Check, CheckResult } from '../types.js';
import { toSampleValue } from '../values.js';
import { requireColumns } from './columns.js';
import { type DatasetContext, datasetCheck } from './context.js';
import { datasetFamilies } from './families.js';

/**
 * Freshness, volume, null ratios and validity of a dataset from ONE statement: a single pass over the rows of
 * the widest window, every measure a count(*) FILTER (...). Per-metric exporters run one query per column;
 * this reads the table once (bench/data-scan.ts measures the difference).
 */

const column = z.string({ error: 'expected a column name' }).min(1);

export const freshnessSpec = z.strictObject({});

export const volumeSpec = z.strictObject({ window: window().default({ label: '1h', ms: 3_600_000 }) });

export const nullsSpec = z.strictObject({
  columns: z.union([z.literal('all'), z.array(column).min(1)], {
    error: 'expected a list of column names, or all (every column of the table)',
  }),
  window: window().default({ label: '1h', ms: 3_600_000 }),
});

const rule = z
  .strictObject({
    min: z.number({ error: 'expected a number' }).optional(),
    max: z.number({ error: 'expected a number' }).optional(),
    allowed: z
      .array(z.union([z.string(), z.number()]), { error: 'expected a list of allowed values' })
      .min(1)
      .optional(),
  })
  .refine((r) => r.min !== undefined || r.max !== undefined || r.allowed !== undefined, {
    error: 'give min, max or allowed',
  })
  .refine((r) => r.allowed === undefined || (r.min === undefined && r.max === undefined), {
    error: 'give either allowed or min/max, not both',
  });

export const validitySpec = z.strictObject({
  columns: z.record(z.string(), rule, {
    error: 'expected a mapping of column name to {min, max} or {allowed}',
  }),
  window: window().default({ label: '1h', ms: 3_600_000 }),
});

export type ValidityRule = z.output<typeof rule>;

/**
 * A value of column `c` that breaks its rule. NOT (x in range) is NULL for a NULL x, so NULLs drop out without
 * their own test.
 */
export function outOfRange(p: SqlBuilder, c: string, r: ValidityRule): string {
  const col = quoteIdent(c);
  const inRange = r.allowed
    ? `${col}::text = ANY(${p.add(r.allowed.map(String), 'text[]')})`
    : [
        r.min !== undefined ? `${col} >= ${p.add(r.min, 'float8')}` : '',
        r.max !== undefined ? `${col} <= ${p.add(r.max, 'float8')}` : '',
      ]
        .filter(Boolean)
        .join(' AND ');
  return `NOT (${inRange})`;
}

export interface ScanSpecs {
  freshness?: z.output<typeof freshnessSpec> | undefined;
  volume?: z.output<typeof volumeSpec> | undefined;
  nulls?: z.output<typeof nullsSpec> | undefined;
  validity?: z.output<typeof validitySpec> | undefined;
}

/** Builds the statement; the column list is known up front, or read from information_schema for `all`. */
class ScanStatement {
  readonly p: SqlBuilder;
  private readonly selects: string[] = [];

  constructor(private readonly ds: DatasetContext) {
    this.p = new SqlBuilder(ds.dialect);
  }

  select(expr: string, alias: string): void {
    this.selects.push(`${expr} AS ${alias}`);
  }

  /**
   * `ts >= cutoff`, the cutoff computed once per statement (SqlBuilder.cutoff): 22 filters on 1,000,000 rows
   * made a per-row now() - w the bulk of the scan.
   */
  within(w: Window): string {
    return `${this.ds.timestampSql} >= ${this.p.cutoff(w.ms)}`;
  }

  statement(spanMs: number): Statement {
    const t = this.ds.timestampSql;
    return this.p.statement(
      `SELECT ${this.selects.join(',\n  ')}\nFROM ${this.ds.tableSql}\nWHERE ${t} >= ${this.p.ago(spanMs)} AND ${t} < now()`,
    );
  }
}

function num(row: Row, alias: string): number | null {
  return toSampleValue(row[alias], alias);
}

/** The scan check, every window read in full on every run (scan-incremental.ts keeps counts per time bucket). */
export function buildScanCheck(ds: DatasetContext, specs: ScanSpecs): Check {
  return datasetCheck(ds, 'scan', specs, async (q) => {
    const nullColumns = await nullColumnsOf(q, ds, specs);
    const scan = await fullScan(q, ds, specs, nullColumns);
    return scanResult(ds, specs, nullColumns, scan.row, scan.measuredAt);
  });
}

/** The columns the nulls check counts: those listed, or every column of the table for `all`. */
export async function nullColumnsOf(q: Queryable, ds: DatasetContext, specs: ScanSpecs): Promise<string[]> {
  if (specs.nulls === undefined) return [];
  if (specs.nulls.columns !== 'all') return specs.nulls.columns;
  return (await requireColumns(q, ds)).map((c) => c.name);
}

/**
 * The length of every span the windowed checks count rows in: volume's window and the one before it, nulls'
 * window, validity's.
 */
export function windowedSpans(specs: ScanSpecs): number[] {
  return [
    ...(specs.volume ? [specs.volume.window.ms, 2 * specs.volume.window.ms] : []),
    ...(specs.nulls ? [specs.nulls.window.ms] : []),
    ...(specs.validity ? [specs.validity.window.ms] : []),
  ];
}

/**
 * Every value of the scan from ONE statement over the widest span: the row toResult reads (vol_rows, vol_base,
 * null_rows, null_<i>, valid_n_<i>, valid_bad_<i>, last_update, age), and when the age held (measuredAt).
 */
export async function fullScan(
  q: Queryable,
  ds: DatasetContext,
  specs: ScanSpecs,
  nullColumns: string[],
): Promise<{ row: Row; measuredAt: number }> {
  const st = new ScanStatement(ds);
  const t = ds.timestampSql;
  let spanMs = 0;
  if (specs.freshness) {
    // Newest row not in the future: a writer with a skewed clock must not make a stale table look fresh.
    // The subquery only runs (lazily, as an InitPlan) when the scanned window holds no rows at all.
    const newest = `coalesce(max(${t}), (SELECT max(${t}) FROM ${ds.tableSql} WHERE ${t} < now()))`;
    st.select(`extract(epoch FROM ${newest})::float8`, 'last_update');
    // The age on the warehouse's clock alone: now() and the timestamps are both the warehouse's (a
    // timestamp without time zone is read in the session's zone, as the windows read it). Unlike
    // time() - last_update in Prometheus, no other host's clock takes part, so skew cannot move it.
    st.select(`extract(epoch FROM now() - ${newest})::float8`, 'age');
  }
  if (specs.volume) {
    const w = specs.volume.window;
    spanMs = Math.max(spanMs, 2 * w.ms);
    st.select(`count(*) FILTER (WHERE ${st.within(w)})`, 'vol_rows');
    st.select(
      `count(*) FILTER (WHERE ${t} >= ${st.p.cutoff(2 * w.ms)} AND NOT (${st.within(w)}))`,
      'vol_base',
    );
  }
  if (specs.nulls) {
    const w = specs.nulls.window;
    spanMs = Math.max(spanMs, w.ms);
    st.select(`count(*) FILTER (WHERE ${st.within(w)})`, 'null_rows');
    // The NULL test first: only the few NULL rows then pay for the window test.
    for (const [i, c] of nullColumns.entries()) {
      st.select(`count(*) FILTER (WHERE ${quoteIdent(c)} IS NULL AND ${st.within(w)})`, `null_${i}`);
    }
  }
  const validity = Object.entries(specs.validity?.columns ?? {});
  if (specs.validity) {
    const w = specs.validity.window;
    spanMs = Math.max(spanMs, w.ms);
    validity.forEach(([c, r], i) => {
      st.select(`count(${quoteIdent(c)}) FILTER (WHERE ${st.within(w)})`, `valid_n_${i}`);
      st.select(`count(*) FILTER (WHERE ${outOfRange(st.p, c, r)} AND ${st.within(w)})`, `valid_bad_${i}`);
    });
  }
  // Freshness alone still scans nothing beyond the empty span; the InitPlan answers it.
  const { text, params } = st.statement(spanMs);
  // When the age held, on the exporter's monotonic clock: each scrape adds the time since (Sample.agingSince).
  // now() is the transaction's start, a round trip or two before this mark, so the age exported is short by
  // those milliseconds: the stale alert can be that late, never early. performance.now() is monotonic: a step
  // of the exporter's wall clock (NTP) cannot move the age either.
  const measuredAt = performance.now();
  const [row] = await q.query(text, params);
  return { row: row ?? {}, measuredAt };
}

/** The samples of a scan's values (fullScan's row, or the same values merged from kept buckets). */
export function scanResult(
  ds: DatasetContext,
  specs: ScanSpecs,
  nullColumns: string[],
  row: Row,
  measuredAt: number,
): CheckResult {
  const validityColumns = Object.keys(specs.validity?.columns ?? {});
  const samples: Sample[] = [];
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  const dataset = ds.name;
  if (specs.freshness) {
    const v = num(row, 'last_update');
    const age = num(row, 'age');
    if (v === null || age === null) skip('empty_table');
    else {
      samples.push({ name: datasetFamilies.datasetLastUpdate.name, labels: { dataset }, value: v });
      samples.push({
        name: datasetFamilies.datasetNewestRowAge.name,
        labels: { dataset },
        value: age,
        agingSince: measuredAt,
      });
    }
  }
  if (specs.volume) {
    const w = specs.volume.window.label;
    samples.push({
      name: datasetFamilies.datasetRows.name,
      labels: { dataset, window: w },
      value: num(row, 'vol_rows') ?? 0,
    });
    samples.push({
      name: datasetFamilies.datasetRowsBaseline.name,
      labels: { dataset, window: w },
      value: num(row, 'vol_base') ?? 0,
    });
  }
  if (specs.nulls) {
    const w = specs.nulls.window.label;
    const n = num(row, 'null_rows') ?? 0;
    for (const [i, column] of nullColumns.entries()) {
      // An empty window has no null ratio: exporting 0 would claim "no NULLs" about rows that do not exist.
      if (n === 0) {
        skip('empty_window');
        continue;
      }
      const v = (num(row, `null_${i}`) ?? 0) / n;
      samples.push({
        name: datasetFamilies.datasetNullRatio.name,
        labels: { dataset, column, window: w },
        value: v,
      });
    }
  }
  if (specs.validity) {
    const w = specs.validity.window.label;
    for (const [i, column] of validityColumns.entries()) {
      const n = num(row, `valid_n_${i}`) ?? 0;
      if (n === 0) {
        skip('empty_window');
        continue;
      }
      const v = (num(row, `valid_bad_${i}`) ?? 0) / n;
      samples.push({
        name: datasetFamilies.datasetInvalidRatio.name,
        labels: { dataset, column, window: w },
        value: v,
      });
    }
  }
  return { samples, skipped };
}
