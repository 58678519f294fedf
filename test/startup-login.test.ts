import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginHint, missingOf } from '../src/commands/login-hint.js';
import { ROOT, runCli, startCli } from './helpers/cli.js';
import { ACCESS_YAML, bearer, TOKENS } from './helpers/credentials.js';
import { onRealPostgres, TEST_DATABASE_URL } from './helpers/db.js';
import { waitFor } from './helpers/wait.js';

// A role or database that does not exist (issue 17: `once` on the example config failed with `role "mlwatch"
// does not exist` and nothing more). serve, once and the demo stop with exit 1, no stack trace, never the URL's
// password, and the commands that create what is missing; on the real PostgreSQL those printed commands are run
// as printed (ADMIN replaced by the test server's superuser) and the same command then works.

describe('which refusals get the hint', () => {
  it('a missing role or database; not a refused password, pg_hba.conf or a server that is down', () => {
    expect(missingOf({ code: '28000', message: 'role "mlwatch" does not exist' })).toEqual({
      kind: 'role',
      name: 'mlwatch',
    });
    expect(missingOf({ code: '3D000', message: 'database "dw" does not exist' })).toEqual({
      kind: 'database',
      name: 'dw',
    });
    const other = [
      { code: '28000', message: 'no pg_hba.conf entry for host "10.0.0.1", user "x", database "y"' },
      { code: '28P01', message: 'password authentication failed for user "mlwatch"' },
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
    ];
    for (const e of other) expect(missingOf(e), e.message).toBeUndefined();
  });

  it('quotes names for the shell and SQL, and shows the host and database but never the userinfo', () => {
    const hint = loginHint(
      { code: '28000', message: `role "Data Team's" does not exist` },
      {
        key: 'state.url',
        url: "postgresql://Data%20Team's:hunter22@db.example:5433/dw",
        purpose: 'state',
        stateSchema: 'mlwatch',
      },
    ) as string;
    expect(hint.split('\n')[0]).toBe(
      `state.url: PostgreSQL at db.example:5433 has no role "Data Team's" (SQLSTATE 28000).`,
    );
    expect(hint).toContain(
      `psql postgresql://ADMIN@db.example:5433/dw -v ON_ERROR_STOP=1 -c 'CREATE ROLE "Data Team'\\''s" LOGIN'`,
    );
    expect(hint).not.toContain('hunter22');
  });
});

const hex = randomBytes(4).toString('hex');
const scratch = `mlwatch_login_${hex}`;
const stateDb = `mlwatch_login_state_${hex}`;
const missingDb = `mlwatch_login_missing_${hex}`;
const reader = `mlwatch_reader_${hex}`;
const stateRole = `mlwatch_state_${hex}`;
const demoRole = `mlwatch_demo_${hex}`;
const schema = `w_${hex}`;
const password = `pw-${randomBytes(6).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'mlwatch-login-'));

/** The test server's URL with another user (with the password, which trust auth ignores) and database. */
function urlFor(user: string, db: string, withPassword = true): string {
  const u = new URL(TEST_DATABASE_URL as string);
  u.username = user;
  u.password = withPassword ? password : '';
  u.pathname = `/${db}`;
  return u.toString();
}

async function asSuperuser(db: string, sql: string): Promise<void> {
  const c = new pg.Client({
    connectionString: urlFor(new URL(TEST_DATABASE_URL as string).username, db, false),
  });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A printed command line as words (the names here need no quoting; SQL and \\password come in '...'). */
function words(line: string): string[] {
  return [...line.trim().matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? (m[2] as string));
}

/** Runs the hint's line that starts with `  psql` and contains `marker`, as the test server's superuser. */
function runPrinted(stderr: string, marker: string): void {
  const line = stderr.split('\n').find((l) => l.startsWith('  psql ') && l.includes(marker));
  expect(line, `no psql line with ${marker} in:\n${stderr}`).toBeDefined();
  const admin = new URL(TEST_DATABASE_URL as string).username;
  const [cmd, ...args] = words((line as string).replace('ADMIN@', `${admin}@`));
  execFileSync(cmd as string, ['-X', '-q', ...args], { cwd: ROOT, encoding: 'utf8' });
}

function expectClean(r: { code: number | null; stdout: string; stderr: string }) {
  expect(r.code, r.stderr).toBe(1);
  expect(`${r.stdout}${r.stderr}`).not.toContain(password);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain('mlwatch listening');
}

describe.skipIf(!onRealPostgres)('a missing role or database on a real PostgreSQL', () => {
  beforeAll(async () => {
    for (const db of [scratch, stateDb]) await asSuperuser('postgres', `CREATE DATABASE ${db}`);
    await asSuperuser(
      scratch,
      `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.events (at timestamptz NOT NULL);
       INSERT INTO ${schema}.events VALUES (now() - interval '1 minute')`,
    );
  });
  afterAll(async () => {
    for (const db of [scratch, stateDb, missingDb])
      await asSuperuser('postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    for (const role of [reader, stateRole, demoRole])
      await asSuperuser('postgres', `DROP ROLE IF EXISTS ${role}`);
  });

  const watching = (url: string, extra = '') => `warehouse: { url: '${url}' }
