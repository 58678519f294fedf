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

/**
 * Which replica fired a copy: its replica labels' values. A copy joins an open ticket of its incident only from
 * a replica the ticket has no copy from: the same replica firing the same alert again (a new start while the
 * old ticket never got its resolution) is a new occurrence, as it always was, and alerts without replica labels
 * never join each other.
 */
export function replicaOf(labels: Record<string, string>): string {
  return JSON.stringify(REPLICA_LABELS.map((name) => labels[name] ?? ''));
}

/** The replica of an alert that names none (no instance, no pod label). */
export const NO_REPLICA = replicaOf({});
