import { TableSortByFieldStateBuilder } from '@grafana/grafana-foundation-sdk/common';
import {
  type Dashboard,
  DashboardBuilder,
  type DynamicConfigValue,
  MappingType,
  RowBuilder,
  SpecialValueMatch,
  type Threshold,
  type ValueMapping,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { parser } from '@prometheus-io/lezer-promql';
import {
  BY_INSTANCE,
  countAlerts,
  countedOnce,
  dashboardLink,
  datasourceVariable,
  finalize,
  firingAlertsAnnotation,
  instanceVariable,
  labelVariable,
  runbookLink,
  TAGS,
} from './common.js';
import { DATA_QUALITY_UID } from './data-quality.js';
import { EXPORTER_UID } from './exporter.js';
import { OVERVIEW_UID } from './overview.js';
import { ANY_IS_BAD, dashed, stat, table, timeseries } from './panels.js';
import { findAlert, type RuleSet, recordingRuleNames } from './rules.js';
import { scope } from './scope.js';
import {
  ALERT_COLOR,
  type AlertThreshold,
  alertSteps,
  alertThreshold,
  OK_COLOR,
  parseThreshold,
} from './thresholds.js';

/**
 * The models mlwatch judges from their predictions and labels: ranking, calibration and errors at the
 * threshold for classification models, errors for regression models, and whether labels arrive at all.
 * Every line and colour comes from the rules of prometheus/rules/model.rules.yml.
 */

export const MODEL_PERFORMANCE_UID = 'mlwatch-model-performance';

/** The chosen models on the chosen exporters. */
const MODEL = `model=~"$model",${BY_INSTANCE}`;
/** ... and versions (`version=~".*"` also matches a model without versions, which has no such label). */
const VERSION = `${MODEL},version=~"$version"`;
/** Per-version, per-window families (AUC, MAE, predictions, ...). */
const SEL = `${VERSION},window=~"$window"`;
/** Families with a window but no version (label delay, leakage). */
const SEL_NO_VERSION = `${MODEL},window=~"$window"`;

/**
 * The classification models of the dashboard, binary or multiclass, one series each (value 1): those with an
 * accuracy in some window. Multiplied by NaN it stands in for the regression metrics they do not have, which the
 * panels show as "classification model": a 0 there would claim a perfect regression model.
 */
const CLASSIFIERS =
  `group by (job, instance, model) (mlwatch_model_accuracy{${VERSION}} ` +
  `or mlwatch_model_multiclass_accuracy{${VERSION}})`;
const orClassifier = (expr: string) => `${expr} or on (job, instance, model) (${CLASSIFIERS} * NaN)`;

/** A per-version comparison with the previous version, or NaN where a version has an AUC but nothing to compare. */
const orNoPrevious = (expr: string) =>
  `${expr} or on (job, instance, model, window, version) (mlwatch_model_auc{${SEL}} * NaN)`;

const nanAs = (text: string): ValueMapping[] => [
  {
    type: MappingType.SpecialValue,
    options: { match: SpecialValueMatch.NotANumber, result: { text, color: 'transparent', index: 0 } },
  },
];

const ANY_IS_PENDING: Threshold[] = [
  { value: null, color: 'green' },
  { value: 1, color: 'orange' },
];

/** Steps for `> N` on a count: N itself is healthy, N + 1 fires (alertSteps would colour N red). */
function countSteps(t: AlertThreshold): Threshold[] {
  if (t.op !== '>' || !Number.isInteger(t.value)) return alertSteps(t);
  return [
    { value: null, color: OK_COLOR },
    { value: t.value + 1, color: ALERT_COLOR },
  ];
}

/** The number an alert compares with, also when the rule writes it as a product (`> 10 * 86400`). */
function constantOf(t: AlertThreshold): number {
  if (t.kind === 'constant') return t.value;
  if (!/^\s*\d[\d.]*(\s*\*\s*\d[\d.]*)*\s*$/.test(t.rhs)) {
    throw new Error(`alert ${t.alert}: the right side \`${t.rhs}\` is not a number or a product of numbers`);
  }
  return t.rhs.split('*').reduce((a, f) => a * Number(f), 1);
}

/** The `window="..."` an alert's left side watches (the dashboard's variable may show others). */
function windowOf(t: { alert: string; lhs: string }): string {
  const w = /window="([^"]+)"/.exec(t.lhs)?.[1];
  if (!w) throw new Error(`alert ${t.alert}: no window="..." matcher in \`${t.lhs}\``);
  return w;
}

/** The windows an alert's left side selects with `window=~"1d|7d"`, as words ("1d and 7d"). */
function driftWindows(t: { alert: string; lhs: string }): string {
  const w = /window=~"([^"]+)"/.exec(t.lhs)?.[1];
  if (!w) throw new Error(`alert ${t.alert}: no window=~"..." matcher in \`${t.lhs}\``);
  const list = w.split('|');
  return list.length > 1 ? `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}` : w;
}

/** The minimum-volume guard on the right of `and`: `<labeled predictions> >= N`. */
function volumeGuard(rules: RuleSet, alert: string): AlertThreshold {
  const expr = findAlert(rules, alert).expr;
  let guard: string | undefined;
  parser.parse(expr).iterate({
    enter(node) {
      if (guard !== undefined || node.name !== 'BinaryExpr' || !node.node.getChild('And')) return;
      const right = node.node.lastChild;
      if (right) guard = expr.slice(right.from, right.to);
      return false;
    },
  });
  if (guard === undefined) {
    throw new Error(
      `alert ${alert}: no \`and <labeled predictions> >= N\` minimum-volume guard in \`${expr}\``,
    );
  }
  return parseThreshold(`${alert} (volume guard)`, guard);
}

