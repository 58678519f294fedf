import { intervalParam } from '../config/types.js';

/**
 * Bound parameters of one statement, and window cutoffs as uncorrelated sub-selects: Postgres computes
 * `now() - w` once per statement (an InitPlan) instead of once per row and FILTER, which on a million rows
 * is the bulk of the scan (see dataset/scan.ts). Each window length gets one parameter and one cutoff.
 */
export class StatementParams {
  readonly values: unknown[] = [];
  private readonly cutoffs = new Map<number, string>();

  /** `$n` (with a cast when given) for a value. */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  }

  /** `(SELECT now() - $n::interval)`, one per distinct window length. */
  cutoff(ms: number): string {
    let c = this.cutoffs.get(ms);
    if (!c) {
      c = `(SELECT now() - ${this.add(intervalParam(ms), 'interval')})`;
      this.cutoffs.set(ms, c);
    }
    return c;
  }
}
