import type { LoadedConfig } from '../config/load.js';
import { quoteIdent } from '../sql/identifiers.js';
import {
  DATABASE_SQL,
  FUNCTIONS_SQL,
  MEMBERSHIPS_SQL,
  RESOLVE_SQL,
  ROLE_SQL,
  SCHEMAS_SQL,
  STATE_TABLES_SQL,
  TABLES_SQL,
} from './privilege-sql.js';
import type { Queryable, Row, Warehouse } from './types.js';
import { opaqueStatements, type WatchedTable, watchedTables } from './watched-tables.js';

/**
 * What the warehouse role may do that a monitoring role should not (`mlwatch doctor`, and a warning at serve
 * start). Every check already runs READ ONLY and is rolled back; that is the second line. The first is a role
 * that can only read, and this is where mlwatch looks at it from the inside: connected as that role, in a
 * read-only transaction, through catalog queries any role may run.
 *
 * "May" includes what the role reaches through any role it is a member of, inherited or not: a NOINHERIT
 * member can still SET ROLE. A superuser is reported once as such, and its other findings say where they come
 * from.
 */

export interface Finding {
  /** A short kind: superuser, createrole, member, table-write, schema-create, large-objects, state-store ... */
  kind: string;
  /** What the role may do, naming the object. */
  what: string;
  /** Why a monitoring role should not. */
  why: string;
  /** The SQL that removes it (comments say where a choice is the operator's). */
  fix: string;
}

export interface RoleReport {
  role: string;
  database: string;
  superuser: boolean;
  /** The schemas of the config's tables, resolved as the role sees them. */
  schemas: string[];
  findings: Finding[];
  /** Not findings: things doctor could not look at, or tables the role cannot read (the checks would fail). */
  notes: string[];
}

// Predefined roles a reader has no use for, and what membership gives.
const RISKY_ROLES: Record<string, string> = {
  pg_write_all_data: 'INSERT, UPDATE and DELETE on every table of every schema, whatever the grants',
  pg_write_server_files: "writes any file the server's operating-system user can write (COPY ... TO 'file')",
  pg_read_server_files: "reads any file the server's operating-system user can read (COPY ... FROM 'file')",
  pg_execute_server_program:
    "runs programs on the database host as the server's user (COPY ... TO/FROM PROGRAM)",
  pg_signal_backend: 'cancels queries and terminates the sessions of other (non-superuser) roles',
  pg_checkpoint: 'forces checkpoints, an I/O storm on demand',
  pg_maintain: 'VACUUM, ANALYZE, REINDEX, CLUSTER, REFRESH MATERIALIZED VIEW and LOCK on every table',
  pg_create_subscription: 'creates subscriptions that write replicated rows into the database',
};

interface FunctionGroup {
  kind: string;
  label: string;
  why: string;
  signatures: string[];
}

// The SQL-callable large-object writers of PostgreSQL 15 (pg_proc), pg_notify, and every advisory-lock taker.
const FUNCTION_GROUPS: FunctionGroup[] = [
  {
    kind: 'large-objects',
    label: 'the large-object writers',
    why: 'large objects live outside every table and its grants; PostgreSQL before 18 runs these even in a READ ONLY transaction (mlwatch rolls every check back, so a check keeps nothing, but anyone holding the password can write)',
    signatures: [
      'lo_create(oid)',
      'lo_creat(integer)',
      'lo_from_bytea(oid,bytea)',
      'lo_put(oid,bigint,bytea)',
      'lowrite(integer,bytea)',
      'lo_truncate(integer,integer)',
      'lo_truncate64(integer,bigint)',
      'lo_unlink(oid)',
      'lo_import(text)',
      'lo_import(text,oid)',
      'lo_export(oid,text)',
    ],
  },
  {
    kind: 'notify',
    label: 'pg_notify',
    why: 'sends a notification to every session LISTENing on the channel in this database, read-only transaction or not; other applications act on them (mlwatch rolls every check back, which drops the notification)',
    signatures: ['pg_notify(text,text)'],
  },
  {
    kind: 'advisory-locks',
    label: 'the advisory-lock functions',
    why: "takes locks other applications (and mlwatch's own state store) use to serialize work, stalling them while held; session-level locks outlive the transaction (mlwatch ends every check with DISCARD ALL, which releases them)",
    signatures: ['', '_shared']
      .flatMap((shared) => [
        `pg_advisory_lock${shared}`,
        `pg_try_advisory_lock${shared}`,
        `pg_advisory_xact_lock${shared}`,
        `pg_try_advisory_xact_lock${shared}`,
      ])
      .flatMap((name) => [`${name}(bigint)`, `${name}(integer,integer)`]),
  },
];

