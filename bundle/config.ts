import { z } from 'zod';
import { catalogEntries } from '../src/metrics/catalog.js';
import { LABEL_VALUE } from './label-value.js';
import { DEFAULT_OWNERS, LAYERS, ownersSchema } from './owners-config.js';

/**
 * The bundle's one configuration, like a monitoring mixin's `_config`: the values that differ between the places
 * the bundle runs (how Prometheus names the exporter's scrape job, where Grafana and the runbooks are, the labels
 * a scrape adds that the alerts keep, who owns each layer's alerts and where they reach them) and the alert
 * thresholds a team may want elsewhere. The rule sources (prometheus/src), Alertmanager's routing
 * (alertmanager/src), the dashboards (grafana/src) and the Kubernetes base are rendered from it by `npm run bundle`
 * (docs/bundle.md). The defaults are the values the checked-in outputs were written with: the docker-compose
 * stack's, so rendering with no config file changes nothing.
 *
 * Keys are snake_case, as in mlwatch.yaml. Not parameterised yet (issue 16): the thresholds not listed under
 * `thresholds` (they stay written into the rule sources).
 */

// A URL written into YAML plain scalars and JSON strings as is: http(s), no whitespace, no quote, no '#' after a
// space (there is no space), and no `${` (the placeholder syntax of the rule sources).
const url = (example: string) =>
  z
    .string()
    .regex(/^https?:\/\/[^\s"'`<>{}\\]+$/, {
      message: `expected an http(s) URL without spaces, quotes or braces, such as ${example}`,
    })
    .refine((u) => URL.canParse(u), { message: `not a URL; write it as ${example}` });

/**
 * A share strictly between 0 and 1: 0 or 1 would make the alert fire always or never. A number from 1 to 100 is
 * perhaps a percentage, and the message says how to write one (not for an AUC, which nobody writes as one).
 */
const ratio = (what: string, example: string, { percentage = true } = {}) => {
  const message = `expected ${what} between 0 and 1 (exclusive), such as ${example}`;
  return z.number({ error: message }).superRefine((v, ctx) => {
    if (v > 0 && v < 1) return;
    const meant = percentage && v > 1 && v <= 100;
    const percent = meant ? `; if you meant ${v} %, write ${Number((v / 100).toPrecision(12))}` : '';
    ctx.addIssue({ code: 'custom', message: `${message}${percent}` });
  });
};

/** A positive number of seconds; whole, so the minutes or hours the alert texts say are exact. */
const seconds = (example: string) => {
  const message = `expected a whole number of seconds above 0, such as ${example}`;
  return z.number({ error: message }).int({ message }).gt(0, { message });
};

/**
 * The paging burn-rate pair of an SLO fires at 14.4 times the error budget (1 - objective); at or above 100 % of
 * failures it could never fire, so the objective must be above 1 - 1/14.4.
 */
const PAGE_BURN = 14.4;
const sloObjective = (what: string) =>
  ratio(`the share of ${what} the objective asks for`, '0.99 (99 %)').refine((v) => PAGE_BURN * (1 - v) < 1, {
    message: `must be above 0.9305, such as 0.99: the paging alert fires above ${PAGE_BURN} times the error budget (1 - objective), which a lower objective puts above 100 % of ${what}, so it could never fire`,
  });

const thresholdsSchema = z.strictObject({
  /** MlwatchDatasetStale: the age of a dataset's newest row, in seconds, above which it pages. */
  dataset_freshness_seconds: seconds('900 (15 minutes)').default(900),
  /** MlwatchDatasetNullRatioHigh: the share of NULLs in a checked column above which it opens a ticket. */
  null_ratio: ratio('a share of NULLs', '0.05 (5 %)').default(0.05),
  /**
   * MlwatchModelAucLow's default (a model's line in mlwatch-model.thresholds overrides it) and
   * MlwatchModelMulticlassAucLow's threshold: the AUC below which a model pages.
   */
  model_auc: ratio('an AUC', '0.65 (0.5 is chance)', { percentage: false }).default(0.65),
  /** MlwatchJobErrorBudgetBurn: the share of a batch job's finished runs that must succeed (its SLO). */
  job_success_ratio: sloObjective('runs').default(0.99),
  /** MlwatchServingSlowRequestsBudgetBurn: the share of a service's requests faster than its latency objective. */
  serving_fast_ratio: sloObjective('requests').default(0.99),
  /**
   * The KPI drop that matters: MlwatchKpiBelowBaseline fires more than this below the baseline, and
   * MlwatchKpiSuddenDrop, which knows its noise, at half of it, so a drop this large crosses it at once.
   */
  kpi_drop_ratio: ratio('a drop as a share of the baseline', '0.1 (10 %)').default(0.1),
});

