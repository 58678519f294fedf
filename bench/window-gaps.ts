/**
 * Row ages that keep clear of the windows' edges, so that a bench's check and its peer, run minutes apart,
 * count the same rows. A window is [now() - w, now()) on the warehouse clock: a row whose age is just under
 * w leaves the window while the bench runs, and every count and metric of that window shifts between one run
 * and the next. Leaving no row with an age in (w - g, w], where g is longer than the whole run, keeps every
 * window's rows fixed from the load to the end of the run, so the check's values can be held against the
 * peer's however far apart they ran.
 */

/** Ages in seconds: no row gets an age in (from, to]. */
export interface AgeGap {
  from: number;
  to: number;
}

/** The gap below each window edge (seconds), `gapS` long: the ages a row would cross that edge from. */
export const gapsBelow = (edgesS: readonly number[], gapS: number): AgeGap[] =>
  edgesS.map((e) => ({ from: e - gapS, to: e }));

/**
 * A SQL expression for an age in [minS, maxS] seconds that falls in none of `gaps`, from `u`, a column in
 * [0, 1) (a per-row draw of random(), or the row's share of the table). The ages are spread evenly over what
 * is left of the span: u picks a point c of the span with the gaps cut out, and c moves up by the length of
 * every gap below it. `u` appears several times in the expression, so it must be a column (random() drawn in
 * a sub-select with OFFSET 0, say), never random() itself: each call would draw anew.
 */
export function ageAvoiding(u: string, minS: number, maxS: number, gaps: readonly AgeGap[]): string {
  const merged: AgeGap[] = [];
  for (const g of [...gaps].sort((a, b) => a.from - b.from)) {
    const from = Math.max(g.from, minS);
    const to = Math.min(g.to, maxS);
    if (!(to > from)) continue;
    const last = merged.at(-1);
    // Overlapping gaps are one gap: cutting the shared ages out twice would push c past the span.
    if (last && from <= last.to) last.to = Math.max(last.to, to);
    else merged.push({ from, to });
  }
  const cutTotal = merged.reduce((a, g) => a + g.to - g.from, 0);
  const span = maxS - minS - cutTotal;
  if (!(span > 0)) throw new Error('the gaps leave no ages between minS and maxS');
  const c = `(${minS}::float8 + ${span}::float8 * ${u})`;
  let cut = 0;
  const steps: string[] = [];
  for (const g of merged) {
    // Where the gap starts on the span with the gaps below it cut out.
    steps.push(`CASE WHEN ${c} > ${g.from - cut} THEN ${g.to - g.from} ELSE 0 END`);
    cut += g.to - g.from;
  }
  return `(${[c, ...steps].join(' + ')})`;
}
