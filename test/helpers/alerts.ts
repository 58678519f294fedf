/** An alert of an Alertmanager webhook payload, as the tests post it. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  fingerprint: string;
}

/** The labels of the alert the ticket tests post: applications is stale (critical, team platform, data layer). */
export const STALE_LABELS = {
  alertname: 'MlwatchDatasetStale',
  dataset: 'applications',
  severity: 'critical',
  team: 'platform',
  layer: 'data',
};

/**
 * A builder of one alert: firing since 2026-11-29T01:00:00Z, endsAt 01:04 (as Alertmanager sends a firing alert),
 * with the given labels, annotations and fingerprint; each call lays `over` on top.
 */
export function firingAlert(
  alert: Pick<WebhookAlert, 'labels' | 'annotations' | 'fingerprint'>,
): (over?: Partial<WebhookAlert>) => WebhookAlert {
  return (over = {}) => ({
    status: 'firing',
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: '2026-11-29T01:00:00Z',
    endsAt: '2026-11-29T01:04:00Z',
    fingerprint: alert.fingerprint,
    ...over,
  });
}
