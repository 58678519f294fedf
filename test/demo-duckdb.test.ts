import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type Served, startCli } from './helpers/cli.js';
import { DEMO_HEADERS } from './helpers/credentials.js';
import { duckRows, loadDuckdbForTests } from './helpers/duckdb.js';
import { type Parsed, sampleValue, series } from './helpers/exposition.js';
import { scrape, waitFor } from './helpers/wait.js';

// `mlwatch demo --engine duckdb`, the built CLI end to end: the demo writes its story as Parquet files and
// serves the checks of its built-in config over them through DuckDB. The values it exports are held against a
// DuckDB of the test's own reading the same files: with the feed paused (the `stale` incident, which holds back
// the last 20 minutes of applications and rewrites their files before it answers) nothing more is written, so
// the files the test reads are the files the check read, and a window's row count at the check's
// clock lies between the counts at the start and the end of its run (rows only leave the window then). Then
// the feed resumes until a new batch file appears, and the `nulls` incident rewrites the last hour's
// applications: the next values count the new file's rows and the nulls, without a restart.

const duckdb = await loadDuckdbForTests();

/** The checks whose values are compared, with what they read. */
const SCAN = 'dataset:applications:scan';
const SERVING = 'serving:scoring_api';
const FRESHNESS = 'query:applications_freshness';

interface Run {
  /** Unix ms: the check's transaction began in [start, end]. */
  start: number;
  end: number;
}

/** When each check's last run ran, from the exporter's own series. */
function runOf(m: Parsed, check: string): Run {
  const end = sampleValue(m, 'mlwatch_check_last_success_timestamp_seconds', { check }) * 1000;
  // Milliseconds on the wall clock against a duration on the monotonic one: a millisecond either way.
  return {
    start: end - sampleValue(m, 'mlwatch_check_duration_seconds', { check }) * 1000 - 1,
    end: end + 1,
  };
}

/** A scrape in which each check has run entirely after `after` (unix ms). */
async function runsAfter(url: string, after: number): Promise<Parsed> {
  return waitFor(
    async () => {
      const m = await scrape(url);
      return [SCAN, SERVING, FRESHNESS].every((c) => runOf(m, c).start > after) && m;
    },
    40_000,
    'a run of the checks on the paused feed',
  );
}

const literal = (ms: number) => `'${new Date(ms).toISOString()}'::TIMESTAMPTZ`;

