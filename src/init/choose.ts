/**
 * Where detection cannot decide (two columns could be a model's score), `mlwatch init` takes the answer from a
 * flag, asks in a terminal, or, in a script, records a problem naming the flag to pass: every such problem is
 * reported at once, so one more run with the flags fixes them all.
 */

export interface Question {
  /** The flag that answers it without a prompt, e.g. `--score`. */
  flag: string;
  /** What is chosen, for the prompt and the error: `the score column of mlwatch_demo.predictions`. */
  what: string;
  /** The likely answers, best first; more than one is an ambiguity, none means any of `allowed`. */
  candidates: string[];
  /** Every acceptable answer (a table's columns); the candidates when absent. */
  allowed?: string[];
  /** The flag's value, when the user gave one that applies here. */
  given?: string | undefined;
  /** What the flag's value names, for the message: `column` (the default) or `table`. */
  answer?: 'column' | 'table';
  /** Flags to pass with this one, e.g. `--model-table mlwatch_demo.predictions` when there are several models. */
  with?: string | undefined;
}

/** A terminal's answer to a question: one of the candidates, or of `allowed` when there are none. */
export type Ask = (q: Question) => Promise<string>;

const list = (names: string[]) =>
  names.length > 12 ? `${names.slice(0, 12).join(', ')}, ...` : names.join(', ');

export class Chooser {
  readonly problems: string[] = [];

  constructor(private readonly ask?: Ask) {}

  /** The answer, or undefined after recording a problem (a script without the flag, or a wrong value). */
  async choose(q: Question): Promise<string | undefined> {
    const allowed = q.allowed ?? q.candidates;
    const also = q.with ? ` ${q.with}` : '';
    const answer = `<${q.answer ?? 'column'}>`;
    if (q.given !== undefined) {
      if (allowed.includes(q.given)) return q.given;
      this.problems.push(`${q.flag} ${q.given}: not a choice for ${q.what}; pass one of: ${list(allowed)}`);
      return undefined;
    }
    if (q.candidates.length === 1) return q.candidates[0];
    if (this.ask !== undefined && allowed.length > 0) return this.ask(q);
    if (allowed.length === 0) {
      this.problems.push(`${q.what}: nothing to choose from`);
    } else if (q.candidates.length === 0) {
      this.problems.push(
        `${q.what}: no ${q.answer ?? 'column'} looks like it; pass ${q.flag} ${answer}${also} (one of: ${list(allowed)})`,
      );
    } else {
      this.problems.push(
        `${q.what} is ambiguous: ${list(q.candidates)} could each be it; pass ${q.flag} ${answer}${also}`,
      );
    }
    return undefined;
  }
}
