import type { StateDb } from './db.js';

/**
 * The state store's schema, as an append-only list: a released migration is never edited, a change is a new
 * entry. Each runs once, in order, in the transaction that records it in schema_migrations.
 */
export interface Migration {
  version: number;
  name: string;
  /** Statements for the schema, already quoted. */
  statements(s: string): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tickets',
    statements: (s) => [
      `CREATE TABLE ${s}.tickets (
        id bigserial PRIMARY KEY,
        fingerprint text NOT NULL,
        starts_at timestamptz NOT NULL,
        alertname text NOT NULL,
        severity text,
        team text,
        layer text,
        state text NOT NULL CHECK (state IN ('open', 'resolved')),
        labels jsonb NOT NULL,
        annotations jsonb NOT NULL,
        opened_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz,
        notifications integer NOT NULL DEFAULT 1,
        UNIQUE (fingerprint, starts_at)
      )`,
      `CREATE INDEX tickets_state_idx ON ${s}.tickets (state, team, layer)`,
      // One row per alert as delivered (fingerprint, status, startsAt, endsAt): what makes a webhook idempotent.
      `CREATE TABLE ${s}.ticket_deliveries (
        delivery_key text PRIMARY KEY,
        fingerprint text NOT NULL,
        starts_at timestamptz NOT NULL,
        status text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`,
    ],
  },
];

// Two exporters starting at once must not both migrate: the first holds this lock until it commits.
const MIGRATION_LOCK = 7_268_034_917;

/** Brings the schema up to the latest migration; returns the versions it applied. Safe to run concurrently. */
export async function migrate(db: StateDb, schemaSql: string): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schemaSql}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${schemaSql}.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const done = new Set(
      (await tx.query(`SELECT version FROM ${schemaSql}.schema_migrations`)).map((r) => Number(r.version)),
    );
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const sql of m.statements(schemaSql)) await tx.query(sql);
      await tx.query(`INSERT INTO ${schemaSql}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}
