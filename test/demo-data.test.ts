import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendBatch, type BatchCounts, DemoFeeder } from '../src/demo/batches.js';
import { demoConfig } from '../src/demo/builtin-config.js';
import { createDemoSchema, quoteSchema } from '../src/demo/schema.js';
import { seedHistory, warehouseNow } from '../src/demo/seed.js';
import type { Row } from '../src/warehouse/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';

const DAY_MS = 86_400_000;
const BATCH_MS = 10 * 60_000;

interface MetricSpec {
  name: string;
  labels: string[];
  value: string;
}
interface QuerySpec {
  name: string;
  sql: string;
  metrics: MetricSpec[];
}

describe('demo warehouse', () => {
  let db: TestDb;
  let s: string;
  let seeded: BatchCounts;
  let batch: BatchCounts;
  // The batch covers (batchFrom, batchTo]; the history ends at batchFrom.
  let batchFrom: Date;
  let batchTo: Date;
  let before: Row;

  const one = async (sql: string, params: unknown[] = []): Promise<Row> => {
    const rows = await db.writer.query(sql, params);
    expect(rows).toHaveLength(1);
    return rows[0] as Row;
  };

  // Rows of every table with a timestamp at or before t, to show a batch touched nothing before its range.
  const countsUpTo = (t: Date) =>
    one(
      `SELECT (SELECT count(*) FROM ${s}.applications WHERE ingested_at <= $1)::int AS applications,
              (SELECT count(*) FROM ${s}.predictions WHERE predicted_at <= $1)::int AS predictions,
              (SELECT count(*) FROM ${s}.decisions WHERE decided_at <= $1)::int AS decisions,
              (SELECT count(*) FROM ${s}.outcomes WHERE observed_at <= $1)::int AS outcomes,
              (SELECT count(*) FROM ${s}.requests WHERE at <= $1)::int AS requests,
              (SELECT count(*) FROM ${s}.job_runs WHERE finished_at <= $1)::int AS job_runs`,
      [t.toISOString()],
    );

  beforeAll(async () => {
    db = await openTestDb();
    s = quoteSchema(db.schema);
    await createDemoSchema(db.writer, db.schema);
    const now = await warehouseNow(db.writer);
    batchTo = now;
    batchFrom = new Date(now.getTime() - BATCH_MS);
    const t = performance.now();
    seeded = await seedHistory(db.writer, db.schema, { until: batchFrom });
    console.log(`seedHistory on ${db.kind}: ${Math.round(performance.now() - t)} ms`, seeded);
    before = await countsUpTo(batchFrom);
    batch = await appendBatch(db.writer, db.schema, batchFrom, batchTo);
  });

  afterAll(async () => {
    await db?.close();
  });

  it('rejects schema names that are not plain identifiers', () => {
    expect(() => quoteSchema('demo; DROP TABLE x')).toThrow(/invalid demo schema name/);
    expect(() => quoteSchema('Demo')).toThrow();
    expect(quoteSchema('demo_1')).toBe('"demo_1"');
  });

  it('seeds 35 days at the documented rates', async () => {
    // 720 applications a day, with a prediction and a decision each.
    expect(seeded.applications).toBeGreaterThan(35 * 720 * 0.95);
    expect(seeded.applications).toBeLessThan(35 * 720 * 1.05);
    expect(seeded.predictions).toBe(seeded.applications);
    expect(seeded.decisions).toBe(seeded.applications);
    // Labels take 1 to 10 days: the last day has none, everything older than 10 days has one.
    expect(seeded.outcomes).toBeGreaterThan(25 * 720 * 0.95);
    expect(seeded.outcomes).toBeLessThan(34 * 720);
    // Requests: 10 a minute over 3 days only.
    expect(seeded.requests).toBeGreaterThan(3 * 1440 * 10 * 0.95);
    expect(seeded.requests).toBeLessThan(3 * 1440 * 10 * 1.05);
    // Job runs: every 5 and every 15 minutes.
    expect(seeded.jobRuns).toBe(35 * (288 + 96));

    const r = await one(`SELECT min(ingested_at) AS first, max(ingested_at) AS last FROM ${s}.applications`);
    expect(batchFrom.getTime() - new Date(r.first as string).getTime()).toBeGreaterThan(34.9 * DAY_MS);
    expect(batchFrom.getTime() - new Date(r.last as string).getTime()).toBeLessThan(30 * 60_000);
    const req = await one(`SELECT min(at) AS first FROM ${s}.requests`);
    expect(batchFrom.getTime() - new Date(req.first as string).getTime()).toBeLessThan(3 * DAY_MS + 60_000);
  });

  it('has one prediction and one decision per application, at ingestion', async () => {
    const r = await one(`
      SELECT count(*) FILTER (WHERE p.application_id IS NULL)::int AS no_prediction,
             count(*) FILTER (WHERE d.application_id IS NULL)::int AS no_decision,
             count(*) FILTER (WHERE p.predicted_at <> a.ingested_at OR d.decided_at <> a.ingested_at)::int AS late,
             count(*)::int AS n,
             (SELECT count(DISTINCT application_id) FROM ${s}.predictions)::int AS predicted
      FROM ${s}.applications a
      LEFT JOIN ${s}.predictions p ON p.application_id = a.id
      LEFT JOIN ${s}.decisions d ON d.application_id = a.id`);
    expect(r).toMatchObject({ no_prediction: 0, no_decision: 0, late: 0, predicted: r.n });
  });

  it('has generated features in their domains', async () => {
    const r = await one(`
      SELECT count(*) FILTER (WHERE purpose NOT IN ('car', 'home', 'education', 'business', 'debt_consolidation'))::int AS bad_purpose,
             count(*) FILTER (WHERE region NOT IN ('eu', 'us', 'apac'))::int AS bad_region,
             count(*) FILTER (WHERE income <= 0 OR age < 18 OR employment_years < 0 OR requested_amount < 0
                              OR employment_years > age - 18)::int AS bad_number,
             count(DISTINCT purpose)::int AS purposes, count(DISTINCT region)::int AS regions
      FROM ${s}.applications`);
    expect(r).toMatchObject({ bad_purpose: 0, bad_region: 0, bad_number: 0, purposes: 5, regions: 3 });
  });

  it('puts no timestamp in the future', async () => {
    const r = await one(`
      SELECT greatest((SELECT max(ingested_at) FROM ${s}.applications), (SELECT max(predicted_at) FROM ${s}.predictions),
                      (SELECT max(observed_at) FROM ${s}.outcomes), (SELECT max(decided_at) FROM ${s}.decisions),
                      (SELECT max(at) FROM ${s}.requests), (SELECT max(finished_at) FROM ${s}.job_runs),
                      (SELECT max(started_at) FROM ${s}.job_runs)) <= now() AS ok`);
    expect(r.ok).toBe(true);
  });

  it('observes an outcome only after its delay, at most once per application', async () => {
    const r = await one(`
      SELECT count(*)::int AS n, count(DISTINCT o.application_id)::int AS apps,
             count(*) FILTER (WHERE p.application_id IS NULL)::int AS orphans,
             count(*) FILTER (WHERE o.observed_at < p.predicted_at + interval '1 day'
                              OR o.observed_at > p.predicted_at + interval '10 days')::int AS bad_delay
      FROM ${s}.outcomes o LEFT JOIN ${s}.predictions p USING (application_id)`);
    expect(r.n).toBeGreaterThan(0);
    expect(r).toMatchObject({ apps: r.n, orphans: 0, bad_delay: 0 });
    // The recent past has no labels yet, the distant past has all of them.
    // (Data ends at batchTo, a little before now().)
    const c = await one(
      `SELECT count(*) FILTER (WHERE p.predicted_at > $1::timestamptz - interval '1 day' AND o.application_id IS NOT NULL)::int AS too_early,
              count(*) FILTER (WHERE p.predicted_at <= $1::timestamptz - interval '10 days' AND o.application_id IS NULL)::int AS missing
       FROM ${s}.predictions p LEFT JOIN ${s}.outcomes o USING (application_id)`,
      [batchTo.toISOString()],
    );
    expect(c).toMatchObject({ too_early: 0, missing: 0 });
  });

  it('scores defaulters clearly higher (AUC near 0.8)', async () => {
    const r = await one(`
      SELECT avg(p.score) FILTER (WHERE o.defaulted)::float8 AS bad, avg(p.score) FILTER (WHERE NOT o.defaulted)::float8 AS good,
             avg(o.defaulted::int)::float8 AS default_rate
      FROM ${s}.predictions p JOIN ${s}.outcomes o USING (application_id)`);
    expect((r.bad as number) - (r.good as number)).toBeGreaterThan(0.1);
    expect(r.default_rate).toBeGreaterThan(0.1);
    expect(r.default_rate).toBeLessThan(0.3);
    // Mann-Whitney: AUC = P(score of a defaulter > score of a non-defaulter).
    const auc = await one(`
      WITH r AS (SELECT o.defaulted, rank() OVER (ORDER BY p.score) AS rk
                 FROM ${s}.predictions p JOIN ${s}.outcomes o USING (application_id)),
           k AS (SELECT sum(rk) FILTER (WHERE defaulted) AS rank_sum, count(*) FILTER (WHERE defaulted) AS pos,
                        count(*) FILTER (WHERE NOT defaulted) AS neg FROM r)
      SELECT ((rank_sum - pos * (pos + 1) / 2.0) / (pos * neg))::float8 AS auc FROM k`);
    expect(auc.auc).toBeGreaterThan(0.75);
    expect(auc.auc).toBeLessThan(0.85);
  });

  it('approves about 60% of applications, the low scores', async () => {
    const r = await one(`
      SELECT avg(d.approved::int)::float8 AS ratio,
             count(*) FILTER (WHERE d.approved AND p.score > (SELECT min(score) FROM ${s}.predictions p2
               JOIN ${s}.decisions d2 USING (application_id) WHERE NOT d2.approved))::int AS inverted
      FROM ${s}.decisions d JOIN ${s}.predictions p USING (application_id)`);
    expect(r.ratio).toBeGreaterThanOrEqual(0.5);
    expect(r.ratio).toBeLessThanOrEqual(0.7);
    expect(r.inverted).toBe(0);
  });

  it('runs jobs on their cadence, rarely failing', async () => {
    const rows = await db.writer.query(`
      SELECT job, count(*)::int AS n, avg((status = 'failed')::int)::float8 AS failed,
             count(*) FILTER (WHERE status NOT IN ('success', 'failed') OR started_at >= finished_at)::int AS bad,
             count(DISTINCT finished_at)::int AS ticks,
             count(*) FILTER (WHERE extract(epoch FROM finished_at)::bigint % (CASE job WHEN 'feature_pipeline' THEN 300 ELSE 900 END) <> 0)::int AS off_cadence
      FROM ${s}.job_runs GROUP BY job ORDER BY job`);
    expect(rows.map((r) => r.job)).toEqual(['feature_pipeline', 'scoring_batch']);
    for (const r of rows) {
      expect(r).toMatchObject({ bad: 0, off_cadence: 0, ticks: r.n });
      expect(r.failed).toBeLessThan(0.03);
    }
  });

  it('logs requests around 110 ms p50 with p95 under 400 ms and rare errors', async () => {
    const r = await one(`
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
             avg((status = 500)::int)::float8 AS errors, count(*) FILTER (WHERE status NOT IN (200, 500))::int AS other
      FROM ${s}.requests`);
    expect(r.p50).toBeGreaterThan(80);
    expect(r.p50).toBeLessThan(150);
    expect(r.p95).toBeLessThan(400);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.errors).toBeLessThan(0.02);
    expect(r.other).toBe(0);
  });

  it('appends a 10-minute batch at the same rates, inside its range only', async () => {
    expect(batch.applications).toBeGreaterThanOrEqual(4);
    expect(batch.applications).toBeLessThanOrEqual(6);
    expect(batch.predictions).toBe(batch.applications);
    expect(batch.decisions).toBe(batch.applications);
    expect(batch.requests).toBeGreaterThanOrEqual(99);
    expect(batch.requests).toBeLessThanOrEqual(101);
    expect(batch.jobRuns).toBeGreaterThanOrEqual(2); // two or three 5-minute ticks, maybe a 15-minute one
    expect(batch.jobRuns).toBeLessThanOrEqual(4);
    // Labels of applications scored 1 to 10 days ago keep arriving at about the application rate.
    expect(batch.outcomes).toBeLessThan(30);

    // Nothing changed at or before the start of the range.
    expect(await countsUpTo(batchFrom)).toEqual(before);
    const inRange = await one(
      `SELECT (SELECT count(*) FROM ${s}.applications WHERE ingested_at > $1 AND ingested_at <= $2)::int AS applications,
              (SELECT count(*) FROM ${s}.predictions WHERE predicted_at > $1 AND predicted_at <= $2)::int AS predictions,
              (SELECT count(*) FROM ${s}.decisions WHERE decided_at > $1 AND decided_at <= $2)::int AS decisions,
              (SELECT count(*) FROM ${s}.outcomes WHERE observed_at > $1 AND observed_at <= $2)::int AS outcomes,
              (SELECT count(*) FROM ${s}.requests WHERE at > $1 AND at <= $2)::int AS requests,
              (SELECT count(*) FROM ${s}.job_runs WHERE finished_at > $1 AND finished_at <= $2)::int AS "jobRuns"`,
      [batchFrom.toISOString(), batchTo.toISOString()],
    );
    expect(inRange).toEqual(batch);
    const total = await one(
      `SELECT (SELECT count(*) FROM ${s}.applications)::int AS applications, (SELECT count(*) FROM ${s}.outcomes)::int AS outcomes`,
    );
    expect(total).toEqual({
      applications: seeded.applications + batch.applications,
      outcomes: seeded.outcomes + batch.outcomes,
    });
    const ids = await one(`
      SELECT (SELECT count(*) = count(DISTINCT id) FROM ${s}.applications) AND (SELECT count(*) = count(DISTINCT id) FROM ${s}.requests)
         AND (SELECT count(*) = count(DISTINCT id) FROM ${s}.job_runs)
         AND (SELECT count(*) = count(DISTINCT application_id) FROM ${s}.outcomes) AS unique_ids`);
    expect(ids.unique_ids).toBe(true);
  });

  it('serves builtin queries that run read-only and return their declared columns', async () => {
    const config = demoConfig({ warehouseUrl: 'pglite:memory', schema: db.schema });
    const queries = config.queries as QuerySpec[];
    expect(queries.length).toBeGreaterThanOrEqual(4);
    const values = new Map<string, number[]>();
    for (const q of queries) {
      expect(q.name).toMatch(/^[a-z][a-z0-9_]*$/);
      const rows = await db.warehouse.readOnly({ timeoutMs: 10_000 }, (tx) => tx.query(q.sql));
      expect(rows.length, q.name).toBeGreaterThan(0);
      for (const m of q.metrics) {
        expect(m.name).toMatch(/^demo_[a-z0-9_]*[a-z0-9]$/);
        expect(m.name).not.toMatch(/_total$/);
        for (const row of rows) {
          for (const l of m.labels) expect(typeof row[l], `${m.name} label ${l}`).toBe('string');
          expect(typeof row[m.value], `${m.name} value ${m.value}`).toBe('number');
        }
        values.set(
          m.name,
          rows.map((r) => r[m.value] as number),
        );
      }
    }
    const v = (name: string) => values.get(name) ?? [];
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(v('demo_applications_last_hour'))).toBeGreaterThan(10);
    expect(sum(v('demo_applications_last_hour'))).toBeLessThan(70);
    expect(Date.now() / 1000 - (v('demo_applications_last_ingested_timestamp_seconds')[0] ?? 0)).toBeLessThan(
      3600,
    );
    expect(v('demo_approval_ratio')[0]).toBeGreaterThanOrEqual(0.4);
    expect(v('demo_approval_ratio')[0]).toBeLessThanOrEqual(0.8);
    // A day of ticks, give or take the one that may fall in the seconds between batchTo and now().
    expect(sum(v('demo_job_runs_last_day'))).toBeGreaterThanOrEqual(288 + 96 - 2);
    expect(sum(v('demo_job_runs_last_day'))).toBeLessThanOrEqual(288 + 96);
    // About 9 days of applications minus the labels already in: roughly half, several thousand.
    expect(v('demo_predictions_awaiting_label')[0]).toBeGreaterThan(1000);
    expect(v('demo_request_latency_p95_seconds')[0]).toBeGreaterThan(0.1);
    expect(v('demo_request_latency_p95_seconds')[0]).toBeLessThan(0.4);
  });

  it('repeats the same history for the same seed and end', async () => {
    const until = new Date(Date.now() - DAY_MS);
    const fingerprint = async () => {
      await createDemoSchema(db.writer, db.schema);
      await seedHistory(db.writer, db.schema, { days: 2, seed: 7, until });
      return one(`
        SELECT (SELECT count(*) FROM ${s}.applications)::int AS apps, (SELECT sum(score) FROM ${s}.predictions)::float8 AS scores,
               (SELECT sum(latency_ms) FROM ${s}.requests)::float8 AS latency`);
    };
    const a = await fingerprint();
    const b = await fingerprint();
    expect(a.apps).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it('feeds batches on a timer without overlap, and survives errors', async () => {
    // Runs after the reseed above: the schema holds 2 days ending a day ago.
    const since = new Date(Date.now() - 60 * 60_000);
    const batches: Array<[Date, Date]> = [];
    const feeder = new DemoFeeder(db.writer, db.schema, 20, {
      since,
      onBatch: (_c, from, to) => batches.push([from, to]),
    });
    expect(feeder.lastBatchAt).toEqual(since);
    feeder.start();
    await new Promise((r) => setTimeout(r, 300));
    await feeder.stop();
    expect(batches.length).toBeGreaterThan(0);
    // Contiguous ranges starting where we asked, so nothing is generated twice or skipped.
    expect(batches[0]?.[0]).toEqual(since);
    for (let i = 1; i < batches.length; i++) expect(batches[i]?.[0]).toEqual(batches[i - 1]?.[1]);
    expect(feeder.lastBatchAt).toEqual(batches.at(-1)?.[1]);
    const r = await one(`SELECT count(*)::int AS n FROM ${s}.requests WHERE at > $1`, [since.toISOString()]);
    expect(r.n).toBeGreaterThan(500);

    const errors: unknown[] = [];
    const broken = new DemoFeeder(db.writer, 'no_such_schema', 20, { onError: (e) => errors.push(e) });
    const stuck = broken.lastBatchAt;
    broken.start();
    await new Promise((r) => setTimeout(r, 100));
    await broken.stop();
    expect(errors.length).toBeGreaterThan(0);
    expect(broken.lastBatchAt).toEqual(stuck);
  });
});
