import { createHash } from 'node:crypto';

/**
 * Test credentials for the exporter's guarded endpoints (docs/security.md): one client per role, as a config's
 * `access` section names them. Tests that are not about authentication send these; the security tests try
 * everything else.
 */

export const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

export const TOKENS = {
  webhook: 'test-webhook-token-0123456789',
  viewer: 'test-viewer-token-0123456789',
  lifecycle: 'test-lifecycle-token-0123456789',
  responder: 'test-responder-token-0123456789',
} as const;

/** The `access` section as the object a YAML file parses to. */
export const ACCESS = {
  clients: [
    { name: 'alertmanager', roles: ['webhook'], token_sha256: sha256(TOKENS.webhook) },
    { name: 'oncall', roles: ['viewer'], token_sha256: sha256(TOKENS.viewer) },
    { name: 'ops', roles: ['lifecycle'], token_sha256: sha256(TOKENS.lifecycle) },
    // Platform on-call's responder: acknowledges and hands off tickets (the name the ticket records).
    { name: 'riley', roles: ['responder'], token_sha256: sha256(TOKENS.responder) },
  ],
};

/** The same section as YAML, to append to a config text. */
export const ACCESS_YAML = `access:\n  clients:\n${ACCESS.clients
  .map((c) => `    - { name: ${c.name}, roles: [${c.roles.join(', ')}], token_sha256: '${c.token_sha256}' }`)
  .join('\n')}\n`;

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** What Alertmanager sends with a webhook: JSON with the webhook client's token. */
export const WEBHOOK_HEADERS = { 'content-type': 'application/json', ...bearer(TOKENS.webhook) };

export const VIEWER_HEADERS = bearer(TOKENS.viewer);

/** A responder's call with a JSON body (POST /api/v1/tickets/ID/ack and /handoff). */
export const RESPONDER_HEADERS = { 'content-type': 'application/json', ...bearer(TOKENS.responder) };

/** The demo's published operator token (src/demo/builtin-config.ts): viewer, webhook and lifecycle. */
export const DEMO_HEADERS = bearer('demo-operator-token');
