/**
 * mlwatch bench: the dataset scan check (freshness + volume + every null ratio from one statement) on a
 * 1,000,000-row, 20-column table, against a bare count(*) over the same window and against one query per
 * column (what per-metric exporters do), all measured in the same run; then the drift check of 10 features
 * with cached reference bins (a 100,000-row reference table) against the same count(*); then the exporter's
 * memory at 100,000, 1,000,000 and 10,000,000 rows, each in a fresh process. Runs against a real PostgreSQL, in a schema
 * of its own (mlwatch_bench_data, dropped at the start and at the end); see bench/README.md.
 *
 *   npx tsx bench/data-scan.ts   (MLWATCH_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test)
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { strictThresholds } from '../src/checks/dataset/drift-bins.js';
import { type BinnedFeature, categoriesStatement, edgesStatement } from '../src/checks/dataset/drift-sql.js';
import type { LoadedConfig } from '../src/config/load.js';
import type { Exporter } from '../src/runtime/exporter.js';
import {
  benchClient,
  benchConfig,
  checkState,
  count,
  explainDocument,
  loadSteps,
  type MemoryChildSpec,
  type MemoryFigures,
  measureMemory,
  memoryChild,
  memoryReport,
  mib,
  openBench,
  pairedRatio,
  pass,
  perRound,
  type RecordedStatement,
  round3,
  rounded,
  runBench,
  runChecked,
  startBenchExporter,
  startedUp,
  type Watchdog,
  writeFigures,
} from './harness.js';
import { peerMissing, runPeer } from './pandas-peer.js';
import { line, ms, stats, x } from './stats.js';

const URL_ = process.env.MLWATCH_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = 'mlwatch_bench_data';
const TABLE = `${SCHEMA}.events`;
const ROWS = 1_000_000; // the timed comparison
const MEM_SMALL = 100_000;
// The largest size: the first of these that the load rate seen so far says fits in the time budget.
const MEM_BIG = [10_000_000, 5_000_000, 2_000_000];
const R = 9; // timed rounds
const R_WARMUP = 1; // untimed count(*) and check runs before them (besides the check's start-up run)
const MEM_RUNS = 3; // check runs per memory measurement (the first is the exporter's start-up round)
const DEADLINE_MS = 600_000; // 330 s stopped every run of 2026-12-07 in the drift section, quiet machine or not
const CHECK_ID = 'dataset:bench:scan';
const WINDOW_SQL = `ts >= now() - interval '1 hour' AND ts < now()`;
const CHILD_ENV = 'MLWATCH_BENCH_DATA_CHILD';
// The application_name of every connection of this run, the memory children's included, so the watchdog can
// end exactly those.
const APP = process.env[`${CHILD_ENV}_APP`] ?? `mlwatch-bench-data-${process.pid}`;
const OUT_FILE = fileURLToPath(new URL('../.bench/data-scan.json', import.meta.url));
const WAREHOUSE = { url: URL_, app: APP, statementTimeout: '120s' };
const MEMORY_CHILD: MemoryChildSpec = {
  script: fileURLToPath(import.meta.url),
  env: CHILD_ENV,
  app: APP,
  noun: 'rows',
};

/** 20 nullable columns: 7 numeric, 7 integer, 6 text. Column k is NULL on every row with (7i + k) % 20 = 0. */
const COLUMNS = [
  ...[31, 37, 41, 43, 47, 53, 59].map((p, j) => ({
    name: `amount_${j + 1}`,
    type: 'numeric(12, 2)',
    value: `round(((i * ${p}) % 100000) / 100.0, 2)`,
  })),
  ...[61, 67, 71, 73, 79, 83, 89].map((p, j) => ({
    name: `count_${j + 1}`,
    type: 'integer',
    value: `((i * ${p}) % 10000)::integer`,
  })),
  ...[97, 101, 103, 107, 109, 113].map((p, j) => ({
    name: `label_${j + 1}`,
    type: 'text',
    value: `'cat_' || ((i * ${p}) % 50)`,
  })),
];
const NULL_FRACTION = 1 / 20;
// freshness 2 (last update, the newest row's age) + volume 2 (rows, baseline) + a null ratio for every column,
// the timestamp included (`all`)
const EXPECTED_SERIES = 2 + 2 + COLUMNS.length + 1;

/**
 * A config with the one dataset `bench` over the table, with `checks` (YAML, indented under checks:). interval
 * 1h: after the start-up round a check runs only when runNow asks.
 */
function datasetConfig(checks: string, file?: string): LoadedConfig {
  return benchConfig(
    WAREHOUSE,
    `datasets:
  - name: bench
    table: ${TABLE}
    timestamp: ts
    interval: 1h
    checks:
${checks}`,
    file,
  );
}

function config(): LoadedConfig {
  return datasetConfig(`      freshness: {}
      volume: { window: 1h }
      nulls: { columns: all, window: 1h }
`);
}

/**
 * The check's gauges as the exporter would serve them, checked against what the table holds. Null ratios are
 * exact up to 1,000,000 rows; beyond, the copied rows may not all come from the first million (a copy can land
 * in a page's leftover space), so they get a little slack there.
 */