// Prometheus' label names; `__` starts the names Prometheus keeps for itself.
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Labels `keep_labels` may not name, each with why. job and instance: the rules write them after the kept ones,
 * so they would be listed twice. pod: it tells replicas apart, like instance, and the rules that merge the
 * replicas of one exporter (`max by (..., job)`, `count by (..., job, check)`) would stop merging them. The
 * exporter's own labels (the metric catalog's) and the labels the rules match on or set: keeping one would join or
 * aggregate on it twice, or let a scrape label overwrite what the alert says.
 */
const RESERVED_LABELS: ReadonlyMap<string, string> = new Map([
  ['job', 'the rules keep the scrape job already, after the kept labels'],
  ['instance', 'the rules keep the scrape target already, after the kept labels'],
  ['pod', "it tells an exporter's replicas apart, and the rules that merge replicas would stop merging them"],
  ...[
    ...new Set([
      ...catalogEntries.flatMap((e) => e.labels),
      // node_exporter's labels the resource rules match on, and the labels alerts carry for routing.
      ...['device', 'mountpoint', 'fstype', 'cpu', 'mode'],
      ...['alertname', 'severity', 'layer', 'team', 'depends_on', 'action'],
    ]),
  ].map((l): [string, string] => [
    l,
    'a label of the exporter or of the alerts, which the rules use already',
  ]),
]);

const keptLabel = z
  .string({ error: 'expected a label name such as cluster, namespace or region' })
  .superRefine((l, ctx) => {
    const why = !LABEL_NAME.test(l)
      ? 'is not a Prometheus label name: write a letter or _, then letters, digits and _ (such as region)'
      : l.startsWith('__')
        ? 'cannot be kept: names starting with __ are reserved for Prometheus'
        : RESERVED_LABELS.has(l)
          ? `cannot be kept: ${RESERVED_LABELS.get(l)}`
          : undefined;
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(l)} ${why}` });
  });

export const bundleConfigSchema = z.strictObject({
  /**
   * The `job` label Prometheus gives the exporters' targets: the scrape config's `job_name`, or with a
   * ServiceMonitor the Service's name. Rules and dashboards select the exporter with `job="<job>"`.
   */
  job: z
    .string()
    .regex(LABEL_VALUE, {
      message: 'expected a job label value: letters, digits, and _ . : - (such as mlwatch or ml-exporter)',
    })
    .default('mlwatch'),
  /** Grafana as the people who get alerts reach it; alerts link `<grafana_url>/d/<dashboard uid>`. */
  grafana_url: url('https://grafana.example.com')
    .refine((u) => !u.endsWith('/'), {
      message: 'drop the trailing /: alerts append /d/<dashboard uid> to it',
    })
    .default('http://localhost:3000'),
  /** Where the runbooks are; an alert's runbook is `<runbook_base_url><AlertName>.md`. */
  runbook_base_url: url('https://git.example.com/mlwatch/docs/runbooks/')
    .refine((u) => u.endsWith('/'), { message: 'end it with /: an alert appends <AlertName>.md to it' })
    .default('https://github.com/mlwatch/mlwatch/blob/main/docs/runbooks/'),
  /**
   * The labels, beyond job and instance, that say where a target runs (a Kubernetes scrape adds `namespace`, a
   * multi-cluster setup `cluster`): every aggregation and match of the rules that keeps the scrape target keeps
   * them, so alerts carry them and inhibitions comparing them line up. Empty: the rules keep job and instance
   * only.
   */
  keep_labels: z
    .array(keptLabel, { error: 'expected a list of label names, such as [cluster, namespace]' })
    .superRefine((labels, ctx) => {
      labels.forEach((l, i) => {
        if (labels.indexOf(l) !== i)
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `${JSON.stringify(l)} is listed twice; list each label once`,
          });
      });
    })
    .default(['cluster', 'namespace']),
  /** Alert thresholds (docs/bundle.md lists which alert reads each); a missing key keeps its default. */
  thresholds: thresholdsSchema.prefault({}),
  /**
   * Who owns each layer's alerts (their `team` label) and which Alertmanager receiver each owner's alerts reach
   * (bundle/owners-config.ts has the rules); a missing layer or key keeps its default.
   */
  owners: ownersSchema,
});

export type BundleConfig = z.infer<typeof bundleConfigSchema>;

const parsedDefaults = bundleConfigSchema.parse({});

/** The values the checked-in outputs are rendered with. */
export const DEFAULT_BUNDLE_CONFIG: BundleConfig = Object.freeze({
  ...parsedDefaults,
  keep_labels: Object.freeze([...parsedDefaults.keep_labels]) as string[],
  thresholds: Object.freeze({ ...parsedDefaults.thresholds }),
  owners: Object.freeze(
    Object.fromEntries(LAYERS.map((l) => [l, Object.freeze({ ...DEFAULT_OWNERS[l] })])),
  ) as BundleConfig['owners'],
});

/** The top-level keys of the config. */
export const BUNDLE_KEYS = Object.keys(bundleConfigSchema.shape) as (keyof BundleConfig)[];
