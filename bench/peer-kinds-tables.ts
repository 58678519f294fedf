/**
 * The tables of bench/peer-kinds.ts, in its own schema: a dataset's events (duplicates), a model's
 * predictions and labels (regression, segments, prediction drift), the reference the prediction drift is
 * compared with, and a job's runs. 1,000,000 rows each (the reference 100,000), unlogged, autovacuum off, no
 * indexes, vacuumed and analyzed before anything is timed, as the other benches load theirs. Seeded: every run
 * loads the same rows.
 *
 * Every window the checks have keeps its rows from the load to the end of the run (bench/window-gaps.ts): no
 * row is younger than a window's edge by less than `gapS`, which is longer than the whole run, so the
 * check's values and the peer's can be compared exactly whenever each ran.
 */
import type pg from 'pg';
import { ageAvoiding, gapsBelow } from './window-gaps.js';

export const ROWS = 1_000_000;
export const REFERENCE_ROWS = 100_000;
const DAY = 86_400;
const HOUR = 3_600;
// Scores ((i * 7919) mod 10^7 + 0.5) / 10^7: distinct for every key up to 10,000,000 (bench/model-auc.ts's).
const SCORE_MOD = 10_000_000;

export interface Tables {
  schema: string;
  events: string;
  predictions: string;
  labels: string;
  reference: string;
  runs: string;
}

export const tablesOf = (schema: string): Tables => ({
  schema,
  events: `${schema}.events`,
  predictions: `${schema}.predictions`,
  labels: `${schema}.labels`,
  reference: `${schema}.reference`,
  runs: `${schema}.runs`,
});

