import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import {
  AnnotationQueryBuilder,
  type Dashboard,
  DashboardLinkBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { parser } from '@prometheus-io/lezer-promql';
import { bundleConfig, jobMatcher } from './environment.js';
import type { RuleSet } from './rules.js';

/** What every mlwatch dashboard shares: the datasource, the variables, the alert annotation, the links. */

/** The uid grafana/provisioning/datasources/prometheus.yml gives the bundle's Prometheus. */
export const PROVISIONED_DATASOURCE_UID = 'mlwatch-prometheus';

/** Every panel and target reads the datasource variable, so the dashboards work against any Prometheus. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export const TAGS = ['mlwatch'];

export function runbookUrl(alert: string): string {
  return `${bundleConfig().runbook_base_url}${alert}.md`;
}

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource')
    .label('Data source')
    .type('prometheus')
    .current({ text: 'Prometheus', value: PROVISIONED_DATASOURCE_UID });
}

/**
 * A label's values as a multi-select with "All" = `.*`: panels match it with `=~"$name"`, which is also how
 * the live stack test runs every query (variables replaced by `.*`).
 */
export function labelVariable(name: string, label: string, source: string, description: string) {
  const definition = `label_values(${source}, ${name})`;
  return new QueryVariableBuilder(name)
    .label(label)
    .description(description)
    .datasource(DATASOURCE)
    .query({ qryType: 1, query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(definition)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: ['All'], value: ['$__all'] });
}

export function instanceVariable() {
  return labelVariable(
    'instance',
    'Instance',
    `up{${jobMatcher()}}`,
    'The mlwatch exporters Prometheus scrapes.',
  );
}

/** Matchers that narrow a selector to the chosen instances. */
export const BY_INSTANCE = 'instance=~"$instance"';

/**
 * The labels that tell the exporter's replicas apart: the scrape target, and the pod under Kubernetes. Replicas
 * share their checks (docs/kubernetes.md, "Two replicas"): one runs a check, and every replica serves its result,
 * so each check series reaches Prometheus once per replica, differing only in these labels.
 */
export const REPLICA_LABELS = 'instance, pod';

/**
 * One series per check whatever the number of replicas: the check values of every replica, merged. The replicas
 * serve the same values (the runner's), so `max` picks that value; where they differ for a moment (a scrape
 * between the runner's new result and the other replica taking it, or a dataset's age growing on each replica's
 * own clock) it shows the higher: the older age, but also the better of two AUCs, for at most one check interval.
 * Other labels (cluster, namespace, job) stay, so two deployments never merge.
 */
export function acrossReplicas(expr: string): string {
  return `max without (${REPLICA_LABELS}) (${expr})`;
}

/**
 * Series about one exporter process, its scrape, its connections or its machine, rather than a check's
 * result: each replica has values of its own (up, memory, its warehouse connection and config, which checks it
 * runs itself, the runs it made and the results it took from the runner), and node_exporter's `instance` is a
 * machine. Panels show these per instance, or sum the run counters over the replicas (the warehouse's runs).
 * Every other mlwatch_ series a panel reads is served alike by every replica.
 */
export const PER_INSTANCE_METRIC =
  /^(up|scrape_\w+|process_\w+|nodejs_\w+|node_\w+|mlwatch_(warehouse_up|build_info|config_\w+|web_config_\w+|http_requests_refused_total|check_runner|check_(runs|errors|overruns|peer_results)_total))$/;

/** Metric names an expression reads (every vector selector's). */
export function metricsOf(expr: string): string[] {
  const names = new Set<string>();
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return;
      const id = node.node.getChild('Identifier');
      if (id) names.add(expr.slice(id.from, id.to));
    },
  });
  return [...names];
}

/**
 * How many alerts of a layer are in a state, each counted once: an alert on a check's values is raised by
 * every replica (the copies differ only in REPLICA_LABELS, and Alertmanager sends them as one notification), so
 * its copies count as one; an alert on a per-instance series (an exporter down, a machine's disk) counts once
 * per instance, as each is a problem of its own. `or vector(0)`: a quiet layer shows 0, not "No data".
 */
export function countAlerts(rules: RuleSet, layer: string, state: string, matchers = ''): string {
  const own = rules.rules
    .filter(
      (r) =>
        r.alert && r.labels?.layer === layer && metricsOf(r.expr).some((m) => PER_INSTANCE_METRIC.test(m)),
    )
    .map((r) => r.alert as string);
  const sel = `alertstate="${state}",layer="${layer}"${matchers ? `,${matchers}` : ''}`;
  const names = [...new Set(own)].sort().join('|');
  const copies = names ? `ALERTS{${sel},alertname!~"${names}"}` : `ALERTS{${sel}}`;
  const perInstance = names ? ` or ALERTS{${sel},alertname=~"${names}"}` : '';
  return `count(group without (${REPLICA_LABELS}) (${copies})${perInstance}) or vector(0)`;
}

/** The description of a countAlerts panel, saying how copies count. */
export function countedOnce(description: string): string {
  return `${description} An alert on a check counts once, however many replicas of the exporter raise it.`;
}

/** Marks the time ranges where alerts of a layer (or of every layer) were firing. */
export function firingAlertsAnnotation(layer?: string): AnnotationQueryBuilder {
  const selector = layer ? `ALERTS{alertstate="firing",layer="${layer}"}` : 'ALERTS{alertstate="firing"}';
  return new AnnotationQueryBuilder()
    .name(layer ? `Firing ${layer} alerts` : 'Firing alerts')
    .datasource(DATASOURCE)
    .enable(true)
    .iconColor('red')
    .expr(selector)
    .step('1m')
    .titleFormat('{{alertname}}')
    .textFormat('{{severity}} alert of the {{layer}} layer on {{instance}}')
    .tagKeys('severity,layer');
}

export function runbookLink(alert: string): DashboardLinkBuilder {
  return new DashboardLinkBuilder(`Runbook: ${alert}`)
    .url(runbookUrl(alert))
    .icon('doc')
    .tooltip(`What to do when ${alert} fires`)
    .targetBlank(true);
}

/** A link to another mlwatch dashboard that keeps the time range and the shared variables. */
export function dashboardLink(title: string, uid: string): DashboardLinkBuilder {
  return new DashboardLinkBuilder(title).url(`/d/${uid}`).icon('dashboard').keepTime(true).includeVars(true);
}

/**
 * The SDK leaves panel ids unset (rows get 0) and puts every link and annotation toggle in the controls menu
 * (`placement`); number the panels in grid order and show links and toggles in the dashboard's header.
 */
export function finalize(dashboard: Dashboard): Dashboard {
  let id = 0;
  for (const panel of dashboard.panels ?? []) {
    panel.id = ++id;
    if (panel.type === 'row')
      for (const inner of (panel as { panels: { id?: number }[] }).panels) inner.id = ++id;
  }
  for (const link of dashboard.links ?? []) delete link.placement;
  for (const a of dashboard.annotations.list ?? []) delete a.placement;
  return dashboard;
}
