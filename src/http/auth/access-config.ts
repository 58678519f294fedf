import { z } from 'zod';
import { uniqueNames, uniqueTokenHashes } from '../../config/types.js';

/**
 * The `access` section of mlwatch.yaml: who may use which endpoints (docs/security.md). A client is a name with
 * roles; it proves who it is with a bearer token (its SHA-256 here) or, without one, as the basic-auth user of the
 * same name in the web config (--web.config.file, exporter-toolkit format, bcrypt hashes). Approvers (the
 * `approvers` section) are viewers too.
 */

export const ACCESS_ROLES = ['viewer', 'webhook', 'lifecycle', 'responder'] as const;
export type AccessRole = (typeof ACCESS_ROLES)[number];

const ROLE_HELP =
  'viewer (read tickets, retraining requests, rollbacks, the report), webhook (post Alertmanager notifications), lifecycle (POST /-/reload with --web.enable-lifecycle), responder (acknowledge tickets and hand them off to data science)';

export const TOKEN_HASH_FIX =
  'expected the hex SHA-256 of the token (64 characters 0-9 a-f), from printf %s "$TOKEN" | sha256sum; never the token itself';

/** The hex SHA-256 of a bearer token, lower-cased; a hash is not a secret (the token cannot be read from it). */
export const tokenSha256 = z
  .string({ error: TOKEN_HASH_FIX })
  .regex(/^[0-9a-fA-F]{64}$/, { error: TOKEN_HASH_FIX })
  .transform((h) => h.toLowerCase());

const client = z.strictObject({
  // The name also links the client to the web config's basic-auth user of that name.
  name: z.string({ error: 'expected the client name, e.g. alertmanager' }).regex(/^[A-Za-z0-9_.@-]{1,64}$/, {
    error: 'a client name is 1 to 64 letters, digits, _, ., @ or -, e.g. alertmanager',
  }),
  roles: z
    .array(
      z.enum(ACCESS_ROLES, {
        error: (iss) => `'${String(iss.input)}' is not a role; use ${ROLE_HELP}`,
      }),
      { error: `expected a list of roles: ${ROLE_HELP}` },
    )
    .min(1, { error: `give at least one role: ${ROLE_HELP}` }),
  token_sha256: tokenSha256.optional(),
});

export type AccessClient = z.output<typeof client>;

export const accessConfig = z
  .strictObject({
    // open: /metrics and / answer without a credential (a Prometheus scrape with no auth). authenticated: any
    // client, approver or basic-auth user. Default: authenticated when the web config has basic_auth_users (as
    // exporter-toolkit does), else open.
    metrics: z
      .enum(['open', 'authenticated'], {
        error: "expected 'open' (no credential needed) or 'authenticated' (any configured credential)",
      })
      .optional(),
    clients: z
      .array(client, {
        error: 'expected a list of clients like { name: alertmanager, roles: [webhook], token_sha256: ... }',
      })
      .superRefine((list, ctx) => {
        uniqueNames(list, 'access.clients', 'client', ctx);
        uniqueTokenHashes(list, 'access.clients', 'client', ctx);
      })
      .default([]),
  })
  .prefault({});

export type AccessConfig = z.output<typeof accessConfig>;