// What the state store calls (src/actions/store/migrations.ts, src/actions/retrain/retrain.ts, and the session
// locks of replicas sharing checks, src/runtime/sharing/pg-sharing.ts); also in docs/warehouse-role.sql.
const STATE_STORE_LOCKS = [
  'pg_advisory_xact_lock(bigint)',
  'pg_advisory_xact_lock(integer,integer)',
  'pg_try_advisory_lock(bigint)',
];

/**
 * Connects as the configured warehouse role (through `warehouse`, so in a rolled-back read-only transaction)
 * and lists what it may do beyond reading. Throws what the warehouse throws when it cannot connect.
 */
export async function inspectWarehouseRole(warehouse: Warehouse, config: LoadedConfig): Promise<RoleReport> {
  const stateSchema = sharesWarehouseRole(config) ? config.state.schema : undefined;
  const report = await warehouse.readOnly({ timeoutMs: config.warehouse.statementTimeoutMs }, async (q) => {
    const r = await inspect(q, watchedTables(config.raw), warehouse.driver);
    if (stateSchema !== undefined) {
      const owned = (await q.query(STATE_TABLES_SQL, [stateSchema])).map((t) => String(t.name));
      r.findings.push(stateStoreFinding(r, stateSchema, owned));
    }
    return r;
  });
  const opaque = opaqueStatements(config.raw);
  if (opaque > 0)
    report.notes.push(
      `${opaque} custom quer${opaque === 1 ? 'y names its' : 'ies name their'} tables in SQL, not inspected here: grant SELECT on what they read, nothing more`,
    );
  return report;
}

async function inspect(
  q: Queryable,
  tables: WatchedTable[],
  driver: Warehouse['driver'],
): Promise<RoleReport> {
  const role = (await q.query(ROLE_SQL))[0] as Row;
  const name = String(role.role);
  const superuser = role.rolsuper === true;
  const notes: string[] = [];
  const findings: Finding[] = [...attributeFindings(role, driver)];
  for (const m of await q.query(MEMBERSHIPS_SQL)) findings.push(...membershipFindings(name, m));

  const schemas = new Set<string>();
  for (const t of tables) {
    const schema = t.schema ?? ((await q.query(RESOLVE_SQL, [t.table]))[0]?.nspname as string | undefined);
    if (schema === undefined) notes.push(`table ${t.written}: not found on the role's search_path`);
    else schemas.add(schema);
  }
  const list = [...schemas].sort();
  const schemaRows = await q.query(SCHEMAS_SQL, [list]);
  for (const s of list) {
    const row = schemaRows.find((r) => r.name === s);
    if (!row) notes.push(`schema ${quoteIdent(s)}: does not exist`);
    else if (row.usable !== true) notes.push(`schema ${quoteIdent(s)}: no USAGE, so no check can read it`);
  }
  const usable = schemaRows.filter((r) => r.usable === true).map((r) => String(r.name));
  const tableRows = await q.query(TABLES_SQL, [usable]);
  for (const t of tables) {
    const row = tableRows.find(
      (r) => r.name === t.table && (t.schema === undefined || r.schema === t.schema),
    );
    if (!row && t.schema !== undefined && usable.includes(t.schema))
      notes.push(`table ${t.written}: does not exist`);
    else if (row && row.readable !== true)
      notes.push(`table ${t.written}: no SELECT, so its checks will fail`);
  }
  for (const s of usable) findings.push(...tableWriteFindings(s, tableRows, superuser));
  for (const row of schemaRows) findings.push(...createFindings('schema', String(row.name), row, superuser));
  for (const row of await q.query(DATABASE_SQL)) {
    findings.push(...createFindings('database', String(row.name), row, superuser));
  }
  for (const g of FUNCTION_GROUPS) {
    const rows = await q.query(FUNCTIONS_SQL, [g.signatures]);
    if (rows.length > 0) findings.push(functionFinding(g, rows, superuser));
  }
  return { role: name, database: String(role.database), superuser, schemas: list, findings, notes };
}

