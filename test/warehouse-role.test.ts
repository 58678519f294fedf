import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctor } from '../src/commands/doctor.js';
import { type LoadedConfig, loadConfigText } from '../src/config/load.js';
import { Exporter } from '../src/runtime/exporter.js';
import type { Finding } from '../src/warehouse/privileges.js';
import { onRealPostgres, TEST_DATABASE_URL } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { type Parsed, parseExposition, sampleValue } from './helpers/exposition.js';
import { waitFor } from './helpers/wait.js';

// docs/warehouse-role.sql, run for real with psql against a database of this test's own: its REVOKEs from
// PUBLIC are database-wide, and roles are cluster-global, so every name is random and dropped afterwards.
// Then the reader runs checks through the exporter, doctor inspects it, and it tries what issue 11 found.

const hex = randomBytes(4).toString('hex');
const database = `mlwatch_role_${hex}`;
const reader = `mlwatch_reader_${hex}`;
const stateRole = `mlwatch_state_${hex}`;
const schema = `w_${hex}`;
const unwatched = `u_${hex}`;

/** The test server's URL with another user and database. */
function urlFor(user: string, db: string): string {
  const u = new URL(TEST_DATABASE_URL as string);
  u.username = user;
  u.password = '';
  u.pathname = `/${db}`;
  return u.toString();
}

// Rows relative to now: 30 in the last hour, 12 in the hour before; amounts known here.
const recent = Array.from({ length: 30 }, (_, i) => ({ minutesAgo: 1 + i, amount: (i * 7) % 50 }));
const earlier = Array.from({ length: 12 }, (_, i) => ({ minutesAgo: 65 + i * 4, amount: 100 + i }));

let admin: pg.Client;
let adminUrl: string;

async function asAdmin(sql: string, params: unknown[] = []) {
  return (await admin.query(sql, params)).rows;
}

function config(warehouseUrl: string, extra = '', stateUrl = adminUrl): LoadedConfig {
  const text = `warehouse:
  url: ${warehouseUrl}
  statement_timeout: 10s
  pool: 1
state:
  url: ${stateUrl}
datasets:
  - name: events
    table: ${schema}.events
    timestamp: at
    interval: 1h
    checks: { freshness: {}, volume: { window: 1h } }
queries:
  - name: amounts
    interval: 1h
    sql: SELECT sum(amount) AS total FROM ${schema}.events
    metrics: [{ name: t_amount_sum, help: h, value: total }]
${extra}`;
  return loadConfigText(text, 'test.yaml', {}, '/');
}

/** Runs every check of the config once through the exporter, and hands the scrape over before it stops. */
async function withExporter(
  c: LoadedConfig,
  inspect: (m: Parsed, logs: () => Record<string, unknown>[]) => Promise<void>,
) {
  const logger = memoryLogger();
  const exporter = Exporter.start(c, { log: logger.log, withProcessMetrics: false });
  try {
    await exporter.firstRound();
    await inspect(parseExposition(await exporter.metricsText()), logger.lines);
  } finally {
    await exporter.stop(1000);
  }
}

const reasonOf = (logs: () => Record<string, unknown>[], check: string) =>
  logs().find((l) => l.msg === 'check failing' && l.check === check)?.reason;

