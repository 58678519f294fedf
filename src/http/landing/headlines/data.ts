import { datasetFamilies as f } from '../../../checks/dataset/families.js';
import { count, humanDuration, number, percent, score } from '../format.js';
import type { Headline } from '../key-values.js';
import { MARKS } from '../marks.js';
import { pastLine, valueNow, where } from './pick.js';

/** The data layer's key values: freshness, volume, NULLs and invalid values, duplicates, schema, drift. */
export const DATA_HEADLINES: readonly Headline[] = [
  {
    family: f.datasetNewestRowAge.name,
    pick: (samples, { ctx }) =>
      samples.map((s) => {
        const age = valueNow(s, ctx);
        return {
          label: 'newest row',
          value: `${humanDuration(age)} old`,
          ...(age > MARKS.staleSeconds ? { flag: `over ${humanDuration(MARKS.staleSeconds)}` } : {}),
        };
      }),
  },
  {
    // Rows against the window before, as MlwatchDatasetVolumeLow compares them.
    family: f.datasetRows.name,
    pick: (samples, index) =>
      samples.map((s) => {
        const base = where(index.get(f.datasetRowsBaseline.name), { window: s.labels.window ?? '' })[0];
        const low = s.value === 0 || (base !== undefined && s.value < 0.5 * base.value);
        return {
          label: `rows in ${s.labels.window}`,
          value: base ? `${count(s.value)} (window before: ${count(base.value)})` : count(s.value),
          ...(low ? { flag: s.value === 0 ? 'none' : 'under half the window before' } : {}),
        };
      }),
  },
  {
    family: f.datasetNullRatio.name,
    pick: (samples) =>
      pastLine(samples, {
        line: MARKS.nullRatio,
        name: (s) => s.labels.column ?? '',
        format: percent,
        what: 'NULL',
      }),
  },
  {
    family: f.datasetInvalidRatio.name,
    pick: (samples) =>
      pastLine(samples, {
        line: MARKS.invalidRatio,
        name: (s) => s.labels.column ?? '',
        format: percent,
        what: 'invalid',
      }),
  },
  {
    family: f.datasetDuplicateKeys.name,
    pick: (samples) =>
      samples.map((s) => ({
        label: `duplicate keys in ${s.labels.window}`,
        value: count(s.value),
        ...(s.value > 0 ? { flag: 'any' } : {}),
      })),
  },
  {
    // Present with an expected schema (config or lock file): the columns that differ, by kind of change.
    family: f.datasetSchemaChanges.name,
    pick: (samples) => {
      const changed = samples.filter((s) => s.value > 0);
      if (changed.length === 0) return [{ label: 'schema', value: 'as expected' }];
      const what = changed.map((s) => `${count(s.value)} ${(s.labels.change ?? '').replace('_', ' ')}`);
      return [{ label: 'schema', value: what.join(', '), flag: 'differs from expected' }];
    },
  },
  {
    // Without an expectation the schema check only names the columns' hash.
    family: f.datasetSchemaInfo.name,
    pick: (samples, index) =>
      index.get(f.datasetSchemaChanges.name).length > 0
        ? []
        : samples.map((s) => ({ label: 'schema hash', value: (s.labels.hash ?? '').slice(0, 12) })),
  },
  {
    family: f.featurePsi.name,
    pick: (samples) =>
      pastLine(samples, {
        line: MARKS.psi,
        name: (s) => s.labels.feature ?? '',
        format: score,
        formatLine: number,
        what: 'PSI',
      }),
  },
  {
    family: f.featureKsStatistic.name,
    pick: (samples) => {
      const top = [...samples].sort((a, b) => b.value - a.value)[0];
      return top ? [{ label: 'KS, highest', value: `${top.labels.feature} ${score(top.value)}` }] : [];
    },
  },
];
