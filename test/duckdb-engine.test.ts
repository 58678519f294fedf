import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Check } from '../src/checks/types.js';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigText } from '../src/config/load.js';
import { createDuckdbWarehouse } from '../src/warehouse/duckdb.js';
import { describeError } from '../src/warehouse/errors.js';
import { openWarehouse } from '../src/warehouse/open.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { ROOT, runCli } from './helpers/cli.js';
import { seededRandom } from './helpers/model-tables.js';
import { bruteAuc } from './helpers/oracle.js';

// The DuckDB engine's guarantees, in DuckDB's terms (engine-parity.test.ts holds its values against
// PostgreSQL's): the database is opened read-only, nothing outside it can be read, written, attached or
// loaded, the configuration cannot be unlocked, a check that overruns its timeout is interrupted, and the
// driver is loaded only by a DuckDB warehouse.

let dir: string;
let file: string;
let w: Warehouse;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mlwatch-duckdb-'));
  file = join(dir, 'warehouse.duckdb');
  writeFileSync(join(dir, 'outside.csv'), 'secret\n42\n');
  const db = await DuckDBInstance.create(file);
  const c = await db.connect();
  await c.run(`CREATE SCHEMA shop;
    CREATE TABLE shop.orders AS
    SELECT i AS id, now() - INTERVAL (i) MINUTE AS created_at, CASE WHEN i % 10 = 0 THEN NULL ELSE i * 1.5 END AS amount
    FROM range(1, 121) t(i)`);
  c.closeSync();
  db.closeSync();
  w = createDuckdbWarehouse(`duckdb:${file}`);
}, 60_000);
afterAll(async () => {
  await w?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The first line of the error a statement ends with on `on`, or 'ran'. */
async function outcome(on: Warehouse, sql: string): Promise<string> {
  try {
    await on.readOnly({ timeoutMs: 10_000 }, (q) => q.query(sql));
  } catch (err) {
    return (err as Error).message.split('\n')[0] as string;
  }
  return 'ran';
}
const refused = (sql: string) => outcome(w, sql);

describe('DuckDB: a check cannot write, read outside the database, or unlock it', () => {
  it('reads the database', async () => {
    const rows = await w.readOnly({ timeoutMs: 10_000 }, (q) =>
      q.query(
        'SELECT count(*) AS n, count(amount) AS priced FROM shop.orders WHERE created_at >= now() - $1::interval',
        ['3600 seconds'],
      ),
    );
    // 59 orders in the last hour (i = 1..59 minutes ago, and not 60: created exactly an hour before the load),
    // of which every tenth has no amount. Counts come back as numbers.
    expect(rows[0]?.n).toBeGreaterThanOrEqual(59);
    expect(rows[0]?.n).toBeLessThanOrEqual(60);
    expect(typeof rows[0]?.n).toBe('number');
  });

  it.each([
    ['a table', 'CREATE TABLE shop.x (i int)', 'CREATE'],
    ['a row', 'INSERT INTO shop.orders (id) VALUES (1)', 'INSERT'],
    ['a temporary table', 'CREATE TEMP TABLE scratch AS SELECT 1 AS x', 'CREATE'],
    ['a file', `COPY (SELECT 1) TO '${join(tmpdir(), 'mlwatch-duckdb-leak.csv')}'`, 'COPY'],
    ['another database', `ATTACH '${join(tmpdir(), 'mlwatch-other.duckdb')}' AS other`, 'ATTACH'],
    ['a setting', 'SET enable_external_access = true', 'SET'],
    ['an extension', 'LOAD httpfs', 'LOAD'],
  ])('refuses to write %s: a check sends one SELECT at a time', async (_what, sql, type) => {
    // DuckDB may refuse first, while preparing (a COPY to a path it may not touch): refused either way.
    expect(await refused(sql)).toMatch(
      new RegExp(`^a check only reads; this is a ${type} statement$|file system operations are disabled`),
    );
    expect(await refused(`SELECT 1; ${sql}`)).toBe('a check sends one statement at a time, not 2');
  });

  it('reads no file outside the database', async () => {
    expect(await refused(`SELECT * FROM read_csv('${join(dir, 'outside.csv')}')`)).toMatch(
      /file system operations are disabled by configuration/,
    );
  });

  it('interrupts a check that overruns its timeout, and says so', async () => {
    const started = Date.now();
    let err: unknown;
    await w
      .readOnly({ timeoutMs: 300 }, (q) => q.query('SELECT count(*) FROM range(1000000000000) a'))
      .catch((e: unknown) => {
        err = e;
      });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(describeError(err, 300)).toMatch(/timed out after 0.3s/);
    // The warehouse still serves the next check.
    const rows = await w.readOnly({ timeoutMs: 10_000 }, (q) => q.query('SELECT 1 AS one'));
    expect(rows[0]?.one).toBe(1);
  });
});

describe('DuckDB: config and the exporter', () => {
  const text = (url: string, state = '\nstate: { url: pglite:memory }') => `warehouse:
  url: ${url}${state}
datasets:
  - name: orders
    table: shop.orders
    timestamp: created_at
    checks: { freshness: {}, volume: { window: 1h }, nulls: { columns: [amount], window: 1h } }
`;

  it('refuses duckdb:memory without files, files beside a server, a file attached under a taken name, and no state store', () => {
    expect(() => loadConfigText(text('duckdb:memory'), 'm.yaml', {}, '/')).toThrow(
      /duckdb:memory holds nothing but warehouse.files/,
    );
    const files = '\n  files: { orders: { parquet: /data/orders.parquet } }\nstate: { url: pglite:memory }';
    expect(() => loadConfigText(text('postgresql://u@h/db', files), 'm.yaml', {}, '/')).toThrow(
      /files are read through DuckDB: set warehouse.url to duckdb:memory, or to a DuckDB file/,
    );
    // Beside files, a database file is attached under its name up to the first dot (a catalog).
    expect(() => loadConfigText(text('duckdb:/data/w.duckdb', files), 'm.yaml', {}, '/')).not.toThrow();
    for (const taken of ['files', 'memory', 'Temp.v2']) {
      expect(() => loadConfigText(text(`duckdb:/data/${taken}.duckdb`, files), 'm.yaml', {}, '/')).toThrow(
        new RegExp(
          `warehouse.url: the database file is attached under its name up to the first dot, '${taken.split('.')[0]}', which DuckDB or the files' schema`,
        ),
      );
    }
    expect(() => loadConfigText(text('duckdb:/data/my "db".duckdb', files), 'm.yaml', {}, '/')).toThrow(
      /must be letters, digits, _ or -: rename the file/,
    );
    const noState = () => loadConfigText(text('duckdb:/data/w.duckdb', ''), 'm.yaml', {}, '/');
    expect(noState).toThrow(ConfigError);
    expect(noState).toThrow(/cannot hold the state store; set state.url/);
  });

  it('mlwatch once runs the checks on the file and exports their values', () => {
    const cfg = join(dir, 'mlwatch.yaml');
    writeFileSync(cfg, text(`duckdb:${file}`));
    const r = runCli(['once', '--config', cfg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^mlwatch_check_success\{check="dataset:orders:scan"\} 1$/m);
    // 120 orders, one a minute: 59 or 60 in the last hour (the hour's edge moves with the clock), 1 in 10 NULL.
    const rows = Number(/^mlwatch_dataset_rows\{dataset="orders",window="1h"\} (\S+)$/m.exec(r.stdout)?.[1]);
    expect(rows === 59 || rows === 60).toBe(true);
    const nulls = Number(
      /^mlwatch_dataset_null_ratio\{dataset="orders",column="amount",window="1h"\} (\S+)$/m.exec(
        r.stdout,
      )?.[1],
    );
    expect(nulls).toBeCloseTo(rows === 60 ? 6 / 60 : 5 / 59, 12);
  });

  it('loads the driver only for a DuckDB warehouse: no static import of it in the build', () => {
    const files = readdirSync(join(ROOT, 'dist'), { recursive: true }) as string[];
    const importing = files.filter(
      (f) => f.endsWith('.js') && readFileSync(join(ROOT, 'dist', f), 'utf8').includes('@duckdb/node-api'),
    );
    expect(importing).toEqual(['warehouse/duckdb.js']);
    const source = readFileSync(join(ROOT, 'dist/warehouse/duckdb.js'), 'utf8');
    expect(source).toMatch(/await import\('@duckdb\/node-api'\)/);
    expect(source).not.toMatch(/^import .*@duckdb\/node-api/m);
  });
});

describe('DuckDB over files: warehouse.files as views, read and nothing else', () => {
  let data: string;
  let fw: Warehouse;

  beforeAll(async () => {
    data = join(dir, 'data');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    // Two Hive partitions of predictions, 50 a day, and their labels as CSV.
    for (const day of [1, 2]) {
      mkdirSync(join(data, 'predictions', `day=${day}`), { recursive: true });
      await c.run(`COPY (SELECT ${day} * 100 + i AS k, now() - INTERVAL (i) MINUTE AS ts, i / 50.0 AS s FROM range(50) t(i))
        TO '${join(data, 'predictions', `day=${day}`, 'part-0.parquet')}' (FORMAT parquet)`);
    }
    await c.run(
      `COPY (SELECT 100 + i AS k, now() AS lt, i % 2 = 0 AS y FROM range(50) t(i)) TO '${join(data, 'labels.csv')}' (FORMAT csv, HEADER)`,
    );
    c.closeSync();
    db.closeSync();
    const cfg = loadConfigText(
      `warehouse:
  url: duckdb:memory
  files:
    predictions: { parquet: data/predictions/*/*.parquet, hive_partitioning: true }
    labels: { csv: data/labels.csv }
state: { url: pglite:memory }
`,
      join(dir, 'files.yaml'),
      {},
      dir,
    );
    fw = openWarehouse(cfg.warehouse);
  });
  afterAll(async () => {
    await fw?.close();
  });

  const refusedHere = (sql: string) => outcome(fw, sql);

  it('reads the files through their views, Hive partitions as columns', async () => {
    const rows = await fw.readOnly({ timeoutMs: 10_000 }, (q) =>
      q.query(`SELECT p.day, count(*) AS n, count(l.y) AS labeled
               FROM files.predictions p LEFT JOIN files.labels l ON l.k = p.k GROUP BY 1 ORDER BY 1`),
    );
    expect(rows).toEqual([
      { day: 1, n: 50, labeled: 50 },
      { day: 2, n: 50, labeled: 0 },
    ]);
  });

  it('writes nothing, even inside the files directory, and reads nothing outside it', async () => {
    const target = join(data, 'written.csv');
    expect(await refusedHere(`COPY (SELECT 1) TO '${target}'`)).toBe(
      'a check only reads; this is a COPY statement',
    );
    expect(existsSync(target)).toBe(false);
    expect(await refusedHere('CREATE TABLE files.x AS SELECT 1')).toBe(
      'a check only reads; this is a CREATE statement',
    );
    expect(await refusedHere(`SELECT * FROM read_csv('${join(dir, 'outside.csv')}')`)).toMatch(
      /file system operations are disabled by configuration/,
    );
  });

  it('refuses a source that names no format or two, or a type off the list (remote paths: duckdb-remote.test.ts)', () => {
    const load = (source: string) => () =>
      loadConfigText(
        `warehouse:\n  url: duckdb:memory\n  files:\n    p: ${source}\nstate: { url: pglite:memory }\n`,
        'f.yaml',
        {},
        '/',
      );
    expect(load('{ parquet: a.parquet, csv: a.csv }')).toThrow(/give exactly one of parquet, csv or json/);
    expect(load('{ json: a.json, types: { at: varchar } }')).toThrow(/expected one of timestamptz/);
  });
});

describe('DuckDB: a database file together with files', () => {
  // analytics.duckdb holds main.predictions (90 rows, one every 4 minutes, the first 2 minutes old, so an hour's
  // window holds 15 of them however long the test takes, up to 2 minutes) and shop.orders; events are Parquet
  // files spaced alike.
  let both: string;
  let dbFile: string;
  let cfgFile: string;
  let bw: Warehouse;
  let fileBytes: Buffer;

  const configYaml = (url: string) => `warehouse:
  url: ${url}
  files:
    events: { parquet: events/*.parquet }
state: { url: pglite:memory }
datasets:
  - name: predictions
    table: main.predictions
    timestamp: ts
    checks: { volume: { window: 1h }, nulls: { columns: [s], window: 1h }, schema: { expect: { k: bigint, ts: timestamptz, s: double } } }
  - name: bare
    table: predictions
    timestamp: ts
    checks: { volume: { window: 1h } }
  - name: events
    table: files.events
    timestamp: at
    checks: { volume: { window: 1h }, nulls: { columns: [amount], window: 1h }, schema: { expect: { id: bigint, at: timestamptz, amount: double } } }
`;

  beforeAll(async () => {
    both = join(dir, 'both');
    mkdirSync(join(both, 'events'), { recursive: true });
    dbFile = join(both, 'analytics.duckdb');
    const db = await DuckDBInstance.create(dbFile);
    const c = await db.connect();
    await c.run(`CREATE TABLE main.predictions AS
      SELECT i::BIGINT AS k, now() - INTERVAL (i * 240 + 120) SECOND AS ts, CASE WHEN i % 7 = 0 THEN NULL ELSE i / 100.0 END::DOUBLE AS s
      FROM range(90) t(i);
      CREATE SCHEMA shop; CREATE TABLE shop.orders AS SELECT i AS id FROM range(12) t(i)`);
    c.closeSync();
    db.closeSync();
    const w2 = await DuckDBInstance.create(':memory:');
    const c2 = await w2.connect();
    for (const [part, from, to] of [
      [0, 0, 40],
      [1, 40, 100],
    ] as const) {
      await c2.run(`COPY (SELECT i::BIGINT AS id, now() - INTERVAL (i * 240 + 120) SECOND AS at, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 2.5 END::DOUBLE AS amount
        FROM range(${from}, ${to}) t(i)) TO '${join(both, 'events', `part-${part}.parquet`)}' (FORMAT parquet)`);
    }
    c2.closeSync();
    w2.closeSync();
    fileBytes = readFileSync(dbFile);
    cfgFile = join(both, 'mlwatch.yaml');
    writeFileSync(cfgFile, configYaml(`duckdb:${dbFile}`));
    const cfg = loadConfigText(readFileSync(cfgFile, 'utf8'), cfgFile, {}, both);
    bw = openWarehouse(cfg.warehouse);
  }, 60_000);
  afterAll(async () => {
    await bw?.close();
  });

  const one = async (sql: string) => (await bw.readOnly({ timeoutMs: 10_000 }, (q) => q.query(sql)))[0];

  it('names the file’s tables as when it is opened alone, and the views as files.<name>', async () => {
    expect(await one('SELECT count(*) AS n FROM main.predictions')).toEqual({ n: 90 });
    expect(await one('SELECT count(*) AS n FROM predictions')).toEqual({ n: 90 });
    expect(await one('SELECT count(*) AS n FROM analytics.main.predictions')).toEqual({ n: 90 });
    expect(await one('SELECT count(*) AS n FROM shop.orders')).toEqual({ n: 12 });
    expect(await one('SELECT count(*) AS n FROM files.events')).toEqual({ n: 100 });
    expect(await one('SELECT current_database() AS db, current_schema() AS s')).toEqual({
      db: 'analytics',
      s: 'main',
    });
  });

  it('mlwatch once exports the values an independent DuckDB reads from the file and the Parquet files', async () => {
    const r = runCli(['once', '--config', cfgFile]);
    expect(r.code, r.stderr).toBe(0);
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    await c.run(`ATTACH '${dbFile}' AS a (READ_ONLY)`);
    const expected = async (from: string, ts: string, col: string) =>
      (
        await c.runAndReadAll(`SELECT count(*)::DOUBLE AS n, (count(*) - count(${col}))::DOUBLE / count(*) AS nulls
          FROM ${from} WHERE ${ts} >= now() - INTERVAL 1 HOUR`)
      ).getRowObjectsJS()[0] as { n: number; nulls: number };
    const preds = await expected('a.main.predictions', 'ts', 's');
    const events = await expected(`read_parquet('${join(both, 'events', '*.parquet')}')`, '"at"', 'amount');
    c.closeSync();
    db.closeSync();
    const metric = (re: RegExp) => Number(re.exec(r.stdout)?.[1]);
    // A row every 4 minutes, the first 2 minutes old: rows 0..14 of each are in the hour, whatever the test's
    // pace (the nearest edge is 2 minutes away on either side), and every 7th (predictions) or 5th (events) of
    // them has no value.
    expect(preds).toEqual({ n: 15, nulls: 3 / 15 });
    expect(events).toEqual({ n: 15, nulls: 3 / 15 });
    for (const [name, want] of [
      ['predictions', preds],
      ['bare', preds],
      ['events', events],
    ] as const) {
      expect(
        metric(new RegExp(`^mlwatch_dataset_rows\\{dataset="${name}",window="1h"\\} (\\S+)$`, 'm')),
      ).toBe(want.n);
    }
    expect(
      metric(/^mlwatch_dataset_null_ratio\{dataset="predictions",column="s",window="1h"\} (\S+)$/m),
    ).toBeCloseTo(preds.nulls, 12);
    expect(
      metric(/^mlwatch_dataset_null_ratio\{dataset="events",column="amount",window="1h"\} (\S+)$/m),
    ).toBeCloseTo(events.nulls, 12);
    // The catalog reads each table's own columns: none missing, none added (memory.main or a view mixed in).
    expect(r.stdout).not.toMatch(/^mlwatch_dataset_schema_changes\{.*\} [1-9]/m);
    expect(r.stdout).toMatch(/^mlwatch_dataset_schema_changes\{dataset="events",change="added"\} 0$/m);
    expect(r.stdout).toMatch(/^mlwatch_dataset_schema_changes\{dataset="predictions",change="removed"\} 0$/m);
  }, 60_000);

  it('writes nothing: not the attached file, no table anywhere, no file; reads nothing outside', async () => {
    const refusedHere = (sql: string) => outcome(bw, sql);
    const copyTarget = join(both, 'events', 'copied.parquet');
    for (const [sql, type] of [
      ['INSERT INTO main.predictions (k) VALUES (1)', 'INSERT'],
      ['UPDATE shop.orders SET id = 0', 'UPDATE'],
      ['CREATE TABLE main.x AS SELECT 1', 'CREATE'],
      ['CREATE TABLE memory.main.x AS SELECT 1', 'CREATE'],
      ['CREATE TABLE files.x AS SELECT 1', 'CREATE'],
      ['CREATE TEMP TABLE x AS SELECT 1', 'CREATE'],
      [`COPY (SELECT 1) TO '${copyTarget}'`, 'COPY'],
      ['DETACH analytics', 'DETACH'],
      [`ATTACH '${dbFile}' AS rw`, 'ATTACH'],
      ['SET enable_external_access = true', 'SET'],
    ] as const) {
      expect(await refusedHere(sql)).toBe(`a check only reads; this is a ${type} statement`);
    }
    expect(existsSync(copyTarget)).toBe(false);
    expect(await refusedHere(`SELECT * FROM read_csv('${join(dir, 'outside.csv')}')`)).toMatch(
      /file system operations are disabled by configuration/,
    );
    // Behind the one-SELECT rule, DuckDB's own: the file attached read-only, access off, the settings locked.
    expect(
      await one(`SELECT (SELECT readonly FROM duckdb_databases() WHERE database_name = 'analytics') AS ro,
        current_setting('enable_external_access') AS ext, current_setting('lock_configuration') AS locked`),
    ).toEqual({ ro: true, ext: false, locked: true });
    expect(readFileSync(dbFile).equals(fileBytes)).toBe(true);
  });

  it('opens again at the next check when the file is missing at first', async () => {
    const later = join(both, 'later.duckdb');
    const cfg = loadConfigText(configYaml(`duckdb:${later}`), cfgFile, {}, both);
    const lw = openWarehouse(cfg.warehouse);
    try {
      expect(await outcome(lw, 'SELECT count(*) FROM predictions')).toMatch(/later\.duckdb/);
      const db = await DuckDBInstance.create(later);
      const c = await db.connect();
      await c.run('CREATE TABLE predictions AS SELECT 1 AS k');
      c.closeSync();
      db.closeSync();
      expect(await outcome(lw, 'SELECT count(*) FROM predictions')).toBe('ran');
    } finally {
      await lw.close();
    }
  });
});

describe('DuckDB: the exact AUC counts tied scores half, as brute force does', () => {
  // Scores on a 0.1 grid (many ties), a NULL score, two versions and a segment column, labels 0/1 in a CSV: the
  // exact AUC is shaped differently on DuckDB (src/sql/dialect.ts, mannWhitney: ranks, not running counts), so
  // ties are checked here on DuckDB itself, against the pair count.
  const { rand, pick } = seededRandom(5);
  const preds = Array.from({ length: 240 }, (_, i) => ({
    k: i,
    s: i % 37 === 0 ? null : Math.round(rand() * 10) / 10,
    v: pick(['a', 'b']),
    g: pick(['web', 'app', 'app']),
    y: rand() < 0.45 ? 1 : 0,
  }));
  let tw: Warehouse;
  let checks: Check[];

  beforeAll(async () => {
    const ties = join(dir, 'ties');
    mkdirSync(ties, { recursive: true });
    const rows = preds
      .map((p) => `(${p.k}, now() - INTERVAL (${p.k}) MINUTE, ${p.s ?? 'NULL'}::DOUBLE, '${p.v}', '${p.g}')`)
      .join(', ');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    await c.run(
      `COPY (SELECT * FROM (VALUES ${rows}) t(k, ts, s, v, g)) TO '${join(ties, 'p.parquet')}' (FORMAT parquet)`,
    );
    await c.run(
      `COPY (SELECT * FROM (VALUES ${preds.map((p) => `(${p.k}, now() - INTERVAL 1 SECOND, ${p.y})`).join(', ')}) t(k, lt, y))
       TO '${join(ties, 'l.csv')}' (FORMAT csv, HEADER)`,
    );
    c.closeSync();
    db.closeSync();
    const cfg = loadConfigText(
      `warehouse:
  url: duckdb:memory
  files:
    p: { parquet: ties/p.parquet }
    l: { csv: ties/l.csv }
state: { url: pglite:memory }
models:
  - name: m
    task: binary_classification
    owner: ds
    windows: [1d]
    segments: [g]
    predictions: { table: files.p, key: k, timestamp: ts, score: s, version: v }
    labels: { table: files.l, key: k, timestamp: lt, label: y }
`,
      join(dir, 'ties.yaml'),
      {},
      dir,
    );
    tw = openWarehouse(cfg.warehouse);
    checks = cfg.checks;
  });
  afterAll(async () => {
    await tw?.close();
  });

  const auc = (rows: typeof preds) =>
    bruteAuc(rows.filter((p) => p.s !== null).map((p) => ({ s: p.s as number, y: p.y })));

  it('per version and per segment value', async () => {
    const run = async (id: string) => {
      const check = checks.find((c) => c.id === id) as Check;
      return (await tw.readOnly({ timeoutMs: 30_000 }, (q) => check.run(q))).samples;
    };
    const perf = await run('model:m:performance');
    for (const v of ['a', 'b']) {
      const got = perf.find((s) => s.name === 'mlwatch_model_auc' && s.labels.version === v)?.value;
      expect(Math.abs((got as number) - auc(preds.filter((p) => p.v === v)))).toBeLessThan(1e-12);
    }
    const segments = await run('model:m:segments');
    for (const g of ['web', 'app']) {
      const got = segments.find(
        (s) => s.name === 'mlwatch_model_segment_auc' && s.labels.segment_value === g,
      )?.value;
      expect(Math.abs((got as number) - auc(preds.filter((p) => p.g === g)))).toBeLessThan(1e-12);
    }
    // The data has what makes the test worth it: ties between a positive and a negative.
    const tied = preds.filter((p) => p.s === 0.5);
    expect(tied.some((p) => p.y === 1) && tied.some((p) => p.y === 0)).toBe(true);
  });
});