function attributeFindings(role: Row, driver: Warehouse['driver']): Finding[] {
  const r = quoteIdent(String(role.role));
  const out: Finding[] = [];
  if (role.rolsuper === true) {
    out.push({
      kind: 'superuser',
      what: `role ${r} is a superuser`,
      why: 'a superuser bypasses every privilege check: it can write any table, read and write server files and run programs on the database host; a READ ONLY transaction is its only limit, and it can leave that',
      fix:
        driver === 'pglite'
          ? '-- PGlite has one role, the superuser postgres: fine for the demo and tests; in production use a\n-- PostgreSQL server and a reader role (docs/warehouse-role.sql)'
          : `ALTER ROLE ${r} NOSUPERUSER;  -- or connect as a reader role made with docs/warehouse-role.sql`,
    });
  }
  const attributes: [string, string, string][] = [
    [
      'rolcreaterole',
      'CREATEROLE',
      'can create roles and grant them (and itself, through them) membership in roles such as pg_write_all_data',
    ],
    ['rolcreatedb', 'CREATEDB', 'can create databases, taking disk and connections outside what it watches'],
    [
      'rolreplication',
      'REPLICATION',
      "can stream the whole cluster's changes and create replication slots that keep WAL until the disk fills",
    ],
  ];
  for (const [column, attribute, why] of attributes) {
    if (role[column] === true && role.rolsuper !== true)
      out.push({
        kind: attribute.toLowerCase(),
        what: `role ${r} has ${attribute}`,
        why,
        fix: `ALTER ROLE ${r} NO${attribute};`,
      });
  }
  return out;
}

function membershipFindings(role: string, m: Row): Finding[] {
  const target = String(m.rolname);
  const gives = [
    RISKY_ROLES[target],
    m.rolsuper === true ? 'SUPERUSER' : undefined,
    m.rolcreaterole === true ? 'CREATEROLE' : undefined,
    m.rolcreatedb === true ? 'CREATEDB' : undefined,
    m.rolreplication === true ? 'REPLICATION' : undefined,
  ].filter((g): g is string => g !== undefined);
  if (gives.length === 0) return [];
  const via = m.via as string[];
  return [
    {
      kind: 'member',
      what: `role ${quoteIdent(role)} is a member of ${quoteIdent(target)}${via.length > 0 && !via.includes(quoteIdent(role)) ? ` (through ${via.join(', ')})` : ''}`,
      why: `a member can use (or SET ROLE to get) what ${quoteIdent(target)} has: ${gives.join('; ')}`,
      fix: via.map((v) => `REVOKE ${quoteIdent(target)} FROM ${v};`).join('\n'),
    },
  ];
}

function tableWriteFindings(schema: string, rows: Row[], superuser: boolean): Finding[] {
  const writable = rows.filter((r) => r.schema === schema && (r.privileges as string[]).length > 0);
  if (writable.length === 0) return [];
  const privileges = [...new Set(writable.flatMap((r) => r.privileges as string[]))];
  const s = quoteIdent(schema);
  const names = writable.map((r) => quoteIdent(String(r.name)));
  const fix: string[] = [];
  if (superuser) fix.push('-- held through SUPERUSER whatever the grants: fix that finding first');
  for (const g of new Set(writable.flatMap((r) => r.grantees as string[]))) {
    fix.push(`REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ${s} FROM ${g};`);
  }
  const owned = writable.filter((r) => r.owned === true).map((r) => `${s}.${quoteIdent(String(r.name))}`);
  if (owned.length > 0) {
    fix.push('-- an owner can always write: hand the tables to the role that loads them');
    for (const t of owned) fix.push(`ALTER TABLE ${t} OWNER TO loader_role;`);
  }
  if (fix.length === 0) fix.push('-- held through a role membership (pg_write_all_data?): see that finding');
  return [
    {
      kind: 'table-write',
      what: `may ${privileges.join(', ')} on ${writable.length} table(s) in schema ${s}: ${listed(names)}`,
      why: "a monitoring role only reads; with write privileges a stolen password, or a client that is not mlwatch, can change the very data the checks judge (READ ONLY protects mlwatch's own transactions only)",
      fix: fix.join('\n'),
    },
  ];
}

