/**
 * mlwatch bench: scrape latency with 10,000 cached series while checks run, and the collection overhead of a
 * custom query against a 1,000,000-row table. Runs against a real PostgreSQL, in a schema of its own
 * (mlwatch_bench, dropped at the start and at the end). Figures are ratios against a baseline measured in
 * the same run, with the raw milliseconds beside them; see bench/README.md.
 *
 *   npm run bench            (MLWATCH_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { type LoadedConfig, loadConfigText } from '../src/config/load.js';
import { Exporter } from '../src/runtime/exporter.js';
import { type Running, serve } from '../src/runtime/serve.js';
import { createPgWriter } from '../src/warehouse/pg.js';
import type { SqlWriter } from '../src/warehouse/types.js';
import { checkState, finish, pairedRatio, round3, rounded, runChecked } from './harness.js';
import { line, ms, ratio, stats } from './stats.js';

const URL_ = process.env.MLWATCH_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = 'mlwatch_bench';
const SERIES = 10_000;
const ROWS = 1_000_000;
const N = 200; // requests per endpoint
const N_WARMUP = 20;
const R = 15; // collection runs per side
const R_WARMUP = 2;
const SLEEP_CHECKS = 3;
const DEADLINE_MS = 180_000;
const METRIC = 'bench_series_value';
const OUT_FILE = fileURLToPath(new URL('../.bench/scrape.json', import.meta.url));
const log = pino({ level: 'silent' });

// ---------------------------------------------------------------------------------------------------------
// figures

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

// serve refuses to start without a client that may post Alertmanager's webhooks; the bench never posts one, so
// the client's token is a random one nobody holds.
const ACCESS = `access:\n  clients:\n    - { name: bench, roles: [webhook], token_sha256: '${createHash('sha256').update(randomBytes(32)).digest('hex')}' }\n`;

function config(yaml: string): LoadedConfig {
  // JSON strings are valid YAML double-quoted scalars, so any URL survives.
  const text = `warehouse:\n  url: ${JSON.stringify(URL_)}\n  statement_timeout: 60s\n  pool: 4\n${ACCESS}${yaml}`;
  return loadConfigText(text, 'bench.yaml', {}, process.cwd());
}

// ---------------------------------------------------------------------------------------------------------
// 1. scrape latency with 10,000 cached series while checks run

async function timedGet(url: string): Promise<{ ms: number; ttfb: number; body: string }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const ttfb = performance.now() - t0; // the status line and headers are in; the body may still be on its way
  const body = await res.text();
  const t = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body.slice(0, 200)}`);
  return { ms: t, ttfb, body };
}

function countSeries(body: string): number {
  const needle = `\n${METRIC}{`;
  let n = 0;
  for (let i = body.indexOf(needle); i !== -1; i = body.indexOf(needle, i + needle.length)) n++;
  return n;
}

async function waitReady(base: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`${base}/readyz`);
      last = `${res.status} ${(await res.text()).trim()}`;
      if (res.status === 200) return;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) throw new Error(`/readyz not 200 after ${timeoutMs} ms; last: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function benchScrape(writer: SqlWriter) {
  await writer.exec(`CREATE TABLE ${SCHEMA}.series (k text PRIMARY KEY, v float8 NOT NULL)`);
  await writer.exec(
    `INSERT INTO ${SCHEMA}.series SELECT 'series_' || lpad(i::text, 5, '0'), random() * 1000
     FROM generate_series(1, ${SERIES}) AS i`,
  );
  await writer.exec(`ANALYZE ${SCHEMA}.series`);

  const sleepers = Array.from(
    { length: SLEEP_CHECKS },
    (_, i) => `  - name: sleep_${i + 1}
    interval: 1s
    sql: SELECT count(*) AS n FROM (SELECT pg_sleep(0.2)) AS s
    metrics: [{ name: bench_sleep_${i + 1}, help: A check that keeps the warehouse busy for 0.2 s., value: n }]
`,
  ).join('');
  const cfg = config(`defaults:
  jitter: 0.5
queries:
  - name: big
    interval: 2s
    sql: SELECT k, v FROM ${SCHEMA}.series
    metrics: [{ name: ${METRIC}, help: One series per row of a 10000-row table., labels: [k], value: v }]
${sleepers}`);

  let running: Running | undefined;
  try {
    running = await serve({ config: cfg, loadAgain: () => cfg, host: '127.0.0.1', port: 0, log });
    const exporter = running.exporter;
    const base = `http://127.0.0.1:${running.port}`;
    await waitReady(base, 30_000);
    for (const s of exporter.cachedChecks()) {
      if (s.status !== 'ok') throw new Error(`check ${s.check.id} is ${s.status}: ${s.lastError ?? ''}`);
    }

    const kinds = ['scrape', 'healthz', 'metricsText'] as const;
    type Kind = (typeof kinds)[number];
    const samples: Record<Kind | 'scrapeTtfb' | 'metricsTextEncoded', number[]> = {
      scrape: [],
      scrapeTtfb: [],
      healthz: [],
      metricsText: [],
      metricsTextEncoded: [],
    };
    let bodyBytes = 0;
    let checksBusyAtScrape = 0;
    const once = async (kind: Kind, record: boolean) => {
      if (kind === 'metricsText') {
        // metricsText() may hand back a rope of concatenated strings; turning it into bytes (what res.send
        // does) is where the copying happens, so that is timed too, on the same call.
        const t0 = performance.now();
        const text = await exporter.metricsText();
        const t1 = performance.now();
        const bytes = Buffer.from(text, 'utf8');
        const t2 = performance.now();
        if (bytes.length === 0) throw new Error('metricsText() returned nothing');
        if (record) {
          samples.metricsText.push(t1 - t0);
          samples.metricsTextEncoded.push(t2 - t0);
        }
        return;
      }
      const busy = exporter.cachedChecks().some((s) => s.running);
      const r = await timedGet(`${base}/${kind === 'scrape' ? 'metrics' : 'healthz'}`);
      if (!record) return;
      samples[kind].push(r.ms);
      if (kind === 'scrape') {
        const found = countSeries(r.body);
        if (found !== SERIES)
          throw new Error(`/metrics held ${found} series of ${METRIC}, expected ${SERIES}`);
        bodyBytes = Buffer.byteLength(r.body);
        samples.scrapeTtfb.push(r.ttfb);
        if (busy) checksBusyAtScrape++;
      }
    };

    const runsBefore = exporter.cachedChecks().map((s) => s.runs);
    for (let i = 0; i < N_WARMUP; i++) for (const k of kinds) await once(k, false);
    // Interleaved, rotating the order each round, so drift and the checks' own load fall on all three alike.
    const started = performance.now();
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < kinds.length; j++) await once(kinds[(i + j) % kinds.length] as Kind, true);
    }
    const seconds = (performance.now() - started) / 1000;
    const states = exporter.cachedChecks();
    const checkRuns = Object.fromEntries(
      states.map((s, i) => [s.check.id, s.runs - (runsBefore[i] as number)] as const),
    );
    const checkErrors = states.reduce((a, s) => a + s.errors, 0);
    return {
      series: SERIES,
      bodyBytes,
      seconds,
      checkRuns,
      checkErrors,
      checksBusyAtScrape,
      scrape: stats(samples.scrape),
      scrapeTtfb: stats(samples.scrapeTtfb),
      healthz: stats(samples.healthz),
      metricsText: stats(samples.metricsText),
      metricsTextEncoded: stats(samples.metricsTextEncoded),
      raw: samples,
    };
  } finally {
    await running?.shutdown();
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. collection time of a custom query on 1,000,000 rows vs the bare query

async function benchCollect(writer: SqlWriter) {
  await writer.exec(
    `CREATE TABLE ${SCHEMA}.orders (id bigint NOT NULL, region text NOT NULL, amount numeric(12, 2) NOT NULL,
       created_at timestamptz NOT NULL)`,
  );
  await writer.exec(
    `INSERT INTO ${SCHEMA}.orders
     SELECT i,
            (ARRAY['eu-west', 'eu-north', 'us-east', 'us-west', 'apac-south', 'apac-east', 'latam', 'africa'])[1 + i % 8],
            round((random() * 1000)::numeric, 2),
            now() - i * interval '1 second'
     FROM generate_series(1, ${ROWS}) AS i`,
  );
  // VACUUM as well: sets hint bits and the visibility map now, so neither side pays for them in a timed run.
  await writer.exec(`VACUUM (ANALYZE) ${SCHEMA}.orders`);

  const sql = `SELECT region, count(*) AS n, sum(amount) AS total FROM ${SCHEMA}.orders GROUP BY region`;
  const cfg = config(`queries:
  - name: orders_by_region
    interval: 1h
    sql: ${JSON.stringify(sql)}
    metrics:
      - { name: bench_orders, help: Orders by region., labels: [region], value: n }
      - { name: bench_orders_amount, help: Order amount by region., labels: [region], value: total }
`);
  const id = 'query:orders_by_region';

  const client = new pg.Client({ connectionString: URL_, application_name: 'mlwatch-bench' });
  client.on('error', () => {});
  let exporter: Exporter | undefined;
  try {
    await client.connect();
    exporter = Exporter.start(cfg, { log, withProcessMetrics: false });
    const e = exporter;
    await e.firstRound(); // the first of the check's warm-ups: Exporter.start runs every check once
    const state = checkState(e, id);

    const bare = async () => {
      const t0 = performance.now();
      const r = await client.query(sql);
      const t = performance.now() - t0;
      if (r.rows.length !== 8) throw new Error(`bare query returned ${r.rows.length} rows, expected 8`);
      return t;
    };
    const asCheck = async () => {
      const t = await runChecked(e, id);
      if (state.seriesCount !== 16)
        throw new Error(`check ${id} made ${state.seriesCount} series, expected 16`);
      return t;
    };

    for (let i = 0; i < R_WARMUP; i++) await bare();
    for (let i = 1; i < R_WARMUP; i++) await asCheck();
    const samples = { asCheck: [] as number[], bare: [] as number[] };
    // Alternating which goes first (ABBA...), so drift and any warm-cache advantage fall on both sides alike.
    for (let i = 0; i < R; i++) {
      if (i % 2 === 0) {
        samples.bare.push(await bare());
        samples.asCheck.push(await asCheck());
      } else {
        samples.asCheck.push(await asCheck());
        samples.bare.push(await bare());
      }
    }
    const settings = await client.query(
      "SELECT current_setting('max_parallel_workers_per_gather') AS workers, current_setting('shared_buffers') AS shared_buffers",
    );
    return {
      rows: ROWS,
      sql,
      parallelWorkersPerGather: Number(settings.rows[0]?.workers),
      sharedBuffers: String(settings.rows[0]?.shared_buffers),
      checkLastDurationMs: (state.lastDurationSeconds ?? 0) * 1000,
      asCheck: stats(samples.asCheck),
      bare: stats(samples.bare),
      // Each round's check time over the same round's bare time: steadier than a ratio of medians when the
      // machine's load shifts during the run.
      paired: pairedRatio(samples.asCheck, samples.bare),
      raw: samples,
    };
  } finally {
    if (exporter) await exporter.stop(10_000);
    await client.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------

async function connectOrExit(): Promise<string> {
  const client = new pg.Client({ connectionString: URL_, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query('SHOW server_version');
    return String(r.rows[0]?.server_version ?? '?');
  } catch (err) {
    console.error(
      `mlwatch bench: cannot reach PostgreSQL at ${redact(URL_)}: ${(err as Error).message || String(err)} ` +
        '(set MLWATCH_BENCH_DATABASE_URL)',
    );
    process.exit(1);
  } finally {
    await client.end().catch(() => {});
  }
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error(`mlwatch bench: did not finish within ${DEADLINE_MS / 1000} s; giving up`);
    process.exit(1);
  }, DEADLINE_MS);
  watchdog.unref();

  const version = await connectOrExit();
  const cpus = os.availableParallelism();
  console.log(`mlwatch bench: scrape (Postgres ${version}, node ${process.version}, ${cpus} CPUs)`);
  console.log(`database ${redact(URL_)}, schema ${SCHEMA}`);

  const writer = createPgWriter(URL_);
  let scrape: Awaited<ReturnType<typeof benchScrape>>;
  let collect: Awaited<ReturnType<typeof benchCollect>>;
  try {
    await writer.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await writer.exec(`CREATE SCHEMA ${SCHEMA}`);
    scrape = await benchScrape(writer);
    collect = await benchCollect(writer);
  } finally {
    await writer.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await writer.close().catch(() => {});
  }

  const mb = (scrape.bodyBytes / 1e6).toFixed(2);
  const runs = Object.entries(scrape.checkRuns)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log('');
  console.log(
    `1. scrape latency, ${scrape.series} cached series, ${N} requests per endpoint (interleaved), ${scrape.seconds.toFixed(1)} s`,
  );
  console.log(`   scrape /metrics (${mb} MB):     ${line(scrape.scrape)}`);
  console.log(`     of which to first byte:      ${line(scrape.scrapeTtfb)}`);
  console.log(
    `   baseline /healthz:             ${line(scrape.healthz)}   -> scrape = ${ratio(scrape.scrape.median, scrape.healthz.median)} healthz (median), ${ratio(scrape.scrape.p95, scrape.healthz.p95)} (p95)`,
  );
  console.log(
    `   metricsText() in-process:      ${line(scrape.metricsText)}   -> ${ratio(scrape.metricsText.median, scrape.scrape.median)} scrape (median)`,
  );
  console.log(
    `   metricsText() + UTF-8 encode:  ${line(scrape.metricsTextEncoded)}   -> ${ratio(scrape.metricsTextEncoded.median, scrape.scrape.median)} scrape (median)`,
  );
  console.log(
    `   checks during the scrapes: ${runs} runs, ${scrape.checkErrors} errors; ${scrape.checksBusyAtScrape}/${N} scrapes started with a check in flight`,
  );
  console.log('');
  console.log(
    `2. custom query on ${ROWS.toLocaleString('en-US')} rows, ${R} runs per side (alternating) after ${R_WARMUP} warm-ups`,
  );
  console.log(`   as an mlwatch check (runNow):  ${line(collect.asCheck)}`);
  console.log(
    `   bare query (pg.Client):        ${line(collect.bare)}   -> check = ${ratio(collect.asCheck.median, collect.bare.median)} bare (median), ${ratio(collect.asCheck.p95, collect.bare.p95)} (p95)`,
  );
  console.log(
    `   per round (check / bare of the same round): median ${collect.paired.median.toFixed(2)}x, p95 ${collect.paired.p95.toFixed(2)}x (min ${collect.paired.min.toFixed(2)}x, max ${collect.paired.max.toFixed(2)}x)`,
  );
  console.log(
    `   overhead per run: ${ms(collect.asCheck.median - collect.bare.median)} ms (difference of medians); max_parallel_workers_per_gather=${collect.parallelWorkersPerGather}`,
  );

  const report = {
    at: new Date().toISOString(),
    postgres: version,
    node: process.version,
    cpus,
    scrape: {
      series: scrape.series,
      bodyBytes: scrape.bodyBytes,
      requestsPerEndpoint: N,
      warmup: N_WARMUP,
      checkRunsDuring: scrape.checkRuns,
      checkErrors: scrape.checkErrors,
      scrapesStartedWithCheckInFlight: scrape.checksBusyAtScrape,
      scrapeMs: rounded(scrape.scrape),
      scrapeTimeToFirstByteMs: rounded(scrape.scrapeTtfb),
      healthzMs: rounded(scrape.healthz),
      metricsTextMs: rounded(scrape.metricsText),
      metricsTextEncodedMs: rounded(scrape.metricsTextEncoded),
      ratioScrapeToHealthz: {
        median: scrape.scrape.median / scrape.healthz.median,
        p95: scrape.scrape.p95 / scrape.healthz.p95,
      },
      rawMs: {
        scrape: scrape.raw.scrape.map(round3),
        scrapeTimeToFirstByte: scrape.raw.scrapeTtfb.map(round3),
        healthz: scrape.raw.healthz.map(round3),
        metricsText: scrape.raw.metricsText.map(round3),
        metricsTextEncoded: scrape.raw.metricsTextEncoded.map(round3),
      },
    },
    collect: {
      rows: collect.rows,
      sql: collect.sql,
      runsPerSide: R,
      warmup: R_WARMUP,
      maxParallelWorkersPerGather: collect.parallelWorkersPerGather,
      sharedBuffers: collect.sharedBuffers,
      asCheckMs: rounded(collect.asCheck),
      bareMs: rounded(collect.bare),
      ratioCheckToBare: {
        median: collect.asCheck.median / collect.bare.median,
        p95: collect.asCheck.p95 / collect.bare.p95,
        pairedMedian: collect.paired.median,
        pairedP95: collect.paired.p95,
      },
      rawMs: { asCheck: collect.raw.asCheck.map(round3), bare: collect.raw.bare.map(round3) },
    },
  };
  mkdirSync(fileURLToPath(new URL('../.bench/', import.meta.url)), { recursive: true });
  writeFileSync(OUT_FILE, `${JSON.stringify(report, null, 2)}\n`);
  console.log('');
  console.log(`figures written to ${OUT_FILE}`);
}

finish(main());
