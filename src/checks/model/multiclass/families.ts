import { type CatalogEntry, family } from '../../../metrics/family.js';

/** Multiclass classification (task: multiclass_classification), as scikit-learn defines each statistic; `class`
 * is one of the model's classes in its config (at most 50 per model). */
export const multiclassFamilies = {
  modelMulticlassAccuracy: family(
    'model',
    'mlwatch_model_multiclass_accuracy',
    'gauge',
    ['model', 'window', 'version'],
    "Share of a multiclass model's labeled predictions whose predicted class (the first of highest probability, as numpy's argmax) is the label.",
  ),
  modelMulticlassLogLoss: family(
    'model',
    'mlwatch_model_multiclass_log_loss',
    'gauge',
    ['model', 'window', 'version'],
    "Mean of -ln(probability of the labeled class) over a multiclass model's labeled predictions, probabilities clipped to [1e-15, 1 - 1e-15] and not renormalised per prediction.",
  ),
  modelMulticlassF1: family(
    'model',
    'mlwatch_model_multiclass_f1',
    'gauge',
    ['model', 'window', 'version', 'average'],
    "F1 of a multiclass model averaged over its classes, by average: macro (the mean over the classes seen as label or prediction in the window) or weighted (by support), as scikit-learn's f1_score.",
  ),
  modelMulticlassAuc: family(
    'model',
    'mlwatch_model_multiclass_auc',
    'gauge',
    ['model', 'window', 'version', 'average'],
    "Mean of a multiclass model's one-vs-rest ROC AUCs over its classes (average: macro), as scikit-learn's roc_auc_score(multi_class='ovr'). Not exported when any class has no AUC.",
  ),
  modelClassPrecision: family(
    'model',
    'mlwatch_model_class_precision',
    'gauge',
    ['model', 'window', 'version', 'class'],
    "Share of a multiclass model's predictions of the class that are labeled the class (one-vs-rest at the predicted class). Not exported when the class is never predicted.",
  ),
  modelClassRecall: family(
    'model',
    'mlwatch_model_class_recall',
    'gauge',
    ['model', 'window', 'version', 'class'],
    'Share of the labeled predictions of the class that are predicted as the class. Not exported without labels of the class.',
  ),
  modelClassF1: family(
    'model',
    'mlwatch_model_class_f1',
    'gauge',
    ['model', 'window', 'version', 'class'],
    'F1 of the class, 2 TP / (2 TP + FP + FN) one-vs-rest. Not exported when the class is neither a label nor a prediction in the window.',
  ),
  modelClassSupport: family(
    'model',
    'mlwatch_model_class_support',
    'gauge',
    ['model', 'window', 'version', 'class'],
    "A multiclass model's labeled predictions whose label is the class (0 included): what the class's recall and AUC come from.",
  ),
  modelClassAuc: family(
    'model',
    'mlwatch_model_class_auc',
    'gauge',
    ['model', 'window', 'version', 'class'],
    "One-vs-rest ROC AUC of the class's probability (labeled the class or not), exact with ties counted half. Not exported when every labeled prediction is, or none is, of the class.",
  ),
  modelUnknownClassPredictions: family(
    'model',
    'mlwatch_model_unknown_class_predictions',
    'gauge',
    ['model', 'window', 'version'],
    "A multiclass model's labeled predictions whose label is none of its classes (0 included); they take no part in its metrics.",
  ),
} as const satisfies Record<string, CatalogEntry>;