async function verifyExport(e: Exporter, rows: number): Promise<void> {
  const tolerance = rows > ROWS ? 1e-3 : 1e-9;
  const state = checkState(e, CHECK_ID);
  if (state.status !== 'ok')
    throw new Error(`check ${CHECK_ID} is ${state.status}: ${state.lastError ?? ''}`);
  if (state.seriesCount !== EXPECTED_SERIES)
    throw new Error(`check ${CHECK_ID} made ${state.seriesCount} series, expected ${EXPECTED_SERIES}`);
  const text = await e.metricsText();
  const value = (re: RegExp) => Number(text.match(re)?.[1]);
  const seen = value(/^mlwatch_dataset_rows\{[^}]*\} (\S+)$/m);
  if (seen !== rows) throw new Error(`mlwatch_dataset_rows is ${seen}, the table holds ${rows} rows`);
  for (const c of COLUMNS) {
    const v = value(new RegExp(`^mlwatch_dataset_null_ratio\\{[^}]*column="${c.name}"[^}]*\\} (\\S+)$`, 'm'));
    if (!(Math.abs(v - NULL_FRACTION) <= tolerance))
      throw new Error(`null ratio of ${c.name} is ${v}, expected ${NULL_FRACTION}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// the table

const client = () => benchClient(URL_, APP);

/**
 * A connection where the planner may not answer count(*) from the timestamp index: on a vacuumed table it
 * otherwise counts index entries (an index-only scan) and never reads the rows.
 */
async function heapClient(): Promise<pg.Client> {
  const c = await client();
  try {
    await c.query('SET enable_indexonlyscan = off; SET enable_indexscan = off; SET enable_bitmapscan = off');
  } catch (err) {
    await c.end().catch(() => {});
    throw err;
  }
  return c;
}

async function createTable(db: pg.Client): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.query(`CREATE SCHEMA ${SCHEMA}`);
  // UNLOGGED: loading 10,000,000 rows writes no WAL; reading it is the same as reading a logged table. No
  // autovacuum: the bench vacuums when it wants to, and a worker waking up mid-round would only add noise.
  await db.query(
    `CREATE UNLOGGED TABLE ${TABLE} (ts timestamptz NOT NULL, ${COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ')})
     WITH (autovacuum_enabled = off)`,
  );
}

/**
 * Rows first..last. Each batch spreads its timestamps over the 50 minutes before its own now(), so every row
 * stays inside the 1h window for the rest of the run (ten minutes at least; the run gives up after four).
 */
async function insertRows(db: pg.Client, first: number, last: number): Promise<void> {
  const values = COLUMNS.map(
    (c, k) => `CASE WHEN (i * 7 + ${k + 1}) % 20 = 0 THEN NULL ELSE ${c.value} END`,
  ).join(',\n       ');
  await db.query(
    `INSERT INTO ${TABLE}
     SELECT now() - interval '1 second' - interval '50 minutes' * ((i - $1)::float8 / ($2 - $1 + 1)),
       ${values}
     FROM generate_series($1::bigint, $2::bigint) AS i`,
    [first, last],
  );
}

// ---------------------------------------------------------------------------------------------------------
// 1. one scan vs count(*) vs one query per column, on 1,000,000 rows

interface PlanSummary {
  nodes: string;
  workers: number;
  buffers: number;
  jitFunctions: number;
  jitMs: number;
  executionMs: number;
}

type PlanNode = Record<string, unknown>;

/** EXPLAIN (ANALYZE, BUFFERS) once: the top of the JSON plan (Plan, JIT, Execution Time). */
async function explainJson(db: pg.Client, sql: string, params: readonly unknown[] = []): Promise<PlanNode> {
  return (await explainDocument(db, sql, params))[0] as PlanNode;
}

/** EXPLAIN (ANALYZE, BUFFERS) once, boiled down to what the report needs. */
async function explain(db: pg.Client, sql: string, params: readonly unknown[] = []): Promise<PlanSummary> {
  return summarize(await explainJson(db, sql, params));
}

function summarize(top: PlanNode): PlanSummary {
  const names: string[] = [];
  let workers = 0;
  const walk = (node: Record<string, unknown>) => {
    // The freshness fallback is an InitPlan that runs only when the window is empty: leave it out if it never ran.
    if (node['Actual Loops'] === 0) return;
    const type = `${node['Parallel Aware'] ? 'Parallel ' : ''}${String(node['Node Type'])}`;
    const rel = node['Relation Name'] ? ` on ${node['Relation Name']}` : '';
    const via = node['Index Name'] ? ` using ${node['Index Name']}` : '';
    if (type !== 'Gather' && !type.includes('Aggregate')) names.push(`${type}${via}${rel}`);
    if (type === 'Gather') workers = Number(node['Workers Launched'] ?? 0);
    for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
  };
  const plan = top.Plan as Record<string, unknown>;
  walk(plan);
  const jit = top.JIT as { Functions?: number; Timing?: { Total?: number } } | undefined;
  return {
    nodes: names.join(' + '),
    workers,
    buffers: Number(plan['Shared Hit Blocks'] ?? 0) + Number(plan['Shared Read Blocks'] ?? 0),
    jitFunctions: jit?.Functions ?? 0,
    jitMs: jit?.Timing?.Total ?? 0,
    executionMs: Number(top['Execution Time']),
  };
}

const COUNT_SQL = `SELECT count(*) AS n FROM ${TABLE} WHERE ${WINDOW_SQL}`;

/** The bare count(*) over the window, timed on `on`, checked to see every row. */
const timedCount = (on: pg.Client) => async () => {
  const t0 = performance.now();
  const r = await on.query(COUNT_SQL);
  const t = performance.now() - t0;
  if (Number(r.rows[0]?.n) !== ROWS) throw new Error(`count(*) saw ${r.rows[0]?.n} rows, expected ${ROWS}`);
  return t;
};

const planLine = (p: PlanSummary) =>
  `${p.nodes}${p.workers ? ` (${p.workers} workers)` : ''}, ${count(p.buffers)} buffers, ` +
  `${p.jitFunctions ? `JIT ${p.jitFunctions} functions ${ms(p.jitMs)} ms, ` : 'no JIT, '}` +
  `executed in ${ms(p.executionMs)} ms`;

async function benchScan(db: pg.Client, withPeer: boolean) {
  const transactions: RecordedStatement[][] = [];
  const perColumnSql = [
    `SELECT max(ts) AS last FROM ${TABLE} WHERE ts < now()`,
    `SELECT count(*) AS n FROM ${TABLE} WHERE ${WINDOW_SQL}`,
    ...COLUMNS.map(
      (c) =>
        `SELECT count(*) FILTER (WHERE ${c.name} IS NULL) AS nulls, count(*) AS n FROM ${TABLE} WHERE ${WINDOW_SQL}`,
    ),
  ];
  let exporter: Exporter | undefined;
  // The same count(*), reading the rows.
  const heapDb = await heapClient();
  try {
    exporter = startBenchExporter(config(), transactions);
    const e = exporter;
    await startedUp(e);
    const state = checkState(e, CHECK_ID);
    await verifyExport(e, ROWS);

    const bare = timedCount(db);
    const bareHeap = timedCount(heapDb);
    let statementsPerRun = 0;
    const parts = { columns: [] as number[], scan: [] as number[] };
    const scan = async () => {
      const t = await runChecked(e, CHECK_ID);
      if (state.seriesCount !== EXPECTED_SERIES)
        throw new Error(`check ${CHECK_ID} made ${state.seriesCount} series, expected ${EXPECTED_SERIES}`);
      const sent = transactions.at(-1) ?? [];
      statementsPerRun = Math.max(statementsPerRun, sent.length);
      parts.columns.push(sent[0]?.ms ?? 0);
      parts.scan.push(sent[1]?.ms ?? 0);
      return t;
    };
    const perColumn = async () => {
      const t0 = performance.now();
      const results = [];
      for (const sql of perColumnSql) results.push((await db.query(sql)).rows[0] as Record<string, unknown>);
      const t = performance.now() - t0;
      for (const r of results.slice(2)) {
        if (Number(r.n) !== ROWS || Number(r.nulls) !== ROWS * NULL_FRACTION)
          throw new Error(`a per-column query saw ${r.nulls} NULLs in ${r.n} rows`);
      }
      return t;
    };

    const sides = { count: bare, countHeap: bareHeap, scan, perColumn };
    const names = Object.keys(sides) as Array<keyof typeof sides>;
    const samples: Record<keyof typeof sides, number[]> = {
      count: [],
      countHeap: [],
      scan: [],
      perColumn: [],
    };
    // The per-column side reads the same pages as count(*) with statements of the same shape, so it is not
    // warmed up on its own: a round of it costs as much as the rest of the run put together.
    for (let i = 0; i < R_WARMUP; i++) {
      await bare();
      await bareHeap();
      await scan();
    }
    // Interleaved, rotating which goes first, so drift and any warm-cache advantage fall on every side alike.
    parts.columns.length = 0;
    parts.scan.length = 0;
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < names.length; j++) {
        const k = names[(i + j) % names.length] as keyof typeof sides;
        samples[k].push(await sides[k]());
      }
    }

    // What users do instead, 3 runs after the rounds (it costs more than a whole round): the window's rows
    // pulled into pandas, the count, the newest timestamp and each column's NULL share computed there.
    const peer: number[] = [];
    const peerPull: number[] = [];
    for (let i = 0; withPeer && i < 3; i++) {
      const r = await runPeer({
        url: URL_,
        kind: 'scan',
        timestamp: 'ts',
        sql: `SELECT ts, ${COLUMNS.map((c) => c.name).join(', ')} FROM ${TABLE} WHERE ${WINDOW_SQL}`,
      });
      const wrong = COLUMNS.find((c) => r.values[`null_ratio:${c.name}`] !== NULL_FRACTION);
      if (r.values.rows !== ROWS || wrong)
        throw new Error(`the pandas peer saw ${r.values.rows} rows, ${wrong?.name} wrong`);
      peer.push(r.pullMs + r.computeMs);
      peerPull.push(r.pullMs);
    }

    // What the check sent, to explain it once with the same parameters, outside the timed rounds.
    const last = transactions.at(-1) ?? [];
    const scanStatement = last.at(-1);
    if (!scanStatement) throw new Error('the check sent no statement');
    const plans = {
      count: await explain(db, COUNT_SQL),
      countHeap: await explain(heapDb, COUNT_SQL),
      scan: await explain(db, scanStatement.sql, scanStatement.params),
      perColumn: await explain(db, perColumnSql[2] as string),
    };
    const settings = await db.query(
      `SELECT current_setting('max_parallel_workers_per_gather') AS workers,
              current_setting('shared_buffers') AS shared_buffers, current_setting('jit') AS jit,
              pg_relation_size('${TABLE}') AS heap_bytes`,
    );
    const s = settings.rows[0] as Record<string, unknown>;
    return {
      statementsPerRun,
      statements: last.map((st) => ({ sql: st.sql, params: st.params, rows: st.rows })),
      // Inside each timed check run: the information_schema query and the scan, as the check's Queryable saw them.
      columnsQuery: stats(parts.columns),
      scanStatement: stats(parts.scan),
      perColumnStatements: perColumnSql.length,
      checkLastDurationMs: (state.lastDurationSeconds ?? 0) * 1000,
      parallelWorkersPerGather: Number(s.workers),
      sharedBuffers: String(s.shared_buffers),
      jit: String(s.jit),
      heapBytes: Number(s.heap_bytes),
      plans,
      count: stats(samples.count),
      countHeap: stats(samples.countHeap),
      scan: stats(samples.scan),
      perColumn: stats(samples.perColumn),
      pandas: withPeer ? stats(peer) : undefined,
      pandasPull: withPeer ? stats(peerPull) : undefined,
      // Each round's ratio: steadier than a ratio of medians when the machine's load shifts during the run.
      pairedScanToCount: pairedRatio(samples.scan, samples.count),
      pairedScanToCountHeap: pairedRatio(samples.scan, samples.countHeap),
      pairedPerColumnToScan: pairedRatio(samples.perColumn, samples.scan),
      raw: samples,
    };
  } finally {
    if (exporter) await exporter.stop(10_000);
    await heapDb.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3. drift of 10 features against a cached reference, vs count(*) over the same current window

/**
 * 10 of the table's columns, 4 numeric, 3 integer, 3 text: 7 numeric features (bins and KS) and 3
 * categorical ones (bins only).
 */
const DRIFT_FEATURES = [
  'amount_1',
  'amount_2',
  'amount_3',
  'amount_4',
  'count_1',
  'count_2',
  'count_3',
].concat(['label_1', 'label_2', 'label_3']);
const DRIFT_NUMERIC = DRIFT_FEATURES.filter((f) => !f.startsWith('label_'));
const DRIFT_CHECK_ID = 'dataset:bench:drift';
const KS_CHECK_ID = 'dataset:bench:drift_ks';
const REFERENCE_TABLE = `${SCHEMA}.reference`;
const REFERENCE_ROWS = 100_000;
const R_DRIFT = 7; // timed rounds of the drift section
const R_OLD = 3; // timed rounds of the previous bin-count statement (about 40x count(*) each)
const DRIFT_LIMIT = 3; // the requirement: drift with cached reference bins at most 3x the bare count(*)
// sample_rows (current, reference) and PSI and JS for every feature; KS for the numeric ones, in its own check
const DRIFT_SERIES = DRIFT_FEATURES.length * 4;
const KS_SERIES = DRIFT_NUMERIC.length;

function driftConfig(): LoadedConfig {
  // reference_interval is left at its default (1h): after the start-up round, every run uses the cached bins.
  return datasetConfig(
    `      drift:
        features: [${DRIFT_FEATURES.join(', ')}]
        current: 1h
        reference: { table: ${REFERENCE_TABLE} }
`,
    'bench-drift.yaml',
  );
}

/**
 * The reference: the first 100,000 rows of the table in physical order (i = 1..100,000, the first batch),
 * copied into a table of their own, like a training set. Every column's value is a function of i with a period
 * that divides 100,000, and so is its NULL pattern, so the reference holds exactly the distribution of the
 * 1,000,000-row current window (each value a tenth as often): PSI and KS come out 0, which verifyDrift checks.
 */
async function createReference(db: pg.Client): Promise<void> {
  // A serial scan from block 0 (CREATE TABLE AS may run in parallel, and a Gather returns rows in any order).
  await db.query('SET synchronize_seqscans = off; SET max_parallel_workers_per_gather = 0');
  await db.query(
    `CREATE UNLOGGED TABLE ${REFERENCE_TABLE} WITH (autovacuum_enabled = off) AS
     SELECT * FROM ${TABLE} LIMIT ${REFERENCE_ROWS}`,
  );
  await db.query('RESET synchronize_seqscans; RESET max_parallel_workers_per_gather');
  await db.query(`VACUUM (ANALYZE) ${REFERENCE_TABLE}`);
}

/** The drift check's series, checked against what the two tables hold. */
async function verifyDrift(e: Exporter): Promise<void> {
  const state = checkState(e, DRIFT_CHECK_ID);
  if (state.status !== 'ok')
    throw new Error(`check ${DRIFT_CHECK_ID} is ${state.status}: ${state.lastError ?? ''}`);
  if (state.seriesCount !== DRIFT_SERIES)
    throw new Error(`check ${DRIFT_CHECK_ID} made ${state.seriesCount} series, expected ${DRIFT_SERIES}`);
  const ks = e.cachedChecks().find((s) => s.check.id === KS_CHECK_ID);
  if (ks?.status !== 'ok' || ks.seriesCount !== KS_SERIES)
    throw new Error(
      `check ${KS_CHECK_ID} is ${ks?.status} with ${ks?.seriesCount} series: ${ks?.lastError ?? ''}`,
    );
  const text = await e.metricsText();
  const value = (metric: string, feature: string, extra = '') =>
    Number(
      text.match(new RegExp(`^${metric}\\{[^}]*feature="${feature}"[^}]*${extra}[^}]*\\} (\\S+)$`, 'm'))?.[1],
    );
  for (const f of DRIFT_FEATURES) {
    const cur = value('mlwatch_feature_sample_rows', f, 'sample="current"');
    const ref = value('mlwatch_feature_sample_rows', f, 'sample="reference"');
    if (
      cur !== Math.round(ROWS * (1 - NULL_FRACTION)) ||
      ref !== Math.round(REFERENCE_ROWS * (1 - NULL_FRACTION))
    )
      throw new Error(`${f}: sample_rows current ${cur}, reference ${ref}`);
    const stats = ['mlwatch_feature_psi', 'mlwatch_feature_js_distance'];
    if (DRIFT_NUMERIC.includes(f)) stats.push('mlwatch_feature_ks_statistic');
    for (const m of stats) {
      const v = value(m, f);
      if (!(Math.abs(v) <= 1e-9)) throw new Error(`${m} of ${f} is ${v}, expected 0 (the same distribution)`);
    }
  }
}

/** The plan's nodes, indented, with each one's time and what it spilled; for the report. */
function planTree(top: PlanNode): string[] {
  const out: string[] = [];
  const walk = (node: PlanNode, depth: number) => {
    if (node['Actual Loops'] === 0) return;
    const type = `${node['Parallel Aware'] ? 'Parallel ' : ''}${String(node['Node Type'])}`;
    const strategy = node.Strategy && node.Strategy !== 'Plain' ? ` (${String(node.Strategy)})` : '';
    const rel = node['Relation Name'] ? ` on ${node['Relation Name']}` : '';
    const via = node['Index Name'] ? ` using ${node['Index Name']}` : '';
    const loops = Number(node['Actual Loops'] ?? 1);
    const extra: string[] = [];
    if (node['Workers Launched'] !== undefined) extra.push(`${node['Workers Launched']} workers`);
    if (node['Sort Method'] !== undefined)
      extra.push(`${node['Sort Method']} ${node['Sort Space Used']} kB ${node['Sort Space Type']}`);
    if (node['HashAgg Batches'] !== undefined)
      extra.push(
        `${node['HashAgg Batches']} batches, peak ${node['Peak Memory Usage']} kB` +
          (Number(node['Disk Usage'] ?? 0) > 0 ? `, ${node['Disk Usage']} kB on disk` : ''),
      );
    const temp = Number(node['Temp Written Blocks'] ?? 0);
    if (temp > 0) extra.push(`${count(temp)} temp blocks written`);
    out.push(
      `${'  '.repeat(depth)}${type}${strategy}${via}${rel}: ${ms(Number(node['Actual Total Time']))} ms${loops > 1 ? ' per loop' : ''}, ` +
        `${count(Math.round(Number(node['Actual Rows']) * loops))} rows${loops > 1 ? ` (${loops} loops)` : ''}` +
        (extra.length ? `; ${extra.join('; ')}` : ''),
    );
    for (const child of (node.Plans as PlanNode[] | undefined) ?? []) walk(child, depth + 1);
  };
  walk(top.Plan as PlanNode, 0);
  return out;
}

/** What a drift statement is, from its first words. */
function driftStatementLabel(sql: string): string {
  if (sql.startsWith('SELECT column_name')) return 'information_schema';
  if (sql.startsWith('SELECT percentile_cont')) return 'edges';
  if (sql.startsWith('SELECT r.f, r.x')) return 'categories';
  if (isBinCounts(sql)) return sql.includes('now()') ? 'bin counts (current)' : 'bin counts (reference)';
  if (isKs(sql)) return 'KS';
  return sql.split('\n')[0] ?? '';
}

const isKs = (sql: string) => sql.startsWith('WITH n AS');

/** How a KS statement spells its features' running counts (src/checks/dataset/drift-sql.ts, ksStatement). */
const ksSpelling = (sql: string) =>
  [sql.includes('by_row AS (') ? 'by row' : '', sql.includes('by_value AS (') ? 'by value' : '']
    .filter(Boolean)
    .join(' and ');

/**
 * The KS features' non-NULL values of both samples (the reference table, the current window) as (f, x) rows:
 * unpivoted as the by-row spelling reads them, or each feature's column read apart as the by-value one does.
 */
function ksValuesSql(perColumn: boolean): string {
  const samples = [REFERENCE_TABLE, `${TABLE} WHERE ${WINDOW_SQL}`];
  if (perColumn)
    return DRIFT_NUMERIC.flatMap((f, i) =>
      samples.map((from) => {
        const where = from.includes(' WHERE ') ? ' AND' : ' WHERE';
        return `SELECT ${i} AS f, ${f}::float8 AS x FROM ${from}${where} ${f} IS NOT NULL`;
      }),
    ).join('\n  UNION ALL ');
  const values = DRIFT_NUMERIC.map((f, i) => `(${i}, t.${f}::float8)`).join(', ');
  return samples
    .map((from) => {
      const [table, where] = from.split(' WHERE ');
      return `SELECT v.f, v.x FROM ${table} AS t CROSS JOIN LATERAL (VALUES ${values}) AS v(f, x)
  WHERE ${where ?? 'TRUE'} AND v.x IS NOT NULL`;
    })
    .join('\n  UNION ALL ');
}

/**
 * KS's floors, one per spelling, nothing computed: by row, every value sorted by (feature, value); by value,
 * the (feature, value) pairs counted (the distinct values still to be put in order).
 */
const KS_SORT_FLOOR_SQL = `SELECT count(*) AS n FROM (SELECT f, x FROM (${ksValuesSql(false)}) AS s ORDER BY f, x OFFSET 0) AS sorted`;
const KS_GROUP_FLOOR_SQL = `SELECT count(*) AS n FROM (SELECT f, x, count(*) FROM (${ksValuesSql(true)}) AS s GROUP BY f, x) AS g`;
const isBinCounts = (sql: string) => sql.startsWith('WITH a AS');

/**
 * The bin-count statement the drift check used before (kept here only to measure it in the same run): the
 * features unpivoted with CROSS JOIN LATERAL (VALUES ...), a tuple per (row, feature), grouped by (feature,
 * bin); array_position per row for categorical features.
 */
function oldBinCountsSql(features: BinnedFeature[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const add = (v: unknown, cast: string) => {
    params.push(v);
    return `$${params.length}::${cast}`;
  };
  const rows = features.map((f, i) => {
    const x = `t."${f.name}"`;
    if (f.kind === 'numeric') {
      const edges = add(f.edges, 'float8[]');
      return `(${i}, width_bucket(${x}::float8, ${edges}) - (${x}::float8 = ANY (${edges}))::int)`;
    }
    const cats = add(f.categories, 'text[]');
    return `(${i}, CASE WHEN ${x}::text IS NULL THEN NULL ELSE coalesce(array_position(${cats}, ${x}::text), 0) END)`;
  });
  const sql = `SELECT v.f, v.b, count(*) AS n
FROM ${TABLE} AS t
CROSS JOIN LATERAL (VALUES
    ${rows.join(',\n    ')}
  ) AS v(f, b)
WHERE ${WINDOW_SQL.replace(/ts/g, 't.ts')} AND v.b IS NOT NULL
GROUP BY v.f, v.b`;
  return { sql, params };
}

/**
 * The floor of any bin-count statement of this shape: every numeric feature's bin computed exactly as the check
 * does (`width_bucket(x::float8, thresholds)`) and every text feature read, but nothing counted per bin: one
 * plain parallel aggregate (a sum per feature). A statement that also counts per bin cannot cost less.
 */
function floorSql(features: BinnedFeature[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts = features.map((f) => {
    const x = `t."${f.name}"`;
    if (f.kind === 'categorical') return `count(${x})`;
    params.push(strictThresholds(f.edges));
    return `sum(width_bucket(${x}::float8, $${params.length}::float8[]))`;
  });
  const sql = `SELECT ${parts.join(', ')} FROM ${TABLE} AS t WHERE ${WINDOW_SQL.replace(/ts/g, 't.ts')}`;
  return { sql, params };
}

/** The reference's bins, computed here with the check's own edge and category statements, for the old statement. */
async function referenceBins(db: pg.Client): Promise<BinnedFeature[]> {
  const src = { tableSql: REFERENCE_TABLE };
  const e = edgesStatement(src, DRIFT_NUMERIC, 10);
  const row = (await db.query(e.text, e.params)).rows[0] as Record<string, number[]>;
  const labels = DRIFT_FEATURES.filter((f) => !DRIFT_NUMERIC.includes(f));
  const c = categoriesStatement(src, labels, 50);
  const cats = labels.map(() => [] as string[]);
  for (const r of (await db.query(c.text, c.params)).rows) cats[Number(r.f)]?.push(String(r.x));
  return DRIFT_FEATURES.map((name) => {
    const i = DRIFT_NUMERIC.indexOf(name);
    if (i >= 0) {
      const edges = [...(row[`e${i}`] ?? [])].sort((a, b) => a - b);
      return { name, kind: 'numeric', edges: edges.filter((x, j) => j === 0 || x !== edges[j - 1]) };
    }
    return { name, kind: 'categorical', categories: cats[labels.indexOf(name)] ?? [] };
  });
}

async function benchDrift(db: pg.Client, withPeer: boolean) {
  const transactions: RecordedStatement[][] = [];
  let exporter: Exporter | undefined;
  const heapDb = await heapClient();
  try {
    // The start-up round is the cache's warm-up: it computes the reference (edges, categories, their counts)
    // and then runs like every later run.
    const t0 = performance.now();
    exporter = startBenchExporter(driftConfig(), transactions);
    const e = exporter;
    await startedUp(e);
    const startupMs = performance.now() - t0;
    const state = checkState(e, DRIFT_CHECK_ID);
    await verifyDrift(e);
    // Both checks ran at start-up (the binned one computing the reference); every statement they sent.
    const startup = transactions.flat().map((st) => ({ statement: driftStatementLabel(st.sql), ms: st.ms }));
    checkState(e, KS_CHECK_ID); // the KS check is there too, or the run stops here
    const startupCheckMs = (state.lastDurationSeconds ?? 0) * 1000;

    const parts = { binCounts: [] as number[], ks: [] as number[], rest: [] as number[] };
    let binSt: RecordedStatement | undefined;
    let ksSt: RecordedStatement | undefined;
    // One statement per run of either check (the reference cached): the bin counts, or KS.
    const runOne = async (id: string, isIt: (sql: string) => boolean) => {
      const took = await runChecked(e, id);
      const sent = transactions.at(-1) ?? [];
      if (sent.length !== 1 || !isIt(sent[0]?.sql ?? ''))
        throw new Error(
          `a run of ${id} with cached bins sent ${sent.length} statements: ${sent.map((x) => x.sql.split('\n')[0]).join(' | ')}`,
        );
      return { took, statement: sent[0] as RecordedStatement };
    };
    const drift = async () => {
      const { took, statement } = await runOne(DRIFT_CHECK_ID, isBinCounts);
      binSt = statement;
      parts.binCounts.push(statement.ms);
      parts.rest.push(took - statement.ms);
      return took;
    };
    const ks = async () => {
      const { took, statement } = await runOne(KS_CHECK_ID, isKs);
      ksSt = statement;
      parts.ks.push(statement.ms);
      return took;
    };
    const bins = await referenceBins(db);
    const oldSql = oldBinCountsSql(bins);
    const floor = floorSql(bins);
    const binsOnly = async () => {
      const t = performance.now();
      await db.query(floor.sql, floor.params);
      return performance.now() - t;
    };
    const old = async () => {
      const t = performance.now();
      await db.query(oldSql.sql, oldSql.params);
      return performance.now() - t;
    };
    const peerParts = { psi: [] as number[], ks: [] as number[] };
    // What users do instead: the window and the reference pulled into pandas, PSI in numpy, KS from scipy. Both
    // tables hold the same distribution, so the peer's values must be 0 as the check's are.
    const peer = async (kind: 'psi' | 'ks', features: string[]) => {
      const cols = features.map((f) => `t."${f}"`).join(', ');
      const r = await runPeer({
        url: URL_,
        kind,
        sql: `SELECT ${cols} FROM ${TABLE} AS t WHERE ${WINDOW_SQL.replace(/ts/g, 't.ts')}`,
        reference_sql: `SELECT ${cols} FROM ${REFERENCE_TABLE} AS t`,
      });
      for (const f of features)
        if (!(Math.abs(r.values[f] ?? Number.NaN) <= 1e-9))
          throw new Error(`the peer's ${kind} of ${f} is ${r.values[f]}`);
      peerParts[kind].push(r.pullMs);
      return r.pullMs + r.computeMs;
    };
    const pandasPsi = () => peer('psi', DRIFT_FEATURES);
    const pandasKs = () => peer('ks', DRIFT_NUMERIC);
    const sides = {
      count: timedCount(db),
      countHeap: timedCount(heapDb),
      drift,
      ks,
      old,
      binsOnly,
      pandasPsi,
      pandasKs,
    };
    const names = (Object.keys(sides) as Array<keyof typeof sides>).filter(
      (k) => withPeer || (k !== 'pandasPsi' && k !== 'pandasKs'),
    );
    const samples: Record<keyof typeof sides, number[]> = {
      count: [],
      countHeap: [],
      drift: [],
      ks: [],
      old: [],
      binsOnly: [],
      pandasPsi: [],
      pandasKs: [],
    };
    await sides.count();
    await sides.countHeap();
    for (let i = 0; i < R_DRIFT; i++) {
      for (let j = 0; j < names.length; j++) {
        const k = names[(i + j) % names.length] as keyof typeof sides;
        // The old statement costs as much as the rest of a round: fewer rounds of it.
        if (k === 'old' && i >= R_OLD) continue;
        samples[k].push(await sides[k]());
      }
    }
    await verifyDrift(e);
    if (!binSt || !ksSt) throw new Error('no drift statement recorded');
    // KS's floors (KS_SORT_FLOOR_SQL, KS_GROUP_FLOOR_SQL): no exact KS statement of either spelling can cost
    // less than its own; 3 runs of each, alternated, after the rounds.
    const ksFloor: number[] = [];
    const ksGroupFloor: number[] = [];
    for (let i = 0; i < 3; i++) {
      for (const [sql, into] of [
        [KS_SORT_FLOOR_SQL, ksFloor],
        [KS_GROUP_FLOOR_SQL, ksGroupFloor],
      ] as const) {
        const t = performance.now();
        await db.query(sql);
        into.push(performance.now() - t);
      }
    }

    // Each statement of the last runs, explained once with the same parameters.
    const binPlan = await explainJson(db, binSt.sql, binSt.params);
    const ksPlan = await explainJson(db, ksSt.sql, ksSt.params);
    const oldPlan = await explainJson(db, oldSql.sql, oldSql.params);
    const countPlan = await explainJson(db, COUNT_SQL);
    const countHeapPlan = await explainJson(heapDb, COUNT_SQL);
    const settings = await db.query(
      `SELECT current_setting('work_mem') AS work_mem, current_setting('hash_mem_multiplier') AS hash_mem,
              pg_relation_size('${REFERENCE_TABLE}') AS reference_bytes`,
    );
    const s = settings.rows[0] as Record<string, unknown>;
    return {
      startupMs,
      startupCheckMs,
      startup,
      count: stats(samples.count),
      countHeap: stats(samples.countHeap),
      drift: stats(samples.drift),
      ksCheck: stats(samples.ks),
      old: stats(samples.old),
      binsOnly: stats(samples.binsOnly),
      ksFloor: stats(ksFloor),
      ksGroupFloor: stats(ksGroupFloor),
      ksSpelling: ksSpelling(ksSt.sql),
      pandasPsi: withPeer ? stats(samples.pandasPsi) : undefined,
      pandasKs: withPeer ? stats(samples.pandasKs) : undefined,
      peerPullPsi: withPeer ? stats(peerParts.psi) : undefined,
      peerPullKs: withPeer ? stats(peerParts.ks) : undefined,
      pairedDriftToPandas: withPeer ? pairedRatio(samples.drift, samples.pandasPsi) : undefined,
      pairedKsToPandas: withPeer ? pairedRatio(samples.ks, samples.pandasKs) : undefined,
      binCounts: stats(parts.binCounts),
      ks: stats(parts.ks),
      rest: stats(parts.rest),
      pairedDriftToCount: pairedRatio(samples.drift, samples.count),
      pairedDriftToCountHeap: pairedRatio(samples.drift, samples.countHeap),
      pairedBinsToCount: pairedRatio(parts.binCounts, samples.count),
      plans: {
        count: summarize(countPlan),
        countHeap: summarize(countHeapPlan),
        binCounts: { ...summarize(binPlan), tree: planTree(binPlan) },
        ks: { ...summarize(ksPlan), tree: planTree(ksPlan) },
        old: { ...summarize(oldPlan), tree: planTree(oldPlan) },
      },
      workMem: String(s.work_mem),
      hashMemMultiplier: String(s.hash_mem),
      referenceBytes: Number(s.reference_bytes),
      raw: { ...samples, ...parts },
    };
  } finally {
    if (exporter) await exporter.stop(10_000);
    await heapDb.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. exporter memory, in a fresh process per table size

/** Runs in the child: start an exporter, run the check MEM_RUNS times, report memory as one JSON line. */
function memoryChildRun(rows: number): Promise<void> {
  return memoryChild({
    rows,
    runs: MEM_RUNS,
    start: (transactions) => startBenchExporter(config(), transactions),
    async run(e) {
      await startedUp(e);
      const state = checkState(e, CHECK_ID);
      const checkMs = [(state.lastDurationSeconds ?? 0) * 1000];
      for (let i = 1; i < MEM_RUNS; i++) checkMs.push(await runChecked(e, CHECK_ID));
      if (state.runs !== MEM_RUNS) throw new Error(`the check ran ${state.runs} times, expected ${MEM_RUNS}`);
      await verifyExport(e, rows);
      return checkMs;
    },
  });
}

// ---------------------------------------------------------------------------------------------------------

async function main(dog: Watchdog): Promise<void> {
  const elapsed = () => dog.elapsed();
  const { db, version, cpus } = await openBench(URL_, APP, { title: 'data scan', schema: SCHEMA });

  let scan: Awaited<ReturnType<typeof benchScan>>;
  let drift: Awaited<ReturnType<typeof benchDrift>>;
  const memory: MemoryFigures[] = [];
  const { load, timed } = loadSteps();
  const peerWhy = await peerMissing();
  // The index is dropped while rows go in and built afterwards: maintaining it row by row is most of the cost.
  const index = (rows: number) =>
    timed('index', rows, () => db.query(`CREATE INDEX events_ts ON ${TABLE} (ts)`));
  const unindex = () => db.query(`DROP INDEX IF EXISTS ${SCHEMA}.events_ts`);
  try {
    await createTable(db);
    await timed('generate', MEM_SMALL, () => insertRows(db, 1, MEM_SMALL));
    await index(MEM_SMALL);
    // VACUUM as well: hint bits and the visibility map are set now, not during a measured run.
    await timed('vacuum', MEM_SMALL, () => db.query(`VACUUM (ANALYZE) ${TABLE}`));
    memory.push(await measureMemory(MEMORY_CHILD, MEM_SMALL, 60_000));

    await unindex();
    await timed('generate', ROWS, () => insertRows(db, MEM_SMALL + 1, ROWS));
    const indexMsPerRow = (await index(ROWS)) / ROWS;
    await timed('vacuum', ROWS, () => db.query(`VACUUM (ANALYZE) ${TABLE}`));
    scan = await benchScan(db, peerWhy === undefined);
    await timed('reference', REFERENCE_ROWS, () => createReference(db));
    drift = await benchDrift(db, peerWhy === undefined);
    await db.query(`DROP TABLE ${REFERENCE_TABLE}`);
    memory.push(await measureMemory(MEMORY_CHILD, ROWS, 60_000));

    // Beyond 1,000,000 rows the table grows by whole copies of those rows (copying is several times faster
    // than generating, and keeps every column at exactly 5 % NULLs): the first 1,000,000 rows in physical
    // order, which a serial seq scan from block 0 returns first. Then 10,000,000 rows if the rates seen so
    // far say that fits in the budget, else the next size down.
    await unindex();
    await db.query('SET synchronize_seqscans = off');
    const copy = async (rows: number) =>
      timed('copy', rows, () => db.query(`INSERT INTO ${TABLE} SELECT * FROM ${TABLE} LIMIT ${ROWS}`));
    const copyMs = await copy(2 * ROWS);
    const checkMsPerRow = (memory[1]?.checkMs.reduce((a, b) => a + b, 0) ?? 0) / ROWS;
    const need = (rows: number) =>
      1.3 * (((rows - 2 * ROWS) / ROWS) * copyMs + rows * indexMsPerRow) +
      1.5 * rows * checkMsPerRow +
      15_000;
    const target = MEM_BIG.find((rows) => elapsed() + need(rows) < DEADLINE_MS) ?? 2 * ROWS;
    for (let rows = 3 * ROWS; rows <= target; rows += ROWS) await copy(rows);
    await index(target);
    await timed('analyze', target, () => db.query(`ANALYZE ${TABLE}`));
    memory.push(await measureMemory(MEMORY_CHILD, target, Math.max(10_000, DEADLINE_MS - elapsed() - 5000)));
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await db.end().catch(() => {});
  }

  const scanToCount = scan.scan.median / scan.count.median;
  const scanToCountHeap = scan.scan.median / scan.countHeap.median;
  const perColumnToScan = scan.perColumn.median / scan.scan.median;
  const [st0, st1] = scan.statements;
  console.log(
    `table: ${count(ROWS)} rows in the last hour, ts + ${COLUMNS.length} nullable columns (7 numeric, 7 integer, 6 text, ` +
      `${(NULL_FRACTION * 100).toFixed(0)} % NULLs each), ${mib(scan.heapBytes)} heap, unlogged, vacuumed; ` +
      `loading and indexing took ${load.reduce((a, l) => a + l.seconds, 0).toFixed(1)} s in all`,
  );
  console.log('');
  console.log(
    `1. freshness + volume + ${COLUMNS.length + 1} null ratios on ${count(ROWS)} rows, ${R} rounds (interleaved, rotating order) after ${R_WARMUP} warm-up`,
  );
  console.log(`   bare count(*) (pg.Client):           ${line(scan.count)}`);
  console.log(`   count(*) reading the rows:           ${line(scan.countHeap)}`);
  console.log(
    `   mlwatch scan check (runNow):         ${line(scan.scan)}   -> scan = ${x(scanToCount)} count (median), ${x(scan.scan.p95 / scan.count.p95)} (p95); ` +
      `${x(scanToCountHeap)} count reading the rows`,
  );
  console.log(
    `   one query per column (${scan.perColumnStatements} statements): ${line(scan.perColumn)}   -> per-column = ${x(perColumnToScan)} scan (median), ${x(scan.perColumn.p95 / scan.scan.p95)} (p95)`,
  );
  console.log(
    `   per round: scan / count ${perRound(scan.pairedScanToCount)}; scan / count reading the rows ${perRound(scan.pairedScanToCountHeap)}; ` +
      `per-column / scan ${perRound(scan.pairedPerColumnToScan)}`,
  );
  console.log(
    `   scan <= 2.5x bare count(*): ${pass(scanToCount <= 2.5)} (${x(scanToCount)}); ` +
      `scan <= 2.5x count(*) reading the rows: ${pass(scanToCountHeap <= 2.5)} (${x(scanToCountHeap)}); ` +
      `per-column >= 5x scan: ${pass(perColumnToScan >= 5)} (${x(perColumnToScan)})`,
  );
  if (scan.pandas && scan.pandasPull) {
    const scanToPeer = scan.scan.median / scan.pandas.median;
    console.log(
      `   pandas peer (3 runs after the rounds: the window's rows into pandas, count, newest ts, NULL shares): ${line(scan.pandas)}; ` +
        `pulling ${ms(scan.pandasPull.median)} ms; scan / peer ${x(scanToPeer)}: <= 0.5x ${pass(scanToPeer <= 0.5)}`,
    );
  } else console.log(`   pandas peer: not run: ${peerWhy}`);
  console.log(
    `   each check run sent ${scan.statementsPerRun} statements in one read-only transaction (plus BEGIN, set_config, COMMIT): ` +
      `information_schema.columns (${st0?.rows ?? '?'} rows, for columns: all), then the scan (${st1?.rows ?? '?'} row); ` +
      `${EXPECTED_SERIES} series, rows and null ratios checked against the table`,
  );
  console.log(
    `   inside a check run (medians): information_schema ${ms(scan.columnsQuery.median)} ms, the scan statement ${ms(scan.scanStatement.median)} ms, ` +
      `the rest ${ms(scan.scan.median - scan.columnsQuery.median - scan.scanStatement.median)} ms ` +
      '(pool, BEGIN READ ONLY, set_config, COMMIT, samples)',
  );
  console.log(
    `   plans (EXPLAIN ANALYZE once each, its own timing overhead included; max_parallel_workers_per_gather=${scan.parallelWorkersPerGather}, jit=${scan.jit}):`,
  );
  console.log(`     bare count(*):             ${planLine(scan.plans.count)}`);
  console.log(`     count(*) reading the rows: ${planLine(scan.plans.countHeap)}`);
  console.log(`     the check's scan:          ${planLine(scan.plans.scan)}`);
  console.log(`     one column's query:        ${planLine(scan.plans.perColumn)}`);

  const small = memory[0] as MemoryFigures;
  const big = memory.at(-1) as MemoryFigures;
  console.log('');
  console.log(
    `2. exporter memory, a fresh process per size (${small.gc ? 'after a full GC, --expose-gc' : 'no --expose-gc: without a GC first'}), ${MEM_RUNS} check runs each` +
      (big.rows !== MEM_BIG[0]
        ? `; the largest is ${count(big.rows)} rows, not ${count(MEM_BIG[0] as number)}: loading more would not have fit in ${DEADLINE_MS / 1000} s`
        : ''),
  );
  const memoryFigures = memoryReport(memory, {
    noun: 'rows',
    runs: MEM_RUNS,
    largestPlanned: MEM_BIG[0] as number,
  });

  const driftToCount = drift.drift.median / drift.count.median;
  const driftToCountHeap = drift.drift.median / drift.countHeap.median;
  const binsToCount = drift.binCounts.median / drift.count.median;
  const binsToCountHeap = drift.binCounts.median / drift.countHeap.median;
  const ksToCount = drift.ks.median / drift.count.median;
  const oldToCount = drift.old.median / drift.count.median;
  const floorToCount = drift.binsOnly.median / drift.count.median;
  console.log('');
  console.log(
    `3. drift of ${DRIFT_FEATURES.length} features (4 numeric, 3 integer, 3 text; KS on the ${DRIFT_NUMERIC.length} numeric) over the 1h window ` +
      `(${count(ROWS)} rows) against ${REFERENCE_TABLE} (${count(REFERENCE_ROWS)} rows copied from the table, ${mib(drift.referenceBytes)}), ` +
      `reference bins cached; ${R_DRIFT} rounds (interleaved, rotating order; the old statement in the first ${R_OLD}) after the start-up run`,
  );
  console.log(
    `   start-up run of both checks (computes the reference, then runs): ` +
      drift.startup.map((st) => `${st.statement} ${ms(st.ms)} ms`).join(', '),
  );
  console.log(`   bare count(*) (pg.Client):                 ${line(drift.count)}`);
  console.log(`   count(*) reading the rows:                 ${line(drift.countHeap)}`);
  console.log(
    `   ${DRIFT_CHECK_ID} (runNow, PSI/JS): ${line(drift.drift)}   -> ${x(driftToCount)} count (median), ` +
      `${x(drift.drift.p95 / drift.count.p95)} (p95); ${x(driftToCountHeap)} count reading the rows`,
  );
  console.log(
    `     its one statement, the bin counts:       ${line(drift.binCounts)}   -> ${x(binsToCount)} count; ${x(binsToCountHeap)} count reading the rows; ` +
      `the rest of a run median ${ms(drift.rest.median)} ms`,
  );
  console.log(
    `   the old bin-count statement (unpivot):     ${line(drift.old)}   -> ${x(oldToCount)} count; new / old ${x(drift.binCounts.median / drift.old.median)}`,
  );
  console.log(
    `   floor: the same bins computed, not counted: ${line(drift.binsOnly)}   -> ${x(floorToCount)} count; ` +
      `bin statement / floor ${x(drift.binCounts.median / drift.binsOnly.median)}`,
  );
  console.log(
    `   ${KS_CHECK_ID} (runNow, every ks_interval): ${line(drift.ksCheck)}   -> ${x(drift.ksCheck.median / drift.count.median)} count; ` +
      `its KS statement ${x(ksToCount)} count`,
  );
  if (
    drift.pandasPsi &&
    drift.pandasKs &&
    drift.peerPullPsi &&
    drift.peerPullKs &&
    drift.pairedDriftToPandas &&
    drift.pairedKsToPandas
  ) {
    const driftToPeer = drift.drift.median / drift.pandasPsi.median;
    const ksToPeer = drift.ksCheck.median / drift.pandasKs.median;
    console.log(
      `   pandas peer, PSI of the ${DRIFT_FEATURES.length} features (numpy):   ${line(drift.pandasPsi)}; pulling ${ms(drift.peerPullPsi.median)} ms (the reference's ${count(REFERENCE_ROWS)} rows every run)`,
    );
    console.log(
      `   pandas peer, KS of the ${DRIFT_NUMERIC.length} numeric (ks_2samp): ${line(drift.pandasKs)}; pulling ${ms(drift.peerPullKs.median)} ms`,
    );
    console.log(
      `   drift check / peer PSI ${x(driftToPeer)} (per round ${perRound(drift.pairedDriftToPandas)}): <= 0.5x ${pass(driftToPeer <= 0.5)}, < 1x ${pass(driftToPeer < 1)}; ` +
        `KS check / peer KS ${x(ksToPeer)} (per round ${perRound(drift.pairedKsToPandas)}): <= 0.5x ${pass(ksToPeer <= 0.5)}, < 1x ${pass(ksToPeer < 1)}; the peer's PSI and KS are 0 too`,
    );
    console.log(
      `   KS floors, nothing computed: by row, both samples' (feature, value) rows sorted ${line(drift.ksFloor)} ` +
        `-> ${x(drift.ksFloor.median / drift.pandasKs.median)} the peer; by value, the pairs counted ${line(drift.ksGroupFloor)} ` +
        `-> ${x(drift.ksGroupFloor.median / drift.pandasKs.median)} the peer; the timed KS statement spells its features ${drift.ksSpelling} ` +
        `and is ${x(drift.ks.median / (drift.ksSpelling === 'by value' ? drift.ksGroupFloor : drift.ksFloor).median)} that floor`,
    );
  } else {
    console.log(`   pandas peer: not run: ${peerWhy}`);
  }
  console.log(
    `   per round: drift / count ${perRound(drift.pairedDriftToCount)}; drift / count reading the rows ${perRound(drift.pairedDriftToCountHeap)}; ` +
      `bin statement / count ${perRound(drift.pairedBinsToCount)}`,
  );
  console.log(
    `   drift (PSI/JS, cached bins) <= ${DRIFT_LIMIT}x bare count(*): ${pass(driftToCount <= DRIFT_LIMIT)} (${x(driftToCount)}); ` +
      `<= ${DRIFT_LIMIT}x count(*) reading the rows: ${pass(driftToCountHeap <= DRIFT_LIMIT)} (${x(driftToCountHeap)}); ` +
      `KS is outside this target (its own check and schedule)`,
  );
  console.log(
    `   the floor (bins computed, not counted) <= ${DRIFT_LIMIT}x bare count(*): ${pass(floorToCount <= DRIFT_LIMIT)} (${x(floorToCount)}): ` +
      `when this fails, no exact statement that bins every row can meet the target on this server`,
  );
  console.log(
    `   every run: ${DRIFT_SERIES} + ${KS_SERIES} series; sample_rows, PSI, JS and KS (all 0: the reference has the window's distribution) checked`,
  );
  console.log(
    `   plans (EXPLAIN ANALYZE once each; work_mem=${drift.workMem}, hash_mem_multiplier=${drift.hashMemMultiplier}, jit=${scan.jit}):`,
  );
  console.log(`     bare count(*):            ${planLine(drift.plans.count)}`);
  console.log(`     count(*) reading the rows: ${planLine(drift.plans.countHeap)}`);
  for (const [name, p] of [
    ['bin-count statement', drift.plans.binCounts],
    ['KS statement       ', drift.plans.ks],
    ['old bin statement  ', drift.plans.old],
  ] as const) {
    console.log(`     ${name}: ${planLine(p)}`);
    for (const t of p.tree) console.log(`       ${t}`);
  }

  const report = {
    at: new Date().toISOString(),
    postgres: version,
    node: process.version,
    cpus,
    seconds: round3(elapsed() / 1000),
    table: {
      rows: ROWS,
      columns: COLUMNS.map((c) => ({ name: c.name, type: c.type })),
      nullFraction: NULL_FRACTION,
      heapBytes: scan.heapBytes,
      load,
    },
    scan: {
      rounds: R,
      warmup: R_WARMUP,
      maxParallelWorkersPerGather: scan.parallelWorkersPerGather,
      sharedBuffers: scan.sharedBuffers,
      jit: scan.jit,
      statementsPerCheckRun: scan.statementsPerRun,
      checkStatements: scan.statements,
      perColumnStatements: scan.perColumnStatements,
      checkLastDurationMs: round3(scan.checkLastDurationMs),
      columnsQueryMs: rounded(scan.columnsQuery),
      scanStatementMs: rounded(scan.scanStatement),
      countMs: rounded(scan.count),
      countReadingRowsMs: rounded(scan.countHeap),
      scanMs: rounded(scan.scan),
      perColumnMs: rounded(scan.perColumn),
      pandasMs: scan.pandas && rounded(scan.pandas),
      pandasPullMs: scan.pandasPull && rounded(scan.pandasPull),
      ratioScanToCount: {
        median: scanToCount,
        p95: scan.scan.p95 / scan.count.p95,
        pairedMedian: scan.pairedScanToCount.median,
        limit: 2.5,
        pass: scanToCount <= 2.5,
      },
      ratioScanToCountReadingRows: {
        median: scanToCountHeap,
        p95: scan.scan.p95 / scan.countHeap.p95,
        pairedMedian: scan.pairedScanToCountHeap.median,
        limit: 2.5,
        pass: scanToCountHeap <= 2.5,
      },
      ratioPerColumnToScan: {
        median: perColumnToScan,
        p95: scan.perColumn.p95 / scan.scan.p95,
        pairedMedian: scan.pairedPerColumnToScan.median,
        atLeast: 5,
        pass: perColumnToScan >= 5,
      },
      plans: scan.plans,
      rawMs: {
        count: scan.raw.count.map(round3),
        countReadingRows: scan.raw.countHeap.map(round3),
        scan: scan.raw.scan.map(round3),
        perColumn: scan.raw.perColumn.map(round3),
      },
    },
    drift: {
      features: DRIFT_FEATURES,
      current: '1h',
      reference: { table: REFERENCE_TABLE, rows: REFERENCE_ROWS, bytes: drift.referenceBytes },
      rounds: R_DRIFT,
      series: DRIFT_SERIES,
      workMem: drift.workMem,
      startupCheckMs: round3(drift.startupCheckMs),
      startupStatements: drift.startup.map((st) => ({ ...st, ms: round3(st.ms) })),
      countMs: rounded(drift.count),
      countReadingRowsMs: rounded(drift.countHeap),
      driftMs: rounded(drift.drift),
      binCountsMs: rounded(drift.binCounts),
      ksCheckMs: rounded(drift.ksCheck),
      ksMs: rounded(drift.ks),
      oldBinCountsMs: rounded(drift.old),
      binsOnlyMs: rounded(drift.binsOnly),
      ksFloorMs: rounded(drift.ksFloor),
      ksGroupFloorMs: rounded(drift.ksGroupFloor),
      ksSpelling: drift.ksSpelling,
      pandasPsiMs: drift.pandasPsi && rounded(drift.pandasPsi),
      pandasKsMs: drift.pandasKs && rounded(drift.pandasKs),
      ratioBinsOnlyToCount: floorToCount,
      ratioOldBinCountsToCount: oldToCount,
      restMs: rounded(drift.rest),
      ratioDriftToCount: {
        median: driftToCount,
        p95: drift.drift.p95 / drift.count.p95,
        pairedMedian: drift.pairedDriftToCount.median,
        limit: DRIFT_LIMIT,
        pass: driftToCount <= DRIFT_LIMIT,
      },
      ratioDriftToCountReadingRows: {
        median: driftToCountHeap,
        p95: drift.drift.p95 / drift.countHeap.p95,
        pairedMedian: drift.pairedDriftToCountHeap.median,
        limit: DRIFT_LIMIT,
        pass: driftToCountHeap <= DRIFT_LIMIT,
      },
      ratioBinCountsToCount: binsToCount,
      ratioBinCountsToCountReadingRows: binsToCountHeap,
      ratioKsToCount: ksToCount,
      plans: drift.plans,
      rawMs: Object.fromEntries(Object.entries(drift.raw).map(([k, v]) => [k, v.map(round3)])),
    },
    memory: memoryFigures.json,
  };
  writeFigures(OUT_FILE, report, elapsed() / 1000);
}

runBench({
  memory: MEMORY_CHILD,
  url: URL_,
  schema: SCHEMA,
  deadlineMs: DEADLINE_MS,
  child: memoryChildRun,
  main,
});
