import pg from 'pg';
import type { LoadedConfig } from '../config/load.js';
import { Redactor } from '../redact.js';
import { isPgliteUrl } from '../warehouse/open.js';
import { opaqueStatements, watchedTables } from '../warehouse/watched-tables.js';
import { fail } from './common.js';
import { type LoginTarget, loginHint } from './login-hint.js';

/**
 * One login to the warehouse (and to the state store when it has a URL of its own) at start-up, to stop with
 * what to do when the role or the database does not exist. Anything else (a server down, a network cut) is
 * left to the checks, which report it and retry: serve must come up without its warehouse.
 */

interface Login extends LoginTarget {
  password?: string | undefined;
  connectTimeoutMs: number;
  applicationName: string;
}

/**
 * The role of a state store in the warehouse's own database (the role script takes the advisory locks from
 * everyone there and gives them back to it); '' for a store elsewhere or without a user in its URL.
 */
function stateRoleBeside(warehouseUrl: string, stateUrl: string): string {
  try {
    const [w, s] = [new URL(warehouseUrl), new URL(stateUrl)];
    const same = w.host === s.host && w.pathname === s.pathname;
    return same ? decodeURIComponent(s.username) : '';
  } catch {
    return '';
  }
}

function logins(config: LoadedConfig, withState: boolean): Login[] {
  const out: Login[] = [];
  const w = config.warehouse;
  const ownState = config.raw.state.url;
  if (!isPgliteUrl(w.url)) {
    out.push({
      ...w,
      key: 'warehouse.url',
      purpose: 'warehouse',
      schemas: [...new Set(watchedTables(config.raw).map((t) => t.schema ?? 'public'))],
      ownSql: opaqueStatements(config.raw) > 0,
      stateRole: ownState === undefined ? undefined : stateRoleBeside(w.url, ownState),
      configFile: config.file,
    });
  }
  const s = config.state;
  // Without a URL of its own the store logs in as the warehouse does: the first login covers it.
  if (withState && ownState !== undefined && !isPgliteUrl(s.url)) {
    out.push({ ...s, key: 'state.url', purpose: 'state', stateSchema: s.schema, configFile: config.file });
  }
  return out;
}

async function tryLogin(l: Login): Promise<unknown> {
  const client = new pg.Client({
    connectionString: l.url,
    ...(l.password !== undefined ? { password: l.password } : {}),
    connectionTimeoutMillis: l.connectTimeoutMs,
    application_name: l.applicationName,
  });
  // A connection that breaks after the login emits 'error'; without a listener it would end the process.
  client.on('error', () => {});
  try {
    await client.connect();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The message for the first missing role or database, or undefined when every login got past that.
 * `withState`: log in to the state store as well (serve writes there; `once` never opens it).
 */
export async function missingLogin(config: LoadedConfig, withState = true): Promise<string | undefined> {
  const redactor = new Redactor()
    .addTree(config.raw)
    .add(config.warehouse.password)
    .add(config.state.password);
  for (const l of logins(config, withState)) {
    const hint = loginHint(await tryLogin(l), l);
    if (hint !== undefined) return redactor.redact(hint);
  }
  return undefined;
}

/**
 * For serve: exits 1 with the message when the role or database is missing. Waits at most `waitMs` (a
 * warehouse that does not answer must not hold up /metrics); an answer that comes later still ends the process.
 */
export async function failOnMissingLogin(config: LoadedConfig, waitMs = 2000): Promise<void> {
  const check = missingLogin(config);
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'later'>((resolve) => {
    timer = setTimeout(() => resolve('later'), waitMs);
  });
  const first = await Promise.race([check, waited]);
  clearTimeout(timer);
  if (first === 'later') {
    void check.then((problem) => {
      if (problem !== undefined) fail(problem);
    });
  } else if (first !== undefined) {
    fail(first);
  }
}
