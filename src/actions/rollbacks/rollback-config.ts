import { z } from 'zod';
import { duration, uniqueNames, uniqueTokenHashes } from '../../config/types.js';
import { credentialsToHeader } from '../../config/url-credentials.js';
import { redactUrl } from '../../redact.js';

/**
 * Who may request and approve rollbacks (`approvers`), how long a request waits for its approvals
 * (`rollback_expiry`), and each model's `rollback` block: where an approved rollback is executed. A rollback
 * runs only when an engineering and a product approver (two people) have approved it (docs/rollbacks.md).
 */

export const APPROVER_ROLES = ['engineering', 'product'] as const;
export type ApproverRole = (typeof APPROVER_ROLES)[number];

export const DEFAULT_ROLLBACK_EXPIRY_MS = 86_400_000;
export const DEFAULT_ROLLBACK_TIMEOUT_MS = 10_000;
export const DEFAULT_ROLLBACK_ATTEMPTS = 5;

const HASH_FIX =
  'expected the hex SHA-256 of the approver\'s API token (64 characters 0-9 a-f), from printf %s "$TOKEN" | sha256sum; never the token itself';

const approver = z.strictObject({
  name: z.string({ error: "expected the approver's name, e.g. alice" }).regex(/^[a-z][a-z0-9_.-]*$/, {
    error: 'an approver name uses lower case a-z, 0-9, _, . and -, starting with a letter, e.g. alice',
  }),
  role: z.enum(APPROVER_ROLES, { error: "expected 'engineering' or 'product'" }),
  // A number made of digits only is read by YAML as a number: quote it. Upper-case hex is accepted.
  token_sha256: z
    .string({ error: HASH_FIX })
    .regex(/^[0-9a-fA-F]{64}$/, { error: HASH_FIX })
    .transform((h) => h.toLowerCase()),
});

export type Approver = z.output<typeof approver>;

export const approversConfig = z
  .array(approver, {
    error: 'expected a list of approvers like { name: alice, role: engineering, token_sha256: ... }',
  })
  .superRefine((list, ctx) => {
    uniqueNames(list, 'approvers', 'approver', ctx);
    uniqueTokenHashes(list, 'approvers', 'approver', ctx);
  })
  .default([]);

export const rollbackExpiry = duration('an expiry').default(DEFAULT_ROLLBACK_EXPIRY_MS);

const rollbackFields = z.strictObject({
  webhook: z.url({
    protocol: /^https?$/,
    error: (iss) =>
      iss.input === undefined
        ? 'missing; give the http(s) URL that rolls the model back, e.g. https://ml-platform/rollback'
        : `'${redactUrl(String(iss.input))}' is not an http(s) URL; give the URL that rolls the model back, e.g. https://ml-platform/rollback`,
  }),
  headers: z
    .record(z.string(), z.string({ error: 'expected header values as strings' }), {
      error: 'expected headers as a map of name: value',
    })
    .optional(),
  timeout: duration('a timeout').optional(),
  // Failed attempts before the request is given up as failed: a rollback is not retried for ever, the
  // world it was meant for moves on.
  attempts: z
    .number({ error: 'expected how many failed attempts end a rollback as failed, 1 to 100' })
    .int({ error: 'attempts is a whole number from 1 to 100' })
    .min(1, { error: 'attempts is a whole number from 1 to 100' })
    .max(100, { error: 'attempts is a whole number from 1 to 100' })
    .default(DEFAULT_ROLLBACK_ATTEMPTS),
});

// https://user:pw@ml-platform/rollback: the user and password go in an authorization header.
export const rollbackConfig = rollbackFields.transform(credentialsToHeader('webhook'));

export type RollbackConfig = z.output<typeof rollbackConfig>;
