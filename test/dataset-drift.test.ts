import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetContext } from '../src/checks/dataset/context.js';
import { buildDriftChecks, driftSpec } from '../src/checks/dataset/drift.js';
import { nextUp, strictThresholds } from '../src/checks/dataset/drift-bins.js';
import { binCountsStatement, ksStatement, type Source } from '../src/checks/dataset/drift-sql.js';
import type { Check, CheckResult } from '../src/checks/types.js';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigText } from '../src/config/load.js';
import { postgres } from '../src/sql/dialect.js';
import type { Queryable } from '../src/warehouse/types.js';
import { seeded } from '../tools/kpi-traffic.js';
import { openTestDb, type TestDb } from './helpers/db.js';
// The oracle: plain TypeScript from raw values, independent of the check's SQL.
import {
  binEdges,
  categoricalCounts,
  jsDistance,
  ksStatistic,
  numericCounts,
  psi,
  topCategories,
} from './helpers/drift-math.js';
import { startExporter } from './helpers/exporter.js';
import { series } from './helpers/exposition.js';

const HOUR = 3600;
const DAY = 24 * HOUR;

const WEIRD = 'Risk "band"';

type Region = 'current' | 'gap' | 'reference' | 'old' | 'future';

interface EventRow {
  /** Seconds before the database's now() at insert time; always half an hour away from a whole day. */
  ago: number;
  region: Region;
  income: number | null;
  age: number | null;
  purpose: string | null;
  flag: boolean | null;
  constant: number | null;
  sparse: number | null;
  refnull: number | null;
  /** The numeric column `Risk "band"`, as decimal text. */
  band: string | null;
}

/**
 * Known data: a current day, a gap (1d..7d ago, in no sample of the main check), the reference (7d..35d ago),
 * older rows, and rows dated in the future. With ties, negative and huge values, NULLs, a feature with a
 * single distinct value in the reference, a category unseen in the reference, a feature that is NULL in the
 * whole current window (sparse) and one that is NULL in the whole reference (refnull).
 */
function generate(seed: number): EventRow[] {
  const rnd = seeded(seed);
  const pick = <T>(items: readonly [T, number][]): T => {
    let u = rnd() * items.reduce((a, [, w]) => a + w, 0);
    for (const [v, w] of items) {
      u -= w;
      if (u < 0) return v;
    }
    return (items[items.length - 1] as [T, number])[0];
  };
  const refPurposes: [string, number][] = [
    ['car', 30],
    ['home', 25],
    ['edu', 15],
    ['biz', 10],
    ['travel', 8],
    ['medical', 6],
    ['wedding', 4],
    ['misc', 2],
    // Values that need escaping in an array literal, and one that reads like NULL there.
    ['NULL', 2],
    ['a,"b" \\{c}', 2],
  ];
  const curPurposes: [string, number][] = [
    ['car', 20],
    ['home', 30],
    ['edu', 5],
    ['travel', 10],
    ['wedding', 5],
    ['crypto', 12],
    ['misc', 3],
    ['NULL', 1],
    ['a,"b" \\{c}', 1],
  ];
  const specials = [-1e15, 1e12, 1e300, -1e300, -250.5, 0, 5e-324];
  const rows: EventRow[] = [];
  const add = (region: Region, ago: number) => {
    const cur = region === 'current';
    const shift = cur ? 40 : 0;
    let income: number | null = Math.round((rnd() + rnd() + rnd()) * 100 + shift) / 4; // quarters: many ties
    if (rnd() < 0.03) income = specials[Math.floor(rnd() * specials.length)] as number;
    if (rnd() < 0.06) income = null;
    const age = rnd() < 0.04 ? null : 18 + Math.floor(rnd() * (cur ? 40 : 60));
    const purpose = rnd() < 0.05 ? null : pick(cur ? curPurposes : refPurposes);
    const flag = rnd() < 0.1 ? null : rnd() < (cur ? 0.6 : 0.3);
    const constant = rnd() < 0.05 ? null : cur && rnd() < 0.3 ? 7 : 5;
    const sparse = cur || rnd() < 0.1 ? null : Math.floor(rnd() * 20) - 10;
    const refnull = region === 'reference' || rnd() < 0.1 ? null : rnd() * 3;
    const band = rnd() < 0.1 ? null : (Math.round((rnd() - 0.3) * 1e6) / 1000).toFixed(3);
    rows.push({ ago, region, income, age, purpose, flag, constant, sparse, refnull, band });
  };
  const hours = (from: number, to: number) => (from + Math.floor(rnd() * (to - from)) + 0.5) * HOUR;
  for (let i = 0; i < 700; i++) add('current', hours(0, 24));
  for (let i = 0; i < 300; i++) add('gap', hours(24, 7 * 24));
  for (let i = 0; i < 2000; i++) add('reference', hours(7 * 24, 35 * 24));
  for (let i = 0; i < 300; i++) add('old', hours(35 * 24, 60 * 24));
  for (let i = 0; i < 40; i++) add('future', -hours(0, 48));
  return rows;
}

