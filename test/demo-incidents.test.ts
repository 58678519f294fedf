import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendBatch, DemoFeeder } from '../src/demo/batches.js';
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
  // 8 days, as the live stack: enough labels (about 1,900 in 14 days) for the model incidents to be measured.
  await seedHistory(db.writer, s, { days: 8 });
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

  // The model incidents, measured with SQL of their own rather than with the exporter's checks.
  const scoresChecksum = async () =>
    String(
      (
        await one(
          `SELECT md5(string_agg(application_id || ':' || coalesce(score::text, 'null'), ',' ORDER BY application_id)) AS h FROM ${s}.predictions`,
        )
      ).h,
    );
  const outcomesChecksum = async (where = 'true') =>
    String(
      (
        await one(
          `SELECT md5(string_agg(application_id || ':' || observed_at::text || ':' || defaulted::text, ',' ORDER BY application_id)) AS h FROM ${s}.outcomes WHERE ${where}`,
        )
      ).h,
    );
  // By brute force: the share of (defaulted, not defaulted) pairs of labeled predictions of the last 14 days
  // in which the defaulted one has the higher score, ties counting half.
  const auc14d = async () => {
    const r = await one(
      `WITH l AS (
         SELECT p.score, o.defaulted FROM ${s}.predictions p JOIN ${s}.outcomes o ON o.application_id = p.application_id
         WHERE p.predicted_at >= now() - interval '14 days' AND p.predicted_at < now() AND p.score IS NOT NULL)
       SELECT (sum(CASE WHEN pos.score > neg.score THEN 1 WHEN pos.score = neg.score THEN 0.5 ELSE 0 END)
               / count(*))::float8 AS auc, count(*)::float8 AS pairs
       FROM l pos JOIN l neg ON pos.defaulted AND NOT neg.defaulted`,
    );
    expect(Number(r.pairs)).toBeGreaterThan(100_000);
    return Number(r.auc);
  };
  const coverage7d = async () =>
    Number(
      (
        await one(
          `SELECT (count(o.application_id)::float8 / count(*)) AS c FROM ${s}.predictions p
           LEFT JOIN ${s}.outcomes o ON o.application_id = p.application_id
           WHERE p.predicted_at >= now() - interval '7 days' AND p.predicted_at < now()`,
        )
      ).c,
    );
  const leakageRows = async () =>
    Number(
      (
        await one(
          `SELECT count(*)::int AS n FROM ${s}.predictions p JOIN ${s}.outcomes o ON o.application_id = p.application_id
           WHERE p.predicted_at >= now() - interval '14 days' AND p.predicted_at < now() AND o.observed_at < p.predicted_at`,
        )
      ).n,
    );
  const scores14d = () =>
    `SELECT md5(string_agg(score::text, ',' ORDER BY score)) AS h FROM ${s}.predictions WHERE predicted_at >= now() - interval '14 days'`;

  it('auc: the 14-day scores no longer separate the classes (AUC about 0.5), and come back exactly', async () => {
    // An old batch (outside every window) stands for one the feeder adds while the incident is on.
    const t1 = new Date(Date.now() - 30 * 86_400_000);
    const t0 = new Date(t1.getTime() - 3 * 3_600_000);
    expect((await appendBatch(db.writer, s, t0, t1)).predictions).toBeGreaterThan(40);
    const before = await scoresChecksum();
    const multiset = String((await one(scores14d())).h);
    expect(await auc14d()).toBeGreaterThan(0.72);

    await incidents.set('auc', true);
    expect(await auc14d()).toBeLessThan(0.6);
    // A shuffle: the same scores, on other predictions.
    expect(String((await one(scores14d())).h)).toBe(multiset);
    expect(incidents.active()).toEqual(['auc']);

    await incidents.afterBatch(t0, t1);
    const batch = await db.writer.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE p.score IS DISTINCT FROM b.score)::int AS changed,
              count(*) FILTER (WHERE p.score NOT IN (SELECT score FROM ${s}.sim_backup_auc))::int AS foreign_
       FROM ${s}.predictions p JOIN ${s}.sim_backup_auc b ON b.application_id = p.application_id
       WHERE p.predicted_at > $1 AND p.predicted_at <= $2`,
      [t0.toISOString(), t1.toISOString()],
    );
    const row = batch[0] as Record<string, unknown>;
    expect(Number(row.n)).toBeGreaterThan(40);
    expect(Number(row.changed)).toBeGreaterThan(Number(row.n) * 0.9);
    // Every new score is one the model gave some other prediction.
    expect(Number(row.foreign_)).toBe(0);

    await incidents.set('auc', false);
    expect(await scoresChecksum()).toBe(before);
    expect(Number((await one(`SELECT count(*)::int AS n FROM ${s}.sim_backup_auc`)).n)).toBe(0);
  });

  it('labels: the 7-day coverage drops to 0 and stays there as labels fall due; off, all of them arrive', async () => {
    const before = await outcomesChecksum();
    const c0 = await coverage7d();
    expect(c0).toBeGreaterThan(0.2);
    // The labels still to come: the batch below delivers some of them.
    await db.writer.exec(
      `CREATE TABLE ${s}.t_pending AS SELECT application_id FROM ${s}.sim_pending_outcomes`,
    );

    await incidents.set('labels', true);
    expect(await coverage7d()).toBe(0);

    // Three more labels fall due: the next batch delivers them, and the incident holds them back too.
    const due = (
      await db.writer.query(
        `UPDATE ${s}.sim_pending_outcomes SET due_at = now() - interval '1 minute'
         WHERE application_id IN (SELECT application_id FROM ${s}.sim_pending_outcomes ORDER BY due_at LIMIT 3)
         RETURNING application_id`,
      )
    ).map((r) => Number(r.application_id));
    expect(due).toHaveLength(3);
    await feeder.runOnce();
    expect(await coverage7d()).toBe(0);
    const delivered = `SELECT count(*)::int AS n FROM ${s}.outcomes WHERE application_id IN (${due.join(',')})`;
    expect(Number((await one(delivered)).n)).toBe(0);

    await incidents.set('labels', false);
    expect(Number((await one(delivered)).n)).toBe(3);
    expect(await coverage7d()).toBeGreaterThan(c0 - 0.01);
    // The labels from before are exactly as they were, and every label delivered meanwhile arrived.
    expect(await outcomesChecksum(`application_id NOT IN (SELECT application_id FROM ${s}.t_pending)`)).toBe(
      before,
    );
    const arrived = await one(
      `SELECT (SELECT count(*) FROM ${s}.outcomes WHERE application_id IN (SELECT application_id FROM ${s}.t_pending))::int AS got,
              (SELECT count(*) FROM ${s}.t_pending
               WHERE application_id NOT IN (SELECT application_id FROM ${s}.sim_pending_outcomes))::int AS due`,
    );
    expect(Number(arrived.got)).toBe(Number(arrived.due));
    await db.writer.exec(`DROP TABLE ${s}.t_pending`);
  });

  it('leakage: 5 recent labels are stamped an hour before their prediction, and restored', async () => {
    const before = await outcomesChecksum();
    expect(await leakageRows()).toBe(0);
    await incidents.set('leakage', true);
    expect(await leakageRows()).toBe(5);
    const gaps = await db.writer.query(
      `SELECT extract(epoch FROM p.predicted_at - o.observed_at)::float8 AS gap FROM ${s}.predictions p
       JOIN ${s}.outcomes o ON o.application_id = p.application_id WHERE o.observed_at < p.predicted_at`,
    );
    expect(gaps.map((g) => Math.round(Number(g.gap)))).toEqual([3600, 3600, 3600, 3600, 3600]);
    await incidents.set('leakage', false);
    expect(await leakageRows()).toBe(0);
    expect(await outcomesChecksum()).toBe(before);
  });

  it('labels and leakage together: the stamped labels stay visible, and both switch off cleanly', async () => {
    const before = await outcomesChecksum();
    await incidents.set('leakage', true);
    await incidents.set('labels', true);
    expect(await leakageRows()).toBe(5);
    expect(incidents.active()).toEqual(['labels', 'leakage']);
    await incidents.set('leakage', false);
    await incidents.set('labels', false);
    expect(await outcomesChecksum()).toBe(before);
  });
});
