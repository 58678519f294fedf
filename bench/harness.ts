/**
 * What the benches that drive a real exporter share: the figures they print and save, their config and
 * exporter (with a warehouse that records every statement a check sends), a connection of their own to the
 * bench tables, the exporter's memory measured in a fresh child process, the watchdog, and how a run ends.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import pino from 'pino';
import { type LoadedConfig, loadConfigText } from '../src/config/load.js';
import { redactUrl } from '../src/redact.js';
import { Exporter } from '../src/runtime/exporter.js';
import { openWarehouse } from '../src/warehouse/open.js';
import type { Queryable, Warehouse } from '../src/warehouse/types.js';
import { ms, type Stats, stats, x } from './stats.js';

// ---------------------------------------------------------------------------------------------------------
// figures

export const round3 = (v: number) => Math.round(v * 1000) / 1000;
/** Stats rounded to microseconds for the saved JSON (n kept as it is). */
export const rounded = (s: Stats): Stats =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'n' ? v : round3(v)])) as unknown as Stats;
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
export const signedMib = (bytes: number) => `${bytes >= 0 ? '+' : ''}${(bytes / 2 ** 20).toFixed(1)} MiB`;
export const count = (n: number) => n.toLocaleString('en-US');
/**
 * The stats of each round's ratio a[i] / b[i]: steadier than a ratio of medians when the machine's load shifts
 * during the run.
 */
export const pairedRatio = (a: readonly number[], b: readonly number[]): Stats =>
  stats(a.map((t, i) => t / (b[i] as number)));

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

// ---------------------------------------------------------------------------------------------------------
// the config and the exporter

const silent = pino({ level: 'silent' });

/** Where a bench's exporter connects: the URL and the application_name its connections carry. */
export interface BenchWarehouse {
  url: string;
  app: string;
  /** statement_timeout, as the config writes it (120s, 600s). */
  statementTimeout: string;
}

/**
 * A bench's config: the warehouse block (2 connections, named `app`) and then `body` (datasets:, models:,
 * jobs: ...), loaded as `file`.
 */
export function benchConfig(w: BenchWarehouse, body: string, file = 'bench.yaml'): LoadedConfig {
  // JSON strings are valid YAML double-quoted scalars, so any URL survives.
  const text = `warehouse:
  url: ${JSON.stringify(w.url)}
  statement_timeout: ${w.statementTimeout}
  pool: 2
  application_name: ${w.app}
${body}`;
  return loadConfigText(text, file, {}, process.cwd());
}

/**
 * An exporter of `cfg` that logs nothing and serves no process metrics; with `transactions`, its warehouse
 * records every statement there (see recording).
 */
export function startBenchExporter(cfg: LoadedConfig, transactions?: RecordedStatement[][]): Exporter {
  return Exporter.start(cfg, {
    log: silent,
    withProcessMetrics: false,
    openWarehouse: (c) =>
      transactions ? recording(openWarehouse(c.warehouse), transactions) : openWarehouse(c.warehouse),
  });
}

type CheckState = ReturnType<Exporter['cachedChecks']>[number];

/** The state of check `id`; throws when the config has no such check. */
export function checkState(e: Exporter, id: string): CheckState {
  const state = e.cachedChecks().find((s) => s.check.id === id);
  if (!state) throw new Error(`no check ${id}`);
  return state;
}

/** One run of check `id` by runNow, in milliseconds, checked: it ran exactly once and succeeded. */
export async function runChecked(e: Exporter, id: string): Promise<number> {
  const state = checkState(e, id);
  const runs = state.runs;
  const t0 = performance.now();
  await e.runNow([id]);
  const t = performance.now() - t0;
  if (state.runs !== runs + 1) throw new Error(`runNow did not run ${id} exactly once`);
  if (state.status !== 'ok') throw new Error(`check ${id} failed: ${state.lastError ?? ''}`);
  return t;
}

/** EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) once: the whole document, an array of one plan. */
export async function explainDocument(
  db: pg.Client,
  sql: string,
  params: readonly unknown[] = [],
): Promise<Array<Record<string, unknown>>> {
  const r = await db.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, [...params]);
  return (r.rows[0] as { 'QUERY PLAN': unknown })['QUERY PLAN'] as Array<Record<string, unknown>>;
}

// ---------------------------------------------------------------------------------------------------------
// exporter memory, in a fresh process per size

export interface MemoryFigures {
  rows: number;
  gc: boolean;
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  peakHeapUsed: number;
  peakRss: number;
  maxRssBytes: number;
  runs: number;
  checkMs: number[];
  rowsIntoNode: number;
  statements: number;
}

