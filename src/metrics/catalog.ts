import type { FamilyDef } from './types.js';

/**
 * Every built-in metric family: the only place an mlwatch_ name is defined. Rules, dashboards and
 * docs/metrics.md are checked against this list. Custom query metrics are declared in the user's config.
 */

export type Layer = 'self' | 'data' | 'model' | 'system' | 'business' | 'actions';

export interface CatalogEntry extends FamilyDef {
  layer: Layer;
}

function family(
  layer: Layer,
  name: string,
  type: FamilyDef['type'],
  labels: string[],
  help: string,
): CatalogEntry {
  return { layer, name, type, labels, help };
}

export const catalog = {
  checkSuccess: family(
    'self',
    'mlwatch_check_success',
    'gauge',
    ['check'],
    'Whether the last run of the check succeeded (1) or failed (0). A failed check keeps serving its last good samples.',
  ),
  checkDuration: family(
    'self',
    'mlwatch_check_duration_seconds',
    'gauge',
    ['check'],
    'How long the last run of the check took, in seconds, successful or not.',
  ),
  checkLastSuccess: family(
    'self',
    'mlwatch_check_last_success_timestamp_seconds',
    'gauge',
    ['check'],
    'Unix time of the last successful run of the check. Absent until the check first succeeds.',
  ),
  checkInterval: family(
    'self',
    'mlwatch_check_interval_seconds',
    'gauge',
    ['check'],
    'How often the check is meant to run, in seconds (for a cron schedule: the gap between its next two runs).',
  ),
  checkRuns: family(
    'self',
    'mlwatch_check_runs_total',
    'counter',
    ['check'],
    'Runs of the check, successful or not.',
  ),
  checkErrors: family(
    'self',
    'mlwatch_check_errors_total',
    'counter',
    ['check'],
    'Failed runs of the check.',
  ),
  checkOverruns: family(
    'self',
    'mlwatch_check_overruns_total',
    'counter',
    ['check'],
    'Runs skipped because the previous run of the same check was still queued or running.',
  ),
  checkSkippedSamples: family(
    'self',
    'mlwatch_check_skipped_samples',
    'gauge',
    ['check', 'reason'],
    'Series the last successful run could not export, by reason (null_value: the value was NULL; not_a_number: NaN).',
  ),
  warehouseUp: family(
    'self',
    'mlwatch_warehouse_up',
    'gauge',
    [],
    'Whether the last attempt to reach the warehouse (a check or the health ping) connected (1) or not (0).',
  ),
  buildInfo: family(
    'self',
    'mlwatch_build_info',
    'gauge',
    ['version', 'node_version'],
    'Always 1; the labels say which mlwatch build and Node.js runtime is running.',
  ),
  reloadSuccessful: family(
    'self',
    'mlwatch_config_last_reload_successful',
    'gauge',
    [],
    'Whether the last config (re)load succeeded (1) or was refused (0); a refused config leaves the old one running.',
  ),
  reloadSuccessTimestamp: family(
    'self',
    'mlwatch_config_last_reload_success_timestamp_seconds',
    'gauge',
    [],
    'Unix time of the last successful config load.',
  ),

  // Data layer.
  datasetLastUpdate: family(
    'data',
    'mlwatch_dataset_last_update_timestamp_seconds',
    'gauge',
    ['dataset'],
    "Unix time of the newest row's timestamp: max(timestamp). Age = time() - this. Absent while the table is empty.",
  ),
  datasetRows: family(
    'data',
    'mlwatch_dataset_rows',
    'gauge',
    ['dataset', 'window'],
    'Rows whose timestamp is in [now() - window, now()) on the warehouse clock.',
  ),
  datasetRowsBaseline: family(
    'data',
    'mlwatch_dataset_rows_baseline',
    'gauge',
    ['dataset', 'window'],
    'Rows in the same window one period earlier: [now() - 2 x window, now() - window). Lets a volume drop alert on a fresh Prometheus.',
  ),
  datasetNullRatio: family(
    'data',
    'mlwatch_dataset_null_ratio',
    'gauge',
    ['dataset', 'column', 'window'],
    'Share of rows in the window whose column is NULL (0..1). Not exported for an empty window.',
  ),
  datasetInvalidRatio: family(
    'data',
    'mlwatch_dataset_invalid_ratio',
    'gauge',
    ['dataset', 'column', 'window'],
    'Share of non-NULL values in the window outside the configured min/max or allowed set (0..1). Not exported for an empty window.',
  ),
  datasetDuplicateKeys: family(
    'data',
    'mlwatch_dataset_duplicate_keys',
    'gauge',
    ['dataset', 'window'],
    'Key values (of the configured key columns) that occur more than once among the rows in the window.',
  ),
  datasetSchemaInfo: family(
    'data',
    'mlwatch_dataset_schema_info',
    'gauge',
    ['dataset', 'hash'],
    "Always 1; hash identifies the table's ordered column names and types (information_schema). A new hash is a schema change.",
  ),
  datasetSchemaChanges: family(
    'data',
    'mlwatch_dataset_schema_changes',
    'gauge',
    ['dataset', 'change'],
    'Columns that differ from the expected schema (config or schema lock file), by change: added, removed, type_changed.',
  ),
  featurePsi: family(
    'data',
    'mlwatch_feature_psi',
    'gauge',
    ['dataset', 'feature', 'window'],
    'Population stability index of the feature, current window against the reference bins (proportions floored at 1e-4).',
  ),
  featureJsDistance: family(
    'data',
    'mlwatch_feature_js_distance',
    'gauge',
    ['dataset', 'feature', 'window'],
    'Jensen-Shannon distance (base 2, 0..1) between the current and reference bin proportions.',
  ),
  featureKsStatistic: family(
    'data',
    'mlwatch_feature_ks_statistic',
    'gauge',
    ['dataset', 'feature', 'window'],
    'Two-sample Kolmogorov-Smirnov statistic D (0..1) of a numeric feature, current window against the reference values, exact.',
  ),
  featureSampleRows: family(
    'data',
    'mlwatch_feature_sample_rows',
    'gauge',
    ['dataset', 'feature', 'sample'],
    'Non-NULL values a drift statistic was computed from, by sample: current or reference. Use it as a minimum-volume guard.',
  ),

  // Model layer.
  modelInfo: family(
    'model',
    'mlwatch_model_info',
    'gauge',
    ['model', 'owner', 'version', 'dataset'],
    'Always 1 for each model version that made predictions in the widest window; owner as configured (version empty when not configured); dataset names the dataset its features come from (absent when not configured), so rules can join it and a stale dataset silences the alerts of the model.',
  ),
  modelPredictions: family(
    'model',
    'mlwatch_model_predictions',
    'gauge',
    ['model', 'window', 'version'],
    'Predictions whose timestamp is in [now() - window, now()).',
  ),
  modelLabeledPredictions: family(
    'model',
    'mlwatch_model_labeled_predictions',
    'gauge',
    ['model', 'window', 'version'],
    'Predictions in the window that have a label (the latest label of their key).',
  ),
  modelLabelCoverage: family(
    'model',
    'mlwatch_model_label_coverage_ratio',
    'gauge',
    ['model', 'window', 'version'],
    'Labeled predictions / predictions in the window (0..1). Not exported for an empty window.',
  ),
  modelLabelDelay: family(
    'model',
    'mlwatch_model_label_delay_seconds',
    'gauge',
    ['model', 'window', 'percentile'],
    'Time from prediction to its label, over labeled predictions in the window, at percentile 50 and 95 (percentile_cont). The label is percentile, not quantile: Prometheus reserves quantile for summaries.',
  ),
  modelLabelLeakage: family(
    'model',
    'mlwatch_model_label_leakage_rows',
    'gauge',
    ['model', 'window'],
    "Labeled predictions in the window whose label timestamp is before the prediction's: a point-in-time violation.",
  ),
  modelAuc: family(
    'model',
    'mlwatch_model_auc',
    'gauge',
    ['model', 'window', 'version'],
    "ROC AUC of the score on labeled predictions, exact and rank-based with ties counted half (as scikit-learn's roc_auc_score). Not exported with one class only.",
  ),
  modelAucStderr: family(
    'model',
    'mlwatch_model_auc_stderr',
    'gauge',
    ['model', 'window', 'version'],
    'Standard error of the AUC (Hanley-McNeil), so alerts can ignore drops within noise.',
  ),
  modelLogLoss: family(
    'model',
    'mlwatch_model_log_loss',
    'gauge',
    ['model', 'window', 'version'],
    'Mean log loss on labeled predictions, scores clipped to [1e-15, 1 - 1e-15].',
  ),
  modelBrierScore: family(
    'model',
    'mlwatch_model_brier_score',
    'gauge',
    ['model', 'window', 'version'],
    'Mean squared difference between score and label (0..1).',
  ),
  modelAccuracy: family(
    'model',
    'mlwatch_model_accuracy',
    'gauge',
    ['model', 'window', 'version'],
    'Share of labeled predictions classified correctly at the threshold (positive iff score >= threshold).',
  ),
  modelPrecision: family(
    'model',
    'mlwatch_model_precision',
    'gauge',
    ['model', 'window', 'version'],
    'TP / (TP + FP) at the threshold. Not exported without predicted positives.',
  ),
  modelRecall: family(
    'model',
    'mlwatch_model_recall',
    'gauge',
    ['model', 'window', 'version'],
    'TP / (TP + FN) at the threshold. Not exported without actual positives.',
  ),
  modelF1: family(
    'model',
    'mlwatch_model_f1',
    'gauge',
    ['model', 'window', 'version'],
    'Harmonic mean of precision and recall at the threshold. Not exported when either is undefined or both are 0.',
  ),
  modelCalibrationError: family(
    'model',
    'mlwatch_model_calibration_error',
    'gauge',
    ['model', 'window', 'version'],
    'Expected calibration error over 10 equal-width score bins: sum over bins of (bin size / n) x |mean score - positive rate|.',
  ),
  modelPositiveRate: family(
    'model',
    'mlwatch_model_positive_rate',
    'gauge',
    ['model', 'window', 'version', 'source'],
    'Share of labeled predictions that are positive, by source: predicted (score >= threshold) or actual (label).',
  ),
  modelUnlabeledPredictions: family(
    'model',
    'mlwatch_model_unlabeled_predictions',
    'gauge',
    ['model', 'window', 'version'],
    'Predictions in the window with a score but no label yet: the n the estimated_* metrics are computed on (0 included).',
  ),
  modelEstimatedAccuracy: family(
    'model',
    'mlwatch_model_estimated_accuracy',
    'gauge',
    ['model', 'window', 'version'],
    'Accuracy expected on unlabeled predictions if the scores are calibrated: (sum of s over predicted positives + sum of 1 - s over predicted negatives) / n. Not exported without unlabeled predictions.',
  ),
  modelEstimatedPrecision: family(
    'model',
    'mlwatch_model_estimated_precision',
    'gauge',
    ['model', 'window', 'version'],
    'Precision expected on unlabeled predictions if the scores are calibrated: expected TP / predicted positives (expected TP = sum of their scores). Not exported without predicted positives.',
  ),
  modelEstimatedRecall: family(
    'model',
    'mlwatch_model_estimated_recall',
    'gauge',
    ['model', 'window', 'version'],
    'Recall expected on unlabeled predictions if the scores are calibrated: sum of s over predicted positives / sum of s over all. Not exported when every score is 0.',
  ),
  modelEstimatedF1: family(
    'model',
    'mlwatch_model_estimated_f1',
    'gauge',
    ['model', 'window', 'version'],
    'Harmonic mean of the estimated precision and recall. Not exported when either is undefined or both are 0.',
  ),
  modelMae: family(
    'model',
    'mlwatch_model_mae',
    'gauge',
    ['model', 'window', 'version'],
    'Mean absolute error of a regression model on labeled predictions.',
  ),
  modelRmse: family(
    'model',
    'mlwatch_model_rmse',
    'gauge',
    ['model', 'window', 'version'],
    'Root mean squared error of a regression model on labeled predictions.',
  ),
  modelMape: family(
    'model',
    'mlwatch_model_mape',
    'gauge',
    ['model', 'window', 'version'],
    'Mean absolute percentage error as a ratio (0.1 = 10 %), over labeled predictions with a non-zero actual.',
  ),
  modelMapeExcluded: family(
    'model',
    'mlwatch_model_mape_excluded_rows',
    'gauge',
    ['model', 'window', 'version'],
    'Labeled predictions left out of MAPE because their actual is zero.',
  ),
  modelBias: family(
    'model',
    'mlwatch_model_bias',
    'gauge',
    ['model', 'window', 'version'],
    'Mean of prediction - label; positive means over-prediction.',
  ),
  modelR2: family(
    'model',
    'mlwatch_model_r2',
    'gauge',
    ['model', 'window', 'version'],
    'Coefficient of determination R^2. Not exported when the labels have no variance.',
  ),
  modelPredictionPsi: family(
    'model',
    'mlwatch_model_prediction_psi',
    'gauge',
    ['model', 'window'],
    "Population stability index of the model's scores (classification) or predicted values (regression) in the window against its reference, on 10 reference-percentile bins, proportions floored at 1e-4; all versions. Not exported for an empty window or reference.",
  ),
  // Model layer, per segment (models with `segments`): own families, so sum/avg of the whole-model ones hold.
  modelSegmentPredictions: family(
    'model',
    'mlwatch_model_segment_predictions',
    'gauge',
    ['model', 'window', 'segment', 'segment_value'],
    'Predictions in the window whose segment column (segment) holds segment_value: one of the top max_segments values by predictions in the widest window, other for the rest, (null) for NULL; all versions.',
  ),
  modelSegmentLabeledPredictions: family(
    'model',
    'mlwatch_model_segment_labeled_predictions',
    'gauge',
    ['model', 'window', 'segment', 'segment_value'],
    'Predictions of the segment in the window that have a label (the latest label of their key).',
  ),
  modelSegmentAuc: family(
    'model',
    'mlwatch_model_segment_auc',
    'gauge',
    ['model', 'window', 'segment', 'segment_value'],
    'ROC AUC of the score on the labeled predictions of the segment, exact, ties counted half (as mlwatch_model_auc). Not exported with one class only.',
  ),
  modelSegmentAccuracy: family(
    'model',
    'mlwatch_model_segment_accuracy',
    'gauge',
    ['model', 'window', 'segment', 'segment_value'],
    "Share of the segment's labeled predictions classified correctly at the model's threshold.",
  ),
  modelSegmentPositiveRate: family(
    'model',
    'mlwatch_model_segment_positive_rate',
    'gauge',
    ['model', 'window', 'segment', 'segment_value', 'source'],
    "Share of the segment's labeled predictions that are positive, by source: predicted (score >= threshold) or actual (label).",
  ),
  modelSegmentMae: family(
    'model',
    'mlwatch_model_segment_mae',
    'gauge',
    ['model', 'window', 'segment', 'segment_value'],
    'Mean absolute error of a regression model on the labeled predictions of the segment.',
  ),
  modelSegmentRmse: family(
    'model',
    'mlwatch_model_segment_rmse',
    'gauge',
    ['model', 'window', 'segment', 'segment_value'],
    'Root mean squared error of a regression model on the labeled predictions of the segment.',
  ),
  // System layer: batch jobs (one statement per job table) and serving latency (one per request log).
  jobRuns: family(
    'system',
    'mlwatch_job_runs',
    'gauge',
    ['job_name', 'window', 'outcome'],
    'Runs of the job that started in the window, by outcome: success, failure (finished, not a success status) or running (not finished).',
  ),
  jobSuccessRatio: family(
    'system',
    'mlwatch_job_success_ratio',
    'gauge',
    ['job_name', 'window'],
    'Successful runs / finished runs that started in the window (0..1). Not exported when no run finished in the window.',
  ),
  jobLastSuccess: family(
    'system',
    'mlwatch_job_last_success_timestamp_seconds',
    'gauge',
    ['job_name'],
    'Unix time the last successful run of the job finished. Absent when the job never succeeded.',
  ),
  jobDuration: family(
    'system',
    'mlwatch_job_duration_seconds',
    'gauge',
    ['job_name', 'stat'],
    'Run duration in seconds: stat="last" is the last finished run, stat="p95" the 95th percentile (percentile_cont) of runs finished in the last day.',
  ),
  jobRunsInProgress: family(
    'system',
    'mlwatch_job_runs_in_progress',
    'gauge',
    ['job_name'],
    'Runs of the job that have started and not finished.',
  ),
  servingLatency: family(
    'system',
    'mlwatch_serving_latency_seconds',
    'gauge',
    ['service', 'window', 'percentile'],
    'Request latency in seconds at the percentile (50, 95, 99; percentile_cont) over requests in the window. Not exported for an empty window.',
  ),
  servingRequests: family(
    'system',
    'mlwatch_serving_requests',
    'gauge',
    ['service', 'window'],
    'Requests logged in the window.',
  ),
  servingErrors: family(
    'system',
    'mlwatch_serving_errors',
    'gauge',
    ['service', 'window'],
    'Requests in the window whose status counts as an error (by default 5xx).',
  ),
  servingSlowRatio: family(
    'system',
    'mlwatch_serving_slow_ratio',
    'gauge',
    ['service', 'window'],
    'Share of requests in the window slower than the latency objective (0..1). Not exported for an empty window.',
  ),
  servingLatencyObjective: family(
    'system',
    'mlwatch_serving_latency_objective_seconds',
    'gauge',
    ['service'],
    'The latency objective configured for the service, in seconds, so rules and dashboards draw the same line.',
  ),

  // Business layer: KPIs for the current window and the same window one baseline period earlier.
  kpiValue: family(
    'business',
    'mlwatch_kpi_value',
    'gauge',
    ['kpi', 'window'],
    'The KPI over [now - window, now). Not exported when it is undefined (a ratio with no rows, a NULL result).',
  ),
  kpiBaseline: family(
    'business',
    'mlwatch_kpi_baseline',
    'gauge',
    ['kpi', 'window'],
    'The KPI over the same window one baseline period earlier (default 7 days), computed in the warehouse.',
  ),
  kpiVolume: family(
    'business',
    'mlwatch_kpi_volume',
    'gauge',
    ['kpi', 'window', 'period'],
    'Rows behind the KPI (the ratio\'s denominator) for period="current" or "baseline", for a minimum-volume guard.',
  ),
  kpiInfo: family(
    'business',
    'mlwatch_kpi_info',
    'gauge',
    ['kpi', 'dataset'],
    'Always 1 for each configured KPI; dataset names the dataset the KPI is computed from (absent when not configured), so rules can join it and a stale dataset silences its KPI alerts.',
  ),

  // Actions: what the exporter records in its state store.
  tickets: family(
    'actions',
    'mlwatch_tickets',
    'gauge',
    ['state', 'team', 'layer'],
    'Tickets in the shared ticket log by state (open, resolved) and by the team and layer labels of their alert.',
  ),
  stateStoreUp: family(
    'actions',
    'mlwatch_state_store_up',
    'gauge',
    [],
    'Whether the state store (ticket log) is migrated and answering (1) or not (0); webhooks get 503 meanwhile.',
  ),
  modelLastRetrainRequest: family(
    'actions',
    'mlwatch_model_last_retrain_request_timestamp_seconds',
    'gauge',
    ['model', 'reason'],
    'When the latest retraining request of the model was recorded, by reason (cadence or alert), as Unix time in seconds; triggers deduplicated within the cooldown do not move it.',
  ),
  retrainRequestsPending: family(
    'actions',
    'mlwatch_retrain_requests_pending',
    'gauge',
    ['model'],
    'Retraining requests of the model not yet accepted by its retrain webhook (new, or failed and waiting for a retry); 0 for every model with a retrain config.',
  ),
  retrainDispatchFailures: family(
    'actions',
    'mlwatch_retrain_dispatch_failures_total',
    'counter',
    ['model'],
    "Failed attempts of this exporter to dispatch a retraining request to the model's webhook (no 2xx answer, timeout, connection error); each is retried with backoff.",
  ),
  ticketForwardPending: family(
    'actions',
    'mlwatch_ticket_forward_pending',
    'gauge',
    [],
    'Ticket events (opened, resolved) queued for the external tracker (state.ticket_forward) and not yet accepted by it; exported only when forwarding is configured.',
  ),
  ticketForwardFailures: family(
    'actions',
    'mlwatch_ticket_forward_failures_total',
    'counter',
    [],
    'Failed attempts of this exporter to forward a ticket event to the external tracker (no 2xx answer, timeout, connection error); each is retried with backoff.',
  ),
  reportPostPending: family(
    'actions',
    'mlwatch_report_post_pending',
    'gauge',
    [],
    'Weekly reviews kept in the state store for report.webhook and not yet accepted by it (new, or failed and waiting for a retry); 0 without a webhook.',
  ),
  reportPostFailures: family(
    'actions',
    'mlwatch_report_post_failures_total',
    'counter',
    [],
    'Failed attempts of this exporter to post a weekly review to report.webhook (no 2xx answer, timeout, connection error); each is retried with backoff.',
  ),
  rollbackRequests: family(
    'actions',
    'mlwatch_rollback_requests',
    'gauge',
    ['state'],
    'Rollback requests in the state store by state (pending, approved, executing, executed, failed, rejected, expired); every state has a series.',
  ),
} as const satisfies Record<string, CatalogEntry>;

export const catalogEntries: readonly CatalogEntry[] = Object.values(catalog);

export const catalogByName: ReadonlyMap<string, CatalogEntry> = new Map(
  catalogEntries.map((e) => [e.name, e]),
);

/** Prefixes a custom query metric may not use: the built-ins' and prom-client's process metrics. */
export const RESERVED_PREFIXES = ['mlwatch_', 'process_', 'nodejs_'];

/**
 * Metrics the bundled rules and dashboards read that others define: Prometheus itself and prom-client's
 * process metrics. The rule and dashboard linters accept these names besides the catalog's.
 */
export const externalMetrics: readonly string[] = [
  'up',
  'ALERTS',
  'ALERTS_FOR_STATE',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
  // node_exporter (the system layer's resource rules and dashboard).
  'node_cpu_seconds_total',
  'node_memory_MemAvailable_bytes',
  'node_memory_MemTotal_bytes',
  'node_filesystem_avail_bytes',
  'node_filesystem_size_bytes',
  'node_filesystem_readonly',
];
