import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';

// A model's optional `dataset`: the dataset its features come from. It is exported on mlwatch_model_info only
// (test/model-labels.test.ts checks the series); the rules join it onto every model alert so a stale dataset
// silences them (prometheus/tests/model.test.yml, test/alertmanager.test.ts).

const text = (dataset: string) =>
  [
    'warehouse:',
    '  url: postgresql://db/x',
    'models:',
    '  - name: credit_default',
    '    task: binary_classification',
    '    owner: data-science',
    '    predictions: { table: ml.predictions, key: id, timestamp: at, score: p }',
    '    labels: { table: ml.outcomes, key: id, timestamp: at, label: y }',
    ...(dataset ? [`    dataset: ${dataset}`] : []),
    '',
  ].join('\n');

const load = (dataset: string) => () => loadConfigText(text(dataset), 'm.yaml', {}, '/');

describe('models[].dataset', () => {
  it('is optional, and needs no dataset of the same file: another exporter may watch it', () => {
    expect(load('')().checks.map((c) => c.id)).toEqual([
      'model:credit_default:labels',
      'model:credit_default:performance',
    ]);
    expect(load('applications')().checks.map((c) => c.id)).toEqual([
      'model:credit_default:labels',
      'model:credit_default:performance',
    ]);
  });

  it("changes the checks' fingerprints, so a reload that adds or changes it re-exports the label", () => {
    const fp = (dataset: string) => load(dataset)().checks.map((c) => c.fingerprint);
    expect(fp('applications')).not.toEqual(fp(''));
    expect(fp('applications')).not.toEqual(fp('loans'));
  });

  it('is a lower_snake_case name, like the dataset names it refers to', () => {
    expect(load('Applications')).toThrow(
      'm.yaml:9 models[0].dataset: a dataset name uses lower_snake_case: a-z, 0-9 and _',
    );
    expect(load('[applications]')).toThrow('m.yaml:9 models[0].dataset: expected a dataset name');
  });
});
