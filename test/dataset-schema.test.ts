import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetContext } from '../src/checks/dataset/context.js';
import { buildSchemaCheck, normalizeType, schemaSpec } from '../src/checks/dataset/schema.js';
import { parseSchemaLock, renderSchemaLock } from '../src/checks/dataset/schema-lock.js';
import type { Check } from '../src/checks/types.js';
import { schemaLock } from '../src/commands/schema-lock.js';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigText } from '../src/config/load.js';
import { Exporter } from '../src/runtime/exporter.js';
import { onRealPostgres, openTestDb, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { type Parsed, parseExposition, sampleValue, series } from './helpers/exposition.js';

// The table under test, as DDL and as the type each column should show in information_schema. The expected
// hash below is computed from this list with node:crypto, not with the check's own functions.
const columns: [name: string, ddl: string, reported: string][] = [
  ['id', 'bigint PRIMARY KEY', 'bigint'],
  ['income', 'numeric(12,2)', 'numeric'],
  ['age', 'int4', 'integer'],
  ['name', 'varchar(40)', 'character varying'],
  ['created_at', 'timestamptz NOT NULL', 'timestamp with time zone'],
  ['approved', 'bool', 'boolean'],
  ['score', 'float8', 'double precision'],
  ['tags', 'text[]', 'text[]'],
  ['status', 'mood', 'mood'],
  ['Region', 'text', 'text'],
];

const sha12 = (lines: string[]) => createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 12);
const hashOf = (cols: [string, string][]) => sha12(cols.map(([n, t]) => `${n}:${t}`));
const expectedHash = hashOf(columns.map(([n, , t]) => [n, t]));