describe.skipIf(!onRealPostgres)('docs/warehouse-role.sql on a real PostgreSQL', () => {
  beforeAll(async () => {
    const server = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await server.connect();
    try {
      await server.query(`CREATE DATABASE ${database}`);
    } finally {
      await server.end();
    }
    adminUrl = urlFor(new URL(TEST_DATABASE_URL as string).username, database);
    admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await asAdmin(`CREATE ROLE ${stateRole} NOLOGIN`);
    await asAdmin(`CREATE SCHEMA ${schema}; CREATE SCHEMA ${unwatched}`);
    await asAdmin(
      `CREATE TABLE ${schema}.events (id int PRIMARY KEY, at timestamptz NOT NULL, amount numeric)`,
    );
    await asAdmin(`CREATE TABLE ${unwatched}.secrets AS SELECT 42 AS n`);
    for (const [i, r] of [...recent, ...earlier].entries()) {
      await asAdmin(`INSERT INTO ${schema}.events VALUES ($1, now() - $2::int * interval '1 minute', $3)`, [
        i + 1,
        r.minutesAgo,
        r.amount,
      ]);
    }
    const run = await promisify(execFile)(
      'psql',
      [
        adminUrl,
        '-X',
        '-v',
        'ON_ERROR_STOP=1',
        '-v',
        `role=${reader}`,
        '-v',
        `schemas=${schema}`,
        '-v',
        `state_role=${stateRole}`,
        '-f',
        'docs/warehouse-role.sql',
      ],
      { cwd: `${import.meta.dirname}/..` },
    );
    expect(run.stdout).toContain('done');
  });

  afterAll(async () => {
    await admin?.end();
    const server = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await server.connect();
    try {
      await server.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await server.query(`DROP ROLE IF EXISTS ${reader}`);
      await server.query(`DROP ROLE IF EXISTS ${stateRole}`);
    } finally {
      await server.end();
    }
  });

  it('the reader runs a dataset check and a custom query with the right values, and reads nothing else', async () => {
    const extra = `  - name: secrets
    interval: 1h
    sql: SELECT n FROM ${unwatched}.secrets
    metrics: [{ name: t_secret, help: h, value: n }]
`;
    await withExporter(config(urlFor(reader, database), extra), async (m, logs) => {
      expect(sampleValue(m, 'mlwatch_check_success', { check: 'dataset:events:scan' })).toBe(1);
      expect(sampleValue(m, 'mlwatch_dataset_rows', { dataset: 'events', window: '1h' })).toBe(recent.length);
      expect(sampleValue(m, 'mlwatch_dataset_rows_baseline', { dataset: 'events', window: '1h' })).toBe(
        earlier.length,
      );
      const newest = sampleValue(m, 'mlwatch_dataset_last_update_timestamp_seconds', { dataset: 'events' });
      expect(Math.abs(newest - (Date.now() / 1000 - 60))).toBeLessThan(30);
      const total = [...recent, ...earlier].reduce((s, r) => s + r.amount, 0);
      expect(sampleValue(m, 't_amount_sum')).toBe(total);
      // A schema the role was not given stays out of reach.
      expect(sampleValue(m, 'mlwatch_check_success', { check: 'query:secrets' })).toBe(0);
      expect(reasonOf(logs, 'query:secrets')).toMatch(/permission denied for schema/);
    });
  });

  it('a table the owner creates later is readable without a new grant (default privileges)', async () => {
    await asAdmin(`CREATE TABLE ${schema}.later AS SELECT 7 AS n`);
    const c = new pg.Client({ connectionString: urlFor(reader, database) });
    await c.connect();
    try {
      expect((await c.query(`SELECT n FROM ${schema}.later`)).rows).toEqual([{ n: 7 }]);
    } finally {
      await c.end();
    }
  });

  it('every session of the reader is read-only and time-limited, whatever the client', async () => {
    const c = new pg.Client({ connectionString: urlFor(reader, database) });
    await c.connect();
    try {
      expect((await c.query('SHOW default_transaction_read_only')).rows[0]).toEqual({
        default_transaction_read_only: 'on',
      });
      expect((await c.query('SHOW statement_timeout')).rows[0]).toEqual({ statement_timeout: '1min' });
      // Read-only says no first; without it, the missing privilege would.
      await expect(c.query(`INSERT INTO ${schema}.events VALUES (0, now(), 0)`)).rejects.toThrow(/read-only/);
      await c.query('SET default_transaction_read_only = off');
      await expect(c.query(`INSERT INTO ${schema}.events VALUES (0, now(), 0)`)).rejects.toThrow(
        /permission denied for table events/,
      );
      await expect(c.query(`CREATE TABLE ${schema}.mine (n int)`)).rejects.toThrow(
        /permission denied for schema/,
      );
    } finally {
      await c.end();
    }
  });

  it('the state role keeps the locks the state store takes; the reader has none of them', async () => {
    // As each role, in this database, where step 5 took every advisory lock from PUBLIC.
    const as = async (role: string, sql: string) => {
      await asAdmin(`SET ROLE ${role}`);
      try {
        return (await asAdmin(sql))[0];
      } finally {
        await asAdmin('RESET ROLE');
      }
    };
    // The migrations' and retraining's transaction locks, and the session lock per check of replicas sharing them.
    const locks =
      'SELECT pg_try_advisory_lock(4242) AS session, pg_advisory_unlock(4242) AS unlocked, (SELECT true FROM (SELECT pg_advisory_xact_lock(4243)) AS l) AS xact';
    expect(await as(stateRole, locks)).toEqual({ session: true, unlocked: true, xact: true });
    await expect(as(reader, 'SELECT pg_try_advisory_lock(4242)')).rejects.toThrow(
      /permission denied for function pg_try_advisory_lock/,
    );
  });

  it('doctor finds nothing for the reader (strict exit 0) and the write privilege of the superuser (exit 1)', async () => {
    const clean = await doctor(config(urlFor(reader, database)), { strict: true });
    expect(clean.out).toContain('no findings');
    expect(clean.code).toBe(0);

    const superuser = adminUrl;
    const strict = await doctor(config(superuser), { strict: true, json: true });
    expect(strict.code).toBe(1);
    const found = JSON.parse(strict.out) as { superuser: boolean; findings: Finding[] };
    expect(found.superuser).toBe(true);
    const kinds = found.findings.map((f) => f.kind);
    expect(kinds).toEqual(expect.arrayContaining(['superuser', 'table-write', 'state-store']));
    const write = found.findings.find((f) => f.kind === 'table-write');
    expect(write?.what).toContain(`schema "${schema}"`);
    expect(write?.what).toMatch(/INSERT, UPDATE, DELETE, TRUNCATE/);
    // Without --strict the same findings are warnings: exit 0.
    expect((await doctor(config(superuser), { strict: false })).code).toBe(0);
  });

  it('doctor reports grants planted on the reader, and its fixes remove them', async () => {
    await asAdmin(`GRANT INSERT, UPDATE ON ${schema}.events TO ${reader}`);
    await asAdmin(`GRANT CREATE ON SCHEMA ${schema} TO ${reader}`);
    await asAdmin(`GRANT pg_signal_backend TO ${reader}`);
    await asAdmin(`GRANT EXECUTE ON FUNCTION lo_create(oid), pg_notify(text, text) TO ${reader}`);
    await asAdmin(`ALTER ROLE ${reader} CREATEDB`);
    const c = config(urlFor(reader, database));
    const dirty = await doctor(c, { strict: true, json: true });
    expect(dirty.code).toBe(1);
    const findings = (JSON.parse(dirty.out) as { findings: Finding[] }).findings;
    expect(findings.map((f) => f.kind).sort()).toEqual(
      ['createdb', 'large-objects', 'member', 'notify', 'schema-create', 'table-write'].sort(),
    );
    expect(findings.find((f) => f.kind === 'table-write')?.what).toMatch(/INSERT, UPDATE on 1 table/);
    for (const f of findings) await asAdmin(f.fix);
    const fixed = await doctor(c, { strict: true });
    expect(fixed.out).toContain('no findings');
    expect(fixed.code).toBe(0);
  });

  it('as the reader, large objects, NOTIFY and advisory locks fail or leave nothing, and set_config is reset', async () => {
    const key = randomInt(1, 2 ** 31);
    const channel = `mlwatch_leak_${hex}`;
    const before = Number((await asAdmin('SELECT count(*) AS n FROM pg_largeobject_metadata'))[0]?.n);
    const heard: string[] = [];
    const listener = new pg.Client({ connectionString: adminUrl });
    await listener.connect();
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`LISTEN ${channel}`);
    const attacks = `  - name: lo
    sql: SELECT lo_create(0)::int8 AS n
    metrics: [{ name: t_lo, help: h, value: n }]
  - name: notify
    sql: SELECT count(*) AS n FROM (SELECT pg_notify('${channel}', 'leak')) s
    metrics: [{ name: t_notify, help: h, value: n }]
  - name: lock
    sql: SELECT count(*) AS n FROM (SELECT pg_advisory_lock(${key})) s
    metrics: [{ name: t_lock, help: h, value: n }]
  - name: hijack
    sql: SELECT count(*) AS n FROM (SELECT set_config('search_path', 'pg_catalog', false)) s
    metrics: [{ name: t_hijack, help: h, value: n }]
`;
    try {
      await withExporter(config(urlFor(reader, database), attacks), async (m, logs) => {
        for (const check of ['query:lo', 'query:notify', 'query:lock']) {
          expect(sampleValue(m, 'mlwatch_check_success', { check })).toBe(0);
          expect(reasonOf(logs, check)).toMatch(/permission denied for function/);
        }
        // set_config is no privilege to revoke: it runs, and the session is reset behind it.
        expect(sampleValue(m, 'mlwatch_check_success', { check: 'query:hijack' })).toBe(1);
        const held = await asAdmin(
          "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid::int8 = $1",
          [key],
        );
        expect(Number(held[0]?.n)).toBe(0);
      });
      // The pool of one, reused: the next check's session has the default search_path.
      const victim = `  - name: victim
    sql: SELECT 1 AS n, current_setting('search_path') AS search_path
    metrics: [{ name: t_victim, help: h, value: n, labels: [search_path] }]
  - name: hijack
    sql: SELECT count(*) AS n FROM (SELECT set_config('search_path', 'pg_catalog', false)) s
    metrics: [{ name: t_hijack, help: h, value: n }]
`;
      const logger = memoryLogger();
      const exporter = Exporter.start(config(urlFor(reader, database), victim), {
        log: logger.log,
        withProcessMetrics: false,
      });
      try {
        await exporter.firstRound();
        await exporter.runNow(['query:hijack']);
        await exporter.runNow(['query:victim']);
        const m = parseExposition(await exporter.metricsText());
        const fresh = await asAdmin("SELECT reset_val FROM pg_settings WHERE name = 'search_path'");
        expect(sampleValue(m, 't_victim', { search_path: String(fresh[0]?.reset_val) })).toBe(1);
      } finally {
        await exporter.stop(1000);
      }
      await asAdmin('SELECT pg_notify($1, $2)', [channel, 'control']);
      await waitFor(() => heard.includes('control'), 5000, 'the control notification');
      expect(heard).toEqual(['control']);
      expect(Number((await asAdmin('SELECT count(*) AS n FROM pg_largeobject_metadata'))[0]?.n)).toBe(before);
    } finally {
      await listener.end();
    }
  });
});

