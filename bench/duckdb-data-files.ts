/**
 * The rows of bench/duckdb-data-kinds.ts, written by DuckDB as Parquet (what the checks read, through
 * warehouse.files) and as CSV (what the pandas peer reads: pandas has no Parquet engine here). Each table has the
 * shape and size of the PostgreSQL bench whose figures are printed beside it, so the two compare:
 * - `events`: bench/data-scan.ts's table, 1,000,000 rows over the 50 minutes before the write, `ts` and 20
 *   nullable columns (7 decimal(12, 2), 7 integer, 6 text; column k NULL where (7i + k) % 20 = 0), and a
 *   100,000-row `reference` of the same columns drawn from shifted ranges (data-scan.ts copies the table's first
 *   rows, which makes every PSI, JS and KS 0; a shift makes them say something);
 * - `dup_events`: bench/peer-kinds-tables.ts's events (1,000,000 over 23 hours, 10,000 ids repeated, 1,000 NULL);
 * - `predictions` and `labels`: bench/model-auc.ts's (1,000,000 over 13 days, each labeled 1 to 24 hours later),
 *   but every 1,000th label stamped 1 to 24 hours before its prediction, so the leakage count is not 0;
 * - `runs`: peer-kinds-tables.ts's runs of job `bench` (1,000,000 over 70 hours);
 * - `requests`: bench/jobs-serving.ts's (1,000,000 over 23 hours, latency 20 to 1,020 ms, every 50th a 503);
 * - `decisions`: bench/kpi.ts's (1,000,000 over 29 days, approved with probability 0.6).
 * Ages keep `gapS` clear below every window's edge (bench/window-gaps.ts) where a window's edge is near the rows,
 * so the check and the peer, seconds apart, count the same rows. Seeded: every run writes the same values.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_WINDOWS } from '../src/checks/kpi/section.js';
import { DUPLICATED_IDS, JOB_WINDOWS_S, REFERENCE_ROWS, ROWS } from './peer-kinds-tables.js';
import { ageAvoiding, gapsBelow } from './window-gaps.js';

export { DUPLICATED_IDS, ROWS };

const HOUR = 3_600;
const DAY = 86_400;
const WEEK = 7 * DAY;
const ISO = "'%Y-%m-%dT%H:%M:%S.%fZ'";
/** A timestamp `age` seconds (a SQL expression) before the write, to the microsecond. */
const ago = (age: string) => `now() - to_microseconds(((${age}) * 1000000)::bigint)`;
/** Row i's share of the table, in (0, 1): evenly spread, no draw. */
const share = (rows: number) => `(i - 0.5) / ${rows}`;

/** Writes table `t` (a DuckDB table) as `<dir><name>.parquet` and as `<dir><name>.csv` with timestamps in ISO form. */
async function both(c: DuckDBConnection, dir: string, t: string, name: string): Promise<void> {
  await c.run(`COPY ${t} TO '${dir}${name}.parquet' (FORMAT parquet)`);
  const columns = (await c.runAndReadAll(`DESCRIBE ${t}`)).getRowObjectsJS();
  const select = columns
    .map(({ column_name, column_type: type }) => {
      const n = `"${String(column_name)}"`; // quoted: \`at\` is a keyword in DuckDB
      return String(type).startsWith('TIMESTAMP') ? `strftime(${n}, ${ISO}) AS ${n}` : n;
    })
    .join(', ');
  await c.run(`COPY (SELECT ${select} FROM ${t}) TO '${dir}${name}.csv' (FORMAT csv, HEADER)`);
}

/** data-scan.ts's 20 columns, and the reference's shifted versions of them (moduli and offsets changed). */
const COLUMNS = [
  ...[31, 37, 41, 43, 47, 53, 59].map((p, j) => ({
    name: `amount_${j + 1}`,
    value: `round(((i * ${p}) % 100000) / 100.0, 2)::DECIMAL(12, 2)`,
    reference: `round(((i * ${p}) % 90000) / 100.0 + 25, 2)::DECIMAL(12, 2)`,
  })),
  ...[61, 67, 71, 73, 79, 83, 89].map((p, j) => ({
    name: `count_${j + 1}`,
    value: `((i * ${p}) % 10000)::INTEGER`,
    reference: `((i * ${p}) % 9000 + 500)::INTEGER`,
  })),
  ...[97, 101, 103, 107, 109, 113].map((p, j) => ({
    name: `label_${j + 1}`,
    value: `'cat_' || ((i * ${p}) % 50)`,
    reference: `'cat_' || ((i * ${p}) % 45)`,
  })),
];
export const EVENT_COLUMNS = COLUMNS.map((c) => c.name);

export async function writeEvents(c: DuckDBConnection, dir: string): Promise<void> {
  const cols = (which: 'value' | 'reference') =>
    COLUMNS.map(
      (col, k) => `CASE WHEN (i * 7 + ${k + 1}) % 20 = 0 THEN NULL ELSE ${col[which]} END AS ${col.name}`,
    );
  await c.run(`CREATE OR REPLACE TABLE events AS
    SELECT ${ago(`1 + 3000 * ${share(ROWS)}`)} AS ts, ${cols('value').join(', ')} FROM range(1, ${ROWS + 1}) t(i)`);
  await c.run(`CREATE OR REPLACE TABLE reference AS
    SELECT ${cols('reference').join(', ')} FROM range(1, ${REFERENCE_ROWS + 1}) t(i)`);
  await both(c, dir, 'events', 'events');
  await both(c, dir, 'reference', 'reference');
}

