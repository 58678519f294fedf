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
import { bundleConfig, jobMatcher } from './environment.js';

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
