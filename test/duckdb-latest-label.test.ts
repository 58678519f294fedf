import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Check, CheckResult } from '../src/checks/types.js';
import { loadConfigText } from '../src/config/load.js';
import { createDuckdbWarehouse } from '../src/warehouse/duckdb.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { copyToDuckdb } from './helpers/duckdb-copy.js';
import { D, H, seededRandom } from './helpers/model-tables.js';
import { bruteAuc } from './helpers/oracle.js';

// DuckDB writes the latest-label join and the exact AUC its own way (src/sql/dialect.ts: latestLabel, a GROUP BY
// with arg_max_null or max of a struct instead of DISTINCT ON; mannWhitney, ranks instead of FILTERed running
// sums). Here the rows are made to hit every case where the two could part: predictions written twice, several
// labels of a key at one timestamp (the larger wins), a NULL label tied at the latest timestamp (it wins: the
// prediction is unlabeled), a label with a NULL timestamp (it wins over any), tied scores across positives and
// negatives, NULL and NaN scores, two versions, nested windows. The checks' values on DuckDB must equal this run's
// engine's (PostgreSQL, or PGlite), and the AUCs a brute-force pair count over the latest labels computed here. Each
// task runs as a full and as an incremental check (multiclass with a second probability column, q).

const N = 300;
const { rand, pick, age } = seededRandom(15);
/** A few label stamps shared by many keys' labels, so equal timestamps are common; ages in seconds. */
const STAMPS = [2 * H, 5 * H, 5 * H + 60, 50 * H];

interface Pred {
  k: number;
  age: number;
  s: number | null;
  v: string;
}

/** A second probability per key for the multiclass models (from the key, so the seeded draws stay as they were). */
const q = (k: number) => (k % 17 === 0 ? 'NULL' : String(((k * 7) % 11) / 10));
interface Lab {
  k: number;
  age: number | null;
  y: boolean | null;
  r: number | null;
}

const preds: Pred[] = [];
const labs: Lab[] = [];
for (let k = 1; k <= N; k++) {
  const r = rand();
  const s = r < 0.05 ? null : r < 0.08 ? Number.NaN : Math.round(rand() * 10) / 10;
  const p = { k, age: age(), s, v: pick(['a', 'b']) };
  preds.push(p);
  // Written twice: the same prediction, counted once.
  if (rand() < 0.15) preds.push({ ...p });
  // A second prediction of the key, at another time.
  if (rand() < 0.1) preds.push({ ...p, age: age() });
  const labels = Math.floor(rand() * 5);
  for (let j = 0; j < labels; j++) {
    const u = rand();
    labs.push({
      k,
      age: rand() < 0.06 ? null : pick(STAMPS),
      y: u < 0.12 ? null : u < 0.56,
      r: rand() < 0.1 ? null : Math.round(rand() * 8) / 2,
    });
  }
}

// Label stamps far from now, where DuckDB's integer ordering key (dialect.ts: microseconds since 1970, clamped
// to +/-2^60) must still order as PostgreSQL does: two in the 100th century (the later wins), two before 1970
// (negative microseconds; the later wins), one before 1970 beside a NULL stamp (the NULL wins).
const YEAR = 365.25 * D;
for (const [k, pair] of [
  [
    [-7_900 * YEAR, false],
    [-7_800 * YEAR, true],
  ],
  [
    [124 * YEAR, true],
    [125 * YEAR, false],
  ],
  [
    [124 * YEAR, false],
    [null, true],
  ],
].entries()) {
  const key = N + 1 + k;
  preds.push({ k: key, age: 3 * H, s: 0.5, v: 'a' });
  for (const [a, y] of pair as [number | null, boolean][]) labs.push({ k: key, age: a, y, r: 1 });
}

