import type { SqlWriter } from '../warehouse/types.js';
import { quoteSchema } from './schema.js';

/** Rows one call added (or, from seedHistory, rows in the tables). */
export interface BatchCounts {
  applications: number;
  predictions: number;
  decisions: number;
  outcomes: number;
  requests: number;
  jobRuns: number;
}

// Rates of the simulated world.
export const APPLICATIONS_PER_SECOND = 1 / 120; // ≈ 720 a day, one decision each: 30 an hour
const REQUESTS_PER_SECOND = 10 / 60;
/** Scores below this are approved; puts the approval rate near 0.6. */
export const APPROVAL_CUT = 0.165;
export const MODEL_VERSION = 'credit-gbm-3.2';

// A standard normal draw (Box-Muller); random_normal() only exists from PostgreSQL 16.
const NORMAL = 'sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())';

/**
 * One statement that generates everything happening in (t0, t1] and returns how many rows it wrote.
 * `bounds` is a SELECT yielding t0, t1 and r0 (requests are only generated in (r0, t1]), either from bound
 * parameters (appendBatch) or from literals (seedHistory, which must run after setseed on the same
 * connection and so goes through the simple protocol).
 *
 * Being a single statement makes a batch atomic: a failed batch writes nothing and can simply be retried.
 * Counts use stochastic rounding (floor(expected + random())), so short batches still average the right
 * rate, and arrival times are uniform in the range, which makes the arrivals a Poisson-like process.
 */
