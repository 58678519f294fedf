import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClassificationCheck } from '../src/checks/model/classification.js';
import { type ModelEntryShape, modelContext } from '../src/checks/model/context.js';
import { openTestDb, type TestDb } from './helpers/db.js';

// Properties of the AUC the warehouse computes (one shared database, a few cases each: every case is three
// statements): it equals the brute-force pairwise AUC with ties counted half, it is unchanged by a strictly
// increasing transform of the score, and flipping every label turns it into 1 - AUC. With one class only it
// is not exported.

let db: TestDb;
let tables = 0;
beforeAll(async () => {
  db = await openTestDb();
}, 60_000);
afterAll(async () => {
  await db?.close();
});

interface Case {
  score: number;
  label: boolean;
}

/** A strictly increasing map of [0, 1] into [0.1, 0.6]: distinct grid scores stay distinct, ties stay tied. */
const transform = (s: number) => 0.5 * s * s * s + 0.1;

function bruteAuc(xs: Case[]): number | undefined {
  const pos = xs.filter((x) => x.label);
  const neg = xs.filter((x) => !x.label);
  if (!pos.length || !neg.length) return undefined;
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p.score > q.score ? 1 : p.score === q.score ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

async function auc(table: string, score: string, label: string): Promise<number | undefined> {
  const entry: ModelEntryShape = {
    name: `${table}_${score}_${label}`,
    task: 'binary_classification',
    owner: 'test',
    predictions: { table: `${db.schema}.${table}_p`, key: 'k', timestamp: 'at', score },
    labels: { table: `${db.schema}.${table}_l`, key: 'k', timestamp: 'at', label },
    windows: [{ label: '1d', ms: 86_400_000 }],
    threshold: 0.5,
  };
  const check = buildClassificationCheck(modelContext(entry, { everyMs: 60_000 }, 10_000));
  const result = await db.warehouse.readOnly({ timeoutMs: 10_000 }, (q) => check.run(q));
  const found = result.samples.filter((s) => s.name === 'mlwatch_model_auc');
  expect(found.length).toBeLessThanOrEqual(1);
  if (found.length === 0) expect(result.skipped.one_class).toBe(2);
  return found[0]?.value;
}

async function seed(xs: Case[]): Promise<string> {
  const table = `c${tables++}`;
  const p = `${db.schema}.${table}_p`;
  const l = `${db.schema}.${table}_l`;
  await db.writer.exec(
    `CREATE TABLE ${p} (k integer, at timestamptz, s double precision, s2 double precision);
     CREATE TABLE ${l} (k integer, at timestamptz, y boolean, y_flip boolean)`,
  );
  const pv = xs.map(
    (_, i) => `($${3 * i + 1}::int, now() - interval '1 hour', $${3 * i + 2}::float8, $${3 * i + 3}::float8)`,
  );
  await db.writer.query(
    `INSERT INTO ${p} VALUES ${pv.join(', ')}`,
    xs.flatMap((x, i) => [i, x.score, transform(x.score)]),
  );
  const lv = xs.map(
    (_, i) =>
      `($${3 * i + 1}::int, now() - interval '30 minutes', $${3 * i + 2}::boolean, $${3 * i + 3}::boolean)`,
  );
  await db.writer.query(
    `INSERT INTO ${l} VALUES ${lv.join(', ')}`,
    xs.flatMap((x, i) => [i, x.label, !x.label]),
  );
  return table;
}

// Scores on a grid of 0..1 in steps of 1/16 (many ties), including 0 and 1 exactly.
const cases = fc.array(
  fc.record({ score: fc.integer({ min: 0, max: 16 }).map((i) => i / 16), label: fc.boolean() }),
  { minLength: 1, maxLength: 60 },
);

describe('AUC properties on the warehouse', () => {
  it('equals brute force, is invariant under monotone transforms, and flips to 1 - AUC', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (xs) => {
        const table = await seed(xs);
        const want = bruteAuc(xs);
        const a = await auc(table, 's', 'y');
        const transformed = await auc(table, 's2', 'y');
        const flipped = await auc(table, 's', 'y_flip');
        if (want === undefined) {
          expect([a, transformed, flipped]).toEqual([undefined, undefined, undefined]);
          return;
        }
        expect(Math.abs((a as number) - want)).toBeLessThan(1e-12);
        expect(Math.abs((transformed as number) - (a as number))).toBeLessThan(1e-12);
        expect(Math.abs((flipped as number) - (1 - (a as number)))).toBeLessThan(1e-12);
      }),
      { numRuns: 15, seed: 20240607 },
    );
  }, 120_000);

  it('all-equal scores give 0.5 whatever the labels', async () => {
    const table = await seed([0, 1, 1, 0, 1].map((y) => ({ score: 0.37, label: y === 1 })));
    expect(await auc(table, 's', 'y')).toBe(0.5);
  });
});