/** PostgreSQL's ORDER BY lt DESC, y DESC (NULLS FIRST): the label row each key's predictions read. */
function latest<T>(k: number, value: (l: Lab) => T | null, num: (x: T) => number): Lab | undefined {
  const rank = (l: Lab): [number, number] => {
    const y = value(l);
    return [
      l.age === null ? Number.POSITIVE_INFINITY : -l.age,
      y === null ? Number.POSITIVE_INFINITY : num(y),
    ];
  };
  let best: Lab | undefined;
  for (const l of labs.filter((x) => x.k === k)) {
    if (best === undefined) best = l;
    else {
      const [a, b] = [rank(l), rank(best)];
      if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) best = l;
    }
  }
  return best;
}

const sql = (x: number | null, f: (v: number) => string) => (x === null ? 'NULL' : f(x));
const seconds = (s: number) => `now() - interval '${s} seconds'`;

let db: TestDb;
let dir: string;
let duck: Warehouse;
let here: Check[];
let there: Check[];

function config(url: string, schema: string): string {
  const model = (name: string, task: string, value: string, label: string, extra = '') => `  - name: ${name}
    task: ${task}
    owner: ds
    windows: [1d, 7d]
    predictions: { table: ${schema}.preds, key: k, timestamp: ts, ${value}: ${value === 'scores' ? "{ 'true': s, 'false': q }" : 's'}, version: v }
    labels: { table: ${schema}.labs, key: k, timestamp: lt, label: ${label} }
${extra}`;
  return `warehouse: { url: '${url}' }
${url.startsWith('duckdb:') ? 'state: { url: pglite:memory }\n' : ''}models:
${model('bin', 'binary_classification', 'score', 'y')}${model('bin_inc', 'binary_classification', 'score', 'y', '    incremental: {}\n')}${model('reg', 'regression', 'prediction', 'r')}${model('reg_inc', 'regression', 'prediction', 'r', '    incremental: {}\n')}${model('mc', 'multiclass_classification', 'scores', 'y')}${model('mc_inc', 'multiclass_classification', 'scores', 'y', '    incremental: {}\n')}`;
}