describe.skipIf(!duckdb)('mlwatch demo --engine duckdb', () => {
  let served: Served | undefined;
  let reader: DuckDBConnection | undefined;
  let root: string | undefined;
  afterAll(async () => {
    reader?.closeSync();
    await served?.stop('SIGKILL');
    // A demo killed by a failed test leaves its folder.
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('serves the checks over the Parquet files it writes, new batches and incidents included', async () => {
    served = await startCli(['demo', '--engine', 'duckdb', '--port', '0', '--batch-interval', '1']);
    const url = served.url;
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 60_000, 'demo ready');
    const written = /\{[^\n]*"msg":"demo Parquet files written"\}/.exec(served.logs());
    const folder = String(JSON.parse(written?.[0] ?? '{}').files);
    root = folder;
    expect(existsSync(join(folder, 'applications'))).toBe(true);
    reader = await (await (duckdb as NonNullable<typeof duckdb>).DuckDBInstance.create(':memory:')).connect();
    const db = reader;
    const glob = (table: string) => `'${join(folder, table, '*.parquet')}'`;
    const one = async (sql: string) => (await duckRows(db, sql))[0] as Record<string, number>;
    /** Rows of `table` with `column` in [x - seconds, x), x in unix ms. */
    const inWindow = async (
      table: string,
      column: string,
      seconds: number,
      x: number,
      files = glob(table),
    ): Promise<{ n: number; nulls: number }> => {
      const nulls = table === 'applications' ? 'income IS NULL' : 'false';
      const r = await one(
        `SELECT count(*) AS n, count(*) FILTER (WHERE ${nulls}) AS nulls FROM read_parquet(${files})
         WHERE "${column}" >= ${literal(x - seconds * 1000)} AND "${column}" < ${literal(x)}`,
      );
      return { n: Number(r.n), nulls: Number(r.nulls) };
    };
    const incident = async (name: string, method: 'PUT' | 'DELETE') => {
      const res = await fetch(`${url}/-/demo/incidents/${name}`, { method, headers: DEMO_HEADERS });
      expect(res.status, await res.clone().text()).toBe(200);
    };

    /** The values compared on a paused feed, against the files as they are. */
    const expectValuesOfFiles = async (m: Parsed) => {
      const checks = series(m, 'mlwatch_check_success');
      expect(checks.length).toBe(21);
      expect(checks.filter((c) => c.value !== 1).map((c) => c.labels.check)).toEqual([]);
      // Freshness: the newest application in the files, to the microsecond.
      const newest = (
        await one(`SELECT epoch_us(max(ingested_at)) AS us FROM read_parquet(${glob('applications')})`)
      ).us as number;
      const last = { dataset: 'applications' };
      expect(sampleValue(m, 'mlwatch_dataset_last_update_timestamp_seconds', last) * 1e6).toBeCloseTo(
        newest,
        -1,
      );
      expect(sampleValue(m, 'demo_applications_last_ingested_timestamp_seconds') * 1e6).toBeCloseTo(
        newest,
        -1,
      );
      // Rows of the last hour, and the requests of the last 5 minutes, at the check's clock.
      const scan = runOf(m, SCAN);
      const [early, late] = [
        await inWindow('applications', 'ingested_at', 3600, scan.start),
        await inWindow('applications', 'ingested_at', 3600, scan.end),
      ];
      const rows = sampleValue(m, 'mlwatch_dataset_rows', { dataset: 'applications', window: '1h' });
      expect(rows).toBeGreaterThanOrEqual(late.n);
      expect(rows).toBeLessThanOrEqual(early.n);
      const ratio = sampleValue(m, 'mlwatch_dataset_null_ratio', { ...last, column: 'income', window: '1h' });
      expect([early.nulls / early.n, late.nulls / late.n].some((r) => Math.abs(r - ratio) < 1e-12)).toBe(
        true,
      );
      const serving = runOf(m, SERVING);
      const requests = sampleValue(m, 'mlwatch_serving_requests', {
        service_name: 'scoring_api',
        window: '5m',
      });
      expect(requests).toBeGreaterThanOrEqual((await inWindow('requests', 'at', 300, serving.end)).n);
      expect(requests).toBeLessThanOrEqual((await inWindow('requests', 'at', 300, serving.start)).n);
      return { ratio, requests, serving };
    };

    // 1. The feed paused: the exported values are the files'. Nothing is null yet. The switch took the last 20
    // minutes of applications out of their files before it answered: the first run is past the 900 s line.
    await incident('stale', 'PUT');
    const paused = Date.now();
    const stalled = await runsAfter(url, paused);
    expect(
      sampleValue(stalled, 'mlwatch_dataset_newest_row_age_seconds', { dataset: 'applications' }),
    ).toBeGreaterThan(1200);
    const first = await expectValuesOfFiles(stalled);
    expect(first.ratio).toBe(0);

    // 2. The feed resumes until a batch brings requests: a new file, read by the next run without a restart.
    const before = new Set(readdirSync(join(folder, 'requests')));
    await incident('stale', 'DELETE');
    // Batch files only: one merged at the turn of an hour goes by another name (src/demo/lake/ranges.ts).
    const newBatches = () =>
      readdirSync(join(folder, 'requests')).filter((f) => !before.has(f) && f.startsWith('batch-'));
    await waitFor(() => newBatches().length > 0, 40_000, 'a new requests file');
    await incident('stale', 'PUT');
    const added = newBatches();
    // 3. nulls rewrites a fifth of the last hour's incomes in the files that hold them, before it answers.
    await incident('nulls', 'PUT');
    const second = await expectValuesOfFiles(await runsAfter(url, Date.now()));
    const newFiles = `[${added.map((f) => `'${join(folder, 'requests', f)}'`).join(', ')}]`;
    const fromNewFiles = await inWindow('requests', 'at', 300, second.serving.end, newFiles);
    expect(fromNewFiles.n).toBeGreaterThan(0);
    expect(second.ratio).toBeGreaterThan(0.1);
    expect(second.ratio).toBeLessThan(0.35);

    // The files go with the demo.
    expect(await served.stop('SIGTERM')).toBe(0);
    expect(existsSync(folder)).toBe(false);
  }, 150_000);
});

describe('mlwatch demo --engine: a wrong choice says what to pass', () => {
  it.each([
    [['--engine', 'sqlite'], "--engine: no engine 'sqlite'; use pglite (embedded, the default), postgres"],
    [['--engine', 'postgres'], '--engine postgres needs --warehouse-url postgresql://'],
    [
      ['--engine', 'duckdb', '--warehouse-url', 'postgresql://u@127.0.0.1:1/db'],
      '--engine duckdb reads no PostgreSQL: drop --warehouse-url, or pass --engine postgres',
    ],
  ])('%j', (args, message) => {
    const r = runCli(['demo', '--port', '0', ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