async function createEvents(db: TestDb, table: string, rows: EventRow[]): Promise<void> {
  await db.writer.exec(`CREATE TABLE ${db.schema}.${table} (
    id serial PRIMARY KEY, ts timestamptz NOT NULL, income float8, age int, purpose text, flag boolean,
    constant float8, sparse float8, refnull float8, "Risk ""band""" numeric(12,3))`);
  await insertEvents(db, table, rows);
}

async function insertEvents(db: TestDb, table: string, rows: EventRow[]): Promise<void> {
  await db.writer.query(
    `INSERT INTO ${db.schema}.${table} (ts, income, age, purpose, flag, constant, sparse, refnull, "Risk ""band""")
     SELECT now() - make_interval(secs => u.ago), u.income, u.age, u.purpose, u.flag, u.constant, u.sparse,
       u.refnull, u.band::numeric
     FROM unnest($1::float8[], $2::float8[], $3::int[], $4::text[], $5::bool[], $6::float8[], $7::float8[],
       $8::float8[], $9::text[]) AS u(ago, income, age, purpose, flag, constant, sparse, refnull, band)`,
    [
      rows.map((r) => r.ago),
      rows.map((r) => r.income),
      rows.map((r) => r.age),
      rows.map((r) => r.purpose),
      rows.map((r) => r.flag),
      rows.map((r) => r.constant),
      rows.map((r) => r.sparse),
      rows.map((r) => r.refnull),
      rows.map((r) => r.band),
    ],
  );
}

type Kind = 'numeric' | 'categorical';
type Expected = Map<string, number>;

