/** The PromQL behind the metric sections of the review, one function per question. */

// The PSI above which a feature counts as drifted: MlwatchFeatureDrift's threshold in
// prometheus/rules/data.rules.yml (test/report.test.ts checks that the two agree).
export const DRIFT_PSI_THRESHOLD = 0.2;

/** Label values in PromQL strings: the window comes from the command line. */
function str(v: string): string {
  return JSON.stringify(v);
}

/**
 * A model metric over a window, per model and version. Several exporter instances may export the same model
 * (replicas): they compute the same value, so the highest one is taken rather than a sum.
 */
export function modelMetric(
  metric: 'mlwatch_model_auc' | 'mlwatch_model_mae' | 'mlwatch_model_label_coverage_ratio',
  window: string,
): string {
  return `max by (model, version) (${metric}{window=${str(window)}})`;
}

/** Features whose PSI (in any of the dataset's windows) went above the threshold at some time in the period. */
export function driftedFeatures(periodSeconds: number): string {
  return `max by (dataset, feature) (max_over_time(mlwatch_feature_psi[${periodSeconds}s])) > ${DRIFT_PSI_THRESHOLD}`;
}
