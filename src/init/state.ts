import { stringify } from 'yaml';
import { loadConfigText } from '../config/load.js';
import { redactUrl } from '../redact.js';

/**
 * Where the proposal's state store lives (tickets, retraining requests, rollbacks: what `serve` writes), said
 * in the output and the file. Read from the config loader itself, with the state section init writes, so the
 * words follow the loader's default rather than repeating it.
 *
 * An embedded warehouse gets a store of its own: a PGlite directory is opened by one instance at a time, and
 * the store would be a second one beside the checks'; a DuckDB file is opened read-only. So does a PostgreSQL
 * warehouse whose role may only read (`writable` false): the default store there would refuse its first
 * migration, and an embedded directory serves a single instance; replicas need a shared PostgreSQL, said in
 * the description.
 */

export interface StatePlan {
  /** state.url to write, when the default does not fit the warehouse. */
  url: string | undefined;
  /** Where the store is and what that means, in a sentence or two. */
  description: string;
}

export function planState(warehouseUrl: string, stateDir: string, writable: boolean | undefined): StatePlan {
  const embedded = /^(pglite|duckdb):/.test(warehouseUrl);
  const own = embedded || writable === false ? `pglite:${stateDir}` : undefined;
  const text = stringify({ warehouse: { url: warehouseUrl }, ...(own ? { state: { url: own } } : {}) });
  let state: { url: string; schema: string };
  try {
    state = loadConfigText(text, '<init>', {}, process.cwd()).state;
  } catch {
    // A URL the loader refuses is reported when the whole file is validated; here it only lacks words.
    state = { url: own ?? warehouseUrl, schema: 'mlwatch' };
  }
  const { url, schema } = state;
  if (url === warehouseUrl) {
    return {
      url: own,
      description: [
        `The state store (tickets, retraining requests, rollbacks) lives in the warehouse's own database, schema ${schema}:`,
        `\`mlwatch serve\` creates it there and writes to it with the warehouse's role. Checks only read; to keep`,
        'that role read-only, give the store a database or role of its own with state.url (docs/tickets.md).',
      ].join(' '),
    };
  }
  if (!embedded) {
    return {
      url: own,
      description: [
        `The warehouse role may only read (it cannot create schema ${schema}), so the state store (tickets,`,
        `retraining requests, rollbacks) lives in ${redactUrl(url)}, an embedded store for this one instance:`,
        '`mlwatch serve` writes there, never to the warehouse. Two replicas share their state only through one',
        'PostgreSQL: set state.url to a role that owns schema mlwatch there (docs/tickets.md).',
      ].join(' '),
    };
  }
  return {
    url: own,
    description: [
      `The state store (tickets, retraining requests, rollbacks) lives in ${redactUrl(url)}, schema ${schema},`,
      'apart from the warehouse: `mlwatch serve` writes there, never to the warehouse.',
    ].join(' '),
  };
}
