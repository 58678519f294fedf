import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Check, CheckResult } from '../src/checks/types.js';
import { loadConfigText } from '../src/config/load.js';
import { demoConfig } from '../src/demo/builtin-config.js';
import { createDemoSchema } from '../src/demo/schema.js';
import { seedHistory } from '../src/demo/seed.js';
import { createDuckdbWarehouse } from '../src/warehouse/duckdb.js';
import { openWarehouse } from '../src/warehouse/open.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { copyToDuckdb, exportFiles } from './helpers/duckdb-copy.js';

// Engine parity, as Evidently runs its metrics per engine: the demo's whole story (35 days of applications,
// predictions, labels, jobs, requests, decisions and the multiclass views) seeded into this run's engine
// (PostgreSQL, or PGlite with Node alone), copied value for value into a DuckDB file, and every check of the
// demo's config (every kind: scan, duplicates, schema, drift, exact KS, labels, binary and multiclass
// performance, prediction drift, segments, jobs, serving, KPI, custom queries), plus an incremental
// classifier, run on both. The PostgreSQL values are the ones the oracle-backed tests hold against
// scikit-learn, scipy and numpy; here DuckDB must export the same series with the same values and skip the
// same ones. Values that follow the clock (ages, timestamps) may differ by the time between the two runs.
// Every timestamp of the story is cut to its minute, and every window is whole minutes: a row then enters or
// leaves a window only when now() crosses a minute, and each pair of runs is started where no minute boundary
// can fall between them.

let db: TestDb;
let dir: string;
let duck: Warehouse;
let files: Warehouse;
let here: Check[];
let there: Check[];
let fromFiles: Check[];

function config(url: string, schema: string, sources?: Record<string, unknown>): string {
  const cfg = demoConfig({ warehouseUrl: url, schema }) as Record<string, unknown> & {
    models: unknown[];
    warehouse: Record<string, unknown>;
  };
  if (sources !== undefined) cfg.warehouse.files = sources;
  // A DuckDB warehouse is read-only: the state store lives elsewhere (no check here writes to it).
  if (url.startsWith('duckdb:')) cfg.state = { url: 'pglite:memory' };
  // The credit model again, incremental: its sums kept per bucket, the same values.
  const credit = cfg.models[0] as Record<string, unknown>;
  const { retrain: _r, rollback: _b, ...plain } = credit;
  cfg.models.push({ ...plain, name: 'credit_incremental', incremental: {} });
  return stringify(cfg);
}

beforeAll(async () => {
  db = await openTestDb();
  await createDemoSchema(db.writer, db.schema);
  await seedHistory(db.writer, db.schema, { days: 35 });
  const stamps = await db.writer.query(
    `SELECT c.table_name::text AS t, c.column_name::text AS c FROM information_schema.columns c
     JOIN information_schema.tables t USING (table_schema, table_name)
     WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE' AND c.data_type = 'timestamp with time zone'`,
    [db.schema],
  );
  for (const { t, c } of stamps) {
    await db.writer.query(`UPDATE "${db.schema}"."${t}" SET "${c}" = date_trunc('minute', "${c}")`);
  }
  dir = mkdtempSync(join(tmpdir(), 'mlwatch-parity-'));
  // Not named after the schema: DuckDB names a database after its file, and a schema of the same name would
  // be ambiguous.
  const file = join(dir, 'warehouse.duckdb');
  await copyToDuckdb(db.writer, db.schema, file);
  duck = createDuckdbWarehouse(`duckdb:${file}`);
  here = loadConfigText(config(db.configUrl, db.schema), 'demo.yaml', {}, '/').checks;
  there = loadConfigText(config(`duckdb:${file}`, db.schema), 'demo.yaml', {}, '/').checks;
  // The same tables as files, read through views files.<table>: Parquet, and two as CSV and JSON.
  const sources = await exportFiles(file, db.schema, dir, { job_runs: 'csv', requests: 'json' });
  const filesConfig = loadConfigText(config('duckdb:memory', 'files', sources), 'demo.yaml', {}, '/');
  fromFiles = filesConfig.checks;
  files = openWarehouse(filesConfig.warehouse);
}, 240_000);
afterAll(async () => {
  await duck?.close();
  await files?.close();
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Series that follow the warehouse clock: equal within a second. */
const CLOCK = /_age_seconds$|_timestamp_seconds$/;

/** Waits, if needed, until the current minute has `ms` left: a pair of runs started then sees one minute. */
async function minuteLeft(ms: number): Promise<void> {
  const into = Date.now() % 60_000;
  if (60_000 - into < ms) await new Promise((r) => setTimeout(r, 60_000 - into + 200));
}

function byKey(r: CheckResult): Map<string, number> {
  return new Map(r.samples.map((s) => [`${s.name}${JSON.stringify(s.labels)}`, s.value]));
}

describe('engine parity: every check of the demo, on this engine and on DuckDB', () => {
  it('builds the same checks for both engines', () => {
    expect(there.map((c) => c.id)).toEqual(here.map((c) => c.id));
    expect(fromFiles.map((c) => c.id)).toEqual(here.map((c) => c.id));
    // Every kind of the registry that the demo configures, the incremental classifier included.
    expect([...new Set(here.map((c) => c.kind))].sort()).toEqual([
      'dataset_drift',
      'dataset_drift_ks',
      'dataset_duplicates',
      'dataset_scan',
      'dataset_schema',
      'job',
      'kpi',
      'model_labels',
      'model_performance',
      'model_prediction_drift',
      'model_segments',
      'query',
      'serving',
    ]);
    expect(here.some((c) => c.id === 'model:credit_incremental:performance')).toBe(true);
  });

  it('exports the same series with the same values, and skips the same ones: a DuckDB file, and files', async () => {
    const warehouse = db.newWarehouse();
    const engines = [
      { name: 'a DuckDB file', w: duck, checks: there },
      { name: 'DuckDB over Parquet, CSV and JSON files', w: files, checks: fromFiles },
    ];
    try {
      for (const check of here) {
        await minuteLeft(20_000);
        const startedAt = Date.now();
        const a = await warehouse.readOnly({ timeoutMs: 60_000 }, (q) => check.run(q));
        const x = byKey(a);
        expect(x.size, `${check.id} exports something`).toBeGreaterThan(0);
        for (const e of engines) {
          const twin = e.checks.find((c) => c.id === check.id) as Check;
          const b = await e.w.readOnly({ timeoutMs: 60_000 }, (q) => twin.run(q));
          const y = byKey(b);
          // Clocks and ages are read at each run's now(): apart by at most the time from a's start to b's end
          // (over a second on a loaded machine), plus a millisecond of rounding.
          const clockTolerance = Math.max(1, (Date.now() - startedAt) / 1000 + 0.001);
          expect([...y.keys()].sort(), `${check.id} on ${e.name}`).toEqual([...x.keys()].sort());
          for (const [key, want] of x) {
            const got = y.get(key) as number;
            const tolerance = CLOCK.test(key.split('{')[0] as string)
              ? clockTolerance
              : 1e-9 * Math.max(1, Math.abs(want));
            expect(
              Math.abs(got - want),
              `${check.id} ${key}: ${got} on ${e.name}, ${want} here`,
            ).toBeLessThanOrEqual(tolerance);
          }
          expect(b.skipped, `${check.id} on ${e.name}`).toEqual(a.skipped);
        }
      }
    } finally {
      await warehouse.close();
    }
  }, 300_000);
});