let db: TestDb;
let dir: string;
beforeAll(async () => {
  db = await openTestDb();
  dir = mkdtempSync(join(tmpdir(), 'mlwatch-schema-'));
  await db.writer.exec(`CREATE TYPE ${db.schema}.mood AS ENUM ('ok', 'meh')`);
  await db.writer.exec(
    `CREATE TABLE ${db.schema}.applications (${columns.map(([n, ddl]) => `"${n}" ${ddl.replace('mood', `${db.schema}.mood`)}`).join(', ')})`,
  );
  await db.writer.exec(
    `CREATE TABLE ${db.schema}.events (id int, kind text, value int, ts timestamptz NOT NULL)`,
  );
});
afterAll(async () => {
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function header(): string {
  return `warehouse:\n  url: ${db.configUrl}\n  statement_timeout: 10s\n`;
}

/** An in-process exporter with the given `datasets:` YAML (indented two spaces). */
function startDatasets(datasetsYaml: string) {
  const config = loadConfigText(`${header()}datasets:\n${datasetsYaml}`, 'test.yaml', {}, '/');
  const exporter = Exporter.start(config, {
    log: memoryLogger().log,
    openWarehouse: () => db.newWarehouse(),
    withProcessMetrics: false,
  });
  return {
    exporter,
    async scrape(): Promise<Parsed> {
      return parseExposition(await exporter.metricsText());
    },
  };
}

const dataset = (name: string, table: string, schemaYaml: string) => `
  - name: ${name}
    table: ${table}
    timestamp: created_at
    interval: 1h
    checks:
      schema: ${schemaYaml}
`;

function schemaCheck(table: string, spec: unknown, baseDir?: string, configFile?: string): Check {
  const ds = datasetContext({ name: 'events', table, timestamp: 'ts' }, { everyMs: 60_000 }, 10_000);
  const [check] = buildSchemaCheck(ds, schemaSpec.parse(spec), baseDir, configFile);
  return check as Check;
}

async function run(check: Check) {
  return db.warehouse.readOnly({ timeoutMs: 10_000 }, (q) => check.run(q));
}

function changeValue(
  samples: { name: string; labels: Record<string, string>; value: number }[],
  change: string,
) {
  return samples.find((s) => s.name === 'mlwatch_dataset_schema_changes' && s.labels.change === change)
    ?.value;
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function infoHash(samples: { name: string; labels: Record<string, string> }[]): string | undefined {
  return samples.find((s) => s.name === 'mlwatch_dataset_schema_info')?.labels.hash;
}

describe('schema check', () => {
  it('exports the info series with the hash of the ordered column names and types, and no changes without an expectation', async () => {
    const e = startDatasets(dataset('applications', `${db.schema}.applications`, '{}'));
    await e.exporter.firstRound();
    const m = await e.scrape();
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'dataset:applications:schema' })).toBe(1);
    expect(series(m, 'mlwatch_dataset_schema_info')).toEqual([
      {
        name: 'mlwatch_dataset_schema_info',
        labels: { dataset: 'applications', hash: expectedHash },
        value: 1,
      },
    ]);
    expect(series(m, 'mlwatch_dataset_schema_changes')).toHaveLength(0);
    expect(m.type.get('mlwatch_dataset_schema_info')).toBe('gauge');
    await e.exporter.stop(1000);
  });

  it('counts added, removed and type_changed columns against expect, with aliases and case-sensitive names', async () => {
    // approved is missing (added); gone and ID are not in the table (removed: names are case-sensitive,
    // the table has id); age is integer, not bigint (type_changed). Every other type is an alias of the real one.
    const expectYaml = `{ expect: { id: int8, income: "decimal(12,2)", age: bigint, name: varchar, created_at: timestamptz,
        score: double, tags: "text[]", status: mood, Region: TEXT, gone: text, ID: bigint } }`;
    const e = startDatasets(dataset('applications', `${db.schema}.applications`, expectYaml));
    await e.exporter.firstRound();
    const m = await e.scrape();
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'dataset:applications:schema' })).toBe(1);
    const changes = Object.fromEntries(
      series(m, 'mlwatch_dataset_schema_changes', { dataset: 'applications' }).map((s) => [
        s.labels.change,
        s.value,
      ]),
    );
    expect(changes).toEqual({ added: 1, removed: 2, type_changed: 1 });
    expect(sampleValue(m, 'mlwatch_dataset_schema_info', { dataset: 'applications' })).toBe(1);
    await e.exporter.stop(1000);
  });

  it('exports all three change series as 0 when the table matches', async () => {
    const check = schemaCheck(`${db.schema}.applications`, {
      expect: Object.fromEntries(columns.map(([n, ddl]) => [n, ddl.replace(/ (PRIMARY KEY|NOT NULL)$/, '')])),
    });
    const r = await run(check);
    expect(r.samples.filter((s) => s.name === 'mlwatch_dataset_schema_changes')).toEqual(
      ['added', 'removed', 'type_changed'].map((change) => ({
        name: 'mlwatch_dataset_schema_changes',
        labels: { dataset: 'events', change },
        value: 0,
      })),
    );
    expect(r.skipped).toEqual({});
  });

  it('fails with a clear message when the table does not exist', async () => {
    const e = startDatasets(dataset('ghost', `${db.schema}.nope`, '{}'));
    await e.exporter.firstRound();
    const m = await e.scrape();
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'dataset:ghost:schema' })).toBe(0);
    expect(e.exporter.cachedChecks()[0]?.lastError).toBe(
      `table ${db.schema}.nope not found (or no SELECT permission on it)`,
    );
    expect(series(m, 'mlwatch_dataset_schema_info')).toHaveLength(0);
    await e.exporter.stop(1000);
  });
});

