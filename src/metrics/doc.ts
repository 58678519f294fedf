import { catalogEntries } from './catalog.js';
import type { Layer } from './family.js';

/** docs/metrics.md, generated from the catalog so the two cannot disagree (a test compares them). */

const LAYER_TITLES: Record<Layer, string> = {
  self: "The exporter's own health",
  data: 'Data layer',
  model: 'Model layer',
  system: 'System layer',
  business: 'Business layer',
  actions: 'Actions (ticket log)',
};

/** What a reader needs beyond each metric's help text: the semantics shared by a layer's metrics. */
const LAYER_NOTES: Partial<Record<Layer, string[]>> = {
  self: [
    'A failing check keeps serving its last good samples; `mlwatch_check_success` says whether they are current.',
    'Values a check could not export (a NULL, an empty window) are counted in `mlwatch_check_skipped_samples`',
    'by reason, never exported as NaN or a fake 0.',
  ],
  data: [
    'A window `w` selects rows with timestamp in [now() - w, now()) on the **warehouse** clock; the `window`',
    'label is the window as written in config. Freshness, volume, null ratios and validity of a dataset come',
    'from one statement (one pass over the widest window).',
    '',
    '- Freshness is the newest timestamp that is not in the future, so a writer with a skewed clock cannot make',
    '  a stale table look fresh.',
    '- The volume baseline is the same window one period earlier, [now() - 2w, now() - w).',
    '- Null ratio = NULL rows / rows in the window; invalid ratio = out-of-rule values / non-NULL values. An empty',
    '  window exports neither (skipped reason `empty_window`).',
    '- Duplicate keys leave out rows with a NULL in a key column, as a UNIQUE constraint would.',
    '- Drift definitions (bins, PSI floor, Jensen-Shannon base 2, exact KS): see [drift.md](drift.md).',
  ],
  model: [
    'A window `w` selects predictions by prediction timestamp in [now() - w, now()). A prediction joins the',
    'latest label of its key (by label timestamp); performance metrics use labeled predictions only. All windows',
    'of a model come from one statement per check. `version` is a label only when `predictions.version` is',
    'configured. Rows of the predictions table equal in key, timestamp, version and score (or class probabilities)',
    'are one prediction written twice and count once.',
    '',
    '- Classification: the score is P(positive); predicted positive iff score >= threshold. AUC is exact and',
    "  rank-based with ties counted half (scikit-learn's `roc_auc_score`); log loss clips scores to",
    '  [1e-15, 1 - 1e-15].',
    '- Estimated classification metrics (`mlwatch_model_estimated_*`) cover the predictions whose labels have',
    '  not arrived yet (scored, unlabeled; their count is `mlwatch_model_unlabeled_predictions`), so a',
    '  degradation shows before the labels do. They **assume calibrated scores** (among predictions scored s, a',
    '  share s is positive): expected TP = sum of s and FP = sum of 1 - s over predicted positives, FN = sum of s',
    '  and TN = sum of 1 - s over predicted negatives (s clamped to [0, 1]). They see shifts in the score',
    '  distribution (more scores near the threshold lower them), not a model that stays confident while wrong:',
    '  compare them with the realized metrics once labels arrive, and watch `mlwatch_model_calibration_error`.',
    '- Multiclass classification (`mlwatch_model_multiclass_*`, `mlwatch_model_class_*`): one probability column',
    '  per class; the predicted class is the first of highest probability (numpy argmax, in config order). Only',
    '  predictions labeled with one of the classes and with every probability count; a label that is none of the',
    "  classes is counted in `mlwatch_model_unknown_class_predictions`. Definitions are scikit-learn's (checked",
    '  against it): per class one-vs-rest precision, recall, F1 = 2 TP / (2 TP + FP + FN) and AUC (exact, ties',
    '  half); macro F1 over the classes seen as label or prediction; macro AUC only when every class has its AUC;',
    '  log loss clips to [1e-15, 1 - 1e-15] and does not renormalise a row whose probabilities do not sum to 1.',
    '- Regression: MAPE leaves out rows whose actual is zero and counts them; bias = mean(prediction - label).',
    '- Prediction drift (models with a `reference`): PSI of the scores or predicted values in each window against',
    '  the reference, on 10 bins at its percentiles, proportions floored at 1e-4, over all versions; no labels',
    '  needed. Definitions and the reference forms: see [drift.md](drift.md#prediction-drift).',
    '- Segments (models with `segments`): the `mlwatch_model_segment_*` families, per window and per value',
    '  (`segment_value`) of each segment column (`segment`), over all versions, with the definitions above. Per',
    '  column, the `max_segments` (default 10) values with the most predictions in the widest window keep their',
    '  own series (ties broken by the value in byte order); the rest are summed into `other`. A NULL value is',
    '  reported as `(null)` (Prometheus drops empty labels); a real value spelled `other` or `(null)` merges with',
    '  that series. Values come from the widest window: a narrower window without predictions of one exports 0',
    '  predictions and nothing else for it.',
    '- A metric that is undefined (one class only, no labeled rows, no variance) is not exported and is counted in',
    '  `mlwatch_check_skipped_samples` with the reason; never NaN, never a fake value.',
  ],
};

export function renderMetricsDoc(): string {
  const out = [
    '# Metrics',
    '',
    '<!-- Generated from the metric catalog (src/metrics/catalog.ts) by `npm run docs`; do not edit by hand. -->',
    '',
    'Every metric mlwatch exports besides your own custom-query metrics and the standard `process_*` and',
    '`nodejs_*` metrics of prom-client. Units are base units (seconds, ratios 0..1); times are Unix timestamps,',
    'so ages are computed in PromQL, e.g. `time() - mlwatch_check_last_success_timestamp_seconds`.',
    '',
  ];
  for (const layer of Object.keys(LAYER_TITLES) as Layer[]) {
    const entries = catalogEntries.filter((e) => e.layer === layer);
    if (entries.length === 0) continue;
    out.push(`## ${LAYER_TITLES[layer]}`, '', ...(LAYER_NOTES[layer] ?? []));
    if (LAYER_NOTES[layer]) out.push('');
    out.push('| Metric | Type | Labels | Meaning |', '| --- | --- | --- | --- |');
    for (const e of entries) {
      const labels = e.labels.length ? e.labels.map((l) => `\`${l}\``).join(', ') : '';
      out.push(`| \`${e.name}\` | ${e.type} | ${labels} | ${e.help.replace(/\|/g, '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