/** How a bench runs itself as a memory child. */
export interface MemoryChildSpec {
  /** The bench's own file (its import.meta.url): what the child runs. */
  script: string;
  /** The variable that tells the child its size; `${env}_APP` carries the run's application_name. */
  env: string;
  app: string;
  /** What a row is called in the messages: rows, predictions. */
  noun: string;
}

/**
 * Runs in the child: starts an exporter (recording its statements), lets `run` run its check `runs` times,
 * and prints the memory figures as one JSON line. `run` gives the check durations (ms) and throws when a run
 * is not what it should be. Heap figures are taken after a full GC when the child has --expose-gc.
 */
export async function memoryChild(opts: {
  rows: number;
  runs: number;
  start: (transactions: RecordedStatement[][]) => Exporter;
  run: (e: Exporter, transactions: RecordedStatement[][]) => Promise<number[]>;
}): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const settle = () => {
    if (gc) for (let i = 0; i < 3; i++) gc();
  };
  const transactions: RecordedStatement[][] = [];
  settle();
  const before = process.memoryUsage();
  let peakHeapUsed = before.heapUsed;
  let peakRss = before.rss;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeapUsed = Math.max(peakHeapUsed, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  }, 5);
  const e = opts.start(transactions);
  try {
    const checkMs = await opts.run(e, transactions);
    const last = transactions.at(-1) ?? [];
    clearInterval(sampler);
    settle();
    const after = process.memoryUsage(); // the exporter still running, its cache full
    const figures: MemoryFigures = {
      rows: opts.rows,
      gc: gc !== undefined,
      before,
      after,
      peakHeapUsed,
      peakRss,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      runs: opts.runs,
      checkMs,
      rowsIntoNode: last.reduce((a, st) => a + st.rows, 0),
      statements: last.length,
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    clearInterval(sampler);
    await e.stop(10_000);
  }
}

