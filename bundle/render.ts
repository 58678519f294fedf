import { fileURLToPath } from 'node:url';
import { buildDashboards, dashboardJson } from '../grafana/src/index.js';
import { parseRules } from '../grafana/src/rules.js';
import { renderSketch } from '../tools/dashboard-sketch.js';
import { alertmanagerTemplates, renderAlertmanager } from './alertmanager.js';
import type { BundleConfig } from './config.js';
import type { GeneratedFile } from './files.js';
import { renderKubernetes } from './kubernetes.js';
import { RULES_SOURCE_DIR, renderRules } from './rules.js';

/**
 * The whole bundle for one config, in memory, as paths relative to the repository root: the rule files,
 * Alertmanager's configuration, the dashboards (thresholds read from the rules just rendered), and the Kubernetes
 * base (its AlertmanagerConfig converted from the alertmanager.yml just rendered). Nothing is written here, so
 * the staleness test compares a fresh render with the checked-in files without touching them.
 */

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DASHBOARDS_DIR = 'grafana/dashboards/mlwatch';
export const SKETCH = 'docs/dashboard-sketch.svg';

export interface RenderOptions {
  /**
   * Rendering into the repository: also the dashboards' layout sketch (docs/). Rendering elsewhere: also the
   * hand-written Kubernetes objects and Alertmanager's message templates, so the output directory holds a base
   * kubectl can render, and an alertmanager/ Alertmanager can load, on their own.
   */
  target: 'repository' | 'directory';
  /** Where the sources are; the repository this file is in unless a test says otherwise. */
  root?: string;
}

export function renderBundle(config: BundleConfig, options: RenderOptions): GeneratedFile[] {
  const root = options.root ?? ROOT;
  const rules = renderRules(root, config);
  const ruleSet = parseRules(
    rules.map((r) => r.text),
    `${RULES_SOURCE_DIR} (rendered)`,
  );
  const built = buildDashboards(ruleSet, config);
  const dashboards = built.map(({ file, dashboard }) => ({
    file: `${DASHBOARDS_DIR}/${file}`,
    text: dashboardJson(dashboard),
  }));
  const alertmanager = renderAlertmanager(root, config);
  const kubernetes = renderKubernetes(root, config, {
    rules,
    dashboards,
    alertmanager: alertmanager.text,
    withBase: options.target === 'directory',
  });
  const templates = options.target === 'directory' ? alertmanagerTemplates(root) : [];
  // The sketch is drawn from the JSON as written (a round trip), exactly as the stale test draws it.
  const sketch =
    options.target === 'repository'
      ? [{ file: SKETCH, text: renderSketch(dashboards.map((d) => JSON.parse(d.text))) }]
      : [];
  return [...rules, alertmanager, ...templates, ...dashboards, ...sketch, ...kubernetes];
}