function createFindings(kind: 'schema' | 'database', name: string, row: Row, superuser: boolean): Finding[] {
  if (row.creatable !== true) return [];
  const object = `${kind.toUpperCase()} ${quoteIdent(name)}`;
  const fix: string[] = [];
  if (superuser) fix.push('-- held through SUPERUSER whatever the grants: fix that finding first');
  for (const g of row.grantees as string[]) fix.push(`REVOKE CREATE ON ${object} FROM ${g};`);
  if (row.owned === true) {
    fix.push(`-- the role owns the ${kind}, and an owner can always grant itself CREATE back:`);
    fix.push(`ALTER ${object} OWNER TO owner_role;`);
  }
  return [
    {
      kind: `${kind}-create`,
      what: `may CREATE in ${kind} ${quoteIdent(name)}`,
      why:
        kind === 'schema'
          ? 'can add tables, views and functions next to the watched ones, e.g. objects that shadow what other roles find on their search_path'
          : 'can create schemas in the database and fill them (objects that shadow others on a search_path, or the disk)',
      fix: fix.join('\n'),
    },
  ];
}

function functionFinding(g: FunctionGroup, rows: Row[], superuser: boolean): Finding {
  const signatures = rows.map((r) => String(r.signature));
  const targets = [...new Set(rows.flatMap((r) => r.grantees as string[]))];
  const fix: string[] = [];
  if (superuser) fix.push('-- held through SUPERUSER whatever the grants: fix that finding first');
  if (targets.includes('PUBLIC')) {
    fix.push(
      '-- Database-wide: every role without a grant of its own loses these; grant them back to roles that',
      '-- need them. Or leave them, and rely on mlwatch ending every check with ROLLBACK and DISCARD ALL',
      '-- (docs/warehouse-role.md).',
    );
  }
  for (const t of targets) fix.push(`REVOKE EXECUTE ON FUNCTION ${signatures.join(', ')} FROM ${t};`);
  if (targets.includes('PUBLIC') && g.kind === 'advisory-locks') {
    fix.push(
      "-- mlwatch's state store serializes migrations and retraining and shares checks between replicas with these;",
      '-- when it has a role of its own:',
      `GRANT EXECUTE ON FUNCTION ${STATE_STORE_LOCKS.join(', ')} TO mlwatch_state;`,
    );
  }
  return {
    kind: g.kind,
    what: `may EXECUTE ${g.label}: ${listed(signatures)}`,
    why: g.why,
    fix: fix.join('\n'),
  };
}

/** True when the state store connects as the warehouse role: the same URL, or the same user on the same server. */
export function sharesWarehouseRole(config: LoadedConfig): boolean {
  const a = config.warehouse.url;
  const b = config.state.url;
  if (a === b) return true;
  const pa = parseServerUrl(a);
  const pb = parseServerUrl(b);
  return pa !== undefined && pb !== undefined && pa === pb;
}

// user@host:port/database, defaults filled in; undefined for PGlite or a URL the URL parser refuses.
function parseServerUrl(url: string): string | undefined {
  if (!/^postgres(ql)?:/.test(url)) return undefined;
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username);
    return `${decodeURIComponent(u.username)}@${u.hostname}:${u.port || '5432'}/${db}`;
  } catch {
    return undefined;
  }
}

function stateStoreFinding(report: RoleReport, schema: string, ownedTables: string[]): Finding {
  const r = quoteIdent(report.role);
  const s = quoteIdent(schema);
  // Sequences of serial and identity columns follow their table.
  const tables = ownedTables.map((t) => `ALTER TABLE ${s}.${t} OWNER TO mlwatch_state;`);
  return {
    kind: 'state-store',
    what: `the state store (tickets, rollbacks) writes with the warehouse role ${r}, in schema ${s}`,
    why: 'the state store needs to create and write its tables, so this role cannot be read-only; give the state store a role of its own: state.url (and state.password_file)',
    fix: [
      `CREATE ROLE mlwatch_state LOGIN;  -- then \\password mlwatch_state`,
      `CREATE SCHEMA IF NOT EXISTS ${s} AUTHORIZATION mlwatch_state;`,
      `ALTER SCHEMA ${s} OWNER TO mlwatch_state;  -- if it existed, owned by ${r}`,
      ...tables,
      `-- and in mlwatch.yaml: state: { url: postgresql://mlwatch_state@HOST:5432/${report.database} }`,
    ].join('\n'),
  };
}

function listed(names: string[], max = 6): string {
  return names.length <= max
    ? names.join(', ')
    : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
