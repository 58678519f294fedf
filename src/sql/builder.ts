import { type Dialect, postgres, type SqlType } from './dialect.js';

/**
 * The one way a check kind binds values into a statement. Identifiers go in quoted (identifiers.ts), values
 * only through here: `add` appends a value and returns its placeholder, so no kind numbers placeholders by
 * hand (a wrong `$n` would bind the wrong value silently). Windows are bound once per length, however many
 * places use them.
 */

/** A statement with its bound values, in placeholder order. */
export interface Statement {
  text: string;
  params: unknown[];
}

/** A point in time: `agoMs` before the statement's now() (0: now() itself), or a timestamp as written. */
export type Bound = { agoMs: number } | { at: string };

export class SqlBuilder {
  readonly params: unknown[] = [];
  private readonly intervals = new Map<number, string>();
  private readonly cutoffs = new Map<number, string>();

  constructor(readonly dialect: Dialect = postgres) {}

  /**
   * Binds a value and returns its placeholder, cast to `type`. Without a type the engine infers it from where
   * the placeholder stands (compared with a column, it takes the column's type).
   */
  add(value: unknown, type?: SqlType): string {
    this.params.push(value);
    return this.dialect.bind(this.params.length, type);
  }

  /** A duration of `ms`, bound once per statement however often it is used. */
  interval(ms: number): string {
    let placeholder = this.intervals.get(ms);
    if (placeholder === undefined) {
      placeholder = this.add(this.dialect.interval(ms), 'interval');
      this.intervals.set(ms, placeholder);
    }
    return placeholder;
  }

  /** `now() - ms` as an expression (now() itself for 0). Evaluated where it stands: per row in a select list. */
  ago(ms: number): string {
    return ms === 0 ? this.dialect.now : `${this.dialect.now} - ${this.interval(ms)}`;
  }

  /**
   * `now() - ms` as an uncorrelated sub-select: the engine computes it once per statement (an InitPlan in
   * PostgreSQL) instead of once per row and FILTER, which on a million rows is the bulk of a scan
   * (bench/data-scan.ts). For comparisons evaluated per row: window flags, FILTER clauses.
   */
  cutoff(ms: number): string {
    let c = this.cutoffs.get(ms);
    if (c === undefined) {
      c = `(SELECT ${this.ago(ms)})`;
      this.cutoffs.set(ms, c);
    }
    return c;
  }

  /** A Bound as SQL: now(), now() minus a bound duration, or a bound timestamp. */
  at(b: Bound): string {
    return 'at' in b ? this.add(b.at, 'timestamptz') : this.ago(b.agoMs);
  }

  /** The finished statement: `text` with every value this builder bound. */
  statement(text: string): Statement {
    return { text, params: this.params };
  }
}
