import {
  MappingType,
  SpecialValueMatch,
  type Threshold,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { metricsOf, REPLICA_LABELS } from './common.js';
import { okMapping, table } from './panels.js';
import { findAlert, type RuleSet } from './rules.js';
import { scope } from './scope.js';
import { ALERT_COLOR, OK_COLOR } from './thresholds.js';

/**
 * The checks that keep counts per time bucket (a dataset's or a model's `incremental`), one row each: when each
 * last recomputed its windows in full and when its kept counts last agreed with that recomputation. The
 * operator's view of the two mismatch alerts: the status column is each alert's own expression, so a row is red
 * exactly while its alert fires, whatever someone changes in the rule.
 */

/** The alerts the table shows (the dashboard's header links their runbooks). */
export const DATASET_MISMATCH = 'MlwatchDatasetIncrementalMismatch';
export const MODEL_MISMATCH = 'MlwatchModelIncrementalMismatch';

/** Each alert with the two stamps its expression compares, dataset and model alike. */
const STAMPS = [
  {
    alert: DATASET_MISMATCH,
    recomputed: 'mlwatch_dataset_recomputed_timestamp_seconds',
    reconciled: 'mlwatch_dataset_reconciled_timestamp_seconds',
    kept: 'mlwatch_dataset_kept_buckets',
  },
  {
    alert: MODEL_MISMATCH,
    recomputed: 'mlwatch_model_recomputed_timestamp_seconds',
    reconciled: 'mlwatch_model_reconciled_timestamp_seconds',
    kept: 'mlwatch_model_kept_buckets',
  },
] as const;

const AGREEMENT_STEPS: Threshold[] = [
  { value: null, color: ALERT_COLOR },
  { value: 1, color: OK_COLOR },
];
// A check whose full recomputation has never agreed has no reconciled stamp: NaN stands in for it.
const NEVER: ValueMapping[] = [
  {
    type: MappingType.SpecialValue,
    options: { match: SpecialValueMatch.NotANumber, result: { text: 'never', color: ALERT_COLOR, index: 0 } },
  },
];

/** The table; `sel` narrows every selector to the dashboard's variables. */
export function incrementalChecksTable(rules: RuleSet, sel: string) {
  const alerts = STAMPS.map((s) => {
    const expr = findAlert(rules, s.alert).expr;
    const read = metricsOf(expr);
    if (!read.includes(s.recomputed) || !read.includes(s.reconciled)) {
      throw new Error(
        `alert ${s.alert} no longer compares ${s.recomputed} with ${s.reconciled} (\`${expr}\`): the ` +
          'incremental checks table on the exporter dashboard reads those two; change the panel with the rule',
      );
    }
    return { ...s, expr };
  });
  const at = (name: string) => `${name}{${sel}}`;
  const anyOf = (f: (s: (typeof alerts)[number]) => string) => alerts.map((s) => `(${f(s)})`).join(' or ');
  return table({
    title: 'Incremental checks: kept counts against the full recomputation',
    description:
      'One row per check of a dataset or model with `incremental` set (empty when none has it): such a check ' +
      'keeps its counts per time bucket and reads only new rows, and every incremental.full_interval (a ' +
      "dataset's 1d, a model's 1h by default) recomputes every window in full and compares. \"Last full " +
      'recomputation" is how long ago that ran; "Counts last agreed" how long ago a recomputation equalled the ' +
      'kept counts ("never": none has). "Kept counts" is red while the last recomputation disagreed, exactly ' +
      `when ${alerts.map((s) => s.alert).join(' or ')} fires: rows arrived later than incremental.settle ` +
      'after their timestamp, or changed in place. The values are right again from the run after it (the ' +
      'counts are rebuilt by themselves); raise settle or stamp rows when they are written, as the runbooks say. ' +
      '"Buckets kept" is how many time buckets the check keeps counts for (about the widest window over ' +
      'incremental.bucket): 0 for a run right after a disagreement, and while a segments check has more values ' +
      'than it keeps, when it recomputes in full on every run (docs/architecture.md, "Incremental checks").',
    unit: units.NoUnit,
    w: 24,
    h: 6,
    labels: ['check'],
    columns: [
      {
        // min, not the factory's max: a replica whose alert fires (it holds the runner's newer result a scrape
        // before the other) shows red, as the alert does.
        expr: `min without (${REPLICA_LABELS}) (${anyOf((s) => `0 * (${scope(s.expr, sel)}) or 1 + 0 * ${at(s.recomputed)}`)})`,
        name: 'Kept counts',
        unit: units.NoUnit,
        thresholds: AGREEMENT_STEPS,
        mappings: okMapping('agreed', 'disagreed'),
        replicas: 'merged',
      },
      {
        expr: anyOf((s) => `time() - ${at(s.recomputed)}`),
        name: 'Last full recomputation',
        unit: units.Seconds,
      },
      {
        expr: anyOf((s) => `time() - ${at(s.reconciled)} or NaN * ${at(s.recomputed)}`),
        name: 'Counts last agreed',
        unit: units.Seconds,
        mappings: NEVER,
      },
      {
        // min: a replica that keeps nothing shows, as in the status column.
        expr: `min without (${REPLICA_LABELS}) (${anyOf((s) => at(s.kept))})`,
        name: 'Buckets kept',
        unit: units.NoUnit,
        replicas: 'merged',
      },
    ],
    runbooks: alerts.map((s) => s.alert),
  });
}