export function generateSql(schema: string, bounds: string): string {
  const s = quoteSchema(schema);
  return `
WITH bounds AS (${bounds}),
draw AS (
  SELECT b.t0 + (1 - random()) * (b.t1 - b.t0) AS t,
         ${NORMAL} AS z_income, ${NORMAL} AS z_age, ${NORMAL} AS z_hidden, ${NORMAL} AS z_noise,
         random() AS u_emp, random() AS u_purpose, random() AS u_region, random() AS u_amount,
         random() AS u_label, random() AS u_delay
  FROM bounds b,
       generate_series(1, floor(extract(epoch FROM b.t1 - b.t0) * ${APPLICATIONS_PER_SECOND} + random())::int)
),
feat AS (
  SELECT d.*,
         round(exp(10.8 + 0.5 * z_income))::numeric AS income,
         least(75, greatest(21, round(40 + 11 * z_age)))::int AS age,
         CASE WHEN u_purpose < 0.30 THEN 'car' WHEN u_purpose < 0.50 THEN 'home'
              WHEN u_purpose < 0.62 THEN 'education' WHEN u_purpose < 0.75 THEN 'business'
              ELSE 'debt_consolidation' END AS purpose,
         CASE WHEN u_region < 0.45 THEN 'eu' WHEN u_region < 0.80 THEN 'us' ELSE 'apac' END AS region,
         0.1 + 0.6 * u_amount AS loan_to_income
  FROM draw d
),
risk AS (
  -- The true log-odds of default: lower income, bigger loans, short employment and some purposes raise
  -- it; z_hidden is risk no feature explains. Coefficients are tuned for a default rate near 19% and,
  -- with the model's error (z_noise) on top, a score AUC near 0.8.
  SELECT f.*,
         round(((f.age - 20) * f.u_emp * 0.6)::numeric, 1) AS employment_years,
         -2.2 - 0.9 * f.z_income + 2.5 * (f.loan_to_income - 0.4) - 0.04 * ((f.age - 20) * f.u_emp * 0.6 - 8)
           + CASE f.purpose WHEN 'debt_consolidation' THEN 0.5 WHEN 'business' THEN 0.4
                            WHEN 'education' THEN 0.2 WHEN 'home' THEN -0.4 ELSE 0 END
           + 1.0 * f.z_hidden AS logit
  FROM feat f
),
app AS (
  SELECT (SELECT coalesce(max(id), 0) FROM ${s}.applications) + row_number() OVER (ORDER BY t) AS id,
         r.*,
         1 / (1 + exp(-(r.logit + 0.4 * r.z_noise))) AS score,
         r.u_label < 1 / (1 + exp(-r.logit)) AS defaulted,
         r.t + interval '1 day' + r.u_delay * interval '9 days' AS due_at
  FROM risk r
),
ins_app AS (
  INSERT INTO ${s}.applications (id, ingested_at, income, age, employment_years, purpose, region, requested_amount)
  SELECT id, t, income, age, employment_years, purpose, region, round(income * loan_to_income::numeric, -2) FROM app
  RETURNING 1
),
ins_pred AS (
  INSERT INTO ${s}.predictions (application_id, predicted_at, score, model_version, region)
  SELECT id, t, score, '${MODEL_VERSION}', region FROM app
  RETURNING 1
),
ins_dec AS (
  INSERT INTO ${s}.decisions (application_id, decided_at, approved)
  SELECT id, t, score < ${APPROVAL_CUT} FROM app
  RETURNING 1
),
-- Labels whose delay has elapsed: earlier ones waiting in sim_pending_outcomes, plus new ones (seeding).
-- A data-modifying CTE cannot see rows another one inserts, hence the two sources.
due AS (
  DELETE FROM ${s}.sim_pending_outcomes WHERE due_at <= (SELECT t1 FROM bounds)
  RETURNING application_id, due_at, defaulted
),
ins_pending AS (
  INSERT INTO ${s}.sim_pending_outcomes (application_id, due_at, defaulted)
  SELECT id, due_at, defaulted FROM app WHERE due_at > (SELECT t1 FROM bounds)
  RETURNING 1
),
ins_out AS (
  INSERT INTO ${s}.outcomes (application_id, observed_at, defaulted)
  SELECT application_id, due_at, defaulted FROM due
  UNION ALL
  SELECT id, due_at, defaulted FROM app WHERE due_at <= (SELECT t1 FROM bounds)
  RETURNING 1
),
req AS (
  SELECT greatest(b.r0, b.t0) + (1 - random()) * (b.t1 - greatest(b.r0, b.t0)) AS at,
         exp(ln(110) + 0.45 * ${NORMAL}) AS latency_ms,
         CASE WHEN random() < 0.004 THEN 500 ELSE 200 END AS status
  FROM bounds b,
       generate_series(1, floor(greatest(0, extract(epoch FROM b.t1 - greatest(b.r0, b.t0)))
                                * ${REQUESTS_PER_SECOND} + random())::int)
),
ins_req AS (
  INSERT INTO ${s}.requests (id, at, latency_ms, status)
  SELECT (SELECT coalesce(max(id), 0) FROM ${s}.requests) + row_number() OVER (ORDER BY at), at, latency_ms, status
  FROM req
  RETURNING 1
),
-- Jobs run on a cadence aligned to the epoch; a run is logged when it finishes at its tick, so every
-- timestamp of a run in this batch lies at or before t1. 0.2 % of runs fail: a fifth of the 99 % objective's
-- error budget, so healthy demo data never burns it.
runs AS (
  SELECT j.job, to_timestamp(k * j.every_s) AS finished_at,
         j.min_s + random() * j.spread_s AS duration_s,
         CASE WHEN random() < 0.002 THEN 'failed' ELSE 'success' END AS status
  FROM bounds b,
       (VALUES ('feature_pipeline', 300, 20, 100), ('scoring_batch', 900, 120, 300)) AS j(job, every_s, min_s, spread_s),
       generate_series(floor(extract(epoch FROM b.t0) / j.every_s)::bigint + 1,
                       floor(extract(epoch FROM b.t1) / j.every_s)::bigint) AS k
),
ins_runs AS (
  INSERT INTO ${s}.job_runs (id, job, status, started_at, finished_at)
  SELECT (SELECT coalesce(max(id), 0) FROM ${s}.job_runs) + row_number() OVER (ORDER BY finished_at, job),
         job, status, finished_at - duration_s * interval '1 second', finished_at
  FROM runs
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins_app)::int AS applications,
       (SELECT count(*) FROM ins_pred)::int AS predictions,
       (SELECT count(*) FROM ins_dec)::int AS decisions,
       (SELECT count(*) FROM ins_out)::int AS outcomes,
       (SELECT count(*) FROM ins_req)::int AS requests,
       (SELECT count(*) FROM ins_runs)::int AS "jobRuns"`;
}