interface SeriesThreshold {
  alert: string;
  for: string;
  /** The metric compared, as the rule writes it (`mlwatch_model_mae{window="14d"}`). */
  lhs: string;
  /**
   * The recording rule holding each model's threshold per exporter (`model:mlwatch_model_mae:effective_threshold`,
   * labelled job, instance, model): the model's line in the rules, else the default.
   */
  series: string;
  /** The comparison, as written: `<` or `>` (or `<=`, `>=`). */
  op: string;
  /** The default of a model without a line: the number in the recording rule's `or` branch (0.65, or 1.2 of `1.2 * reference`). */
  fallback: number;
}

/**
 * An alert comparing a metric with a per-model threshold series (`x > on (job, instance, model) group_left ()
 * <recording rule>`, or `<`): the threshold is not one number but one series per model, which the panels draw
 * as a line. The recording rule must end in `or on (...) <default>`, whose number the descriptions quote.
 */
function seriesThreshold(rules: RuleSet, alert: string): SeriesThreshold {
  const rule = findAlert(rules, alert);
  const expr = rule.expr;
  const ops: Record<string, string> = { Gtr: '>', Gte: '>=', Lss: '<', Lte: '<=' };
  let found: { lhs: string; rhs: string; op: string } | undefined;
  parser.parse(expr).iterate({
    enter(node) {
      if (found || node.name !== 'BinaryExpr') return;
      const n = node.node;
      const op = Object.keys(ops).find((o) => n.getChild(o));
      if (op === undefined) return;
      const { firstChild: l, lastChild: r } = n;
      if (l && r)
        found = { lhs: expr.slice(l.from, l.to), rhs: expr.slice(r.from, r.to), op: ops[op] as string };
      return false;
    },
  });
  if (!found || !recordingRuleNames(rules).includes(found.rhs)) {
    throw new Error(
      `alert ${alert}: expected \`<metric> > on (job, instance, model) group_left () <recording rule>\` in \`${expr}\``,
    );
  }
  const record = rules.rules.find((r) => r.record === found?.rhs)?.expr ?? '';
  const tree = parser.parse(record);
  let orRight: { from: number; to: number } | undefined;
  tree.iterate({
    enter(node) {
      if (orRight || node.name !== 'BinaryExpr' || !node.node.getChild('Or')) return;
      const r = node.node.lastChild;
      if (r) orRight = { from: r.from, to: r.to };
      return false;
    },
  });
  // The first number right of the `or`: the default itself, or its factor.
  let fallback: number | undefined;
  tree.iterate({
    enter(node) {
      if (fallback !== undefined || !orRight || node.name !== 'NumberDurationLiteral') return;
      if (node.from >= orRight.from && node.to <= orRight.to)
        fallback = Number(record.slice(node.from, node.to));
    },
  });
  if (fallback === undefined || Number.isNaN(fallback)) {
    throw new Error(
      `recording rule ${found.rhs}: expected \`<lines> or on (...) <default>\` in \`${record}\``,
    );
  }
  return { alert, for: rule.for ?? '0s', lhs: found.lhs, series: found.rhs, op: found.op, fallback };
}

/** Overrides drawing one query's series as a dashed red line: a threshold that differs per model. */
function thresholdSeries(): DynamicConfigValue[] {
  return [
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'color', value: { mode: 'fixed', fixedColor: ALERT_COLOR } },
  ];
}

function modelAlertCount(rules: RuleSet, state: 'firing' | 'pending') {
  const firing = state === 'firing';
  return stat({
    title: `Model alerts ${state}`,
    description: countedOnce(
      firing
        ? 'Model-layer alerts firing now for the chosen models. 0 is healthy; otherwise the red annotations on ' +
            'the graphs mark when they started, Alertmanager lists them, and each alert links its runbook (also ' +
            "in this dashboard's header). Check the labels row first: performance computed from missing or " +
            'leaking labels is not to be trusted.'
        : 'Model-layer alerts whose condition holds but whose `for` has not passed yet: what will page or open ' +
            'a ticket next if nothing changes. A count that lingers deserves a look at the panels below.',
    ),
    unit: units.Short,
    w: 6,
    h: 6,
    queries: [{ expr: countAlerts(rules, 'model', state, MODEL) }],
    replicas: 'merged',
    thresholds: firing ? ANY_IS_BAD : ANY_IS_PENDING,
  });
}

