import { z } from 'zod';

/**
 * The bundle's one configuration, like a monitoring mixin's `_config`: the values that differ between the places
 * the bundle runs (how Prometheus names the exporter's scrape job, where Grafana and the runbooks are). The rule
 * sources (prometheus/src), the dashboards (grafana/src) and the Kubernetes base are rendered from it by
 * `npm run bundle` (docs/bundle.md). The defaults are the values the checked-in outputs were written with: the
 * docker-compose stack's, so rendering with no config file changes nothing.
 *
 * Keys are snake_case, as in mlwatch.yaml. Not parameterised yet (issue 16): the labels aggregations keep
 * (`cluster`, `namespace`, written into every rule), owners and receivers per layer, threshold defaults.
 */

// A label value we write between double quotes in PromQL (`job="..."`) and in YAML plain scalars: keep to the
// characters of a Kubernetes Service name and the usual job names, so no quoting or escaping is ever needed.
const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

// A URL written into YAML plain scalars and JSON strings as is: http(s), no whitespace, no quote, no '#' after a
// space (there is no space), and no `${` (the placeholder syntax of the rule sources).
const url = (example: string) =>
  z
    .string()
    .regex(/^https?:\/\/[^\s"'`<>{}\\]+$/, {
      message: `expected an http(s) URL without spaces, quotes or braces, such as ${example}`,
    })
    .refine((u) => URL.canParse(u), { message: `not a URL; write it as ${example}` });

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
});

export type BundleConfig = z.infer<typeof bundleConfigSchema>;

/** The values the checked-in outputs are rendered with. */
export const DEFAULT_BUNDLE_CONFIG: BundleConfig = Object.freeze(bundleConfigSchema.parse({}));

/** The keys of the config, which are also the placeholder names of the rule sources: `${job}` and so on. */
export const BUNDLE_KEYS = Object.keys(bundleConfigSchema.shape) as (keyof BundleConfig)[];