const key = (name: string, labels: Record<string, string>) =>
  `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;

/** The value of a feature as the check sees it: a number, or (categorical) Postgres' text of it. */
function featureValue(r: EventRow, feature: string, kind: Kind): number | string | null {
  const raw = feature === WEIRD ? r.band : (r[feature as keyof EventRow] as number | string | boolean | null);
  if (raw === null) return null;
  if (kind === 'numeric') return Number(raw);
  return String(raw);
}

/** Every series the check should export, with its value, computed in TypeScript from the rows. */
function oracle(
  dataset: string,
  window: string,
  features: [string, Kind][],
  ref: EventRow[],
  cur: EventRow[],
  bins: number,
  maxCategories: number,
): { values: Expected; skipped: number } {
  const values: Expected = new Map();
  let skipped = 0;
  for (const [feature, kind] of features) {
    const r = ref.map((x) => featureValue(x, feature, kind)).filter((v) => v !== null);
    const c = cur.map((x) => featureValue(x, feature, kind)).filter((v) => v !== null);
    values.set(key('mlwatch_feature_sample_rows', { dataset, feature, sample: 'current' }), c.length);
    values.set(key('mlwatch_feature_sample_rows', { dataset, feature, sample: 'reference' }), r.length);
    if (r.length === 0 || c.length === 0) {
      skipped += kind === 'numeric' ? 3 : 2;
      continue;
    }
    const labels = { dataset, feature, window };
    let rc: number[];
    let cc: number[];
    if (kind === 'numeric') {
      const edges = binEdges(r as number[], bins);
      rc = numericCounts(edges, r as number[]);
      cc = numericCounts(edges, c as number[]);
      values.set(key('mlwatch_feature_ks_statistic', labels), ksStatistic(r as number[], c as number[]));
    } else {
      const cats = topCategories(r as string[], maxCategories);
      rc = categoricalCounts(cats, r as string[]);
      cc = categoricalCounts(cats, c as string[]);
    }
    values.set(key('mlwatch_feature_psi', labels), psi(rc, cc));
    values.set(key('mlwatch_feature_js_distance', labels), jsDistance(rc, cc));
  }
  return { values, skipped };
}

/** 1e-9 relative (exact when the expected value is 0). */
function expectClose(actual: number, expected: number, what: string): void {
  const ok =
    actual === expected ||
    Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(actual), Math.abs(expected));
  if (!ok) expect.fail(`${what}: got ${actual}, expected ${expected}`);
}

function expectMatches(result: CheckResult, want: { values: Expected; skipped: number }): void {
  const got = new Map(result.samples.map((s) => [key(s.name, s.labels), s.value]));
  expect([...got.keys()].sort()).toEqual([...want.values.keys()].sort());
  for (const [k, v] of want.values) {
    const a = got.get(k) as number;
    expect(Number.isFinite(a), k).toBe(true);
    expectClose(a, v, k);
  }
  expect(result.skipped).toEqual(want.skipped > 0 ? { empty_window: want.skipped } : {});
}

/** The two checks of a drift spec: the binned one (PSI, JS, sample sizes) and KS on its own schedule. */
function buildBoth(
  table: string,
  spec: unknown,
  name = 'events',
  clock?: () => number,
): { drift: Check; ks: Check } {
  const ds = datasetContext(
    { name, table: `${db.schema}.${table}`, timestamp: 'ts' },
    { everyMs: 60_000 },
    20_000,
  );
  const checks = buildDriftChecks(ds, driftSpec.parse(spec), clock ? { clock } : {});
  expect(checks.map((c) => c.id)).toEqual([`dataset:${name}:drift`, `dataset:${name}:drift_ks`]);
  return { drift: checks[0] as Check, ks: checks[1] as Check };
}

/** Both checks as one, their samples and skipped counts merged: what the oracle describes. */
function build(table: string, spec: unknown, name = 'events', clock?: () => number): Check {
  const { drift, ks } = buildBoth(table, spec, name, clock);
  return {
    ...drift,
    async run(q) {
      const a = await drift.run(q);
      const b = await ks.run(q);
      const skipped: Record<string, number> = { ...a.skipped };
      for (const [k, v] of Object.entries(b.skipped)) skipped[k] = (skipped[k] ?? 0) + v;
      return { samples: [...a.samples, ...b.samples], skipped };
    },
  };
}

/** Runs a check in a read-only transaction, recording its statements. */
async function runCheck(check: Check, statements: string[] = []): Promise<CheckResult> {
  return db.warehouse.readOnly({ timeoutMs: 20_000 }, (q: Queryable) =>
    check.run({
      query(sql, params) {
        statements.push(sql);
        return q.query(sql, params);
      },
    }),
  );
}

const FEATURES: [string, Kind][] = [
  ['income', 'numeric'],
  ['age', 'numeric'],
  ['purpose', 'categorical'],
  ['flag', 'categorical'],
  ['constant', 'numeric'],
  ['sparse', 'numeric'],
  ['refnull', 'numeric'],
  [WEIRD, 'numeric'],
];

let db: TestDb;
const rows = generate(20240501);
const inRegion = (...regions: Region[]) => rows.filter((r) => regions.includes(r.region));

beforeAll(async () => {
  db = await openTestDb();
  await createEvents(db, 'events', rows);
  // The training set: another table without a timestamp column.
  const training = generate(7);
  await db.writer.exec(
    `CREATE TABLE ${db.schema}.training (income float8, age int, purpose text, flag boolean, "Risk ""band""" numeric(12,3))`,
  );
  await db.writer.query(
    `INSERT INTO ${db.schema}.training SELECT * FROM unnest($1::float8[], $2::int[], $3::text[], $4::bool[], $5::text[]::numeric[])`,
    [
      training.map((r) => r.income),
      training.map((r) => r.age),
      training.map((r) => r.purpose),
      training.map((r) => r.flag),
      training.map((r) => r.band),
    ],
  );
  trainingRows = training;
});
let trainingRows: EventRow[] = [];

afterAll(async () => {
  await db?.close();
});

describe('drift check: values against an independent TypeScript computation', () => {
  it('window reference: PSI, JS and KS of every feature, sample sizes, empty samples skipped', async () => {
    const check = build('events', {
      features: FEATURES.map(([f]) => f),
      current: '1d',
      reference: { window: '28d', offset: '7d' },
      max_categories: 5,
    });
    expect(check.id).toBe('dataset:events:drift');
    const result = await runCheck(check);
    const want = oracle('events', '1d', FEATURES, inRegion('reference'), inRegion('current'), 10, 5);
    // The data exercises what it claims to: a category unseen in the reference, an empty side per feature.
    expect(inRegion('current').some((r) => r.purpose === 'crypto')).toBe(true);
    expect(inRegion('reference').some((r) => r.purpose === 'crypto')).toBe(false);
    expect(want.skipped).toBe(6);
    expectMatches(result, want);
    // Drift is there, and the statistics are in range.
    for (const s of result.samples) {
      if (s.name === 'mlwatch_feature_psi') expect(s.value).toBeGreaterThanOrEqual(0);
      if (s.name === 'mlwatch_feature_js_distance' || s.name === 'mlwatch_feature_ks_statistic') {
        expect(s.value).toBeGreaterThanOrEqual(0);
        expect(s.value).toBeLessThanOrEqual(1);
      }
    }
    const psiIncome = result.samples.find(
      (s) => s.name === 'mlwatch_feature_psi' && s.labels.feature === 'income',
    );
    expect(psiIncome?.value).toBeGreaterThan(0.1);
  });

  it('other bin counts, bins and max_categories settings, explicit kinds', async () => {
    const features: [string, Kind][] = [
      ['income', 'numeric'],
      ['age', 'categorical'],
      ['purpose', 'categorical'],
      ['constant', 'categorical'],
    ];
    const check = build('events', {
      features: [
        'income',
        { name: 'age', kind: 'categorical' },
        { name: 'purpose' },
        { name: 'constant', kind: 'categorical' },
      ],
      current: '1d',
      reference: { window: '28d', offset: '7d' },
      bins: 4,
      max_categories: 3,
    });
    const result = await runCheck(check);
    // A float8 5 is '5' as text in Postgres and in JavaScript alike.
    expectMatches(result, oracle('events', '1d', features, inRegion('reference'), inRegion('current'), 4, 3));
  });

  it('fixed range reference {from, to}', async () => {
    const now = Date.now();
    const from = new Date(now - 20 * DAY * 1000).toISOString();
    const to = new Date(now - 2 * DAY * 1000).toISOString();
    const check = build('events', {
      features: FEATURES.map(([f]) => f),
      current: '1d',
      reference: { from, to },
    });
    const result = await runCheck(check);
    const ref = rows.filter((r) => r.ago > 2 * DAY && r.ago <= 20 * DAY);
    expectMatches(result, oracle('events', '1d', FEATURES, ref, inRegion('current'), 10, 50));
  });

  it('another table, all rows (the training set)', async () => {
    const features: [string, Kind][] = [
      ['income', 'numeric'],
      ['age', 'numeric'],
      ['purpose', 'categorical'],
      ['flag', 'categorical'],
      [WEIRD, 'numeric'],
    ];
    const check = build('events', {
      features: features.map(([f]) => f),
      current: '12h',
      reference: { table: `${db.schema}.training` },
      bins: 20,
    });
    const result = await runCheck(check);
    const cur = rows.filter((r) => r.ago > 0 && r.ago < 12 * HOUR);
    expectMatches(result, oracle('events', '12h', features, trainingRows, cur, 20, 50));
  });

  it('another table with its timestamp and a window gives the same values as the dataset window', async () => {
    const check = build('events', {
      features: FEATURES.map(([f]) => f),
      reference: { table: `${db.schema}.events`, timestamp: 'ts', window: '28d', offset: '7d' },
    });
    const result = await runCheck(check);
    expectMatches(
      result,
      oracle('events', '1d', FEATURES, inRegion('reference'), inRegion('current'), 10, 50),
    );
  });

  it('another table with its timestamp and no range: its rows not in the future', async () => {
    const check = build('events', {
      features: ['income', 'purpose'],
      reference: { table: `${db.schema}.events`, timestamp: 'ts' },
    });
    const result = await runCheck(check);
    const features: [string, Kind][] = [
      ['income', 'numeric'],
      ['purpose', 'categorical'],
    ];
    const ref = rows.filter((r) => r.region !== 'future');
    expectMatches(result, oracle('events', '1d', features, ref, inRegion('current'), 10, 50));
  });

  it('offset defaults to the current window: the reference ends where the current window starts', async () => {
    const check = build('events', {
      features: ['income', 'purpose'],
      current: '1d',
      reference: { window: '6d' },
    });
    const result = await runCheck(check);
    const features: [string, Kind][] = [
      ['income', 'numeric'],
      ['purpose', 'categorical'],
    ];
    expectMatches(result, oracle('events', '1d', features, inRegion('gap'), inRegion('current'), 10, 50));
  });

  it('identical samples: PSI, JS and KS are 0', async () => {
    const check = build('events', {
      features: FEATURES.map(([f]) => f),
      current: '1d',
      reference: { window: '1d', offset: '0s' },
    });
    const result = await runCheck(check);
    for (const s of result.samples)
      if (s.name !== 'mlwatch_feature_sample_rows') expect(s.value, JSON.stringify(s)).toBe(0);
    // Every feature but sparse (no current values, so no reference values either).
    expect(result.samples.filter((s) => s.name === 'mlwatch_feature_psi')).toHaveLength(7);
  });

  it('an empty current window exports sample sizes only; KS skips every numeric feature', async () => {
    await createEvents(db, 'quiet', inRegion('reference', 'old'));
    const spec = { features: FEATURES.map(([f]) => f), reference: { window: '28d', offset: '7d' } };
    const result = await runCheck(build('quiet', spec, 'quiet'));
    expectMatches(result, oracle('quiet', '1d', FEATURES, inRegion('reference'), [], 10, 50));
    expect(result.samples.every((s) => s.name === 'mlwatch_feature_sample_rows')).toBe(true);
    // Split by check: PSI and JS of all 8 features in the binned check, KS of the 6 numeric ones in its own.
    const { drift, ks } = buildBoth('quiet', spec, 'quiet');
    const statements: string[] = [];
    expect((await runCheck(drift, statements)).skipped).toEqual({ empty_window: 16 });
    expect(statements.some((s) => s.startsWith('WITH n AS'))).toBe(false);
    expect(await runCheck(ks)).toEqual({ samples: [], skipped: { empty_window: 6 } });
  });
});

describe('drift check: bin edges and odd shapes', () => {
  it('nextUp and the width_bucket thresholds: the next float8 up, specials handled', () => {
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextUp(-1)).toBe(-1 + Number.EPSILON / 2);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextUp(-0)).toBe(Number.MIN_VALUE);
    expect(nextUp(-Number.MIN_VALUE) === 0).toBe(true); // -0, equal to 0 in float8 as in JavaScript
    expect(nextUp(Number.MAX_VALUE)).toBe(Number.POSITIVE_INFINITY);
    expect(nextUp(Number.NEGATIVE_INFINITY)).toBe(-Number.MAX_VALUE);
    expect(nextUp(Number.POSITIVE_INFINITY)).toBeNaN();
    for (const x of [1e300, -1e15, 0.1, -250.5, 5e-324]) {
      expect(nextUp(x)).toBeGreaterThan(x);
      // Nothing lies between x and nextUp(x): their midpoint rounds to one of them.
      expect([x, nextUp(x)]).toContain(x / 2 + nextUp(x) / 2);
    }
    expect(strictThresholds([Number.NEGATIVE_INFINITY, 1, Number.POSITIVE_INFINITY, Number.NaN])).toEqual([
      -Number.MAX_VALUE,
      nextUp(1),
      Number.NaN,
    ]);
  });

  it('values equal to an edge, its neighbours, -0, subnormal, huge and negative values, NULLs', async () => {
    // Reference: 1..9 and their negatives give edges at known values; the current window holds every edge
    // exactly, the float8 just above and below each, and the specials.
    const refValues = [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 5, 5];
    const edges = binEdges(refValues, 10);
    const below = (x: number) => -nextUp(-x);
    const curValues = [
      ...edges,
      ...edges.map(nextUp),
      ...edges.map(below),
      -0,
      0,
      5e-324,
      -5e-324,
      1e300,
      -1e300,
      -1e15,
    ];
    const mk = (ago: number, v: number | null, cat: string | null): EventRow => ({
      ago,
      region: ago < DAY ? 'current' : 'reference',
      income: v,
      age: null,
      purpose: cat,
      flag: null,
      constant: 5,
      sparse: null,
      refnull: null,
      band: null,
    });
    const edgeRows = [
      ...refValues.map((v, i) => mk(2 * DAY + i * 60, v, i % 2 ? 'a' : 'b')),
      mk(2 * DAY + 3600, null, null),
      ...curValues.map((v, i) => mk(HOUR + i * 10, v, ['a', 'b', 'unseen'][i % 3] as string)),
      mk(HOUR / 2, null, null),
    ];
    await createEvents(db, 'edges', edgeRows);
    const features: [string, Kind][] = [
      ['income', 'numeric'],
      ['purpose', 'categorical'],
      ['constant', 'numeric'],
    ];
    const check = build(
      'edges',
      { features: features.map(([f]) => f), current: '1d', reference: { window: '6d' } },
      'edges',
    );
    const ref = edgeRows.filter((r) => r.region === 'reference');
    const cur = edgeRows.filter((r) => r.region === 'current');
    expectMatches(await runCheck(check), oracle('edges', '1d', features, ref, cur, 10, 50));
    // The bins themselves, against the oracle's #{e < x}: PSI/JS could hide a value in the wrong neighbour.
    const st = binCountsStatement(
      { tableSql: `${db.schema}.edges`, timestampSql: 'ts', from: { agoMs: DAY * 1000 }, to: { agoMs: 0 } },
      [{ name: 'income', kind: 'numeric', edges }],
    );
    const got = new Array<number>(edges.length + 1).fill(0);
    for (const r of await db.warehouse.readOnly({ timeoutMs: 20_000 }, (q) => q.query(st.text, st.params)))
      got[Number(r.b)] = Number(r.n);
    expect(got).toEqual(numericCounts(edges, curValues));
  });

  it('KS spelled by row and by value: the same statistic, sample sizes and distinct values', async () => {
    // The events of the first test: quarters with ties, specials (0, the subnormal 5e-324, +-1e300), a feature
    // with one value, a mostly distinct one (Risk "band") and two with an empty side (no row).
    const numeric = FEATURES.filter(([, k]) => k === 'numeric').map(([f]) => f);
    const table = `${db.schema}.events`;
    const at = (fromS: number, toS: number): Source => ({
      tableSql: table,
      timestampSql: 'ts',
      from: { agoMs: fromS * 1000 },
      to: { agoMs: toS * 1000 },
    });
    const [ref, cur] = [at(35 * DAY, 7 * DAY), at(DAY, 0)];
    const run = async (byValue: string[]) => {
      const st = ksStatement(ref, cur, numeric, postgres, new Set(byValue));
      const got = await db.warehouse.readOnly({ timeoutMs: 20_000 }, (q) => q.query(st.text, st.params));
      return new Map(
        got.map((r) => [numeric[Number(r.f)], [Number(r.d), Number(r.nr), Number(r.nc), Number(r.nd)]]),
      );
    };
    const want = new Map<string, number[]>();
    for (const f of numeric) {
      const values = (region: Region) =>
        inRegion(region)
          .map((r) => featureValue(r, f, 'numeric') as number | null)
          .filter((v): v is number => v !== null);
      const [r, c] = [values('reference'), values('current')];
      if (r.length > 0 && c.length > 0)
        want.set(f, [ksStatistic(r, c), r.length, c.length, new Set([...r, ...c]).size]);
    }
    expect([...want.keys()].sort()).toEqual(['age', 'constant', 'income', WEIRD].sort());
    const halves = [numeric.filter((_, i) => i % 2 === 0), numeric.filter((_, i) => i % 2 === 1)];
    for (const byValue of [[], numeric, ...halves]) {
      const got = await run(byValue);
      expect([...got.keys()].sort(), byValue.join()).toEqual([...want.keys()].sort());
      for (const [f, [d, nr, nc, nd]] of want) {
        const [gd, gnr, gnc, gnd] = got.get(f) as number[];
        expectClose(gd as number, d as number, `KS of ${f} with ${byValue.join() || 'none'} by value`);
        expect([gnr, gnc, gnd], f).toEqual([nr, nc, nd]);
      }
    }
  });

  it('the KS check spells by value, from its second run, the features whose values repeat 3 times or more', async () => {
    const { ks } = buildBoth('events', {
      features: FEATURES.map(([f]) => f),
      reference: { window: '28d', offset: '7d' },
    });
    const want = oracle('events', '1d', FEATURES, inRegion('reference'), inRegion('current'), 10, 5);
    const ksOnly = new Map([...want.values].filter(([k]) => k.startsWith('mlwatch_feature_ks_statistic')));
    // Which features repeat: distinct values over values of both samples, from the rows.
    const share = (f: string) => {
      const v = [...inRegion('reference'), ...inRegion('current')]
        .map((r) => featureValue(r, f, 'numeric'))
        .filter((x) => x !== null);
      return new Set(v).size / v.length;
    };
    expect(['age', 'constant', 'income'].map(share).every((x) => x <= 1 / 3)).toBe(true);
    expect(share(WEIRD)).toBeGreaterThan(1 / 3);
    // The part of a statement that spells by value, or '' without one.
    const byValuePart = (sql: string) => sql.split('by_value AS (')[1]?.split('\n)')[0] ?? '';
    for (const round of [1, 2, 3]) {
      const statements: string[] = [];
      expectMatches(await runCheck(ks, statements), { values: ksOnly, skipped: 2 });
      // The features' kinds (no drift run has cached the reference), then KS.
      expect(statements).toHaveLength(2);
      const part = byValuePart(statements[1] as string);
      if (round === 1) expect(part).toBe('');
      else {
        for (const f of ['age', 'constant', 'income']) expect(part, f).toContain(`t."${f}"`);
        // Risk "band" mostly distinct, and sparse and refnull with no row to tell, stay by row.
        for (const f of ['Risk ""band""', 'sparse', 'refnull']) expect(part, f).not.toContain(`"${f}"`);
      }
    }
  });

  it('only categorical features, one numeric feature, and an odd number of numeric ones', async () => {
    for (const features of [
      [
        ['purpose', 'categorical'],
        ['flag', 'categorical'],
      ],
      [['income', 'numeric']],
      [
        ['income', 'numeric'],
        ['purpose', 'categorical'],
        ['age', 'numeric'],
        ['flag', 'categorical'],
        [WEIRD, 'numeric'],
      ],
    ] as [string, Kind][][]) {
      const check = build('events', {
        features: features.map(([f]) => f),
        current: '1d',
        reference: { window: '28d', offset: '7d' },
        bins: 7,
      });
      expectMatches(
        await runCheck(check),
        oracle('events', '1d', features, inRegion('reference'), inRegion('current'), 7, 50),
      );
    }
  });
});

describe('drift check: reference cache and statements', () => {
  it('computes the reference on the first run, reuses it until reference_interval, then recomputes', async () => {
    const base = rows.filter((r) => r.region !== 'future');
    // The check's own clock (not Date.now: PGlite's now() follows Date.now).
    let clock = 1_000_000;
    await createEvents(db, 'cached', base);
    const both = buildBoth(
      'cached',
      {
        features: ['income', 'purpose'],
        reference: { window: '28d', offset: '7d' },
        reference_interval: '1h',
      },
      'cached',
      () => clock,
    );
    const check = both.drift;
    const features: [string, Kind][] = [
      ['income', 'numeric'],
      ['purpose', 'categorical'],
    ];
    const regionOf = (list: EventRow[], ...regions: Region[]) =>
      list.filter((r) => regions.includes(r.region));

    const ksOnly = (want: { values: Expected; skipped: number }) => ({
      values: new Map([...want.values].filter(([k]) => !k.startsWith('mlwatch_feature_ks_statistic'))),
      skipped: 0,
    });
    const first: string[] = [];
    const r1 = await runCheck(check, first);
    // information_schema, edges, categories, reference bins, current bins; KS is the other check's.
    expect(first).toHaveLength(5);
    expect(first.filter((s) => /percentile_cont/.test(s))).toHaveLength(1);
    expectMatches(
      r1,
      ksOnly(
        oracle('cached', '1d', features, regionOf(base, 'reference'), regionOf(base, 'current'), 10, 50),
      ),
    );

    // More reference rows: the cached bins do not see them yet; KS (raw reference, live) does.
    const extra = generate(99).filter((r) => r.region === 'reference');
    await insertEvents(db, 'cached', extra);
    const second: string[] = [];
    const r2 = await runCheck(check, second);
    expect(second).toHaveLength(1);
    const psiOf = (r: CheckResult) => r.samples.find((s) => s.name === 'mlwatch_feature_psi')?.value;
    expect(psiOf(r2)).toBe(psiOf(r1));
    const refRows = (r: CheckResult) =>
      r.samples.find((s) => s.labels.sample === 'reference' && s.labels.feature === 'income')?.value;
    expect(refRows(r2)).toBe(refRows(r1));
    // With the reference cached, KS takes the features' kinds from it: one statement, the live KS.
    const ksStatements: string[] = [];
    const ksResult = await runCheck(both.ks, ksStatements);
    expect(ksStatements).toHaveLength(1);
    expect(ksStatements[0]).toMatch(/^WITH n AS/);
    const ks = ksResult.samples.find((s) => s.name === 'mlwatch_feature_ks_statistic')?.value as number;
    const income = (list: EventRow[]) => list.map((r) => r.income).filter((v) => v !== null);
    expectClose(
      ks,
      ksStatistic(income([...regionOf(base, 'reference'), ...extra]), income(regionOf(base, 'current'))),
      'live KS',
    );

    // An hour later the reference is recomputed, with the new rows.
    // Still cached a millisecond before reference_interval is up; recomputed when it is.
    clock += 3_599_999;
    const justBefore: string[] = [];
    await runCheck(check, justBefore);
    expect(justBefore).toHaveLength(1);
    clock += 1;
    const third: string[] = [];
    const r3 = await runCheck(check, third);
    expect(third).toHaveLength(5);
    expectMatches(
      r3,
      ksOnly(
        oracle(
          'cached',
          '1d',
          features,
          [...regionOf(base, 'reference'), ...extra],
          regionOf(base, 'current'),
          10,
          50,
        ),
      ),
    );
  });

  it('statement text holds quoted identifiers only; values are parameters', async () => {
    const statements: string[] = [];
    await runCheck(
      build('events', {
        features: ['income', 'purpose', WEIRD],
        reference: { from: '2001-02-03', to: '2001-02-04' },
      }),
      statements,
    );
    const text = statements.join('\n');
    expect(text).toContain('t."Risk ""band"""');
    expect(text).not.toContain('2001-02-0');
    expect(text).not.toMatch(/86400|0\.1\b/);
  });

  it('a feature that is not a column fails the run with a readable error', async () => {
    const check = build('events', {
      features: ['income', 'incme'],
      reference: { window: '28d', offset: '7d' },
    });
    await expect(runCheck(check)).rejects.toThrow(`feature 'incme' is not a column of ${db.schema}.events`);
  });
});

describe('drift check: config and exporter', () => {
  const configText = (drift: string) => `warehouse:
  url: pglite:memory