describe('schema hash changes', () => {
  // A table rebuilt in other column orders: the names and types stay, only the order (hence the hash) moves.
  const table = () => `${db.schema}.moves`;
  const orderA: [string, string][] = [
    ['id', 'bigint'],
    ['income', 'numeric'],
    ['created_at', 'timestamp with time zone'],
  ];
  const orderB: [string, string][] = [orderA[1], orderA[0], orderA[2]] as [string, string][];
  async function rebuild(order: [string, string][]) {
    await db.writer.exec(
      `DROP TABLE IF EXISTS ${table()}; CREATE TABLE ${table()} (${order.map(([n, t]) => `${n} ${t}`).join(', ')})`,
    );
  }
  const hashChanges = (r: {
    samples: { name: string; labels: Record<string, string>; value: number }[];
  }) => ({
    total: r.samples.filter((x) => x.name === 'mlwatch_dataset_schema_hash_changes_total'),
    info: r.samples.filter((x) => x.name === 'mlwatch_dataset_schema_change_info'),
  });
  const total = (value: number) => [
    { name: 'mlwatch_dataset_schema_hash_changes_total', labels: { dataset: 'events' }, value },
  ];
  const info = (previous: [string, string][], now: [string, string][]) => [
    {
      name: 'mlwatch_dataset_schema_change_info',
      labels: { dataset: 'events', previous_hash: hashOf(previous), hash: hashOf(now) },
      value: 1,
    },
  ];

  it('counts a reorder as a change without an expectation, naming the previous and the new hash; a revert too', async () => {
    expect(hashOf(orderA)).not.toBe(hashOf(orderB));
    await rebuild(orderA);
    const check = schemaCheck(table(), {});
    // The first run has nothing to compare with: 0, and no change named.
    expect(hashChanges(await run(check))).toEqual({ total: total(0), info: [] });
    expect(hashChanges(await run(check))).toEqual({ total: total(0), info: [] });
    await rebuild(orderB);
    let r = await run(check);
    expect(infoHash(r.samples)).toBe(hashOf(orderB));
    expect(hashChanges(r)).toEqual({ total: total(1), info: info(orderA, orderB) });
    // Unchanged since: the count and the latest change stay.
    expect(hashChanges(await run(check))).toEqual({ total: total(1), info: info(orderA, orderB) });
    // A failed run (the table is gone for a moment) remembers nothing: the next run compares with orderB.
    await db.writer.exec(`DROP TABLE ${table()}`);
    await expect(run(check)).rejects.toThrow(/not found/);
    await rebuild(orderA);
    r = await run(check);
    // Only the latest change is named: one series per dataset.
    expect(hashChanges(r)).toEqual({ total: total(2), info: info(orderB, orderA) });
  });

  it('counts a reorder with an expectation too, where the columns series see no change', async () => {
    await rebuild(orderA);
    const check = schemaCheck(table(), { expect: Object.fromEntries(orderA) });
    await run(check);
    await rebuild(orderB);
    const r = await run(check);
    expect(['added', 'removed', 'type_changed'].map((c) => changeValue(r.samples, c))).toEqual([0, 0, 0]);
    expect(hashChanges(r)).toEqual({ total: total(1), info: info(orderA, orderB) });
  });

  it('a restart is not a change: a new check has no previous hash', async () => {
    await rebuild(orderA);
    const before = schemaCheck(table(), {});
    await run(before);
    await rebuild(orderB);
    // The same check built again (a new process) first sees orderB: nothing to compare it with.
    const after = schemaCheck(table(), {});
    expect(hashChanges(await run(after))).toEqual({ total: total(0), info: [] });
  });

  it('a reload that keeps the check keeps its memory; the counter is a counter', async () => {
    await rebuild(orderA);
    const yaml = dataset('moves', table(), '{}');
    const e = startDatasets(yaml);
    await e.exporter.firstRound();
    await rebuild(orderB);
    // The reloaded config builds new check objects; the unchanged schema check adopts the previous one's hash.
    await e.exporter.reload(loadConfigText(`${header()}datasets:\n${yaml}`, 'test.yaml', {}, '/'));
    await e.exporter.runNow();
    const m = await e.scrape();
    expect(m.type.get('mlwatch_dataset_schema_hash_changes_total')).toBe('counter');
    expect(sampleValue(m, 'mlwatch_dataset_schema_hash_changes_total', { dataset: 'moves' })).toBe(1);
    expect(series(m, 'mlwatch_dataset_schema_change_info')).toEqual([
      {
        name: 'mlwatch_dataset_schema_change_info',
        labels: { dataset: 'moves', previous_hash: hashOf(orderA), hash: hashOf(orderB) },
        value: 1,
      },
    ]);
    await e.exporter.stop(1000);
  });
});

