import { modelFamilies as f, segmentFamilies as seg } from '../../../checks/model/families.js';
import { multiclassFamilies as mc } from '../../../checks/model/multiclass/families.js';
import type { Sample } from '../../../metrics/types.js';
import { ago, humanDuration, number, percent, score } from '../format.js';
import type { Headline, KeyValue } from '../key-values.js';
import { MARKS } from '../marks.js';
import { latestVersions, pastLine, versionOf, where, widest } from './pick.js';

/** The widest window's value of each of the latest versions, marked below a floor when one is given. */
function perVersion(label: string, format: (v: number) => string, floor?: number) {
  return (samples: readonly Sample[]): KeyValue[] =>
    latestVersions(widest(samples)).map((s) => ({
      label: `${label} ${s.labels.window}${versionOf(s)}`,
      value: format(s.value),
      ...(floor !== undefined && s.value < floor ? { flag: `under ${number(floor)}` } : {}),
    }));
}

const sum = (samples: readonly Sample[]) => samples.reduce((a, s) => a + s.value, 0);

/** The model layer's key values: AUC or errors in the widest window, labels, prediction drift, segments. */
export const MODEL_HEADLINES: readonly Headline[] = [
  { family: f.modelAuc.name, pick: perVersion('AUC', score, MARKS.auc) },
  {
    // Only when no AUC could be computed (one class in the window): the accuracy is then the one score there is.
    family: f.modelAccuracy.name,
    pick: (samples, index) =>
      index.get(f.modelAuc.name).length > 0 ? [] : perVersion('accuracy', percent)(samples),
  },
  {
    family: mc.modelMulticlassAuc.name,
    pick: (samples) => perVersion('macro AUC', score, MARKS.auc)(where(samples, { average: 'macro' })),
  },
  {
    family: mc.modelMulticlassAccuracy.name,
    pick: (samples, index) =>
      index.get(mc.modelMulticlassAuc.name).length > 0 ? [] : perVersion('accuracy', percent)(samples),
  },
  { family: f.modelMae.name, pick: perVersion('MAE', number) },
  { family: f.modelRmse.name, pick: perVersion('RMSE', number) },
  {
    // Over all versions, as the rules' model:mlwatch_model_label_coverage:ratio sums them.
    family: f.modelLabelCoverage.name,
    pick: (samples, index) => {
      const w = widest(samples)[0]?.labels.window ?? '';
      const n = sum(where(index.get(f.modelPredictions.name), { window: w }));
      if (n === 0) return [];
      const ratio = sum(where(index.get(f.modelLabeledPredictions.name), { window: w })) / n;
      return [
        {
          label: `labelled ${w}`,
          value: percent(ratio),
          ...(ratio < MARKS.labelCoverage ? { flag: `under ${percent(MARKS.labelCoverage)}` } : {}),
        },
      ];
    },
  },
  {
    family: f.modelLabelDelay.name,
    pick: (samples) =>
      widest(where(samples, { percentile: '95' })).map((s) => ({
        label: `label delay p95 ${s.labels.window}`,
        value: humanDuration(s.value),
      })),
  },
  {
    // Shown only when there is some: a label stamped before its prediction is a point-in-time leak.
    family: f.modelLabelLeakage.name,
    pick: (samples) => {
      const worst = Math.max(...samples.map((s) => s.value));
      return worst > 0
        ? [{ label: 'labels before their prediction', value: number(worst), flag: 'any' }]
        : [];
    },
  },
  {
    family: f.modelPredictionPsi.name,
    pick: (samples) =>
      pastLine(samples, {
        line: MARKS.psi,
        name: (s) => s.labels.window ?? '',
        format: score,
        formatLine: number,
        what: 'prediction PSI',
      }),
  },
  {
    family: seg.modelSegmentAuc.name,
    pick: (samples) => {
      const lowest = [...widest(samples)].sort((a, b) => a.value - b.value)[0];
      if (!lowest) return [];
      return [
        {
          label: `lowest segment AUC ${lowest.labels.window}`,
          value: `${lowest.labels.segment}=${lowest.labels.segment_value} ${score(lowest.value)}`,
          ...(lowest.value < MARKS.auc ? { flag: `under ${number(MARKS.auc)}` } : {}),
        },
      ];
    },
  },
  {
    family: seg.modelSegmentMae.name,
    pick: (samples) => {
      const highest = [...widest(samples)].sort((a, b) => b.value - a.value)[0];
      if (!highest) return [];
      return [
        {
          label: `highest segment MAE ${highest.labels.window}`,
          value: `${highest.labels.segment}=${highest.labels.segment_value} ${number(highest.value)}`,
        },
      ];
    },
  },
  {
    family: f.modelReferenceMae.name,
    pick: (samples) => samples.map((s) => ({ label: 'reference MAE', value: number(s.value) })),
  },
  {
    // Incremental checks: the AUC is as of the last full recomputation.
    family: f.modelRecomputed.name,
    pick: (samples, { ctx }) =>
      samples.map((s) => ({ label: 'AUC recomputed', value: ago(s.value * 1000, ctx.nowMs) })),
  },
];
