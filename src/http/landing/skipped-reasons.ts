/**
 * What each reason of mlwatch_check_skipped_samples means, in the words an on-call needs at 3 a.m.: a series a
 * check did not export is not a bug in itself, and "skipped: no_labels" alone does not say whether to worry.
 * Every reason a check in src/checks emits has a line here; test/landing-format.test.ts finds them in the
 * source and fails when one is missing.
 */
export const SKIPPED_REASONS: Readonly<Record<string, string>> = {
  no_labels: 'no labelled predictions in the window yet: the metrics that need labels wait for them',
  one_class: 'the labels in the window are all of one class, and an AUC needs both positives and negatives',
  awaiting_recompute:
    'the AUC of this window waits for the next full recomputation (incremental: full_interval)',
  undefined:
    'a metric has no value here (precision without predicted positives, recall without actual positives, R² of constant labels, a NaN input)',
  no_unlabeled: 'every prediction in the window already has its label: nothing left to estimate',
  estimate_undefined:
    'the estimated precision or recall has no value: no predicted or expected positives among the unlabelled predictions',
  empty_window: 'no rows in the window',
  empty_table: 'the table has no row with a timestamp up to now, so there is no newest row to age',
  empty_reference: 'the reference window has no predictions to compare the current ones with',
  no_finished_runs: 'no run of the job finished in the window',
  never_succeeded: 'the job has never finished successfully',
  zero_denominator: "the KPI's denominator is 0 in the window (no rows to divide by)",
  null_value: 'the query returned NULL',
  not_a_number: 'the query returned NaN',
};

/** The explanation of a reason; an unknown one (a newer check kind) is shown as it is. */
export function explainSkipped(reason: string): string {
  // hasOwn: a reason named like an Object.prototype member (`constructor`) must not find a function.
  return Object.hasOwn(SKIPPED_REASONS, reason) ? (SKIPPED_REASONS[reason] as string) : reason;
}
