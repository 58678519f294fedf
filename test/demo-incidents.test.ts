import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoFeeder } from '../src/demo/batches.js';
import { DemoIncidents } from '../src/demo/incidents.js';
import { createDemoSchema } from '../src/demo/schema.js';
import { seedHistory } from '../src/demo/seed.js';
import { openTestDb, type TestDb } from './helpers/db.js';

// Each incident changes what the checks will see, and switching it off puts the data back exactly.
let db: TestDb;
let s: string;
let feeder: DemoFeeder;
let incidents: DemoIncidents;
beforeAll(async () => {
  db = await openTestDb();
  s = db.schema;
  await createDemoSchema(db.writer, s);
  await seedHistory(db.writer, s, { days: 3 });
  feeder = new DemoFeeder(db.writer, s, 3_600_000, { afterBatch: (f, t) => incidents.afterBatch(f, t) });
  incidents = new DemoIncidents(db.writer, s, feeder);
});
afterAll(async () => {
  await feeder?.stop();
  await db?.close();
});

const one = async (sql: string) => (await db.writer.query(sql))[0] as Record<string, unknown>;
const incomeChecksum = async () =>
  String(
    (
      await one(
        `SELECT md5(string_agg(coalesce(income::text, 'null'), ',' ORDER BY id)) AS h FROM ${s}.applications`,
      )
    ).h,
  );

describe('demo incidents', () => {
  it('nulls: about 20 % of the last hour goes NULL, and comes back exactly', async () => {
    const before = await incomeChecksum();
    await incidents.set('nulls', true);
    const r = await one(
      `SELECT count(*) FILTER (WHERE income IS NULL)::float8 / count(*) AS ratio FROM ${s}.applications WHERE ingested_at >= now() - interval '1 hour'`,
    );
    expect(Number(r.ratio)).toBeGreaterThan(0.05);
    expect(incidents.active()).toEqual(['nulls']);
    await incidents.set('nulls', false);
    expect(await incomeChecksum()).toBe(before);
  });

  it('drift: income of the last day is multiplied by 2.5, and restored', async () => {
    const before = await incomeChecksum();
    const mean = async () =>
      Number(
        (
          await one(
            `SELECT avg(income)::float8 AS m FROM ${s}.applications WHERE ingested_at >= now() - interval '1 day'`,
          )
        ).m,
      );
    const m0 = await mean();
    await incidents.set('drift', true);
    expect((await mean()) / m0).toBeCloseTo(2.5, 2);
    await incidents.set('drift', false);
    expect(await incomeChecksum()).toBe(before);
  });

  it('schema: age is retyped to bigint and back', async () => {
    const type = async () =>
      String(
        (
          await one(
            `SELECT data_type FROM information_schema.columns WHERE table_schema = '${s}' AND table_name = 'applications' AND column_name = 'age'`,
          )
        ).data_type,
      );
    await incidents.set('schema', true);
    expect(await type()).toBe('bigint');
    await incidents.set('schema', false);
    expect(await type()).toBe('integer');
  });

  it('stale: no batches while on; batches resume from now when off', async () => {
    const count = async () => Number((await one(`SELECT count(*)::int AS n FROM ${s}.requests`)).n);
    await incidents.set('stale', true);
    const n0 = await count();
    await new Promise((r) => setTimeout(r, 1200));
    await feeder.runOnce();
    expect(await count()).toBe(n0);
    await incidents.set('stale', false);
    await new Promise((r) => setTimeout(r, 1200));
    await feeder.runOnce();
    // About 10 requests a minute: a 1.2 s batch adds 0 to a few, never the whole paused gap at once.
    expect(await count()).toBeLessThan(n0 + 10);
    expect(feeder.paused).toBe(false);
  });

  it('new batches carry the active incidents', async () => {
    await incidents.set('nulls', true);
    // Treat three hours of history, untouched by the switch (which covers the last hour), as a fresh batch.
    const from = new Date(Date.now() - 4 * 3_600_000);
    const to = new Date(Date.now() - 3_600_000 - 60_000);
    const nulls = async () =>
      Number(
        (
          await db.writer.query(
            `SELECT count(*) FILTER (WHERE income IS NULL)::int AS n, count(*)::int AS total FROM ${s}.applications WHERE ingested_at > $1 AND ingested_at <= $2`,
            [from.toISOString(), to.toISOString()],
          )
        )[0]?.n,
      );
    expect(await nulls()).toBe(0);
    await incidents.afterBatch(from, to);
    // About 90 rows at 20 %: zero NULLs would have odds below 1e-8.
    expect(await nulls()).toBeGreaterThan(5);
    await incidents.set('nulls', false);
    expect(
      Number((await one(`SELECT count(*) FILTER (WHERE income IS NULL)::int AS n FROM ${s}.applications`)).n),
    ).toBe(0);
  });
});
