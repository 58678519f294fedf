import type { Check } from '../types.js';
import { buildClassificationCheck } from './classification.js';
import type { ModelContext } from './context.js';
import { buildRegressionCheck } from './regression.js';

/** The performance check of a model: its task decides which metrics. */
export function buildPerformanceCheck(m: ModelContext): Check {
  return m.task === 'regression' ? buildRegressionCheck(m) : buildClassificationCheck(m);
}
