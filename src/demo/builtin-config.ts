import { createHash } from 'node:crypto';
import { quoteSchema } from './schema.js';

/**
 * The demo's two approvers, one per role, so a user can walk a rollback from request to execution
 * (docs/rollbacks.md). Their tokens are fixed and published (the demo prints them, the README shows them):
 * demo-only credentials, never to be copied into a real config. The config holds only their SHA-256, as a
 * user's would.
 */
export const DEMO_APPROVERS = [
  { name: 'demo-engineer', role: 'engineering', token: 'demo-engineering-token' },
  { name: 'demo-product', role: 'product', token: 'demo-product-token' },
] as const;

/**
 * The demo's operator: one client holding every role (viewer, webhook, lifecycle, responder), so a user can read
 * tickets, post an Alertmanager-shaped alert, switch incidents and acknowledge or hand off tickets with one token. Published like the approvers' tokens:
 * demo-only. A real config gives each client (Alertmanager, on-call, CI) its own token and only its roles.
 */
export const DEMO_OPERATOR = { name: 'demo-operator', token: 'demo-operator-token' } as const;

/** Alertmanager's client in the demo (docker-compose.yml's secrets/mlwatch-webhook-token): the webhook role only. */
export const DEMO_ALERTMANAGER = { name: 'demo-alertmanager', token: 'demo-alertmanager-token' } as const;

/**
 * The token mlwatch sends to the demo's stand-in retraining and deployment services (their `headers`), which
 * refuse a call without it, as a real service would.
 */
export const DEMO_SINK_TOKEN = 'demo-sink-token';

/** state.handoff.after in the demo: short enough to watch an unacknowledged model page being handed off. */
export const DEMO_HANDOFF_AFTER = '2m';

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
const SINK_HEADERS = { authorization: `Bearer ${DEMO_SINK_TOKEN}` };

/**
 * The configuration the demo serves, as the raw object a YAML file would parse to.
 *
 * Every value is cast to int or float8 in SQL: both drivers then return a JS number, whereas count(*)
 * (bigint) and extract()/avg() (numeric) would come back as strings from node-postgres.
 */
