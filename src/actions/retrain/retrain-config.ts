import { z } from 'zod';
import { cronExpression, duration } from '../../config/types.js';
import { credentialsToHeader } from '../../config/url-credentials.js';
import { redactUrl } from '../../redact.js';

/**
 * A model's `retrain` block: where its retraining requests are dispatched, on which cadence, and how long
 * a request silences later triggers (the cooldown). Without it a model never gets a request.
 */
export const DEFAULT_CADENCE = '0 3 1 * *';
export const DEFAULT_COOLDOWN_MS = 86_400_000;
export const DEFAULT_RETRAIN_TIMEOUT_MS = 10_000;

const retrainFields = z.strictObject({
  webhook: z.url({
    protocol: /^https?$/,
    error: (iss) =>
      iss.input === undefined
        ? 'missing; give the http(s) URL that starts a retraining run, e.g. https://ml-platform/retrain'
        : `'${redactUrl(String(iss.input))}' is not an http(s) URL; give the URL that starts a retraining run, e.g. https://ml-platform/retrain`,
  }),
  // Monthly by default (03:00 on the 1st, in the exporter's time zone).
  cadence: cronExpression.default(DEFAULT_CADENCE),
  // A trigger within the cooldown of the model's last request is recorded against it, not dispatched.
  cooldown: duration('a cooldown').default(DEFAULT_COOLDOWN_MS),
  headers: z
    .record(z.string(), z.string({ error: 'expected header values as strings' }), {
      error: 'expected headers as a map of name: value',
    })
    .optional(),
  timeout: duration('a timeout').optional(),
});

// https://user:pw@ml-platform/retrain: the user and password go in an authorization header.
export const retrainConfig = retrainFields.transform(credentialsToHeader('webhook'));

export type RetrainConfig = z.output<typeof retrainConfig>;
