import { fileURLToPath } from 'node:url';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { type BundleConfig, DEFAULT_BUNDLE_CONFIG } from '../../bundle/config.js';
import { businessKpisDashboard } from './business-kpis.js';
import { dataQualityDashboard } from './data-quality.js';
import { withBundleConfig } from './environment.js';
import { exporterDashboard } from './exporter.js';
import { modelPerformanceDashboard } from './model-performance.js';
import { overviewDashboard } from './overview.js';
import { type RuleSet, readRules } from './rules.js';
import { systemDashboard } from './system.js';

/** The list of dashboards and where their JSON is committed (Grafana's file provider reads that folder). */

/** Subfolders become Grafana folders (`foldersFromFilesStructure`): these land in "mlwatch". */
export const DASHBOARDS_DIR = fileURLToPath(new URL('../dashboards/mlwatch/', import.meta.url));

export interface GeneratedDashboard {
  /** File name inside DASHBOARDS_DIR. */
  file: string;
  dashboard: Dashboard;
}

/**
 * Every dashboard, with its thresholds read from `rules` and its environment (scrape job, runbook links) from
 * `config`, the bundle config (bundle/config.ts).
 */
export function buildDashboards(
  rules: RuleSet = readRules(),
  config: BundleConfig = DEFAULT_BUNDLE_CONFIG,
): GeneratedDashboard[] {
  return withBundleConfig(config, () => [
    { file: 'overview.json', dashboard: overviewDashboard(rules) },
    { file: 'exporter.json', dashboard: exporterDashboard(rules) },
    { file: 'data-quality.json', dashboard: dataQualityDashboard(rules) },
    { file: 'model-performance.json', dashboard: modelPerformanceDashboard(rules) },
    { file: 'business-kpis.json', dashboard: businessKpisDashboard(rules) },
    { file: 'system.json', dashboard: systemDashboard(rules) },
  ]);
}

/** The committed form: stable key order as built, two-space indent, final newline. */
export function dashboardJson(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