export function toCounts(row: Record<string, unknown> | undefined): BatchCounts {
  const n = (k: string) => Number(row?.[k] ?? 0);
  return {
    applications: n('applications'),
    predictions: n('predictions'),
    decisions: n('decisions'),
    outcomes: n('outcomes'),
    requests: n('requests'),
    jobRuns: n('jobRuns'),
  };
}

/**
 * Adds what happened in (from, to] at the demo's rates, plus the outcomes whose delay elapsed by `to`.
 * Batches must not overlap (the feeder chains them); each is one atomic statement.
 */
export async function appendBatch(w: SqlWriter, schema: string, from: Date, to: Date): Promise<BatchCounts> {
  if (!(to.getTime() > from.getTime())) return toCounts(undefined);
  const bounds = 'SELECT $1::timestamptz AS t0, $2::timestamptz AS t1, $1::timestamptz AS r0';
  // ISO strings rather than Date objects: both drivers pass them through unchanged.
  const rows = await w.query(generateSql(schema, bounds), [from.toISOString(), to.toISOString()]);
  return toCounts(rows[0]);
}

export interface DemoFeederOptions {
  /** Start of the first batch; defaults to the time the feeder was constructed. */
  since?: Date;
  /** Called with a failed batch's error; the feeder keeps going and retries the range next time. */
  onError?: (err: unknown) => void;
  onBatch?: (counts: BatchCounts, from: Date, to: Date) => void;
  /** Awaited after each batch, before the next may start: demo incidents rewrite the rows just added. */
  afterBatch?: (from: Date, to: Date) => Promise<void>;
}

/** Keeps the demo warehouse alive: every intervalMs, appends what happened since the previous batch. */
export class DemoFeeder {
  readonly #w: SqlWriter;
  readonly #schema: string;
  readonly #intervalMs: number;
  readonly #opts: DemoFeederOptions;
  #lastBatchAt: Date;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #paused = false;

  constructor(w: SqlWriter, schema: string, intervalMs = 10_000, opts: DemoFeederOptions = {}) {
    quoteSchema(schema);
    this.#w = w;
    this.#schema = schema;
    this.#intervalMs = intervalMs;
    this.#opts = opts;
    this.#lastBatchAt = opts.since ?? new Date();
  }

  /** End of the last successful batch: the warehouse holds data up to here. */
  get lastBatchAt(): Date {
    return this.#lastBatchAt;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.runOnce(), this.#intervalMs);
    // The feeder alone should not keep the process alive.
    this.#timer.unref();
  }

  /**
   * The `stale` incident: no batches until resume(). Resolves once a batch in flight (and its afterBatch) is
   * done, so nothing is written after it.
   */
  pause(): Promise<void> {
    this.#paused = true;
    return this.#inFlight ?? Promise.resolve();
  }

  /**
   * The next batch starts where the last one ended, so it brings everything that happened while paused: a
   * stalled feed catching up, which leaves no window of the checks with a gap.
   */
  resume(): void {
    this.#paused = false;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Stops the timer and waits for a batch in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  /**
   * Appends one batch up to now. Skipped while a batch is still running: the next one covers the time
   * since the last success, so nothing is lost. Never rejects.
   */
  runOnce(): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    if (this.#paused) return Promise.resolve();
    const from = this.#lastBatchAt;
    const to = new Date();
    this.#inFlight = appendBatch(this.#w, this.#schema, from, to)
      .then(async (counts) => {
        this.#lastBatchAt = to;
        this.#opts.onBatch?.(counts, from, to);
        await this.#opts.afterBatch?.(from, to);
      })
      .catch((err: unknown) => {
        try {
          this.#opts.onError?.(err);
        } catch {
          // A throwing error handler must not escape into the timer either.
        }
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }
}
