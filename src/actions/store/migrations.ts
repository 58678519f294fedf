import { AUDIT_GENESIS, auditHashSql } from '../rollbacks/audit-chain.js';
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
  {
    version: 2,
    name: 'retrain_requests',
    statements: (s) => [
      // The outbox: one row per retraining request, dispatched to the model's webhook until it answers 2xx.
      // pending -> dispatched; a failed attempt stays pending (attempts, last_error, next_attempt_at later).
      `CREATE TABLE ${s}.retrain_requests (
        id bigserial PRIMARY KEY,
        model text NOT NULL,
        reason text NOT NULL CHECK (reason IN ('cadence', 'alert')),
        detail jsonb NOT NULL,
        requested_at timestamptz NOT NULL,
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dispatched')),
        attempts integer NOT NULL DEFAULT 0,
        failures integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        last_error text,
        dispatched_at timestamptz,
        deduplicated integer NOT NULL DEFAULT 0,
        last_deduplicated_at timestamptz
      )`,
      `CREATE INDEX retrain_requests_due_idx ON ${s}.retrain_requests (next_attempt_at) WHERE state = 'pending'`,
      `CREATE INDEX retrain_requests_model_idx ON ${s}.retrain_requests (model, requested_at)`,
      // One row per trigger as received: an alert delivery (fingerprint, status, startsAt, endsAt) or a cadence
      // slot (model, minute). Its key makes a retried webhook and a second replica's cadence tick no-ops.
      `CREATE TABLE ${s}.retrain_triggers (
        trigger_key text PRIMARY KEY,
        model text NOT NULL,
        reason text NOT NULL CHECK (reason IN ('cadence', 'alert')),
        request_id bigint NOT NULL REFERENCES ${s}.retrain_requests (id),
        outcome text NOT NULL CHECK (outcome IN ('requested', 'deduplicated')),
        received_at timestamptz NOT NULL
      )`,
    ],
  },
  {
    version: 3,
    name: 'rollbacks',
    statements: (s) => [
      // One row per rollback request. pending -> approved (an engineering and a product approver) ->
      // executing (claimed by a replica; next_attempt_at is the claim's end) -> executed | failed; a failed
      // attempt goes back to approved until `attempts` failures. pending -> rejected | expired.
      `CREATE TABLE ${s}.rollback_requests (
        id bigserial PRIMARY KEY,
        model text NOT NULL,
        to_version text NOT NULL,
        reason text NOT NULL,
        requested_by text NOT NULL,
        state text NOT NULL DEFAULT 'pending'
          CHECK (state IN ('pending', 'approved', 'executing', 'executed', 'failed', 'rejected', 'expired')),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        decided_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        failures integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_error text,
        finished_at timestamptz
      )`,
      // One open request per model: two rollbacks of one model racing each other is never what anyone wants.
      `CREATE UNIQUE INDEX rollback_requests_open_idx ON ${s}.rollback_requests (model)
        WHERE state IN ('pending', 'approved', 'executing')`,
      `CREATE INDEX rollback_requests_due_idx ON ${s}.rollback_requests (next_attempt_at)
        WHERE state IN ('approved', 'executing')`,
      `CREATE INDEX rollback_requests_pending_idx ON ${s}.rollback_requests (expires_at) WHERE state = 'pending'`,
      `CREATE TABLE ${s}.rollback_approvals (
        request_id bigint NOT NULL REFERENCES ${s}.rollback_requests (id),
        approver text NOT NULL,
        role text NOT NULL CHECK (role IN ('engineering', 'product')),
        decision text NOT NULL CHECK (decision IN ('approve', 'reject')),
        at timestamptz NOT NULL,
        PRIMARY KEY (request_id, approver)
      )`,
      // Append-only: the code only inserts, and the database refuses UPDATE, DELETE and TRUNCATE.
      `CREATE TABLE ${s}.rollback_audit (
        id bigserial PRIMARY KEY,
        request_id bigint NOT NULL REFERENCES ${s}.rollback_requests (id),
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'
      )`,
      `CREATE INDEX rollback_audit_request_idx ON ${s}.rollback_audit (request_id, id)`,
      `CREATE FUNCTION ${s}.rollback_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'rollback_audit is append-only: % refused', TG_OP;
        END $$`,
      `CREATE TRIGGER rollback_audit_no_update BEFORE UPDATE OR DELETE ON ${s}.rollback_audit
        FOR EACH ROW EXECUTE FUNCTION ${s}.rollback_audit_append_only()`,
      `CREATE TRIGGER rollback_audit_no_truncate BEFORE TRUNCATE ON ${s}.rollback_audit
        FOR EACH STATEMENT EXECUTE FUNCTION ${s}.rollback_audit_append_only()`,
    ],
  },
  {
    version: 4,
    name: 'reports',
    statements: (s) => [
      // The weekly reviews as built (src/actions/report/), one per period end: every replica's cadence builds it, the
      // unique period_end keeps one. Also the outbox of the report webhook (src/actions/store/outbox.ts columns);
      // 'not_posted' when no webhook was configured when it was built.
      `CREATE TABLE ${s}.reports (
        id bigserial PRIMARY KEY,
        period_start timestamptz NOT NULL,
        period_end timestamptz NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        markdown text NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'dispatched', 'not_posted')),
        attempts integer NOT NULL DEFAULT 0,
        failures integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        dispatched_at timestamptz
      )`,
      `CREATE INDEX reports_due_idx ON ${s}.reports (next_attempt_at) WHERE state = 'pending'`,
    ],
  },
  {
    version: 5,
    name: 'ticket_outbox',
    statements: (s) => [
      // Ticket events to forward to the external tracker (state.ticket_forward), written in the transaction that
      // changes the ticket. One row per (ticket, event): a retried webhook or a second replica cannot queue an
      // event twice. The same outbox columns as retrain_requests (src/actions/store/outbox.ts).
      `CREATE TABLE ${s}.ticket_outbox (
        id bigserial PRIMARY KEY,
        ticket_id bigint NOT NULL REFERENCES ${s}.tickets (id),
        event text NOT NULL CHECK (event IN ('opened', 'resolved')),
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dispatched')),
        attempts integer NOT NULL DEFAULT 0,
        failures integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        dispatched_at timestamptz,
        UNIQUE (ticket_id, event)
      )`,
      `CREATE INDEX ticket_outbox_due_idx ON ${s}.ticket_outbox (next_attempt_at) WHERE state = 'pending'`,
    ],
  },
  {
    version: 6,
    name: 'rollback_audit_chain',
    statements: (s) => [
      // The audit log's hash chain (src/actions/rollbacks/audit-chain.ts): its triggers stop the exporter's code, not its
      // role, which owns the table and can disable them; the chain shows what was changed then.
      `ALTER TABLE ${s}.rollback_audit ADD COLUMN prev_hash text, ADD COLUMN hash text`,
      // Existing entries are chained in id order (about 8 s per 100,000 entries on PostgreSQL 15). This
      // migration is the one writer allowed to update them: the trigger is off only inside its transaction,
      // which holds the table's ACCESS EXCLUSIVE lock throughout.
      `ALTER TABLE ${s}.rollback_audit DISABLE TRIGGER rollback_audit_no_update`,
      `DO $chain$
        DECLARE
          r record;
          prev text := '${AUDIT_GENESIS}';
          h text;
        BEGIN
          FOR r IN SELECT id, request_id, at, actor, action, details FROM ${s}.rollback_audit ORDER BY id LOOP
            h := ${auditHashSql('r', 'prev')};
            UPDATE ${s}.rollback_audit SET prev_hash = prev, hash = h WHERE id = r.id;
            prev := h;
          END LOOP;
        END $chain$`,
      `ALTER TABLE ${s}.rollback_audit ENABLE TRIGGER rollback_audit_no_update`,
      // An older exporter still running during an upgrade writes no hash: refused, not an unchained entry.
      `ALTER TABLE ${s}.rollback_audit
        ALTER COLUMN prev_hash SET NOT NULL,
        ALTER COLUMN hash SET NOT NULL,
        ADD CONSTRAINT rollback_audit_hashes_hex CHECK (prev_hash ~ '^[0-9a-f]{64}$' AND hash ~ '^[0-9a-f]{64}$')`,
      // One successor per entry: two appends that read the same head cannot both commit (a fork).
      `CREATE UNIQUE INDEX rollback_audit_prev_hash_idx ON ${s}.rollback_audit (prev_hash)`,
    ],
  },
  {
    version: 7,
    name: 'ticket_outbox_priority',
    statements: (s) => [
      // Forwarding sends critical events first (0), then warning (1), then the rest (2), each oldest first: one
      // flood of warnings cannot hold back a critical ticket. A column and an index rather than a sort of every
      // pending row per claim: at 10,000 pending on PostgreSQL 15 the claim's select took 10 ms sorting by the
      // payload's severity (16 ms joined to tickets), 0.06 ms through this index.
      `ALTER TABLE ${s}.ticket_outbox ADD COLUMN priority smallint NOT NULL DEFAULT 2`,
      `UPDATE ${s}.ticket_outbox SET priority = CASE payload->'ticket'->>'severity'
         WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END WHERE state = 'pending'`,
      `CREATE INDEX ticket_outbox_priority_idx ON ${s}.ticket_outbox (priority, next_attempt_at, id)
         WHERE state = 'pending'`,
    ],
  },
  {
    version: 8,
    name: 'ticket_handoff',
    statements: (s) => [
      // Who holds a ticket (docs/handoff_plan.md): every page is platform's first, a warning its team's.
      // acknowledged_* is the current assignee's acknowledgement (a hand-off clears it: the new team has not
      // acknowledged yet); handed_off_* is set once, by a responder or by the automatic hand-off.
      `ALTER TABLE ${s}.tickets
         ADD COLUMN assignee text,
         ADD COLUMN acknowledged_by text,
         ADD COLUMN acknowledged_at timestamptz,
         ADD COLUMN handed_off_to text,
         ADD COLUMN handed_off_by text,
         ADD COLUMN handed_off_at timestamptz,
         ADD COLUMN handoff_reason text`,
      `UPDATE ${s}.tickets SET assignee = CASE WHEN severity = 'critical' THEN 'platform' ELSE team END`,
      // What people (and the automatic hand-off) did to a ticket, in order: the history `tickets list --json`
      // and GET /api/v1/tickets show. Bounded per ticket: one acknowledgement per assignee, one hand-off.
      `CREATE TABLE ${s}.ticket_events (
        id bigserial PRIMARY KEY,
        ticket_id bigint NOT NULL REFERENCES ${s}.tickets (id),
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        action text NOT NULL CHECK (action IN ('acknowledged', 'handed_off')),
        details jsonb NOT NULL DEFAULT '{}'
      )`,
      `CREATE INDEX ticket_events_ticket_idx ON ${s}.ticket_events (ticket_id, id)`,
      // The automatic hand-off's scan (every few seconds on every replica) and the handed-off gauge read only
      // open tickets of these shapes; partial indexes keep both off the resolved history.
      `CREATE INDEX tickets_handoff_due_idx ON ${s}.tickets (opened_at)
         WHERE state = 'open' AND severity = 'critical' AND acknowledged_at IS NULL AND handed_off_at IS NULL`,
      `CREATE INDEX tickets_handed_off_idx ON ${s}.tickets (handed_off_at)
         WHERE state = 'open' AND handed_off_at IS NOT NULL`,
    ],
  },
  {
    version: 9,
    name: 'check_results',
    statements: (s) => [
      // The last result of each check as the replica that runs it left it (src/runtime/sharing/), so the other
      // replicas serve it instead of running the check too. One row per check id and definition (a hash of the
      // check's fingerprint and the warehouse it reads): replicas on different configs during a rollout, or
      // watching different warehouses, share nothing. `revision` grows with every write; a replica fetches
      // the rows whose revision it has not seen. `samples` (the rendered exposition, bounded) is replaced only
      // by a successful run, as a replica keeps its last good samples; `samples_at` dates it on this server's
      // clock, for the ages that grow between runs. NULL samples with `oversize`: too large to share. json, not
      // jsonb: the text comes back as written, label order included, so the replicas' expositions stay equal.
      `CREATE TABLE ${s}.check_results (
        check_id text NOT NULL,
        definition text NOT NULL,
        revision bigint NOT NULL DEFAULT 1,
        runner text NOT NULL,
        outcome json NOT NULL,
        samples json,
        oversize boolean NOT NULL DEFAULT false,
        samples_at timestamptz,
        written_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (check_id, definition)
      )`,
    ],
  },
  {
    version: 10,
    name: 'check_memory',
    statements: (s) => [
      // What a check keeps between runs (the incremental classification check's time buckets), so that a
      // restart or another replica starts from it (src/actions/store/check-memory.ts). One row per check; a
      // save replaces the header and the parts it changed in one transaction and bumps the revision. json, not
      // jsonb: the text is kept as written, so every double reads back to the same bits.
      `CREATE TABLE ${s}.check_memory (
        check_id text PRIMARY KEY,
        fingerprint text NOT NULL,
        revision bigint NOT NULL,
        header json NOT NULL,
        saved_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE ${s}.check_memory_parts (
        check_id text NOT NULL REFERENCES ${s}.check_memory (check_id) ON DELETE CASCADE,
        part bigint NOT NULL,
        body json NOT NULL,
        PRIMARY KEY (check_id, part)
      )`,
    ],
  },
  {
    version: 11,
    name: 'ticket_copies',
    statements: (s) => [
      // Replicas serving the same checks fire the same alert twice, once per replica (the labels differ by the
      // replica's own instance and pod). A ticket is the incident (src/actions/tickets/incident.ts): `incident`
      // is its labels without those, and each alert that joined it is a copy, (fingerprint, start) with its own
      // state and `replica` (its instance and pod); a copy joins an open ticket only from a replica it has no
      // copy from yet, and the ticket resolves when every copy has. Tickets from before have no incident key:
      // a copy matches them only by its own fingerprint and start, as before.
      `ALTER TABLE ${s}.tickets ADD COLUMN incident text`,
      `CREATE INDEX tickets_open_incident_idx ON ${s}.tickets (incident) WHERE state = 'open'`,
      `CREATE TABLE ${s}.ticket_copies (
        fingerprint text NOT NULL,
        starts_at timestamptz NOT NULL,
        ticket_id bigint NOT NULL REFERENCES ${s}.tickets (id),
        state text NOT NULL CHECK (state IN ('open', 'resolved')),
        replica text NOT NULL,
        PRIMARY KEY (fingerprint, starts_at)
      )`,
      `CREATE INDEX ticket_copies_ticket_idx ON ${s}.ticket_copies (ticket_id)`,
      `INSERT INTO ${s}.ticket_copies (fingerprint, starts_at, ticket_id, state, replica)
         SELECT fingerprint, starts_at, id, state,
                json_build_array(coalesce(labels->>'instance', ''), coalesce(labels->>'pod', ''))::text
           FROM ${s}.tickets`,
    ],
  },
];

// Two exporters starting at once must not both migrate: the first holds this lock until it commits.
const MIGRATION_LOCK = 7_268_034_917;

/** Brings the schema up to the latest migration; returns the versions it applied. Safe to run concurrently. */
export async function migrate(db: StateDb, schemaSql: string): Promise<number[]> {
  return db.transaction(async (tx) => {
    // A migration may rewrite a table and take longer than the store's statement_timeout (src/actions/store/db.ts) allows
    // a request; lock_timeout stays, so DDL stuck behind a long lock retries later instead of queueing every
    // webhook behind its own lock request.
    await tx.query("SELECT set_config('statement_timeout', '0', true)");
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    // Only when it is missing: PostgreSQL checks CREATE on the database before IF NOT EXISTS, so a store role
    // that owns the schema an administrator made for it (docs/tickets.md) but may not create schemas would fail.
    const [found] = await tx.query('SELECT to_regnamespace($1) IS NOT NULL AS present', [schemaSql]);
    if (!found?.present) await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schemaSql}`);
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
