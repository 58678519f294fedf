import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quoteIdent } from '../sql/identifiers.js';

/**
 * What to do when PostgreSQL refuses the login because the role or the database does not exist (SQLSTATE
 * 28000 `role "x" does not exist`, 3D000 `database "x" does not exist`). Both are set-up mistakes that no
 * retry fixes, unlike a server that is down, so start-up stops with the commands that create what is missing.
 * The texts never quote the URL: only its host and database, and ADMIN where an administrator's role goes.
 */

export interface LoginTarget {
  /** Where the URL came from, e.g. warehouse.url, state.url, --warehouse-url. */
  key: string;
  url: string;
  /** What the role does there, which decides how it is created. */
  purpose: 'warehouse' | 'state' | 'demo';
  /** warehouse: the schemas the config's tables are in (the role script grants reading them). */
  schemas?: string[];
  /** warehouse: the config has SQL of its own (custom queries, KPI sql), whose schemas are not known here. */
  ownSql?: boolean;
  /**
   * warehouse: the state store's own role (state.url), which the script gives back the advisory locks it takes
   * from everyone; undefined when the store logs in as the warehouse does.
   */
  stateRole?: string | undefined;
  /** state: the schema the store writes (created by its role). */
  stateSchema?: string;
  /** The config file, for `mlwatch doctor --config`. */
  configFile?: string;
}

interface Missing {
  kind: 'role' | 'database';
  name: string;
}

/** The missing role or database a driver error names, if that is what it says. */
export function missingOf(err: unknown): Missing | undefined {
  const e = err as { code?: string; message?: string } | undefined;
  const msg = e?.message ?? '';
  const role = /role "(.*)" does not exist/.exec(msg);
  if (e?.code === '28000' && role) return { kind: 'role', name: role[1] as string };
  const db = /database "(.*)" does not exist/.exec(msg);
  if (e?.code === '3D000' && db) return { kind: 'database', name: db[1] as string };
  return undefined;
}

/** One shell word: as it is when it needs no quoting, else in single quotes. */
const sh = (s: string) => (/^[A-Za-z0-9_.,:/@=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function place(url: string): { host: string; database: string; user: string } {
  try {
    const u = new URL(url);
    const user = decodeURIComponent(u.username);
    // libpq's default database is the user's name.
    return { host: u.host || 'HOST', database: decodeURIComponent(u.pathname.slice(1)) || user, user };
  } catch {
    return { host: 'HOST', database: 'DATABASE', user: '' };
  }
}

/** The role script, as a path the user can type: relative to the working directory when it is below it. */
export function roleScript(): string {
  const file = fileURLToPath(new URL('../../docs/warehouse-role.sql', import.meta.url));
  if (!existsSync(file)) return 'docs/warehouse-role.sql (in the mlwatch repository and npm package)';
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

function createRole(t: LoginTarget, role: string, psql: string): string[] {
  const db = place(t.url).database;
  if (t.purpose === 'warehouse') {
    const schemas = t.schemas?.length ? t.schemas.join(',') : 'public';
    const state = t.stateRole ? ` -v state_role=${sh(t.stateRole)}` : '';
    return [
      "Create it as a role that may create roles (a superuser, or the watched schemas' owner) with the script",
      `that makes a read-only login role for the tables ${t.configFile ?? 'mlwatch.yaml'} watches (docs/warehouse-role.md):`,
      `  ${psql} -v ON_ERROR_STOP=1 -v role=${sh(role)} -v schemas=${sh(schemas)}${state} -f ${sh(roleScript())}`,
      `  ${psql} -c ${sh(`\\password ${quoteIdent(role)}`)}`,
      ...(t.ownSql ? ['(add to schemas= the schemas your custom queries and KPI sql read)'] : []),
      `then \`mlwatch doctor --config ${t.configFile ?? 'mlwatch.yaml'}\` checks what the role may do.`,
      ...(t.stateRole === undefined
        ? [
            'That role is read-only, and without state.url the state store (tickets, rollbacks) writes as it:',
            'give the store a role of its own with state.url (docs/tickets.md) before `mlwatch serve`.',
          ]
        : []),
      `Or point ${t.key} at a role that exists.`,
    ];
  }
  if (t.purpose === 'state') {
    const schema = quoteIdent(t.stateSchema ?? 'mlwatch');
    return [
      'The state store writes the ticket log, retraining requests and rollbacks (docs/tickets.md); create its',
      'role, and the schema it owns, as an administrator:',
      `  ${psql} -v ON_ERROR_STOP=1 -c ${sh(`CREATE ROLE ${quoteIdent(role)} LOGIN`)} -c ${sh(`CREATE SCHEMA ${schema} AUTHORIZATION ${quoteIdent(role)}`)}`,
      `  ${psql} -c ${sh(`\\password ${quoteIdent(role)}`)}`,
    ];
  }
  return [
    `The demo creates its own schema and tables, so it needs a role that may create a schema in "${db}";`,
    'create one as an administrator:',
    `  ${psql} -v ON_ERROR_STOP=1 -c ${sh(`CREATE ROLE ${quoteIdent(role)} LOGIN`)} -c ${sh(`GRANT CREATE ON DATABASE ${quoteIdent(db)} TO ${quoteIdent(role)}`)}`,
    `  ${psql} -c ${sh(`\\password ${quoteIdent(role)}`)}`,
    'or run the demo as a role that exists.',
  ];
}

function createDatabase(t: LoginTarget, database: string): string[] {
  const { host, user } = place(t.url);
  const psql = `psql ${sh(`postgresql://ADMIN@${host}/postgres`)}`;
  const owner = user && t.purpose !== 'warehouse' ? ` OWNER ${quoteIdent(user)}` : '';
  return [
    `Check the database name at the end of ${t.key} (\`${psql} -c '\\l'\` lists the databases there),`,
    ...(t.purpose === 'warehouse'
      ? [
          'or, if the warehouse is new, create it as an administrator (it holds none of the watched tables yet):',
        ]
      : ['or create it as an administrator:']),
    `  ${psql} -c ${sh(`CREATE DATABASE ${quoteIdent(database)}${owner}`)}`,
  ];
}

/** A message saying what is missing and how to create it, or undefined when the error is about something else. */
export function loginHint(err: unknown, t: LoginTarget): string | undefined {
  const missing = missingOf(err);
  if (!missing) return undefined;
  const { host, database } = place(t.url);
  const psql = `psql ${sh(`postgresql://ADMIN@${host}/${database}`)}`;
  const code = missing.kind === 'role' ? '28000' : '3D000';
  return [
    `${t.key}: PostgreSQL at ${host} has no ${missing.kind} "${missing.name}" (SQLSTATE ${code}).`,
    ...(missing.kind === 'role' ? createRole(t, missing.name, psql) : createDatabase(t, missing.name)),
  ].join('\n');
}