export async function writeDuplicateEvents(c: DuckDBConnection, dir: string): Promise<void> {
  await c.run('SELECT setseed(0.14)');
  await c.run(`CREATE OR REPLACE TABLE dup_events AS
    SELECT CASE WHEN i % 1000 = 555 THEN NULL WHEN i % 100 = 0 THEN i - 1 ELSE i END AS id,
           ${ago(`1 + ${23 * HOUR} * random()`)} AS ingested_at, 1 + (i * 7919) % 50000 AS customer_id,
           round(10 + 990 * random(), 2)::DECIMAL(12, 2) AS amount,
           (['car', 'home', 'education', 'business'])[1 + i % 4] AS purpose
    FROM range(1, ${ROWS + 1}) t(i)`);
  await both(c, dir, 'dup_events', 'dup_events');
}

export async function writeLabels(c: DuckDBConnection, dir: string): Promise<void> {
  await c.run('SELECT setseed(0.15)');
  await c.run(`CREATE OR REPLACE TABLE predictions AS
    SELECT i AS key, ${ago(`1 + ${13 * DAY} * random()`)} AS ts, ((i * 7919) % 10000000 + 0.5) / 10000000.0 AS s
    FROM range(1, ${ROWS + 1}) t(i)`);
  // A leak every 1,000th key: the label stamped before its prediction.
  await c.run(`CREATE OR REPLACE TABLE labels AS
    SELECT key, CASE WHEN key % 1000 = 0 THEN ts - INTERVAL 1 HOUR - INTERVAL 23 HOUR * random()
                     ELSE ts + INTERVAL 1 HOUR + INTERVAL 23 HOUR * random() END AS lt,
           (random() < s)::INTEGER AS y
    FROM predictions`);
  await both(c, dir, 'predictions', 'predictions');
  await both(c, dir, 'labels', 'labels');
}

const LONGEST_RUN_S = 609;

/** peer-kinds-tables.ts's runs: statuses by i, started 11 minutes to 70 hours before, none near an edge. */
export async function writeRuns(c: DuckDBConnection, dir: string, gapS: number): Promise<void> {
  const gaps = gapsBelow(Object.values(JOB_WINDOWS_S), gapS);
  gaps.push({ from: DAY - gapS, to: DAY + LONGEST_RUN_S + 1 }); // no run ends near the p95's 1d edge
  const age = ageAvoiding('u', 11 * 60, 70 * HOUR + 11 * 60, gaps);
  await c.run(`CREATE OR REPLACE TABLE runs AS
    SELECT i AS id, 'bench' AS job,
           CASE WHEN i % 100 = 0 THEN 'running' WHEN i % 33 = 0 THEN 'failed' WHEN i % 97 = 0 THEN NULL ELSE 'success' END AS status,
           ${ago('a')} AS started_at,
           CASE WHEN i % 100 = 0 THEN NULL ELSE ${ago(`a - (10 + i % 600)`)} END AS finished_at
    FROM (SELECT i, ${age} AS a FROM (SELECT i, ${share(ROWS)} AS u FROM range(1, ${ROWS + 1}) t(i)))`);
  await both(c, dir, 'runs', 'runs');
}

/** The serving check's default windows, in seconds. */
export const SERVING_WINDOWS_S: Record<string, number> = {
  '5m': 300,
  '30m': 1_800,
  '1h': HOUR,
  '6h': 6 * HOUR,
  '1d': DAY,
};

/** jobs-serving.ts's requests, ages spread evenly over 23 hours but for the gaps. */
export async function writeRequests(c: DuckDBConnection, dir: string, gapS: number): Promise<void> {
  const age = ageAvoiding('u', 1, 23 * HOUR, gapsBelow(Object.values(SERVING_WINDOWS_S), gapS));
  await c.run(`CREATE OR REPLACE TABLE requests AS
    SELECT i AS id, ${ago(age)} AS at, (20 + ((i * 7919) % 100000) / 100.0)::DOUBLE AS latency_ms,
           CASE WHEN i % 50 = 0 THEN 503 ELSE 200 END AS status
    FROM (SELECT i, ${share(ROWS)} AS u FROM range(1, ${ROWS + 1}) t(i))`);
  await both(c, dir, 'requests', 'requests');
}

export const KPI_WEEKS = 4;

/** kpi.ts's decisions: uniform over 29 days, no row near the edge of any of the 25 periods. */
export async function writeDecisions(c: DuckDBConnection, dir: string, gapS: number): Promise<void> {
  const edges = DEFAULT_WINDOWS.flatMap((w) =>
    Array.from({ length: KPI_WEEKS + 1 }, (_, k) => [k * WEEK + w.ms / 1000, k * WEEK]).flat(),
  );
  const age = ageAvoiding('u', 1, 29 * DAY, gapsBelow([...new Set(edges)], gapS));
  await c.run('SELECT setseed(0.16)');
  await c.run(`CREATE OR REPLACE TABLE decisions AS
    SELECT ${ago(age)} AS decided_at, random() < 0.6 AS approved
    FROM (SELECT i, ((i * 7919) % ${ROWS} + 0.5) / ${ROWS} AS u FROM range(1, ${ROWS + 1}) t(i))`);
  await both(c, dir, 'decisions', 'decisions');
}
