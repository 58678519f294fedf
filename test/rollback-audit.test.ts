import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_GENESIS, auditHashSql } from '../src/actions/rollbacks/audit-chain.js';
import { RollbackService } from '../src/actions/rollbacks/rollback-service.js';
import type { Actor, Outcome } from '../src/actions/rollbacks/rollbacks.js';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { MIGRATIONS, migrate } from '../src/actions/store/migrations.js';
import { verifyRollbackAudit } from '../src/commands/rollback-verify.js';
import { loadConfigText } from '../src/config/load.js';
import { quoteIdent } from '../src/sql/identifiers.js';
import { openPglite } from '../src/warehouse/pglite.js';
import { onRealPostgres, openTestDb, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { parseExposition, sampleValue } from './helpers/exposition.js';
import { waitFor } from './helpers/wait.js';
import { type WebhookSink, webhookSink } from './helpers/webhook-sink.js';

// The rollback audit log's hash chain (migration 6), on the real PostgreSQL or one embedded PGlite. Tampering
// is done as the table's owner or a superuser would: with its append-only triggers disabled.

const alice: Actor = { name: 'alice', role: 'engineering' };
const erin: Actor = { name: 'erin', role: 'engineering' };
const pat: Actor = { name: 'pat', role: 'product' };
const paul: Actor = { name: 'paul', role: 'product' };

let db: TestDb;
let sink: WebhookSink;
const cleanups: (() => Promise<void>)[] = [];
let count = 0;

beforeAll(async () => {
  db = await openTestDb();
  sink = await webhookSink();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await sink?.close();
  await db?.close();
});

/** A connection pool to the test database, as each exporter replica has one (PGlite: the one instance). */
function connect(appName = 't'): StateDb {
  if (db.pglite) return pgliteStateDb(db.pglite, false);
  const stateDb = openStateDb({ url: db.url as string, applicationName: appName, connectTimeoutMs: 5000 });
  cleanups.push(() => stateDb.close());
  return stateDb;
}

/** A migrated state store in a schema of its own, and a way to run SQL on it as a superuser. */
async function store(opts: { migrated?: boolean; appName?: string } = {}) {
  const schema = `${db.schema}_a${++count}`;
  if (!db.pglite) cleanups.push(() => db.writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  const stateDb = connect(opts.appName);
  if (opts.migrated !== false) await migrate(stateDb, quoteIdent(schema));
  const audit = `${schema}.rollback_audit`;
  return {
    schema,
    stateDb,
    sql: (text: string) => db.writer.exec(text),
    /** What a superuser (or the table's owner) can do: write with the append-only triggers off. */
    tamper: (text: string) =>
      db.writer.exec(
        `ALTER TABLE ${audit} DISABLE TRIGGER USER; ${text}; ALTER TABLE ${audit} ENABLE TRIGGER USER`,
      ),
    rows: () =>
      stateDb.transaction((tx) =>
        tx.query(
          `SELECT id, request_id, at, actor, action, details::text AS details, prev_hash, hash FROM ${audit} ORDER BY id`,
        ),
      ),
  };
}

function service(stateDb: StateDb, schema: string): RollbackService {
  const svc = new RollbackService({
    db: stateDb,
    schema,
    log: memoryLogger().log,
    isReady: () => true,
    pollMs: 50,
    refreshMs: 0,
  });
  svc.configure({
    rollback_expiry: 86_400_000,
    models: [{ name: 'credit', rollback: { webhook: `${sink.url}/credit`, attempts: 5 } }],
  });
  cleanups.push(() => svc.stop());
  return svc;
}

const idOf = (o: Outcome) => {
  if (!o.ok) throw new Error(`refused: ${o.reason}`);
  return o.request.id;
};

/** Request, approvals (and a refusal), execution through the webhook, and a rejected request: 9 entries. */
async function walk(svc: RollbackService): Promise<string[]> {
  const credit = idOf(await svc.request(alice, 'credit', 'v41', 'AUC dropped with v42'));
  await svc.decide(credit, alice, 'approve', 'AUC down 0.08');
  expect((await svc.decide(credit, alice, 'approve')).ok).toBe(false);
  expect(await svc.decide(credit, pat, 'approve', 'ok for product')).toMatchObject({ ok: true });
  await waitFor(async () => (await svc.log.get(credit, svc.now()))?.state === 'executed', 10_000, 'executed');
  const fraud = idOf(await svc.request(erin, 'fraud', 'v7', 'drift'));
  await svc.decide(fraud, paul, 'reject', 'data bug, not the model');
  return [
    'requested',
    'approve',
    'refused',
    'approve',
    'approved',
    'executing',
    'executed',
    'requested',
    'reject',
  ];
}

/** The chain's format, written again here from its description, so a change to it cannot pass unnoticed. */
function expectedHash(r: Record<string, unknown>, prev: string): string {
  const at = String(BigInt((r.at as Date).getTime()) * 1000n);
  const fields = [String(r.id), String(r.request_id), at, r.actor, r.action, r.details, prev] as string[];
  const text = `mlwatch.rollback_audit.v1${fields.map((f) => `;${Buffer.byteLength(f)}:${f}`).join('')}`;
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The audit gauges as /metrics serves them; throws while they are absent. */
function gauges(svc: RollbackService) {
  const registry = new Registry();
  svc.register(registry);
  return async () => {
    const p = parseExposition(await registry.metrics());
    return {
      intact: sampleValue(p, 'mlwatch_rollback_audit_intact'),
      entries: sampleValue(p, 'mlwatch_rollback_audit_entries'),
    };
  };
}

/** A config whose state store is this one, for the CLI. */
const cliConfig = (url: string, schema: string) =>
  loadConfigText(
    `warehouse: { url: 'postgresql://x/db' }\nstate: { url: '${url}', schema: ${schema} }\n`,
    'mlwatch.yaml',
    {},
    '/',
  );

describe('the audit hash chain', () => {
  it('chains every entry of a realistic sequence, in the documented format, and verifies', async () => {
    const s = await store();
    const svc = service(s.stateDb, s.schema);
    const actions = await walk(svc);
    const rows = await s.rows();
    expect(rows.map((r) => r.action)).toEqual(actions);
    let prev = AUDIT_GENESIS;
    for (const r of rows) {
      expect(r.prev_hash).toBe(prev);
      expect(r.hash).toBe(expectedHash(r, prev));
      prev = r.hash as string;
    }
    const last = rows.at(-1) as Record<string, unknown>;
    expect(await svc.log.verify()).toEqual({
      intact: true,
      entries: 9,
      head: { id: Number(last.id), hash: last.hash },
    });
    // The chain comes on top of the append-only triggers, which still refuse an UPDATE.
    await expect(s.sql(`UPDATE ${s.schema}.rollback_audit SET actor = 'mallory'`)).rejects.toThrow(
      /append-only/,
    );
  });

  it('names the edited entry and the one after a deleted entry; the intact gauge drops to 0', async () => {
    const s = await store();
    const svc = service(s.stateDb, s.schema);
    await walk(svc);
    const ids = (await s.rows()).map((r) => Number(r.id));
    const [, aliceApproves, refused, patApproves] = ids as [number, number, number, number];
    const read = gauges(svc);
    // Absent before the first verification, not 0: 0 entries would read as a log that lost its entries.
    await expect(read()).rejects.toThrow(/expected one mlwatch_rollback_audit_intact\{\}, found 0/);
    svc.start();
    expect(await waitFor(read, 5000, 'first verification')).toEqual({ intact: 1, entries: 9 });

    // (a) Pat's approval says more than Pat wrote.
    await s.tamper(
      `UPDATE ${s.schema}.rollback_audit SET details = details || '{"comment": "approved by the CFO"}' WHERE id = ${patApproves}`,
    );
    expect(await svc.log.verify()).toMatchObject({
      intact: false,
      entries: 9,
      firstBroken: { id: patApproves, reason: expect.stringMatching(/content does not match its hash/) },
    });
    await waitFor(async () => (await read()).intact === 0, 5000, 'intact 0');
    expect(await read()).toEqual({ intact: 0, entries: 9 });

    // Put back as it was, it verifies again: the hash is of the content, nothing else.
    await s.tamper(
      `UPDATE ${s.schema}.rollback_audit SET details = details - 'comment' || '{"comment": "ok for product"}' WHERE id = ${patApproves}`,
    );
    expect((await svc.log.verify()).intact).toBe(true);

    // (b) The refusal is gone: the entry after it no longer links to the one before it.
    await s.tamper(`DELETE FROM ${s.schema}.rollback_audit WHERE id = ${refused}`);
    expect(await svc.log.verify()).toEqual({
      intact: false,
      entries: 8,
      firstBroken: {
        id: patApproves,
        reason: `its prev_hash is not the hash of entry ${aliceApproves}, the entry before it: an entry between them was deleted, or this one was inserted or moved`,
      },
    });
  });

  it('sees entries swapped or the oldest removed', async () => {
    const s = await store();
    const svc = service(s.stateDb, s.schema);
    await walk(svc);
    const [first, second, third] = (await s.rows()).map((r) => Number(r.id)) as [number, number, number];
    const t = `${s.schema}.rollback_audit`;
    await s.tamper(
      `UPDATE ${t} SET id = -1 WHERE id = ${second}; UPDATE ${t} SET id = ${second} WHERE id = ${third}; UPDATE ${t} SET id = ${third} WHERE id = -1`,
    );
    expect((await svc.log.verify()).firstBroken).toEqual({
      id: second,
      reason: expect.stringMatching(new RegExp(`not the hash of entry ${first}, .* inserted or moved`)),
    });
    await s.tamper(`DELETE FROM ${t} WHERE id <= ${third}`);
    expect((await svc.log.verify()).firstBroken?.reason).toMatch(/not the genesis value/);
  });

  it('keeps an intact chain when the newest entry is deleted; the entries gauge shows it', async () => {
    const s = await store();
    const svc = service(s.stateDb, s.schema);
    await walk(svc);
    const rows = await s.rows();
    const read = gauges(svc);
    svc.start();
    expect(await waitFor(read, 5000, 'first verification')).toEqual({ intact: 1, entries: 9 });
    await s.tamper(`DELETE FROM ${s.schema}.rollback_audit WHERE id = ${rows.at(-1)?.id}`);
    const before = rows.at(-2) as Record<string, unknown>;
    expect(await svc.log.verify()).toEqual({
      intact: true,
      entries: 8,
      head: { id: Number(before.id), hash: before.hash },
    });
    // What prometheus/tests/model.test.yml feeds MlwatchRollbackAuditTampered: entries go down, intact stays 1.
    await waitFor(async () => (await read()).entries === 8, 5000, 'entries 8');
    expect(await read()).toEqual({ intact: 1, entries: 8 });
  });

  it('cannot see a rewrite that recomputes every later hash; only a head kept elsewhere can', async () => {
    const s = await store();
    const svc = service(s.stateDb, s.schema);
    await walk(svc);
    const recorded = (await svc.log.verify()).head;
    const t = `${s.schema}.rollback_audit`;
    // The forger knows the format (it is in the source) and re-chains from the edited entry on.
    await s.tamper(
      `UPDATE ${t} SET details = '{"role": "engineering", "comment": "routine"}' WHERE action = 'approve' AND actor = 'alice';
       DO $$ DECLARE r record; prev text := '${AUDIT_GENESIS}'; h text; BEGIN
         FOR r IN SELECT * FROM ${t} ORDER BY id LOOP
           h := ${auditHashSql('r', 'prev')};
           UPDATE ${t} SET prev_hash = prev, hash = h WHERE id = r.id; prev := h;
         END LOOP; END $$`,
    );
    const after = await svc.log.verify();
    expect(after).toMatchObject({ intact: true, entries: 9, head: { id: recorded?.id } });
    expect(after.head?.hash).not.toBe(recorded?.hash);
  });
});

describe('migration 6', () => {
  it('chains the entries written before it, keeps the triggers on, and appends after them', async () => {
    const s = await store({ migrated: false });
    const q = quoteIdent(s.schema);
    // The store as an exporter before migration 6 left it, with three entries.
    await s.stateDb.transaction(async (tx) => {
      await tx.query(`CREATE SCHEMA ${q}`);
      await tx.query(
        `CREATE TABLE ${q}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (const m of MIGRATIONS.filter((x) => x.version < 6)) {
        for (const sql of m.statements(q)) await tx.query(sql);
        await tx.query(`INSERT INTO ${q}.schema_migrations (version, name) VALUES ($1, $2)`, [
          m.version,
          m.name,
        ]);
      }
      await tx.query(
        `INSERT INTO ${q}.rollback_requests (model, to_version, reason, requested_by, created_at, expires_at)
         VALUES ('credit', 'v41', 'r', 'alice', now(), now() + interval '1 day')`,
      );
      for (const [actor, action, details] of [
        ['alice', 'requested', '{"model": "credit", "reason": "émigré; 1:2"}'],
        ['alice', 'approve', '{}'],
        ['pat', 'reject', '{"comment": "no"}'],
      ])
        await tx.query(
          `INSERT INTO ${q}.rollback_audit (request_id, at, actor, action, details)
           VALUES (1, '2026-11-29T01:05:00.123Z', $1, $2, $3::jsonb)`,
          [actor, action, details],
        );
    });
    const later = MIGRATIONS.filter((m) => m.version >= 6).map((m) => m.version);
    expect(await migrate(s.stateDb, q)).toEqual(later);
    const rows = await s.rows();
    let prev = AUDIT_GENESIS;
    for (const r of rows) {
      expect(r.hash).toBe(expectedHash(r, prev));
      prev = r.hash as string;
    }
    await expect(s.sql(`DELETE FROM ${s.schema}.rollback_audit`)).rejects.toThrow(/append-only/);
    const svc = service(s.stateDb, s.schema);
    await svc.decide(1, erin, 'approve');
    expect(await svc.log.verify()).toMatchObject({ intact: true, entries: 4 });
    // Refused without a hash: an older exporter still running cannot write an unchained entry.
    await expect(
      s.sql(
        `INSERT INTO ${s.schema}.rollback_audit (request_id, at, actor, action) VALUES (1, now(), 'x', 'y')`,
      ),
    ).rejects.toThrow(/null value/);
  });
});

describe('concurrent writers', () => {
  it('20 parallel requests for one model: one opens it, 19 get 409, in each of 5 rounds', async () => {
    const s = await store();
    // Ten services with a pool of two each stand for replicas: on PostgreSQL up to 20 transactions at once
    // (PGlite has one connection: they queue).
    const services = Array.from({ length: 10 }, () => service(connect(), s.schema));
    for (let round = 0; round < 5; round++) {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (services[i % 10] as RollbackService).request(alice, 'credit', `v${round}`, `round ${round}`),
        ),
      );
      const opened = outcomes.filter((o) => o.ok);
      expect(opened, `round ${round}`).toHaveLength(1);
      const id = idOf(opened[0] as Outcome);
      const refused = outcomes.filter((o) => !o.ok);
      expect(refused.map((o) => (o.ok ? 0 : o.status))).toEqual(Array(19).fill(409));
      for (const o of refused)
        expect(o.ok ? '' : o.reason).toBe(
          `model credit already has an open rollback request ${id} (pending); approve, reject or let it expire first`,
        );
      await services[0]?.decide(id, pat, 'reject', 'next round');
    }
    expect(await services[0]?.log.verify()).toMatchObject({ intact: true, entries: 10 });
  });

  it.skipIf(!onRealPostgres)(
    'a request committed while one is being created: the unique index answers 409, not 500',
    async () => {
      const appName = `audit-${process.pid}-${Date.now()}`;
      const s = await store({ appName });
      const svc = service(s.stateDb, s.schema);
      // Another writer's request, open and not yet committed when ours looks.
      const other = new pg.Client({ connectionString: db.url });
      await other.connect();
      try {
        await other.query('BEGIN');
        const [row] = (
          await other.query(
            `INSERT INTO ${s.schema}.rollback_requests (model, to_version, reason, requested_by, created_at, expires_at)
             VALUES ('credit', 'v9', 'other', 'erin', now(), now() + interval '1 day') RETURNING id`,
          )
        ).rows;
        const ours = svc.request(alice, 'credit', 'v41', 'mine');
        await waitFor(
          async () =>
            (
              await other.query(
                `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
                [appName],
              )
            ).rowCount === 1,
          5000,
          'our INSERT waiting on the other request',
        );
        await other.query('COMMIT');
        expect(await ours).toEqual({
          ok: false,
          status: 409,
          reason: `model credit already has an open rollback request ${row.id} (pending); approve, reject or let it expire first`,
        });
      } finally {
        await other.end();
      }
    },
  );

  it('two services appending at once keep one linear chain', async () => {
    const s = await store();
    const [a, b] = [service(s.stateDb, s.schema), service(connect(), s.schema)];
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, async (_, i) => {
        const [x, y] = i % 2 ? [a, b] : [b, a];
        const id = idOf(await x.request(alice, `m${i}`, 'v1', 'parallel'));
        // Four decisions at once on two replicas: two approvals make it approved, the rest are refused or late.
        return [
          1,
          ...(await Promise.all([
            y.decide(id, pat, 'approve'),
            x.decide(id, erin, 'approve'),
            y.decide(id, paul, 'approve'),
            x.decide(id, erin, 'approve'),
          ])),
        ];
      }),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    // One entry per request and per decision (approve, refused or late), plus `approved` once per request.
    const approved = (await a.log.list({ state: 'approved', now: a.now() })).length;
    expect(approved).toBe(8);
    expect(await a.log.verify()).toMatchObject({ intact: true, entries: 8 * (1 + 4) + approved });
  });
});

describe('mlwatch rollback verify', () => {
  it('exits 0 intact, 1 naming the broken entry, 2 when the log cannot be read', async () => {
    // The CLI opens the store from its config. On PGlite that is a directory, which one instance at a time
    // may open: each step closes its own before the CLI runs.
    const dir = db.pglite ? mkdtempSync(join(tmpdir(), 'mlwatch-audit-')) : undefined;
    const url = dir ? `pglite:${dir}` : (db.url as string);
    const schema = `${db.schema}_cli`;
    cleanups.push(async () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      else await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    });
    const withStore = async <T>(fn: (stateDb: StateDb) => Promise<T>): Promise<T> => {
      const stateDb = dir
        ? pgliteStateDb(openPglite(url), true)
        : openStateDb({ url, applicationName: 't', connectTimeoutMs: 5000 });
      try {
        return await fn(stateDb);
      } finally {
        await stateDb.close();
      }
    };
    // Three entries, nothing executed: a PGlite directory writes slowly.
    const head = await withStore(async (stateDb) => {
      await migrate(stateDb, quoteIdent(schema));
      const svc = service(stateDb, schema);
      const id = idOf(await svc.request(erin, 'fraud', 'v7', 'drift'));
      await svc.decide(id, alice, 'approve');
      await svc.decide(id, paul, 'reject', 'data bug, not the model');
      return (await svc.log.verify()).head as { id: number; hash: string };
    });
    const config = cliConfig(url, schema);
    expect(await verifyRollbackAudit(config, {})).toEqual({
      code: 0,
      out: `rollback audit log intact: 3 entries\nhead: entry ${head.id} sha256 ${head.hash}`,
    });

    const edited = head.id - 1;
    const t = `${schema}.rollback_audit`;
    await withStore((stateDb) =>
      stateDb.transaction(async (tx) => {
        await tx.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
        await tx.query(`UPDATE ${t} SET actor = 'mallory' WHERE id = ${edited}`);
        await tx.query(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
      }),
    );
    const broken = await verifyRollbackAudit(config, {});
    expect(broken.code).toBe(1);
    expect(broken.out.split('\n')[0]).toBe(
      `rollback audit log BROKEN at entry ${edited}: its content does not match its hash: it was changed after it was written`,
    );
    const json = await verifyRollbackAudit(config, { json: true });
    expect([json.code, JSON.parse(json.out)]).toEqual([
      1,
      { intact: false, entries: 3, firstBroken: { id: edited, reason: expect.any(String) } },
    ]);

    const unmigrated = await verifyRollbackAudit(cliConfig(url, `${db.schema}_none`), {});
    expect(unmigrated.code).toBe(2);
    expect(unmigrated.out).toMatch(
      /^no chained rollback audit log in schema \S+_none .* start `mlwatch serve/,
    );
    const down = await verifyRollbackAudit(
      cliConfig('postgresql://postgres@127.0.0.1:1/test', 'mlwatch'),
      {},
    );
    expect(down).toEqual({ code: 2, out: expect.stringMatching(/^cannot read the rollback audit log: /) });
  }, 120_000); // on PGlite: its directory opened six times, a few seconds each
});
