import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardLinkBuilder,
  type DynamicConfigValue,
  type Threshold,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import {
  DataqueryBuilder,
  PromQueryFormat,
  QueryEditorMode,
} from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { acrossReplicas, DATASOURCE, runbookLink } from './common.js';

/**
 * Panel factories whose signatures demand what the linter checks (a description saying what the panel means
 * and what to do, a unit, the datasource variable on panel and targets), so a new panel cannot forget them.
 */

/**
 * How a query treats the exporter's replicas, which serve every check alike (common.ts, REPLICA_LABELS):
 * - `merge` (the default): the expression gives a check's series once per replica, the same on each; the factory
 *   merges them (`acrossReplicas`), so a panel shows one series per check however many replicas run, and a new
 *   panel cannot forget it;
 * - `merged`: the expression aggregates the replicas away itself (a count of checks, a sum of each replica's
 *   runs), where a merge around the whole would come too late or say nothing;
 * - `each`: one series per replica, on purpose: the replica's own process, scrape, connections and share of the
 *   work (PER_INSTANCE_METRIC).
 */
export type Replicas = 'merge' | 'merged' | 'each';

export interface Query {
  expr: string;
  legend?: string;
  /** Overrides the panel's `replicas` for this query. */
  replicas?: Replicas;
}

export interface PanelSpec {
  title: string;
  /** What the panel means and what to do about it; Grafana shows it behind the (i) of the panel title. */
  description: string;
  unit: string;
  queries: Query[];
  w: number;
  h: number;
  thresholds?: Threshold[];
  mappings?: ValueMapping[];
  /** Alerts whose runbooks the panel links to (panel links, in the title's menu). */
  runbooks?: string[];
  links?: { title: string; url: string }[];
  min?: number;
  max?: number;
  /** How the queries treat the replicas (see Replicas); `merge` unless said. */
  replicas?: Replicas;
}

/** The methods every SDK panel builder shares. */
interface Common<B> {
  title(t: string): B;
  description(d: string): B;
  unit(u: string): B;
  datasource(d: typeof DATASOURCE): B;
  withTarget(q: DataqueryBuilder): B;
  height(h: number): B;
  span(w: number): B;
  links(l: DashboardLinkBuilder[]): B;
  thresholds(t: ThresholdsConfigBuilder): B;
  mappings(m: ValueMapping[]): B;
  min(n: number): B;
  max(n: number): B;
}

export function steps(list: Threshold[]): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(list);
}

/** For counts of bad things (firing alerts, failing checks): green at 0, red from 1. */
export const ANY_IS_BAD: Threshold[] = [
  { value: null, color: 'green' },
  { value: 1, color: 'red' },
];

/** 0/1 gauges shown as words instead of numbers. */
export function okMapping(ok: string, bad: string): ValueMapping[] {
  return [
    {
      type: 'value' as ValueMapping['type'],
      options: { '1': { text: ok, color: 'green', index: 0 }, '0': { text: bad, color: 'red', index: 1 } },
    } as ValueMapping,
  ];
}

function query(q: Query, i: number, instant: boolean, table = false, replicas?: Replicas): DataqueryBuilder {
  const mode = q.replicas ?? replicas ?? 'merge';
  const b = new DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(String.fromCharCode(65 + i))
    .expr(mode === 'merge' ? acrossReplicas(q.expr) : q.expr)
    .editorMode(QueryEditorMode.Code);
  if (q.legend) b.legendFormat(q.legend);
  if (instant) b.instant();
  else b.range();
  if (table) b.format(PromQueryFormat.Table);
  return b;
}

function apply<B extends Common<B>>(b: B, spec: PanelSpec, instant: boolean, table = false): B {
  b.title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(DATASOURCE)
    .height(spec.h)
    .span(spec.w);
  spec.queries.forEach((q, i) => {
    b.withTarget(query(q, i, instant, table, spec.replicas));
  });
  const links = [
    ...(spec.runbooks ?? []).map(runbookLink),
    ...(spec.links ?? []).map((l) => new DashboardLinkBuilder(l.title).url(l.url)),
  ];
  if (links.length > 0) b.links(links);
  if (spec.thresholds) b.thresholds(steps(spec.thresholds));
  if (spec.mappings) b.mappings(spec.mappings);
  if (spec.min !== undefined) b.min(spec.min);
  if (spec.max !== undefined) b.max(spec.max);
  return b;
}

/** One number now (instant query), coloured by its thresholds. */
export function stat(spec: PanelSpec): StatBuilder {
  return apply(new StatBuilder(), spec, true)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(common.BigValueTextMode.Auto);
}

export interface TimeseriesSpec extends PanelSpec {
  /** Draw the thresholds as a dashed line: where the alert fires. */
  thresholdLine?: boolean;
}

export function timeseries(spec: TimeseriesSpec): TimeseriesBuilder {
  const b = apply(new TimeseriesBuilder(), spec, false)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    )
    .fillOpacity(10)
    .lineWidth(1)
    .showPoints(common.VisibilityMode.Never);
  if (spec.thresholdLine) {
    b.thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
  }
  return b;
}

/** A 0/1 state per series over time: when each check or service was up or down. */
export function stateTimeline(spec: PanelSpec & { overrides?: Record<string, Threshold[]> }) {
  const b = apply(new StateTimelineBuilder(), spec, false)
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    .legend(new common.VizLegendOptionsBuilder().showLegend(false));
  // Series of different queries may follow different alerts: thresholds per query (refId).
  for (const [refId, list] of Object.entries(spec.overrides ?? {})) {
    b.overrideByQuery(refId, [{ id: 'thresholds', value: steps(list).build() }]);
  }
  return b;
}

export interface Column {
  /** The query's value column; labels come along as columns of their own. */
  expr: string;
  name: string;
  unit: string;
  thresholds?: Threshold[];
  mappings?: ValueMapping[];
  /** Overrides the table's `replicas` for this column. */
  replicas?: Replicas;
}

/**
 * One row per series: instant queries in table format, merged on their labels. Each value column is named,
 * unit-ed and coloured by one override on its own field name (`Value #<refId>`), so nothing depends on the
 * order transformations rename fields in.
 */
export function table(
  spec: Omit<PanelSpec, 'queries'> & { labels: string[]; columns: Column[] },
): TableBuilder {
  const b = apply(
    new TableBuilder(),
    { ...spec, queries: spec.columns.map((c) => ({ expr: c.expr, replicas: c.replicas })) },
    true,
    true,
  );
  const valueNames = spec.columns.map((_, i) => `Value #${String.fromCharCode(65 + i)}`);
  b.withTransformation({ id: 'merge', options: {} }).withTransformation({
    id: 'filterFieldsByName',
    options: { include: { names: [...spec.labels, ...valueNames] } },
  });
  spec.columns.forEach((c, i) => {
    const props: DynamicConfigValue[] = [
      { id: 'displayName', value: c.name },
      { id: 'unit', value: c.unit },
    ];
    if (c.thresholds) {
      props.push({ id: 'thresholds', value: steps(c.thresholds).build() });
      props.push({ id: 'custom.cellOptions', value: { type: 'color-background' } });
    }
    if (c.mappings) props.push({ id: 'mappings', value: c.mappings });
    b.overrideByName(valueNames[i] as string, props);
  });
  return b;
}

/**
 * Overrides drawing one query's series as a dashed line of one colour: an alert's line that moves with the
 * data (a baseline minus a margin), where a fixed threshold line cannot be used.
 */
export function dashed(color: string): DynamicConfigValue[] {
  return [
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'color', value: { mode: 'fixed', fixedColor: color } },
  ];
}
