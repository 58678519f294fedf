import { loadConfigText } from '../../src/config/load.js';
import type { Running } from '../../src/runtime/serve.js';
import { ACCESS_YAML, VIEWER_HEADERS, WEBHOOK_HEADERS } from './credentials.js';
import type { TestDb } from './db.js';
import { serveOn } from './served.js';

/**
 * An in-process `mlwatch serve` with its state store in `schema` of the test database (the real PostgreSQL, or
 * the shared PGlite), or at `stateUrl` when given; `ready: false` does not wait for the store to migrate.
 */
export async function serveState(
  db: TestDb,
  o: { schema: string; stateUrl?: string; ready?: boolean },
): Promise<Running & { url: string }> {
  const stateUrl = o.stateUrl ?? db.url ?? 'pglite:memory';
  const text = [
    `warehouse: { url: '${db.configUrl}' }`,
    `state: { url: '${stateUrl}', schema: ${o.schema} }`,
    ACCESS_YAML,
  ].join('\n');
  const config = loadConfigText(text, 'state.yaml', {}, '/');
  // A state URL of the test's own: the config's store, not the shared PGlite.
  const r = await serveOn(db, config, {
    ownState: o.stateUrl !== undefined,
    ...(o.ready === false ? { ready: false } : {}),
  });
  return Object.assign(r, { url: `http://127.0.0.1:${r.port}` });
}

export interface TestAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  fingerprint: string;
}

/** A model alert; each fingerprint its own model, as Alertmanager's fingerprint is a hash of the labels. */
export const warningAlert = (fingerprint: string): TestAlert => ({
  status: 'firing',
  labels: {
    alertname: 'MlwatchModelAucLow',
    severity: 'warning',
    team: 'data-science',
    layer: 'model',
    model: fingerprint,
  },
  annotations: { summary: 'auc low' },
  startsAt: '2026-11-29T01:00:00Z',
  fingerprint,
});

/** POSTs a webhook as Alertmanager does (JSON, the webhook client's token). */
export function postAlerts(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/api/v1/alerts`, {
    method: 'POST',
    headers: WEBHOOK_HEADERS,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export const webhook = (alerts: unknown[]) => ({
  version: '4',
  receiver: 'ticketing',
  status: 'firing',
  alerts,
});

export function getTickets(url: string, query = ''): Promise<Response> {
  return fetch(`${url}/api/v1/tickets${query}`, { headers: VIEWER_HEADERS });
}