describe('schema lock', () => {
  const eventsCols: [string, string][] = [
    ['id', 'integer'],
    ['kind', 'text'],
    ['value', 'integer'],
    ['ts', 'timestamp with time zone'],
  ];

  function writeConfig(name: string, datasetsYaml: string): string {
    const file = join(dir, name);
    writeFileSync(file, `${header()}datasets:\n${datasetsYaml}`);
    return file;
  }

  async function lock(configFile: string, out?: string) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await schemaLock(configFile, {
      out,
      // On Postgres the command opens the config's warehouse itself; PGlite in memory needs the test's instance.
      openWarehouse: onRealPostgres ? undefined : () => db.newWarehouse(),
      stdout: (l) => stdout.push(l),
      stderr: (l) => stderr.push(l),
    });
    return { code, stdout, stderr };
  }

  it('writes the lock file, and the check counts renames and retypes against it', async () => {
    const config = writeConfig(
      'mlwatch.yaml',
      `${dataset('events', `${db.schema}.events`, '{ lock: true }').replace('created_at', 'ts')}${dataset(
        'applications',
        `${db.schema}.applications`,
        '{ expect: { id: bigint } }',
      )}`,
    );
    const r = await lock(config);
    expect(r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    const lockFile = join(dir, 'mlwatch.schema.lock.json');
    expect(r.stdout).toEqual([
      `events: 4 columns, hash ${hashOf(eventsCols)}`,
      `applications: ${columns.length} columns, hash ${expectedHash}`,
      expect.stringMatching(/^wrote .*mlwatch\.schema\.lock\.json$/),
    ]);

    // The file, byte for byte: fixed key order, datasets sorted by name, trailing newline.
    const text = readFileSync(lockFile, 'utf8');
    const want = {
      version: 1,
      datasets: {
        applications: {
          table: `${db.schema}.applications`,
          columns: columns.map(([name, , type]) => ({ name, type })),
          hash: expectedHash,
        },
        events: {
          table: `${db.schema}.events`,
          columns: eventsCols.map(([name, type]) => ({ name, type })),
          hash: hashOf(eventsCols),
        },
      },
    };
    expect(text).toBe(`${JSON.stringify(want, null, 2)}\n`);

    // Locking an unchanged warehouse again leaves the file identical.
    const again = await lock(config);
    expect(again.code).toBe(0);
    expect(again.stdout[0]).toBe(`events: 4 columns, hash ${hashOf(eventsCols)} (unchanged)`);
    expect(readFileSync(lockFile, 'utf8')).toBe(text);

    // The check reads the lock next to the config (baseDir) and finds no change.
    const check = schemaCheck(`${db.schema}.events`, { lock: true }, dir, 'mlwatch.yaml');
    let res = await run(check);
    expect(['added', 'removed', 'type_changed'].map((c) => changeValue(res.samples, c))).toEqual([0, 0, 0]);
    expect(infoHash(res.samples)).toBe(hashOf(eventsCols));

    // A rename is one column removed and one added; the hash changes.
    await db.writer.exec(`ALTER TABLE ${db.schema}.events RENAME COLUMN kind TO category`);
    res = await run(check);
    expect(['added', 'removed', 'type_changed'].map((c) => changeValue(res.samples, c))).toEqual([1, 1, 0]);
    const renamed = hashOf([
      ['id', 'integer'],
      ['category', 'text'],
      ['value', 'integer'],
      ['ts', 'timestamp with time zone'],
    ]);
    expect(infoHash(res.samples)).toBe(renamed);
    expect(renamed).not.toBe(hashOf(eventsCols));

    // Renamed back and retyped: one type change, and yet another hash.
    await db.writer.exec(`ALTER TABLE ${db.schema}.events RENAME COLUMN category TO kind`);
    await db.writer.exec(`ALTER TABLE ${db.schema}.events ALTER COLUMN value TYPE bigint`);
    res = await run(check);
    expect(['added', 'removed', 'type_changed'].map((c) => changeValue(res.samples, c))).toEqual([0, 0, 1]);
    const retyped = hashOf([
      ['id', 'integer'],
      ['kind', 'text'],
      ['value', 'bigint'],
      ['ts', 'timestamp with time zone'],
    ]);
    expect(infoHash(res.samples)).toBe(retyped);

    // The intended change is accepted by locking again; the command says what changed.
    const relock = await lock(config);
    expect(relock.stdout[0]).toBe(
      `events: 4 columns, hash ${retyped} (was ${hashOf(eventsCols)}: type changed value)`,
    );
    res = await run(check);
    expect(['added', 'removed', 'type_changed'].map((c) => changeValue(res.samples, c))).toEqual([0, 0, 0]);
    await db.writer.exec(`ALTER TABLE ${db.schema}.events ALTER COLUMN value TYPE integer`);
  });

  it('--out writes every dataset to the one file given', async () => {
    const config = writeConfig(
      'out.yaml',
      dataset('events', `${db.schema}.events`, `{ lock: ${join(dir, 'never-written.json')} }`).replace(
        'created_at',
        'ts',
      ),
    );
    const out = join(dir, 'custom.lock.json');
    const r = await lock(config, out);
    expect(r.code).toBe(0);
    const parsed = parseSchemaLock(readFileSync(out, 'utf8'), 'custom.lock.json');
    expect(Object.keys(parsed.datasets)).toEqual(['events']);
    expect(() => readFileSync(join(dir, 'never-written.json'))).toThrow();
  });

  it('exits 1 without writing anything when a table is missing', async () => {
    const config = writeConfig(
      'missing.yaml',
      dataset('ghost', `${db.schema}.nope`, '{ lock: missing.lock.json }'),
    );
    const r = await lock(config);
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual([
      `ghost: table ${db.schema}.nope not found (or no SELECT permission on it)`,
      'no schema lock file written',
    ]);
    expect(() => readFileSync(join(dir, 'missing.lock.json'))).toThrow();
  });

  it('exits 1 when no dataset has a schema check', async () => {
    const config = writeConfig(
      'none.yaml',
      `  - name: events\n    table: ${db.schema}.events\n    timestamp: ts\n    checks:\n      freshness: {}\n`,
    );
    const r = await lock(config);
    expect(r.code).toBe(1);
    expect(r.stderr[0]).toMatch(/none\.yaml: no dataset has a schema check/);
  });

  it('fails the check, not the exporter, when the lock lacks the dataset or the file is missing', async () => {
    const lockFile = join(dir, 'other.lock.json');
    writeFileSync(
      lockFile,
      renderSchemaLock({
        version: 1,
        datasets: { other: { table: 'x', columns: [{ name: 'a', type: 'text' }], hash: 'h' } },
      }),
    );
    const e = startDatasets(
      dataset('applications', `${db.schema}.applications`, `{ lock: ${lockFile} }`) +
        dataset('events', `${db.schema}.events`, `{ lock: ${join(dir, 'absent.lock.json')} }`).replace(
          'created_at',
          'ts',
        ),
    );
    await e.exporter.firstRound();
    const [apps, events] = e.exporter.cachedChecks();
    expect(apps?.status).toBe('failing');
    // The hint names the config file once the loader passes it to the check (test.yaml here).
    const hint = 'run mlwatch schema lock --config (test\\.yaml|<config file>)$';
    expect(apps?.lastError).toMatch(
      new RegExp(`^${reEscape(lockFile)}: dataset applications is missing; ${hint}`),
    );
    expect(events?.lastError).toMatch(
      new RegExp(
        `^${reEscape(join(dir, 'absent.lock.json'))}: cannot read the schema lock file: no such file; ${hint}`,
      ),
    );
    await e.exporter.stop(1000);

    // With the file name as written in config and the config file known, the message reads as in the docs.
    writeFileSync(join(dir, 'mlwatch.schema.lock.json'), readFileSync(lockFile));
    const check = schemaCheck(`${db.schema}.events`, { lock: true }, dir, 'mlwatch.yaml');
    await expect(run(check)).rejects.toThrow(
      'mlwatch.schema.lock.json: dataset events is missing; run mlwatch schema lock --config mlwatch.yaml',
    );
  });

  it('fails the check when the dataset was locked for another table', async () => {
    const lockFile = join(dir, 'moved.lock.json');
    writeFileSync(
      lockFile,
      renderSchemaLock({
        version: 1,
        datasets: { events: { table: 'old.events', columns: [{ name: 'id', type: 'integer' }], hash: 'h' } },
      }),
    );
    await expect(run(schemaCheck(`${db.schema}.events`, { lock: lockFile }))).rejects.toThrow(
      `${lockFile}: dataset events was locked for table old.events, the config now reads ${db.schema}.events`,
    );
  });
});

