import type { StateDb, StateTx } from '../store/db.js';

/**
 * The hash chain of rollback_audit (migration 6). The table's triggers refuse UPDATE and DELETE, but its
 * owner (the exporter's role) can disable them; the chain makes what happens then visible. Each entry stores
 * `prev_hash` (the hash of the entry before it, by id) and `hash`, the SHA-256 of its own content and
 * prev_hash, so changing, deleting, inserting or re-ordering any entry but the newest breaks a link that
 * `verifyAuditChain` finds. Removing the newest entries leaves a shorter, intact chain: the entry count in
 * Prometheus (mlwatch_rollback_audit_entries) is the record of that, kept outside the store.
 *
 * The serialization is a format, like a file format: the migration's backfill, every append and every
 * verification build it from `auditHashSql`, and changing it would break every stored hash. A different one
 * needs a new tag and a migration that re-chains.
 */

/** The prev_hash of the first entry. */
export const AUDIT_GENESIS = '0'.repeat(64);

const TAG = 'mlwatch.rollback_audit.v1';

/**
 * SQL for the hex SHA-256 of one entry. `row` is a table alias or PL/pgSQL record with the columns id,
 * request_id, at, actor, action and details; `prev` is SQL for the previous entry's hash. The hashed text is
 * the UTF-8 of TAG followed, for each of id, request_id, at (microseconds since the Unix epoch), actor,
 * action, details (jsonb's text: Postgres' normal form, keys sorted, fixed spacing) and prev, by
 * `;<length in bytes>:<value>`. The length prefixes keep two different rows from serializing alike (an actor
 * ending in `;` cannot borrow from the action); epoch microseconds and jsonb text keep the session's TimeZone
 * and DateStyle out of it. Functions are schema-qualified so a same-named function on the search_path cannot
 * stand in for them.
 */
export function auditHashSql(row: string, prev: string): string {
  const fields = [
    `${row}.id::text`,
    `${row}.request_id::text`,
    `(extract(epoch FROM ${row}.at) * 1000000)::bigint::text`,
    `${row}.actor`,
    `${row}.action`,
    `${row}.details::text`,
    prev,
  ];
  const parts = fields.map((f) => `';', pg_catalog.octet_length(${f}), ':', ${f}`).join(', ');
  return `pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat('${TAG}', ${parts}), 'UTF8')), 'hex')`;
}

// Key class of the chain's advisory lock (the second key is the schema's hash, so two stores in one database
// do not wait for each other). The two-int form never collides with migrate()'s one-bigint key.
const CHAIN_LOCK_CLASS = 726_803_492;

/**
 * Serializes appends to the chain across every connection and replica until this transaction ends. An
 * advisory lock rather than SELECT ... FOR UPDATE on the newest entry: a second appender waiting on that row
 * gets the same row back once the first commits (its own insert does not change that row) and forks the
 * chain; and rather than a chain-head row, which every append would update (one more mutable row to
 * protect) and which the exporter's role could rewrite along with the entries anyway. The lock must be taken
 * before the head is read: under READ COMMITTED each statement sees what committed before it started, so
 * the read that follows the lock sees the previous appender's entry. A unique index on prev_hash backs this
 * up: should two appends ever read the same head (a session at REPEATABLE READ), the second fails instead of
 * forking. A lock_timeout on the store's connections bounds the wait like any other lock's.
 *
 * Take it after every row lock the transaction waits for, and wait for nothing after it: a transaction that
 * holds it while waiting for a row another one holds, which in turn waits for this lock, deadlocks.
 */
export async function lockAuditChain(tx: StateTx, schemaSql: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [CHAIN_LOCK_CLASS, schemaSql]);
}

export interface AuditAppend {
  requestId: number;
  at: Date;
  actor: string;
  action: string;
  details: object;
}

/** Appends one entry, chained to the newest; returns its id. */
export async function appendAudit(tx: StateTx, schemaSql: string, e: AuditAppend): Promise<number> {
  await lockAuditChain(tx, schemaSql);
  const table = `${schemaSql}.rollback_audit`;
  // The id comes from the sequence inside the lock, so id order is chain order and verification walks by id.
  const [row] = await tx.query(
    `WITH head AS (SELECT hash FROM ${table} ORDER BY id DESC LIMIT 1),
          v AS (SELECT nextval(pg_get_serial_sequence($6, 'id')) AS id, $1::bigint AS request_id,
                       $2::timestamptz AS at, $3::text AS actor, $4::text AS action, $5::jsonb AS details,
                       coalesce((SELECT hash FROM head), $7) AS prev_hash)
     INSERT INTO ${table} (id, request_id, at, actor, action, details, prev_hash, hash)
     SELECT id, request_id, at, actor, action, details, prev_hash, ${auditHashSql('v', 'v.prev_hash')} FROM v
     RETURNING id`,
    [e.requestId, e.at, e.actor, e.action, JSON.stringify(e.details), table, AUDIT_GENESIS],
  );
  return Number(row?.id);
}

export interface AuditVerification {
  /** Every entry's hash matches its content and links to the entry before it. */
  intact: boolean;
  /** Entries in the log, intact or not. */
  entries: number;
  /** The newest entry: a copy of its hash kept outside the store proves the log up to it unchanged. */
  head?: { id: number; hash: string };
  /** The first entry (by id) whose hash or link does not hold, and why. */
  firstBroken?: { id: number; reason: string };
}

/**
 * Recomputes every entry's hash and follows the links from the genesis value, in id order, in one snapshot
 * (appends committed meanwhile are not half seen). Reads every entry: a few hundred bytes each.
 */
export async function verifyAuditChain(db: StateDb, schemaSql: string): Promise<AuditVerification> {
  const rows = await db.transaction((tx) =>
    tx.query(
      `SELECT a.id, a.prev_hash, a.hash, ${auditHashSql('a', 'a.prev_hash')} AS recomputed
         FROM ${schemaSql}.rollback_audit a ORDER BY a.id`,
    ),
  );
  let expected = AUDIT_GENESIS;
  let before: number | undefined;
  for (const r of rows) {
    const id = Number(r.id);
    if (r.prev_hash !== expected) {
      const reason =
        before === undefined
          ? 'its prev_hash is not the genesis value, yet no entry comes before it: the entries before it were deleted'
          : `its prev_hash is not the hash of entry ${before}, the entry before it: an entry between them was deleted, or this one was inserted or moved`;
      return { intact: false, entries: rows.length, firstBroken: { id, reason } };
    }
    if (r.recomputed !== r.hash) {
      const reason = 'its content does not match its hash: it was changed after it was written';
      return { intact: false, entries: rows.length, firstBroken: { id, reason } };
    }
    expected = String(r.hash);
    before = id;
  }
  return {
    intact: true,
    entries: rows.length,
    ...(before !== undefined ? { head: { id: before, hash: expected } } : {}),
  };
}
