/** The alert contract shared by the rules, their linter, the dashboards and Alertmanager's routing. */

export const RUNBOOK_BASE = 'https://github.com/mlwatch/mlwatch/blob/main/docs/runbooks/';

export const ALLOWED_LABELS: Record<string, readonly string[]> = {
  severity: ['critical', 'warning', 'info'],
  layer: ['data', 'model', 'system', 'business'],
  team: ['platform', 'data-science', 'business'],
  depends_on: ['exporter', 'warehouse'],
  action: ['retrain'],
};

export const REQUIRED_LABELS = ['severity', 'layer', 'team'] as const;
export const REQUIRED_ANNOTATIONS = ['summary', 'description', 'runbook_url', 'dashboard'] as const;
