import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendBatch, DemoFeeder } from '../src/demo/batches.js';
import { DemoIncidents } from '../src/demo/incidents.js';
import { FileGate } from '../src/demo/lake/gate.js';
import { LakeDemo } from '../src/demo/lake/lake-demo.js';
import { LAKE_TABLES, type LakeTable } from '../src/demo/lake/layout.js';
import { createDemoSchema } from '../src/demo/schema.js';
import { seedHistory } from '../src/demo/seed.js';
import { createDuckdbWarehouse } from '../src/warehouse/duckdb.js';
import { createPgliteWriter } from '../src/warehouse/pglite.js';
import type { SqlWriter } from '../src/warehouse/types.js';
import { duckRows, loadDuckdbForTests } from './helpers/duckdb.js';

// The lake `mlwatch demo --engine duckdb` writes (src/demo/lake/), held to the simulator it is written from:
// after the seed, every batch and every incident switch, the Parquet files read by a DuckDB of the test's own
// hold exactly the simulator's rows, each file only the rows of its time range; a batch adds files and
// changes none; an incident that rewrites old rows replaces only the files those rows are in; a retyped
// column rewrites its table; the batch files of a closed hour are merged into one. The exporter's own DuckDB
// (src/warehouse/duckdb.ts), opened before a batch, sees its file without being opened again.

const duckdb = await loadDuckdbForTests();
const HOUR = 3_600_000;
const SCHEMA = 'lake_sim';

let pg: PGlite;
let w: SqlWriter;
let demo: LakeDemo;
let reader: DuckDBConnection;
let incidents: DemoIncidents;
/** The end of the current hour's first second: batches run from 100 minutes before it to now. */
let hour: number;

/** A row as both engines print it: timestamps in epoch microseconds, numbers as doubles. */
function canonical(engine: 'pg' | 'duckdb', name: string, type: string): string {
  const c = `"${name}"`;
  if (type === 'timestamp with time zone' || type === 'TIMESTAMP WITH TIME ZONE')
    return engine === 'pg' ? `(extract(epoch FROM ${c}) * 1000000)::bigint::text` : `epoch_us(${c})::VARCHAR`;
  if (/^(bigint|integer|numeric|double precision|BIGINT|INTEGER|DOUBLE|DECIMAL.*)$/.test(type))
    return engine === 'pg' ? `${c}::float8` : `CAST(${c} AS DOUBLE)`;
  return c;
}

const sorted = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(Object.values(r))).sort();

