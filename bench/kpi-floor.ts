/**
 * The detection floor of a sudden KPI drop at a given volume, from first principles (no rule, no data): what
 * stops the design's targets (a 10 % drop alerted within 2 hours, a 30 % drop within 30 minutes) at the demo's
 * volume, printed by bench/kpi.ts every run next to the check's speed.
 *
 * - The noise: in `hours` a rate p over n = perHour * hours decisions has a standard error sqrt(p(1-p)/n);
 *   a drop smaller than about 2 of them cannot be told from chance in that time.
 * - Lorden's bound: any sequential detector (CUSUM is the optimal one) that raises at most one false alarm in
 *   `armDecisions` needs on average at least ln(armDecisions) / KL(p1 || p0) decisions after the change to
 *   see it, KL the Kullback-Leibler divergence of the dropped rate p1 from the usual p0.
 */

/** KL(p1 || p0) of two Bernoulli rates, in nats per decision. */
export function bernoulliKl(p1: number, p0: number): number {
  return p1 * Math.log(p1 / p0) + (1 - p1) * Math.log((1 - p1) / (1 - p0));
}

export interface DropFloor {
  /** The relative drop (0.1 for 10 %). */
  drop: number;
  /** The standard error of the rate over the target time, against the drop's size. */
  noiseOverDrop: number;
  /** Lorden's bound on the mean detection delay, in decisions and hours. */
  lordenDecisions: number;
  lordenHours: number;
  /** The decisions an hour at which the bound equals the target time. */
  neededPerHour: number;
}

const WEEKS_PER_FALSE_ALARM = 4;

export function dropFloor(p0: number, drop: number, perHour: number, targetHours: number): DropFloor {
  const p1 = p0 * (1 - drop);
  const kl = bernoulliKl(p1, p0);
  const arm = (ph: number) => ph * 24 * 7 * WEEKS_PER_FALSE_ALARM;
  const lordenDecisions = Math.log(arm(perHour)) / kl;
  // The needed volume: perHour * targetHours = ln(arm(perHour)) / KL, solved by fixed-point iteration (the
  // logarithm moves slowly, so a few rounds converge).
  let needed = perHour;
  for (let i = 0; i < 50; i++) needed = Math.log(arm(needed)) / kl / targetHours;
  return {
    drop,
    noiseOverDrop: Math.sqrt((p0 * (1 - p0)) / (perHour * targetHours)) / (p0 - p1),
    lordenDecisions,
    lordenHours: lordenDecisions / perHour,
    neededPerHour: needed,
  };
}