export function modelPerformanceDashboard(rules: RuleSet): Dashboard {
  const auc = seriesThreshold(rules, 'MlwatchModelAucLow');
  // Colours follow the default; a model with a line of its own has it drawn (and listed) as a series.
  const aucDefault = parseThreshold(
    `${auc.alert} (default)`,
    `${auc.lhs} ${auc.op} ${auc.fallback}`,
    auc.for,
  );
  const aucGuard = volumeGuard(rules, auc.alert);
  const versionWorse = alertThreshold(rules, 'MlwatchModelVersionWorse');
  const mae = seriesThreshold(rules, 'MlwatchModelErrorHigh');
  const rmse = seriesThreshold(rules, 'MlwatchModelRmseHigh');
  const errorGuard = volumeGuard(rules, mae.alert);
  const coverage = alertThreshold(rules, 'MlwatchModelLabelCoverageLow');
  const delay = alertThreshold(rules, 'MlwatchModelLabelDelayHigh');
  const leakage = alertThreshold(rules, 'MlwatchModelLabelLeakage');
  const drift = alertThreshold(rules, 'MlwatchModelPredictionDrift');
  const driftGuard = volumeGuard(rules, drift.alert);
  const estimated = estimatedAccuracyRule(rules);
  const multiclassAuc = alertThreshold(rules, 'MlwatchModelMulticlassAucLow');
  const multiclassGuard = volumeGuard(rules, multiclassAuc.alert);
  const alerts = [
    auc.alert,
    multiclassAuc.alert,
    versionWorse.alert,
    mae.alert,
    rmse.alert,
    drift.alert,
    estimated.alert,
    coverage.alert,
    delay.alert,
    leakage.alert,
  ];

  const pct = (v: number) => `${Math.round(v * 1000) / 10} %`;
  const delaySeconds = constantOf(delay);
  const delayDays = delaySeconds / 86400;
  const delaySteps: Threshold[] = [
    { value: null, color: OK_COLOR },
    { value: delaySeconds, color: ALERT_COLOR },
  ];
  const guardSteps: Threshold[] = [
    { value: null, color: 'orange' },
    { value: aucGuard.value, color: OK_COLOR },
  ];
  const perVersion = '{{model}} {{version}} ({{window}})';
  /** Regression metrics: the model's own, or "classification model" where it has none. */
  const regression = (metric: string) => orClassifier(`${metric}{${SEL}}`);
  /** Each regression series' threshold from the recording rule (none: no line and no reference yet). */
  const limitOf = (t: SeriesThreshold) =>
    orClassifier(
      `(0 * ${t.lhs.replace(/\{.*\}$/, '')}{${SEL}} + on (job, instance, model) group_left () ${t.series})`,
    );

  const builder = new DashboardBuilder('mlwatch model performance')
    .uid(MODEL_PERFORMANCE_UID)
    .description(
      'The models mlwatch judges from their predictions and labels in the warehouse: AUC, calibration and ' +
        'errors at the threshold (classification), per-class AUC and F1 (multiclass), MAE, RMSE and the like ' +
        '(regression), and whether labels arrive. Lines and colours follow the model-layer alert rules.',
    )
    .tags(TAGS)
    .time({ from: 'now-7d', to: 'now' })
    .refresh('5m')
    .withVariable(datasourceVariable())
    .withVariable(instanceVariable())
    .withVariable(
      labelVariable(
        'model',
        'Model',
        `mlwatch_model_info{${BY_INSTANCE}}`,
        'The models the chosen exporters judge (mlwatch_model_info{model}).',
      ),
    )
    .withVariable(
      labelVariable(
        'window',
        'Window',
        `mlwatch_model_predictions{${MODEL}}`,
        'The windows the metrics are computed over (now - window to now), as configured per model. The ' +
          `performance alerts watch ${windowOf(auc)}: the widest default window, with the most labels.`,
      )
        .sort(VariableSort.NaturalAsc)
        .current({ text: [windowOf(auc)], value: [windowOf(auc)] }),
    )
    .withVariable(
      labelVariable(
        'version',
        'Version',
        `mlwatch_model_info{${MODEL}}`,
        'The model versions with predictions in the widest window (predictions.version). A model without ' +
          'configured versions has none; "All" includes it.',
      ),
    )
    .annotation(firingAlertsAnnotation('model'))
    .link(dashboardLink('Overview', OVERVIEW_UID))
    .link(dashboardLink('Data quality', DATA_QUALITY_UID))
    .link(dashboardLink('Exporter', EXPORTER_UID));
  for (const a of alerts) builder.link(runbookLink(a));

  builder
    .withRow(new RowBuilder('Models and alerts'))
    .withPanel(
      table({
        title: 'Models',
        description:
          'One row per model version that made predictions in the widest window, with its owner as ' +
          'configured (who to call about it). Several versions of a model at once is a rollout or an A/B ' +
          'test: compare them in "AUC by version" below. An empty version: the model has no ' +
          'predictions.version column configured.',
        unit: units.NoUnit,
        w: 12,
        h: 6,
        labels: ['model', 'version', 'model_owner'],
        columns: [
          {
            expr: `mlwatch_model_info{${VERSION}}`,
            name: 'Status',
            unit: units.NoUnit,
            mappings: [{ type: MappingType.ValueToText, options: { '1': { text: 'predicting', index: 0 } } }],
          },
        ],
      }),
    )
    .withPanel(modelAlertCount(rules, 'firing'))
    .withPanel(modelAlertCount(rules, 'pending'))

    .withRow(new RowBuilder('Classification: ranking and calibration'))
    .withPanel(
      timeseries({
        title: 'AUC by window',
        description:
          'ROC AUC of each classification model version over the chosen windows (0.5 is a coin toss, 1 a ' +
          'perfect ranking), with dotted lines one standard error above and below. The red dashed lines are ' +
          `each model's threshold (\`${auc.series}\`: its line in prometheus/rules/model.rules.yml, else ` +
          `the default ${auc.fallback}, where the background turns red): ${auc.alert} pages after ${auc.for} ` +
          `below it in the ${windowOf(auc)} window, when that window has at least ${aucGuard.value} labeled ` +
          'predictions. A ' +
          'drop in a short window only is recent; inside the standard error it is noise. Check the labels row ' +
          'and the data-quality dashboard (drift) before retraining (runbook). No AUC without labels or ' +
          'with one class only (young windows).',
        unit: units.NoUnit,
        w: 12,
        h: 8,
        queries: [
          { expr: `mlwatch_model_auc{${SEL}}`, legend: perVersion },
          {
            expr: `mlwatch_model_auc{${SEL}} - mlwatch_model_auc_stderr{${SEL}}`,
            legend: `${perVersion} - 1 SE`,
          },
          {
            expr: `mlwatch_model_auc{${SEL}} + mlwatch_model_auc_stderr{${SEL}}`,
            legend: `${perVersion} + 1 SE`,
          },
          { expr: `${auc.series}{${MODEL}}`, legend: `{{model}}: ${auc.alert} below` },
        ],
        thresholds: alertSteps(aucDefault),
        thresholdLine: true,
        runbooks: [auc.alert],
      })
        .overrideByQuery('D', thresholdSeries())
        .overrideByQuery('B', [
          { id: 'custom.lineStyle', value: { fill: 'dot', dash: [0, 10] } },
          { id: 'custom.fillOpacity', value: 0 },
        ])
        .overrideByQuery('C', [
          { id: 'custom.lineStyle', value: { fill: 'dot', dash: [0, 10] } },
          { id: 'custom.fillOpacity', value: 0 },
        ]),
    )
    .withPanel(
      table({
        title: 'AUC by version',
        description:
          'Each model version now, lowest AUC first: AUC (red below the default alert threshold), the ' +
          "model's own threshold, its standard (Hanley-McNeil) error, and the predictions it comes from. " +
          '"Below previous": the AUC of the version it followed (the one before it by first prediction) minus ' +
          `its own; ${versionWorse.alert} opens a ticket with the rollback command to that version when this ` +
          `is more than the next column, ${versionWorse.value} standard errors of the difference, in the ` +
          `${windowOf(auc)} window. An orange labeled count is below the ` +
          `${aucGuard.value} of ${auc.alert}'s guard: such a version never alerts, its AUC is noisy. ` +
          '"not computed": no labels yet in that window, or labels of one class only.',
        unit: units.NoUnit,
        w: 12,
        h: 8,
        labels: ['model', 'version', 'window'],
        columns: [
          {
            expr:
              `mlwatch_model_auc{${SEL}} or on (job, instance, model, window, version) ` +
              `(mlwatch_model_predictions{${SEL}} * NaN)`,
            name: 'AUC',
            unit: units.NoUnit,
            thresholds: alertSteps(aucDefault),
            mappings: nanAs('not computed'),
          },
          {
            expr: `0 * mlwatch_model_auc{${SEL}} + on (job, instance, model) group_left () ${auc.series}`,
            name: 'Threshold',
            unit: units.NoUnit,
          },
          { expr: `mlwatch_model_auc_stderr{${SEL}}`, name: '± stderr', unit: units.NoUnit },
          // One previous version per version: dropping its label keeps the table's rows one per version. "-"
          // for the oldest version, a model without versions, or a window without both AUCs.
          {
            expr: orNoPrevious(
              `max without (previous_version) (model_version:mlwatch_model_auc:drop_from_previous{${SEL}})`,
            ),
            name: 'Below previous',
            unit: units.NoUnit,
            mappings: nanAs('-'),
          },
          {
            expr: orNoPrevious(
              `${versionWorse.value} * max without (previous_version) ` +
                `(model_version:mlwatch_model_auc_stderr:combined_with_previous{${SEL}})`,
            ),
            name: `${versionWorse.value} SE of the difference`,
            unit: units.NoUnit,
            mappings: nanAs('-'),
          },
          {
            expr: `mlwatch_model_labeled_predictions{${SEL}}`,
            name: 'Labeled predictions',
            unit: units.Short,
            thresholds: guardSteps,
          },
          { expr: `mlwatch_model_predictions{${SEL}}`, name: 'Predictions', unit: units.Short },
        ],
        runbooks: [auc.alert, versionWorse.alert],
      }).sortBy([new TableSortByFieldStateBuilder().displayName('AUC').desc(false)]),
    )
    .withPanel(
      timeseries({
        title: 'Log loss',
        description:
          'Mean log loss of the scores on labeled predictions (lower is better; always guessing the base rate ' +
          'gives about 0.47 at a 15 % positive rate). Unlike AUC it punishes confident wrong scores: a rise ' +
          'with a steady AUC means the scores lost calibration (see calibration error), not their ranking. No ' +
          'alert watches it.',
        unit: units.NoUnit,
        w: 8,
        h: 7,
        queries: [{ expr: `mlwatch_model_log_loss{${SEL}}`, legend: perVersion }],
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Brier score',
        description:
          'Mean squared difference between score and label (0 is perfect; a constant score at the base rate ' +
          'p gives p(1-p)). It mixes ranking and calibration; read it with AUC and the calibration error. No ' +
          'alert watches it.',
        unit: units.NoUnit,
        w: 8,
        h: 7,
        queries: [{ expr: `mlwatch_model_brier_score{${SEL}}`, legend: perVersion }],
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Calibration error',
        description:
          'Expected calibration error: over 10 score bins, how far the mean score is from the share of ' +
          'positives, weighted by bin size. A few points is normal. A rise means scores no longer read as ' +
          'probabilities: thresholds and business rules built on them misfire even with a steady AUC; ' +
          'recalibrate (e.g. Platt or isotonic on recent labels) or retrain.',
        unit: units.PercentUnit,
        w: 8,
        h: 7,
        queries: [{ expr: `mlwatch_model_calibration_error{${SEL}}`, legend: perVersion }],
        min: 0,
      }),
    )

    .withRow(new RowBuilder('Classification: at the threshold'))
    .withPanel(
      timeseries({
        title: 'Accuracy, precision, recall, F1',
        description:
          "The model's decisions at its configured threshold (positive iff score >= threshold) on labeled " +
          'predictions. Precision: how many flagged cases are real; recall: how many real cases are flagged. ' +
          'Accuracy alone misleads with rare positives. A recall drop with a steady AUC means the threshold ' +
          'no longer fits the scores: compare the positive rates on the right. No alert watches these.',
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        queries: [
          { expr: `mlwatch_model_accuracy{${SEL}}`, legend: `${perVersion} accuracy` },
          { expr: `mlwatch_model_precision{${SEL}}`, legend: `${perVersion} precision` },
          { expr: `mlwatch_model_recall{${SEL}}`, legend: `${perVersion} recall` },
          { expr: `mlwatch_model_f1{${SEL}}`, legend: `${perVersion} F1` },
        ],
        min: 0,
        max: 1,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Predicted and actual positive rate',
        description:
          'Share of labeled predictions that are positive: predicted (score >= threshold) and actual (label). ' +
          'Apart they show the threshold over- or under-flags; moving together they show a change in the ' +
          'population (prior shift): check feature drift on the data-quality dashboard.',
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        queries: [{ expr: `mlwatch_model_positive_rate{${SEL}}`, legend: `${perVersion} {{source}}` }],
        min: 0,
      }),
    )

    .withPanel(
      timeseries({
        title: 'Realized and estimated accuracy',
        description:
          `Realized: accuracy over the labeled predictions of the last ${estimated.realizedWindow}. Estimated: ` +
          `the accuracy expected on the unlabeled predictions of the last ${estimated.estimatedWindow}, from ` +
          'their scores (expected TP = sum of scores of predicted positives, and so on; it assumes calibrated ' +
          `scores: docs/metrics.md). ${estimated.alert} opens a ticket when the estimate stays more than ` +
          `${estimated.margin} below the realized accuracy (the dashed line) for ${estimated.for}: the model ` +
          'grows less sure days before the labels say whether it is wrong. No estimated line: every recent ' +
          'prediction is already labeled, or the model is a regression.',
        unit: units.PercentUnit,
        w: 24,
        h: 8,
        queries: [
          {
            expr: `mlwatch_model_accuracy{window="${estimated.realizedWindow}",${MODEL}}`,
            legend: `${perVersion} realized (${estimated.realizedWindow})`,
          },
          {
            expr: `mlwatch_model_estimated_accuracy{window="${estimated.estimatedWindow}",${MODEL}}`,
            legend: `${perVersion} estimated (${estimated.estimatedWindow}, unlabeled)`,
          },
          {
            expr: `mlwatch_model_accuracy{window="${estimated.realizedWindow}",${MODEL}} - ${estimated.margin}`,
            legend: `${perVersion} alert line`,
          },
        ],
        min: 0,
        max: 1,
        runbooks: [estimated.alert],
      }).overrideByQuery('C', dashed('red')),
    )

    .withRow(new RowBuilder('Regression'))
    .withPanel(
      timeseries({
        title: 'MAE against its threshold',
        description:
          "Mean absolute error of each regression model version, in the unit of the model's target. The red " +
          `dashed lines are each model's threshold (\`${mae.series}\`): its line in ` +
          `prometheus/rules/model.rules.yml, else ${mae.fallback} times its MAE in its reference window ` +
          '(mlwatch_model_reference_mae, over all versions). ' +
          `${mae.alert} opens a ticket after ${mae.for} above it in the ${windowOf(mae)} ` +
          `window, with at least ${errorGuard.value} labeled predictions. No line: the model has neither a ` +
          'line of its own nor a reference with enough labels yet. "classification model": the model has no ' +
          'regression metrics.',
        unit: units.Short,
        w: 12,
        h: 8,
        queries: [
          { expr: regression('mlwatch_model_mae'), legend: perVersion },
          { expr: orClassifier(`${mae.series}{${MODEL}}`), legend: `{{model}}: ${mae.alert} above` },
        ],
        mappings: nanAs('classification model'),
        min: 0,
        runbooks: [mae.alert],
      }).overrideByQuery('B', thresholdSeries()),
    )
    .withPanel(
      timeseries({
        title: 'RMSE against its threshold',
        description:
          'Root mean squared error of each regression model version: it weighs large errors more, so RMSE ' +
          'rising while MAE holds means a few predictions far off (outliers, a broken segment). The red ' +
          `dashed lines are each model's threshold (\`${rmse.series}\`: its line, else ${rmse.fallback} times ` +
          `its RMSE in its reference window): ${rmse.alert} opens a ticket after ${rmse.for} above it, as for ` +
          'the MAE. "classification model": the model has no regression metrics.',
        unit: units.Short,
        w: 12,
        h: 8,
        queries: [
          { expr: regression('mlwatch_model_rmse'), legend: perVersion },
          { expr: orClassifier(`${rmse.series}{${MODEL}}`), legend: `{{model}}: ${rmse.alert} above` },
        ],
        mappings: nanAs('classification model'),
        min: 0,
        runbooks: [rmse.alert],
      }).overrideByQuery('B', thresholdSeries()),
    )
    .withPanel(
      table({
        title: 'Regression metrics',
        description:
          "Each regression model version now: MAE and RMSE with their alert thresholds (the model's line, " +
          'else the default from its reference window; "-": neither yet, not alerted on), MAPE over the labeled predictions with a non-zero actual and how ' +
          'many had a zero actual (left out), bias (mean of prediction - actual: positive over-predicts; a ' +
          'bias near the MAE means the errors are all one way, often a shift in the target: recalibrate), and ' +
          'R² (1 perfect, 0 no better than the mean, negative worse). "classification model": the model ' +
          'has no regression metrics.',
        unit: units.Short,
        w: 24,
        h: 7,
        labels: ['model', 'version', 'window'],
        columns: [
          {
            expr: regression('mlwatch_model_mae'),
            name: 'MAE',
            unit: units.Short,
            mappings: nanAs('classification model'),
          },
          { expr: limitOf(mae), name: 'MAE threshold', unit: units.Short, mappings: nanAs('-') },
          { expr: regression('mlwatch_model_rmse'), name: 'RMSE', unit: units.Short, mappings: nanAs('-') },
          { expr: limitOf(rmse), name: 'RMSE threshold', unit: units.Short, mappings: nanAs('-') },
          {
            expr: regression('mlwatch_model_mape'),
            name: 'MAPE',
            unit: units.PercentUnit,
            mappings: nanAs('-'),
          },
          {
            expr: regression('mlwatch_model_mape_excluded_rows'),
            name: 'Zero actuals (not in MAPE)',
            unit: units.Short,
            mappings: nanAs('-'),
          },
          { expr: regression('mlwatch_model_bias'), name: 'Bias', unit: units.Short, mappings: nanAs('-') },
          { expr: regression('mlwatch_model_r2'), name: 'R²', unit: units.NoUnit, mappings: nanAs('-') },
        ],
        runbooks: [mae.alert, rmse.alert],
      }),
    )

    .withRow(new RowBuilder('Multiclass classification'))
    .withPanel(
      timeseries({
        title: 'Macro one-vs-rest AUC',
        description:
          "Each multiclass model version's mean over its classes of each class's one-vs-rest ROC AUC (its " +
          "probability ranking the predictions of the class above the others; scikit-learn's macro OvR AUC). " +
          `${multiclassAuc.alert} pages after ${multiclassAuc.for} below ${multiclassAuc.value} (where the ` +
          `background turns red) in the ${windowOf(multiclassAuc)} window, when that window has at least ` +
          `${multiclassGuard.value} labeled predictions of the classes. Not computed while any class lacks ` +
          'labels of it or of others in the window (young windows, rare classes): the per-class panel shows ' +
          'which. Empty: no multiclass model.',
        unit: units.NoUnit,
        w: 12,
        h: 8,
        queries: [{ expr: `mlwatch_model_multiclass_auc{${SEL}}`, legend: perVersion }],
        thresholds: alertSteps(multiclassAuc),
        thresholdLine: true,
        runbooks: [multiclassAuc.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Accuracy and macro F1',
        description:
          'Share of labeled predictions whose predicted class (the one of highest probability) is the label, ' +
          'and F1 averaged over the classes: macro (each class counts the same, so a rare class that is never ' +
          'predicted pulls it down) and weighted by support (close to accuracy). Macro F1 falling while ' +
          'accuracy holds: a rare class is lost; see the per-class panels. No alert watches these.',
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        queries: [
          { expr: `mlwatch_model_multiclass_accuracy{${SEL}}`, legend: `${perVersion} accuracy` },
          { expr: `mlwatch_model_multiclass_f1{${SEL}}`, legend: `${perVersion} {{average}} F1` },
        ],
        min: 0,
        max: 1,
      }),
    )
    .withPanel(
      timeseries({
        title: 'One-vs-rest AUC by class',
        description:
          "Each class's one-vs-rest ROC AUC: how well its probability singles out the predictions labeled the " +
          `class. Red below ${multiclassAuc.value}, ${multiclassAuc.alert}'s line for their mean, as a guide; ` +
          'one class far below the others is what to look at first (its labels, its definition, the inputs ' +
          'that tell it apart). No line for a class without labels of it (or with only it) in the window.',
        unit: units.NoUnit,
        w: 12,
        h: 8,
        queries: [
          { expr: `mlwatch_model_class_auc{${SEL}}`, legend: '{{model}} {{version}} {{class}} ({{window}})' },
        ],
        thresholds: alertSteps(multiclassAuc),
        runbooks: [multiclassAuc.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'F1 by class',
        description:
          "Each class's F1 at the predicted class (2 TP / (2 TP + FP + FN), one-vs-rest): 0 for a class that " +
          'occurs but is never predicted correctly. A class whose F1 drops while its AUC holds is ranked well ' +
          'but loses the argmax to another class: compare the precision and recall in the table below. No ' +
          'alert watches it.',
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        queries: [
          { expr: `mlwatch_model_class_f1{${SEL}}`, legend: '{{model}} {{version}} {{class}} ({{window}})' },
        ],
        min: 0,
        max: 1,
      }),
    )
    .withPanel(
      table({
        title: 'Classes',
        description:
          'Each class of each multiclass model version now: its one-vs-rest AUC (red below ' +
          `${multiclassAuc.value}), precision (of the predictions of the class, how many are right), recall (of ` +
          'the labels of the class, how many are found), F1 and support (labeled predictions of the class: a ' +
          'class with few has noisy metrics). "-": not defined in that window (never predicted, never a ' +
          'label, or one class only).',
        unit: units.NoUnit,
        w: 16,
        h: 8,
        labels: ['model', 'version', 'window', 'class'],
        columns: [
          {
            expr: `mlwatch_model_class_auc{${SEL}} or on (job, instance, model, window, version, class) (mlwatch_model_class_support{${SEL}} * NaN)`,
            name: 'AUC',
            unit: units.NoUnit,
            thresholds: alertSteps(multiclassAuc),
            mappings: nanAs('-'),
          },
          { expr: `mlwatch_model_class_precision{${SEL}}`, name: 'Precision', unit: units.PercentUnit },
          { expr: `mlwatch_model_class_recall{${SEL}}`, name: 'Recall', unit: units.PercentUnit },
          { expr: `mlwatch_model_class_f1{${SEL}}`, name: 'F1', unit: units.PercentUnit },
          { expr: `mlwatch_model_class_support{${SEL}}`, name: 'Support', unit: units.Short },
        ],
        runbooks: [multiclassAuc.alert],
      }).sortBy([new TableSortByFieldStateBuilder().displayName('AUC').desc(false)]),
    )
    .withPanel(
      timeseries({
        title: 'Labels of no class',
        description:
          "Labeled predictions whose label is none of the model's classes (a new or renamed class, a case " +
          'change such as LOW for low): they take no part in any metric. Above 0 the label feed and the ' +
          'model disagree on the classes: fix the feed, or add the class to the model and its scores. No ' +
          'alert watches it.',
        unit: units.Short,
        w: 8,
        h: 8,
        queries: [{ expr: `mlwatch_model_unknown_class_predictions{${SEL}}`, legend: perVersion }],
        thresholds: ANY_IS_BAD,
        min: 0,
      }),
    )

    .withRow(new RowBuilder('Segments'))
    .withPanel(segmentsTable(alertSteps(aucDefault)))

    .withRow(new RowBuilder('Prediction drift'))
    .withPanel(
      timeseries({
        title: 'Prediction drift (PSI)',
        description:
          "Population stability index of each model's scores (classification) or predicted values " +
          '(regression) in every window, whatever the Window variable, against the reference configured for ' +
          'the model, over all versions (docs/drift.md, "Prediction drift"). Below 0.1 is stable, 0.1 to ' +
          `${drift.value} moderate. The dashed line is ${drift.alert}'s threshold (${drift.value}): it opens a ` +
          `ticket after ${drift.for} above it in the ${driftWindows(drift)} windows, with at least ` +
          `${driftGuard.value} predictions. No labels needed: the earliest model-layer signal. Check feature ` +
          'drift (data-quality dashboard) and recent rollouts before retraining (runbook). No line: the model ' +
          'has no reference, or its window or reference is empty.',
        unit: units.NoUnit,
        w: 24,
        h: 8,
        queries: [{ expr: `mlwatch_model_prediction_psi{${MODEL}}`, legend: '{{model}} ({{window}})' }],
        thresholds: alertSteps(drift),
        thresholdLine: true,
        min: 0,
        runbooks: [drift.alert],
      }),
    )

    .withRow(new RowBuilder('Labels'))
    .withPanel(
      timeseries({
        title: 'Predictions and labeled predictions',
        description:
          'Predictions in each window and how many of them have a label yet. Labels arrive after the outcome ' +
          'is known, so young windows are mostly unlabeled. The dashed line is the guard of the performance ' +
          `alerts: below ${aucGuard.value} labeled predictions in the ${windowOf(auc)} window they stay ` +
          'silent. Falling predictions are a serving or logging problem (the data-quality dashboard shows the ' +
          'prediction tables), falling labeled ones a label feed problem.',
        unit: units.Short,
        w: 12,
        h: 8,
        queries: [
          { expr: `mlwatch_model_predictions{${SEL}}`, legend: `${perVersion} predictions` },
          { expr: `mlwatch_model_labeled_predictions{${SEL}}`, legend: `${perVersion} labeled` },
        ],
        thresholds: guardSteps,
        thresholdLine: true,
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Label coverage',
        description:
          'Share of the predictions that have a label. The "all versions" lines are what ' +
          `${coverage.alert} watches (\`${coverage.lhs}\`): it opens a ticket after ${coverage.for} below ` +
          `the dashed line (${pct(coverage.value)}), a label feed that stopped or slowed down. The other ` +
          'lines are per version and window: a version rolled out recently is naturally low, and so is a ' +
          'window shorter than the label delay. Check the label table load (runbook).',
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        queries: [
          { expr: scope(coverage.lhs, MODEL), legend: '{{model}} all versions ({{window}})' },
          { expr: `mlwatch_model_label_coverage_ratio{${SEL}}`, legend: perVersion },
        ],
        thresholds: alertSteps(coverage),
        thresholdLine: true,
        min: 0,
        max: 1,
        runbooks: [coverage.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Label delay',
        description:
          'Time from a prediction to its label, median (p50) and 95th percentile (p95), over the labeled ' +
          'predictions of each window (a window only sees delays shorter than itself). The dashed line is ' +
          `${delay.alert}'s threshold (${delayDays} days): it opens a ticket after ${delay.for} with the p95 of ` +
          `the ${windowOf(delay)} window above it. Slower labels mean performance metrics that lag behind; ask ` +
          'the owner of the label source (runbook). No data for a window without labels yet.',
        unit: units.Seconds,
        w: 12,
        h: 8,
        queries: [
          {
            expr: `mlwatch_model_label_delay_seconds{percentile="50",${SEL_NO_VERSION}}`,
            legend: '{{model}} p50 ({{window}})',
          },
          {
            expr: `mlwatch_model_label_delay_seconds{percentile="95",${SEL_NO_VERSION}}`,
            legend: '{{model}} p95 ({{window}})',
          },
        ],
        thresholds: delaySteps,
        thresholdLine: true,
        min: 0,
        runbooks: [delay.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Label leakage',
        description:
          "Labeled predictions whose label is stamped before the prediction, in the model's widest window " +
          `(\`${leakage.lhs}\`). Anything above ${leakage.value} is a point-in-time violation: ` +
          `${leakage.alert} opens a ticket after ${leakage.for}. Training or evaluation data built from these ` +
          'labels uses information the model could not have had: do not retrain on it until the label ' +
          'timestamps are fixed (runbook).',
        unit: units.Short,
        w: 12,
        h: 8,
        queries: [{ expr: scope(leakage.lhs, MODEL), legend: '{{model}}' }],
        thresholds: countSteps(leakage),
        thresholdLine: true,
        min: 0,
        runbooks: [leakage.alert],
      }),
    );
  return finalize(builder.build());
}

/**
 * MlwatchModelEstimatedAccuracyDrop compares the estimate of one window with the realized accuracy of another,
 * minus a margin; the panel reads all three from the rule so it draws what the alert judges.
 */
function estimatedAccuracyRule(rules: RuleSet) {
  const rule = findAlert(rules, 'MlwatchModelEstimatedAccuracyDrop');
  const m =
    /mlwatch_model_estimated_accuracy\{window="([^"]+)"\}[\s\S]*?mlwatch_model_accuracy\{window="([^"]+)"\}\s*-\s*([0-9.]+)\)/.exec(
      rule.expr,
    );
  if (!m)
    throw new Error(
      `${rule.alert}: expected estimated{window} < (accuracy{window} - margin) in its expression`,
    );
  return {
    alert: rule.alert as string,
    for: rule.for ?? '0s',
    estimatedWindow: m[1] as string,
    realizedWindow: m[2] as string,
    margin: Number(m[3]),
  };
}

/**
 * Per segment column and value (models with `segments`, docs/metrics.md): the model's metrics in each slice,
 * over all versions, for the chosen windows. A missing metric is "-": not computed (no labels, one class) or
 * not one of the model's task. Colours: the AUC alert's threshold, as a guide; no alert watches a segment.
 */
function segmentsTable(aucSteps: Threshold[]) {
  const by = 'on (job, instance, model, window, segment, segment_value)';
  const orDash = (metric: string) =>
    `${metric}{${SEL_NO_VERSION}} or ${by} (mlwatch_model_segment_predictions{${SEL_NO_VERSION}} * NaN)`;
  return table({
    title: 'Metrics by segment',
    description:
      'Each value of each segment column of the model (segment, segment_value), for the chosen windows and ' +
      'over all versions: AUC and accuracy at the threshold (classification) or MAE and RMSE (regression), ' +
      'with the predictions and labeled predictions behind them. Per column only the values with the most ' +
      'predictions in the widest window have a row (max_segments, default 10); the rest are summed into ' +
      '"other", and NULL is "(null)". A slice far below the model as a whole points at the population to ' +
      'look at (a new channel, a region with different data) before retraining. A red AUC is below the ' +
      'model AUC alert\'s threshold; no alert watches a segment. "-": not computed (no labels, one class ' +
      "only) or not the model's task. Empty: no model has segments configured.",
    unit: units.NoUnit,
    w: 24,
    h: 9,
    labels: ['model', 'segment', 'segment_value', 'window'],
    columns: [
      {
        expr: orDash('mlwatch_model_segment_auc'),
        name: 'AUC',
        unit: units.NoUnit,
        thresholds: aucSteps,
        mappings: nanAs('-'),
      },
      {
        expr: orDash('mlwatch_model_segment_accuracy'),
        name: 'Accuracy',
        unit: units.PercentUnit,
        mappings: nanAs('-'),
      },
      { expr: orDash('mlwatch_model_segment_mae'), name: 'MAE', unit: units.Short, mappings: nanAs('-') },
      { expr: orDash('mlwatch_model_segment_rmse'), name: 'RMSE', unit: units.Short, mappings: nanAs('-') },
      {
        expr: `mlwatch_model_segment_predictions{${SEL_NO_VERSION}}`,
        name: 'Predictions',
        unit: units.Short,
      },
      {
        expr: `mlwatch_model_segment_labeled_predictions{${SEL_NO_VERSION}}`,
        name: 'Labeled predictions',
        unit: units.Short,
      },
    ],
  });
}
