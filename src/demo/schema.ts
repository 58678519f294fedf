import type { SqlWriter } from '../warehouse/types.js';

/**
 * The demo warehouse of a credit-scoring model: applications come in, the model scores them, a decision
 * follows from the score, and whether the applicant defaulted is learned days later. Around it, the
 * pipelines that feed the model (job_runs) and the scoring API's request log (requests).
 */

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

/** Validates a schema name and returns it double-quoted, ready to splice into SQL. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid demo schema name ${JSON.stringify(schema)}: expected ${SCHEMA_NAME}`);
  }
  return `"${schema}"`;
}

// Secondary indexes: the timestamp columns checks filter on, and the join key of predictions.
const INDEXES: ReadonlyArray<readonly [table: string, column: string]> = [
  ['applications', 'ingested_at'],
  ['predictions', 'predicted_at'],
  ['predictions', 'application_id'],
  ['outcomes', 'observed_at'],
  ['job_runs', 'started_at'],
  ['job_runs', 'finished_at'],
  ['requests', 'at'],
  ['decisions', 'decided_at'],
  ['sim_pending_outcomes', 'due_at'],
];

/**
 * Statements creating or dropping the secondary indexes. seedHistory drops them around its bulk insert:
 * building them afterwards is about a third faster on PGlite than maintaining them row by row.
 */
export function demoIndexesSql(schema: string, action: 'create' | 'drop'): string {
  const s = quoteSchema(schema);
  return INDEXES.map(([table, column]) =>
    action === 'create'
      ? `CREATE INDEX IF NOT EXISTS ${table}_${column}_idx ON ${s}.${table} (${column});`
      : `DROP INDEX IF EXISTS ${s}.${table}_${column}_idx;`,
  ).join('\n');
}

/** Drops the schema if it exists (with everything in it) and creates the demo tables, empty. */
export async function createDemoSchema(w: SqlWriter, schema: string): Promise<void> {
  const s = quoteSchema(schema);
  await w.exec(`
    DROP SCHEMA IF EXISTS ${s} CASCADE;
    CREATE SCHEMA ${s};

    CREATE TABLE ${s}.applications (
      id bigint PRIMARY KEY,
      ingested_at timestamptz NOT NULL,
      income numeric,
      age integer,
      employment_years numeric,
      purpose text,
      region text,
      requested_amount numeric
    );

    CREATE TABLE ${s}.predictions (
      application_id bigint,
      predicted_at timestamptz,
      score double precision,
      model_version text,
      region text
    );

    -- One label per application at most: the primary key enforces it.
    CREATE TABLE ${s}.outcomes (
      application_id bigint PRIMARY KEY,
      observed_at timestamptz,
      defaulted boolean
    );

    CREATE TABLE ${s}.job_runs (
      id bigint PRIMARY KEY,
      job text,
      status text,
      started_at timestamptz,
      finished_at timestamptz
    );

    CREATE TABLE ${s}.requests (
      id bigint PRIMARY KEY,
      at timestamptz,
      latency_ms double precision,
      status integer
    );

    CREATE TABLE ${s}.decisions (
      application_id bigint,
      decided_at timestamptz,
      approved boolean
    );

    -- Simulator state, not part of the story: labels already drawn when an application was scored,
    -- waiting for their delay to elapse before they are moved into outcomes.
    CREATE TABLE ${s}.sim_pending_outcomes (
      application_id bigint PRIMARY KEY,
      due_at timestamptz NOT NULL,
      defaulted boolean NOT NULL
    );
    COMMENT ON TABLE ${s}.sim_pending_outcomes IS 'demo simulator state: outcomes not yet observed';

    -- The risk-tier model, a multiclass stand-in read from the credit model's own rows (views, so the feeder and
    -- every incident move it too): low, medium and high risk with probabilities from the default score s
    -- ((1 - s)^2, 2 s (1 - s), s^2: they sum to 1), and as the tier observed, high for a default, medium for a
    -- repaid application scored at 0.35 or more, low otherwise.
    CREATE VIEW ${s}.risk_tier_predictions AS
      SELECT application_id, predicted_at, model_version,
             (1 - score) * (1 - score) AS p_low, 2 * score * (1 - score) AS p_medium, score * score AS p_high
      FROM ${s}.predictions;
    CREATE VIEW ${s}.risk_tier_outcomes AS
      SELECT o.application_id, o.observed_at,
             CASE WHEN o.defaulted THEN 'high'
                  WHEN (SELECT max(p.score) FROM ${s}.predictions p WHERE p.application_id = o.application_id) >= 0.35
                    THEN 'medium'
                  ELSE 'low' END AS tier
      FROM ${s}.outcomes o;
    ${demoIndexesSql(schema, 'create')}
  `);
}