datasets:
  - name: loans
    table: public.loans
    timestamp: created_at
    checks:
      drift: ${drift}
`;
  const configError = (drift: string): string => {
    try {
      loadConfigText(configText(drift), 'drift.yaml', {}, '/');
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    return '';
  };

  it('accepts the documented forms and applies the defaults', () => {
    const spec = driftSpec.parse({ features: ['income'], reference: { window: '28d', offset: '7d' } });
    expect(spec).toMatchObject({
      current: { label: '1d' },
      bins: 10,
      max_categories: 50,
      reference_interval: 3_600_000,
      ks_interval: 3_600_000,
    });
    expect(
      configError(
        '{ features: [income, {name: age, kind: categorical}], reference: { table: ml.training } }',
      ),
    ).toBe('');
    expect(
      configError(
        '{ features: [income], current: 6h, reference: { from: 2024-01-01, to: "2024-02-01T00:00:00Z" } }',
      ),
    ).toBe('');
    const config = loadConfigText(
      configText('{ features: [income], reference: { window: 28d, offset: 7d } }'),
      'drift.yaml',
      {},
      '/',
    );
    expect(config.checks.map((c) => c.id)).toContain('dataset:loans:drift');
    // KS on its own schedule: ks_interval, default 1h, whatever the dataset's interval.
    const ks = config.checks.find((c) => c.id === 'dataset:loans:drift_ks');
    expect(ks?.schedule).toEqual({ everyMs: 3_600_000 });
    const custom = loadConfigText(
      configText('{ features: [income], reference: { window: 28d }, ks_interval: 6h }'),
      'drift.yaml',
      {},
      '/',
    );
    expect(custom.checks.find((c) => c.id === 'dataset:loans:drift_ks')?.schedule).toEqual({
      everyMs: 6 * 3_600_000,
    });
  });

  it.each([
    ['{ features: [], reference: { window: 28d } }', 'features: needs at least 1 entry'],
    ['{ features: [income] }', 'reference: missing; this key is required'],
    ['{ features: [income], reference: {} }', 'give window (and offset), from and to, or table'],
    [
      '{ features: [income], reference: { window: 28d, from: 2024-01-01, to: 2024-02-01 } }',
      'give window (and offset) or from and to, not both',
    ],
    ['{ features: [income], reference: { from: 2024-01-01 } }', 'give both from and to'],
    ['{ features: [income], reference: { from: 2024-02-01, to: 2024-01-01 } }', 'to must be later than from'],
    [
      '{ features: [income], reference: { from: yesterday, to: 2024-01-01 } }',
      "'yesterday' is not an ISO timestamp",
    ],
    ['{ features: [income], reference: { timestamp: ts, window: 28d } }', 'give table too'],
    ['{ features: [income], reference: { table: t, window: 28d } }', 'needs its timestamp column'],
    ['{ features: [income], reference: { window: 28d, ofset: 7d } }', "did you mean 'offset'?"],
    ['{ features: [income, income], reference: { window: 28d } }', "feature 'income' is listed twice"],
    [
      '{ features: [{name: age, kind: ordinal}], reference: { window: 28d } }',
      "expected 'numeric' or 'categorical'",
    ],
    ['{ features: [income], bins: 1, reference: { window: 28d } }', 'at least 2 bins'],
  ])('refuses %s', (drift, message) => {
    expect(configError(drift)).toContain(message);
  });

  it('runs in the exporter: check id, series, skipped samples', async () => {
    const e = startExporter(
      db,
      '  []\n',
      `datasets:
  - name: events
    table: ${db.schema}.events
    timestamp: ts
    interval: 1h
    checks:
      drift:
        features: [income, age, purpose, sparse]
        current: 1d
        reference: { window: 28d, offset: 7d }
        bins: 10
        max_categories: 50
        reference_interval: 1h
`,
    );
    await e.exporter.firstRound();
    const m = await e.scrape();
    const features: [string, Kind][] = [
      ['income', 'numeric'],
      ['age', 'numeric'],
      ['purpose', 'categorical'],
      ['sparse', 'numeric'],
    ];
    const want = oracle('events', '1d', features, inRegion('reference'), inRegion('current'), 10, 50);
    const got = m.samples.filter((s) => s.name.startsWith('mlwatch_feature_'));
    expect(got).toHaveLength(want.values.size);
    for (const s of got)
      expectClose(s.value, want.values.get(key(s.name, s.labels)) as number, key(s.name, s.labels));
    // sparse has no current values: PSI and JS skipped by the binned check, KS by its own.
    for (const [id, skipped] of [
      ['dataset:events:drift', 2],
      ['dataset:events:drift_ks', 1],
    ] as const) {
      const check = { check: id };
      expect(series(m, 'mlwatch_check_success', check)[0]?.value).toBe(1);
      expect(series(m, 'mlwatch_check_skipped_samples', { ...check, reason: 'empty_window' })[0]?.value).toBe(
        skipped,
      );
    }
    await e.exporter.stop(1000);
  });
});