describe('schema lock file parsing', () => {
  it('names the file and the path of what is wrong', () => {
    const bad = (doc: unknown) => () =>
      parseSchemaLock(JSON.stringify(doc), 'mlwatch.schema.lock.json', 'mlwatch.yaml');
    expect(() => parseSchemaLock('{', 'mlwatch.schema.lock.json', 'mlwatch.yaml')).toThrow(
      /^mlwatch\.schema\.lock\.json: not valid JSON \(.*\); run mlwatch schema lock --config mlwatch\.yaml to write it again$/,
    );
    expect(bad({ version: 2, datasets: {} })).toThrow(
      'mlwatch.schema.lock.json: version: version 2 was written by a newer mlwatch; this one reads version 1',
    );
    expect(bad({ version: 1 })).toThrow('mlwatch.schema.lock.json: datasets: expected an object');
    expect(
      bad({
        version: 1,
        datasets: { a: { table: 't', hash: 'h', columns: [{ name: 'x', type: 'text' }, { name: 'y' }] } },
      }),
    ).toThrow(
      'mlwatch.schema.lock.json: datasets.a.columns[1].type: expected a type name; run mlwatch schema lock --config mlwatch.yaml',
    );
    expect(bad({ version: 1, datasets: { a: { table: 't', hash: 'h', columns: [] } } })).toThrow(
      'datasets.a.columns: expected a non-empty list',
    );
  });

  it('round-trips through render and parse', () => {
    const lock = {
      version: 1 as const,
      datasets: {
        b: { table: 's.b', columns: [{ name: 'z', type: 'text' }], hash: 'abc' },
        a: {
          table: 's.a',
          columns: [
            { name: 'y', type: 'integer' },
            { name: 'x', type: 'mood' },
          ],
          hash: 'def',
        },
      },
    };
    const text = renderSchemaLock(lock);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.indexOf('"a"')).toBeLessThan(text.indexOf('"b"'));
    expect(parseSchemaLock(text, 'f')).toEqual(lock);
    expect(renderSchemaLock(parseSchemaLock(text, 'f'))).toBe(text);
  });
});