describe('doctor without a reader role', () => {
  // One doctor run: each opens an in-memory PGlite of its own, seconds of WASM start-up.
  it('on PGlite, reports the one role as a superuser and the state store sharing it', async () => {
    const c = loadConfigText(
      `warehouse:\n  url: pglite:memory\nqueries:\n  - name: one\n    sql: SELECT 1 AS n\n    metrics: [{ name: t_one, help: h, value: n }]\n`,
      'test.yaml',
      {},
      '/',
    );
    const r = await doctor(c, { strict: true });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/superuser\s+role "postgres" is a superuser/);
    expect(r.out).toMatch(/state-store\s+the state store .* writes with the warehouse role "postgres"/);
    expect(r.out).toContain('PGlite has one role');
    expect(r.out).toContain('1 custom query names its tables in SQL, not inspected here');
  });

  it('exits 2 with the reason when it cannot connect, and never shows the password', async () => {
    const c = loadConfigText(
      "warehouse:\n  url: 'postgresql://mlwatch:s3cret-pw@127.0.0.1:1/db?sslpassword=s3cret-too'\n  connect_timeout: 2s\n",
      'test.yaml',
      {},
      '/',
    );
    for (const json of [false, true]) {
      const r = await doctor(c, { strict: false, json });
      expect(r.code).toBe(2);
      expect(r.out).toContain('postgresql://mlwatch:<redacted>@127.0.0.1:1/db?sslpassword=<redacted>');
      expect(r.out).toMatch(/ECONNREFUSED/);
      expect(r.out).not.toMatch(/s3cret|\n\s+at /);
    }
  });
});
