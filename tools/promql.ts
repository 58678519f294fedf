import { parser } from '@prometheus-io/lezer-promql';

/**
 * PromQL as the rule and dashboard linters see it: parse with Prometheus' own lezer grammar, report syntax
 * errors, and list the metric names an expression reads.
 */

export interface PromqlInfo {
  /** Syntax error positions; empty when the expression parses. */
  errors: number[];
  /** Metric names of every vector or matrix selector, including {__name__="..."} matchers. */
  metrics: string[];
  /**
   * Every label list that says which labels an aggregation or a vector match keeps (`by (...)`, `on (...)`) or
   * drops (`without (...)`, `ignoring (...)`); `group_left (...)`/`group_right (...)` lists are not among them.
   */
  groupings: { modifier: 'by' | 'on' | 'without' | 'ignoring'; labels: string[] }[];
}

/** Grafana variables ($__rate_interval, $datasource, ${x}) replaced so the grammar can parse a panel query. */
export function stripGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)/g, '5m')
    .replace(/\[\$\{?\w+\}?\]/g, '[5m]')
    .replace(/"\$\{?\w+(:\w+)?\}?"/g, '"x"')
    .replace(/\$\{?\w+(:\w+)?\}?/g, 'x');
}

export function inspectPromql(expr: string): PromqlInfo {
  const tree = parser.parse(expr);
  const errors: number[] = [];
  const metrics = new Set<string>();
  const groupings: PromqlInfo['groupings'] = [];
  const modifiers = { By: 'by', On: 'on', Without: 'without', Ignoring: 'ignoring' } as const;
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) metrics.add(expr.slice(id.from, id.to));
      }
      const modifier = modifiers[node.name as keyof typeof modifiers];
      const list = modifier && node.node.nextSibling;
      if (modifier && list?.name === 'GroupingLabels') {
        const labels = list.getChildren('LabelName').map((l) => expr.slice(l.from, l.to));
        groupings.push({ modifier, labels });
      }
      if (node.name === 'UnquotedLabelMatcher' || node.name === 'LabelMatcher') {
        const text = expr.slice(node.from, node.to);
        const m = /^__name__\s*=\s*"([^"]+)"$/.exec(text);
        if (m) metrics.add(m[1] as string);
      }
    },
  });
  return { errors, metrics: [...metrics], groupings };
}
