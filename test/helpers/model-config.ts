/**
 * The models[] entry of a binary classifier whose predictions and labels the test seeded as
 * `<schema>.<name>_predictions (request_id, predicted_at, score[, model_version])` and
 * `<schema>.<name>_labels (request_id, labeled_at, outcome)`, windows 7d and 1d, as YAML list items.
 */
export function classifierYaml(
  schema: string,
  models: readonly { name: string; threshold: number; versioned?: boolean }[],
): string {
  return models
    .map(
      (model) => `  - name: ${model.name}
    task: binary_classification
    owner: data-science
    threshold: ${model.threshold}
    windows: [7d, 1d]
    predictions:
      table: ${schema}.${model.name}_predictions
      key: request_id
      timestamp: predicted_at
      score: score${model.versioned ? '\n      version: model_version' : ''}
    labels:
      table: ${schema}.${model.name}_labels
      key: request_id
      timestamp: labeled_at
      label: outcome
`,
    )
    .join('');
}