/** Runs the bench's memory child at `rows` in a fresh process and returns what it printed. */
export function measureMemory(
  spec: MemoryChildSpec,
  rows: number,
  timeoutMs: number,
): Promise<MemoryFigures> {
  // Same loader flags as this process (tsx), plus --expose-gc so heap figures are taken after a full GC.
  const args = [...process.execArgv, '--expose-gc', spec.script];
  const at = `memory run at ${count(rows)} ${spec.noun}`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      {
        env: { ...process.env, [spec.env]: String(rows), [`${spec.env}_APP`]: spec.app },
        timeout: Math.round(timeoutMs),
        maxBuffer: 1 << 20,
      },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${at} failed: ${stderr.trim() || err.message}`));
          return;
        }
        const last = stdout.trim().split('\n').at(-1) ?? '';
        try {
          resolve(JSON.parse(last) as MemoryFigures);
        } catch {
          reject(new Error(`${at} printed no figures: ${stdout.slice(0, 200)}`));
        }
      },
    );
  });
}

/** Growth from the smallest to the largest size within this counts as flat (peak heapUsed and peak RSS). */
export const FLAT_BYTES = 8 * 2 ** 20;

export const memoryGrowth = (m: MemoryFigures) => ({
  heap: m.after.heapUsed - m.before.heapUsed,
  peakHeap: m.peakHeapUsed - m.before.heapUsed,
  rss: m.after.rss - m.before.rss,
  peakRss: m.peakRss - m.before.rss,
});

/**
 * Prints a line per size and whether memory stayed flat from the first size to the last; returns that, and
 * the figures for the saved JSON (`extra` lands after largestReduced).
 */
export function memoryReport(
  memory: MemoryFigures[],
  o: { noun: string; runs: number; largestPlanned: number; extra?: Record<string, unknown> },
) {
  const small = memory[0] as MemoryFigures;
  const big = memory.at(-1) as MemoryFigures;
  const g0 = memoryGrowth(small);
  const g1 = memoryGrowth(big);
  const flat = g1.peakHeap - g0.peakHeap <= FLAT_BYTES && g1.peakRss - g0.peakRss <= FLAT_BYTES;
  for (const m of memory) {
    const g = memoryGrowth(m);
    console.log(
      `   ${count(m.rows).padStart(10)} ${o.noun}: heapUsed ${mib(m.before.heapUsed)} -> ${mib(m.after.heapUsed)} (${signedMib(g.heap)}, peak ${signedMib(g.peakHeap)}), ` +
        `rss ${mib(m.before.rss)} -> ${mib(m.after.rss)} (peak ${signedMib(g.peakRss)}); ` +
        `check ${m.checkMs.map((t) => ms(t)).join(' / ')} ms; ${m.rowsIntoNode} rows into Node per run`,
    );
  }
  console.log(
    `   flat from ${count(small.rows)} to ${count(big.rows)} ${o.noun} (peak heapUsed and peak RSS growth within ${mib(FLAT_BYTES)}): ${pass(flat)} ` +
      `(peak heapUsed ${signedMib(g1.peakHeap - g0.peakHeap)}, peak RSS ${signedMib(g1.peakRss - g0.peakRss)})`,
  );
  return {
    flat,
    json: {
      runsPerSize: o.runs,
      largestRows: big.rows,
      largestReduced: big.rows !== o.largestPlanned,
      ...o.extra,
      flatWithinBytes: FLAT_BYTES,
      pass: flat,
      sizes: memory.map((m) => ({ ...m, checkMs: m.checkMs.map(round3), growth: memoryGrowth(m) })),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// the run

export const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
/** A per-round ratio's median with its range. */
export const perRound = (p: Stats) => `${x(p.median)} (min ${x(p.min)}, max ${x(p.max)})`;

/** Connects (or exits 1, see connectOrExit) and prints the bench's title line and where it runs. */
export async function openBench(
  url: string,
  app: string,
  o: { title: string; schema: string },
): Promise<{ db: pg.Client; version: string; cpus: number }> {
  const db = await connectOrExit(url, app);
  const version = String((await db.query('SHOW server_version')).rows[0]?.server_version ?? '?');
  const cpus = os.availableParallelism();
  console.log(`mlwatch bench: ${o.title} (Postgres ${version}, node ${process.version}, ${cpus} CPUs)`);
  console.log(`database ${redactUrl(url)}, schema ${o.schema}`);
  return { db, version, cpus };
}

/**
 * Gives the run up at its deadline (ms after start): says so, ends the run's connections and drops its schema
 * (emergencyCleanup), and exits 1. The deadline may be moved; arm() again after moving it.
 */
export class Watchdog {
  givingUp = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly started = performance.now();

  constructor(
    private readonly cleanup: { url: string; app: string; schema: string },
    public deadlineMs: number,
  ) {
    this.arm();
  }

  elapsed(): number {
    return performance.now() - this.started;
  }

  arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.givingUp = true;
        console.error(
          `mlwatch bench: did not finish within ${(this.deadlineMs / 1000).toFixed(0)} s; giving up`,
        );
        emergencyCleanup(this.cleanup.url, this.cleanup.app, this.cleanup.schema).then(
          () => process.exit(1),
          () => process.exit(1),
        );
        setTimeout(() => process.exit(1), 15_000).unref();
      },
      Math.max(0, this.deadlineMs - this.elapsed()),
    );
    this.timer.unref();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** The load steps (generate, index, vacuum ...) and how long each took; timed() runs one and gives its ms. */
export function loadSteps() {
  const load: Array<{ step: string; rows: number; seconds: number }> = [];
  const timed = async (step: string, rows: number, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    const seconds = (performance.now() - t0) / 1000;
    load.push({ step, rows, seconds });
    return seconds * 1000;
  };
  return { load, timed };
}

/** Writes the figures to `file` (.bench/ made if need be) and says where. */
export function writeFigures(file: string, report: unknown, seconds?: number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log('');
  console.log(`figures written to ${file}${seconds === undefined ? '' : ` (${seconds.toFixed(0)} s)`}`);
}

/**
 * Ends the process the way every bench does: on success it should end by itself (everything stopped), and
 * a handle still holding it open is reported rather than waited on; on failure the error, and exit 1, unless
 * the watchdog is giving up (it has said why, and exits once it has cleaned up).
 */
export function finish(run: Promise<void>, givingUp: () => boolean = () => false): void {
  run.then(
    () => {
      setTimeout(() => {
        console.error('mlwatch bench: a handle still held the process open after the run; exiting anyway');
        process.exit(0);
      }, 5000).unref();
    },
    (err: unknown) => {
      if (givingUp()) return;
      console.error(
        `mlwatch bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      process.exit(1);
    },
  );
}

/**
 * Runs a bench that measures memory in children of its own: as the memory child when the spec's variable is
 * set (measureMemory sets it), else main under a watchdog that gives up at `deadlineMs` (main may move it).
 */
export function runBench(o: {
  memory: MemoryChildSpec;
  url: string;
  schema: string;
  deadlineMs: number;
  child: (rows: number) => Promise<void>;
  main: (watchdog: Watchdog) => Promise<void>;
}): void {
  const childRows = process.env[o.memory.env];
  if (childRows) {
    finish(o.child(Number(childRows)));
    return;
  }
  const watchdog = new Watchdog({ url: o.url, app: o.memory.app, schema: o.schema }, o.deadlineMs);
  finish(o.main(watchdog), () => watchdog.givingUp);
}
