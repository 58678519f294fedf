import type { Headline } from '../key-values.js';
import { DATA_HEADLINES } from './data.js';
import { MODEL_HEADLINES } from './model.js';
import { SYSTEM_HEADLINES } from './system.js';

/** Every family the landing page has key values for, in the order they are shown within a check. */
export const HEADLINES: readonly Headline[] = [...DATA_HEADLINES, ...MODEL_HEADLINES, ...SYSTEM_HEADLINES];
