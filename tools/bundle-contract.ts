import { DEFAULT_BUNDLE_CONFIG } from '../bundle/config.js';
import { ALERT_LAYERS, ALERT_TEAMS } from '../src/actions/tickets/ticket-labels.js';

/** The alert contract shared by the rules, their linter, the dashboards and Alertmanager's routing. */

/** The runbook base of the checked-in bundle, which the linters hold it to (bundle/config.ts has it). */
export const RUNBOOK_BASE = DEFAULT_BUNDLE_CONFIG.runbook_base_url;

export const ALLOWED_LABELS: Record<string, readonly string[]> = {
  severity: ['critical', 'warning', 'info'],
  // One list with the ticket log, which counts any other team or layer as `other` in mlwatch_tickets.
  layer: ALERT_LAYERS,
  team: ALERT_TEAMS,
  depends_on: ['exporter', 'warehouse'],
  action: ['retrain'],
};

export const REQUIRED_LABELS = ['severity', 'layer', 'team'] as const;
export const REQUIRED_ANNOTATIONS = ['summary', 'description', 'runbook_url', 'dashboard'] as const;
