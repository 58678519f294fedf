/**
 * What the benches that drive a real exporter share: the figures they print and save, a warehouse that records
 * every statement a check sends, the exporter's start-up, and a connection of their own to the bench tables.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { redactUrl } from '../src/redact.js';
import type { Exporter } from '../src/runtime/exporter.js';
import type { Queryable, Warehouse } from '../src/warehouse/types.js';
import type { Stats } from './stats.js';

// ---------------------------------------------------------------------------------------------------------
// figures

export const round3 = (v: number) => Math.round(v * 1000) / 1000;
/** Stats rounded to microseconds for the saved JSON (n kept as it is). */
export const rounded = (s: Stats): Stats =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'n' ? v : round3(v)])) as unknown as Stats;
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
export const signedMib = (bytes: number) => `${bytes >= 0 ? '+' : ''}${(bytes / 2 ** 20).toFixed(1)} MiB`;
export const count = (n: number) => n.toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------------------
// the exporter

export interface RecordedStatement {
  sql: string;
  params: readonly unknown[];
  rows: number;
  ms: number;
}

/**
 * The real warehouse, with every statement a check sends through its Queryable recorded, the last 4
 * transactions kept (the transaction's BEGIN, set_config and its end are not: the pg warehouse sends those
 * itself). One function call per statement is all it adds.
 */
export function recording(inner: Warehouse, transactions: RecordedStatement[][]): Warehouse {
  return {
    driver: inner.driver,
    maxConcurrency: inner.maxConcurrency,
    readOnly(opts, fn) {
      const statements: RecordedStatement[] = [];
      transactions.push(statements);
      if (transactions.length > 4) transactions.shift();
      return inner.readOnly(opts, (q) => {
        const wrapped: Queryable = {
          async query(sql, params = []) {
            const t0 = performance.now();
            const rows = await q.query(sql, params);
            statements.push({ sql, params, rows: rows.length, ms: performance.now() - t0 });
            return rows;
          },
        };
        return fn(wrapped);
      });
    },
    ping: (timeoutMs) => inner.ping(timeoutMs),
    close: () => inner.close(),
  };
}

/**
 * firstRound() resolves a moment before the scheduler forgets the start-up run, and a runNow() in that moment
 * would wait for that run instead of starting one; a turn of the event loop lets it settle.
 */
export async function startedUp(e: Exporter): Promise<void> {
  await e.firstRound();
  await new Promise((r) => setImmediate(r));
}

// ---------------------------------------------------------------------------------------------------------
// the tables

/** A connection of the bench's own (loading, EXPLAIN, baselines), named `app` in pg_stat_activity. */
export async function benchClient(url: string, app: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: app, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** benchClient, or exit 1 with the reason when PostgreSQL cannot be reached (the password never printed). */
export async function connectOrExit(url: string, app: string): Promise<pg.Client> {
  try {
    return await benchClient(url, app);
  } catch (err) {
    console.error(
      `mlwatch bench: cannot reach PostgreSQL at ${redactUrl(url)}: ${(err as Error).message || String(err)} ` +
        '(set MLWATCH_BENCH_DATABASE_URL)',
    );
    process.exit(1);
  }
}

/**
 * For a bench's watchdog: ends the run's own connections (by their application_name, `app`) and drops its
 * schema, so a bench that gave up leaves nothing behind.
 */
export async function emergencyCleanup(url: string, app: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      app,
    ]);
    await c.query(`SET lock_timeout = '10s'`);
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end().catch(() => {});
  }
}