beforeAll(async () => {
  db = await openTestDb();
  const t = (n: string) => `"${db.schema}".${n}`;
  await db.writer.exec(`CREATE TABLE ${t('preds')} (k int, ts timestamptz, s float8, v text, q float8);
    CREATE TABLE ${t('labs')} (k int, lt timestamptz, y boolean, r float8)`);
  // Stamps whole seconds before one instant, so the copy and both engines read the same rows.
  await db.writer.exec(
    `INSERT INTO ${t('preds')} VALUES ${preds
      .map(
        (p) =>
          `(${p.k}, date_trunc('second', ${seconds(p.age)}), ${p.s === null ? 'NULL' : Number.isNaN(p.s) ? "'NaN'" : p.s}, '${p.v}', ${q(p.k)})`,
      )
      .join(', ')}`,
  );
  await db.writer.exec(
    `INSERT INTO ${t('labs')} VALUES ${labs
      .map(
        (l) =>
          `(${l.k}, ${sql(l.age, (a) => `date_trunc('second', ${seconds(a)})`)}, ${l.y === null ? 'NULL' : l.y}, ${sql(l.r, String)})`,
      )
      .join(', ')}`,
  );
  dir = mkdtempSync(join(tmpdir(), 'mlwatch-latest-label-'));
  const file = join(dir, 'warehouse.duckdb');
  await copyToDuckdb(db.writer, db.schema, file);
  duck = createDuckdbWarehouse(`duckdb:${file}`);
  here = loadConfigText(config(db.configUrl, db.schema), 'm.yaml', {}, '/').checks;
  there = loadConfigText(config(`duckdb:${file}`, db.schema), 'm.yaml', {}, '/').checks;
}, 120_000);
afterAll(async () => {
  await duck?.close();
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const byKey = (r: CheckResult) =>
  new Map(r.samples.map((s) => [`${s.name}${JSON.stringify(s.labels)}`, s.value]));

describe('DuckDB: the latest-label join and the exact AUC, on adversarial rows', () => {
  it('the rows hold every case', () => {
    const tie = (pred: (ls: Lab[]) => boolean) =>
      [...new Set(labs.map((l) => l.k))].some((k) => pred(labs.filter((l) => l.k === k)));
    // Two labels of a key at its latest stamp, one true, one false; a NULL label at the latest stamp beside a
    // value; a NULL stamp beside a later-looking one.
    const atLatest = (ls: Lab[]) => {
      const top = Math.min(...ls.filter((l) => l.age !== null).map((l) => l.age as number));
      return ls.filter((l) => l.age === top);
    };
    expect(
      tie((ls) => atLatest(ls).some((l) => l.y === true) && atLatest(ls).some((l) => l.y === false)),
    ).toBe(true);
    expect(
      tie((ls) => atLatest(ls).some((l) => l.y === null) && atLatest(ls).some((l) => l.y !== null)),
    ).toBe(true);
    expect(tie((ls) => ls.some((l) => l.age === null) && ls.some((l) => l.age !== null))).toBe(true);
    expect(preds.some((p) => p.s === null) && preds.some((p) => Number.isNaN(p.s))).toBe(true);
    const seen = new Set(preds.map((p) => `${p.k} ${p.age} ${p.s} ${p.v}`));
    expect(seen.size).toBeLessThan(preds.length);
  });

  it('exports the same values on DuckDB as on this engine', async () => {
    for (const check of here) {
      const a = await db.warehouse.readOnly({ timeoutMs: 60_000 }, (q) => check.run(q));
      const twin = there.find((c) => c.id === check.id) as Check;
      const b = await duck.readOnly({ timeoutMs: 60_000 }, (q) => twin.run(q));
      const [x, y] = [byKey(a), byKey(b)];
      expect(x.size, check.id).toBeGreaterThan(0);
      expect([...y.keys()].sort(), check.id).toEqual([...x.keys()].sort());
      for (const [key, want] of x) {
        const got = y.get(key) as number;
        if (/_age_seconds$|_timestamp_seconds$/.test(key.split('{')[0] as string)) continue;
        expect(
          Math.abs(got - want),
          `${check.id} ${key}: ${got} on DuckDB, ${want} here`,
        ).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
      }
      expect(b.skipped, check.id).toEqual(a.skipped);
    }
  }, 120_000);

  it('the AUC per window and version is the pair count over the latest labels', async () => {
    const unique = [...new Map(preds.map((p) => [`${p.k} ${p.age} ${p.s} ${p.v}`, p])).values()];
    const want = new Map<string, number>();
    for (const [window, span] of [
      ['1d', D],
      ['7d', 7 * D],
    ] as const) {
      for (const v of ['a', 'b']) {
        const rows = unique
          .filter((p) => p.v === v && p.age > 0 && p.age <= span && p.s !== null && !Number.isNaN(p.s))
          .map((p) => ({ s: p.s as number, y: latest(p.k, (l) => l.y, Number)?.y ?? null }))
          .filter((r) => r.y !== null)
          .map((r) => ({ s: r.s, y: r.y ? 1 : 0 }));
        want.set(`${window} ${v}`, bruteAuc(rows));
      }
    }
    for (const id of ['model:bin:performance', 'model:bin_inc:performance']) {
      const check = there.find((c) => c.id === id) as Check;
      const r = await duck.readOnly({ timeoutMs: 60_000 }, (q) => check.run(q));
      const got = r.samples.filter((s) => s.name === 'mlwatch_model_auc');
      expect(got.length, id).toBe(4);
      for (const s of got) {
        const w = want.get(`${s.labels.window} ${s.labels.version}`) as number;
        expect(Math.abs(s.value - w), `${id} ${JSON.stringify(s.labels)}`).toBeLessThan(1e-12);
      }
    }
  });
});
