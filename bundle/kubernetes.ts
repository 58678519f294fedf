import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { kubernetesFiles, OUT_DIR } from '../scripts/gen-kubernetes.js';
import { AM_CONFIG_FILE, renderAlertmanagerConfig } from './alertmanager-config.js';
import type { BundleConfig } from './config.js';
import type { GeneratedFile } from './files.js';

/**
 * The Kustomize base (deploy/kubernetes) for a bundle config: the generated PrometheusRule and dashboard ConfigMaps
 * from the rules and dashboards just rendered, the AlertmanagerConfig from the alertmanager.yml just rendered, and, when
 * rendering into a directory of one's own, the hand-written objects copied next to them, so
 * `kubectl kustomize <out>/deploy/kubernetes` renders a complete base.
 */

/** The Service's name, which prometheus-operator makes the targets' `job` label (the ServiceMonitor has no jobLabel). */
export const SERVICE_NAME = 'mlwatch';
const SERVICE_MONITOR = 'servicemonitor.yaml';
const GENERATED = new Set(['prometheus-rule.yaml', 'dashboards.yaml', basename(AM_CONFIG_FILE)]);

export function renderKubernetes(
  root: string,
  config: BundleConfig,
  rendered: { rules: GeneratedFile[]; dashboards: GeneratedFile[]; alertmanager: string; withBase: boolean },
): GeneratedFile[] {
  const generated = [
    ...kubernetesFiles(rendered.rules, rendered.dashboards),
    renderAlertmanagerConfig(rendered.alertmanager),
  ];
  if (!rendered.withBase) return generated;
  const base = readdirSync(join(root, OUT_DIR))
    .filter((f) => !GENERATED.has(f))
    .sort()
    .map((f) => {
      const text = readFileSync(join(root, OUT_DIR, f), 'utf8');
      return { file: `${OUT_DIR}/${f}`, text: f === SERVICE_MONITOR ? withJob(text, config.job) : text };
    });
  return [...base, ...generated];
}

/**
 * The ServiceMonitor, scraping with the config's `job`. Without it the targets' job is the Service's name
 * (`mlwatch`); for another job a relabeling sets it instead of renaming the Service, which the docs' commands
 * and an overlay's patches name. prometheus-operator appends an endpoint's relabelings after its own `job`
 * relabeling, so this one wins.
 */
export function withJob(text: string, job: string): string {
  if (job === SERVICE_NAME) return text;
  const doc = parseDocument(text);
  const endpoints = doc.getIn(['spec', 'endpoints'], true);
  if (!isSeq(endpoints) || endpoints.items.length === 0) {
    throw new Error(`${OUT_DIR}/${SERVICE_MONITOR}: no spec.endpoints to set the job label on`);
  }
  for (const endpoint of endpoints.items) {
    if (!isMap(endpoint)) continue;
    if (endpoint.has('relabelings')) {
      throw new Error(
        `${OUT_DIR}/${SERVICE_MONITOR}: has relabelings already; add the job relabeling by hand`,
      );
    }
    const relabelings = doc.createNode([{ action: 'replace', targetLabel: 'job', replacement: job }]);
    relabelings.commentBefore =
      " The bundle config's job (docs/bundle.md), which the rules and dashboards select.";
    endpoint.set('relabelings', relabelings);
  }
  return doc.toString({ lineWidth: 0 });
}
