/**
 * What the incremental benches (bench/data-incremental.ts, bench/model-incremental.ts) share: each group of
 * checks has three sides (the incremental check, the same check over the last hour, the full check it replaces),
 * timed in steady state over rounds of traffic in a rotating order, and each incremental side's ratio to the
 * other two taken per round (the machine's drift during the run cancels out of a pair).
 */
import type { Check } from '../src/checks/types.js';
import { pairedRatio } from './harness.js';

export type Side = 'incremental' | 'hour' | 'full';
export type Sides = Record<Side, Check>;

export interface Rounds<G extends string> {
  /** Each group's incremental check's first run (every bucket counted, and the full statement), in ms. */
  cold: Record<G, number>;
  /** Every side's name (`name(group, side)`), in the order they first ran. */
  names: string[];
  /** Each side's timed runs, in ms, one per round. */
  samples: Record<string, number[]>;
}

/**
 * Times `groups` over `rounds` rounds: first each incremental check's first run (cold), then one untimed run of
 * every side (warm-up), then per round `arrive` (new rows) and one run of every side, the order rotated by one
 * each round so no side always runs right after the traffic. `time` runs a check and returns its ms (`phase`: which
 * of the three runs it is, for a caller that splits the rounds' statements).
 */
export async function rotatingRounds<G extends string>(
  groups: Record<G, Sides>,
  o: {
    rounds: number;
    name: (group: G, side: Side) => string;
    arrive: () => Promise<void>;
    time: (check: Check, name: string, phase: 'cold' | 'warm-up' | 'round') => Promise<number>;
  },
): Promise<Rounds<G>> {
  const keys = Object.keys(groups) as G[];
  const cold = {} as Record<G, number>;
  for (const g of keys) cold[g] = await o.time(groups[g].incremental, o.name(g, 'incremental'), 'cold');
  const sides = new Map<string, Check>();
  for (const g of keys)
    for (const side of ['incremental', 'hour', 'full'] as const) sides.set(o.name(g, side), groups[g][side]);
  const names = [...sides.keys()];
  for (const n of names) await o.time(sides.get(n) as Check, n, 'warm-up');
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < o.rounds; r++) {
    await o.arrive();
    for (let k = 0; k < names.length; k++) {
      const n = names[(r + k) % names.length] as string;
      samples[n]?.push(await o.time(sides.get(n) as Check, n, 'round'));
    }
  }
  return { cold, names, samples };
}

/** A group's incremental side against its hour and full sides: the medians of the per-round ratios. */
export function incrementalRatios<G extends string>(
  r: Rounds<G>,
  group: G,
  name: (group: G, side: Side) => string,
): { toHour: number; toFull: number } {
  const of = (side: Side) => r.samples[name(group, side)] as number[];
  return {
    toHour: pairedRatio(of('incremental'), of('hour')).median,
    toFull: pairedRatio(of('incremental'), of('full')).median,
  };
}
