/**
 * The lines the landing page marks a key value against: the bundle's default alert thresholds
 * (prometheus/rules/*.rules.yml). They are a hint for the eye only; what pages is what Prometheus evaluates, and an
 * operator who moved a line in the rules sees the firing alerts section say so. test/landing-format.test.ts reads
 * the rules and fails when one of these no longer matches them.
 */
export const MARKS = {
  /** MlwatchDatasetStale: mlwatch_dataset_newest_row_age_seconds > 900. */
  staleSeconds: 900,
  /** MlwatchDatasetNullRatioHigh: mlwatch_dataset_null_ratio > 0.05. */
  nullRatio: 0.05,
  /** MlwatchDatasetInvalidValues: mlwatch_dataset_invalid_ratio > 0.01. */
  invalidRatio: 0.01,
  /** MlwatchFeatureDrift and MlwatchModelPredictionDrift: PSI > 0.2. */
  psi: 0.2,
  /** MlwatchModelAucLow and MlwatchModelMulticlassAucLow: AUC < 0.65 (the default line of every model). */
  auc: 0.65,
  /** MlwatchModelLabelCoverageLow: label coverage < 0.15. */
  labelCoverage: 0.15,
} as const;
