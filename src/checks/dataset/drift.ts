import { z } from 'zod';
import type { Check } from '../types.js';
import type { DatasetContext } from './context.js';

// Placeholder until the drift check lands: accepts the spec, builds no check.
export const driftSpec = z.strictObject({});

export function buildDriftChecks(_ds: DatasetContext, _spec: z.output<typeof driftSpec>): Check[] {
  return [];
}
