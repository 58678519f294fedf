/**
 * mlwatch bench: the system-layer checks on 1,000,000 rows each, against bare scans of the same rows in the
 * same run.
 * (1) A job check (runs by outcome for 7 windows, success ratios, last success, last and p95 duration, runs in
 *     progress: one statement) on a 1,000,000-row runs table, against `count(*)` of the job's runs in the
 *     widest window and against the p95 duration alone (one sort of the last day's runs).
 * (2) A serving check (requests, errors, slow ratio and 3 latency percentiles for 5 windows: one statement) on
 *     1,000,000 requests, against `count(*)` of the widest window and against one `percentile_cont` over it
 *     (one sort: the floor of any exact percentile).
 * Runs against a real PostgreSQL in a schema of its own (mlwatch_bench_system, dropped at the start and at the
 * end); see bench/README.md.
 *
 *   npx tsx bench/jobs-serving.ts   (MLWATCH_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Exporter } from '../src/runtime/exporter.js';
import {
  benchConfig,
  connectOrExit,
  count,
  finish,
  runChecked,
  startBenchExporter,
  startedUp,
  Watchdog,
} from './harness.js';
import { type PeerResult, peerMissing, runPeer } from './pandas-peer.js';
import { line, type Stats, stats, x } from './stats.js';

const URL_ = process.env.MLWATCH_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = 'mlwatch_bench_system';
const ROWS = 1_000_000;
const R = 7; // timed rounds, after one untimed warm-up of every side
const DEADLINE_MS = 240_000;
const APP = `mlwatch-bench-system-${process.pid}`;
const OUT_FILE = fileURLToPath(new URL('../.bench/jobs-serving.json', import.meta.url));

// Runs: all of job 'bench', started over the 70 hours before the load ended an hour ago or more, 10 to 609 s
// long. Run i is running when i % 100 = 0, else failed when i % 33 = 0, NULL status when i % 97 = 0.
const RUN_OUTCOME = (i: number) =>
  i % 100 === 0 ? 'running' : i % 33 === 0 || i % 97 === 0 ? 'failure' : 'success';
// Requests over the 23 hours before the load; latency 20 to 1019.99 ms; every 50th a 503.
const ERROR_EVERY = 50;

const RUNS_COUNT_SQL = `SELECT count(*) AS n FROM ${SCHEMA}.runs
WHERE job = 'bench' AND started_at >= now() - interval '3 days' AND started_at < now()`;
// The p95 duration alone, spelled as the check spells it: the one sort the job check cannot avoid (and what
// keeps its aggregate serial).
const RUNS_SORT_SQL = `SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY date_part('epoch', finished_at - started_at)) AS n
FROM ${SCHEMA}.runs WHERE job = 'bench' AND finished_at >= now() - interval '1 day' AND finished_at < now()`;
const REQ_COUNT_SQL = `SELECT count(*) AS n FROM ${SCHEMA}.requests
WHERE at >= now() - interval '1 day' AND at < now()`;
const REQ_SORT_SQL = `SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS n FROM ${SCHEMA}.requests
WHERE at >= now() - interval '1 day' AND at < now()`;

async function load(db: pg.Client): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.query(`CREATE SCHEMA ${SCHEMA}`);
  // UNLOGGED and no autovacuum, as in data-scan.ts: no WAL on load, no worker waking up mid-round. No
  // indexes: every side reads the same heap pages.
  await db.query(`CREATE UNLOGGED TABLE ${SCHEMA}.runs (id bigint, job text, status text,
    started_at timestamptz, finished_at timestamptz) WITH (autovacuum_enabled = off)`);
  await db.query(
    `INSERT INTO ${SCHEMA}.runs
    SELECT i, 'bench',
           CASE WHEN i % 100 = 0 THEN 'running' WHEN i % 33 = 0 THEN 'failed' WHEN i % 97 = 0 THEN NULL ELSE 'success' END,
           now() - interval '1 hour' - interval '70 hours' * (i::float8 / $1),
           CASE WHEN i % 100 = 0 THEN NULL
                ELSE now() - interval '1 hour' - interval '70 hours' * (i::float8 / $1) + make_interval(secs => 10 + i % 600) END
    FROM generate_series(1, $1::int) AS i`,
    [ROWS],
  );
  await db.query(`CREATE UNLOGGED TABLE ${SCHEMA}.requests (id bigint, at timestamptz, latency_ms float8,
    status integer) WITH (autovacuum_enabled = off)`);
  await db.query(
    `INSERT INTO ${SCHEMA}.requests
    SELECT i, now() - interval '1 second' - interval '23 hours' * (i::float8 / $1),
           20 + ((i::bigint * 7919) % 100000) / 100.0, CASE WHEN i % ${ERROR_EVERY} = 0 THEN 503 ELSE 200 END
    FROM generate_series(1, $1::int) AS i`,
    [ROWS],
  );
  await db.query(`VACUUM ANALYZE ${SCHEMA}.runs`);
  await db.query(`VACUUM ANALYZE ${SCHEMA}.requests`);
}

function exporter(): Exporter {
  const body = `jobs:
  - name: bench
    table: ${SCHEMA}.runs
    job_column: job
    status_column: status
    started_column: started_at
    finished_column: finished_at
    interval: 1h
serving:
  - name: bench
    table: ${SCHEMA}.requests
    timestamp: at
    latency: { column: latency_ms, unit: ms }
    status: { column: status }
    interval: 1h
`;
  return startBenchExporter(benchConfig({ url: URL_, app: APP, statementTimeout: '120s' }, body));
}

/** The exported value of one series, from the exposition text. */
async function exported(e: Exporter, name: string, labels: string): Promise<number> {
  const text = await e.metricsText();
  const m = text.match(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm'));
  if (!m) throw new Error(`no ${name}{${labels}} exported`);
  return Number(m[1]);
}

/** The answers the exports must match, computed here from the generator's rules, not from SQL. */
async function verify(e: Exporter): Promise<void> {
  const want = { success: 0, failure: 0, running: 0 };
  for (let i = 1; i <= ROWS; i++) want[RUN_OUTCOME(i)]++;
  for (const [outcome, n] of Object.entries(want)) {
    const got = await exported(e, 'mlwatch_job_runs', `job_name="bench",window="3d",outcome="${outcome}"`);
    if (got !== n) throw new Error(`mlwatch_job_runs{outcome="${outcome}"} is ${got}, expected ${n}`);
  }
  const req = await exported(e, 'mlwatch_serving_requests', 'service_name="bench",window="1d"');
  const err = await exported(e, 'mlwatch_serving_errors', 'service_name="bench",window="1d"');
  if (req !== ROWS || err !== ROWS / ERROR_EVERY)
    throw new Error(
      `serving saw ${req} requests and ${err} errors, expected ${ROWS} and ${ROWS / ERROR_EVERY}`,
    );
}

// The serving check's default windows, in seconds, and the rows its peer pulls: the widest window's requests
// with their age before now(), so the peer selects each window as the check does (t >= now() - w).
const SERVING_WINDOWS_S = [300, 1800, 3600, 21_600, 86_400];
const REQ_PULL_SQL = `SELECT extract(epoch FROM now() - at)::float8 AS age, latency_ms, status FROM ${SCHEMA}.requests
WHERE at >= now() - interval '1 day' AND at < now()`;

/** The peer's figures of the day against the check's: the counts exactly, the percentiles to a nanosecond. */
async function verifyPeer(e: Exporter, peer: PeerResult): Promise<void> {
  const v = peer.values;
  if (v.requests_86400 !== ROWS || v.errors_86400 !== ROWS / ERROR_EVERY)
    throw new Error(`the pandas peer saw ${v.requests_86400} requests and ${v.errors_86400} errors`);
  for (const q of ['50', '95', '99']) {
    const check = await exported(
      e,
      'mlwatch_serving_latency_seconds',
      `service_name="bench",window="1d",percentile="${q}"`,
    );
    const want = v[`p${q}_86400`];
    if (want === undefined || !(Math.abs(check - want) <= 1e-9))
      throw new Error(`the serving check's p${q} is ${check}, numpy computed ${want} from the same rows`);
  }
  console.log('  the pandas peer: the same requests, errors and p50/p95/p99 over 1d as the check');
}

async function timeQuery(db: pg.Client, sql: string, expectN?: number): Promise<number> {
  const t0 = performance.now();
  const r = await db.query(sql);
  const t = performance.now() - t0;
  if (expectN !== undefined && Number(r.rows[0]?.n) !== expectN)
    throw new Error(`${sql.split('\n')[0]}: got ${r.rows[0]?.n}, expected ${expectN}`);
  return t;
}

/** Rounds of every side in a rotating order; per-round ratios of `measured` over each baseline. */
async function rounds(sides: Record<string, () => Promise<number>>): Promise<Record<string, number[]>> {
  const names = Object.keys(sides);
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await sides[n]?.(); // warm-up
  for (let r = 0; r < R; r++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(r + k) % names.length] as string;
      out[n]?.push(await (sides[n] as () => Promise<number>)());
    }
  }
  return out;
}

