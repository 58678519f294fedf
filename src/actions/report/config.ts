import { z } from 'zod';
import { cronExpression, duration } from '../../config/types.js';
import { credentialsToHeader, hasCredentials } from '../../config/url-credentials.js';
import { redactUrl } from '../../redact.js';

/**
 * The `report` section: the weekly data-science review (docs/report.md). Where the time series are (the metric
 * sections need Prometheus: the exporter only knows the present), when the cadence builds it, and where it is
 * posted. Without the section there is no cadence; `mlwatch report` still works with --prometheus.
 */
export const DEFAULT_REPORT_CRON = '0 8 * * 1';
export const DEFAULT_REPORT_TIMEOUT_MS = 10_000;

const httpUrl = (what: string, example: string) =>
  z.url({
    protocol: /^https?$/,
    error: (iss) =>
      iss.input === undefined
        ? `missing; give the http(s) URL of ${what}, e.g. ${example}`
        : `'${redactUrl(String(iss.input))}' is not an http(s) URL; give the URL of ${what}, e.g. ${example}`,
  });

const reportFields = z.strictObject({
  // The Prometheus queries carry no headers, and fetch would refuse a URL with a user and password (quoting it,
  // password included, into the report): refuse it here instead.
  prometheus_url: httpUrl('the Prometheus that scrapes mlwatch', 'http://prometheus:9090').refine(
    (url) => !hasCredentials(url),
    {
      error: (iss) =>
        `'${redactUrl(String(iss.input))}' carries a user and password; mlwatch sends no credentials to Prometheus: give its address without them (a Prometheus on the internal network)`,
    },
  ),
  // Mondays at 08:00 in the exporter's time zone; the report covers the 7 days before the tick.
  cron: cronExpression.default(DEFAULT_REPORT_CRON),
  webhook: httpUrl('the endpoint that receives the report', 'https://chat/hooks/data-science').optional(),
  // Values may say ${REPORT_TOKEN}: the config loader expands the environment in every value.
  headers: z
    .record(z.string(), z.string({ error: 'expected header values as strings' }), {
      error: 'expected headers as a map of name: value',
    })
    .optional(),
  // Per Prometheus query and per webhook attempt.
  timeout: duration('a timeout').default(DEFAULT_REPORT_TIMEOUT_MS),
});

// https://user:pw@chat/hooks/...: the user and password go in an authorization header (the webhook's headers).
export const reportConfig = reportFields.transform(credentialsToHeader('webhook'));

export type ReportConfig = z.output<typeof reportConfig>;
