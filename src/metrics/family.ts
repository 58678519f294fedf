import type { FamilyDef } from './types.js';

/**
 * What a built-in metric family is: its definition plus the layer it documents. Each kind declares its own
 * families next to its code (`families.ts` in its folder); `catalog.ts` assembles them.
 */

export type Layer = 'self' | 'data' | 'model' | 'system' | 'business' | 'actions';

export interface CatalogEntry extends FamilyDef {
  layer: Layer;
}

export function family(
  layer: Layer,
  name: string,
  type: FamilyDef['type'],
  labels: string[],
  help: string,
): CatalogEntry {
  return { layer, name, type, labels, help };
}

/** Prefixes a custom query metric may not use: the built-ins' and prom-client's process metrics. */
export const RESERVED_PREFIXES = ['mlwatch_', 'process_', 'nodejs_'];
