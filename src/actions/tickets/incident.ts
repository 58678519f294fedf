import { createHash } from 'node:crypto';

/**
 * The labels that tell replicas apart and nothing else: the target labels Prometheus (`instance`) and a
 * ServiceMonitor (`pod`) put on every series of one exporter process. Two replicas serving the same check
 * results fire the same alert once each, and those copies differ only here.
 */
export const REPLICA_LABELS: readonly string[] = ['instance', 'pod'];

/**
 * What a ticket is about: the alert's labels without the replica labels, as a key. Copies of one incident from
 * two replicas share it; two alerts about different subjects (datasets, models, teams) never do. Sorted, so the
 * order Alertmanager lists labels in does not matter.
 */
export function incidentKey(labels: Record<string, string>): string {
  const kept = Object.entries(labels)
    .filter(([name]) => !REPLICA_LABELS.includes(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(kept)).digest('hex');
}
