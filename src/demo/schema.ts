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
    CREATE INDEX ON ${s}.applications (ingested_at);

    CREATE TABLE ${s}.predictions (
      application_id bigint,
      predicted_at timestamptz,
      score double precision,
      model_version text
    );
    CREATE INDEX ON ${s}.predictions (predicted_at);
    CREATE INDEX ON ${s}.predictions (application_id);

    -- One label per application at most: the primary key enforces it.
    CREATE TABLE ${s}.outcomes (
      application_id bigint PRIMARY KEY,
      observed_at timestamptz,
      defaulted boolean
    );
    CREATE INDEX ON ${s}.outcomes (observed_at);

    CREATE TABLE ${s}.job_runs (
      id bigint PRIMARY KEY,
      job text,
      status text,
      started_at timestamptz,
      finished_at timestamptz
    );
    CREATE INDEX ON ${s}.job_runs (started_at);
    CREATE INDEX ON ${s}.job_runs (finished_at);

    CREATE TABLE ${s}.requests (
      id bigint PRIMARY KEY,
      at timestamptz,
      latency_ms double precision,
      status integer
    );
    CREATE INDEX ON ${s}.requests (at);

    CREATE TABLE ${s}.decisions (
      application_id bigint,
      decided_at timestamptz,
      approved boolean
    );
    CREATE INDEX ON ${s}.decisions (decided_at);

    -- Simulator state, not part of the story: labels already drawn when an application was scored,
    -- waiting for their delay to elapse before they are moved into outcomes.
    CREATE TABLE ${s}.sim_pending_outcomes (
      application_id bigint PRIMARY KEY,
      due_at timestamptz NOT NULL,
      defaulted boolean NOT NULL
    );
    CREATE INDEX ON ${s}.sim_pending_outcomes (due_at);
    COMMENT ON TABLE ${s}.sim_pending_outcomes IS 'demo simulator state: outcomes not yet observed';
  `);
}