describe('schema spec and type names', () => {
  const load = (schemaYaml: string) =>
    loadConfigText(
      `warehouse:\n  url: pglite:memory\ndatasets:\n${dataset('applications', 'public.applications', schemaYaml)}`,
      'test.yaml',
      {},
      '/',
    );

  it('refuses expect and lock together, naming the line', () => {
    expect(() => load('{ expect: { id: bigint }, lock: true }')).toThrow(ConfigError);
    expect(() => load('{ expect: { id: bigint }, lock: true }')).toThrow(
      'test.yaml:10 datasets[0].checks.schema.lock: give expect or lock, not both: expect lists the columns in the config, lock reads them from a schema lock file',
    );
  });

  it('explains a bad lock or expect value', () => {
    expect(() => load('{ lock: 3 }')).toThrow(
      'datasets[0].checks.schema.lock: expected the path of a schema lock file, or true for mlwatch.schema.lock.json next to the config file',
    );
    expect(() => load('{ expect: {} }')).toThrow(
      'datasets[0].checks.schema.expect: list at least one column',
    );
    expect(() => load('{ expected: {} }')).toThrow(/datasets\[0\]\.checks\.schema\.expected/);
  });

  it('builds one check with the schema kind', () => {
    const config = load('{ lock: true }');
    expect(config.checks.map((c) => [c.id, c.kind])).toEqual([
      ['dataset:applications:schema', 'dataset_schema'],
    ]);
  });

  it('normalizes type aliases to what information_schema reports', () => {
    const cases: [string, string][] = [
      ['int', 'integer'],
      ['int4', 'integer'],
      ['INT8', 'bigint'],
      ['float8', 'double precision'],
      ['double', 'double precision'],
      ['varchar(20)', 'character varying'],
      ['timestamptz', 'timestamp with time zone'],
      ['timestamp(3) with time zone', 'timestamp with time zone'],
      ['bool', 'boolean'],
      ['text', 'text'],
      ['decimal(10, 2)', 'numeric'],
      ['numeric', 'numeric'],
      ['int[]', 'integer[]'],
      ['uuid', 'uuid'],
      ['Mood', 'Mood'],
      ['constructor', 'constructor'],
    ];
    for (const [given, want] of cases) expect([given, normalizeType(given)]).toEqual([given, want]);
  });
});