/** The simulator's rows of a table and the rows its files hold, both canonical and sorted. */
async function bothSides(t: LakeTable): Promise<{ simulator: string[]; files: string[] }> {
  const cols = await w.query(
    `SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [SCHEMA, t.name],
  );
  const glob = join(demo.root, t.name, '*.parquet');
  const fileCols = await duckRows(reader, `DESCRIBE SELECT * FROM read_parquet('${glob}')`);
  // Aliased: two columns cast alike would otherwise share a name, and a row object keeps one of them.
  const pgSelect = cols.map((c, i) => `${canonical('pg', String(c.name), String(c.type))} AS c${i}`);
  const duckSelect = fileCols.map(
    (c, i) => `${canonical('duckdb', String(c.column_name), String(c.column_type))} AS c${i}`,
  );
  return {
    simulator: sorted(await w.query(`SELECT ${pgSelect.join(', ')} FROM ${SCHEMA}."${t.name}"`)),
    files: sorted(await duckRows(reader, `SELECT ${duckSelect.join(', ')} FROM read_parquet('${glob}')`)),
  };
}

async function expectFilesEqualSimulator(): Promise<void> {
  for (const t of LAKE_TABLES) {
    const { simulator, files } = await bothSides(t);
    expect(files.length, t.name).toBe(simulator.length);
    expect(files, t.name).toEqual(simulator);
    // Each file holds only the rows of its range, and the ranges follow each other.
    const ranges = demo.lake.ranges(t.name);
    expect(readdirSync(join(demo.root, t.name)).sort()).toEqual(ranges.map((r) => r.file).sort());
    for (const [i, r] of ranges.entries()) {
      expect(r.lo?.getTime(), `${t.name} ${r.file}`).toBe(ranges[i - 1]?.hi.getTime());
      const [outside] = await duckRows(
        reader,
        `SELECT count(*) AS n FROM read_parquet('${join(demo.root, t.name, r.file)}')
         WHERE "${t.time}" > '${r.hi.toISOString()}'::TIMESTAMPTZ
            ${r.lo ? `OR "${t.time}" <= '${r.lo.toISOString()}'::TIMESTAMPTZ` : ''}`,
      );
      expect(outside?.n, `${t.name} ${r.file}`).toBe(0);
    }
  }
}

/** Each file's inode: a file written again is a new one (renamed into place). */
function inodes(table: string): Map<string, number> {
  const dir = join(demo.root, table);
  return new Map(readdirSync(dir).map((f) => [f, statSync(join(dir, f)).ino]));
}

async function batch(from: Date, to: Date): Promise<void> {
  await appendBatch(w, SCHEMA, from, to);
  await incidents.afterBatch(from, to);
  await demo.afterBatch(to);
}

describe.skipIf(!duckdb)("the DuckDB demo's Parquet files", () => {
  beforeAll(async () => {
    // Past the first second of the hour, so the last batch ends in the current hour.
    if (Date.now() % HOUR < 2000) await new Promise((r) => setTimeout(r, 2000));
    hour = Math.floor(Date.now() / HOUR) * HOUR;
    pg = new PGlite();
    w = createPgliteWriter(pg);
    await createDemoSchema(w, SCHEMA);
    await seedHistory(w, SCHEMA, { days: 3, until: new Date(hour - 100 * 60_000) });
    demo = await LakeDemo.open(pg, SCHEMA);
    const feeder = new DemoFeeder(w, SCHEMA, HOUR);
    incidents = new DemoIncidents(w, SCHEMA, feeder, demo.afterSwitch);
    reader = await (await (duckdb as NonNullable<typeof duckdb>).DuckDBInstance.create(':memory:')).connect();
  }, 60_000);
  afterAll(async () => {
    reader?.closeSync();
    await demo?.close();
    await pg?.close();
  });

  it('writes the history as one file per table and UTC day, the rows the simulator has', async () => {
    await demo.lake.seed(new Date(hour - 100 * 60_000));
    for (const t of LAKE_TABLES) {
      const names = demo.lake.ranges(t.name).map((r) => r.file);
      // One file per UTC day the simulator has rows on: three or four days for predictions, fewer for a
      // table whose rows come later (outcomes wait for their label delay, so just after midnight UTC the
      // first day can hold none).
      const [days] = await w.query(
        `SELECT count(DISTINCT date_trunc('day', "${t.time}" AT TIME ZONE 'UTC'))::int AS n FROM ${SCHEMA}."${t.name}"`,
      );
      expect(names.length, t.name).toBe(days?.n);
      expect(names.length, t.name).toBeGreaterThanOrEqual(2);
      expect(
        names.every((n) => /^day-\d{4}-\d\d-\d\d\.parquet$/.test(n)),
        t.name,
      ).toBe(true);
    }
    await expectFilesEqualSimulator();
  });

  it('adds a file per table and batch, changing none, and the exporter sees it without reopening', async () => {
    const source = join(demo.root, 'requests', '*.parquet');
    const exporter = createDuckdbWarehouse('duckdb:memory', 1, [
      { name: 'requests', format: 'parquet', path: source, hivePartitioning: false, types: {} },
    ]);
    const count = async () =>
      (
        await exporter.readOnly({ timeoutMs: 10_000 }, (q) =>
          q.query('SELECT count(*) AS n FROM files.requests'),
        )
      )[0]?.n;
    try {
      const before = await count();
      const old = inodes('requests');
      const from = new Date(hour - 100 * 60_000);
      const to = new Date(hour - 80 * 60_000);
      await batch(from, to);
      const now = inodes('requests');
      const added = [...now.keys()].filter((f) => !old.has(f));
      expect(added).toEqual([`batch-${to.toISOString().replace(/[-:.]/g, '')}.parquet`]);
      for (const [f, ino] of old) expect(now.get(f), f).toBe(ino);
      const [simulator] = await w.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.requests`);
      // About 10 requests a minute: some 200 in 20 minutes, all read through the view made before the file was.
      expect(Number(simulator?.n) - Number(before)).toBeGreaterThan(100);
      expect(await count()).toBe(simulator?.n);
    } finally {
      await exporter.close();
    }
    await expectFilesEqualSimulator();
  });

  it("merges a closed hour's batch files into one", async () => {
    for (let m = 80; m > 0; m -= 20)
      await batch(new Date(hour - m * 60_000), new Date(hour - (m - 20) * 60_000));
    await batch(new Date(hour), new Date());
    const iso = (t: number) => new Date(t).toISOString().slice(0, 13);
    for (const t of LAKE_TABLES) {
      const names = demo.lake.ranges(t.name).map((r) => r.file);
      const later = names.filter((n) => !n.startsWith('day-'));
      // The hour before last (batches ending 80 and 60 minutes before the hour), the last hour (40, 20, 0), and
      // the batch of the current hour, unmerged while it is open.
      expect(later.slice(0, 2), t.name).toEqual([
        `hour-${iso(hour - 2 * HOUR)}.parquet`,
        `hour-${iso(hour - HOUR)}.parquet`,
      ]);
      expect(
        later.slice(2).every((n) => n.startsWith('batch-')),
        t.name,
      ).toBe(true);
    }
    await expectFilesEqualSimulator();
  });

  it('an incident that rewrites old rows replaces only the files they are in', async () => {
    const before = inodes('applications');
    const others = inodes('requests');
    const switched = Date.now();
    await incidents.set('nulls', true);
    // nulls: a fifth of the last hour's incomes. Replaced: some of the files that reach into the last hour, and
    // nothing older (the history ends 100 minutes before the hour), nor any other table's.
    const after = inodes('applications');
    const replaced = [...before].filter(([f, ino]) => after.get(f) !== ino).map(([f]) => f);
    const lastHour = demo.lake
      .ranges('applications')
      .filter((r) => r.hi.getTime() >= switched - HOUR)
      .map((r) => r.file);
    expect(replaced.length).toBeGreaterThan(0);
    expect(lastHour).toEqual(expect.arrayContaining(replaced));
    for (const [f, ino] of others) expect(inodes('requests').get(f), f).toBe(ino);
    const [nulls] = await duckRows(
      reader,
      `SELECT count(*) FILTER (WHERE income IS NULL) AS n FROM read_parquet('${join(demo.root, 'applications', '*.parquet')}')`,
    );
    expect(nulls?.n).toBeGreaterThan(0);
    await expectFilesEqualSimulator();

    // leakage moves five labels to an hour before their predictions: out of their files, into others.
    await incidents.set('leakage', true);
    await expectFilesEqualSimulator();
    await incidents.set('leakage', false);
    await incidents.set('nulls', false);
    await expectFilesEqualSimulator();
  });

  it('a retyped column (the schema incident) rewrites every file of its table, and back', async () => {
    const ageTypes = async () =>
      (
        await duckRows(
          reader,
          `SELECT DISTINCT type FROM parquet_schema('${join(demo.root, 'applications', '*.parquet')}') WHERE name = 'age'`,
        )
      ).map((r) => r.type);
    expect(await ageTypes()).toEqual(['INT32']);
    const others = inodes('predictions');
    await incidents.set('schema', true);
    expect(await ageTypes()).toEqual(['INT64']);
    for (const [f, ino] of others) expect(inodes('predictions').get(f), f).toBe(ino);
    await expectFilesEqualSimulator();
    await incidents.set('schema', false);
    expect(await ageTypes()).toEqual(['INT32']);
  });

  it('stale takes the last 20 minutes of applications out of their files at once; off, they and the catch-up batch are written', async () => {
    // A feeder of the demo's kind, continuing from the last file, and switches that drive it.
    const since = demo.lake.ranges('requests').at(-1)?.hi as Date;
    const feeder: DemoFeeder = new DemoFeeder(w, SCHEMA, HOUR, {
      since,
      afterBatch: async (_from, to) => demo.afterBatch(to),
    });
    const stale = new DemoIncidents(w, SCHEMA, feeder, demo.afterSwitch);
    const newest = async () => {
      const [r] = await duckRows(
        reader,
        `SELECT epoch_ms(max(ingested_at)) AS ms, count(*) AS n FROM read_parquet('${join(demo.root, 'applications', '*.parquet')}')`,
      );
      return { ms: Number(r?.ms), n: Number(r?.n) };
    };
    const before = await newest();
    const others = inodes('requests');
    const switched = Date.now();
    await stale.set('stale', true);
    const on = await newest();
    // The files hold no application of the last 20 minutes: the freshness check over them is past 15 minutes.
    expect(on.ms).toBeLessThanOrEqual(Date.now() - 20 * 60_000);
    expect(on.n).toBeLessThan(before.n);
    for (const [f, ino] of others) expect(inodes('requests').get(f), f).toBe(ino);
    await expectFilesEqualSimulator();

    await stale.set('stale', false);
    const off = await newest();
    expect(off.ms).toBeGreaterThanOrEqual(before.ms);
    expect(off.n).toBeGreaterThanOrEqual(before.n);
    // The catch-up batch's file, from where the files ended to now.
    const last = demo.lake.ranges('requests').at(-1);
    expect(last?.lo?.getTime()).toBe(since.getTime());
    expect(last?.hi.getTime()).toBeGreaterThanOrEqual(switched);
    await expectFilesEqualSimulator();
  });
});

describe('the gate between the demo writer and its checks', () => {
  it('lets the writer swap files only while no check reads, and holds new checks while it waits', async () => {
    const gate = new FileGate();
    const order: string[] = [];
    let finishRead = () => {};
    const reading = gate.read(async () => {
      order.push('read 1 starts');
      await new Promise<void>((r) => {
        finishRead = r;
      });
      order.push('read 1 ends');
    });
    const writing = gate.write(async () => {
      order.push('write');
    });
    const later = gate.read(async () => {
      order.push('read 2');
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['read 1 starts']);
    finishRead();
    await Promise.all([reading, writing, later]);
    expect(order).toEqual(['read 1 starts', 'read 1 ends', 'write', 'read 2']);
  });
});