export function demoConfig(opts: {
  warehouseUrl: string;
  schema: string;
  /** credit_default's retrain webhook (the demo's own recording sink); without it the model has no `retrain`. */
  retrainWebhook?: string;
  /** credit_default's rollback webhook (the demo's own recording sink); without it the model has no `rollback`. */
  rollbackWebhook?: string;
}): Record<string, unknown> {
  const s = quoteSchema(opts.schema);
  return {
    warehouse: { url: opts.warehouseUrl, statement_timeout: '10s', pool: 4 },
    approvers: DEMO_APPROVERS.map(({ name, role, token }) => ({ name, role, token_sha256: sha256(token) })),
    access: {
      clients: [
        {
          name: DEMO_OPERATOR.name,
          roles: ['viewer', 'webhook', 'lifecycle', 'responder'],
          token_sha256: sha256(DEMO_OPERATOR.token),
        },
        { name: DEMO_ALERTMANAGER.name, roles: ['webhook'], token_sha256: sha256(DEMO_ALERTMANAGER.token) },
      ],
    },
    // A model page nobody acknowledges goes to data science after 2 minutes instead of 15, so the automatic
    // hand-off shows within a demo session (docs/handoff_plan.md, "See it in the demo").
    state: { handoff: { after: DEMO_HANDOFF_AFTER } },
    defaults: { interval: '15s' },
    datasets: [
      {
        // The credit applications feed: what the data-layer alerts and the data-quality dashboard watch.
        name: 'applications',
        table: `${opts.schema}.applications`,
        timestamp: 'ingested_at',
        checks: {
          freshness: {},
          volume: { window: '1h' },
          nulls: { columns: ['income', 'age', 'employment_years', 'purpose', 'region'], window: '1h' },
          validity: {
            window: '1h',
            columns: {
              age: { min: 18, max: 100 },
              purpose: { allowed: ['car', 'home', 'education', 'business', 'debt_consolidation'] },
            },
          },
          duplicates: { key: ['id'], window: '1d' },
          // 35 days of history: the reference is the 28 days that end a week ago; the `drift` incident shifts income.
          drift: {
            features: ['income', 'age', 'purpose'],
            current: '1d',
            reference: { window: '28d', offset: '7d' },
          },
          // The expected columns; the `schema` incident retypes age and this check reports type_changed.
          schema: {
            expect: {
              id: 'bigint',
              ingested_at: 'timestamp with time zone',
              income: 'numeric',
              age: 'integer',
              employment_years: 'numeric',
              purpose: 'text',
              region: 'text',
              requested_amount: 'numeric',
            },
          },
        },
      },
    ],
    models: [
      {
        // The credit model: scores at ingestion, outcomes (defaulted) arrive 1 to 10 days later.
        name: 'credit_default',
        task: 'binary_classification',
        owner: 'data-science',
        // Scores the applications dataset's rows: a stale applications feed silences the model's alerts.
        dataset: 'applications',
        predictions: {
          table: `${opts.schema}.predictions`,
          key: 'application_id',
          timestamp: 'predicted_at',
          score: 'score',
          version: 'model_version',
        },
        labels: {
          table: `${opts.schema}.outcomes`,
          key: 'application_id',
          timestamp: 'observed_at',
          label: 'defaulted',
        },
        windows: ['1d', '7d', '14d'],
        threshold: 0.5,
        // The scoring service logs the applicant's region with each prediction: AUC and accuracy per region.
        segments: ['region'],
        // Prediction drift: the scores of the 14 days before the widest window (history is 35 days).
        reference: { window: '14d', offset: '14d' },
        // Monthly cadence and the retraining receiver's alerts (the `auc` incident) request a retrain here.
        ...(opts.retrainWebhook ? { retrain: { webhook: opts.retrainWebhook, headers: SINK_HEADERS } } : {}),
        // A rollback both demo approvers approve is executed here (the demo's deployment stand-in).
        ...(opts.rollbackWebhook
          ? { rollback: { webhook: opts.rollbackWebhook, headers: SINK_HEADERS } }
          : {}),
      },
      {
        // The risk-tier model: three classes, read through views over the credit model's tables
        // (src/demo/schema.ts), so its metrics move with the credit model's incidents. No `dataset`: drift of
        // applications asks credit_default alone to retrain (risk_tier has no retraining to ask).
        name: 'risk_tier',
        task: 'multiclass_classification',
        owner: 'data-science',
        predictions: {
          table: `${opts.schema}.risk_tier_predictions`,
          key: 'application_id',
          timestamp: 'predicted_at',
          scores: { low: 'p_low', medium: 'p_medium', high: 'p_high' },
          version: 'model_version',
        },
        labels: {
          table: `${opts.schema}.risk_tier_outcomes`,
          key: 'application_id',
          timestamp: 'observed_at',
          label: 'tier',
        },
        windows: ['1d', '7d', '14d'],
      },
    ],
    kpis: [
      {
        // Share of applications approved (near 0.6), against the median of the same hours of the last 4 weeks
        // (the default windows, 30m to 1d, and baseline); the `kpi` incident lowers it. Decisions follow
        // applications, so a stale applications feed explains a drop. At the demo's 30 decisions an hour only
        // the 1d window has the rows to show a drop (docs/business-layer.md, detection times).
        name: 'approval_rate',
        ratio: { table: `${opts.schema}.decisions`, timestamp: 'decided_at', numerator: 'approved' },
        dataset: 'applications',
        interval: '1m',
      },
    ],
    // The two pipelines share the job_runs table; `job` tells their rows apart. Default windows (5m to 3d),
    // the ones the job SLO burn-rate alerts pair up.
    jobs: ['feature_pipeline', 'scoring_batch'].map((name) => ({
      name,
      table: `${opts.schema}.job_runs`,
      job_column: 'job',
      status_column: 'status',
      success_values: ['success'],
      started_column: 'started_at',
      finished_column: 'finished_at',
    })),
    serving: [
      {
        // The scoring API's request log: latency in ms, 5xx are errors, 500 ms objective (the latency alerts').
        name: 'scoring_api',
        table: `${opts.schema}.requests`,
        timestamp: 'at',
        latency: { column: 'latency_ms', unit: 'ms' },
        status: { column: 'status' },
        objective: '500ms',
      },
    ],
    queries: [
      {
        name: 'applications_last_hour',
        sql: `SELECT region, count(*)::int AS applications FROM ${s}.applications
WHERE ingested_at >= now() - interval '1 hour' GROUP BY region`,
        metrics: [
          {
            name: 'demo_applications_last_hour',
            help: 'Credit applications ingested in the last hour, by region.',
            type: 'gauge',
            labels: ['region'],
            value: 'applications',
          },
        ],
      },
      {
        // Alert on time() - this: the age of the newest application, i.e. whether ingestion is stuck.
        name: 'applications_freshness',
        sql: `SELECT extract(epoch FROM max(ingested_at))::float8 AS last_ingested FROM ${s}.applications`,
        metrics: [
          {
            name: 'demo_applications_last_ingested_timestamp_seconds',
            help: 'Unix time of the newest ingested credit application.',
            type: 'gauge',
            labels: [],
            value: 'last_ingested',
          },
        ],
      },
      {
        name: 'approval_ratio',
        sql: `SELECT avg(approved::int)::float8 AS ratio FROM ${s}.decisions
WHERE decided_at >= now() - interval '1 day'`,
        metrics: [
          {
            name: 'demo_approval_ratio',
            help: 'Share of credit applications approved over the last day (0..1).',
            type: 'gauge',
            labels: [],
            value: 'ratio',
          },
        ],
      },
      {
        name: 'job_runs_last_day',
        interval: '1m',
        // job_name, not job: Prometheus keeps `job` for the scrape job (it would rename ours exported_job).
        sql: `SELECT job AS job_name, status, count(*)::int AS runs FROM ${s}.job_runs
WHERE finished_at >= now() - interval '1 day' GROUP BY job, status`,
        metrics: [
          {
            name: 'demo_job_runs_last_day',
            help: 'Pipeline job runs finished in the last day, by job and status.',
            type: 'gauge',
            labels: ['job_name', 'status'],
            value: 'runs',
          },
        ],
      },
      {
        // Labels arrive 1 to 10 days after scoring; a growing backlog means the label feed is broken.
        name: 'predictions_awaiting_label',
        cron: '*/5 * * * *',
        sql: `SELECT count(*)::int AS awaiting FROM ${s}.predictions p
WHERE p.predicted_at < now() - interval '1 day'
  AND NOT EXISTS (SELECT 1 FROM ${s}.outcomes o WHERE o.application_id = p.application_id)`,
        metrics: [
          {
            name: 'demo_predictions_awaiting_label',
            help: 'Predictions older than a day whose outcome has not been observed yet.',
            type: 'gauge',
            labels: [],
            value: 'awaiting',
          },
        ],
      },
      {
        name: 'request_latency',
        sql: `SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) / 1000 AS p95_seconds
FROM ${s}.requests WHERE "at" >= now() - interval '15 minutes'`,
        metrics: [
          {
            name: 'demo_request_latency_p95_seconds',
            help: '95th percentile latency of the scoring API over the last 15 minutes.',
            type: 'gauge',
            labels: [],
            value: 'p95_seconds',
          },
        ],
      },
    ],
  };
}