/** Drops and recreates the schema, then loads every table; `step` times each load. */
export async function loadTables(
  db: pg.Client,
  t: Tables,
  gapS: number,
  step: (what: string, rows: number, fn: () => Promise<unknown>) => Promise<unknown>,
): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${t.schema} CASCADE`);
  await db.query(`CREATE SCHEMA ${t.schema}`);
  await db.query('SELECT setseed(0.14)');
  await step('events', ROWS, () => loadEvents(db, t));
  await step('predictions and labels', ROWS, () => loadModel(db, t, gapS));
  await step('reference', REFERENCE_ROWS, () => loadReference(db, t));
  await step('runs', ROWS, () => loadRuns(db, t, gapS));
  await step('vacuum analyze', 0, () =>
    db.query(`VACUUM (ANALYZE) ${t.events}, ${t.predictions}, ${t.labels}, ${t.reference}, ${t.runs}`),
  );
}

// UNLOGGED: loading writes no WAL; reading is the same as reading a logged table. No autovacuum: the bench
// vacuums when it wants to, and a worker waking up mid-round would only be noise.
const UNLOGGED = 'WITH (autovacuum_enabled = off)';

/**
 * Events over the 23 hours before the load (all inside the 1d window): row i has id i, but every 100th row
 * repeats the id of the row before it (a retried delivery: 10,000 duplicated ids) and every 1,000th, at
 * i mod 1000 = 555, has no id (left out of the duplicates, as a UNIQUE constraint would).
 */
export const DUPLICATED_IDS = ROWS / 100;

async function loadEvents(db: pg.Client, t: Tables): Promise<void> {
  await db.query(`CREATE UNLOGGED TABLE ${t.events} (id bigint, ingested_at timestamptz NOT NULL,
    customer_id bigint, amount numeric(12, 2), purpose text) ${UNLOGGED}`);
  await db.query(
    `INSERT INTO ${t.events}
     SELECT CASE WHEN i % 1000 = 555 THEN NULL WHEN i % 100 = 0 THEN i - 1 ELSE i END,
            now() - interval '1 second' - interval '23 hours' * random(),
            1 + (i::bigint * 7919) % 50000, round((10 + 990 * random())::numeric, 2),
            (ARRAY['car', 'home', 'education', 'business'])[1 + i % 4]
     FROM generate_series(1, $1::int) AS i`,
    [ROWS],
  );
}

/**
 * Predictions over the 13 days before the load (all inside 14d; none within gapS under 1d or 7d old), each
 * with a score (distinct, as the model bench's), a predicted amount, a channel (5 values, skewed; NULL on
 * every 200th) and a region (40 values, skewed: the top 10 keep their series, the rest are `other`). Labels
 * arrive 1 to 24 hours after their prediction and only those already due are there (about 4 % of the
 * predictions, most of them in the last day, have none): positive with probability equal to the score (a
 * calibrated model, AUC about 0.83), and an actual amount near the predicted one, 0 for every 1,000th key.
 */
/**
 * The multiclass model's probabilities from the score s (a column of the row): low (1 - s)², mid 2 s (1 - s),
 * high s²; NULL on every 500th prediction (left out by the check). Its label, `tier`, drawn from them (a
 * calibrated model), is `other` (no class: counted apart) for every 997th key and NULL (no label) for every
 * 1,009th.
 */
const CLASS_PROBABILITIES = `CASE WHEN r.i % 500 = 0 THEN NULL ELSE (1 - r.s) * (1 - r.s) END, 2 * r.s * (1 - r.s), r.s * r.s`;
const TIER = `CASE WHEN key % 997 = 0 THEN 'other' WHEN key % 1009 = 0 THEN NULL
              ELSE (SELECT CASE WHEN u < coalesce(p_low, 0) THEN 'low' WHEN u < coalesce(p_low, 0) + p_mid THEN 'mid' ELSE 'high' END
                    FROM (SELECT random() AS u) AS d) END`;

async function loadModel(db: pg.Client, t: Tables, gapS: number): Promise<void> {
  await db.query(`CREATE UNLOGGED TABLE ${t.predictions} (key bigint NOT NULL, predicted_at timestamptz NOT NULL,
    score float8 NOT NULL, amount_pred float8, channel text, region text,
    p_low float8, p_mid float8, p_high float8) ${UNLOGGED}`);
  await db.query(`CREATE UNLOGGED TABLE ${t.labels} (key bigint NOT NULL, observed_at timestamptz NOT NULL,
    defaulted boolean NOT NULL, amount float8, tier text) ${UNLOGGED}`);
  const age = ageAvoiding('r.u', 1, 13 * DAY, gapsBelow([DAY, 7 * DAY], gapS));
  await db.query(
    `INSERT INTO ${t.predictions}
     SELECT r.i, now() - make_interval(secs => ${age}), r.s,
            50 + 450 * random(),
            CASE WHEN r.i % 200 = 0 THEN NULL
                 ELSE (ARRAY['web', 'app', 'branch', 'partner', 'phone'])[1 + floor(5 * random() ^ 2)::int] END,
            'r' || lpad(floor(40 * random() ^ 3)::int::text, 2, '0'),
            ${CLASS_PROBABILITIES}
     FROM (SELECT i, random() AS u, ((i * 7919) % ${SCORE_MOD} + 0.5) / ${SCORE_MOD}::float8 AS s
           FROM generate_series(1, $1::bigint) AS i OFFSET 0) AS r`,
    [ROWS],
  );
  await db.query(
    `INSERT INTO ${t.labels}
     SELECT key, lt, random() < score,
            CASE WHEN key % 1000 = 0 THEN 0 ELSE greatest(0, amount_pred * (0.8 + 0.4 * random()) + 10 * (random() - 0.5)) END,
            ${TIER}
     FROM (SELECT key, score, amount_pred, p_low, p_mid, predicted_at + interval '1 hour' + interval '23 hours' * random() AS lt
           FROM ${t.predictions} OFFSET 0) AS p
     WHERE lt < now()`,
  );
}

/** The reference of the prediction drift: 100,000 scores of the same grid, skewed low (a PSI about 0.01). */
async function loadReference(db: pg.Client, t: Tables): Promise<void> {
  await db.query(`CREATE UNLOGGED TABLE ${t.reference} (score float8) ${UNLOGGED}`);
  await db.query(
    `INSERT INTO ${t.reference}
     SELECT power(((i::bigint * 104729) % ${SCORE_MOD} + 0.5) / ${SCORE_MOD}::float8, 1.15) FROM generate_series(1, $1::int) AS i`,
    [REFERENCE_ROWS],
  );
}

/** The job check's windows (its defaults), in seconds: the edges the runs keep clear of. */
export const JOB_WINDOWS_S: Record<string, number> = {
  '5m': 300,
  '30m': 1_800,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '6h': 6 * HOUR,
  '1d': DAY,
  '3d': 3 * DAY,
};
const LONGEST_RUN_S = 609;

/**
 * 1,000,000 runs of job `bench`, as bench/jobs-serving.ts's: started over the 70 hours before the load, 10 to
 * 609 s long; every 100th still running, every 33rd failed, every 97th with a NULL status (a failure). Every
 * finished run ended before the load (the newest started 11 minutes before it). No run starts within gapS
 * under a window's edge, and none ends within gapS under 1 day before now (the p95's and the last run's rows).
 */
async function loadRuns(db: pg.Client, t: Tables, gapS: number): Promise<void> {
  await db.query(`CREATE UNLOGGED TABLE ${t.runs} (id bigint, job text, status text,
    started_at timestamptz, finished_at timestamptz) ${UNLOGGED}`);
  const gaps = gapsBelow(Object.values(JOB_WINDOWS_S), gapS);
  // A run that starts up to its length after the 1d edge ends before it: keep those clear too.
  gaps.push({ from: DAY - gapS, to: DAY + LONGEST_RUN_S + 1 });
  const age = ageAvoiding('r.u', 11 * 60, 70 * HOUR + 11 * 60, gaps);
  await db.query(
    `INSERT INTO ${t.runs}
     SELECT r.i, 'bench',
            CASE WHEN r.i % 100 = 0 THEN 'running' WHEN r.i % 33 = 0 THEN 'failed' WHEN r.i % 97 = 0 THEN NULL ELSE 'success' END,
            now() - make_interval(secs => a.s),
            CASE WHEN r.i % 100 = 0 THEN NULL ELSE now() - make_interval(secs => a.s - (10 + r.i % 600)) END
     FROM (SELECT i, (i - 0.5) / $1::float8 AS u FROM generate_series(1, $1::int) AS i) AS r,
          LATERAL (SELECT ${age} AS s) AS a`,
    [ROWS],
  );
}