datasets:
  - name: events
    table: ${schema}.events
    timestamp: at
    checks: { freshness: {} }
${extra}${ACCESS_YAML}`;

  it('once and serve name the role and the role script; the printed script creates it, and once then passes', () => {
    const file = configFile('role.yaml', watching(urlFor(reader, scratch)));
    const once = runCli(['once', '--config', file]);
    expectClean(once);
    expect(once.stdout).toBe('');
    const lines = once.stderr.trim().split('\n');
    expect(lines[0]).toBe(
      `warehouse.url: PostgreSQL at ${new URL(TEST_DATABASE_URL as string).host} has no role "${reader}" (SQLSTATE 28000).`,
    );
    expect(once.stderr).toContain(`-v role=${reader} -v schemas=${schema} -f docs/warehouse-role.sql`);
    expect(once.stderr).toContain(`mlwatch doctor --config ${file}`);
    expect(once.stderr).toContain('without state.url the state store');

    const serve = runCli(['serve', '--config', file, '--port', '0', '--host', '127.0.0.1']);
    expectClean(serve);
    expect(serve.stderr).toContain(`has no role "${reader}" (SQLSTATE 28000)`);

    runPrinted(once.stderr, 'warehouse-role.sql');
    const again = runCli(['once', '--config', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('mlwatch_check_success{check="dataset:events:scan"} 1');
  });

  it('a missing database: the printed CREATE DATABASE makes it, and once then passes', () => {
    const file = configFile(
      'db.yaml',
      `warehouse: { url: '${urlFor(new URL(TEST_DATABASE_URL as string).username, missingDb)}' }
queries:
  - { name: q, sql: SELECT 1 AS n, metrics: [{ name: t_n, help: h., value: n }] }
`,
    );
    const once = runCli(['once', '--config', file]);
    expectClean(once);
    expect(once.stderr).toContain(`has no database "${missingDb}" (SQLSTATE 3D000)`);
    runPrinted(once.stderr, 'CREATE DATABASE');
    const again = runCli(['once', '--config', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('t_n 1');
  });

  it("serve stops on the state store's missing role; the printed commands create it and serve starts", async () => {
    const text = watching(TEST_DATABASE_URL as string).replace(
      `warehouse: { url: '${TEST_DATABASE_URL}' }`,
      `warehouse: { url: '${TEST_DATABASE_URL}' }\nstate: { url: '${urlFor(stateRole, stateDb)}', schema: tickets_${hex} }`,
    );
    const file = configFile('state.yaml', text);
    const serve = runCli(['serve', '--config', file, '--port', '0', '--host', '127.0.0.1']);
    expectClean(serve);
    expect(serve.stderr).toContain(`state.url: PostgreSQL at`);
    expect(serve.stderr).toContain(`has no role "${stateRole}"`);
    // `once` never opens the state store, so it does not stop for it.
    expect(runCli(['once', '--config', file]).stderr).not.toContain(stateRole);

    runPrinted(serve.stderr, 'CREATE ROLE');
    const served = await startCli(['serve', '--config', file, '--port', '0', '--host', '127.0.0.1']);
    try {
      // The store's migrations ran as the new role, in the schema it owns: the ticket log answers.
      await waitFor(
        async () =>
          (await fetch(`${served.url}/api/v1/tickets`, { headers: bearer(TOKENS.viewer) })).status === 200,
        20_000,
        'the ticket log answers',
      );
    } finally {
      await served.stop('SIGKILL');
    }
  });

  it('the demo with --warehouse-url says how to make a role that may create its schema', () => {
    const r = runCli(['demo', '--port', '0', '--warehouse-url', urlFor(demoRole, scratch)]);
    expectClean(r);
    expect(r.stderr).toContain(`--warehouse-url: PostgreSQL at`);
    expect(r.stderr).toContain(`-c 'GRANT CREATE ON DATABASE "${scratch}" TO "${demoRole}"'`);
  });
});