function report(title: string, samples: Record<string, number[]>, measured: string) {
  console.log(`\n${title}`);
  const s: Record<string, Stats> = {};
  for (const [n, v] of Object.entries(samples)) {
    s[n] = stats(v);
    console.log(`  ${n.padEnd(24)} ${line(s[n] as Stats)}`);
  }
  const ratios: Record<string, { median: number; perRound: number }> = {};
  for (const n of Object.keys(samples)) {
    if (n === measured) continue;
    const perRound = stats(
      (samples[measured] as number[]).map((v, i) => v / ((samples[n] as number[])[i] as number)),
    ).median;
    const median = (s[measured] as Stats).median / (s[n] as Stats).median;
    ratios[n] = { median, perRound };
    console.log(`  ${measured} = ${x(median)} ${n} (per round ${x(perRound)})`);
  }
  return { stats: s, ratios, samples };
}

async function main(): Promise<void> {
  // At the deadline: end this run's connections, drop its schema, exit 1.
  new Watchdog({ url: URL_, app: APP, schema: SCHEMA }, DEADLINE_MS);
  const db: pg.Client = await connectOrExit(URL_, APP);
  const version = String((await db.query('SHOW server_version')).rows[0]?.server_version ?? '?');
  console.log(
    `mlwatch bench: jobs and serving (Postgres ${version}, node ${process.version}, ${os.availableParallelism()} CPUs)`,
  );
  let e: Exporter | undefined;
  try {
    const t0 = performance.now();
    await load(db);
    console.log(
      `loaded ${count(ROWS)} runs and ${count(ROWS)} requests in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    e = exporter();
    await startedUp(e);
    await verify(e);
    const ex = e;
    const jobs = report(
      `1. job check (7 windows x 3 outcomes, ratios, last success, last + p95 duration, in progress) on ${count(ROWS)} runs`,
      await rounds({
        'bare count(*)': () => timeQuery(db, RUNS_COUNT_SQL, ROWS),
        'one percentile_cont': () => timeQuery(db, RUNS_SORT_SQL),
        'job check': () => runChecked(ex, 'job:bench'),
      }),
      'job check',
    );
    // What users do instead: the day's requests into pandas, the same figures per window in numpy.
    const peerWhy = await peerMissing();
    let lastPeer: PeerResult | undefined;
    const servingPeer = async () => {
      lastPeer = await runPeer({
        url: URL_,
        kind: 'serving',
        sql: REQ_PULL_SQL,
        windows: SERVING_WINDOWS_S,
        objective_ms: 500,
      });
      return lastPeer.pullMs + lastPeer.computeMs;
    };
    const serving = report(
      `2. serving check (5 windows: requests, errors, slow ratio, p50/p95/p99) on ${count(ROWS)} requests`,
      await rounds({
        'bare count(*)': () => timeQuery(db, REQ_COUNT_SQL, ROWS),
        'one percentile_cont': () => timeQuery(db, REQ_SORT_SQL),
        ...(peerWhy === undefined ? { 'pandas peer': servingPeer } : {}),
        'serving check': () => runChecked(ex, 'serving:bench'),
      }),
      'serving check',
    );
    if (lastPeer) await verifyPeer(ex, lastPeer);
    else console.log(`  pandas peer: not run: ${peerWhy}`);
    mkdirSync(fileURLToPath(new URL('../.bench/', import.meta.url)), { recursive: true });
    writeFileSync(OUT_FILE, JSON.stringify({ version, rows: ROWS, rounds: R, jobs, serving }, null, 2));
    console.log(`\nraw samples: ${OUT_FILE}`);
  } finally {
    await e?.stop(5000);
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await db.end();
  }
}

finish(main());
